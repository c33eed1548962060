/*
 * headrec.c - recording request heads from the decrypted TLS stream (headrec.h).
 *
 * Two process-wide facts live in statics, as they can live nowhere else: libssl's own SSL_read
 * (found once with dlsym) and the ex-data index under which a connection's recorder hangs on
 * its SSL object. Everything else belongs to one connection and is touched only by the thread
 * that reads it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include "apiserver/transport/headrec.h"

#include "apiserver/transport/chunked.h"

#include "common/alloc.h"
#include "common/log.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum headrec_state {
    HR_HEAD,    /* reading a head */
    HR_BODY,    /* skipping body_left bytes of a body */
    HR_CHUNKED, /* following a chunked body's framing to its end */
    HR_STOPPED, /* no more heads will come (upgrade, chunked body): the queue stays valid */
    HR_BROKEN,  /* framing lost: the queue was dropped and nothing more is recorded */
} headrec_state;

struct headrec {
    headrec_state state;
    char *buf; /* the head being read: len bytes, capacity cap */
    size_t len, cap;
    int end_match;          /* how much of "\r\n\r\n" the last bytes matched (0..3) */
    uint64_t body_left;     /* HR_BODY: bytes of the body still to skip */
    chunked_decoder chunks; /* HR_CHUNKED: where in the framing the body is */
    /* complete heads not taken yet: a ring of count heads starting at first */
    headrec_head *queue[HEADREC_MAX_QUEUED];
    size_t first, count;
};

typedef int (*ssl_read_fn)(SSL *ssl, void *buf, int num);

static pthread_once_t headrec_once = PTHREAD_ONCE_INIT;
static ssl_read_fn real_ssl_read; /* libssl's SSL_read; set once by headrec_init */
static int headrec_index = -1;    /* ex-data index of the recorder; set once by headrec_init */

void headrec_free(headrec *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++)
        headrec_head_free(r->queue[(r->first + i) % HEADREC_MAX_QUEUED]);
    free(r->buf);
    free(r);
}

/* OpenSSL's ex-data destructor: the recorder dies with its SSL object. */
static void headrec_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                            void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    headrec_free(ptr);
}

static void headrec_init(void)
{
    real_ssl_read = (ssl_read_fn)dlsym(RTLD_NEXT, "SSL_read");
    headrec_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, headrec_ex_free);
}

static headrec *recorder_of(SSL *ssl)
{
    return headrec_index >= 0 ? SSL_get_ex_data(ssl, headrec_index) : NULL;
}

/* ---- parsing one head ------------------------------------------------------------------- */

void headrec_head_free(headrec_head *h)
{
    if (!h)
        return;
    free(h->raw);
    free(h->fields);
    free(h);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses "name: value" (len bytes, no line end) into f. Returns false when it is not one. */
static bool parse_field(const char *s, size_t len, headrec_field *f)
{
    const char *colon = memchr(s, ':', len);
    if (!colon || colon == s)
        return false;
    for (const char *p = s; p < colon; p++)
        if (is_blank(*p) || (unsigned char)*p < 0x21 || *p == 0x7f)
            return false;
    const char *v = colon + 1, *end = s + len;
    while (v < end && is_blank(*v))
        v++;
    while (end > v && is_blank(end[-1]))
        end--;
    *f = (headrec_field){s, (size_t)(colon - s), v, (size_t)(end - v)};
    return true;
}

/* The method of the request line "METHOD SP ..." into h->method. */
static bool parse_request_line(const char *s, size_t len, headrec_head *h)
{
    const char *sp = memchr(s, ' ', len);
    size_t n = sp ? (size_t)(sp - s) : 0;
    if (n == 0 || n >= sizeof h->method)
        return false;
    memcpy(h->method, s, n);
    h->method[n] = '\0';
    return true;
}

int headrec_parse(const char *raw, size_t len, headrec_head **out)
{
    *out = NULL;
    if (memchr(raw, '\0', len))
        return -EINVAL; /* no field may hold a NUL (RFC 9110 §5.5) */
    headrec_head *h = xcalloc(1, sizeof *h);
    h->raw = xmalloc(len + 1);
    memcpy(h->raw, raw, len);
    h->raw[len] = '\0';
    const char *p = h->raw, *end = h->raw + len;
    bool first = true;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || nl == p || nl[-1] != '\r')
            goto bad;
        size_t line = (size_t)(nl - 1 - p);
        if (memchr(p, '\r', line))
            goto bad; /* a bare CR inside a line */
        if (line == 0)
            break; /* the empty line: the head's end */
        if (first) {
            if (!parse_request_line(p, line, h))
                goto bad;
            first = false;
        } else {
            h->fields = xrealloc(h->fields, sizeof *h->fields * (h->nfields + 1));
            if (!parse_field(p, line, &h->fields[h->nfields]))
                goto bad;
            h->nfields++;
        }
        p = nl + 1;
    }
    if (first)
        goto bad;
    *out = h;
    return 0;
