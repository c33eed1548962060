/*
 * etcd_http.c - libcurl calls to etcd's gateway (see etcd_http.h).
 */
#include "storage/etcd_http.h"

#include "storage/etcd_json.h"

#include "common/alloc.h"
#include "common/curl_lib.h" /* libcurl, loaded on first use */
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Connecting to a live endpoint on a LAN takes milliseconds; give up on one well before the
   request timeout so that another endpoint can still answer in time. */
#define EH_CONNECT_TIMEOUT_MS 2000
/* How often eh_stream calls its tick function. */
#define EH_TICK_MS 200
/* TCP keepalive: first probe after this much silence, then one per interval (the kernel gives
   up after its tcp_keepalive_probes, 9 by default: about a minute and a half in all). */
#define EH_KEEPIDLE_S  15
#define EH_KEEPINTVL_S 8

struct eh_conn {
    const eh_target *t;
    CURL *easy;
    CURLM *multi; /* runs eh_stream, so that eh_wake can interrupt it */
    int cur;      /* index of the endpoint the next request goes to */
    char url[512];
    char errbuf[CURL_ERROR_SIZE];
    /* eh_stream's line assembly */
    sbuf line;
    eh_line_fn on_line;
    void *ctx;
    bool stopped; /* a callback asked to stop */
    bool too_long;
};

static pthread_once_t eh_once = PTHREAD_ONCE_INIT;

static void eh_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        log_error("curl_global_init failed; etcd requests will fail");
    /* CURLOPT_NOSIGNAL leaves SIGPIPE alone: a peer closing the connection must not kill the
       process. Only the default action is replaced; a program's own handler stays. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) &&
        sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        (void)sigaction(SIGPIPE, &sa, NULL);
    }
}

eh_conn *eh_new(const eh_target *t)
{
    pthread_once(&eh_once, eh_global_init);
    eh_conn *c = xcalloc(1, sizeof(*c));
    c->t = t;
    c->easy = curl_easy_init();
    /* Created here, not by the first eh_stream, so eh_wake never races its creation. */
    c->multi = curl_multi_init();
    if (!c->easy || !c->multi)
        abort(); /* only fails on out-of-memory, which aborts by policy */
    return c;
}

void eh_free(eh_conn *c)
{
    if (!c)
        return;
    curl_multi_cleanup(c->multi);
    curl_easy_cleanup(c->easy);
    sbuf_free(&c->line);
    free(c);
}

const char *eh_endpoint(const eh_conn *c)
{
    return c->t->endpoints[c->cur];
}

void eh_rotate(eh_conn *c)
{
    c->cur = (c->cur + 1) % c->t->n_endpoints;
}

static size_t eh_collect(char *data, size_t size, size_t n, void *arg)
{
    sbuf *sb = arg;
    if (sb->len + size * n > EJ_MAX_MESSAGE_BYTES)
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    sbuf_append(sb, data, size * n);
    return size * n;
}

/* Sets what every request shares: URL, body, TLS, timeouts. */
static void eh_setup(eh_conn *c, const char *path, const char *body, int timeout_ms)
{
    CURL *e = c->easy;
    curl_easy_reset(e);
    snprintf(c->url, sizeof(c->url), "%s%s", eh_endpoint(c), path);
    c->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)EH_CONNECT_TIMEOUT_MS);
    if (timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    /* A watch may be silent for minutes: keepalive probes notice a peer that vanished (a
       paused etcd still answers them from its kernel, so it is not mistaken for one). */
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, (long)EH_KEEPIDLE_S);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, (long)EH_KEEPINTVL_S);
    if (c->t->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->t->ca_file);
    if (c->t->cert_file)
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->t->cert_file);
    if (c->t->key_file)
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->t->key_file);
}

static void eh_report(eh_conn *c, bool ok)
{
    if (c->t->healthy)
        atomic_store(c->t->healthy, ok ? 1 : 0);
}

