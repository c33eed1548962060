/*
 * credentials.c - the token source (docs/controller-machinery.md §1.2): one object per config that
 * hands out the current bearer token or exec client certificate and refreshes it.
 *
 * Kinds: a static token (never refreshed), a token file (tokenFile and the in-cluster
 * service-account token: re-read every KC_TOKEN_FILE_REFRESH_MS), and an exec plugin (re-run at
 * expiry). A 401 invalidates the cache.
 *
 * Refreshes are single-flight and run WITHOUT the mutex held: the mutex only guards the cached
 * material and the in-flight flag, so a hung plugin (up to its timeout) or a slow file never
 * blocks a caller that can be served from the cache. While one caller refreshes:
 *   - a caller whose cached credential is still valid (an exec credential inside its expiry
 *     margin but not expired, a token file due for its periodic re-read) gets it at once;
 *   - a caller with nothing valid (nothing cached yet, invalidated after a 401, expired) waits on
 *     the condition variable for that one refresh and shares its outcome, success or error, so a
 *     burst of callers runs the plugin once. The wait is bounded by the plugin's timeout.
 * Everything secret is wiped before it is freed (secret.c).
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
    pthread_cond_t done; /* broadcast when a refresh ends */
    enum cred_kind kind;
    char *path;          /* CRED_FILE; immutable */
    char *what;          /* CRED_FILE: names the file in messages ("tokenFile /x"); immutable */
    kc_exec_spec *exec;  /* CRED_EXEC; owned; immutable once in use */
    bool cached;         /* token/cert below are current (always true for CRED_STATIC) */
    char *token;         /* NULL = none; CRED_FILE keeps the last good token after a failed read */
    unsigned char *cert; /* CRED_EXEC */
    size_t cert_len;
    unsigned char *key;
    size_t key_len;
    uint64_t read_ns;  /* CRED_FILE: monotonic time of the last successful read */
    int64_t expiry_ms; /* CRED_EXEC: wall time of expirationTimestamp; 0 = none */
    /* single flight */
    bool refreshing;    /* a caller is refreshing, without the mutex */
    uint64_t finished;  /* refreshes ended so far: waiters watch it change */
    int last_rc;        /* outcome of the last refresh, shared with its waiters */
    api_error last_err; /* its error when last_rc < 0 */
};

