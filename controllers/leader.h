/*
 * leader.h - leader election on a coordination.k8s.io/v1 Lease, client-go's algorithm, with a
 * fence: the leader stops acting at its renew deadline, judged on the monotonic clock
 * (docs/controller-manager.md §1).
 *
 * The lease: /apis/coordination.k8s.io/v1/namespaces/NS/leases/NAME, spec {holderIdentity,
 * leaseDurationSeconds, acquireTime, renewTime (RFC 3339 with microseconds, kube's MicroTime),
 * leaderTransitions}. Every retry period the elector reads it and:
 *  - creates it, holding it, when it is absent;
 *  - takes it over (leaderTransitions + 1) when its holder is empty or the lease has expired:
 *    expiry is judged by when WE last saw the record change, on our monotonic clock, plus its
 *    leaseDurationSeconds; the holder's timestamps are never compared with our clock, so clock
 *    skew between machines does not matter (only a difference in clock *rate* would);
 *  - renews it (new renewTime, acquireTime and leaderTransitions kept) when it is ours.
 * Every write is an update carrying the resourceVersion read, so two candidates racing for an
 * expired lease cannot both win: the loser gets 409 Conflict (or AlreadyExists on create).
 *
 * The fence: le_is_leader() is true only until the monotonic time at which the last successful
 * renew was *sent* plus the renew deadline (10 s). Others wait at least the lease duration (15 s)
 * after they saw that renew, so a leader that was frozen (SIGSTOP, a long GC-like stall, a slow
 * server) finds le_is_leader() false the moment it wakes, before anything else runs, and writes
 * nothing until a renew succeeds again. Controllers must check it before every write.
 *
 * Threads: le_start() runs the loop on a thread of its own; le_tick() is one iteration, public so
 * that tests step the elector without a thread. le_is_leader() and le_identity() may be called
 * from any thread at any time; the other functions from one controlling thread.
 */
#ifndef FOO_CONTROLLERS_LEADER_H
#define FOO_CONTROLLERS_LEADER_H

#include "common/apierr.h"
#include "common/clock.h"
#include "controllers/kapi.h"
#include "controllers/metrics.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct le_elector le_elector;

/*
 * Pause hook of the loop: wait ns nanoseconds unless le_stop() is called first; return false to
 * end the loop. The default waits on a condition variable that le_stop() signals. Tests pass one
 * that advances a fake clock and returns at once.
 */
typedef bool (*le_wait_fn)(void *ctx, uint64_t ns);

typedef struct le_callbacks {
    /* Called when this process becomes leader (on the thread that ran le_tick). */
    void (*on_started_leading)(void *ctx);
    /*
     * Called once for every on_started_leading, when leadership ends: the renew deadline passed
     * without a successful renew, another holder was seen, or le_stop()/le_release() ended it
     * (then on the caller's thread). controller-runtime exits the process here; so may we.
     */
    void (*on_stopped_leading)(void *ctx);
    void *ctx;
} le_callbacks;

/* Options; get the defaults from le_options_defaults() and change what you need. */
typedef struct le_options {
    const char *lease_namespace; /* default "default"; copied */
    const char *lease_name;      /* default "foo-controller-manager"; copied */
    const char *identity;        /* NULL = le_default_identity(); copied */
    uint64_t lease_duration_ms;  /* default 15000 */
    uint64_t renew_deadline_ms;  /* default 10000 */
    uint64_t retry_period_ms;    /* default 2000 */
    clk_t *clock;                /* NULL = clk_system(); borrowed */
    le_wait_fn wait;             /* NULL = the elector's interruptible wait */
    void *wait_ctx;
    le_callbacks callbacks;    /* any member may be NULL */
    metrics_registry *metrics; /* optional: leader_election_master_status{name=lease_name} */
    uint64_t seed;             /* jitter of the acquire retries; 0 = from the clock */
} le_options;

/* controller-runtime's numbers, in one place: 15 s lease, 10 s renew deadline, 2 s retry. */
le_options le_options_defaults(void);

/* hostname + "_" + a random UUID, as controller-runtime's, so two managers on one host differ.
 * Caller frees. */
char *le_default_identity(void);

/*
 * Makes an elector (not started, not leader). kapi is copied; its context must outlive the
 * elector. Returns 0 and *out, or -EINVAL when a name is empty or the durations break client-go's
 * rule lease_duration > renew_deadline > 1.2 x retry_period (retry_period > 0).
 */
int le_new(ctl_kapi kapi, const le_options *opt, le_elector **out);

/* Stops the loop if running (le_stop) and frees. Does not release the lease. NULL: no-op. */
void le_free(le_elector *le);

/* The identity written to holderIdentity. Valid until le_free. Thread-safe. */
const char *le_identity(le_elector *le);

/*
 * True while this process holds the lease and the renew deadline has not passed on the
 * monotonic clock since the last successful renew was sent. Lock-free, thread-safe: call it
 * before every write.
 */
bool le_is_leader(le_elector *le);

/*
 * Liveness (client-go's HealthzAdaptor): false when this elector believes it leads but its last
 * successful renew is older than the lease duration plus tolerance_ms, i.e. the loop is stuck.
 * True otherwise, including when not leading. Thread-safe.
 */
bool le_healthy(le_elector *le, uint64_t tolerance_ms);

/*
 * One iteration: read the lease, then create, take over or renew it as the rules at the top say;
 * end leadership when the deadline passed or another holder was seen; run the callbacks; update
 * the metric. Returns how long to wait before the next iteration, in ns: the retry period while
 * leading, the retry period plus a random 0..1.2 x of it otherwise (client-go's jitter, so
 * candidates do not retry in lockstep). Errors of the API are logged and count as a failed try.
 */
uint64_t le_tick(le_elector *le);

/* Runs le_tick in a loop on a new thread until le_stop. Returns 0, -EALREADY when running, or a
 * negative errno when the thread cannot be created. */
int le_start(le_elector *le);

/*
 * Stops and joins the loop (if running), then ends leadership locally: le_is_leader() becomes
 * false and on_stopped_leading runs if we were leading. The lease itself is left as is (others
 * take it over once it expires); use le_release() to hand it over at once. Idempotent.
 */
void le_stop(le_elector *le);

/*
 * Shutdown (client-go's ReleaseOnCancel): le_stop(), then, if the last record we saw names us,
 * updates the lease with holderIdentity "", leaseDurationSeconds 1 and renewTime now, so another
 * candidate takes over at its next try instead of waiting for expiry. Returns 0 (also when there
 * was nothing to release), or a negative code with *err (err may be NULL) when the update failed;
 * a 409 means someone else already holds it. Call it after the workers have drained, since
 * writes are fenced from the moment le_stop() runs.
 */
int le_release(le_elector *le, api_error *err);

#endif
