/*
 * watch_latency.c - watch latency under many concurrent watchers (docs/design.md §8: 1000 watchers,
 * p99 from write acknowledged to event received < 20 ms), for `make bench`.
 *
 * W watchers each open one TLS connection (HTTP/1.1, plain OpenSSL) and watch the Foo
 * collection from the current resourceVersion. One writer on its own connection then makes N
 * writes, one at a time: PATCH PREFIX-<k mod COUNT> with the annotation bench-seq=k, and once
 * the 200 is read it waits (bounded) until every live watcher has the event before the next
 * write. For every (watcher, write) pair the latency is the time the watcher read the event
 * minus the time the writer read the 200. One thread reads every watcher through epoll and
 * stamps each read as it returns, so the numbers include this reader's own queueing: they are
 * an upper bound of the server's latency. An event read before its 200 counts as 0 ms ("early").
 *
 * Usage: watch_latency HOST PORT CA_FILE TOKEN WATCHERS WRITES PREFIX COUNT [SERVER_PID
 *        [WRITE_PORT]]
 * WRITE_PORT: the writer talks to another server than the watchers (another replica on the same
 * etcd: the latency from a write on one replica to the event on another); default PORT.
 * Output (stdout, one line of "key value" pairs):
 *   watchers, writes, pairs   counts (writes made; the run stops early, see run_writes)
 *   missing                   pairs whose event never came within EVENT_WAIT_S
 *   early                     pairs whose event was read before the writer read the 200
 *   ack_to_event_{p50,p99,max}_ms   the latency above (200 read -> event read; early = 0)
 *   sent_to_event_{p50,p99,max}_ms  write sent -> event read: the whole path, commit included,
 *                                   whichever the server answers first, writer or watchers
 *   sent_to_ack_{p50,p99,max}_ms    write sent -> 200 read, over the writes
 *   fanout_spread_p50_ms      median over writes of (last - first watcher reading the event)
 *   reader_busy_ms_per_write  this reader thread's CPU time per write, i.e. reading and decoding
 *                             every watcher's copy of one event: the client's share, at most
 *   server_cpu_ms_per_write   the server's CPU time (all threads, /proc/SERVER_PID/stat; 0
 *                             without SERVER_PID) per write: its commit plus the fan-out
 * Progress goes to stderr.
 * Exit 1 when a connection, a watch or a write fails. The caller must allow W + 16 open files.
 * Built by bench/run.sh with cc (-lssl -lcrypto -lcjson -pthread); not part of the CMake build.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FOOS              "/apis/demo.example.com/v1beta1/foos"
#define MARK              "\"bench-seq\":\""
#define IO_TIMEOUT_S      10  /* socket timeout of every blocking read or write */
#define EVENT_WAIT_S      2.0 /* how long a write waits for its event to reach every watcher */
#define MAX_HEADER        16384
#define READ_CHUNK        16384
#define MAX_LINE          (1 << 20) /* an event line longer than this is a protocol error */
#define EPOLL_BATCH       64
#define EPOLL_WAIT_MS     50
#define MAX_LATE_WRITES   3    /* writes whose event missed EVENT_WAIT_S before giving up */
#define WRITES_DEADLINE_S 60.0 /* bound on the whole write phase */

/* The command line. */
typedef struct args {
    const char *host, *ca, *token, *prefix;
    int port, watchers, writes, count;
    int server_pid; /* 0 = unknown: no server CPU figure */
    int write_port; /* the writer's server (PORT unless given) */
} args;

/* ---- small helpers ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread: the reader's own cost, whatever else the machine runs. */
static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "watch_latency: %s: %s\n", what, why ? why : "");
    ERR_print_errors_fp(stderr);
    exit(1);
}

static void *xmalloc0(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        die("calloc", strerror(ENOMEM));
    return p;
}

/* ---- blocking TLS connections (setup and the writer) ---- */

typedef struct conn {
    int fd;
    SSL *ssl;
} conn;

