/*
 * http.h - the transport layer's public face (docs/design.md §5.1): the listener, the request
 * and its response, parking, and streamed responses.
 *
 * http.c owns libwebsockets: it reads a request into an as_req, authenticates it (authn.h),
 * and calls the handler function it was given, on the service thread (write methods on the
 * compute thread, offload.h). It knows no route and no resource: the handler (apiserver/rest/)
 * answers (as_respond_*), parks the request (as_req_park) while work runs elsewhere, or hands
 * it a stream (as_req_stream: a watch) whose bytes the transport frames and writes: as chunked
 * HTTP, or, when the request asked to upgrade to WebSocket (as_req.websocket), as one text
 * message per event after the 101 (websocket.h). Everything in this header runs on the service
 * thread only, except where a comment says otherwise.
 */
#ifndef FOO_APISERVER_HTTP_H
#define FOO_APISERVER_HTTP_H

#include "apiserver/transport/authn.h"
#include "apiserver/transport/limits.h"
#include "apiserver/transport/query.h"
#include "common/apierr.h"
#include "common/clock.h"
#include "common/sbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum as_method {
    AS_GET,
    AS_HEAD,
    AS_POST,
    AS_PUT,
    AS_PATCH,
    AS_DELETE,
    AS_OPTIONS,
    AS_METHOD_OTHER
} as_method;

typedef struct as_http as_http;
typedef struct as_req as_req;
typedef struct as_warnings as_warnings;

/*
 * What a request is, in the words of kube-apiserver's request metrics: the handler sets these
 * (apiserver/rest/metrics.h says which values) and the done callback (as_http_options.done)
 * reads them; the transport does neither. Strings are borrowed: literals, the registry's names,
 * or pointers into the request itself (it is reported done before it is freed). NULL reads as "".
 */
typedef struct as_req_labels {
    const char *verb; /* "GET", "LIST", "WATCH", "POST", ...; NULL: the handler never labelled it */
    const char *dry_run, *group, *version, *resource, *subresource, *scope;
    bool long_running; /* a watch that streams: counted as long-running until it is over */
} as_req_labels;

/*
 * A streamed response (a watch): the handler supplies these; the transport writes the status
 * line and headers, then frames whatever fill() appends as chunks; or, after a WebSocket
 * upgrade, sends each line fill() appends as one message. Service thread only.
 */
typedef struct as_stream_ops {
    /* Appends the next bytes (about max_bytes at most): whole events, each one line ending in
     '\n' (a WebSocket message is one line). *done: end the stream after these; *more: it
     stopped at max_bytes with bytes possibly left (called again once written). */
    void (*fill)(void *stream, sbuf *out, size_t max_bytes, bool *done, bool *more);
    /* Microseconds until the stream needs a turn (a timeout or bookmark); -1 for none. */
    int64_t (*next_timer_us)(void *stream);
    /* Makes the stream end at its next fill (server shutdown). */
    void (*finish)(void *stream);
    void (*free)(void *stream);
} as_stream_ops;

/* Called on the service thread when a parked request is resumed; `data` as given to park. */
typedef void (*as_resume_fn)(as_req *req, void *data);

struct as_req {
    as_http *http; /* the transport that read it */
    void *app;     /* the handler's context (as_http_options.app) */
    as_method method;
    const char *method_name; /* "GET", ... */
    char *path;              /* decoded path, no query */
    as_param *params;        /* decoded query parameters, in order */
    int nparams;
    char *accept; /* header values; NULL when absent */
    char *content_type;
    char *if_none_match;
    sbuf body;                 /* request body (NUL-terminated) */
    const authn_user *user;    /* never NULL once handled (anonymous user if unauthenticated) */
    authn_user *owned_user;    /* private: the authenticated user, freed with the request (not
                                  with the connection: an orphaned request still reads it) */
    bool websocket;            /* the request asks to upgrade to WebSocket: the handler answers
                                  a watch with a stream as usual (sent as WebSocket messages)
                                  and refuses anything else with a 400 (docs/api.md §6.1) */
    bool credentials_rejected; /* a credential was presented and refused (user is anonymous);
                                  the handler decides (a 401 but for the health checks) */
    /* Delegated (as_http_options.delegated): a bearer token the authentication chain did not
       know (user is anonymous; credentials_rejected when another credential failed), for the
       handler to review (TokenReview). bytes [0, len), may hold NUL bytes; a secret, wiped
       when the request is freed. NULL = none. */
    char *bearer_token;
    size_t bearer_token_len;
    bool authorized;   /* private to the handler: set once it authorized the request */
    bool at_head;      /* the handler is called at the complete head, before any body
                          is read (as_handler_fn): it answers only what the head alone
                          decides (a 401 ...) and may set limit_exempt */
    bool limit_exempt; /* exempt from the caps on requests in flight (limits.h): the
                          handler sets it at the head for the health checks */

    /* response being built */
    int status;
    sbuf headers;          /* extra header lines, each "Name: value\r\n" (as_add_header) */
    as_warnings *warnings; /* as_add_warning's, rendered with the response; NULL = none */
    sbuf out;              /* response body */
    bool responded;
    bool close_connection; /* set by the handler: close the connection after this response */

