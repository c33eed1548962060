/*
 * foo_controller.h - the Foo controller: turns every Foo into its Deployment and reports back in
 * the Foo's status (docs/controller.md, docs/design.md §2 and §4.10).
 *
 * Data flow: informers on foos and deployments fill two stores and call the fc_on_* handlers,
 * which map each object to the key of the Foo it concerns and add that key to the workqueue;
 * workers (fc_run_worker, or fc_worker_run for any controller) take keys, run fc_reconcile and act
 * on its result in one place (fc_apply_result). fc_reconcile reads only the stores and writes only
 * through the ctl_kapi: the finalizer (merge patch with the resourceVersion), the Deployment
 * (create, update, delete) and the Foo's /status (merge patch with the resourceVersion, only when
 * it changed).
 *
 * Thread-safety: after fc_controller_new, every function may be called from any thread; the
 * controller holds no mutable state (its stores, queue, kapi and recorder are thread-safe). The
 * workqueue guarantees that one key is never reconciled by two workers at once.
 */
#ifndef FOO_CONTROLLERS_FOO_CONTROLLER_H
#define FOO_CONTROLLERS_FOO_CONTROLLER_H

#include "controllers/kapi.h"
#include "common/clock.h"
#include "informer/informer.h"
#include "workqueue/workqueue.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* The controller's name in logs and metrics (controller-runtime names it after the kind). */
#define FC_DEFAULT_NAME "foo"
/* An index of the foos store: "NAMESPACE/NAME" of the Deployment each Foo wants. */
#define FC_INDEX_DEPLOYMENT "foo-deployment"

/* Event types and reasons the controller records (core v1 Event, on the Foo). */
#define FC_EVENT_NORMAL          "Normal"
#define FC_EVENT_WARNING         "Warning"
#define FC_REASON_CREATED        "SuccessfulCreate"
#define FC_REASON_UPDATED        "SuccessfulUpdate"
#define FC_REASON_DELETED        "SuccessfulDelete"
#define FC_REASON_CREATE_FAILED  "FailedCreate"
#define FC_REASON_UPDATE_FAILED  "FailedUpdate"
#define FC_REASON_DELETE_FAILED  "FailedDelete"
#define FC_REASON_STATUS_FAILED  "FailedUpdateStatus"
#define FC_REASON_RESOURCE_EXIST "ResourceExists"

/* Reasons of the Foo's Ready condition (docs/design.md §2). */
#define FC_READY_AVAILABLE       "Available"
#define FC_READY_PROGRESSING     "Progressing"
#define FC_READY_RESOURCE_EXISTS "ResourceExists"
#define FC_READY_ERROR           "Error"

/* What the worker does with a key after a reconcile. */
typedef enum fc_action {
    FC_DONE,                 /* success: forget the key's backoff */
    FC_REQUEUE,              /* conflict or stale cache: again at once, not a failure */
    FC_REQUEUE_RATE_LIMITED, /* failure: again after the key's backoff */
    FC_REQUEUE_AFTER,        /* again after after_ms (the server asked to wait): forget first */
} fc_action;

typedef struct fc_result {
    fc_action action;
    int64_t after_ms; /* FC_REQUEUE_AFTER only */
} fc_result;

/*
 * The event-recording seam (the real one is controllers/events.h's recorder): record one event
 * about obj (the Foo, borrowed for the call) with type FC_EVENT_*, a reason FC_REASON_* and a
 * finished message. Must be thread-safe and must not block (workers call it mid-reconcile).
 */
typedef void (*fc_record_fn)(void *ctx, const cJSON *obj, const char *type, const char *reason,
                             const char *message);

/*
 * Observation hooks for metrics, called by the worker loop (fc_worker_run) around each
 * reconcile (any may be NULL): started before the reconcile, finished after it with the result
 * and its duration on the worker's monotonic clock. Must be thread-safe.
 */
typedef struct fc_hooks {
    void (*started)(void *ctx);
    void (*finished)(void *ctx, fc_result result, uint64_t duration_ns);
    void *ctx;
} fc_hooks;

typedef struct fc_options {
    inf_store *foos;        /* required, borrowed: the Foo cache (give it fc_add_indexes) */
    inf_store *deployments; /* required, borrowed: the Deployment cache */
    wq *queue;              /* required, borrowed: fed by the fc_on_* handlers */
    ctl_kapi api;           /* required: every write goes through it */
    fc_record_fn record;    /* NULL = events are not recorded */
    void *record_ctx;
    clk_t *clock;     /* NULL = clk_system(); timestamps and durations */
    fc_hooks hooks;   /* all NULL = not observed */
    const char *name; /* NULL = FC_DEFAULT_NAME; copied */
} fc_options;

typedef struct fc_controller fc_controller;

/*
 * A controller over the borrowed stores, queue and kapi of opt (they must outlive it).
 * Returns NULL when a required option is missing. Free with fc_controller_free.
 */
fc_controller *fc_controller_new(const fc_options *opt);
/* Frees the controller (not what it borrows). No worker or handler may be running. NULL is ok. */
void fc_controller_free(fc_controller *c);

/*
 * Adds the FC_INDEX_DEPLOYMENT index to the foos store; call before the store holds objects
 * (before the informer starts). With it, a Deployment that no Foo controls but whose name a Foo
 * wants (the ResourceExists case) still wakes that Foo when it changes or goes away. Returns 0
 * or inf_store_add_index's error. Thread-safe.
 */
