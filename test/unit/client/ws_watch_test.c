/*
 * kc_ws_watch (client/wswatch.h) against a scripted WebSocket server on loopback: events in
 * order across fragmented messages, a close frame as the clean end, the handshake's headers
 * (Authorization, path), the message limit (-EMSGSIZE), a malformed message (-EPROTO), a
 * connection lost without a close frame (-EIO), cancel from the handler, the idle deadline on a
 * fake clock, a refused upgrade decoded as kc_watch decodes an error (-EREMOTEIO, code and
 * reason), and kc_request's 401 and Retry-After rules.
 *
 * The server is a raw socket thread (not lws), so a test controls every byte and frame: each
 * accepted connection plays the next script.
 */
#include "client/config.h"
#include "client/rest.h"
#include "client/wswatch.h"
#include "common/alloc.h"
#include "common/clock.h"
#include "common/sbuf.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the scripted server ---- */

/* S_MANY: `repeat` ADDED events named e-<i>, each padded to about 1 KiB, one message each. */
typedef enum step_kind { S_TEXT, S_CONT, S_CLOSE, S_DROP, S_HOLD, S_MANY } step_kind;

typedef struct step {
    step_kind kind;
    bool fin;
    const char *payload; /* NULL = `repeat` times 'x' */
    size_t repeat;
} step;

#define MAX_STEPS   8
#define MAX_SCRIPTS 4

typedef struct script {
    const char *refuse; /* a raw non-101 answer, or NULL to upgrade */
    step steps[MAX_STEPS];
    int nsteps;
} script;

typedef struct ws_stub {
    int fd, port;
    pthread_t thread;
    script scripts[MAX_SCRIPTS];
    int nscripts;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int connections;
    char *last_request;
    bool released;       /* S_HOLD waits for this */
    size_t many_written; /* bytes of S_MANY events written so far */
} ws_stub;

static ws_stub stub;

static bool read_head(int fd, sbuf *head)
{
    char c;
    while (read(fd, &c, 1) == 1) {
        sbuf_putc(head, c);
        if (head->len >= 4 && memcmp(head->data + head->len - 4, "\r\n\r\n", 4) == 0)
            return true;
    }
    return false;
}

static char *accept_for(const char *head)
{
    const char *k = strcasestr(head, "Sec-WebSocket-Key:");
    cr_assert_not_null(k);
    k += strlen("Sec-WebSocket-Key:");
    while (*k == ' ')
        k++;
    char *key = xasprintf("%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)strcspn(k, "\r"), k);
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)key, strlen(key), md);
    free(key);
    char *out = xmalloc(64);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
    return out;
}

static void write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