    /* parking (a storage write in flight) */
    as_resume_fn resume;
    void *resume_data;
    bool parked;
    bool orphaned; /* the connection closed while parked: resume only frees */

    /* as_req_park_on's work, waiting for the job that parked req to end (private) */
    struct as_workers *park_workers;
    void (*park_work)(void *data);

    /* the compute job running this request (offload.h); NULL on the service thread */
    struct as_job *job;

    /* a stream took over the response (as_req_stream) */
    void *stream;
    const as_stream_ops *stream_ops;
    void *conn;        /* private to http.c */
    as_req *next_done; /* private: completion queue link */

    /* accounting (as_http_options.done) */
    uint64_t arrived_ns;  /* clk_mono_ns of the transport's clock when the head was complete */
    bool handled;         /* the handler was called (only such requests are reported done) */
    as_req_labels labels; /* set by the handler, read by the done callback */

    /* admission (limits.h), private to http.c */
    as_req_kind limit_kind; /* what it counts as, once admitted */
    bool admitted;          /* counted in flight: released when freed */
    bool admitted_exempt;   /* ... as exempt */
    size_t body_reserved;   /* bytes of the body budget it holds */
};

/* Makes u (ownership taken) the request's user, replacing the one authentication gave it (a
   user that a TokenReview named). Only the thread handling req. */
void as_req_set_user(as_req *req, authn_user *u);

/* Query parameter value, or NULL when absent. A parameter given more than once has one value
   (as_query_parse refuses differing repeats), so which occurrence is read does not matter. */
const char *as_param_get(const as_req *req, const char *key);

/*
 * Adds a response header line "name: value". Header injection is impossible by construction:
 * name must be an HTTP token (RFC 9110 tchar: letters, digits and !#$%&'*+-.^_`|~), else the
 * header is not added at all and the mistake is logged (names come from our code, never from a
 * client); every control character of value (bytes 0x00-0x1F except HTAB, and 0x7F: CR, LF,
 * NUL ...) is written as a space, as Go's net/http does for CR and LF, so a value can never end
 * the line or start another header. Both strings are copied.
 */
void as_add_header(as_req *req, const char *name, const char *value);
/*
 * Adds `Warning: 299 - "<text>"` to the response, as kube-apiserver's warning recorder does:
 * an empty text is ignored; a text equal to one already added is not repeated; the texts count
 * against a budget of 4096 characters (runes) per response, and once one would pass it every
 * warning of the response (those already added too) is cut to its first 256 characters, and
 * warnings that come after the budget is spent are dropped. The text is written as an HTTP
 * quoted-string: '"' and '\' are escaped with a backslash; control characters (C0, DEL, C1) and
 * bytes that are not UTF-8 are written as U+FFFD (kube-apiserver drops such a warning whole; we
 * keep the rest of it readable), so a client's field name can never end the header line.
 * text is copied. Not thread-safe (service thread, like the rest of as_req).
 */
void as_add_warning(as_req *req, const char *text);
/*
 * Appends to out the Warning header lines the response will carry, each
 * `Warning: 299 - "<text>"\r\n` (cut to 256 characters when over budget, as_add_warning), in
 * the order the warnings were added. The response writer calls it; tests too.
 */
void as_render_warnings(const as_req *req, sbuf *out);
/* Frees the warnings recorded on req and sets req->warnings to NULL (freeing the request does
   it; for tests, which build an as_req by hand). */
