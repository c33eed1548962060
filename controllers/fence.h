/*
 * fence.h - a ctl_kapi that lets a write through only while its holder may act: the manager
 * wraps the API seam of every controller in one, with le_is_leader() as the test, so a manager
 * that is not (or no longer) the leader writes nothing (docs/controller-manager.md §1.3, §4.2).
 *
 * Reads (GET) always pass: a non-leader may look. Every other method asks allowed() first, just
 * before the call; when it answers false the call fails at once, without touching the server,
 * with -EPERM and err {code 0, reason CTL_FENCE_REASON, a message naming the method and path}.
 * Code 0 is how a failure without an answer from the server reads (client/rest.h), so callers
 * treat it as transient: the Foo controller retries with backoff, the event recorder retries
 * later, and nothing is reported in an object's status (which would be a write).
 *
 * What no client-side check can stop: a write already handed to the kernel when the process
 * froze. The elector's renew deadline keeps that window short (docs/controller-manager.md §1.3).
 */
#ifndef FOO_CONTROLLERS_FENCE_H
#define FOO_CONTROLLERS_FENCE_H

#include "controllers/kapi.h"

#include <stdbool.h>

/* The reason of the error a fenced write fails with. */
#define CTL_FENCE_REASON "NotLeader"

typedef struct ctl_fence {
    ctl_kapi inner;             /* the seam writes go to when allowed */
    bool (*allowed)(void *ctx); /* thread-safe and cheap: called before every write */
    void *allowed_ctx;
} ctl_fence;

/*
 * The fenced seam over f (borrowed: f must outlive every use of the result; its fields must not
 * change meanwhile). Thread-safe when f->inner.call and f->allowed are.
 */
ctl_kapi ctl_fence_kapi(ctl_fence *f);

#endif
