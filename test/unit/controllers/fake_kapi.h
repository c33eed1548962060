/*
 * fake_kapi.h - the one test double of the API server behind a ctl_kapi (controllers/kapi.h): a
 * small in-memory object store that answers the calls controllers, the leader elector and the
 * event recorder make, as the real server does for the parts they rely on. Used by every unit
 * test of controllers/; never linked into a program.
 *
 * Paths: "/apis/G/V/[namespaces/NS/]RESOURCE[/NAME[/status]]" (and "/api/v1/..."). Objects are
 * kept by item path ("/apis/apps/v1/namespaces/default/deployments/web").
 * Behaviour (the server's, docs/api.md §5):
 *   - a global resourceVersion, bumped by every write that changes an object (a no-op write
 *     keeps the version); uid "uid-N" and generation 1 on create; generation + 1 when spec
 *     changes; status dropped on create;
 *   - POST collection: 201, or 409 AlreadyExists;
 *   - PUT item: 404 when missing, 409 Conflict when metadata.resourceVersion is set and stale;
 *     the main resource keeps the stored status, /status changes only status;
 *   - PATCH item with application/merge-patch+json (else 415): RFC 7386, then 409 Conflict when
 *     the patched metadata.resourceVersion is set and stale; main and /status as PUT;
 *   - DELETE item: 404 when missing, 409 when DeleteOptions.preconditions.uid differs; with
 *     finalizers the object gets deletionTimestamp and stays (200, the object), else it goes
 *     (200, a Success Status); an update that empties the finalizers of an object with
 *     deletionTimestamp removes it;
 *   - GET item: the object or 404.
 * Test controls: injected failures (fake_kapi_fail_next, fake_kapi_fail_times), a gate that
 * holds calls (fake_kapi_gate), and a log of every call (method, path, content type, a copy of
 * the body, the answer's code). No fixed limits on objects, failures or calls.
 * Thread-safe (one mutex): calls may come from any thread (workers, the recorder's sender,
 * elector threads).
 */
#ifndef FOO_TEST_FAKE_KAPI_H
#define FOO_TEST_FAKE_KAPI_H

#include "controllers/kapi.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct fake_kapi fake_kapi;

typedef struct fake_call {
    char *method;
    char *path;
    char *content_type; /* NULL when the caller gave none */
    cJSON *body;        /* copy, or NULL */
    int code;           /* HTTP status answered; 0 for an injected transport failure */
} fake_call;

fake_kapi *fake_kapi_new(void);
void fake_kapi_free(fake_kapi *f);

/* The seam to hand to a controller (ctx = f). */
ctl_kapi fake_kapi_seam(fake_kapi *f);

/*
 * Stores a copy of obj at item_path as if created (uid, resourceVersion and generation filled
 * when absent; status kept), without logging a call. Returns the stored object (borrowed).
 */
const cJSON *fake_kapi_seed(fake_kapi *f, const char *item_path, const cJSON *obj);

/* The stored object at item_path (borrowed, valid until the next call), or NULL. Only for
 * tests where no other thread calls the double meanwhile; the others use fake_kapi_get_copy. */
const cJSON *fake_kapi_get(fake_kapi *f, const char *item_path);
/* A copy of the stored object at item_path (caller frees), or NULL. Safe from any thread. */
cJSON *fake_kapi_get_copy(fake_kapi *f, const char *item_path);
/* Number of objects stored whose item path starts with prefix. */
size_t fake_kapi_count_objects(fake_kapi *f, const char *prefix);

/* Copies of every object whose item path starts with prefix, in *out (caller frees each and
 * the array); returns the count. */
size_t fake_kapi_list(fake_kapi *f, const char *prefix, cJSON ***out);

/*
 * The next call with this method (NULL = any) whose path starts with path_prefix fails with an
 * API error (code, reason, message) and changes nothing; code 0 is a transport failure.
 * retry_after (seconds, 0 = none) goes in err->retry_after. Injections fire once each, in the
 * order they were made.
 */
void fake_kapi_fail_next(fake_kapi *f, const char *method, const char *path_prefix, int code,
                         const char *reason, const char *message, int retry_after);
/*
 * The next `times` calls with this method (NULL = any), on any path, fail as fake_kapi_fail_next
 * says (code 0: a transport failure; reason NULL: "InternalError", or "Transport" for code 0;
 * empty message; no Retry-After). Queued after the injections already made.
 */
void fake_kapi_fail_times(fake_kapi *f, const char *method, int times, int code,
                          const char *reason);

/* While closed, calls wait at the gate before doing anything (not even logged). Opening it lets
 * every waiting call go on. */
void fake_kapi_gate(fake_kapi *f, bool open);
/* Waits until n calls are waiting at the closed gate; unbounded, the test's watchdog (criterion
 * timeout) ends a test that never gets there. */
void fake_kapi_wait_blocked(fake_kapi *f, int n);

/* The call log. A returned call stays valid until fake_kapi_clear_log or fake_kapi_free. */
size_t fake_kapi_call_count(fake_kapi *f);
/* The i-th call (0-based), or NULL. */
const fake_call *fake_kapi_call(fake_kapi *f, size_t i);
/* The i-th call (0-based) with this method (NULL = any), or NULL. */
const fake_call *fake_kapi_call_of(fake_kapi *f, const char *method, size_t i);
/* Calls with this method (NULL = any) whose path equals path (NULL = any path). */
size_t fake_kapi_count(fake_kapi *f, const char *method, const char *path);
void fake_kapi_clear_log(fake_kapi *f);

#endif
