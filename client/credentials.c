/*
 * credentials.c - the token source (controller-machinery §3 P9): one object per config that hands
 * out the current bearer token or exec client certificate and refreshes it.
 *
 * Kinds: a static token (never refreshed), a token file (tokenFile and the in-cluster
 * service-account token: re-read every KC_TOKEN_FILE_REFRESH_MS), and an exec plugin (re-run at
 * expiry). A 401 invalidates the cache. One mutex guards everything and is held during a refresh,
 * so concurrent callers wait for the one refresh in flight instead of each running the plugin.
 */
#include "client/config_internal.h"
#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cred_kind { CRED_STATIC, CRED_FILE, CRED_EXEC };

struct kc_credentials {
    pthread_mutex_t mu;
    enum cred_kind kind;
    char *path;          /* CRED_FILE */
    char *what;          /* CRED_FILE: names the file in messages ("tokenFile /x") */
    kc_exec_spec *exec;  /* CRED_EXEC; owned */
    bool cached;         /* token/cert below are current (always true for CRED_STATIC) */
    char *token;         /* NULL = none; CRED_FILE keeps the last good token after a failed read */
    unsigned char *cert; /* CRED_EXEC */
    size_t cert_len;
    unsigned char *key;
    size_t key_len;
    uint64_t read_ns;  /* CRED_FILE: monotonic time of the last successful read */
    int64_t expiry_ms; /* CRED_EXEC: wall time of expirationTimestamp; 0 = none */
};

static kc_credentials *cred_new(enum cred_kind kind)
{
    kc_credentials *c = xcalloc(1, sizeof *c);
    int rc = pthread_mutex_init(&c->mu, NULL);
    if (rc != 0) {
        log_error("pthread_mutex_init: %s", strerror(rc));
        abort(); /* like out-of-memory: nothing sensible to do */
    }
    c->kind = kind;
    return c;
}

/* Lock failures only happen on corrupted state; abort rather than run unlocked. */
static void lock(kc_credentials *c)
{
    int rc = pthread_mutex_lock(&c->mu);
    if (rc != 0) {
        log_error("pthread_mutex_lock: %s", strerror(rc));
        abort();
    }
}

static void unlock(kc_credentials *c)
{
    int rc = pthread_mutex_unlock(&c->mu);
    if (rc != 0) {
        log_error("pthread_mutex_unlock: %s", strerror(rc));
        abort();
    }
}

kc_credentials *kc_credentials_new_static(const char *token)
{
    kc_credentials *c = cred_new(CRED_STATIC);
    c->cached = true;
    c->token = token && *token ? xstrdup(token) : NULL;
    return c;
}

kc_credentials *kc_credentials_new_token_file(const char *path, const char *what)
{
    kc_credentials *c = cred_new(CRED_FILE);
    c->path = xstrdup(path);
    c->what = xstrdup(what);
    return c;
}

kc_credentials *kc_credentials_new_exec(kc_exec_spec *spec)
{
    kc_credentials *c = cred_new(CRED_EXEC);
    c->exec = spec;
    return c;
}

static void forget_material(kc_credentials *c)
{
    free(c->token);
    free(c->cert);
    free(c->key);
    c->token = NULL;
    c->cert = c->key = NULL;
    c->cert_len = c->key_len = 0;
}

void kc_credentials_free(kc_credentials *c)
{
    if (!c)
        return;
    forget_material(c);
    free(c->path);
    free(c->what);
    kc_exec_spec_free(c->exec);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static bool is_fresh(const kc_credentials *c, clk_t *clock)
{
    if (!c->cached)
        return false;
    switch (c->kind) {
    case CRED_STATIC:
        return true;
    case CRED_FILE:
        return clk_mono_ns(clock) - c->read_ns < KC_TOKEN_FILE_REFRESH_MS * CLK_NS_PER_MS;
    case CRED_EXEC:
        return c->expiry_ms == 0 || clk_wall_ms(clock) < c->expiry_ms - KC_EXEC_EXPIRY_MARGIN_MS;
    }
    return false;
}

static int refresh_file(kc_credentials *c, clk_t *clock, char **errmsg)
{
    unsigned char *data;
    size_t len;
    int rc = kc_read_file(c->path, &data, &len);
    char *why = NULL;
    if (rc < 0) {
        why = xasprintf("%s: cannot read: %s", c->what, strerror(-rc));
    } else if (*kc_trim((char *)data) == '\0') {
        why = xasprintf("%s: the file is empty", c->what);
        rc = -EINVAL;
    }
    if (!why) {
        free(c->token);
        c->token = (char *)data;
        c->cached = true;
        c->read_ns = clk_mono_ns(clock);
        return 0;
    }
    free(data);
    if (c->token) {
        /* client-go keeps serving the last good token; the next call tries the file again. */
        log_warn("%s; keeping the previous token", why);
        free(why);
        return 0;
    }
    *errmsg = why;
    return rc;
}

static int refresh_exec(kc_credentials *c, char **errmsg)
{
    kc_exec_result r;
    int rc = kc_exec_run(c->exec, &r, errmsg);
    if (rc < 0)
        return rc;
    forget_material(c);
    c->token = r.token;
    c->cert = r.cert;
    c->cert_len = r.cert_len;
    c->key = r.key;
    c->key_len = r.key_len;
    c->expiry_ms = r.expiry_ms;
    c->cached = true;
    return 0;
}

/* Makes the cached material current. Caller holds the lock. */
static int ensure_fresh(kc_credentials *c, clk_t *clock, char **errmsg)
{
    if (is_fresh(c, clock))
        return 0;
    switch (c->kind) {
    case CRED_STATIC:
        return 0;
    case CRED_FILE:
        return refresh_file(c, clock, errmsg);
    case CRED_EXEC:
        return refresh_exec(c, errmsg);
    }
    return 0;
}

int kc_credentials_authorization(kc_credentials *c, clk_t *clock, char **authorization,
                                 char **errmsg)
{
    *authorization = NULL;
    *errmsg = NULL;
    lock(c);
    int rc = ensure_fresh(c, clock, errmsg);
    if (rc == 0 && c->token)
        *authorization = xasprintf("Bearer %s", c->token);
    unlock(c);
    return rc;
}

static unsigned char *dup_bytes(const unsigned char *p, size_t n)
{
    unsigned char *q = xmalloc(n + 1);
    memcpy(q, p, n);
    q[n] = '\0';
    return q;
}

int kc_credentials_client_cert(kc_credentials *c, clk_t *clock, unsigned char **cert,
                               size_t *cert_len, unsigned char **key, size_t *key_len,
                               char **errmsg)
{
    *cert = *key = NULL;
    *cert_len = *key_len = 0;
    *errmsg = NULL;
    if (c->kind != CRED_EXEC)
        return 0; /* kind is immutable: no lock needed */
    lock(c);
    int rc = ensure_fresh(c, clock, errmsg);
    if (rc == 0 && c->cert) {
        *cert = dup_bytes(c->cert, c->cert_len);
        *cert_len = c->cert_len;
        *key = dup_bytes(c->key, c->key_len);
        *key_len = c->key_len;
    }
    unlock(c);
    return rc;
}

void kc_credentials_invalidate(kc_credentials *c, const char *used)
{
    if (c->kind == CRED_STATIC)
        return;
    lock(c);
    static const char bearer[] = "Bearer ";
    bool stale = !used || !c->token ||
                 (strncmp(used, bearer, sizeof bearer - 1) == 0 &&
                  strcmp(used + sizeof bearer - 1, c->token) == 0);
    if (stale)
        c->cached = false;
    unlock(c);
}
