/*
 * test_http_headers.c - what a response header line may hold (apiserver/http.c): as_add_header
 * writes control bytes as spaces and refuses a name that is not a token; as_add_warning follows
 * kube-apiserver's warning recorder (quoted-string escapes, U+FFFD for control characters and
 * bytes that are not UTF-8, deduplication, 4096 characters in all, then 256 each).
 */
#include "apiserver/transport/http.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* The response headers of req as one NUL-terminated string (caller frees). */
static char *rendered(as_req *req)
{
    sbuf out = SBUF_INIT;
    if (req->headers.len)
        sbuf_append(&out, req->headers.data, req->headers.len);
    as_render_warnings(req, &out);
    sbuf_putc(&out, '\0');
    return sbuf_detach(&out, NULL);
}

static void req_clear(as_req *req)
{
    sbuf_free(&req->headers);
    as_clear_warnings(req);
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

Test(http_headers, control_bytes_of_a_value_become_spaces)
{
    as_req req = {0};
    as_add_header(&req, "X-Test", "a\r\nSet-Cookie: x=1\x01\x7f\tb");
    char *h = rendered(&req);
    cr_assert_str_eq(h, "X-Test: a  Set-Cookie: x=1  \tb\r\n");
    free(h);
    req_clear(&req);
}

Test(http_headers, a_name_that_is_not_a_token_adds_nothing)
{
    as_req req = {0};
    as_add_header(&req, "X-Bad\r\nSet-Cookie", "1");
    as_add_header(&req, "X Bad", "1");
    as_add_header(&req, "", "1");
    as_add_header(&req, "X-Good_1.2~", "ok");
    char *h = rendered(&req);
    cr_assert_str_eq(h, "X-Good_1.2~: ok\r\n");
    free(h);
    req_clear(&req);
}

Test(http_headers, warning_is_a_299_with_a_quoted_escaped_text)
{
    as_req req = {0};
    as_add_warning(&req, "unknown field \"spec.a\\b\"");
    char *h = rendered(&req);
    cr_assert_str_eq(h, "Warning: 299 - \"unknown field \\\"spec.a\\\\b\\\"\"\r\n");
    free(h);
    req_clear(&req);
}

Test(http_headers, warning_control_characters_and_bad_utf8_become_replacement_characters)
{
    as_req req = {0};
    as_add_warning(&req, "a\r\nSet-Cookie: x\xc2\x85\xff\xc0\xafz\xc3\xa9");
    char *h = rendered(&req);
    cr_assert_str_eq(h, "Warning: 299 - \"a\xef\xbf\xbd\xef\xbf\xbdSet-Cookie: "
                        "x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz\xc3\xa9\"\r\n");
    cr_assert_eq(count(h, "\r\n"), 1);
    free(h);
    req_clear(&req);
}

Test(http_headers, identical_and_empty_warnings_are_not_repeated)
{
    as_req req = {0};
    as_add_warning(&req, "one");
    as_add_warning(&req, "");
    as_add_warning(&req, "two");
    as_add_warning(&req, "one");
    char *h = rendered(&req);
    cr_assert_str_eq(h, "Warning: 299 - \"one\"\r\nWarning: 299 - \"two\"\r\n");
    free(h);
    req_clear(&req);
}

/* A warning text of n characters: "w<i>:" (i in two digits) then x's. */
static char *text_of(int i, size_t n)
{
    char *t = malloc(n + 1);
    memset(t, 'x', n);
    t[n] = '\0';
    char id[16];
    int k = snprintf(id, sizeof id, "w%02d:", i);
    memcpy(t, id, (size_t)k);
    return t;
}

Test(http_headers, warnings_within_4096_characters_are_kept_whole)
{
    as_req req = {0};
    for (int i = 0; i < 8; i++) {
        char *t = text_of(i, 512);
        as_add_warning(&req, t);
        free(t);
    }
    char *h = rendered(&req);
    cr_assert_eq(count(h, "Warning: "), 8);
    cr_assert_eq(count(h, "x"), 8 * (512 - 4));
    free(h);
    req_clear(&req);
}

Test(http_headers, past_4096_characters_every_warning_is_cut_to_256_and_later_ones_dropped)
{
    as_req req = {0};
    /* 9 x 512 passes 4096 at the ninth: all nine are cut to 256 (2304 in all); then more come,
       cut to 256 each, until 4096 is reached (7 more: 4096); the rest are dropped. */
    for (int i = 0; i < 30; i++) {
        char *t = text_of(i, 512);
        as_add_warning(&req, t);
        free(t);
    }
    char *h = rendered(&req);
    cr_assert_eq(count(h, "Warning: "), 16, "%d", count(h, "Warning: "));
    cr_assert_eq(count(h, "x"), 16 * (256 - 4));
    cr_assert(strstr(h, "\"w15:"));
    cr_assert_null(strstr(h, "\"w16:"));
    free(h);
    req_clear(&req);
}

Test(http_headers, cutting_respects_character_boundaries)
{
    as_req req = {0};
    sbuf t = SBUF_INIT;
    for (int i = 0; i < 5000; i++)
        sbuf_append(&t, "\xc3\xa9", 2); /* é: 5000 characters, 10000 bytes */
    sbuf_putc(&t, '\0');
    as_add_warning(&req, t.data);
    char *h = rendered(&req);
    /* One warning over budget: cut to 256 characters, never inside one. */
    cr_assert_eq(strlen(h), strlen("Warning: 299 - \"\"\r\n") + 256 * 2);
    free(h);
    sbuf_free(&t);
    req_clear(&req);
}
