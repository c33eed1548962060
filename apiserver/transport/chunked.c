#include "apiserver/transport/chunked.h"

#include <ctype.h>

#define MAX_SIZE_DIGITS 15

void chunked_init(chunked_decoder *d)
{
    *d = (chunked_decoder){.state = CHUNK_SIZE};
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Ends a size line: the chunk's data follows, or the trailer after the last (0-size) chunk. */
static void start_chunk(chunked_decoder *d)
{
    d->saw_cr = false;
    d->left = d->size;
    d->state = d->size ? CHUNK_DATA : CHUNK_TRAILER;
    d->size = 0;
    d->size_digits = 0;
    d->line_len = 0;
}

/*
 * One byte of the size line: "1a3[;ext]\r\n". A CR must be followed by LF, and the line needs at
 * least one digit: otherwise a line such as ";ext\r\n" would leave the decoder skipping the
 * rest of the body as an extension, and the request would never end.
 */
static void size_byte(chunked_decoder *d, char c)
{
    int v = hex_value(c);
    if (d->saw_cr) {
        if (c == '\n' && d->size_digits > 0)
            start_chunk(d);
        else
            d->state = CHUNK_ERROR;
    } else if (c == '\r') {
        d->saw_cr = true;
    } else if (c == '\n') {
        d->state = CHUNK_ERROR; /* bare LF: extensions cannot hold one either */
    } else if (d->state == CHUNK_EXT) {
        /* skipped: we give no meaning to chunk extensions */
    } else if (c == ';') {
        d->state = CHUNK_EXT;
    } else if (v >= 0 && d->size_digits < MAX_SIZE_DIGITS) {
        d->size = d->size * 16 + (size_t)v;
        d->size_digits++;
    } else {
        d->state = CHUNK_ERROR; /* not hex, or more digits than any body we would accept */
    }
}

static void trailer_byte(chunked_decoder *d, char c)
{
    if (c == '\r')
        return;
    if (c != '\n') {
        d->line_len++;
        return;
    }
    if (d->line_len == 0)
        d->state = CHUNK_DONE;
    d->line_len = 0;
}

int chunked_feed(chunked_decoder *d, const char *in, size_t n, sbuf *out)
{
    return chunked_feed_used(d, in, n, out, NULL);
}

int chunked_feed_used(chunked_decoder *d, const char *in, size_t n, sbuf *out, size_t *used)
{
    size_t i = 0;
    while (i < n && d->state != CHUNK_DONE && d->state != CHUNK_ERROR) {
        switch (d->state) {
        case CHUNK_SIZE:
        case CHUNK_EXT:
            size_byte(d, in[i++]);
            break;
        case CHUNK_DATA: {
            size_t take = n - i < d->left ? n - i : d->left;
            if (out)
                sbuf_append(out, in + i, take);
            i += take;
            d->left -= take;
            if (d->left == 0)
                d->state = CHUNK_DATA_CR;
            break;
        }
        case CHUNK_DATA_CR:
            d->state = in[i++] == '\r' ? CHUNK_DATA_LF : CHUNK_ERROR;
            break;
        case CHUNK_DATA_LF:
            d->state = in[i++] == '\n' ? CHUNK_SIZE : CHUNK_ERROR;
            break;
        case CHUNK_TRAILER:
            trailer_byte(d, in[i++]);
            break;
        default:
            break;
        }
    }
    if (used)
        *used = i;
    return d->state == CHUNK_DONE ? 1 : d->state == CHUNK_ERROR ? -1 : 0;
}