static void write_frame(int fd, int opcode, bool fin, const char *payload, size_t n)
{
    unsigned char h[10];
    size_t hl = 2;
    h[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (n < 126) {
        h[1] = (unsigned char)n;
    } else if (n > 0xffff) {
        abort(); /* the scripts never send 64 KiB frames */
    } else {
        h[1] = 126;
        h[2] = (unsigned char)(n >> 8);
        h[3] = (unsigned char)n;
        hl = 4;
    }
    write_all(fd, h, hl);
    write_all(fd, payload, n);
}

static void play(int fd, const script *s)
{
    for (int i = 0; i < s->nsteps; i++) {
        const step *st = &s->steps[i];
        char *filler = NULL;
        const char *p = st->payload;
        size_t n = p ? strlen(p) : st->repeat;
        if (!p && st->kind != S_MANY) {
            filler = xmalloc(n + 1);
            memset(filler, 'x', n);
            p = filler;
        }
        switch (st->kind) {
        case S_TEXT:
            write_frame(fd, 1, st->fin, p, n);
            break;
        case S_CONT:
            write_frame(fd, 0, st->fin, p, n);
            break;
        case S_CLOSE:
            write_frame(fd, 8, true, "\x03\xe8", 2); /* 1000, normal closure */
            break;
        case S_DROP:
            break;
        case S_MANY:
            for (size_t k = 0; k < st->repeat; k++) {
                char *ev = xasprintf("{\"type\":\"ADDED\",\"object\":{\"metadata\":"
                                     "{\"name\":\"e-%zu\"},\"pad\":\"%01000d\"}}",
                                     k, 0);
                write_frame(fd, 1, true, ev, strlen(ev));
                pthread_mutex_lock(&stub.mu);
                stub.many_written += strlen(ev);
                pthread_cond_broadcast(&stub.cond);
                pthread_mutex_unlock(&stub.mu);
                free(ev);
            }
            break;
        case S_HOLD:
            pthread_mutex_lock(&stub.mu);
            while (!stub.released)
                pthread_cond_wait(&stub.cond, &stub.mu);
            pthread_mutex_unlock(&stub.mu);
            break;
        }
        free(filler);
    }
}

static void serve(int fd, const script *s)
{
    sbuf head = SBUF_INIT;
    if (!read_head(fd, &head)) {
        sbuf_free(&head);
        return;
    }
    pthread_mutex_lock(&stub.mu);
    free(stub.last_request);
    stub.last_request = xstrdup(head.data);
    stub.connections++;
    pthread_cond_broadcast(&stub.cond);
    pthread_mutex_unlock(&stub.mu);
    if (s->refuse) {
        write_all(fd, s->refuse, strlen(s->refuse));
    } else {
        char *acc = accept_for(head.data);
        char *resp = xasprintf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                               acc);
        write_all(fd, resp, strlen(resp));
        free(resp);
        free(acc);
        play(fd, s);
    }
    sbuf_free(&head);
}

static void *stub_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < stub.nscripts; i++) {
        int fd = accept(stub.fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        serve(fd, &stub.scripts[i]);
        shutdown(fd, SHUT_RDWR);
        close(fd);
    }
    return NULL;
}

