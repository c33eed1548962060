/*
 * The incremental watch decoder (kc_watch_decoder_*): streams split anywhere decode to the same
 * events, line-ending and blank-line tolerance, malformed lines, ERROR and BOOKMARK events, a
 * 1 MB object fed in 7-byte pieces, a handler that stops or takes the object, and the line cap
 * (max_line) that bounds the buffer whatever the stream sends.
 */
#include "client/rest.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(watch_decoder, .init = setup);

/* Records "TYPE name rv\n" per event; can stop after N events or take the objects. */
typedef struct recorder {
    sbuf log;
    int events;
    int stop_after; /* 0 = never stop */
    cJSON *taken;   /* with take: the last object, owned by the recorder */
    bool take;
} recorder;

static const char *type_name(kc_event_type t)
{
    static const char *names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
    return names[t];
}

static bool record(void *ctx, kc_watch_event *ev)
{
    recorder *r = ctx;
    const char *name = json_path_string(ev->object, "metadata.name");
    const char *rv = json_path_string(ev->object, "metadata.resourceVersion");
    sbuf_printf(&r->log, "%s %s %s\n", type_name(ev->type), name ? name : "-", rv ? rv : "-");
    r->events++;
    if (r->take) {
        cJSON_Delete(r->taken);
        r->taken = ev->object;
        ev->object = NULL;
    }
    return r->stop_after == 0 || r->events < r->stop_after;
}

static void recorder_free(recorder *r)
{
    sbuf_free(&r->log);
    cJSON_Delete(r->taken);
}