static SSL_CTX *tls_context(const char *ca_file)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        die("SSL_CTX_new", NULL);
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
        die("CA file", ca_file);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* One read() per batch of records instead of two per record (header, then body): the
     * reader's own cost is part of what it measures. */
    SSL_CTX_set_read_ahead(ctx, 1);
    return ctx;
}

static int tcp_connect(const char *host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        die("address (IPv4 only)", host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket", strerror(errno));
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        die("setsockopt", strerror(errno));
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect", strerror(errno));
    return fd;
}

/* A verified TLS connection to host:port (the server certificate must name the IP host). */
static conn tls_connect(SSL_CTX *ctx, const char *host, int port)
{
    conn c = {tcp_connect(host, port), SSL_new(ctx)};
    if (!c.ssl)
        die("SSL_new", NULL);
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c.ssl), host) != 1 ||
        SSL_set_fd(c.ssl, c.fd) != 1)
        die("SSL setup", host);
    if (SSL_connect(c.ssl) != 1)
        die("TLS handshake", host);
    return c;
}

static void conn_close(conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
}

static void send_all(conn *c, const char *buf, size_t len)
{
    while (len > 0) {
        int n = SSL_write(c->ssl, buf, (int)len);
        if (n <= 0)
            die("TLS write", NULL);
        buf += n;
        len -= (size_t)n;
    }
}

/*
 * Reads the response head into head (NUL-terminated, without the body) and returns the
 * status code; the bytes read past the head are copied to extra (*extra_len of them).
 */
static int read_head(conn *c, char *head, char *extra, size_t *extra_len)
{
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have >= MAX_HEADER - 1)
            die("response head", "too long");
        int n = SSL_read(c->ssl, head + have, (int)(MAX_HEADER - 1 - have));
        if (n <= 0)
            die("TLS read (response head)", NULL);
        have += (size_t)n;
        head[have] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - head) + 4;
    *extra_len = have - head_len;
    memcpy(extra, head + head_len, *extra_len);
    head[head_len] = '\0';
    int status = 0;
    if (sscanf(head, "HTTP/1.1 %d", &status) != 1)
        die("response", "not HTTP/1.1");
    return status;
}

/* The value of header name (case-insensitive) in head, or NULL. */
static const char *header_value(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
            return p + 3 + n + strspn(p + 3 + n, " ");
    }
    return NULL;
}

/*
 * One request with a Content-Length response on a keep-alive connection. Returns the status;
 * *body (malloc'd, NUL-terminated, caller frees) holds the response body.
 */
static int request(conn *c, const char *host, const char *token, const char *method,
                   const char *path, const char *ctype, const char *body, char **resp)
{
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                     "Accept: application/json\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n"
                     "%s",
                     method, path, host, token, ctype, strlen(body), body);
    if (n < 0 || (size_t)n >= sizeof req)
        die("request", "too long");
    send_all(c, req, (size_t)n);
    char head[MAX_HEADER], extra[MAX_HEADER];
    size_t have;
    int status = read_head(c, head, extra, &have);
    const char *cl = header_value(head, "Content-Length");
    if (!cl)
        die("response", "no Content-Length");
    size_t len = strtoul(cl, NULL, 10);
    if (have > len)
        die("response", "more bytes than Content-Length");
    *resp = xmalloc0(len + 1);
    memcpy(*resp, extra, have);
    while (have < len) {
        int r = SSL_read(c->ssl, *resp + have, (int)(len - have));
        if (r <= 0)
            die("TLS read (response body)", NULL);
        have += (size_t)r;
    }
    return status;
}

/* metadata.resourceVersion of the collection, from a LIST of one item. Caller frees. */
static char *collection_rv(conn *c, const char *host, const char *token)
{
    char *body = NULL;
    int status = request(c, host, token, "GET", FOOS "?limit=1", "application/json", "", &body);
    if (status != 200)
        die("LIST", body);
    cJSON *list = cJSON_Parse(body);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(list, "metadata");
    const char *rv =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion"));
    if (!rv)
        die("LIST", "no metadata.resourceVersion");
    char *out = strdup(rv);
    if (!out)
        die("strdup", strerror(ENOMEM));
    cJSON_Delete(list);
    free(body);
    return out;
}

