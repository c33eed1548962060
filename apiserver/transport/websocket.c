/*
 * websocket.c - subprotocol offers, the bearer token subprotocol and message framing of a watch
 * over WebSocket (websocket.h; docs/api.md §6.1).
 */
#include "apiserver/transport/websocket.h"
#include "common/alloc.h"
#include "common/base64.h"
#include "common/utf8.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *const ws_protocols[] = {
    "base64.binary.k8s.io", "binary.k8s.io",     "base64.channel.k8s.io",    "channel.k8s.io",
    "v4.channel.k8s.io",    "v5.channel.k8s.io", "v4.base64.channel.k8s.io", NULL,
};

/* ---- offers ------------------------------------------------------------------------------ */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 7230 tchar. */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_tchar((unsigned char)s[i]))
            return false;
    return len > 0;
}

/* The name of ws_protocols equal to name (case-sensitive, as lws matches it), or NULL. */
static const char *known_protocol(const char *name, size_t len)
{
    for (int i = 0; ws_protocols[i]; i++)
        if (strlen(ws_protocols[i]) == len && memcmp(ws_protocols[i], name, len) == 0)
            return ws_protocols[i];
    return NULL;
}

static void ws_offer_clear_token(ws_offer *o)
{
    if (o->token)
        OPENSSL_cleanse(o->token, o->token_len);
    free(o->token);
    o->token = NULL;
    o->token_len = 0;
}

/* One offered name: the token, or a protocol that may be selected. */
static void take_name(ws_offer *o, const char *name, size_t len)
{
    if (!o->selected && len > o->longest_before)
        o->longest_before = len;
    size_t plen = strlen(WS_TOKEN_PROTOCOL_PREFIX);
    if (len < plen || strncmp(name, WS_TOKEN_PROTOCOL_PREFIX, plen) != 0) {
        o->noffered++;
        if (!o->selected)
            o->selected = known_protocol(name, len);
        return;
    }
    if (++o->ntokens > 1) { /* kube: "multiple base64.bearer.authorization tokens" */
        ws_offer_clear_token(o);
        o->has_token = false;
        o->token_invalid = true;
        return;
    }
    o->has_token = true;
    if (b64url_raw_decode(name + plen, len - plen, &o->token, &o->token_len) != 0 ||
        !utf8_valid((const unsigned char *)o->token, o->token_len)) {
        ws_offer_clear_token(o);
        o->has_token = false;
        o->token_invalid = true;
        return;
    }
    if (o->token_len == 0) { /* an empty token is no token (kube) */
        ws_offer_clear_token(o);
        o->has_token = false;
    }
}

int ws_offer_parse(const char *const *lines, const size_t *lens, int nlines, ws_offer *out,
                   api_error *err)
{
    memset(out, 0, sizeof *out);
    size_t total = 0;
    for (int i = 0; i < nlines; i++)
        total += lens[i];
    if (total > WS_MAX_HEADER_BYTES) {
        apierr_set(err, 400, "BadRequest",
                   "the Sec-WebSocket-Protocol header is longer than %d bytes",
                   WS_MAX_HEADER_BYTES);
        return -EINVAL;
    }
    int names = 0;
    for (int i = 0; i < nlines; i++) {
        const char *p = lines[i], *end = lines[i] + lens[i];
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *stop = comma ? comma : end;
            const char *a = p, *b = stop;
            while (a < b && is_space(*a))
                a++;
            while (b > a && is_space(b[-1]))
                b--;
            if (b > a && ++names > WS_MAX_PROTOCOLS) {
                ws_offer_clear(out);
                apierr_set(err, 400, "BadRequest", "more than %d WebSocket subprotocols offered",
                           WS_MAX_PROTOCOLS);
                return -EINVAL;
            }
            bool token_prefix =
                (size_t)(b - a) >= strlen(WS_TOKEN_PROTOCOL_PREFIX) &&
                strncmp(a, WS_TOKEN_PROTOCOL_PREFIX, strlen(WS_TOKEN_PROTOCOL_PREFIX)) == 0;
            if (b > a && !token_prefix && !is_token(a, (size_t)(b - a))) {
                ws_offer_clear(out);
                apierr_set(err, 400, "BadRequest",
                           "invalid Sec-WebSocket-Protocol header: each subprotocol must be "
                           "a token (RFC 7230)");
                return -EINVAL;
            }
            if (b > a)
                take_name(out, a, (size_t)(b - a));
            p = comma ? comma + 1 : end;
        }
    }
    return 0;
}

void ws_offer_clear(ws_offer *o)
{
    ws_offer_clear_token(o);
    memset(o, 0, sizeof *o);
}

int ws_offer_fits_lws(const ws_offer *o, size_t header_len, api_error *err)
{
    if (header_len <= WS_LWS_HEADER_MAX && o->longest_before <= WS_LWS_NAME_MAX)
        return 0;
    apierr_set(err, 400, "BadRequest",
               "the Sec-WebSocket-Protocol header is too long for this server: at most %d "
               "bytes, and at most %d bytes per subprotocol up to the one selected; a bearer "
               "token longer than that cannot come as a subprotocol (send it in the "
               "Authorization header)",
               WS_LWS_HEADER_MAX, WS_LWS_NAME_MAX);
    return -E2BIG;
}

/* ---- messages ---------------------------------------------------------------------------- */

bool ws_next_message(const char *buf, size_t len, size_t *off, const char **msg, size_t *msg_len)
{
    if (*off >= len)
        return false;
    const char *start = buf + *off;
    const char *nl = memchr(start, '\n', len - *off);
    if (!nl)
        return false;
    *msg = start;
    *msg_len = (size_t)(nl - start);
    *off += *msg_len + 1;
    return true;
}