static const char stream[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Foo\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"1\"},\"spec\":{\"replicas\":1}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Foo\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"2\"},\"spec\":{\"replicas\":2}}}\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Foo\",\"metadata\":{\"resourceVersion\":\"3\"}}}"
    "\n"
    "{\"type\":\"DELETED\",\"object\":{\"kind\":\"Foo\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"4\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
    "\"Failure\",\"message\":\"too old resource version: 1 (5)\",\"reason\":\"Expired\","
    "\"code\":410}}\n";

static const char expected[] = "ADDED a 1\n"
                               "MODIFIED a 2\n"
                               "BOOKMARK - 3\n"
                               "DELETED a 4\n"
                               "ERROR - -\n";

/* Feeds text in pieces of `piece` bytes; returns the first non-zero answer or 0. */
static int feed_pieces(kc_watch_decoder *d, const char *text, size_t len, size_t piece)
{
    for (size_t off = 0; off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        int rc = kc_watch_decoder_feed(d, text + off, n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Decodes text fed whole; returns the feed's answer and fills r. */
static int decode_all(const char *text, recorder *r)
{
    kc_watch_decoder d;
    kc_watch_decoder_init(&d, record, r);
    int rc = kc_watch_decoder_feed(&d, text, strlen(text));
    kc_watch_decoder_free(&d);
    return rc;
}

Test(watch_decoder, whole_stream_yields_every_event_in_order)
{
    recorder r = {0};
    cr_assert_eq(decode_all(stream, &r), 0);
    cr_assert_str_eq(r.log.data, expected);
    recorder_free(&r);
}

Test(watch_decoder, split_at_every_byte_boundary_yields_the_same_events)
{
    size_t len = strlen(stream);
    for (size_t cut = 0; cut <= len; cut++) {
        recorder r = {0};
        kc_watch_decoder d;
        kc_watch_decoder_init(&d, record, &r);
        cr_assert_eq(kc_watch_decoder_feed(&d, stream, cut), 0);
        cr_assert_eq(kc_watch_decoder_feed(&d, stream + cut, len - cut), 0);
        cr_assert_str_eq(r.log.data, expected, "split at byte %zu", cut);
        kc_watch_decoder_free(&d);
        recorder_free(&r);
    }
}

Test(watch_decoder, one_byte_at_a_time_yields_the_same_events)
{
    recorder r = {0};
    kc_watch_decoder d;
    kc_watch_decoder_init(&d, record, &r);
    cr_assert_eq(feed_pieces(&d, stream, strlen(stream), 1), 0);
    cr_assert_str_eq(r.log.data, expected);
    kc_watch_decoder_free(&d);
    recorder_free(&r);
}

Test(watch_decoder, partial_line_waits_for_its_newline)
{
    const char *line = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}}}";
    recorder r = {0};
    kc_watch_decoder d;
    kc_watch_decoder_init(&d, record, &r);
    cr_assert_eq(kc_watch_decoder_feed(&d, line, strlen(line)), 0);
    cr_assert_eq(r.events, 0);
    cr_assert_eq(kc_watch_decoder_feed(&d, "\n", 1), 0);
    cr_assert_eq(r.events, 1);
    cr_assert_str_eq(r.log.data, "ADDED x -\n");
    kc_watch_decoder_free(&d);
    recorder_free(&r);
}

Test(watch_decoder, crlf_line_endings_are_tolerated)
{
    const char *text = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\r\n"
                       "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\r\n";
    recorder r = {0};
    cr_assert_eq(decode_all(text, &r), 0);
    cr_assert_str_eq(r.log.data, "ADDED a -\nDELETED a -\n");
    recorder_free(&r);
}

Test(watch_decoder, blank_lines_are_ignored)
{
    const char *text = "\n\r\n   \n"
                       "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
                       "\t\n\n";
    recorder r = {0};
    cr_assert_eq(decode_all(text, &r), 0);
    cr_assert_str_eq(r.log.data, "ADDED a -\n");
    recorder_free(&r);
}

Test(watch_decoder, garbage_line_is_a_protocol_error)
{
    const char *text = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
                       "<html>502 Bad Gateway</html>\n"
                       "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"b\"}}}\n";
    recorder r = {0};
    cr_assert_eq(decode_all(text, &r), -EPROTO);
    cr_assert_str_eq(r.log.data, "ADDED a -\n", "nothing after the bad line is delivered");
    recorder_free(&r);
}

Test(watch_decoder, truncated_json_line_is_a_protocol_error)
{
    recorder r = {0};
    cr_assert_eq(decode_all("{\"type\":\"ADDED\",\"object\":{\"metadata\":\n", &r), -EPROTO);
    cr_assert_eq(r.events, 0);
    recorder_free(&r);
}

Test(watch_decoder, unknown_event_type_is_a_protocol_error)
{
    recorder r = {0};
    cr_assert_eq(decode_all("{\"type\":\"UPSERTED\",\"object\":{}}\n", &r), -EPROTO);
    cr_assert_eq(decode_all("{\"type\":7,\"object\":{}}\n", &r), -EPROTO);
    cr_assert_eq(decode_all("{\"object\":{}}\n", &r), -EPROTO);
    cr_assert_eq(r.events, 0);
    recorder_free(&r);
}

Test(watch_decoder, object_must_be_a_json_object)
{
    recorder r = {0};
    cr_assert_eq(decode_all("{\"type\":\"ADDED\"}\n", &r), -EPROTO);
    cr_assert_eq(decode_all("{\"type\":\"ADDED\",\"object\":null}\n", &r), -EPROTO);
    cr_assert_eq(decode_all("{\"type\":\"ADDED\",\"object\":[1]}\n", &r), -EPROTO);
    cr_assert_eq(decode_all("{\"type\":\"ADDED\",\"object\":\"x\"}\n", &r), -EPROTO);
    cr_assert_eq(r.events, 0);
    recorder_free(&r);
}

Test(watch_decoder, event_must_be_one_json_object_per_line)
{
    recorder r = {0};
    cr_assert_eq(decode_all("[{\"type\":\"ADDED\",\"object\":{}}]\n", &r), -EPROTO);
    cr_assert_eq(decode_all("{\"type\":\"ADDED\",\"object\":{}} trailing\n", &r), -EPROTO);
    cr_assert_eq(
        decode_all("{\"type\":\"ADDED\",\"object\":{}}{\"type\":\"ADDED\",\"object\":{}}\n", &r),
        -EPROTO);
    cr_assert_eq(r.events, 0);
    /* Blanks after the object are fine. */
    cr_assert_eq(decode_all("{\"type\":\"ADDED\",\"object\":{}}  \t\n", &r), 0);
    cr_assert_eq(r.events, 1);
    recorder_free(&r);
}

Test(watch_decoder, error_event_carries_the_410_status)
{
    const char *text = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                       "\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource "
                       "version: 1 (5)\",\"reason\":\"Expired\",\"code\":410}}\n";
    recorder r = {.take = true};
    cr_assert_eq(decode_all(text, &r), 0);
    cr_assert_eq(r.events, 1);
    cr_assert_str_eq(r.log.data, "ERROR - -\n");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(r.taken, "kind")), "Status");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(r.taken, "reason")), "Expired");
    cr_assert_eq(cJSON_GetObjectItem(r.taken, "code")->valueint, 410);
    recorder_free(&r);
}

