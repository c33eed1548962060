/*
 * fuzz_watch_decoder.c - the client's watch stream decoder (client/rest.h,
 * kc_watch_decoder_feed): the body of a watch answer, as any server (or anything between) sends
 * it.
 *
 * The input is the stream. It is decoded twice: in one piece, and in pieces whose sizes come
 * from the input (so lines are split everywhere, including inside "\r\n"). How bytes are split
 * must not change what is decoded: both runs must hand the same events, in order, and end with
 * the same return code. The handler stops the watch after 64 events, exercising the "stop"
 * return as well.
 */
#include "client/rest.h"
#include "common/json.h"
#include "fuzz/fuzz.h"

#include <errno.h>

#define MAX_EVENTS 64

/* What one run decoded: the events printed as "TYPE object" lines. */
typedef struct seen {
    char *text[MAX_EVENTS];
    kc_event_type type[MAX_EVENTS];
    int n;
} seen;

static bool on_event(void *ctx, kc_watch_event *ev)
{
    seen *s = ctx;
    FUZZ_CHECK(s->n < MAX_EVENTS);
    FUZZ_CHECK(ev->type >= KC_ADDED && ev->type <= KC_ERROR);
    FUZZ_CHECK(cJSON_IsObject(ev->object));
    s->type[s->n] = ev->type;
    s->text[s->n] = json_print(ev->object);
    s->n++;
    if (s->n % 2 == 0) {
        /* The handler may take the object; the decoder must then not free it. */
        cJSON_Delete(ev->object);
        ev->object = NULL;
    }
    return s->n < MAX_EVENTS;
}

static void seen_free(seen *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->text[i]);
}

/* Feeds in pieces of 1..32 bytes chosen by the bytes themselves; returns the first non-zero
 * return code, or 0. */
static int feed_split(kc_watch_decoder *d, const uint8_t *data, size_t size)
{
    for (size_t i = 0, n; i < size; i += n) {
        n = fuzz_piece(data, size, i, 32);
        int rc = kc_watch_decoder_feed(d, (const char *)data + i, n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seen a = {0}, b = {0};
    kc_watch_decoder whole, split;
    kc_watch_decoder_init(&whole, on_event, &a);
    kc_watch_decoder_init(&split, on_event, &b);
    int rc_whole = kc_watch_decoder_feed(&whole, (const char *)data, size);
    int rc_split = feed_split(&split, data, size);

    FUZZ_CHECK(rc_whole == 0 || rc_whole == 1 || rc_whole == -EPROTO);
    FUZZ_CHECK(rc_whole == rc_split);
    FUZZ_CHECK(a.n == b.n);
    for (int i = 0; i < a.n; i++) {
        FUZZ_CHECK(a.type[i] == b.type[i]);
        FUZZ_CHECK(strcmp(a.text[i], b.text[i]) == 0);
    }

    kc_watch_decoder_free(&whole);
    kc_watch_decoder_free(&split);
    seen_free(&a);
    seen_free(&b);
    return 0;
}
