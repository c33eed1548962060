/*
 * httpd.c - the manager's small HTTP/1.1 server (httpd.h): one thread, one poll() loop.
 *
 * A connection goes READ (head bytes in, parsed after every read) -> WRITE (the whole answer
 * out, as the socket takes it) -> LINGER (our side shut for writing; the client's leftovers read
 * and dropped until it closes, so closing with unread bytes does not reset the connection under
 * the answer) -> closed. Every state is bounded by the connection's deadline.
 */
#include "controllers/httpd.h"

#include "common/alloc.h"
#include "common/clock.h"
#include "common/log.h"
#include "controllers/http_head.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long a closed-for-writing connection may keep sending before we close it. */
#define LINGER_MS 1000
/* After accept() failed for want of descriptors, how long to leave the listener alone (else
 * poll() would report it readable at once, for ever). */
#define ACCEPT_PAUSE_MS 100

typedef enum conn_state { C_FREE, C_READ, C_WRITE, C_LINGER } conn_state;

typedef struct conn {
    int fd;
    conn_state state;
    char in[HH_MAX_HEAD];
    size_t in_len;
    char *out;
    size_t out_len, out_off;
    uint64_t deadline_ns;
} conn;

struct httpd {
    int lfd;
    int wake[2]; /* httpd_stop writes one byte to wake[1] */
    int port;
    char *name;
    httpd_route *routes;
    size_t nroutes;
    pthread_t thread;
    uint64_t accept_paused_until_ns; /* server thread only */
    conn conns[HTTPD_MAX_CONNS];
};

/* ---- addresses ------------------------------------------------------------------------------ */

static bool valid_port(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > 5 || strspn(p, "0123456789") != n)
        return false;
    return atoi(p) <= 65535;
}

int httpd_split_address(const char *address, char **host, char **port)
{
    *host = *port = NULL;
    if (!address || !*address)
        return -EINVAL;
    if (!strcmp(address, "0"))
        return 1;
    const char *colon;
    const char *h = address;
    size_t hlen;
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (!close || close[1] != ':' || close == address + 1)
            return -EINVAL;
        h = address + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(address, ':');
        if (!colon)
            return -EINVAL;
        hlen = (size_t)(colon - address);
        if (memchr(address, ':', hlen)) /* an IPv6 address needs its brackets */
            return -EINVAL;
    }
    if (!valid_port(colon + 1))
        return -EINVAL;
    *host = hlen ? xstrndup(h, hlen) : NULL;
    *port = xstrdup(colon + 1);
    return 0;
}

/* A listening socket for one address family; -errno on failure, with *err filled. */
static int listen_family(const char *host, const char *port, int family, api_error *err)
{
    struct addrinfo hints = {
        .ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        apierr_bad_request(err, "cannot resolve %s: %s", host ? host : "(any)", gai_strerror(gai));
        return -EINVAL;
    }
    int rc = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        int one = 1, zero = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6 && !host) /* ":PORT" serves IPv4 too, as Go's listener */
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        rc = -errno;
        close(fd);
    }
    freeaddrinfo(res);
    apierr_set(err, 500, "InternalError", "cannot listen on %s:%s: %s", host ? host : "", port,
               strerror(-rc));
    return rc;
}

/* Listens on host:port; with no host, on IPv6's any address (dual stack), else IPv4's. */
static int listen_on(const char *host, const char *port, api_error *err)
{
    if (host)
        return listen_family(host, port, AF_UNSPEC, err);
    api_error v6_err = API_ERROR_INIT;
    int fd = listen_family(NULL, port, AF_INET6, &v6_err);
    if (fd >= 0 || fd == -EADDRINUSE) {
        if (fd < 0)
            apierr_move(err, &v6_err);
        apierr_clear(&v6_err);
        return fd;
    }
    apierr_clear(&v6_err);
    return listen_family(NULL, port, AF_INET, err);
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* ---- answers -------------------------------------------------------------------------------- */

static const char *reason_phrase(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return code < 400 ? "OK" : "Error";
    }
}

static int code_of_parse_error(int rc)
{
    switch (rc) {
    case -EMSGSIZE:
        return 431;
    case -ENAMETOOLONG:
        return 414;
    case -EPROTONOSUPPORT:
        return 505;
    default:
        return 400;
    }
}

