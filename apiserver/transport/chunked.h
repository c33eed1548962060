/*
 * chunked.h - incremental decoder of HTTP/1.1 chunked request bodies (private to apiserver/).
 *
 * libwebsockets 4.1.6 hands a chunked request body to the application still framed and never
 * signals its end (docs/platform.md §4), and Go clients such as `kubectl create --raw -f`
 * send bodies of unknown length that way. This decoder strips the framing as bytes arrive and
 * says when the terminating chunk has been seen. Not thread-safe (one per request).
 */
#ifndef FOO_APISERVER_CHUNKED_H
#define FOO_APISERVER_CHUNKED_H

#include "common/sbuf.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum chunked_state {
    CHUNK_SIZE,    /* reading the hex size line */
    CHUNK_EXT,     /* skipping a chunk extension up to CRLF */
    CHUNK_DATA,    /* copying `left` bytes of data */
    CHUNK_DATA_CR, /* expecting CR after the data */
    CHUNK_DATA_LF, /* expecting LF after the data */
    CHUNK_TRAILER, /* reading trailer lines until an empty line */
    CHUNK_DONE,
    CHUNK_ERROR,
} chunked_state;

typedef struct chunked_decoder {
    chunked_state state;
    size_t size; /* size being parsed */
    size_t left; /* data bytes left in the current chunk */
    int size_digits;
    int line_len; /* bytes on the current trailer line */
    bool saw_cr;
} chunked_decoder;

void chunked_init(chunked_decoder *d);

/*
 * Decodes n bytes, appending the data to out (out NULL: the data is dropped, only the framing is
 * followed, to find the end of a body that is refused). Returns 1 when the body is complete
 * (bytes after the end are ignored), 0 when more is needed, -1 on malformed framing.
 */
int chunked_feed(chunked_decoder *d, const char *in, size_t n, sbuf *out);

/* chunked_feed, and *used = how many bytes of in it read: on 1, where the body ended (what
   follows is the next request's), on -1, up to and including the bad byte. */
int chunked_feed_used(chunked_decoder *d, const char *in, size_t n, sbuf *out, size_t *used);

#endif