/* True for failures where nothing reached etcd, so another endpoint may be tried. */
static bool eh_not_sent(CURLcode rc)
{
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
           rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION;
}

int eh_post(eh_conn *c, const char *path, const char *body, int timeout_ms, sbuf *resp,
            long *status, const char **why)
{
    CURLcode rc = CURLE_OK;
    if (timeout_ms <= 0)
        timeout_ms = c->t->request_timeout_ms;
    for (int tries = 0; tries < c->t->n_endpoints; tries++) {
        sbuf_reset(resp);
        eh_setup(c, path, body, timeout_ms);
        curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, eh_collect);
        curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, resp);
        rc = curl_easy_perform(c->easy);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, status);
            /* 5xx: the endpoint answered but cannot serve (no leader, shutting down). */
            eh_report(c, *status < 500);
            if (*status >= 500)
                eh_rotate(c);
            return 0;
        }
        log_kv(LOG_WARN, "etcd request failed", "url", c->url, "error", curl_easy_strerror(rc),
               "detail", c->errbuf, NULL);
        eh_rotate(c);
        if (!eh_not_sent(rc))
            break;
    }
    eh_report(c, false);
    if (why)
        *why = curl_easy_strerror(rc);
    return rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
}

/* Splits the stream into lines and hands each to on_line. */
static size_t eh_stream_data(char *data, size_t size, size_t n, void *arg)
{
    eh_conn *c = arg;
    size_t total = size * n;
    eh_report(c, true);
    for (size_t i = 0; i < total; i++) {
        if (data[i] != '\n') {
            /* Whole runs up to the next newline are appended at once. */
            const char *nl = memchr(data + i, '\n', total - i);
            size_t run = nl ? (size_t)(nl - (data + i)) : total - i;
            if (c->line.len + run > EJ_MAX_MESSAGE_BYTES) {
                c->too_long = true;
                return 0;
            }
            sbuf_append(&c->line, data + i, run);
            i += run - 1;
            continue;
        }
        bool go_on = c->line.len == 0 || c->on_line(c->ctx, c->line.data, c->line.len);
        sbuf_reset(&c->line);
        if (!go_on) {
            c->stopped = true;
            return 0;
        }
    }
    return total;
}

int eh_stream(eh_conn *c, const char *path, const char *body, eh_line_fn on_line,
              eh_tick_fn on_tick, void *ctx)
{
    sbuf_reset(&c->line);
    c->on_line = on_line;
    c->ctx = ctx;
    c->stopped = c->too_long = false;
    eh_setup(c, path, body, 0);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, eh_stream_data);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_multi_add_handle(c->multi, c->easy);
    int running = 1;
    CURLMcode mrc = CURLM_OK;
    while (running && !c->stopped && mrc == CURLM_OK) {
        mrc = curl_multi_perform(c->multi, &running);
        if (running && mrc == CURLM_OK)
            mrc = curl_multi_poll(c->multi, NULL, 0, EH_TICK_MS, NULL);
        if (!on_tick(ctx))
            c->stopped = true;
    }
    CURLcode rc = CURLE_OK;
    int left = 0;
    CURLMsg *m;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL)
        if (m->msg == CURLMSG_DONE)
            rc = m->data.result;
    curl_multi_remove_handle(c->multi, c->easy);
    if (c->stopped)
        return 0;
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    const char *reason = c->too_long       ? "a line of the stream is too long"
                         : rc != CURLE_OK  ? curl_easy_strerror(rc)
                         : mrc != CURLM_OK ? curl_multi_strerror(mrc)
                                           : "the server ended the stream";
    char code[16];
    snprintf(code, sizeof(code), "%ld", status);
    log_kv(LOG_WARN, "etcd watch stream ended", "url", c->url, "status", code, "error", reason,
           "detail", c->errbuf, NULL);
    if (rc != CURLE_OK || status >= 500)
        eh_report(c, false);
    return -EIO;
}

void eh_wake(eh_conn *c)
{
    curl_multi_wakeup(c->multi);
}
