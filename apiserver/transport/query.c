/*
 * query.c - query fragments to parameters (query.h).
 */
#include "apiserver/transport/query.h"

#include "common/alloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void as_params_free(as_param *params, int n)
{
    for (int i = 0; i < n; i++) {
        free(params[i].key);
        free(params[i].value);
    }
    free(params);
}

static int by_key_then_value(const void *a, const void *b)
{
    const as_param *x = *(const as_param *const *)a, *y = *(const as_param *const *)b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* Parameters that are lists, read value by value: the health checks' ?exclude=a&exclude=b. */
static bool is_list(const char *key)
{
    return strcmp(key, "exclude") == 0;
}

/*
 * The first key (not a list) given twice with different values, or NULL. Kube reads the first value
 * of most parameters and every value of some (dryRun), and proxies in front of us may read the
 * last:
 * "?labelSelector=app%3Dx&labelSelector=" or "?dryRun=All&dryRun=" must not mean one thing to
 * them and another to us, so such a query is refused. Sorting keeps this O(n log n).
 */
static const char *ambiguous_key(const as_param *params, int n)
{
    if (n < 2)
        return NULL;
    const as_param **sorted = xmalloc((size_t)n * sizeof *sorted);
    for (int i = 0; i < n; i++)
        sorted[i] = &params[i];
    qsort(sorted, (size_t)n, sizeof *sorted, by_key_then_value);
    const char *key = NULL;
    for (int i = 1; i < n && !key; i++)
        if (strcmp(sorted[i - 1]->key, sorted[i]->key) == 0 &&
            strcmp(sorted[i - 1]->value, sorted[i]->value) != 0 && !is_list(sorted[i]->key))
            key = sorted[i]->key;
    free(sorted);
    return key;
}

int as_query_parse(const as_query_frag *frags, int nfrags, as_param **out, int *nout,
                   api_error *err)
{
    *out = NULL;
    *nout = 0;
    /* Checked for every fragment before any is kept: the query is taken whole or not at all. */
    for (int i = 0; i < nfrags; i++) {
        if (memchr(frags[i].data, '\0', frags[i].len)) {
            apierr_set(err, 400, "BadRequest",
                       "the query cannot be read in full: parameter %d holds an encoded NUL, "
                       "CR or LF character",
                       i + 1);
            return -1;
        }
    }
    as_param *params = nfrags > 0 ? xcalloc((size_t)nfrags, sizeof *params) : NULL;
    int n = 0;
    for (int i = 0; i < nfrags; i++) {
        const char *s = frags[i].data;
        size_t len = frags[i].len;
        if (len == 0)
            continue;
        const char *eq = memchr(s, '=', len);
        size_t klen = eq ? (size_t)(eq - s) : len;
        params[n].key = xstrndup(s, klen);
        params[n].value = eq ? xstrndup(eq + 1, len - klen - 1) : xstrdup("");
        n++;
    }
    if (n == 0) {
        free(params);
        params = NULL;
    }
    const char *twice = ambiguous_key(params, n);
    if (twice) {
        apierr_set(err, 400, "BadRequest",
                   "query parameter \"%.256s\" is given more than once with different values",
                   twice);
        as_params_free(params, n);
        return -1;
    }
    *out = params;
    *nout = n;
    return 0;
}
