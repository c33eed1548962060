/*
 * webhook.h - one call of a delegated review (TokenReview, SubjectAccessReview) to
 * kube-apiserver, retried as k8s.io/apiserver's webhooks retry (docs/api.md §9.6): a connection
 * failure, 429, 500, 503 or 504 is tried again after 500 ms, then 750 ms, 1125 ms and 1687 ms (x1.5
 * each), five attempts in all; any other answer is final.
 */
#ifndef FOO_APISERVER_WEBHOOK_H
#define FOO_APISERVER_WEBHOOK_H

#include "client/rest.h"
#include "common/apierr.h"

#include <stdatomic.h>
#include <stddef.h>

#define WEBHOOK_ATTEMPTS         5
#define WEBHOOK_FIRST_BACKOFF_MS 500

/*
 * POSTs body (JSON, len bytes) to path through c, retrying as above; waits with the client's
 * sleep function. attempts (may be NULL) counts every POST made. Returns kc_request's answer of
 * the last attempt: 0 with *resp filled (caller frees), or its error with err set. Blocks up to
 * five times the client's request timeout plus about 4 s. Thread-safe.
 */
int webhook_post(kc_client *c, const char *path, const char *body, size_t len,
                 atomic_uint_fast64_t *attempts, kc_response *resp, api_error *err);

#endif