static kc_credentials *cred_new(enum cred_kind kind)
{
    kc_credentials *c = xcalloc(1, sizeof *c);
    int rc = pthread_mutex_init(&c->mu, NULL);
    if (rc == 0 && (rc = pthread_cond_init(&c->done, NULL)) != 0)
        pthread_mutex_destroy(&c->mu);
    if (rc != 0) {
        log_error("pthread_mutex_init/pthread_cond_init: %s", strerror(rc));
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

void kc_credentials_set_exec_timeout(kc_credentials *c, int timeout_ms)
{
    if (c && c->kind == CRED_EXEC)
        c->exec->timeout_ms = timeout_ms > 0 ? timeout_ms : KC_EXEC_TIMEOUT_MS;
}

static void forget_material(kc_credentials *c)
{
    kc_free_secret_str(c->token);
    kc_free_secret(c->cert, c->cert_len);
    kc_free_secret(c->key, c->key_len);
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
    apierr_clear(&c->last_err);
    kc_exec_spec_free(c->exec);
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* True when the cache needs no refresh now. Caller holds the lock. */
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

/*
 * True when the cache is due for a refresh but may still be used meanwhile: an exec credential
 * inside its expiry margin that has not expired, a token file due for its periodic re-read.
 * An invalidated cache (a 401) is never usable. Caller holds the lock.
 */
static bool is_usable(const kc_credentials *c, clk_t *clock)
{
    if (!c->cached)
        return false;
    switch (c->kind) {
    case CRED_STATIC:
        return true;
    case CRED_FILE:
        return c->token != NULL;
    case CRED_EXEC:
        return c->expiry_ms == 0 || clk_wall_ms(clock) < c->expiry_ms;
    }
    return false;
}

/* What one refresh fetched, before it is installed under the lock. */
typedef struct fetched {
    unsigned char *file; /* CRED_FILE: the trimmed token (kc_free_secret_str) */
    kc_exec_result exec; /* CRED_EXEC */
} fetched;

/* Reads the file or runs the plugin. No lock held: only immutable fields are read. */
static int fetch(kc_credentials *c, clk_t *clock, fetched *f, api_error *err)
{
    if (c->kind == CRED_EXEC)
        return kc_exec_run(c->exec, clock, &f->exec, err);
    size_t len;
    int rc = kc_read_file(c->path, &f->file, &len);
    if (rc < 0)
        return apierr_local(err, rc, "%s: cannot read: %s", c->what, strerror(-rc));
    /* An exact-size copy: trimming moves the token, leaving a partial copy past its end. */
    unsigned char *raw = f->file;
    const char *token = kc_trim((char *)raw);
    f->file = *token ? (unsigned char *)xstrdup(token) : NULL;
    kc_free_secret(raw, len + 1);
    if (!f->file)
        return apierr_local(err, -EINVAL, "%s: the file is empty", c->what);
    return 0;
}

/*
 * Installs a refresh's outcome. A failed token-file re-read keeps the previous token (client-go
 * does; the next call tries the file again) and counts as a success. Caller holds the lock.
 * Returns the outcome; *err stays filled only for a failure.
 */
static int install(kc_credentials *c, clk_t *clock, int rc, fetched *f, api_error *err)
{
    if (rc < 0) {
        if (c->kind == CRED_FILE && c->token) {
            log_warn("%s; keeping the previous token", err->message);
            apierr_clear(err);
            return 0;
        }
        return rc;
    }
    forget_material(c);
    if (c->kind == CRED_FILE) {
        c->token = (char *)f->file;
        c->read_ns = clk_mono_ns(clock);
    } else {
        c->token = f->exec.token;
        c->cert = f->exec.cert;
        c->cert_len = f->exec.cert_len;
        c->key = f->exec.key;
        c->key_len = f->exec.key_len;
        c->expiry_ms = f->exec.expiry_ms;
    }
    c->cached = true;
    return 0;
}

/*
 * Makes the cached material usable, refreshing it single-flight (see the file comment).
 * Called and returns with the lock held; drops it while this caller refreshes or waits.
 * Returns 0 (use the cache) or a negative errno with *err filled.
 */
static int ensure_fresh(kc_credentials *c, clk_t *clock, api_error *err)
{
    if (is_fresh(c, clock))
        return 0;
    if (c->refreshing) {
        if (is_usable(c, clock))
            return 0;
        uint64_t seen = c->finished;
        while (c->finished == seen) {
            int rc = pthread_cond_wait(&c->done, &c->mu);
            if (rc != 0) {
                log_error("pthread_cond_wait: %s", strerror(rc));
                abort();
            }
        }
        if (c->last_rc < 0)
            apierr_set(err, c->last_err.code, c->last_err.reason, "%s", c->last_err.message);
        return c->last_rc;
    }
    c->refreshing = true;
    unlock(c);
    fetched f = {0};
    api_error fetch_err = API_ERROR_INIT;
    int rc = fetch(c, clock, &f, &fetch_err);
    lock(c);
    rc = install(c, clock, rc, &f, &fetch_err);
    c->refreshing = false;
    c->finished++;
    c->last_rc = rc;
    apierr_clear(&c->last_err);
    if (rc < 0) {
        apierr_set(&c->last_err, fetch_err.code, fetch_err.reason, "%s", fetch_err.message);
        apierr_move(err, &fetch_err);
    }
    apierr_clear(&fetch_err);
    int brc = pthread_cond_broadcast(&c->done);
    if (brc != 0) {
        log_error("pthread_cond_broadcast: %s", strerror(brc));
        abort();
    }
    return rc;
}

int kc_credentials_authorization(kc_credentials *c, clk_t *clock, char **authorization,
                                 api_error *err)
{
    *authorization = NULL;
    lock(c);
    int rc = ensure_fresh(c, clock, err);
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
                               api_error *err)
{
    *cert = *key = NULL;
    *cert_len = *key_len = 0;
    if (c->kind != CRED_EXEC)
        return 0; /* kind is immutable: no lock needed */
    lock(c);
    int rc = ensure_fresh(c, clock, err);
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
