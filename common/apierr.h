/*
 * apierr.h - the one error type of the API: an HTTP code, a Kubernetes reason, a message,
 * details (name, group, kind, uid, causes, retryAfterSeconds), rendered as a metav1 Status.
 *
 * Used by the server to answer and by the client to decode answers. An api_error is a value type
 * embedded by the caller; apierr_clear() frees what it holds. Not thread-safe (one owner).
 * reason strings are the exact Kubernetes StatusReason values (docs/api.md §7.1).
 */
#ifndef FOO_COMMON_APIERR_H
#define FOO_COMMON_APIERR_H

#include <cjson/cJSON.h>
#include <stdbool.h>

typedef struct api_error {
    int code;        /* HTTP status; 0 = no error */
    char *reason;    /* e.g. "NotFound"; owned */
    char *message;   /* owned */
    char *name;      /* details.name; owned, may be NULL */
    char *group;     /* details.group */
    char *kind;      /* details.kind: the resource plural, or the kind for Invalid */
    char *uid;       /* details.uid */
    cJSON *causes;   /* details.causes: array of {reason,message,field}; owned, may be NULL */
    int retry_after; /* details.retryAfterSeconds and the Retry-After header; 0 = none */
} api_error;

#define API_ERROR_INIT                                                                             \
    {                                                                                              \
        0                                                                                          \
    }

static inline bool apierr_is_set(const api_error *e)
{
    return e->code != 0;
}

/* Sets code, reason and a printf message, replacing any previous error. e may be NULL (nothing is
   recorded), as in apierr_bad_request and apierr_internal: many contracts let a caller pass a
   NULL err when it only needs the return value. */
void apierr_set(api_error *e, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sets details.name/group/kind (any may be NULL). */
void apierr_details(api_error *e, const char *name, const char *group, const char *kind);
/*
 * Appends one cause {reason, message, field}. Used to accumulate validation failures before
 * apierr_finish_invalid() turns them into one 422.
 */
void apierr_add_cause(api_error *e, const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Number of causes accumulated. */
int apierr_cause_count(const api_error *e);
/*
 * If causes were added, sets a 422 Invalid whose message is
 * `<Kind>.<group> "<name>" is invalid: <field>: <cause message>, ...` (Kubernetes' format) and
 * details {name, group, kind:Kind}; returns true. Returns false (and changes nothing) otherwise.
 */
bool apierr_finish_invalid(api_error *e, const char *kind, const char *group, const char *name);

/* Common constructors, with Kubernetes' exact messages. resource is the plural ("foos"). */
void apierr_not_found(api_error *e, const char *resource, const char *group, const char *name);
void apierr_already_exists(api_error *e, const char *resource, const char *group, const char *name);
void apierr_conflict(api_error *e, const char *resource, const char *group, const char *name,
                     const char *why);
void apierr_bad_request(api_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void apierr_internal(api_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Fills e for a local failure (a file, a parse, a thread: docs/design.md §4.8) and returns rc
 * (negative): -EINVAL (bad content) is a 400 BadRequest, any other code a 500 InternalError; the
 * message is the printf text as given (no "Internal error occurred" prefix: it names what
 * failed). e may be NULL (only rc is returned).
 */
int apierr_local(api_error *e, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Renders {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",...}. Caller frees.
 */
char *apierr_to_status_json(const api_error *e);
/* Fills e from a Status JSON body and HTTP code (client side). Unknown bodies keep only the code.
 */
void apierr_from_status_json(api_error *e, int http_code, const char *body, size_t len);
/* Moves src into dst (dst cleared first); src is left empty. */
void apierr_move(api_error *dst, api_error *src);
void apierr_clear(api_error *e);

#endif