static void stub_begin(void)
{
    stub.fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(stub.fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(stub.fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(stub.fd, 8), 0);
    socklen_t len = sizeof a;
    getsockname(stub.fd, (struct sockaddr *)&a, &len);
    stub.port = ntohs(a.sin_port);
    pthread_mutex_init(&stub.mu, NULL);
    pthread_cond_init(&stub.cond, NULL);
    cr_assert_eq(pthread_create(&stub.thread, NULL, stub_main, NULL), 0);
}

static void stub_end(void)
{
    pthread_mutex_lock(&stub.mu);
    stub.released = true;
    pthread_cond_broadcast(&stub.cond);
    pthread_mutex_unlock(&stub.mu);
    shutdown(stub.fd, SHUT_RDWR);
    pthread_join(stub.thread, NULL);
    close(stub.fd);
    free(stub.last_request);
    pthread_cond_destroy(&stub.cond);
    pthread_mutex_destroy(&stub.mu);
    memset(&stub, 0, sizeof stub);
}

/* ---- the client side ---- */

typedef struct fixture {
    kc_config cfg;
    kc_client *kc;
    kc_wswatch *ws;
    clk_t *clock;
    sbuf log;
    int events;
    atomic_bool cancel;
    bool cancel_on_first;
} fixture;

static fixture f;

static void fake_sleep(void *ctx, uint64_t ms)
{
    clk_fake_advance_ms(ctx, (int64_t)ms);
}

static void start_client(size_t max_event)
{
    stub_begin();
    f.cfg.server = xasprintf("http://127.0.0.1:%d", stub.port);
    f.cfg.creds = kc_credentials_new_static("tok-123");
    f.clock = clk_fake_new(0);
    kc_client_options o = kc_client_defaults();
    o.clock = f.clock;
    o.sleep = fake_sleep;
    o.sleep_ctx = f.clock;
    o.max_watch_event_bytes = max_event;
    api_error err = API_ERROR_INIT;
    f.kc = kc_client_new(&f.cfg, &o, &err);
    cr_assert_not_null(f.kc, "%s", err.message ? err.message : "");
    f.ws = kc_wswatch_new(f.kc, &err);
    cr_assert_not_null(f.ws, "%s", err.message ? err.message : "");
}

static void setup(void)
{
    alloc_install_cjson_hooks();
    memset(&f, 0, sizeof f);
    sbuf_init(&f.log);
}

static void teardown(void)
{
    kc_wswatch_free(f.ws);
    kc_client_free(f.kc);
    kc_credentials_free(f.cfg.creds);
    free(f.cfg.server);
    if (f.clock)
        clk_fake_free(f.clock);
    sbuf_free(&f.log);
    stub_end();
}

TestSuite(ws_watch, .init = setup, .fini = teardown, .timeout = 30);

static bool on_event(void *ctx, kc_watch_event *ev)
{
    fixture *fx = ctx;
    static const char *names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
    const cJSON *md = cJSON_GetObjectItem(ev->object, "metadata");
    const cJSON *name = md ? cJSON_GetObjectItem(md, "name") : NULL;
    sbuf_printf(&fx->log, "%s %s\n", names[ev->type],
                cJSON_IsString(name) ? name->valuestring : "-");
    fx->events++;
    if (fx->cancel_on_first)
        atomic_store(&fx->cancel, true);
    return true;
}

static int watch(api_error *err)
{
    return kc_ws_watch(f.ws, "/apis/demo.example.com/v1beta1/foos?watch=true", 0, on_event, &f,
                       &f.cancel, err);
}

#define EV(type, name) "{\"type\":\"" type "\",\"object\":{\"metadata\":{\"name\":\"" name "\"}}}"

Test(ws_watch, events_in_order_across_fragments_then_a_close_frame_is_a_clean_end)
{
    stub.scripts[0] = (script){
        .steps = {{S_TEXT, true, EV("ADDED", "a"), 0},
                  {S_TEXT, false, "{\"type\":\"MODIFIED\",", 0},
                  {S_CONT, false, "\"object\":{\"metadata\":", 0},
                  {S_CONT, true, "{\"name\":\"b\"}}}", 0},
                  {S_TEXT, true, EV("DELETED", "c") "\n", 0},
                  {S_CLOSE, true, NULL, 0}},
        .nsteps = 6,
    };
    stub.nscripts = 1;
    start_client(0);
    api_error err = API_ERROR_INIT;
    int rc = watch(&err);
    cr_assert_eq(rc, 0, "%d %s", rc, err.message ? err.message : "");
    cr_assert_str_eq(f.log.data, "ADDED a\nMODIFIED b\nDELETED c\n");
    cr_assert_not_null(
        strstr(stub.last_request, "GET /apis/demo.example.com/v1beta1/foos?watch=true HTTP/1.1"));
    cr_assert_not_null(strcasestr(stub.last_request, "Authorization: Bearer tok-123\r\n"));
    cr_assert_not_null(strcasestr(stub.last_request, "User-Agent: foo/"));
}

Test(ws_watch, a_message_over_the_limit_ends_the_stream_with_emsgsize)
{
    stub.scripts[0] = (script){
        .steps = {{S_TEXT, true, EV("ADDED", "a"), 0},
                  {S_TEXT, false, NULL, 600},
                  {S_CONT, false, NULL, 600},
                  {S_CONT, true, NULL, 600},
                  {S_HOLD, true, NULL, 0}},
        .nsteps = 5,
    };
    stub.nscripts = 1;
    start_client(1024);
    api_error err = API_ERROR_INIT;
    cr_assert_eq(watch(&err), -EMSGSIZE);
    cr_assert_eq(err.code, 0);
    cr_assert_str_eq(err.reason, "Transport");
    cr_assert_not_null(strstr(err.message, "1024 bytes"));
    cr_assert_eq(f.events, 1);
    apierr_clear(&err);
}

Test(ws_watch, a_message_that_is_not_an_event_is_eproto)
{
    stub.scripts[0] = (script){
        .steps = {{S_TEXT, true, "not json", 0}, {S_HOLD, true, NULL, 0}},
        .nsteps = 2,
    };
    stub.nscripts = 1;
    start_client(0);
    api_error err = API_ERROR_INIT;
    cr_assert_eq(watch(&err), -EPROTO);
    cr_assert_str_eq(err.reason, "Transport");
    apierr_clear(&err);
}

Test(ws_watch, a_connection_lost_without_a_close_frame_is_a_transport_failure)
{
    stub.scripts[0] = (script){
        .steps = {{S_TEXT, true, EV("ADDED", "a"), 0}, {S_DROP, true, NULL, 0}},
        .nsteps = 2,
    };
    stub.nscripts = 1;
    start_client(0);
    api_error err = API_ERROR_INIT;
    cr_assert_eq(watch(&err), -EIO);
    cr_assert_eq(err.code, 0);
    cr_assert_str_eq(err.reason, "Transport");
    cr_assert_eq(f.events, 1, "what came before the loss was delivered");
    apierr_clear(&err);
}

Test(ws_watch, cancel_ends_the_watch_with_0)
{
    stub.scripts[0] = (script){
        .steps = {{S_TEXT, true, EV("ADDED", "a"), 0}, {S_HOLD, true, NULL, 0}},
        .nsteps = 2,
    };
    stub.nscripts = 1;
    start_client(0);
    f.cancel_on_first = true;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(watch(&err), 0);
    cr_assert_eq(f.events, 1);
}

/*
 * Moves the fake clock on until the watch has returned: the stream's start (which resets the
 * deadline) may come after any one step, so one step is not enough.
 */
static atomic_bool watch_returned;

static void *advance_until_returned(void *arg)
{
    (void)arg;
    while (!atomic_load(&watch_returned)) {
        clk_fake_advance_ms(f.clock, 500);
        pthread_mutex_lock(&stub.mu);
        struct timespec ts = clk_mono_deadline(10 * CLK_NS_PER_MS);
        pthread_cond_timedwait(&stub.cond, &stub.mu, &ts);
        pthread_mutex_unlock(&stub.mu);
    }
    return NULL;
}

Test(ws_watch, no_byte_for_the_idle_deadline_on_the_clients_clock_is_etimedout)
{
    stub.scripts[0] = (script){.steps = {{S_HOLD, true, NULL, 0}}, .nsteps = 1};
    stub.nscripts = 1;
    start_client(0);
    atomic_store(&watch_returned, false);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, advance_until_returned, NULL), 0);
    api_error err = API_ERROR_INIT;
    int rc = kc_ws_watch(f.ws, "/apis/demo.example.com/v1beta1/foos?watch=true", 1000, on_event, &f,
                         &f.cancel, &err);
    atomic_store(&watch_returned, true);
    pthread_join(th, NULL);
    cr_assert_eq(rc, -ETIMEDOUT);
    cr_assert_str_eq(err.reason, "Timeout");
    apierr_clear(&err);
}

