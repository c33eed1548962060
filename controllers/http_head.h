/*
 * http_head.h - the head of one HTTP/1.x request, as the manager's small metrics and probe
 * server (controllers/httpd.h) reads it from a socket: the request line and the header lines up
 * to the empty line. Only what that server needs is extracted (method, path); headers are
 * checked for shape and otherwise ignored, and any body is never read.
 *
 * The input is outside input (any local process may connect), so the parser is strict and
 * bounded: a head longer than HH_MAX_HEAD bytes, a request target longer than HH_MAX_TARGET, a
 * method longer than HH_MAX_METHOD, control characters, obsolete line folding or a version other
 * than HTTP/1.0 and HTTP/1.1 are refused. Lines end with CRLF or a bare LF.
 *
 * It is a pure function of the bytes (no I/O, no allocation, no global state): thread-safe, and
 * the entry point of fuzz/fuzz_http_head.c.
 */
#ifndef FOO_CONTROLLERS_HTTP_HEAD_H
#define FOO_CONTROLLERS_HTTP_HEAD_H

#include <stddef.h>

/* The most bytes a request head may take, its empty line included. */
#define HH_MAX_HEAD 8192
/* The longest request target (path and query). */
#define HH_MAX_TARGET 2048
/* The longest method token. */
#define HH_MAX_METHOD 16

typedef struct hh_request {
    char method[HH_MAX_METHOD + 1]; /* a token, e.g. "GET" */
    char path[HH_MAX_TARGET + 1];   /* the target up to '?' (no decoding); starts with '/' */
    int minor_version;              /* 0 or 1 */
    size_t head_len;                /* bytes of the head, its empty line included */
} hh_request;

/*
 * Parses the request head at the start of buf[0..len) (buf need not be NUL-terminated; bytes
 * past the head, a body, are not looked at). Returns:
 *   0            complete and valid: *req is filled;
 *   -EAGAIN      no error so far but the head is not complete: read more and call again with
 *                the longer buffer (only complete lines are judged, so a valid head fed in any
 *                number of pieces gives -EAGAIN for every proper prefix, then 0);
 *   -EMSGSIZE    no empty line within HH_MAX_HEAD bytes (answer 431);
 *   -ENAMETOOLONG  the target is longer than HH_MAX_TARGET (answer 414);
 *   -EPROTONOSUPPORT  the version is not HTTP/1.0 or HTTP/1.1 (answer 505);
 *   -EINVAL      anything else malformed (answer 400).
 * Errors found in complete lines win over -EMSGSIZE. *req is written only on success (its
 * contents are unspecified otherwise). Thread-safe.
 */
int hh_parse(const char *buf, size_t len, hh_request *req);

#endif
