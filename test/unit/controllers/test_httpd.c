/*
 * The manager's small HTTP server: the request-head parser (http_head.h) on valid, split,
 * oversized and malformed heads, the bind-address forms, and the server (httpd.h) over real
 * loopback sockets: routes, HEAD, 404, 405 with Allow, 400, 431, and one request per connection.
 */
#include "controllers/http_head.h"
#include "controllers/httpd.h"
#include "raw_http.h"

#include "common/alloc.h"
#include "common/sbuf.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(http_head);
TestSuite(httpd_address);

static int parse(const char *s, hh_request *req)
{
    return hh_parse(s, strlen(s), req);
}

Test(http_head, a_get_with_headers_gives_method_path_and_length)
{
    const char *s = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\nBODY";
    hh_request req;
    cr_assert_eq(parse(s, &req), 0);
    cr_assert_str_eq(req.method, "GET");
    cr_assert_str_eq(req.path, "/metrics", "the query is cut off");
    cr_assert_eq(req.minor_version, 1);
    cr_assert_eq(req.head_len, strlen(s) - 4, "the body is not part of the head");
}

Test(http_head, bare_line_feeds_and_http_1_0_are_accepted)
{
    hh_request req;
    cr_assert_eq(parse("HEAD /readyz HTTP/1.0\nHost: a\n\n", &req), 0);
    cr_assert_str_eq(req.method, "HEAD");
    cr_assert_eq(req.minor_version, 0);
}

Test(http_head, every_proper_prefix_of_a_valid_head_asks_for_more)
{
    const char *s =
        "GET /healthz HTTP/1.1\r\nHost: localhost:8081\r\nUser-Agent: kube-probe\r\n\r\n";
    hh_request req;
    for (size_t n = 0; n < strlen(s); n++)
        cr_assert_eq(hh_parse(s, n, &req), -EAGAIN, "prefix of %zu bytes", n);
    cr_assert_eq(parse(s, &req), 0);
}

Test(http_head, malformed_request_lines_are_refused)
{
    const char *bad[] = {
        "\r\n\r\n",                              /* no request line */
        "GET  /x HTTP/1.1\r\n\r\n",              /* two spaces */
        "GET x HTTP/1.1\r\n\r\n",                /* target not a path */
        "GET /x HTTP/1.1 \r\n\r\n",              /* trailing space */
        "GET /x\r\n\r\n",                        /* no version */
        "G(T /x HTTP/1.1\r\n\r\n",               /* method not a token */
        "GET /a\tb HTTP/1.1\r\n\r\n",            /* control character in the target */
        "GET /x HTTP/1.1\r\nNo colon\r\n\r\n",   /* header without a colon */
        "GET /x HTTP/1.1\r\nA: b\r\n c\r\n\r\n", /* obsolete line folding */
        "GET /x HTTP/1.1\r\nA: b\x01\r\n\r\n",   /* control character in a value */
        "GET /x HTTP/1.1\r\nA: b\rc\r\n\r\n",    /* a lone CR */
        "GET /x FTP/1.1\r\n\r\n",
    };
    hh_request req;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(parse(bad[i], &req), -EINVAL, "input %zu", i);
}

Test(http_head, other_http_versions_are_not_supported)
{
    hh_request req;
    cr_assert_eq(parse("GET /x HTTP/2.0\r\n\r\n", &req), -EPROTONOSUPPORT);
    cr_assert_eq(parse("GET /x HTTP/1.2\r\n\r\n", &req), -EPROTONOSUPPORT);
}

Test(http_head, a_head_without_end_within_the_limit_is_too_large)
{
    size_t n = HH_MAX_HEAD + 100;
    char *s = xmalloc(n);
    memcpy(s, "GET /x HTTP/1.1\r\n", 17);
    for (size_t i = 17; i < n; i += 10)
        memcpy(s + i, "A: bbbbb\r\n", n - i < 10 ? n - i : 10);
    hh_request req;
    cr_assert_eq(hh_parse(s, HH_MAX_HEAD - 1, &req), -EAGAIN);
    cr_assert_eq(hh_parse(s, HH_MAX_HEAD, &req), -EMSGSIZE);
    cr_assert_eq(hh_parse(s, n, &req), -EMSGSIZE);
    free(s);
}

