/*
 * http_stub.c - a tiny scripted HTTP/1.1 server thread for client tests (http_stub.h).
 */
#include "http_stub.h"
#include "common/alloc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct stub_conn {
    http_stub *s;
    int fd;
} stub_conn;

/* Reads one request (head and Content-Length body). Returns false at EOF or on error. */
static bool stub_read_request(int fd, sbuf *req)
{
    sbuf_reset(req);
    char buf[65536];
    size_t head_end = 0, need = 0;
    for (;;) {
        if (head_end) {
            if (req->len >= head_end + need)
                return true;
        } else if (req->data) {
            char *e = strstr(req->data, "\r\n\r\n");
            if (e) {
                head_end = (size_t)(e - req->data) + 4;
                const char *cl = strcasestr(req->data, "\r\nContent-Length:");
                need = cl && cl < e ? strtoul(cl + 17, NULL, 10) : 0;
                continue;
            }
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return false;
        sbuf_append(req, buf, (size_t)n);
    }
}

static bool stub_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* The next response (copied), and logs the request. */
static char *stub_answer(http_stub *s, const sbuf *req)
{
    pthread_mutex_lock(&s->mu);
    const char *sp = strchr(req->data, ' ');
    const char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
    if (sp && sp2)
        sbuf_printf(&s->log, "%.*s\n", (int)(sp2 - req->data), req->data);
    free(s->last_request);
    s->last_request = xstrndup(req->data, req->len);
    s->requests++;
    const char *raw = s->next < s->nscript ? s->script[s->next++] : s->fallback;
    char *copy = xstrdup(raw);
    pthread_mutex_unlock(&s->mu);
    return copy;
}

static void *stub_serve(void *arg)
{
    stub_conn *c = arg;
    sbuf req = SBUF_INIT;
    while (stub_read_request(c->fd, &req)) {
        char *raw = stub_answer(c->s, &req);
        /* An empty response means "never answer": wait for the client to give up. */
        bool ok = stub_write_all(c->fd, raw, strlen(raw));
        bool close_after = strcasestr(raw, "\r\nConnection: close\r\n") != NULL;
        free(raw);
        if (!ok || close_after)
            break;
    }
    /* Half-close so the client sees EOF; stub_stop closes the descriptor. */
    shutdown(c->fd, SHUT_WR);
    sbuf_free(&req);
    free(c);
    return NULL;
}

static void *stub_accept(void *arg)
{
    http_stub *s = arg;
    for (;;) {
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL; /* the listener was shut down */
        }
        pthread_mutex_lock(&s->mu);
        if (s->nconns == STUB_MAX_CONNS) {
            pthread_mutex_unlock(&s->mu);
            close(fd);
            continue;
        }
        stub_conn *c = xmalloc(sizeof *c);
        c->s = s;
        c->fd = fd;
        if (pthread_create(&s->conn_threads[s->nconns], NULL, stub_serve, c) == 0)
            s->conns[s->nconns++] = fd;
        else {
            close(fd);
            free(c);
        }
        pthread_mutex_unlock(&s->mu);
    }
}

void stub_start(http_stub *s, const char *fallback)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->fallback = xstrdup(fallback);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(s->fd, 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
    cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    cr_assert_eq(listen(s->fd, 16), 0, "listen: %s", strerror(errno));
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&s->acceptor, NULL, stub_accept, s), 0);
}

void stub_push(http_stub *s, const char *raw)
{
    pthread_mutex_lock(&s->mu);
    s->script = xrealloc(s->script, sizeof *s->script * (s->nscript + 1));
    s->script[s->nscript++] = xstrdup(raw);
    pthread_mutex_unlock(&s->mu);
}

int stub_requests(http_stub *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void stub_stop(http_stub *s)
{
    shutdown(s->fd, SHUT_RDWR); /* wakes accept() */
    cr_expect_eq(pthread_join(s->acceptor, NULL), 0);
    close(s->fd);
    /* The acceptor is gone: the connection table no longer changes. */
    for (size_t i = 0; i < s->nconns; i++)
        shutdown(s->conns[i], SHUT_RDWR); /* wakes recv() */
    for (size_t i = 0; i < s->nconns; i++) {
        cr_expect_eq(pthread_join(s->conn_threads[i], NULL), 0);
        close(s->conns[i]);
    }
    for (size_t i = 0; i < s->nscript; i++)
        free(s->script[i]);
    free(s->script);
    free(s->fallback);
    free(s->last_request);
    sbuf_free(&s->log);
    pthread_mutex_destroy(&s->mu);
}

char *stub_response(int code, const char *reason, const char *extra_headers, const char *body)
{
    return xasprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "%s\r\n%s",
                     code, reason, strlen(body), extra_headers ? extra_headers : "", body);
}

char *stub_status(int code, const char *reason, const char *message)
{
    return xasprintf("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                     "\"Failure\",\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}",
                     message, reason, code);
}

void stub_push_status(http_stub *s, int code, const char *reason, const char *message,
                      const char *extra_headers)
{
    char *status = stub_status(code, reason, message);
    char *raw = stub_response(code, reason, extra_headers, status);
    stub_push(s, raw);
    free(raw);
    free(status);
}

void stub_push_stream(http_stub *s, const char *body)
{
    char *raw = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Connection: close\r\n\r\n%s",
                          body);
    stub_push(s, raw);
    free(raw);
}
