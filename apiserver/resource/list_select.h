/*
 * list_select.h - which objects a list or a deletecollection covers: the page of a collection
 * that its ListOptions (resourceVersion semantics, limit, continue) and selectors describe,
 * taken from the watch cache (docs/api.md §5.2). A deletecollection covers exactly what a LIST
 * with the same options would return, as in kube, so `DELETE ...?limit=1` removes one object.
 *
 * Pure over the cache: answers nothing. Service thread only (it reads request-owned options).
 */
#ifndef FOO_APISERVER_LIST_SELECT_H
#define FOO_APISERVER_LIST_SELECT_H

#include "apiserver/resource/list_options.h"
#include "apiserver/resource/selector.h"
#include "apiserver/resource/watchcache.h"
#include "common/apierr.h"

#include <stddef.h>
#include <stdint.h>

typedef struct as_page {
    wc_blob **items; /* references owned by the page, in key order */
    size_t n;
    uint64_t rev;     /* the list's resourceVersion */
    char *cont;       /* continue token of the next page; NULL on the last page */
    size_t remaining; /* remainingItemCount; 0 when unknown (under a label selector) or none */
} as_page;

/*
 * Fills *page with the objects under `prefix` that o and sel select; all_namespaces: prefix is
 * a namespaced kind's, across its namespaces (so a metadata.name selector is scanned for, not
 * looked up). Returns false with e set:
 * 400 for an invalid continue token or a continue with a resourceVersion, 410 Expired for a
 * continue token (or an Exact resourceVersion) older than the cache's history, 504 Timeout for a
 * resourceVersion newer than the cache (Retry-After 1). The page is empty on failure; free it
 * with as_page_free either way.
 */
bool as_list_select(wc_cache *cache, const char *prefix, bool all_namespaces,
                    const as_list_options *o, const as_selector *sel, as_page *page, api_error *e);

void as_page_free(as_page *page);

#endif
