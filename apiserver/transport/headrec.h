/*
 * headrec.h - the request heads of a TLS connection exactly as the client sent them, line by
 * line, for the front-proxy authenticator (authn.h, docs/api.md §9.7).
 *
 * Why this exists: libwebsockets 4.1.6 parses every head itself and offers one accessor for
 * headers it does not know, lws_hdr_custom_copy(), which returns only the FIRST line of a
 * repeated header and cannot list header names. kube-apiserver's front proxy sends one
 * X-Remote-Group line per group and one X-Remote-Extra-<key> header per extra value, so neither
 * can be read through lws (docs/platform.md §10).
 *
 * How: the server's SSL_read is interposed (headrec.c defines SSL_read, which the dynamic
 * linker resolves before libssl's for libwebsockets) and, on connections that were attached a
 * recorder, the decrypted bytes are also fed to a small HTTP/1.1 framer: a head ends at the
 * first empty line, its Content-Length body is skipped, then the next head starts. Each
 * complete head is queued (a chunked body is followed through its framing to find the next
 * head); the transport takes one per request, in order, on the same thread
 * that reads (the service thread). Connections without a recorder (and every other SSL object
 * of the process, libcurl's included) pass straight through.
 *
 * The framer stops (headrec_take then returns NULL for the rest of the connection) on anything
 * it cannot frame: a transfer coding other than chunked, malformed chunks, an upgrade (WebSocket
 * frames follow), a head over HEADREC_MAX_HEAD bytes (lws refuses it too), or more than
 * HEADREC_MAX_QUEUED unread heads. The caller checks that the head it
 * takes is the one lws parsed (headrec_matches) before trusting it.
 */
#ifndef FOO_APISERVER_HEADREC_H
#define FOO_APISERVER_HEADREC_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#define HEADREC_MAX_HEAD   (64 * 1024) /* above lws's max_http_header_data, so lws refuses first */
#define HEADREC_MAX_QUEUED 8           /* heads read ahead of the requests lws hands over */

/* One header line of a head: name and value as sent (value without surrounding blanks), not
   NUL-terminated. */
typedef struct headrec_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} headrec_field;

/* One recorded head: its method and every header line in order. Owned by the caller of
   headrec_take; free with headrec_head_free. */
typedef struct headrec_head {
    char *raw; /* the head's bytes; fields point into it */
    char method[16];
    headrec_field *fields;
    size_t nfields;
} headrec_head;

/*
 * Starts recording the heads read from ssl (a server connection not yet past its first request
 * byte: call it during the handshake, e.g. from the certificate verify callback). Idempotent.
 * The recorder is freed with the SSL object. Returns 0, or -ENOMEM / -EIO when OpenSSL refuses
 * the extra data (nothing is recorded then). Call on the thread that owns ssl.
 */
int headrec_attach(SSL *ssl);

/* Whether ssl has a recorder (attached and not given up). */
bool headrec_attached(SSL *ssl);

/*
 * The oldest recorded head of ssl not taken yet, or NULL when there is none, no recorder, or
 * the framer gave up on this connection. The caller owns the head. Call on the thread that
 * reads ssl.
 */
headrec_head *headrec_take(SSL *ssl);

/* Frees a head. NULL is a no-op. */
void headrec_head_free(headrec_head *h);

/*
 * Whether h is the head lws parsed: same method, and the first line of header `name` (lower
 * case, without colon) has the value `first_value` (NULL: no such line). Guards against the
 * framer and lws ever disagreeing on where a request starts.
 */
bool headrec_matches(const headrec_head *h, const char *method, const char *name,
                     const char *first_value);

/* The framer alone, without SSL (tests, the fuzz target; headrec_attach uses one per
   connection). Not thread-safe: one thread feeds and pops. */
typedef struct headrec headrec;
headrec *headrec_new(void);
/* Feeds n bytes of the stream, in order, in pieces of any size. */
void headrec_feed(headrec *r, const char *data, size_t n);
/* The oldest complete head not popped yet (caller frees), or NULL. */
headrec_head *headrec_pop(headrec *r);
/* Frees r and the heads it still holds. NULL is a no-op. */
void headrec_free(headrec *r);

/*
 * Parses one complete head (request line, header lines, the empty line) of len bytes into
 * *out (copying the bytes). Returns 0, or -EINVAL when it is not a well-formed HTTP/1.x head
 * (a header line without a colon or a name with a blank, a bare CR, a NUL byte). For tests and
 * the fuzz target.
 */
int headrec_parse(const char *raw, size_t len, headrec_head **out);

#endif