bad:
    headrec_head_free(h);
    return -EINVAL;
}

/* The first line of header name (any case) in h, or NULL. */
static const headrec_field *first_field(const headrec_head *h, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < h->nfields; i++)
        if (h->fields[i].name_len == n && strncasecmp(h->fields[i].name, name, n) == 0)
            return &h->fields[i];
    return NULL;
}

bool headrec_matches(const headrec_head *h, const char *method, const char *name,
                     const char *first_value)
{
    if (!h || strcmp(h->method, method) != 0)
        return false;
    const headrec_field *f = first_field(h, name);
    if (!f || !first_value)
        return !f && !first_value;
    return f->value_len == strlen(first_value) && memcmp(f->value, first_value, f->value_len) == 0;
}

/* ---- framing the stream ----------------------------------------------------------------- */

static void give_up(headrec *r, const char *why)
{
    for (size_t i = 0; i < r->count; i++)
        headrec_head_free(r->queue[(r->first + i) % HEADREC_MAX_QUEUED]);
    r->count = 0;
    r->state = HR_BROKEN;
    log_v(2, "request-head recorder stopped: %s", why);
}

#define BODY_CHUNKED (-2)

/* The body length the head announces: 0 without Content-Length, BODY_CHUNKED for a chunked
   body (Transfer-Encoding: chunked, which wins over a length as in RFC 9112 §6.3), -1 when it
   cannot be framed here (a bad or repeated different length, another transfer coding). */
static int64_t body_length(const headrec_head *h)
{
    int64_t length = 0;
    bool seen = false;
    const headrec_field *te = first_field(h, "transfer-encoding");
    if (te)
        return te->value_len == 7 && strncasecmp(te->value, "chunked", 7) == 0 ? BODY_CHUNKED : -1;
    for (size_t i = 0; i < h->nfields; i++) {
        const headrec_field *f = &h->fields[i];
        if (f->name_len != 14 || strncasecmp(f->name, "content-length", 14) != 0)
            continue;
        int64_t v = 0;
        if (f->value_len == 0 || f->value_len > 15)
            return -1;
        for (size_t j = 0; j < f->value_len; j++) {
            if (!isdigit((unsigned char)f->value[j]))
                return -1;
            v = v * 10 + (f->value[j] - '0');
        }
        if (seen && v != length)
            return -1;
        seen = true;
        length = v;
    }
    return length;
}

/* A complete head of r->len bytes is in r->buf: queue it and decide what follows. */
static void complete_head(headrec *r)
{
    headrec_head *h = NULL;
    int rc = headrec_parse(r->buf, r->len, &h);
    r->len = 0;
    r->end_match = 0;
    if (rc != 0)
        return give_up(r, "malformed head");
    if (r->count == HEADREC_MAX_QUEUED) {
        headrec_head_free(h);
        return give_up(r, "too many heads ahead");
    }
    int64_t body = body_length(h);
    bool upgrade = first_field(h, "upgrade") != NULL;
    r->queue[(r->first + r->count++) % HEADREC_MAX_QUEUED] = h;
    if (body == BODY_CHUNKED) {
        r->state = HR_CHUNKED;
        chunked_init(&r->chunks);
    } else if (upgrade || body < 0) {
        r->state = HR_STOPPED; /* this head is good; nothing after it can be framed */
    } else if (body > 0) {
        r->state = HR_BODY;
        r->body_left = (uint64_t)body;
    }
}

