/*
 * ops_fake.h - a test double of the API server for the leader-election and event tests: a
 * ctl_kapi (controllers/kapi.h) over an in-memory map from object path to object, with scripted
 * failures, a gate that holds calls, and a log of every call. Named a double: nothing here is
 * the real server.
 *
 * Semantics (the few a lease and an event need):
 *  - GET path: 200 with a copy, or 404 NotFound.
 *  - POST collection: stores the body at collection + "/" + metadata.name with a new
 *    resourceVersion (and a uid); 409 AlreadyExists when taken.
 *  - PUT path: 404 when absent; 409 Conflict when the body's metadata.resourceVersion is set and
 *    differs from the stored one; else stores the body with a new resourceVersion.
 *  - PATCH path: 404 when absent; applies the body as a JSON merge patch (RFC 7386).
 *  - DELETE path: 404 when absent; removes it.
 * resourceVersions are one counter shared by all objects, as the server's revision.
 * Thread-safe: calls may come from any thread (the recorder's sender, elector threads).
 */
#ifndef FOO_TEST_OPS_FAKE_H
#define FOO_TEST_OPS_FAKE_H

#include "controllers/kapi.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct ops_fake ops_fake;

/* One logged call: copies, owned by the double. */
typedef struct ops_fake_call {
    char *method, *path, *content_type;
    cJSON *body; /* NULL when the call had none */
    int code;    /* status answered; 0 for a scripted transport failure */
} ops_fake_call;

ops_fake *ops_fake_new(void);
void ops_fake_free(ops_fake *f);
ctl_kapi ops_fake_kapi(ops_fake *f);

/* Stores a copy of obj at path as if created (new resourceVersion). */
void ops_fake_put(ops_fake *f, const char *path, const cJSON *obj);
/* A copy of the object at path (caller frees), or NULL. */
cJSON *ops_fake_get(ops_fake *f, const char *path);
/* Number of objects stored whose path starts with prefix. */
size_t ops_fake_count(ops_fake *f, const char *prefix);

/* The next `times` calls with this method (NULL: any) fail with code (0: a transport failure,
 * err->code 0 and -EIO) and reason, before touching the store. */
void ops_fake_fail(ops_fake *f, const char *method, int times, int code, const char *reason);

/* While closed, calls wait at the gate before doing anything. */
void ops_fake_gate(ops_fake *f, bool open);
/* Waits (bounded by the test's watchdog) until n calls are waiting at the closed gate. */
void ops_fake_wait_blocked(ops_fake *f, int n);

/* The log: how many calls so far (with method; NULL: all), and the i-th call (0-based) of that
 * method. The returned call stays valid until ops_fake_free. */
size_t ops_fake_calls(ops_fake *f, const char *method);
const ops_fake_call *ops_fake_call_at(ops_fake *f, const char *method, size_t i);

#endif