Test(watch_decoder, bookmark_carries_only_the_resource_version)
{
    const char *text = "{\"type\":\"BOOKMARK\",\"object\":{\"apiVersion\":\"demo.example.com/"
                       "v1beta1\",\"kind\":\"Foo\",\"metadata\":{\"resourceVersion\":\"42\","
                       "\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}}}}\n";
    recorder r = {0};
    cr_assert_eq(decode_all(text, &r), 0);
    cr_assert_str_eq(r.log.data, "BOOKMARK - 42\n");
    recorder_free(&r);
}

Test(watch_decoder, huge_object_fed_in_7_byte_pieces_decodes_once)
{
    const size_t big = 1024 * 1024;
    sbuf text = SBUF_INIT;
    sbuf_puts(&text, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"big\"},\"data\":\"");
    sbuf_reserve(&text, big);
    for (size_t i = 0; i < big; i++)
        sbuf_putc(&text, (char)('a' + i % 26));
    sbuf_puts(&text, "\"}}\n{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"big\"}}}\n");

    recorder r = {.take = true};
    kc_watch_decoder d;
    kc_watch_decoder_init(&d, record, &r);
    cr_assert_eq(feed_pieces(&d, text.data, text.len, 7), 0);
    cr_assert_str_eq(r.log.data, "ADDED big -\nDELETED big -\n");
    kc_watch_decoder_free(&d);
    recorder_free(&r);

    /* The big object arrives intact (checked on a fresh decode that keeps the ADDED one). */
    recorder first = {.take = true, .stop_after = 1};
    kc_watch_decoder_init(&d, record, &first);
    cr_assert_eq(feed_pieces(&d, text.data, text.len, 7), 1);
    const char *data = cJSON_GetStringValue(cJSON_GetObjectItem(first.taken, "data"));
    cr_assert_not_null(data);
    cr_assert_eq(strlen(data), big);
    cr_assert_eq(data[big - 1], (char)('a' + (big - 1) % 26));
    kc_watch_decoder_free(&d);
    recorder_free(&first);
    sbuf_free(&text);
}

Test(watch_decoder, handler_asking_to_stop_ends_decoding)
{
    recorder r = {.stop_after = 2};
    cr_assert_eq(decode_all(stream, &r), 1);
    cr_assert_eq(r.events, 2);
    cr_assert_str_eq(r.log.data, "ADDED a 1\nMODIFIED a 2\n");
    recorder_free(&r);
}

Test(watch_decoder, handler_may_take_the_object)
{
    recorder r = {.take = true};
    cr_assert_eq(decode_all(stream, &r), 0);
    cr_assert_eq(r.events, 5);
    /* The last object taken is the ERROR event's Status, still alive after the decode. */
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(r.taken, "reason")), "Expired");
    recorder_free(&r);
}