void as_clear_warnings(as_req *req);
/* Sets the response: status, content type, body (copied). */
void as_respond(as_req *req, int status, const char *content_type, const char *body, size_t len);
/* JSON response (application/json). */
void as_respond_json(as_req *req, int status, const char *json, size_t len);
/* Renders err as a Status (adds Retry-After when err->retry_after). */
void as_respond_error(as_req *req, const api_error *err);
/* Shorthand: a Status with code, reason and message. */
void as_respond_status(as_req *req, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Parks req until as_req_resume() is called (from as_post_completion's delivery on the service
 * thread). If the client disconnects meanwhile, req->orphaned is set; the resume callback still
 * runs (so it can free its data) and whatever it responds is discarded.
 */
void as_req_park(as_req *req, as_resume_fn fn, void *data);

/*
 * Thread-safe: queues `req` to be resumed on the service thread and wakes the service loop.
 * Called from storage's writer thread in a write's done callback.
 */
void as_post_completion(as_http *http, as_req *req);

/* Wakes every stream so it sends what is pending. Thread-safe. */
void as_wake_watchers(as_http *http);

/*
 * Hands the response to a stream (ops and stream borrowed until ops->free(stream), which the
 * transport calls when the request ends). Instead of answering; the status is req->status
 * (200 when unset).
 */
void as_req_stream(as_req *req, const as_stream_ops *ops, void *stream);

/*
 * Runs fn(req, arg) on the service thread: at once when called there, or, from a compute job
 * (offload.h), once the job has ended and its staged park is in place, so that whatever fn
 * starts (a storage write) cannot complete, and resume req, before the job is over. If the
 * client left meanwhile, fn is not called (the park's resume callback owns arg then).
 */
void as_req_after_job(as_req *req, void (*fn)(as_req *req, void *arg), void *arg);

/*
 * Parks req (as_req_park with resume and data) and runs work(data) on one of w's threads
 * (workers.h): the place for blocking calls, a review by kube-apiserver or a wait for another
 * replica's write, which must hold up neither the service thread nor the compute thread. work
 * must end with as_post_completion(req->http, req) (then resume runs on the service thread as
 * for any park), and must not touch req otherwise. From a compute job the work starts once the
 * job is over; if the client left before then, it never starts and resume runs orphaned.
 */
void as_req_park_on(as_req *req, struct as_workers *w, void (*work)(void *data),
                    as_resume_fn resume, void *data);

/*
 * Service thread: parks req and runs fn(req, data) on the compute thread (offload.h), as the
 * transport does with every write request; for a handler that must run again (a retried write).
 */
void as_req_offload(as_req *req, void (*fn)(as_req *req, void *data), void *data);

/* ---- the listener ------------------------------------------------------------------------ */

/*
 * Called twice per request: first with req->at_head set, once its head is read and authenticated
 * and before its body is read: it answers (as_respond_*) only to refuse what the head alone
 * decides (an unauthenticated request: 401), which is then sent without reading the body, and
 * may set req->limit_exempt; then, unless it answered, with the whole request (see the top).
 */
typedef void (*as_handler_fn)(void *app, as_req *req);

/*
 * Called once for every request the handler was called for, when it is over: its response fully
 * written (a stream: ended), or its connection dropped first (req->status is then whatever the
 * handler set, 200 by default). duration_ns: from its complete head (req->arrived_ns) until now,
 * on the transport's clock. req is about to be freed: read it, keep nothing. Runs on the service
 * thread (at shutdown, for requests orphaned while parked, on the thread calling as_http_free).
 * Must be cheap: it runs once per request.
 */
typedef void (*as_done_fn)(void *app, const as_req *req, uint64_t duration_ns);

typedef struct as_http_options {
    int port;
    const char *bind_address; /* NULL, "" or "0.0.0.0" = every address */
    const char *cert_file;    /* serving certificate and key (PEM) */
    const char *key_file;
    const authn *auth; /* the authentication chain; NULL = everybody is anonymous; borrowed
                          (a replacement given to as_http_set_auth is owned by the transport) */
    bool delegated;    /* tokens the chain does not know go to the handler (req->bearer_token) */
    clk_t *clock;      /* certificate validity, request durations; borrowed */
    as_handler_fn handle;
    as_done_fn done; /* NULL: nothing is reported */
    /* What is admitted under load (limits.h); zeroed = no cap on requests in flight or watches,
       and the defaults for connections, the body deadline and the body memory. */
    as_limits_config limits;
    void *app;
} as_http_options;

/*
 * Listens (TLS, HTTP/1.1) and starts the compute thread. Returns 0 with *out, or -EIO with err
 * set (the reason: the address, the certificate ...). The options' pointers are borrowed for the
 * transport's life. Call the rest from one thread (the service thread).
 */
int as_http_start(const as_http_options *opt, as_http **out, api_error *err);
/*
 * Replaces the authentication chain (a reloaded CA bundle, docs/api.md §9.7): a takes effect on
 * the service thread before the next request is authenticated (connections re-evaluate their
 * certificates), and the TLS context advertises its CAs to new handshakes. Takes ownership of
 * a; the chain it replaces is freed unless it was opt.auth (the caller's). Thread-safe.
 */
void as_http_set_auth(as_http *http, authn *a);

/* One turn of the service loop (sleeps until something happens). */
void as_http_service(as_http *http);
/* One turn of the service loop that returns after at most about ms milliseconds. */
void as_http_service_for(as_http *http, int ms);
/* Asks every stream to end, cleanly (ops->finish). */
void as_http_end_watches(as_http *http);
/* Number of open streams. */
int as_http_watch_count(as_http *http);
/* Requests of kind in flight now, exempt ones included (limits.h; for /metrics). */
int as_http_inflight(const as_http *http, as_req_kind kind);
/* Requests refused with 429 since the start (for /metrics). */
uint64_t as_http_rejected(const as_http *http);
/* Number of parked requests (work in flight elsewhere). */
int as_http_parked_count(as_http *http);
/*
 * Runs every queued compute job and closes the listener and every connection; idempotent, NULL
 * is a no-op. http stays valid: other threads may still post completions and wake it (both only
 * queue, now), until as_http_free, which the owner calls once they have all stopped (after the
 * store's writer thread has been joined).
 */
void as_http_stop(as_http *http);
/* as_http_stop, then frees the completions that arrived meanwhile (resumed as orphans, without
   an answer) and http itself. NULL is a no-op. */
void as_http_free(as_http *http);

#endif