/* Calls the route's handler, or sets the error the request earns. */
static void dispatch(httpd *s, int parse_rc, const hh_request *req, httpd_response *resp)
{
    if (parse_rc != 0) {
        resp->code = code_of_parse_error(parse_rc);
        return;
    }
    const httpd_route *route = NULL;
    for (size_t i = 0; i < s->nroutes && !route; i++)
        if (!strcmp(s->routes[i].path, req->path))
            route = &s->routes[i];
    if (!route) {
        resp->code = 404;
        return;
    }
    if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
        resp->code = 405;
        return;
    }
    route->fn(route->ctx, resp);
}

/* Renders the whole answer into c->out. */
static void build_answer(httpd *s, conn *c, int parse_rc, const hh_request *req)
{
    httpd_response resp = {.code = 200, .content_type = "text/plain; charset=utf-8"};
    sbuf_init(&resp.body);
    dispatch(s, parse_rc, req, &resp);
    if (resp.code != 200 && resp.body.len == 0)
        sbuf_printf(&resp.body, "%d %s\n", resp.code, reason_phrase(resp.code));
    bool head_only = parse_rc == 0 && !strcmp(req->method, "HEAD");
    sbuf out = SBUF_INIT;
    sbuf_printf(&out,
                "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s"
                "Connection: close\r\n\r\n",
                resp.code, reason_phrase(resp.code), resp.content_type, resp.body.len,
                resp.code == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (!head_only && resp.body.len)
        sbuf_append(&out, resp.body.data, resp.body.len);
    sbuf_free(&resp.body);
    c->out = sbuf_detach(&out, &c->out_len);
    c->out_off = 0;
    c->state = C_WRITE;
}

/* ---- connections ---------------------------------------------------------------------------- */

static void conn_close(conn *c)
{
    close(c->fd);
    free(c->out);
    c->out = NULL;
    c->fd = -1;
    c->state = C_FREE;
}

static void conn_write(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    shutdown(c->fd, SHUT_WR);
    c->state = C_LINGER;
    uint64_t linger = clk_mono_ns(clk_system()) + LINGER_MS * CLK_NS_PER_MS;
    if (linger < c->deadline_ns)
        c->deadline_ns = linger;
}

static void conn_read(httpd *s, conn *c)
{
    char drop[512];
    for (;;) {
        char *dst = c->state == C_READ ? c->in + c->in_len : drop;
        size_t room = c->state == C_READ ? sizeof c->in - c->in_len : sizeof drop;
        ssize_t n = recv(c->fd, dst, room, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) { /* the client is gone (or done, while lingering) */
            conn_close(c);
            return;
        }
        if (c->state == C_LINGER)
            continue;
        c->in_len += (size_t)n;
        hh_request req;
        int rc = hh_parse(c->in, c->in_len, &req);
        if (rc == -EAGAIN)
            continue; /* hh_parse answers -EMSGSIZE before the buffer can fill up */
        build_answer(s, c, rc, &req);
        conn_write(c);
        return;
    }
}

static void accept_all(httpd *s)
{
    for (size_t i = 0; i < HTTPD_MAX_CONNS; i++) {
        conn *c = &s->conns[i];
        if (c->state != C_FREE)
            continue;
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                s->accept_paused_until_ns =
                    clk_mono_ns(clk_system()) + ACCEPT_PAUSE_MS * CLK_NS_PER_MS;
            return; /* EAGAIN: nothing more; a lost connection: the next poll tells */
        }
        c->fd = fd;
        c->state = C_READ;
        c->in_len = 0;
        c->deadline_ns = clk_mono_ns(clk_system()) + HTTPD_REQUEST_TIMEOUT_MS * CLK_NS_PER_MS;
    }
}

/* ---- the loop ------------------------------------------------------------------------------- */

/* Closes connections past their deadline; returns the poll timeout to the next deadline or the
 * end of an accept pause (ms; -1 = none). */
static int expire(httpd *s)
{
    uint64_t now = clk_mono_ns(clk_system());
    uint64_t next = s->accept_paused_until_ns > now ? s->accept_paused_until_ns : UINT64_MAX;
    for (size_t i = 0; i < HTTPD_MAX_CONNS; i++) {
        conn *c = &s->conns[i];
        if (c->state == C_FREE)
            continue;
        if (c->deadline_ns <= now)
            conn_close(c);
        else if (c->deadline_ns < next)
            next = c->deadline_ns;
    }
    if (next == UINT64_MAX)
        return -1;
    return (int)((next - now + CLK_NS_PER_MS - 1) / CLK_NS_PER_MS);
}