Test(watch_decoder, decoder_is_reusable_after_free)
{
    recorder r = {0};
    kc_watch_decoder d;
    kc_watch_decoder_init(&d, record, &r);
    cr_assert_eq(kc_watch_decoder_feed(&d, stream, 10), 0);
    kc_watch_decoder_free(&d);
    cr_assert_null(d.buf);
    cr_assert_eq(d.len, 0);
    kc_watch_decoder_init(&d, record, &r);
    cr_assert_eq(kc_watch_decoder_feed(&d, stream, strlen(stream)), 0);
    cr_assert_str_eq(r.log.data, expected);
    kc_watch_decoder_free(&d);
    recorder_free(&r);
}

/* ---- the line cap (issue 6 item 7: bounded buffers) ---- */

/* One ADDED line whose object carries `pad` bytes of data, newline included. */
static char *line_with_padding(size_t pad)
{
    sbuf sb = SBUF_INIT;
    sbuf_puts(&sb, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"p\"},\"d\":\"");
    for (size_t i = 0; i < pad; i++)
        sbuf_putc(&sb, 'x');
    sbuf_puts(&sb, "\"}}\n");
    return sbuf_detach(&sb, NULL);
}

Test(watch_decoder, default_line_cap_is_16_mebibytes)
{
    kc_watch_decoder d;
    kc_watch_decoder_init(&d, record, NULL);
    cr_assert_eq(d.max_line, (size_t)16 * 1024 * 1024);
    kc_watch_decoder_free(&d);
}

Test(watch_decoder, line_of_exactly_max_line_bytes_decodes)
{
    char *line = line_with_padding(100);
    recorder r = {0};
    kc_watch_decoder d;
    kc_watch_decoder_init(&d, record, &r);
    d.max_line = strlen(line) - 1; /* the newline is not counted */
    cr_assert_eq(feed_pieces(&d, line, strlen(line), 7), 0);
    cr_assert_str_eq(r.log.data, "ADDED p -\n");
    kc_watch_decoder_free(&d);
    recorder_free(&r);
    free(line);
}

Test(watch_decoder, complete_line_over_max_line_is_emsgsize)
{
    char *line = line_with_padding(100);
    sbuf text = SBUF_INIT;
    sbuf_puts(&text, stream); /* five good events first */
    sbuf_puts(&text, line);
    recorder r = {0};
    kc_watch_decoder d;
    kc_watch_decoder_init(&d, record, &r);
    d.max_line = strlen(line) - 2;
    cr_assert_eq(kc_watch_decoder_feed(&d, text.data, text.len), -EMSGSIZE);
    cr_assert_str_eq(r.log.data, expected, "the events before it are delivered");
    cr_assert_eq(d.len, 0, "nothing of the long line is kept");
    kc_watch_decoder_free(&d);
    recorder_free(&r);
    sbuf_free(&text);
    free(line);
}

Test(watch_decoder, endless_line_without_newline_stops_at_max_line_bytes_buffered)
{
    const size_t max = 64 * 1024;
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    recorder r = {0};
    kc_watch_decoder d;
    kc_watch_decoder_init(&d, record, &r);
    d.max_line = max;
    int rc = 0;
    size_t fed = 0;
    while (rc == 0 && fed < 10 * max) { /* a server streaming bytes and never a newline */
        rc = kc_watch_decoder_feed(&d, chunk, sizeof chunk);
        fed += sizeof chunk;
        cr_assert_leq(d.cap, max, "the buffer never grows past the cap (cap %zu)", d.cap);
    }
    cr_assert_eq(rc, -EMSGSIZE);
    cr_assert_leq(fed, max + sizeof chunk, "refused as soon as the line passed the cap");
    cr_assert_eq(r.events, 0);
    kc_watch_decoder_free(&d);
    recorder_free(&r);
}
