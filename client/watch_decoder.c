/*
 * watch_decoder.c - the incremental watch stream decoder (rest.h).
 *
 * A watch body is a sequence of JSON objects, one per line: {"type":"ADDED","object":{...}}.
 * Chunks arrive split anywhere. The official C client re-split and re-parsed the whole
 * accumulated buffer on every chunk (quadratic on slow streams); here the invariant is that
 * d->buf only ever holds an unterminated tail, so each new chunk is scanned for '\n' once and
 * each complete line is parsed once with a length-bounded parse.
 *
 * The tail is bounded: a line longer than max_line (complete or still arriving) fails with
 * -EMSGSIZE before it is buffered, so a server streaming bytes without a newline cannot make us
 * grow without end.
 */
#include "client/rest_internal.h"
#include "common/json.h"
#include "common/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The smallest tail allocation; the buffer then doubles as needed, up to max_line. */
#define KC_DECODER_MIN_CAP 4096

static const struct {
    const char *name;
    kc_event_type type;
} kc_event_names[] = {
    {"ADDED", KC_ADDED},       {"MODIFIED", KC_MODIFIED}, {"DELETED", KC_DELETED},
    {"BOOKMARK", KC_BOOKMARK}, {"ERROR", KC_ERROR},
};

void kc_watch_decoder_init(kc_watch_decoder *d, kc_watch_fn fn, void *ctx)
{
    memset(d, 0, sizeof *d);
    d->max_line = KC_DEFAULT_MAX_WATCH_LINE_BYTES;
    d->fn = fn;
    d->ctx = ctx;
}

void kc_watch_decoder_free(kc_watch_decoder *d)
{
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = 0;
}

static bool kc_is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static bool kc_all_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!kc_is_blank(s[i]))
            return false;
    return true;
}

static bool kc_event_type_from(const cJSON *item, kc_event_type *out)
{
    const char *s = cJSON_GetStringValue(item);
    if (!s)
        return false;
    for (size_t i = 0; i < sizeof kc_event_names / sizeof kc_event_names[0]; i++)
        if (strcmp(s, kc_event_names[i].name) == 0) {
            *out = kc_event_names[i].type;
            return true;
        }
    return false;
}

/*
 * Decodes one line (without its '\n') and hands the event to fn. Returns 0, 1 (fn said stop)
 * or -EPROTO.
 */
static int kc_decode_line(kc_watch_decoder *d, const char *line, size_t n)
{
    if (n > 0 && line[n - 1] == '\r')
        n--;
    if (kc_all_blank(line, n))
        return 0;
    /* The server's JSON is read as Go clients read it (repeated keys: the last wins). */
    cJSON *root = json_parse_body(line, n, NULL, NULL);
    if (!root)
        return -EPROTO;
    kc_event_type type;
    cJSON *object = cJSON_GetObjectItemCaseSensitive(root, "object");
    if (!cJSON_IsObject(root) ||
        !kc_event_type_from(cJSON_GetObjectItemCaseSensitive(root, "type"), &type) ||
        !cJSON_IsObject(object)) {
        cJSON_Delete(root);
        return -EPROTO;
    }
    kc_watch_event ev = {.type = type, .object = cJSON_DetachItemViaPointer(root, object)};
    cJSON_Delete(root);
    bool go_on = d->fn(d->ctx, &ev);
    cJSON_Delete(ev.object); /* NULL when the handler took it */
    return go_on ? 0 : 1;
}

/* Callers have checked d->len + n <= d->max_line. */
static void kc_tail_append(kc_watch_decoder *d, const char *data, size_t n)
{
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap : KC_DECODER_MIN_CAP;
        while (cap < d->len + n)
            cap *= 2;
        if (cap > d->max_line)
            cap = d->len + n; /* never reserve past the cap */
        d->buf = xrealloc(d->buf, cap);
        d->cap = cap;
    }
    memcpy(d->buf + d->len, data, n);
    d->len += n;
}

int kc_watch_decoder_feed(kc_watch_decoder *d, const char *data, size_t n)
{
    const char *p = data, *stop = data + n;
    while (p < stop) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        size_t n_line = (size_t)((nl ? nl : stop) - p);
        if (n_line > d->max_line || d->len > d->max_line - n_line) {
            d->len = 0; /* the stream is abandoned; keep nothing of the line */
            return -EMSGSIZE;
        }
        if (!nl) {
            kc_tail_append(d, p, n_line);
            return 0;
        }
        int rc;
        if (d->len == 0) {
            /* The common case: the whole line is inside this chunk, parse it in place. */
            rc = kc_decode_line(d, p, (size_t)(nl - p));
        } else {
            kc_tail_append(d, p, (size_t)(nl - p));
            rc = kc_decode_line(d, d->buf, d->len);
            d->len = 0;
        }
        if (rc != 0)
            return rc;
        p = nl + 1;
    }
    return 0;
}
