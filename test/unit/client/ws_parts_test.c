/*
 * The pure parts of the WebSocket watch transport (client/ws_internal.h): the server URL split
 * into what libwebsockets takes (scheme, bracketed IPv6 hosts, default ports, a path prefix,
 * tls-server-name, refused URLs), and the queue of received pieces (order, message ends, the
 * byte count that drives flow control).
 */
#include "client/ws_internal.h"
#include "common/alloc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

TestSuite(ws_target);

static kc_ws_target parse_ok(const char *server, const char *sni, const char *path)
{
    kc_ws_target t;
    api_error err = API_ERROR_INIT;
    int rc = kc_ws_target_parse(server, sni, path, &t, &err);
    cr_assert_eq(rc, 0, "%s: %s", server, err.message ? err.message : "");
    return t;
}

Test(ws_target, https_with_port_and_query)
{
    kc_ws_target t =
        parse_ok("https://127.0.0.1:9443", NULL, "/apis/demo.example.com/v1beta1/foos?watch=true");
    cr_assert(t.tls);
    cr_assert_str_eq(t.address, "127.0.0.1");
    cr_assert_eq(t.port, 9443);
    cr_assert_str_eq(t.server_name, "127.0.0.1");
    cr_assert_str_eq(t.path, "/apis/demo.example.com/v1beta1/foos?watch=true");
    kc_ws_target_free(&t);
}

Test(ws_target, default_ports)
{
    kc_ws_target t = parse_ok("https://example.com", NULL, "/x");
    cr_assert_eq(t.port, 443);
    kc_ws_target_free(&t);
    t = parse_ok("http://example.com", NULL, "/x");
    cr_assert_not(t.tls);
    cr_assert_eq(t.port, 80);
    kc_ws_target_free(&t);
}

Test(ws_target, ipv6_host_loses_its_brackets)
{
    kc_ws_target t = parse_ok("https://[::1]:6443", NULL, "/api");
    cr_assert_str_eq(t.address, "::1");
    cr_assert_str_eq(t.server_name, "::1");
    cr_assert_eq(t.port, 6443);
    kc_ws_target_free(&t);
}

Test(ws_target, path_prefix_is_kept_without_its_trailing_slash)
{
    kc_ws_target t = parse_ok("https://lb.example.com:8443/k8s/clusters/c-1/", NULL,
                              "/apis/demo.example.com/v1beta1/foos?watch=true");
    cr_assert_str_eq(t.path, "/k8s/clusters/c-1/apis/demo.example.com/v1beta1/foos?watch=true");
    kc_ws_target_free(&t);
}

Test(ws_target, tls_server_name_is_what_is_verified)
{
    kc_ws_target t = parse_ok("https://10.0.0.1:6443", "kubernetes.default.svc", "/api");
    cr_assert_str_eq(t.address, "10.0.0.1");
    cr_assert_str_eq(t.server_name, "kubernetes.default.svc");
    kc_ws_target_free(&t);
    t = parse_ok("https://10.0.0.1:6443", "", "/api");
    cr_assert_str_eq(t.server_name, "10.0.0.1", "an empty name is no name");
    kc_ws_target_free(&t);
}

Test(ws_target, unusable_urls_are_bad_requests)
{
    const char *bad[] = {"ftp://example.com", "https://", "not a url at all", "https://:443"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        kc_ws_target t;
        api_error err = API_ERROR_INIT;
        cr_assert_eq(kc_ws_target_parse(bad[i], NULL, "/api", &t, &err), -EINVAL, "%s", bad[i]);
        cr_assert_eq(err.code, 400);
        cr_assert_null(t.address, "nothing is left allocated");
        apierr_clear(&err);
    }
    kc_ws_target t;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_ws_target_parse("https://h", NULL, "relative", &t, &err), -EINVAL);
    apierr_clear(&err);
}

TestSuite(ws_queue);

Test(ws_queue, keeps_order_message_ends_and_the_byte_count)
{
    kc_ws_queue q = {0};
    cr_assert_null(kc_ws_queue_take_all(&q));
    kc_ws_queue_push(&q, "{\"type\":", 8, false);
    kc_ws_queue_push(&q, "\"ADDED\"}", 8, true);
    kc_ws_queue_push(&q, "", 0, true); /* an empty final frame still ends a message */
    cr_assert_eq(q.bytes, 16);
    kc_ws_chunk *c = kc_ws_queue_take_all(&q);
    cr_assert_eq(q.bytes, 0);
    cr_assert_null(q.head);
    cr_assert_eq(c->len, 8);
    cr_assert_not(c->last);
    cr_assert_eq(memcmp(c->data, "{\"type\":", 8), 0);
    kc_ws_chunk *d = c->next;
    cr_assert(d->last);
    cr_assert_eq(memcmp(d->data, "\"ADDED\"}", 8), 0);
    kc_ws_chunk *e = d->next;
    cr_assert_eq(e->len, 0);
    cr_assert(e->last);
    cr_assert_null(e->next);
    free(c);
    free(d);
    free(e);
}

Test(ws_queue, clear_frees_everything_and_the_queue_is_reusable)
{
    kc_ws_queue q = {0};
    for (int i = 0; i < 100; i++)
        kc_ws_queue_push(&q, "abcdef", 6, i % 3 == 0);
    cr_assert_eq(q.bytes, 600);
    kc_ws_queue_clear(&q);
    cr_assert_eq(q.bytes, 0);
    kc_ws_queue_push(&q, "x", 1, true);
    cr_assert_eq(q.bytes, 1);
    kc_ws_queue_clear(&q);
}
