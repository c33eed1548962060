/*
 * watch.h - one watch stream (private to apiserver/): which events a watcher wants, where it is
 * in the event history, and what it sends next. The HTTP layer frames and writes the bytes; this
 * file decides them. Service thread only.
 */
#ifndef FOO_APISERVER_WATCH_H
#define FOO_APISERVER_WATCH_H

#include "apiserver/transport/http.h"
#include "apiserver/transport/negotiate.h"
#include "apiserver/resource/table.h"
#include "apiserver/resource/registry.h"
#include "common/sbuf.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct as_watch as_watch;

/*
 * Validates the watch parameters of req for resource r in namespace ns (NULL = all) and, on
 * success, hands req a new as_watch as its stream (as_req_stream: the transport writes it), whose
 * events carry objects in the negotiated representation. On bad parameters responds with the error.
 */
void as_watch_begin(as_req *req, const as_resource *r, const char *ns, as_negotiated media,
                    as_include_object include);

/*
 * Appends the next events (one JSON line each) to out, up to about max_bytes. Sets *done when the
 * stream must end after these bytes (timeout, 410, shutdown), and *more when it stopped at
 * max_bytes with events possibly left (call again once these bytes are written).
 */
void as_watch_fill(as_watch *w, sbuf *out, size_t max_bytes, bool *done, bool *more);

/* Microseconds until the stream needs a timer turn (timeout or bookmark), or -1 for none. */
int64_t as_watch_next_timer_us(as_watch *w);

/* Makes the stream end at its next turn (server shutdown). */
void as_watch_finish(as_watch *w);

void as_watch_free(as_watch *w);

#endif