static void *serve(void *arg)
{
    httpd *s = arg;
    struct pollfd pfd[HTTPD_MAX_CONNS + 2];
    conn *owner[HTTPD_MAX_CONNS + 2];
    for (;;) {
        int timeout = expire(s);
        size_t n = 0;
        bool room = false;
        pfd[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        for (size_t i = 0; i < HTTPD_MAX_CONNS; i++) {
            conn *c = &s->conns[i];
            if (c->state == C_FREE) {
                room = true;
                continue;
            }
            owner[n] = c;
            pfd[n++] =
                (struct pollfd){.fd = c->fd, .events = c->state == C_WRITE ? POLLOUT : POLLIN};
        }
        size_t lidx = n;
        room = room && clk_mono_ns(clk_system()) >= s->accept_paused_until_ns;
        if (room)
            pfd[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        if (poll(pfd, n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            log_kv(LOG_ERROR, "poll failed; the server stops", "server", s->name, "error",
                   strerror(errno), NULL);
            break;
        }
        if (pfd[0].revents)
            break;
        for (size_t i = 1; i < lidx; i++) {
            if (!pfd[i].revents)
                continue;
            if (owner[i]->state == C_WRITE)
                conn_write(owner[i]);
            else
                conn_read(s, owner[i]);
        }
        if (room && pfd[lidx].revents)
            accept_all(s);
    }
    return NULL;
}

/* ---- lifetime ------------------------------------------------------------------------------- */

int httpd_start(const char *address, const httpd_route *routes, size_t nroutes, const char *name,
                httpd **out, api_error *err)
{
    *out = NULL;
    char *host = NULL, *port = NULL;
    int rc = httpd_split_address(address, &host, &port);
    if (rc == 1)
        return 1;
    if (rc < 0) {
        apierr_bad_request(err, "bad %s address \"%s\": want [HOST]:PORT, or 0 to turn it off",
                           name, address ? address : "");
        return rc;
    }
    int fd = listen_on(host, port, err);
    free(host);
    free(port);
    if (fd < 0)
        return fd;
    httpd *s = xcalloc(1, sizeof *s);
    s->lfd = fd;
    s->port = bound_port(fd);
    s->name = xstrdup(name);
    s->routes = xcalloc(nroutes ? nroutes : 1, sizeof *s->routes);
    for (size_t i = 0; i < nroutes; i++)
        s->routes[i] = (httpd_route){xstrdup(routes[i].path), routes[i].fn, routes[i].ctx};
    s->nroutes = nroutes;
    for (size_t i = 0; i < HTTPD_MAX_CONNS; i++)
        s->conns[i] = (conn){.fd = -1, .state = C_FREE};
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        rc = -errno;
        s->wake[0] = s->wake[1] = -1;
    } else {
        rc = -pthread_create(&s->thread, NULL, serve, s);
    }
    if (rc != 0) {
        apierr_set(err, 500, "InternalError", "cannot start the %s server: %s", name,
                   strerror(-rc));
        if (s->wake[0] >= 0) {
            close(s->wake[0]);
            close(s->wake[1]);
        }
        s->wake[0] = -1; /* tells httpd_stop there is no thread */
        httpd_stop(s);
        return rc;
    }
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", s->port);
    log_kv(LOG_INFO, "serving", "server", name, "address", address, "port", port_text, NULL);
    *out = s;
    return 0;
}

int httpd_port(const httpd *s)
{
    return s->port;
}

void httpd_stop(httpd *s)
{
    if (!s)
        return;
    if (s->wake[0] >= 0) {
        char b = 1;
        while (write(s->wake[1], &b, 1) < 0 && errno == EINTR)
            ;
        pthread_join(s->thread, NULL);
        close(s->wake[0]);
        close(s->wake[1]);
    }
    for (size_t i = 0; i < HTTPD_MAX_CONNS; i++)
        if (s->conns[i].state != C_FREE)
            conn_close(&s->conns[i]);
    close(s->lfd);
    for (size_t i = 0; i < s->nroutes; i++)
        free((char *)s->routes[i].path);
    free(s->routes);
    free(s->name);
    free(s);
}
