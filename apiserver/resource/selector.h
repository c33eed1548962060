/*
 * selector.h - the fieldSelector and labelSelector of list, watch and deletecollection
 * (docs/api.md §5.2): the fields metadata.name and metadata.namespace with =, == and !=, and
 * full label selector syntax (common/labels.h).
 *
 * Every term counts: terms are ANDed, so metadata.name=a,metadata.name=b selects nothing and
 * metadata.name!=a,metadata.name!=b spares both a and b (a deletecollection must never delete
 * more than the selector says). Values may escape ',', '=', '!' and '\' with a backslash, as
 * kube's field selectors do.
 *
 * Parsing is pure (it answers nothing); matching is read-only, so a parsed selector may be
 * shared between threads.
 */
#ifndef FOO_APISERVER_SELECTOR_H
#define FOO_APISERVER_SELECTOR_H

#include "apiserver/resource/watchcache.h"
#include "common/apierr.h"
#include "common/labels.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum as_field { AS_FIELD_NAME, AS_FIELD_NAMESPACE } as_field;

typedef struct as_field_term {
    as_field field;
    bool negated; /* != */
    char *value;  /* unescaped; owned */
} as_field_term;

typedef struct as_selector {
    as_field_term *terms; /* owned */
    size_t nterms;
    labels_selector *labels; /* NULL = no label requirement */
} as_selector;

/*
 * Parses a fieldSelector and a labelSelector (either may be NULL or empty: no requirement) into
 * *sel, which the caller frees with as_selector_free whatever the result. Returns false with e
 * set to a 400 BadRequest naming the bad term ("invalid selector", "field label not supported").
 */
bool as_selector_parse(const char *field_selector, const char *label_selector, as_selector *sel,
                       api_error *e);

/*
 * Whether the object `b` named `name` in namespace `ns` ("" for cluster-scoped objects) is
 * selected. Its labels are parsed once per blob.
 */
bool as_selector_matches(const as_selector *sel, const char *ns, const char *name, wc_blob *b);

/* The value of a metadata.name= term, when there is one: at most that object can match. */
const char *as_selector_only_name(const as_selector *sel);

void as_selector_free(as_selector *sel);

#endif