int fc_add_indexes(inf_store *foos);

/*
 * Reconciles the Foo under key (its name) against the caches and returns what to do with the
 * key; never blocks on anything but the kapi calls it makes. Steps (docs/controller.md §3):
 *   Foo absent: FC_DONE. Being deleted: delete the Deployment it controls, then remove the
 *   finalizer. Otherwise: add the finalizer if missing, create the Deployment if missing or
 *   update it if it drifted (never touching one it does not control), then patch /status when
 *   it changed.
 * Results: FC_DONE when nothing is left to do; FC_REQUEUE after a 409 (conflict, or an
 * AlreadyExists the cache had not seen) or a 404 on an update (the cache was stale);
 * FC_REQUEUE_AFTER when the server answered 429 with Retry-After; FC_REQUEUE_RATE_LIMITED after
 * any other failure, including a write the server rejected (reported in the Foo's status,
 * Ready=False reason Error with the server's message, and as a Warning event).
 * Thread-safe; the caller must not reconcile one key on two threads at once (the queue sees to
 * it). Logs JSON lines with "controller", "object" and "reconcileID".
 */
fc_result fc_reconcile(fc_controller *c, const char *key);

/*
 * Acts on a result in one place: FC_DONE forgets the key's backoff, FC_REQUEUE adds it at once
 * (its backoff untouched: a conflict is not a failure), FC_REQUEUE_RATE_LIMITED adds it through
 * the rate limiter, FC_REQUEUE_AFTER forgets and adds it after after_ms. Thread-safe.
 */
void fc_apply_result(wq *q, const char *key, fc_result result);

/*
 * The result a failed API call asks for (docs/controller.md §6), the same for every controller:
 * a conflict (409: the cache was behind, not a failure) FC_REQUEUE at once; a 429 with a
 * Retry-After FC_REQUEUE_AFTER that many seconds; anything else FC_REQUEUE_RATE_LIMITED, through
 * the backoff. A 404 is the caller's to judge first (gone meanwhile is often done). Pure,
 * thread-safe.
 */
fc_result fc_result_of_error(const api_error *err);

/* A reconcile over some controller (impl): fc_reconcile's shape, for any controller. */
typedef fc_result (*fc_reconcile_fn)(void *impl, const char *key);

/* What one worker runs: the queue, the reconcile, and how it is observed and stopped. */
typedef struct fc_worker {
    wq *queue;                 /* required, borrowed */
    fc_reconcile_fn reconcile; /* required */
    void *impl;                /* passed to reconcile */
    fc_hooks hooks;            /* all NULL = not observed */
    clk_t *clock;              /* NULL = clk_system(): the durations given to hooks.finished */
    const atomic_bool *stop;   /* NULL = never asked to stop; borrowed */
} fc_worker;

/*
 * The worker loop, the only one of the code base: wq_get, hooks.started, reconcile,
 * hooks.finished, fc_apply_result, wq_done, until the queue is shut down and drained, or until
 * *stop is true. Stopping takes no new key but finishes the reconcile in hand (its result is
 * applied as usual): *stop is read before each wq_get and again after it, and a key got once
 * it is true is marked done and dropped, not worked. Keys left in the queue stay there. To
 * stop workers blocked in wq_get, set *stop, then wq_shutdown the queue to wake them. Runs on
 * the caller's thread; start N threads for N workers. Thread-safe.
 */
void fc_worker_run(const fc_worker *w);

/*
 * fc_worker_run for the Foo controller: its queue, fc_reconcile, the hooks and clock of its
 * options, and stop (NULL: run until the queue is shut down and drained). Thread-safe.
 */
void fc_run_worker(fc_controller *c, const atomic_bool *stop);

/*
 * The key of the Foo that controls deployment: the name in its controlling owner reference when
 * that reference is kind Foo of group demo.example.com (any version); NULL otherwise. Caller
 * frees. Thread-safe.
 */
char *fc_deployment_owner_key(const inf_obj *deployment);

/*
 * Informer event handlers (ctx = the fc_controller). Foo: every add and delete queues the Foo's
 * key; an update does only when the Foo changed beyond its status and resourceVersion (so the
 * controller's own status writes wake nothing) or on a resync (same resourceVersion).
 * Deployment: every add, update and delete queues the controlling Foo (fc_deployment_owner_key)
 * and every Foo that wants a Deployment of that namespace and name (FC_INDEX_DEPLOYMENT), so a
 * Deployment controlled by something else wakes only the Foos that report it as ResourceExists.
 * They only read and enqueue, so they are cheap on the informer's thread.
 */
void fc_on_foo_add(void *ctx, const inf_obj *obj);
void fc_on_foo_update(void *ctx, const inf_obj *old_obj, const inf_obj *new_obj);
void fc_on_foo_delete(void *ctx, const inf_obj *obj, bool final_state_unknown);
void fc_on_deployment_add(void *ctx, const inf_obj *obj);
void fc_on_deployment_update(void *ctx, const inf_obj *old_obj, const inf_obj *new_obj);
void fc_on_deployment_delete(void *ctx, const inf_obj *obj, bool final_state_unknown);

/* The handlers above as inf_handlers with ctx = c, ready for inf_add_handlers. */
inf_handlers fc_foo_handlers(fc_controller *c);
inf_handlers fc_deployment_handlers(fc_controller *c);

#endif
