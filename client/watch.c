/*
 * watch.c - kc_watch (rest.h): one watch request, its body fed to the incremental decoder from
 * libcurl's write callback, with cancellation and an idle deadline.
 *
 * The transfer runs on a private multi handle polled every KC_WATCH_POLL_MS, because the easy
 * interface calls the progress callback only about once a second on a quiet stream; the same
 * checks also run from the xferinfo callback, so a busy stream stops promptly too. A write
 * callback that returns a short count makes libcurl abort the transfer: that is how fn's "stop"
 * and a malformed line end the stream.
 *
 * Each attempt is one exchange for the client's on_response observer: observed when the answer's
 * head has arrived (a watch may then stream for minutes, and client-go counts it at that point
 * too), or with code 0 at the end when no answer came.
 */
#include "client/rest_internal.h"
#include "common/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef struct kc_watch_run {
    kc_client *c;
    kc_call *call;
    kc_watch_decoder dec;
    long code;      /* HTTP status, read at the first body byte */
    int decode_rc;  /* the decoder's last non-zero answer: 1 (stop), -EPROTO or -EMSGSIZE */
    bool cancelled; /* *cancel was seen */
    bool idle;      /* the idle deadline passed */
    bool observed;  /* on_response was told about this attempt */
    atomic_bool *cancel;
    uint64_t idle_ns; /* 0 = no idle deadline */
    uint64_t last_byte_ns;
} kc_watch_run;

/* Why kc_watch_outcome() asks for another attempt (any value > 0). */
#define KC_WATCH_RETRY 1

static bool kc_watch_must_abort(kc_watch_run *w)
{
    if (w->cancel && atomic_load(w->cancel)) {
        w->cancelled = true;
        return true;
    }
    if (w->idle_ns) {
        uint64_t now = clk_mono_ns(w->c->opt.clock);
        if (now > w->last_byte_ns && now - w->last_byte_ns >= w->idle_ns) {
            w->idle = true;
            return true;
        }
    }
    return false;
}

static int kc_watch_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                             curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return kc_watch_must_abort(userp) ? 1 : 0;
}

static size_t kc_watch_write(char *p, size_t size, size_t n, void *userp)
{
    kc_watch_run *w = userp;
    size_t len = size * n;
    w->last_byte_ns = clk_mono_ns(w->c->opt.clock);
    if (w->code == 0 && curl_easy_getinfo(w->call->h, CURLINFO_RESPONSE_CODE, &w->code) != CURLE_OK)
        w->code = -1; /* kc_watch asks again once the transfer is over */
    if (w->code < 200 || w->code > 299) {
        /* An error answer is one Status document, not a stream: keep it whole (capped). */
        return kc_call_keep_body(w->call, p, len) ? len : 0;
    }
    int rc = kc_watch_decoder_feed(&w->dec, p, len);
    if (rc == 0)
        return len;
    w->decode_rc = rc;
    return 0; /* short count: libcurl aborts with CURLE_WRITE_ERROR */
}

/*
 * Header lines of the answer; the blank line ends a head. An interim 1xx head is followed by
 * the real one, so only a final status is observed.
 */
static size_t kc_watch_header(char *p, size_t size, size_t n, void *userp)
{
    kc_watch_run *w = userp;
    size_t len = size * n;
    bool head_end = (len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 && p[0] == '\n');
    long code = 0;
    if (!w->observed && head_end &&
        curl_easy_getinfo(w->call->h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code >= 200) {
        w->observed = true;
        kc_observe_exchange(w->c, code, "GET");
    }
    return len;
}

static CURLcode kc_watch_setopts(kc_watch_run *w)
{
    CURL *h = w->call->h;
    CURLcode rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, kc_watch_write);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, kc_watch_header);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_HEADERDATA, w);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, kc_watch_progress);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_XFERINFODATA, w);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    return rc;
}