Test(http_head, a_too_long_target_is_refused_as_such)
{
    sbuf b = SBUF_INIT;
    sbuf_puts(&b, "GET /");
    for (int i = 0; i < HH_MAX_TARGET; i++)
        sbuf_putc(&b, 'a');
    sbuf_puts(&b, " HTTP/1.1\r\n\r\n");
    hh_request req;
    cr_assert_eq(hh_parse(b.data, b.len, &req), -ENAMETOOLONG);
    sbuf_free(&b);
}

Test(http_head, a_long_method_is_refused)
{
    hh_request req;
    cr_assert_eq(parse("ABCDEFGHIJKLMNOPQ /x HTTP/1.1\r\n\r\n", &req), -EINVAL);
}

/* ---- addresses ------------------------------------------------------------------------------ */

static int split(const char *a, char **host, char **port)
{
    return httpd_split_address(a, host, port);
}

Test(httpd_address, the_forms_controller_runtime_takes)
{
    char *h, *p;
    cr_assert_eq(split(":8080", &h, &p), 0);
    cr_assert_null(h, "\":PORT\" is every interface");
    cr_assert_str_eq(p, "8080");
    free(p);
    cr_assert_eq(split("127.0.0.1:0", &h, &p), 0);
    cr_assert_str_eq(h, "127.0.0.1");
    cr_assert_str_eq(p, "0");
    free(h), free(p);
    cr_assert_eq(split("[::1]:9", &h, &p), 0);
    cr_assert_str_eq(h, "::1");
    cr_assert_str_eq(p, "9");
    free(h), free(p);
    cr_assert_eq(split("0", &h, &p), 1, "\"0\" turns serving off");
    cr_assert_null(h);
    cr_assert_null(p);
}

Test(httpd_address, bad_forms_are_refused)
{
    const char *bad[] = {"",   "8080",    "::1:80", "[::1]80", "[]:80",
                         "a:", "a:65536", "a:12x",  "a:123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *h, *p;
        cr_assert_eq(split(bad[i], &h, &p), -EINVAL, "%s", bad[i]);
        cr_assert_null(h);
        cr_assert_null(p);
    }
}

/* ---- the server ----------------------------------------------------------------------------- */

static httpd *srv;
static int hits;

static void hello(void *ctx, httpd_response *resp)
{
    (void)ctx;
    hits++;
    resp->content_type = "text/plain; version=0.0.4";
    sbuf_puts(&resp->body, "hello\n");
}

static void failing(void *ctx, httpd_response *resp)
{
    (void)ctx;
    resp->code = 500;
    sbuf_puts(&resp->body, "[-]check failed\n");
}

static void start(void)
{
    hits = 0;
    const httpd_route routes[] = {{"/hello", hello, NULL}, {"/fail", failing, NULL}};
    api_error err = API_ERROR_INIT;
    cr_assert_eq(httpd_start("127.0.0.1:0", routes, 2, "test", &srv, &err), 0, "%s",
                 err.message ? err.message : "");
    cr_assert_gt(httpd_port(srv), 0);
}

static void stop(void)
{
    httpd_stop(srv);
}

TestSuite(httpd, .init = start, .fini = stop, .timeout = 60);

static int connect_to_server(void)
{
    return raw_http_connect(httpd_port(srv));
}

