/*
 * wswatch.h - watch streams over WebSocket, on the libwebsockets client: the second watch
 * transport beside kc_watch's chunked HTTP stream (client/rest.h), docs/design.md §4.13.
 *
 * A kc_wswatch belongs to one REST client (kc_client) and owns one libwebsockets context and
 * one service thread, which carry every WebSocket watch made through it: a controller makes one
 * kc_wswatch and passes it to its informers, so all of its watches share one event loop instead
 * of holding one blocked transfer each. The watching threads only wait for what the loop hands
 * them (bounded by flow control); the events are decoded and delivered on the calling thread.
 *
 * The client supplies everything else, so both transports behave the same: the server URL and
 * tls-server-name, the CA, the client certificate and key (from memory: each TLS identity gets
 * its own OpenSSL context, TLS 1.2 at least, no renegotiation), bearer tokens and exec plugins
 * through the same credential source (sent as the Authorization header of the handshake and
 * refreshed once after a 401), the rate limiter, the Retry-After rule, the user agent, the
 * connect timeout, max_watch_event_bytes, the clock of the idle deadline, the counters and the
 * on_response observer (a watch counts as one exchange, code 101 once upgraded). LIST and every
 * other call stay on libcurl (kc_request).
 *
 * The server sends one JSON watch event per text message (kube-apiserver's format, no
 * subprotocol asked for) and ends the stream with a close frame.
 *
 * Limits: HTTP/1.1 only (lws's h2 client cannot carry WebSockets); a configured proxy-url is not
 * supported (-EINVAL); a host name is resolved on the loop thread (lws as Debian builds it has no
 * asynchronous DNS), so a slow resolver delays the other watches meanwhile. A refused upgrade's
 * body cannot be read through lws 4.1, so its error is built from the status (the code and reason
 * kube would send: 403 Forbidden, 410 Expired, ...) and its Retry-After header.
 */
#ifndef FOO_CLIENT_WSWATCH_H
#define FOO_CLIENT_WSWATCH_H

#include "client/rest.h"
#include "common/apierr.h"

#include <stdatomic.h>

typedef struct kc_wswatch kc_wswatch;

/*
 * A WebSocket watch transport over client c (borrowed: it must outlive the result). Starts the
 * loop's thread. Returns NULL and fills *err (err may be NULL) when the client's server URL is
 * unusable (400 BadRequest) or libwebsockets or the thread cannot start (500 InternalError).
 * Thread-safe.
 */
kc_wswatch *kc_wswatch_new(kc_client *c, api_error *err);
/* Stops the loop and frees everything. No watch may be in flight. NULL is a no-op. */
void kc_wswatch_free(kc_wswatch *w);
/* The REST client it was made for. */
kc_client *kc_wswatch_client(kc_wswatch *w);

/*
 * kc_watch's exact contract (client/rest.h) over WebSocket: path includes ?watch=true and the
 * caller's parameters; fn gets each event in order on the calling thread; *cancel is checked at
 * least every 100 ms; the idle deadline is measured on the client's clock; a message that is not
 * a valid watch event ends the stream with -EPROTO, one longer than max_watch_event_bytes with
 * -EMSGSIZE; a close frame from the server is a clean end (0), a connection lost without one a
 * transport failure (-EIO, err->code 0, reason "Transport"; so is any failure to connect or to
 * complete TLS: lws does not say which, so there is no -ECONNREFUSED); a refused upgrade follows
 * kc_request's 401 and Retry-After rules, then fails with -EREMOTEIO and err->code = its status.
 * -EACCES when the credential source fails, -EINVAL for bad arguments or a proxy-url.
 * Thread-safe: any number of threads may watch at once, one watch per calling thread.
 */
int kc_ws_watch(kc_wswatch *w, const char *path, int idle_timeout_ms, kc_watch_fn fn, void *ctx,
                atomic_bool *cancel, api_error *err);

#endif
