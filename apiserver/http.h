/*
 * http.h - the request and response of foo-apiserver's HTTP layer (private to apiserver/).
 *
 * http.c owns libwebsockets: it parses a request into an as_req, authenticates it, hands it to
 * the router on the service thread, and writes whatever the handler puts in the response. A
 * handler either answers at once (as_respond_*) or parks the request (as_req_park) while a storage
 * write is in flight; the write's completion comes back on the service thread through
 * as_req_resume(). Everything in this header runs on the lws service thread only, except
 * as_post_completion(), which any thread may call.
 */
#ifndef FOO_APISERVER_HTTP_H
#define FOO_APISERVER_HTTP_H

#include "apiserver/authn.h"
#include "apiserver/query.h"
#include "common/apierr.h"
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

typedef struct as_server as_server;
typedef struct as_req as_req;
typedef struct as_watch as_watch;
typedef struct as_warnings as_warnings;

/* Called on the service thread when a parked request is resumed; `data` as given to park. */
typedef void (*as_resume_fn)(as_req *req, void *data);

struct as_req {
    as_server *server;
    as_method method;
    const char *method_name; /* "GET", ... */
    char *path;              /* decoded path, no query */
    as_param *params;        /* decoded query parameters, in order */
    int nparams;
    char *accept; /* header values; NULL when absent */
    char *content_type;
    char *if_none_match;
    sbuf body;              /* request body (NUL-terminated) */
    const authn_user *user; /* never NULL once routed (anonymous user if unauthenticated) */

    /* response being built */
    int status;
    sbuf headers;          /* extra header lines, each "Name: value\r\n" (as_add_header) */
    as_warnings *warnings; /* as_add_warning's, rendered with the response; NULL = none */
    sbuf out;              /* response body */
    bool responded;

    /* parking (a storage write in flight) */
    as_resume_fn resume;
    void *resume_data;
    bool parked;
    bool orphaned; /* the connection closed while parked: resume only frees */

    /* the compute job running this request (offload.h); NULL on the service thread */
    struct as_job *job;

    /* a watch stream took over the connection */
    as_watch *watch;
    void *conn;        /* private to http.c */
    as_req *next_done; /* private: completion queue link */
};

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
void as_post_completion(as_server *srv, as_req *req);

/* Wakes every watch stream so it sends pending events. Thread-safe. */
void as_wake_watchers(as_server *srv);

#endif