/* ---- the shared results: recv[k * watchers + w] = time watcher w read event k ---- */

typedef struct results {
    int watchers, writes;
    double *recv; /* 0 = not received; written by the reader thread only */
    double *sent; /* sent[k] = time the writer started sending write k */
    double *ack;  /* ack[k] = time the writer read the 200 of write k */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int *got;   /* got[k] = watchers that have event k (under mu) */
    int alive;  /* watchers still connected (under mu) */
    long other; /* event lines without a bench-seq mark (under mu) */
} results;

/* ---- watchers: chunked decoding into lines, one line per watch event ---- */

enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END, CH_DONE };

typedef struct watcher {
    conn c;
    int id;
    enum chunk_state state;
    size_t chunk_left;
    char *line;
    size_t line_len, line_cap;
} watcher;

static void record_event(results *r, int w, long k, double t)
{
    pthread_mutex_lock(&r->mu);
    if (k < 0 || k >= r->writes) {
        r->other++;
    } else if (r->recv[(size_t)k * (size_t)r->watchers + (size_t)w] == 0) {
        r->recv[(size_t)k * (size_t)r->watchers + (size_t)w] = t;
        if (++r->got[k] >= r->alive)
            pthread_cond_broadcast(&r->cond);
    }
    pthread_mutex_unlock(&r->mu);
}

static void on_line(results *r, watcher *w, double t)
{
    w->line[w->line_len] = '\0';
    const char *m = strstr(w->line, MARK);
    record_event(r, w->id, m ? strtol(m + strlen(MARK), NULL, 10) : -1, t);
    w->line_len = 0;
}

static void line_append(results *r, watcher *w, const char *p, size_t n, double t)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (w->line_len + take + 1 > w->line_cap) {
            size_t cap = w->line_cap ? w->line_cap : 1024;
            while (cap < w->line_len + take + 1)
                cap *= 2;
            if (cap > MAX_LINE)
                die("watch", "event line too long");
            w->line = realloc(w->line, cap);
            if (!w->line)
                die("realloc", strerror(ENOMEM));
            w->line_cap = cap;
        }
        memcpy(w->line + w->line_len, p, take);
        w->line_len += take;
        if (!nl)
            return;
        on_line(r, w, t);
        p += take + 1;
        n -= take + 1;
    }
}

/* Feeds body bytes through the chunked framing (size line, data, CRLF); returns false at the
 * last chunk (the server ended the watch). */
static bool chunked_feed(results *r, watcher *w, const char *p, size_t n, double t)
{
    size_t i = 0;
    while (i < n && w->state != CH_DONE) {
        if (w->state == CH_SIZE) {
            char ch = p[i++];
            if (ch == '\n')
                w->state = w->chunk_left ? CH_DATA : CH_DONE;
            else if (ch >= '0' && ch <= '9')
                w->chunk_left = w->chunk_left * 16 + (size_t)(ch - '0');
            else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
                w->chunk_left = w->chunk_left * 16 + (size_t)((ch | 0x20) - 'a' + 10);
        } else if (w->state == CH_DATA) {
            size_t take = n - i < w->chunk_left ? n - i : w->chunk_left;
            line_append(r, w, p + i, take, t);
            i += take;
            w->chunk_left -= take;
            if (w->chunk_left == 0)
                w->state = CH_DATA_END;
        } else if (p[i++] == '\n') { /* CH_DATA_END: skip the CRLF after the data */
            w->state = CH_SIZE;
        }
    }
    return w->state != CH_DONE;
}

