/*
 * query.c - query fragments to parameters (query.h).
 */
#include "apiserver/query.h"

#include "common/alloc.h"

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
    *out = params;
    *nout = n;
    return 0;
}
