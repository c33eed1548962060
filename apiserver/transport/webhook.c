/*
 * webhook.c - the retried POST of a delegated review (webhook.h).
 */
#include "apiserver/transport/webhook.h"

#include <stdbool.h>

/* kube's DefaultShouldRetry: a transient failure (no answer, an internal error, a timeout, too
   many requests). */
static bool transient(int code)
{
    return code == 0 || code == 429 || code == 500 || code == 503 || code == 504;
}

int webhook_post(kc_client *c, const char *path, const char *body, size_t len,
                 atomic_uint_fast64_t *attempts, kc_response *resp, api_error *err)
{
    uint64_t wait_ms = WEBHOOK_FIRST_BACKOFF_MS;
    int rc = 0;
    for (int attempt = 1;; attempt++) {
        if (attempts)
            atomic_fetch_add(attempts, 1);
        apierr_clear(err);
        rc = kc_request(c, "POST", path, "application/json", body, len, resp, err);
        if (rc == 0 || attempt == WEBHOOK_ATTEMPTS || !transient(err->code))
            return rc;
        kc_client_sleep(c, wait_ms);
        wait_ms = wait_ms * 3 / 2;
    }
}