#define STATUS_403                                                                                 \
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","           \
    "\"message\":\"forbidden\",\"reason\":\"Forbidden\",\"code\":403}"

Test(ws_watch, a_refused_upgrade_is_eremoteio_with_the_status_code_and_reason)
{
    stub.scripts[0] = (script){
        .refuse = "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                  "Content-Length: 122\r\nConnection: close\r\n\r\n" STATUS_403,
    };
    stub.nscripts = 1;
    start_client(0);
    api_error err = API_ERROR_INIT;
    cr_assert_eq(watch(&err), -EREMOTEIO);
    cr_assert_eq(err.code, 403);
    cr_assert_str_eq(err.reason, "Forbidden");
    apierr_clear(&err);
}

Test(ws_watch, a_401_is_retried_once_and_a_429_after_its_retry_after)
{
    stub.scripts[0] = (script){
        .refuse = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    };
    stub.scripts[1] = (script){
        .refuse = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 0\r\n"
                  "Connection: close\r\n\r\n",
    };
    stub.scripts[2] = (script){
        .steps = {{S_TEXT, true, EV("ADDED", "a"), 0}, {S_CLOSE, true, NULL, 0}},
        .nsteps = 2,
    };
    stub.nscripts = 3;
    start_client(0);
    uint64_t t0 = clk_mono_ns(f.clock);
    api_error err = API_ERROR_INIT;
    int rc = watch(&err);
    cr_assert_eq(rc, 0, "%d %s", rc, err.message ? err.message : "");
    cr_assert_eq(f.events, 1);
    kc_client_stats st;
    kc_client_stats_get(f.kc, &st);
    cr_assert_eq(st.auth_retries, 1);
    cr_assert_eq(st.retries, 1);
    cr_assert_eq(st.requests, 3);
    cr_assert_eq(clk_mono_ns(f.clock) - t0, 3000 * CLK_NS_PER_MS, "waited Retry-After");
}

