/*
 * fuzz_http_params.c - a request's query string (apiserver/transport/query.h), sent by any client
 * before authentication.
 *
 * The input stands for the query as lws hands it over: it is split at every '&' into fragments
 * (lws splits at '&' and ';' and has URL-decoded each one, so a fragment may hold any byte,
 * NUL included), then parsed. Checked: the parse either refuses with a 400 BadRequest exactly
 * when a fragment holds a NUL, or keeps every non-empty fragment as one parameter, in order, whose
 * key and value put back together ("key=value", or "key" when the fragment has no '=') give the
 * fragment again, byte for byte: nothing is dropped, cut or invented. A key given twice with
 * different values is refused too (400), and only then.
 */
#include "apiserver/transport/query.h"
#include "fuzz/fuzz.h"

/* Splits a fragment at its first '=' (no '=': the whole fragment is the key, the value ""). */
static void split(const as_query_frag *f, size_t *klen, const char **v, size_t *vlen)
{
    const char *eq = memchr(f->data, '=', f->len);
    *klen = eq ? (size_t)(eq - f->data) : f->len;
    *v = eq ? eq + 1 : "";
    *vlen = eq ? f->len - *klen - 1 : 0;
}

/* Whether two non-empty fragments share a key but not a value (pairwise: inputs are short). */
static bool has_conflict(const as_query_frag *frags, int n)
{
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            if (!frags[i].len || !frags[j].len)
                continue;
            size_t ki, kj, vi, vj;
            const char *a, *b;
            split(&frags[i], &ki, &a, &vi);
            split(&frags[j], &kj, &b, &vj);
            bool list = ki == 7 && memcmp(frags[i].data, "exclude", 7) == 0;
            if (ki == kj && memcmp(frags[i].data, frags[j].data, ki) == 0 && !list &&
                (vi != vj || memcmp(a, b, vi) != 0))
                return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    as_query_frag *frags = malloc(sizeof *frags * (size + 1));
    if (!frags)
        abort();
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || s[i] == '&') {
            frags[n++] = (as_query_frag){.data = s + start, .len = i - start};
            start = i + 1;
        }
    }
    bool has_nul = size > 0 && memchr(data, '\0', size) != NULL;

    as_param *params = NULL;
    int np = -1;
    api_error err = API_ERROR_INIT;
    int rc = as_query_parse(frags, n, &params, &np, &err);
    if (has_nul) {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(err.code == 400 && strcmp(err.reason, "BadRequest") == 0);
        FUZZ_CHECK(params == NULL && np == 0);
    } else if (has_conflict(frags, n)) {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(err.code == 400 && strstr(err.message, "more than once") != NULL);
        FUZZ_CHECK(params == NULL && np == 0);
    } else {
        FUZZ_CHECK(rc == 0 && !apierr_is_set(&err));
        int p = 0;
        for (int i = 0; i < n; i++) {
            if (frags[i].len == 0)
                continue;
            FUZZ_CHECK(p < np);
            size_t klen = strlen(params[p].key), vlen = strlen(params[p].value);
            const char *eq = memchr(frags[i].data, '=', frags[i].len);
            FUZZ_CHECK(klen == (eq ? (size_t)(eq - frags[i].data) : frags[i].len));
            FUZZ_CHECK(memcmp(params[p].key, frags[i].data, klen) == 0);
            FUZZ_CHECK(eq ? klen + 1 + vlen == frags[i].len : vlen == 0);
            FUZZ_CHECK(!eq || memcmp(params[p].value, eq + 1, vlen) == 0);
            p++;
        }
        FUZZ_CHECK(p == np);
    }
    as_params_free(params, np);
    apierr_clear(&err);
    free(frags);
    return 0;
}