static void append(headrec *r, const char *data, size_t n)
{
    if (n == 0)
        return;
    if (r->len + n > r->cap) {
        r->cap = r->len + n > 2 * r->cap ? r->len + n : 2 * r->cap;
        r->buf = xrealloc(r->buf, r->cap);
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
}

/* Reads head bytes from data; returns how many it used (up to the head's end). */
static size_t feed_head(headrec *r, const char *data, size_t n)
{
    static const char end[] = "\r\n\r\n";
    size_t used = 0;
    if (r->len == 0) /* empty lines between requests are allowed (RFC 9112 §2.2) */
        while (used < n && (data[used] == '\r' || data[used] == '\n'))
            used++;
    size_t start = used;
    while (used < n && r->end_match < 4) {
        char c = data[used++];
        if (c == end[r->end_match])
            r->end_match++;
        else
            r->end_match = c == '\r' ? 1 : 0;
    }
    if (r->len + (used - start) > HEADREC_MAX_HEAD) {
        give_up(r, "head too long");
        return n;
    }
    append(r, data + start, used - start);
    if (r->end_match == 4)
        complete_head(r);
    return used;
}

/* Follows a chunked body's framing; returns how many bytes of data belonged to it. */
static size_t feed_chunked(headrec *r, const char *data, size_t n)
{
    size_t used = 0;
    int rc = chunked_feed_used(&r->chunks, data, n, NULL, &used);
    if (rc < 0) {
        give_up(r, "malformed chunked body");
        return n;
    }
    if (rc == 1)
        r->state = HR_HEAD;
    return used;
}

void headrec_feed(headrec *r, const char *data, size_t n)
{
    while (n > 0 && (r->state == HR_HEAD || r->state == HR_BODY || r->state == HR_CHUNKED)) {
        size_t used;
        if (r->state == HR_CHUNKED) {
            used = feed_chunked(r, data, n);
        } else if (r->state == HR_BODY) {
            used = n < r->body_left ? n : (size_t)r->body_left;
            r->body_left -= used;
            if (r->body_left == 0)
                r->state = HR_HEAD;
        } else {
            used = feed_head(r, data, n);
        }
        data += used;
        n -= used;
    }
}

/* ---- the interposed SSL_read and the public face ---------------------------------------- */

/*
 * libssl's SSL_read, plus a copy of what it returns to the connection's recorder, if any. The
 * executable's definition comes first in the dynamic linker's search order, so libwebsockets'
 * calls land here; so do libcurl's, which have no recorder and pass through.
 */
int SSL_read(SSL *ssl, void *buf, int num)
{
    pthread_once(&headrec_once, headrec_init);
    if (!real_ssl_read) {
        errno = ENOSYS;
        return -1;
    }
    int n = real_ssl_read(ssl, buf, num);
    if (n > 0) {
        headrec *r = recorder_of(ssl);
        if (r)
            headrec_feed(r, buf, (size_t)n);
    }
    return n;
}

int headrec_attach(SSL *ssl)
{
    pthread_once(&headrec_once, headrec_init);
    if (headrec_index < 0 || !real_ssl_read)
        return -EIO;
    if (recorder_of(ssl))
        return 0;
    headrec *r = headrec_new();
    if (SSL_set_ex_data(ssl, headrec_index, r) != 1) {
        headrec_free(r);
        return -ENOMEM;
    }
    return 0;
}

bool headrec_attached(SSL *ssl)
{
    headrec *r = ssl ? recorder_of(ssl) : NULL;
    return r && r->state != HR_BROKEN;
}

headrec *headrec_new(void)
{
    return xcalloc(1, sizeof(headrec));
}

headrec_head *headrec_take(SSL *ssl)
{
    return ssl ? headrec_pop(recorder_of(ssl)) : NULL;
}

headrec_head *headrec_pop(headrec *r)
{
    if (!r || r->count == 0)
        return NULL;
    headrec_head *h = r->queue[r->first];
    r->first = (r->first + 1) % HEADREC_MAX_QUEUED;
    r->count--;
    return h;
}
