/*
 * selector.h - the fieldSelector and labelSelector of list, watch and deletecollection
 * (api-contract §5.2): metadata.name (=, ==, !=) and metadata.namespace fields, and full label
 * selector syntax. Parsed once per request; matching is read-only (thread-safe).
 */
#ifndef FOO_APISERVER_SELECTOR_H
#define FOO_APISERVER_SELECTOR_H

#include "apiserver/http.h"
#include "apiserver/watchcache.h"
#include "common/labels.h"

#include <stdbool.h>

typedef struct as_selector {
    char *storage;           /* owns name_eq / name_ne */
    const char *name_eq;     /* metadata.name=X */
    const char *name_ne;     /* metadata.name!=X */
    labels_selector *labels; /* NULL = no label requirement */
} as_selector;

/* Parses ?fieldSelector= and ?labelSelector=. Answers 400 and returns false on a bad selector. */
bool as_selector_parse(as_req *req, as_selector *sel);
/* Whether the object `b`, named `name`, is selected (its labels are parsed once per blob). */
bool as_selector_matches(const as_selector *sel, const char *name, wc_blob *b);
void as_selector_free(as_selector *sel);

#endif