/*
 * Counts events and checks they come in order e-0, e-1, ... The first one waits until the
 * server has written more than the loop queues before it stops reading (1 MiB), so the loop
 * surely pauses the socket, and resumes it once this handler drains the queue.
 */
static bool count_in_order(void *ctx, kc_watch_event *ev)
{
    fixture *fx = ctx;
    if (fx->events == 0) {
        pthread_mutex_lock(&stub.mu);
        while (stub.many_written < (size_t)1200 * 1024)
            pthread_cond_wait(&stub.cond, &stub.mu);
        pthread_mutex_unlock(&stub.mu);
    }
    const cJSON *md = cJSON_GetObjectItem(ev->object, "metadata");
    const cJSON *name = md ? cJSON_GetObjectItem(md, "name") : NULL;
    char want[32];
    snprintf(want, sizeof want, "e-%d", fx->events);
    if (!cJSON_IsString(name) || strcmp(name->valuestring, want) != 0)
        return false;
    fx->events++;
    return true;
}

Test(ws_watch, megabytes_faster_than_the_handler_arrive_whole_and_in_order)
{
    /* 3 MiB, more than the loop queues before it stops reading (1 MiB): reading resumes. */
    stub.scripts[0] = (script){
        .steps = {{S_MANY, true, NULL, 3000}, {S_CLOSE, true, NULL, 0}},
        .nsteps = 2,
    };
    stub.nscripts = 1;
    start_client(0);
    api_error err = API_ERROR_INIT;
    int rc = kc_ws_watch(f.ws, "/apis/demo.example.com/v1beta1/foos?watch=true", 0, count_in_order,
                         &f, &f.cancel, &err);
    cr_assert_eq(rc, 0, "%d %s", rc, err.message ? err.message : "");
    cr_assert_eq(f.events, 3000);
}

Test(ws_watch, bad_arguments_and_a_proxy_are_einval)
{
    stub.nscripts = 0;
    start_client(0);
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_ws_watch(f.ws, "relative", 0, on_event, &f, NULL, &err), -EINVAL);
    cr_assert_eq(kc_ws_watch(f.ws, "/api", 0, NULL, &f, NULL, &err), -EINVAL);
    cr_assert_eq(kc_ws_watch(NULL, "/api", 0, on_event, &f, NULL, NULL), -EINVAL,
                 "err may be NULL");
    f.cfg.proxy_url = "http://proxy.example:3128";
    cr_assert_eq(watch(&err), -EINVAL);
    cr_assert_not_null(strstr(err.message, "proxy-url"));
    f.cfg.proxy_url = NULL;
    apierr_clear(&err);
    cr_assert_null(kc_wswatch_new(NULL, &err));
    cr_assert_eq(err.code, 400);
    apierr_clear(&err);
}
