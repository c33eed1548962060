/*
 * websocket.h - the WebSocket-specific parts of a watch over WebSocket (docs/api.md §6.1):
 * which subprotocols the server knows, choosing one of those a client offers, the bearer token a
 * browser sends as a subprotocol, and cutting a watch stream's bytes into messages.
 *
 * Pure functions over strings, no libwebsockets: http.c does the upgrade and the writing. Every
 * function is thread-safe (no shared state).
 */
#ifndef FOO_APISERVER_WEBSOCKET_H
#define FOO_APISERVER_WEBSOCKET_H

#include "common/apierr.h"

#include <stdbool.h>
#include <stddef.h>

/* The subprotocol that carries a bearer token: this prefix, then the token in base64url
   without padding (kube-apiserver's websocket protocol authenticator). */
#define WS_TOKEN_PROTOCOL_PREFIX "base64url.bearer.authorization.k8s.io."

/* Most subprotocols one request may offer, and most bytes of its Sec-WebSocket-Protocol
   header lines together: a client offers a handful; more is refused with a 400, not read on. */
#define WS_MAX_PROTOCOLS    32
#define WS_MAX_HEADER_BYTES 16384

/*
 * The subprotocols the server selects (besides the token, which it never selects): kube's
 * well-known WebSocket protocol names. A watch is the same stream of JSON text messages whichever
 * is selected, as with kube-apiserver, which echoes the one protocol offered and frames JSON
 * watch events as text whatever it is. NULL-terminated; each name must be registered with lws,
 * which drops an upgrade naming none it knows.
 */
extern const char *const ws_protocols[];

/*
 * What libwebsockets 4.1.6 can read of a Sec-WebSocket-Protocol header (measured; docs/api.md
 * §6.1): it copies the lines, joined, into a 127-byte buffer and each name, up to the first one
 * it has registered, into a 64-byte one; past either it drops the connection without an answer.
 * The server answers such an offer with a 400 instead (ws_offer_fits_lws).
 */
#define WS_LWS_HEADER_MAX 126 /* bytes of the joined lines, as lws_hdr_total_length counts */
#define WS_LWS_NAME_MAX   62  /* bytes of one name */

/* What a client's Sec-WebSocket-Protocol header lines say (ws_offer_parse). */
typedef struct ws_offer {
    const char *selected;  /* the first offered protocol of ws_protocols, NULL = none offered */
    int noffered;          /* protocols offered besides the token */
    size_t longest_before; /* the longest name offered before `selected` (all, if none) */
    int ntokens;           /* token subprotocols offered (valid or not, empty or not) */
    bool has_token;        /* a valid, non-empty token was offered: token holds it */
    bool token_invalid;    /* a token subprotocol that cannot be one (answer 401) */
    char *token;           /* the decoded token (owned; NUL-terminated; may hold NUL bytes) */
    size_t token_len;
} ws_offer;

/*
 * Parses the Sec-WebSocket-Protocol header lines (each a comma-separated list; spaces and tabs
 * around a name ignored, empty names skipped) as kube-apiserver does: a name starting with
 * WS_TOKEN_PROTOCOL_PREFIX is the bearer token, decoded from base64url without padding; a
 * second token, bad base64url or a token that is not UTF-8 sets token_invalid (an
 * authentication failure, as kube's authenticator says, not a bad request); an empty token is
 * no token. lines[i] has lens[i] bytes (need not be NUL-terminated); nlines may be 0.
 * Returns 0 with *out filled (free with ws_offer_clear), or -EINVAL with err a 400 BadRequest
 * when the lines are over WS_MAX_HEADER_BYTES, offer more than WS_MAX_PROTOCOLS names, or
 * hold a name that is not an RFC 7230 token (RFC 6455 §4.1: a subprotocol is one; lws splits
 * names at other characters, so it could select a name that was not offered).
 */
int ws_offer_parse(const char *const *lines, const size_t *lens, int nlines, ws_offer *out,
                   api_error *err);

/*
 * Whether lws can upgrade with offer o, whose header lines are header_len bytes as lws counts
 * them (lws_hdr_total_length): within WS_LWS_HEADER_MAX, and no name up to the selected one
 * longer than WS_LWS_NAME_MAX. Returns 0, or -E2BIG with err a 400 BadRequest saying so.
 */
int ws_offer_fits_lws(const ws_offer *o, size_t header_len, api_error *err);

/* Frees what o owns (the token is wiped first) and zeroes it. */
void ws_offer_clear(ws_offer *o);

/*
 * The next message of a watch stream's bytes: the stream writes one event per line, and a
 * WebSocket watch sends each event as one message without its newline. Looks at
 * buf[*off..len): when a complete line is there, sets *msg and *msg_len to it (without the
 * '\n'), advances *off past the '\n' and returns true; else returns false (the rest, if any, is
 * an incomplete line: the stream never leaves one, it only appends whole events).
 */
bool ws_next_message(const char *buf, size_t len, size_t *off, const char **msg, size_t *msg_len);

#endif