/* Opens watcher w's connection and its watch; returns once the 200 head is read. */
static void watcher_open(watcher *w, results *r, SSL_CTX *ctx, const char *host, int port,
                         const char *token, const char *rv)
{
    w->c = tls_connect(ctx, host, port);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET " FOOS "?watch=1&resourceVersion=%s HTTP/1.1\r\nHost: %s\r\n"
                     "Authorization: Bearer %s\r\nAccept: application/json\r\n\r\n",
                     rv, host, token);
    if (n < 0 || (size_t)n >= sizeof req)
        die("watch request", "too long");
    send_all(&w->c, req, (size_t)n);
    char head[MAX_HEADER], extra[MAX_HEADER];
    size_t have;
    int status = read_head(&w->c, head, extra, &have);
    const char *te = header_value(head, "Transfer-Encoding");
    if (status != 200 || !te || strncasecmp(te, "chunked", 7) != 0)
        die("watch response", head);
    w->state = CH_SIZE;
    if (!chunked_feed(r, w, extra, have, now_s()))
        die("watch", "ended at once");
    int fl = fcntl(w->c.fd, F_GETFL);
    if (fl < 0 || fcntl(w->c.fd, F_SETFL, fl | O_NONBLOCK) != 0)
        die("fcntl", strerror(errno));
}

/* ---- the reader thread: every watcher through one epoll set ---- */

typedef struct reader {
    results *r;
    watcher *ws;
    int epfd;
    atomic_bool stop;
    double busy_s; /* CPU time spent reading and decoding (read by main after the join) */
} reader;

static void watcher_lost(reader *rd, watcher *w, const char *why)
{
    fprintf(stderr, "watch_latency: watcher %d lost: %s\n", w->id, why);
    if (epoll_ctl(rd->epfd, EPOLL_CTL_DEL, w->c.fd, NULL) != 0)
        die("epoll_ctl", strerror(errno));
    pthread_mutex_lock(&rd->r->mu);
    rd->r->alive--;
    pthread_cond_broadcast(&rd->r->cond);
    pthread_mutex_unlock(&rd->r->mu);
}

/* Reads what w has now (SSL may hold more than one record), stamping each read. */
static void watcher_drain(reader *rd, watcher *w)
{
    char buf[READ_CHUNK];
    for (;;) {
        int n = SSL_read(w->c.ssl, buf, sizeof buf);
        if (n > 0) {
            if (!chunked_feed(rd->r, w, buf, (size_t)n, now_s())) {
                watcher_lost(rd, w, "the server ended the watch");
                return;
            }
            /* Nothing left in OpenSSL's buffers: epoll (level-triggered) reports the socket
             * again if the kernel has more, so skip the read that would only say EAGAIN. */
            if (!SSL_has_pending(w->c.ssl))
                return;
            continue;
        }
        int e = SSL_get_error(w->c.ssl, n);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            watcher_lost(rd, w, "connection closed or TLS error");
        return;
    }
}

static void *reader_main(void *arg)
{
    reader *rd = arg;
    struct epoll_event evs[EPOLL_BATCH];
    while (!atomic_load(&rd->stop)) {
        int n = epoll_wait(rd->epfd, evs, EPOLL_BATCH, EPOLL_WAIT_MS);
        if (n < 0 && errno != EINTR)
            die("epoll_wait", strerror(errno));
        double t0 = thread_cpu_s();
        for (int i = 0; i < n; i++)
            watcher_drain(rd, &rd->ws[evs[i].data.u32]);
        if (n > 0)
            rd->busy_s += thread_cpu_s() - t0;
    }
    return NULL;
}

/* ---- the writer ---- */

/* Write k, then wait (bounded) until every live watcher has its event; false on timeout. */
static bool write_one(results *r, conn *c, const char *host, const char *token, const char *prefix,
                      int count, int k, unsigned long nonce)
{
    char path[256], body[128];
    snprintf(path, sizeof path, FOOS "/%s-%05d", prefix, k % count);
    /* The run's nonce makes the value new even where an earlier run wrote the same k: a patch
     * that changes nothing makes no event. */
    snprintf(body, sizeof body, "{\"metadata\":{\"annotations\":{\"bench-seq\":\"%d.%lu\"}}}", k,
             nonce);
    char *resp = NULL;
    double sent = now_s();
    int status =
        request(c, host, token, "PATCH", path, "application/merge-patch+json", body, &resp);
    double t = now_s();
    if (status != 200)
        die("PATCH", resp);
    free(resp);
    pthread_mutex_lock(&r->mu);
    r->sent[k] = sent;
    r->ack[k] = t;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)EVENT_WAIT_S;
    bool all = true;
    while (all && r->got[k] < r->alive)
        all = pthread_cond_timedwait(&r->cond, &r->mu, &dl) != ETIMEDOUT;
    pthread_mutex_unlock(&r->mu);
    return all;
}