static char *exchange(const char *raw)
{
    return raw_http_exchange(connect_to_server(), raw, strlen(raw));
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

Test(httpd, a_route_answers_with_its_body_type_and_close)
{
    char *r = exchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert(starts_with(r, "HTTP/1.1 200 OK\r\n"), "%s", r);
    cr_assert(strstr(r, "Content-Type: text/plain; version=0.0.4\r\n"), "%s", r);
    cr_assert(strstr(r, "Content-Length: 6\r\n"), "%s", r);
    cr_assert(strstr(r, "Connection: close\r\n"), "%s", r);
    cr_assert(strstr(r, "\r\n\r\nhello\n"), "%s", r);
    cr_assert_eq(hits, 1);
    free(r);
}

Test(httpd, head_gets_the_headers_without_the_body)
{
    char *r = exchange("HEAD /hello HTTP/1.1\r\n\r\n");
    cr_assert(starts_with(r, "HTTP/1.1 200 OK\r\n"), "%s", r);
    cr_assert(strstr(r, "Content-Length: 6\r\n"), "%s", r);
    cr_assert(!strstr(r, "hello"), "%s", r);
    free(r);
}

Test(httpd, a_handler_may_answer_an_error)
{
    char *r = exchange("GET /fail?verbose HTTP/1.1\r\n\r\n");
    cr_assert(starts_with(r, "HTTP/1.1 500 "), "%s", r);
    cr_assert(strstr(r, "[-]check failed"), "%s", r);
    free(r);
}

Test(httpd, unknown_paths_methods_and_junk_get_their_codes)
{
    char *r = exchange("GET /other HTTP/1.1\r\n\r\n");
    cr_assert(starts_with(r, "HTTP/1.1 404 "), "%s", r);
    free(r);
    r = exchange("POST /hello HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    cr_assert(starts_with(r, "HTTP/1.1 405 "), "%s", r);
    cr_assert(strstr(r, "Allow: GET, HEAD\r\n"), "%s", r);
    free(r);
    r = exchange("\x16\x03\x01 TLS hello\r\n\r\n");
    cr_assert(starts_with(r, "HTTP/1.1 400 "), "%s", r);
    free(r);
    r = exchange("GET /hello HTTP/3.0\r\n\r\n");
    cr_assert(starts_with(r, "HTTP/1.1 505 "), "%s", r);
    free(r);
    cr_assert_eq(hits, 0, "no handler ran");
}

Test(httpd, an_endless_head_is_cut_at_the_limit)
{
    size_t n = HH_MAX_HEAD + 1000;
    char *raw = xmalloc(n);
    memcpy(raw, "GET /hello HTTP/1.1\r\n", 21);
    memset(raw + 21, 'a', n - 21);
    char *r = raw_http_exchange(connect_to_server(), raw, n);
    cr_assert(starts_with(r, "HTTP/1.1 431 "), "%s", r);
    free(r);
    free(raw);
}

Test(httpd, a_request_sent_byte_by_byte_is_answered)
{
    int fd = connect_to_server();
    const char *raw = "GET /hello HTTP/1.1\r\n\r\n";
    for (size_t i = 0; i + 1 < strlen(raw); i++)
        cr_assert_eq(send(fd, raw + i, 1, MSG_NOSIGNAL), 1);
    char *r = raw_http_exchange(fd, raw + strlen(raw) - 1, 1);
    cr_assert(starts_with(r, "HTTP/1.1 200 OK\r\n"), "%s", r);
    free(r);
}

Test(httpd, a_silent_connection_does_not_block_others)
{
    int idle = connect_to_server(); /* sends nothing */
    char *r = exchange("GET /hello HTTP/1.1\r\n\r\n");
    cr_assert(starts_with(r, "HTTP/1.1 200 OK\r\n"), "%s", r);
    free(r);
    close(idle);
}

Test(httpd, a_port_in_use_is_reported)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", httpd_port(srv));
    const httpd_route routes[] = {{"/hello", hello, NULL}};
    httpd *other = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(httpd_start(addr, routes, 1, "second", &other, &err), -EADDRINUSE);
    cr_assert_null(other);
    cr_assert_eq(err.code, 500);
    cr_assert(strstr(err.message, "cannot listen on 127.0.0.1:"), "%s", err.message);
    apierr_clear(&err);
}

Test(httpd, a_bad_address_is_a_bad_request)
{
    const httpd_route routes[] = {{"/hello", hello, NULL}};
    httpd *other = (httpd *)1;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(httpd_start("8080", routes, 1, "metrics", &other, &err), -EINVAL);
    cr_assert_null(other);
    cr_assert_eq(err.code, 400);
    cr_assert_str_eq(err.reason, "BadRequest");
    cr_assert_str_eq(err.message,
                     "bad metrics address \"8080\": want [HOST]:PORT, or 0 to turn it off");
    apierr_clear(&err);
}

Test(httpd, address_zero_serves_nothing)
{
    const httpd_route routes[] = {{"/hello", hello, NULL}};
    httpd *other = (httpd *)1;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(httpd_start("0", routes, 1, "off", &other, &err), 1);
    cr_assert_null(other);
    cr_assert(!apierr_is_set(&err));
}
