/*
 * test_websocket.c - the WebSocket-specific rules of a watch (apiserver/transport/websocket.h):
 * base64url, subprotocol offers and the bearer token subprotocol, what lws can read, and the
 * cutting of a stream into messages; and the token subprotocol's place in the authentication
 * chain (authn.h).
 */
#include "apiserver/transport/authn.h"
#include "apiserver/transport/websocket.h"
#include "common/base64.h"

#include "common/alloc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREFIX WS_TOKEN_PROTOCOL_PREFIX

/* Parses one header line; the test frees the offer. */
static int parse1(const char *line, ws_offer *o, api_error *err)
{
    const char *lines[] = {line};
    size_t lens[] = {strlen(line)};
    return ws_offer_parse(lines, lens, 1, o, err);
}

/* ---- base64url --------------------------------------------------------------------------- */

Test(ws_base64url, decodes_without_padding_and_refuses_what_is_not_raw_url_base64)
{
    char *out;
    size_t n;
    cr_assert_eq(b64url_raw_decode("dG9r", 4, &out, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(out, "tok");
    free(out);
    cr_assert_eq(b64url_raw_decode("dG9rMQ", 6, &out, &n), 0); /* "tok1", no padding */
    cr_assert_str_eq(out, "tok1");
    free(out);
    cr_assert_eq(b64url_raw_decode("-_8", 3, &out, &n), 0); /* URL alphabet: 0xfb 0xff */
    cr_assert_eq(n, 2);
    cr_assert_eq((unsigned char)out[0], 0xfb);
    cr_assert_eq((unsigned char)out[1], 0xff);
    free(out);
    cr_assert_eq(b64url_raw_decode("", 0, &out, &n), 0);
    cr_assert_eq(n, 0);
    free(out);
    cr_assert_eq(b64url_raw_decode("dG9rMQ==", 8, &out, &n), -EINVAL, "padding");
    cr_assert_eq(b64url_raw_decode("dG9r+w", 6, &out, &n), -EINVAL, "standard alphabet");
    cr_assert_eq(b64url_raw_decode("dG9rM", 5, &out, &n), -EINVAL, "length 4k+1");
    cr_assert_eq(b64url_raw_decode("dG\0r", 4, &out, &n), -EINVAL, "NUL");
}

/* ---- offers ------------------------------------------------------------------------------ */

Test(ws_offer, selects_the_first_supported_protocol_in_the_clients_order)
{
    ws_offer o;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(parse1("chat, v4.channel.k8s.io ,\tbase64.binary.k8s.io", &o, &err), 0);
    cr_assert_str_eq(o.selected, "v4.channel.k8s.io");
    cr_assert_eq(o.noffered, 3);
    cr_assert_eq(o.longest_before, strlen("v4.channel.k8s.io"));
    cr_assert_not(o.has_token);
    ws_offer_clear(&o);
    cr_assert_eq(parse1("Base64.Binary.K8s.Io", &o, &err), 0);
    cr_assert_null(o.selected, "names are case-sensitive, as lws matches them");
    ws_offer_clear(&o);
    cr_assert_eq(parse1(" , ,", &o, &err), 0, "empty names are skipped");
    cr_assert_eq(o.noffered, 0);
    ws_offer_clear(&o);
}

Test(ws_offer, reads_every_header_line)
{
    const char *lines[] = {"chat", "base64.binary.k8s.io, " PREFIX "dG9rMQ"};
    size_t lens[] = {strlen(lines[0]), strlen(lines[1])};
    ws_offer o;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(ws_offer_parse(lines, lens, 2, &o, &err), 0);
    cr_assert_str_eq(o.selected, "base64.binary.k8s.io");
    cr_assert(o.has_token);
    cr_assert_eq(o.token_len, 4);
    cr_assert_str_eq(o.token, "tok1");
    ws_offer_clear(&o);
    cr_assert_null(o.token);
}

Test(ws_offer, token_is_never_selected_and_may_come_first)
{
    ws_offer o;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(parse1(PREFIX "dG9rMQ, base64.binary.k8s.io", &o, &err), 0);
    cr_assert_str_eq(o.selected, "base64.binary.k8s.io");
    cr_assert_eq(o.noffered, 1, "the token is not a protocol offered");
    cr_assert_str_eq(o.token, "tok1");
    cr_assert_eq(o.longest_before, strlen(PREFIX "dG9rMQ"), "lws reads the token's name too");
    ws_offer_clear(&o);
    cr_assert_eq(parse1(PREFIX "dG9rMQ", &o, &err), 0);
    cr_assert_null(o.selected);
    cr_assert_eq(o.noffered, 0);
    ws_offer_clear(&o);
}

Test(ws_offer, bad_tokens_are_invalid_not_bad_requests)
{
    static const char *const bad[] = {
        PREFIX "dG9rMQ==",                       /* padding */
        PREFIX "dG9r+w",                         /* standard alphabet */
        PREFIX "_w",                             /* 0xff: not UTF-8 */
        PREFIX "dG9rMQ, " PREFIX "dG9rMg, chat", /* two tokens */
        PREFIX "dG9rMQ, chat, " PREFIX "dG9rMQ", /* the same token twice */
        PREFIX ", " PREFIX "dG9rMQ",             /* an empty one, then one */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ws_offer o;
        api_error err = API_ERROR_INIT;
        cr_assert_eq(parse1(bad[i], &o, &err), 0, "%s", bad[i]);
        cr_assert(o.token_invalid, "%s", bad[i]);
        cr_assert_null(o.token, "%s: an invalid token is not kept", bad[i]);
        ws_offer_clear(&o);
    }
}

Test(ws_offer, empty_token_is_no_token)
{
    ws_offer o;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(parse1(PREFIX ", chat", &o, &err), 0);
    cr_assert_not(o.has_token);
    cr_assert_not(o.token_invalid);
    cr_assert_null(o.token);
    ws_offer_clear(&o);
}

Test(ws_offer, refuses_too_many_too_long_and_non_token_offers)
{
    ws_offer o;
    api_error err = API_ERROR_INIT;
    char many[WS_MAX_PROTOCOLS * 8 + 16] = "";
    for (int i = 0; i <= WS_MAX_PROTOCOLS; i++)
        sprintf(many + strlen(many), "p%d,", i);
    cr_assert_eq(parse1(many, &o, &err), -EINVAL);
    cr_assert_eq(err.code, 400);
    apierr_clear(&err);

    char *huge = xcalloc(1, WS_MAX_HEADER_BYTES + 2);
    memset(huge, 'a', WS_MAX_HEADER_BYTES + 1);
    cr_assert_eq(parse1(huge, &o, &err), -EINVAL);
    cr_assert_eq(err.code, 400);
    apierr_clear(&err);
    huge[WS_MAX_HEADER_BYTES] = '\0'; /* exactly the limit: read */
    cr_assert_eq(parse1(huge, &o, &err), 0);
    ws_offer_clear(&o);
    free(huge);

    static const char *const not_tokens[] = {"a/b", "chat, \"q\"", "x y", "a;b", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof not_tokens / sizeof not_tokens[0]; i++) {
        cr_assert_eq(parse1(not_tokens[i], &o, &err), -EINVAL, "%s", not_tokens[i]);
        cr_assert_eq(err.code, 400);
        apierr_clear(&err);
    }
}

Test(ws_offer, fits_lws_within_its_header_and_name_limits)
{
    ws_offer o = {.selected = "binary.k8s.io", .longest_before = WS_LWS_NAME_MAX};
    api_error err = API_ERROR_INIT;
    cr_assert_eq(ws_offer_fits_lws(&o, WS_LWS_HEADER_MAX, &err), 0);
    cr_assert_eq(ws_offer_fits_lws(&o, WS_LWS_HEADER_MAX + 1, &err), -E2BIG);
    cr_assert_eq(err.code, 400);
    cr_assert(strstr(err.message, "Authorization header"), "%s", err.message);
    apierr_clear(&err);
    o.longest_before = WS_LWS_NAME_MAX + 1;
    cr_assert_eq(ws_offer_fits_lws(&o, 20, &err), -E2BIG);
    apierr_clear(&err);
}

Test(ws_offer, every_supported_protocol_is_a_short_token)
{
    for (int i = 0; ws_protocols[i]; i++) {
        ws_offer o;
        api_error err = API_ERROR_INIT;
        cr_assert_eq(parse1(ws_protocols[i], &o, &err), 0, "%s", ws_protocols[i]);
        cr_assert_eq(o.selected, ws_protocols[i]);
        cr_assert_leq(strlen(ws_protocols[i]), WS_LWS_NAME_MAX);
        ws_offer_clear(&o);
    }
}

/* ---- messages ---------------------------------------------------------------------------- */

Test(ws_message, each_complete_line_is_one_message_without_its_newline)
{
    const char buf[] = "{\"type\":\"ADDED\"}\n{}\n\n{\"partial\"";
    size_t off = 0, n;
    const char *msg;
    cr_assert(ws_next_message(buf, sizeof buf - 1, &off, &msg, &n));
    cr_assert_eq(n, strlen("{\"type\":\"ADDED\"}"));
    cr_assert_eq(memcmp(msg, "{\"type\":\"ADDED\"}", n), 0);
    cr_assert(ws_next_message(buf, sizeof buf - 1, &off, &msg, &n));
    cr_assert_eq(n, 2);
    cr_assert(ws_next_message(buf, sizeof buf - 1, &off, &msg, &n));
    cr_assert_eq(n, 0);
    cr_assert_not(ws_next_message(buf, sizeof buf - 1, &off, &msg, &n), "an incomplete line");
    cr_assert_not(ws_next_message("", 0, &(size_t){0}, &msg, &n));
}

/* ---- the token subprotocol in the authentication chain ----------------------------------- */

static authn *token_authn(void)
{
    char path[] = "/tmp/test_websocket_tokensXXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char csv[] = "tok1,alice,uid-1,\"dev\"\n";
    cr_assert_eq(write(fd, csv, sizeof csv - 1), (ssize_t)(sizeof csv - 1));
    close(fd);
    authn_options opts = {.token_auth_file = path};
    api_error err = API_ERROR_INIT;
    authn *a = authn_new(&opts, &err);
    unlink(path);
    cr_assert_not_null(a, "%s", err.message ? err.message : "");
    return a;
}

Test(ws_authn, token_subprotocol_authenticates_after_the_authorization_header)
{
    authn *a = token_authn();
    authn_user *u = NULL;
    authn_request r = {.protocol_token = "tok1", .protocol_token_len = 4};
    cr_assert_eq(authn_authenticate(a, &r, &u), 0);
    cr_assert_str_eq(u->name, "alice");
    authn_user_free(u);

    r.protocol_token = "tok2";
    cr_assert_eq(authn_authenticate(a, &r, &u), -EACCES, "an unknown token is a 401");
    cr_assert_null(u);

    r = (authn_request){.protocol_token_invalid = true};
    cr_assert_eq(authn_authenticate(a, &r, &u), -EACCES, "an undecodable one too");

    r = (authn_request){
        .authorization = "Bearer tok1", .protocol_token = "tok2", .protocol_token_len = 4};
    cr_assert_eq(authn_authenticate(a, &r, &u), 0, "the header's token authenticates first");
    cr_assert_str_eq(u->name, "alice");
    authn_user_free(u);

    r = (authn_request){.protocol_token = "tok1\0x", .protocol_token_len = 6};
    cr_assert_eq(authn_protocol_token(a, &r, &u), -EACCES, "the whole token, NUL and all");

    r = (authn_request){0};
    cr_assert_eq(authn_protocol_token(a, &r, &u), -ENOENT);
    cr_assert_eq(authn_authenticate(a, &r, &u), 0);
    cr_assert(authn_user_is_anonymous(u));
    authn_user_free(u);
    authn_free(a);
}