/* The result of the finished transfer, if it has finished. */
static bool kc_watch_finished(CURLM *m, CURLcode *result)
{
    int left = 0;
    CURLMsg *msg;
    bool done = false;
    while ((msg = curl_multi_info_read(m, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE) {
            *result = msg->data.result;
            done = true;
        }
    return done;
}

static CURLcode kc_multi_failed(kc_watch_run *w, const char *what, CURLMcode mc)
{
    snprintf(w->call->errbuf, sizeof w->call->errbuf, "%s: %s", what, curl_multi_strerror(mc));
    return CURLE_FAILED_INIT;
}

/* Runs the transfer, checking cancel and the idle deadline at least every KC_WATCH_POLL_MS. */
static CURLcode kc_watch_perform(kc_watch_run *w)
{
    CURLM *m = curl_multi_init();
    if (!m)
        return CURLE_OUT_OF_MEMORY;
    CURLMcode mc = curl_multi_add_handle(m, w->call->h);
    if (mc != CURLM_OK) {
        curl_multi_cleanup(m);
        return kc_multi_failed(w, "curl_multi_add_handle", mc);
    }
    CURLcode result = CURLE_OK;
    for (;;) {
        int running = 0;
        mc = curl_multi_perform(m, &running);
        if (mc != CURLM_OK) {
            result = kc_multi_failed(w, "curl_multi_perform", mc);
            break;
        }
        if (kc_watch_finished(m, &result))
            break;
        if (kc_watch_must_abort(w)) {
            result = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        mc = curl_multi_poll(m, NULL, 0, KC_WATCH_POLL_MS, NULL);
        if (mc != CURLM_OK) {
            result = kc_multi_failed(w, "curl_multi_poll", mc);
            break;
        }
    }
    mc = curl_multi_remove_handle(m, w->call->h);
    if (mc != CURLM_OK && result == CURLE_OK)
        result = kc_multi_failed(w, "curl_multi_remove_handle", mc);
    mc = curl_multi_cleanup(m);
    if (mc != CURLM_OK && result == CURLE_OK)
        result = kc_multi_failed(w, "curl_multi_cleanup", mc);
    return result;
}

static int kc_watch_too_large(kc_watch_run *w, const char *path, api_error *err)
{
    apierr_set(err, 0, "Transport",
               "GET %s: a watch event is larger than the client's limit of %zu bytes "
               "(max_watch_event_bytes)",
               path, w->dec.max_line);
    return -EMSGSIZE;
}

/* How the stream ended: 0, a negative errno with *err, or KC_WATCH_RETRY after *wait_ms. */
static int kc_watch_outcome(kc_watch_run *w, CURLcode cc, const char *path, kc_retry_state *st,
                            uint64_t *wait_ms, api_error *err)
{
    if (w->decode_rc == 1 || w->cancelled)
        return 0;
    if (w->decode_rc == -EMSGSIZE)
        return kc_watch_too_large(w, path, err);
    if (w->decode_rc < 0) {
        apierr_set(err, 0, "Transport", "GET %s: malformed watch event", path);
        return -EPROTO;
    }
    if (w->idle) {
        apierr_set(err, 0, "Timeout", "GET %s: no data on the watch for %llu ms", path,
                   (unsigned long long)(w->idle_ns / CLK_NS_PER_MS));
        return -ETIMEDOUT;
    }
    if (cc != CURLE_OK)
        return kc_transport_error(w->call, cc, "GET", path, err);
    long code = 0;
    cc = curl_easy_getinfo(w->call->h, CURLINFO_RESPONSE_CODE, &code);
    if (cc != CURLE_OK)
        return kc_transport_error(w->call, cc, "GET", path, err);
    if (code < 200 || code > 299) {
        if (kc_should_retry(w->c, "GET", w->call, code, st, wait_ms))
            return KC_WATCH_RETRY;
        return kc_http_error(w->call, code, w->call->body.data, w->call->body.len, err);
    }
    /* A clean end: a last event without its newline still counts. */
    int rc = kc_watch_decoder_feed(&w->dec, "\n", 1);
    if (rc == -EMSGSIZE)
        return kc_watch_too_large(w, path, err);
    if (rc < 0) {
        apierr_set(err, 0, "Transport", "GET %s: malformed watch event", path);
        return -EPROTO;
    }
    return 0;
}

/* One attempt: 0, a negative errno, or KC_WATCH_RETRY after *wait_ms. */
static int kc_watch_once(kc_client *c, const char *path, int idle_timeout_ms, kc_watch_fn fn,
                         void *ctx, atomic_bool *cancel, kc_retry_state *st, uint64_t *wait_ms,
                         api_error *err)
{
    kc_call call;
    int rc = kc_call_begin(c, &call, "GET", path, NULL, NULL, 0, true, err);
    if (rc != 0)
        return rc;
    kc_watch_run w = {
        .c = c,
        .call = &call,
        .cancel = cancel,
        .idle_ns = idle_timeout_ms > 0 ? (uint64_t)idle_timeout_ms * CLK_NS_PER_MS : 0,
        .last_byte_ns = clk_mono_ns(c->opt.clock),
    };
    kc_watch_decoder_init(&w.dec, fn, ctx);
    w.dec.max_line = c->opt.max_watch_event_bytes;
    CURLcode cc = kc_watch_setopts(&w);
    if (cc == CURLE_OK) {
        cc = kc_watch_perform(&w);
        kc_call_count(c, &call);
        if (!w.observed) /* no answer's head came: a transport failure or a cancel */
            kc_observe_exchange(c, 0, "GET");
        rc = kc_watch_outcome(&w, cc, path, st, wait_ms, err);
    } else {
        rc = kc_transport_error(&call, cc, "GET", path, err);
    }
    kc_watch_decoder_free(&w.dec);
    kc_call_end(c, &call);
    return rc;
}

static int kc_watch_attempts(kc_client *c, const char *path, int idle_timeout_ms, kc_watch_fn fn,
                             void *ctx, atomic_bool *cancel, api_error *err)
{
    kc_retry_state st = {0};
    for (;;) {
        if (cancel && atomic_load(cancel))
            return 0;
        kc_throttle(c);
        uint64_t wait_ms = 0;
        int rc = kc_watch_once(c, path, idle_timeout_ms, fn, ctx, cancel, &st, &wait_ms, err);
        if (rc != KC_WATCH_RETRY)
            return rc;
        kc_sleep(c, wait_ms);
    }
}

int kc_watch(kc_client *c, const char *path, int idle_timeout_ms, kc_watch_fn fn, void *ctx,
             atomic_bool *cancel, api_error *err)
{
    api_error ignored = API_ERROR_INIT;
    if (!err)
        err = &ignored;
    int rc = -EINVAL;
    if (c && path && path[0] == '/' && fn)
        rc = kc_watch_attempts(c, path, idle_timeout_ms, fn, ctx, cancel, err);
    else
        apierr_set(err, 0, "Transport",
                   "kc_watch: a client, an absolute path and a handler are required");
    apierr_clear(&ignored);
    return rc;
}
