/*
 * ws_queue.c - the bytes a WebSocket watch received, handed from the event loop's thread to the
 * watching thread (ws_internal.h). Pieces are kept as they came off the socket, with the end of
 * each message marked, so the watching thread decodes them without a second copy into a
 * message buffer; the byte count lets the loop stop reading a socket whose watch lags behind.
 */
#include "client/ws_internal.h"
#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

void kc_ws_queue_push(kc_ws_queue *q, const void *data, size_t n, bool last)
{
    kc_ws_chunk *c = xmalloc(sizeof *c + n);
    c->next = NULL;
    c->len = n;
    c->last = last;
    if (n > 0)
        memcpy(c->data, data, n);
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    q->bytes += n;
}

kc_ws_chunk *kc_ws_queue_take_all(kc_ws_queue *q)
{
    kc_ws_chunk *all = q->head;
    q->head = q->tail = NULL;
    q->bytes = 0;
    return all;
}

void kc_ws_queue_clear(kc_ws_queue *q)
{
    kc_ws_chunk *c = kc_ws_queue_take_all(q);
    while (c) {
        kc_ws_chunk *next = c->next;
        free(c);
        c = next;
    }
}
