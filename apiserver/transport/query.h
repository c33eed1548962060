/*
 * query.h - a request's query string, from the fragments libwebsockets stores to parameters
 * (private to apiserver/).
 *
 * lws 4.1.6 URL-decodes the query itself while reading the request line and stores one
 * "fragment" per parameter, split at every unencoded '&' or ';': "key=value", "key" or "".
 * Before the split it has already turned '+' into a space, %XX into the byte XX (so %26, %3B and
 * %25 are plain '&', ';' and '%' inside a value), and an encoded '=' before the first literal
 * '=' of a fragment into '_'. A decoded CR or LF ends the request line there: lws stores a NUL
 * and skips everything after it, so a fragment holding a NUL is the sign of a query that was not
 * read in full. This file turns the fragments into parameters and refuses such a query, so that
 * no parameter is ever silently lost. Pure functions, no lws: unit-tested and fuzzed as is.
 */
#ifndef FOO_APISERVER_QUERY_H
#define FOO_APISERVER_QUERY_H

#include "common/apierr.h"

#include <stddef.h>

/* One decoded query parameter; both strings owned, NUL-terminated, never NULL. */
typedef struct as_param {
    char *key;
    char *value;
} as_param;

/* One fragment as lws stores it: `len` bytes at `data` (which may hold a NUL byte). */
typedef struct as_query_frag {
    const char *data;
    size_t len;
} as_query_frag;

/*
 * Splits nfrags fragments into parameters, in order: the key is everything before the first
 * '=', the value everything after it ("" when there is no '='); empty fragments ("a=1&&b=2",
 * a trailing '&') are skipped, as Go's url.ParseQuery does.
 * Returns 0 with *out (an array of *nout parameters, NULL when none; free with as_params_free)
 * or -1 with err set to a 400 BadRequest (and *out NULL, *nout 0) when a fragment holds a NUL
 * byte (lws stores one for an encoded NUL, CR or LF and drops the rest of the request line, so
 * the query cannot be read in full), or when a key is given twice with different values (which
 * of them counts differs between readers: kube takes the first, proxies may take the last),
 * except a key that is a list (the health checks' `exclude`).
 * Work is O(n log n) in the number of parameters. frags may be NULL when nfrags is 0. Thread-safe.
 */
int as_query_parse(const as_query_frag *frags, int nfrags, as_param **out, int *nout,
                   api_error *err);

/* Frees an array of n parameters made by as_query_parse (NULL allowed). */
void as_params_free(as_param *params, int n);

#endif