/*
 * Makes the writes one after the other; stops early after MAX_LATE_WRITES writes whose event did
 * not reach every watcher in time, or at WRITES_DEADLINE_S. Returns the number of writes made.
 */
static int run_writes(const args *a, results *r, conn *writer)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long nonce = (unsigned long)ts.tv_sec * 1000000UL + (unsigned long)ts.tv_nsec / 1000;
    double t0 = now_s();
    int k = 0, late = 0;
    while (k < a->writes && late < MAX_LATE_WRITES && now_s() - t0 < WRITES_DEADLINE_S) {
        if (!write_one(r, writer, a->host, a->token, a->prefix, a->count, k, nonce))
            late++;
        k++;
    }
    fprintf(stderr, "watch_latency: %d writes in %.2f s, %d late\n", k, now_s() - t0, late);
    return k;
}

/* ---- statistics ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n-1]. */
static double percentile(const double *v, size_t n, double p)
{
    size_t rank = (size_t)ceil(p * (double)n);
    return v[rank > 0 ? rank - 1 : 0];
}

/*
 * The fan-out spread of write k: last minus first time a watcher read its event, in ms (0 when
 * fewer than two watchers got it). It shows how long one event takes to reach every watcher.
 */
static double spread_ms(const results *r, int k)
{
    double lo = 0, hi = 0;
    for (int w = 0; w < r->watchers; w++) {
        double t = r->recv[(size_t)k * (size_t)r->watchers + (size_t)w];
        if (t == 0)
            continue;
        lo = lo == 0 || t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    return (hi - lo) * 1000.0;
}

/* Prints "<name>_p50_ms X <name>_p99_ms Y <name>_max_ms Z " for v[0..n-1], which it sorts. */
static void print_dist(const char *name, double *v, size_t n)
{
    qsort(v, n, sizeof(double), cmp_double);
    printf("%s_p50_ms %.2f %s_p99_ms %.2f %s_max_ms %.2f ", name, n ? percentile(v, n, 0.50) : 0,
           name, n ? percentile(v, n, 0.99) : 0, name, n ? v[n - 1] : 0);
}

static void report(const results *r, double reader_busy_s, double server_cpu_s)
{
    size_t pairs = (size_t)r->watchers * (size_t)r->writes, got = 0, early = 0;
    double *lat = xmalloc0(pairs * sizeof(double));       /* 200 read -> event read, >= 0 */
    double *from_sent = xmalloc0(pairs * sizeof(double)); /* write sent -> event read */
    double *acks = xmalloc0((size_t)r->writes * sizeof(double));
    double *spread = xmalloc0((size_t)r->writes * sizeof(double));
    for (int k = 0; k < r->writes; k++) {
        for (int w = 0; w < r->watchers; w++) {
            double t = r->recv[(size_t)k * (size_t)r->watchers + (size_t)w];
            if (t == 0)
                continue;
            double ms = (t - r->ack[k]) * 1000.0;
            early += ms < 0;
            from_sent[got] = (t - r->sent[k]) * 1000.0;
            lat[got++] = ms < 0 ? 0 : ms;
        }
        acks[k] = (r->ack[k] - r->sent[k]) * 1000.0;
        spread[k] = spread_ms(r, k);
    }
    printf("watchers %d writes %d pairs %zu missing %zu early %zu ", r->watchers, r->writes, got,
           pairs - got, early);
    print_dist("ack_to_event", lat, got);
    print_dist("sent_to_event", from_sent, got);
    print_dist("sent_to_ack", acks, (size_t)r->writes);
    qsort(spread, (size_t)r->writes, sizeof(double), cmp_double);
    printf("fanout_spread_p50_ms %.2f reader_busy_ms_per_write %.2f server_cpu_ms_per_write %.2f\n",
           percentile(spread, (size_t)r->writes, 0.50), reader_busy_s * 1000.0 / r->writes,
           server_cpu_s * 1000.0 / r->writes);
    if (r->other)
        fprintf(stderr, "watch_latency: %ld event lines without a bench-seq mark\n", r->other);
    free(spread);
    free(acks);
    free(from_sent);
    free(lat);
}

/* ---- main ---- */

static args parse_args(int argc, char **argv)
{
    if (argc < 9 || argc > 11)
        die("usage", "watch_latency HOST PORT CA_FILE TOKEN WATCHERS WRITES PREFIX COUNT "
                     "[SERVER_PID [WRITE_PORT]]");
    args a = {argv[1],
              argv[3],
              argv[4],
              argv[7],
              atoi(argv[2]),
              atoi(argv[5]),
              atoi(argv[6]),
              atoi(argv[8]),
              argc >= 10 ? atoi(argv[9]) : 0,
              argc == 11 ? atoi(argv[10]) : atoi(argv[2])};
    if (a.port <= 0 || a.watchers <= 0 || a.writes <= 0 || a.count <= 0 || a.server_pid < 0 ||
        a.write_port <= 0)
        die("usage", "PORT, WATCHERS, WRITES, COUNT and WRITE_PORT must be positive");
    return a;
}

/* CPU time (user + system) of process pid in seconds, from /proc; 0 when pid is 0 or gone. */
static double process_cpu_s(int pid)
{
    if (pid <= 0)
        return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name (which may hold spaces) start after the last ')'. */
    const char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static watcher *open_watchers(const args *a, results *r, SSL_CTX *ctx, int epfd, const char *rv)
{
    watcher *ws = xmalloc0((size_t)a->watchers * sizeof(watcher));
    double t0 = now_s();
    for (int i = 0; i < a->watchers; i++) {
        ws[i].id = i;
        watcher_open(&ws[i], r, ctx, a->host, a->port, a->token, rv);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, ws[i].c.fd, &ev) != 0)
            die("epoll_ctl", strerror(errno));
    }
    fprintf(stderr, "watch_latency: %d watches open in %.2f s\n", a->watchers, now_s() - t0);
    return ws;
}

