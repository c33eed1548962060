/*
 * http_head.c - the request-head parser of the manager's HTTP server (http_head.h).
 *
 * The head is judged line by line, and only complete lines are judged: that is what makes the
 * answer for a prefix of a valid head -EAGAIN, however the bytes were split by the network.
 */
#include "controllers/http_head.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* RFC 9110 §5.6.2: token characters. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Visible ASCII, as a request target may hold (no space, no control, no obs-text). */
static bool is_target_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

/* A header value byte: visible, space, tab or obs-text; no other control character. */
static bool is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* One line without its terminator. */
typedef struct line {
    const unsigned char *p;
    size_t n;
} line;

/*
 * The request line: METHOD SP TARGET SP HTTP/1.x. Fills the method, path and minor version of
 * req, or returns the error to answer.
 */
static int parse_request_line(line l, hh_request *req)
{
    size_t i = 0;
    while (i < l.n && is_tchar(l.p[i]))
        i++;
    if (i == 0 || i > HH_MAX_METHOD || i >= l.n || l.p[i] != ' ')
        return -EINVAL;
    memcpy(req->method, l.p, i);
    req->method[i] = '\0';

    size_t t = ++i;
    while (i < l.n && is_target_char(l.p[i]))
        i++;
    if (i == t || l.p[t] != '/' || i >= l.n || l.p[i] != ' ')
        return -EINVAL;
    size_t tlen = i - t;
    if (tlen > HH_MAX_TARGET)
        return -ENAMETOOLONG;
    const unsigned char *q = memchr(l.p + t, '?', tlen);
    size_t plen = q ? (size_t)(q - (l.p + t)) : tlen;
    memcpy(req->path, l.p + t, plen);
    req->path[plen] = '\0';

    const unsigned char *v = l.p + i + 1;
    size_t vlen = l.n - i - 1;
    if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return -EINVAL;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return -EPROTONOSUPPORT;
    req->minor_version = v[7] - '0';
    return 0;
}

/* A header line: NAME ":" VALUE with a token name; the value is checked, not kept. */
static int parse_header_line(line l)
{
    size_t i = 0;
    while (i < l.n && is_tchar(l.p[i]))
        i++;
    /* i == 0 also refuses obsolete line folding (a line starting with space or tab) */
    if (i == 0 || i >= l.n || l.p[i] != ':')
        return -EINVAL;
    for (i++; i < l.n; i++)
        if (!is_value_char(l.p[i]))
            return -EINVAL;
    return 0;
}

/*
 * The next complete line starting at *pos within buf[0..scan): true with *out (terminator
 * removed: "\n" or "\r\n") and *pos past it; false when no "\n" follows. A '\r' anywhere else
 * stays in the line, where the line's parser refuses it as a control character.
 */
static bool next_line(const unsigned char *buf, size_t scan, size_t *pos, line *out)
{
    const unsigned char *nl = memchr(buf + *pos, '\n', scan - *pos);
    if (!nl)
        return false;
    size_t end = (size_t)(nl - buf);
    out->p = buf + *pos;
    out->n = end - *pos;
    if (out->n > 0 && out->p[out->n - 1] == '\r')
        out->n--;
    *pos = end + 1;
    return true;
}

int hh_parse(const char *buf, size_t len, hh_request *req)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t scan = len < HH_MAX_HEAD ? len : HH_MAX_HEAD;
    size_t pos = 0;
    line l;
    hh_request tmp;
    bool first = true;
    while (next_line(b, scan, &pos, &l)) {
        if (first) {
            int rc = parse_request_line(l, &tmp);
            if (rc != 0)
                return rc;
            first = false;
            continue;
        }
        if (l.n == 0) {
            tmp.head_len = pos;
            *req = tmp;
            return 0;
        }
        if (parse_header_line(l) != 0)
            return -EINVAL;
    }
    return scan == HH_MAX_HEAD ? -EMSGSIZE : -EAGAIN;
}
