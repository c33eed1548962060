/*
 * list_options.h - the ListOptions of a list, watch or deletecollection read from the query
 * (docs/api.md §5.2, §6), as kube's parameter codec reads them: every value is parsed in full
 * and a value that does not parse is an error, never a default. A `watch=maybe` must not become
 * a list, a `limit=ten` must not become "no limit", a `resourceVersion=12x` must not become 12.
 *
 * Pure: reads parameters through a lookup function (it knows no request), answers nothing (the
 * caller renders the api_error). Thread-safe as long as the lookup is.
 */
#ifndef FOO_APISERVER_LIST_OPTIONS_H
#define FOO_APISERVER_LIST_OPTIONS_H

#include "common/apierr.h"

#include <stdbool.h>
#include <stdint.h>

/* The query parameters as this layer sees them: get(src, key) is a parameter's value, or NULL
   when absent. The strings must outlive the options read from them. */
typedef struct as_query {
    const char *(*get)(const void *src, const char *key);
    const void *src;
} as_query;

typedef enum as_list_verb { AS_VERB_LIST, AS_VERB_WATCH, AS_VERB_DELETECOLLECTION } as_list_verb;

typedef struct as_list_options {
    /* Strings are borrowed from the query (as_query) and live as long as it does. */
    const char *resource_version; /* NULL when absent or empty */
    uint64_t rv;                  /* its value (0 when absent; "0" means "any") */
    const char *rv_match;         /* NULL, "Exact" or "NotOlderThan" */
    uint64_t limit;               /* 0: no limit */
    const char *cont;             /* continue token; NULL when absent or empty */
    int64_t timeout_seconds;      /* watch: 0 when absent */
    bool allow_bookmarks;         /* watch */
    bool send_initial_events;     /* watch: watch-list */
    const char *label_selector;   /* raw; NULL when absent or empty */
    const char *field_selector;   /* raw; NULL when absent or empty */
} as_list_options;

/*
 * Whether the collection GET is a watch: ?watch parsed like Go's ParseBool (absent = false).
 * Returns false with e set (400 BadRequest) when the value is not a boolean.
 */
bool as_list_is_watch(as_query q, bool *watch, api_error *e);

/*
 * Reads and validates the ListOptions of `verb` into *o (zeroed first). On failure returns false
 * with e set: 400 BadRequest for a value that does not parse (naming the parameter and value),
 * 422 Invalid on ListOptions (group meta.k8s.io) for combinations kube refuses
 * (resourceVersionMatch without resourceVersion or with an unknown value, Exact with "0",
 * sendInitialEvents on a list, sendInitialEvents without NotOlderThan, resourceVersionMatch on
 * a watch without sendInitialEvents).
 */
bool as_list_options_parse(as_query q, as_list_verb verb, as_list_options *o, api_error *e);

#endif