int main(int argc, char **argv)
{
    args a = parse_args(argc, argv);
    SSL_CTX *ctx = tls_context(a.ca);
    results r = {.watchers = a.watchers, .writes = a.writes, .alive = a.watchers};
    r.recv = xmalloc0((size_t)a.watchers * (size_t)a.writes * sizeof(double));
    r.sent = xmalloc0((size_t)a.writes * sizeof(double));
    r.ack = xmalloc0((size_t)a.writes * sizeof(double));
    r.got = xmalloc0((size_t)a.writes * sizeof(int));
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cond, NULL);

    /* The watchers start from their own server's revision. */
    conn writer = tls_connect(ctx, a.host, a.port);
    char *rv = collection_rv(&writer, a.host, a.token);
    if (a.write_port != a.port) {
        conn_close(&writer);
        writer = tls_connect(ctx, a.host, a.write_port);
    }
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1", strerror(errno));
    watcher *ws = open_watchers(&a, &r, ctx, epfd, rv);

    reader rd = {.r = &r, .ws = ws, .epfd = epfd};
    atomic_init(&rd.stop, false);
    pthread_t th;
    if (pthread_create(&th, NULL, reader_main, &rd) != 0)
        die("pthread_create", NULL);
    double server_cpu0 = process_cpu_s(a.server_pid);
    int made = run_writes(&a, &r, &writer);
    double server_cpu = process_cpu_s(a.server_pid) - server_cpu0;
    atomic_store(&rd.stop, true);
    if (pthread_join(th, NULL) != 0)
        die("pthread_join", NULL);
    r.writes = made; /* the pairs of writes never made are not missing, just not measured */
    report(&r, rd.busy_s, server_cpu);

    for (int i = 0; i < a.watchers; i++) {
        conn_close(&ws[i].c);
        free(ws[i].line);
    }
    conn_close(&writer);
    close(epfd);
    free(ws);
    free(rv);
    free(r.recv);
    free(r.sent);
    free(r.ack);
    free(r.got);
    SSL_CTX_free(ctx);
    return 0;
}
