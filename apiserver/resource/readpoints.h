/*
 * readpoints.h - read points of consistent reads on a store several replicas share (etcd), asked
 * in rounds: one question to the store answers every read that was waiting when it was asked.
 *
 * A consistent read (docs/design.md §4.11) must show every write acknowledged, by any replica,
 * before it was sent: it needs the store's current revision, asked after the read arrived (its
 * read point), and then waits until its cache has reached that revision. Asking the store once
 * per read costs one etcd round trip each and, with the asks blocking the few waiter threads,
 * caps consistent reads at (waiter threads / round-trip time). So the asks queue here and one
 * thread asks in rounds: it takes every ask queued so far and asks the store once; since each
 * of those reads arrived before the question, the answer is a valid read point for all of them.
 * Asks that arrive meanwhile wait for the next round. A burst of N reads costs two round trips
 * at most, whatever N, and no thread per waiting read. One round at a time, not several: with
 * two or four threads asking, rounds were more frequent and smaller, and etcd's CPU for them
 * cost more reads than the shorter waits gained (32 clients, one replica: 29-30k consistent
 * GETs/s with one thread, 24.6k with two, 20k with four).
 *
 * Budget: a read may wait budget_ms in all (kube's 3 s, then 504). A round asks the store with
 * what is left of the budget of its oldest read (at least 1 ms), so a read queued behind a round
 * that hung on a stalled etcd is not kept twice as long.
 */
#ifndef FOO_APISERVER_READPOINTS_H
#define FOO_APISERVER_READPOINTS_H

#include "common/apierr.h"
#include "common/clock.h"

#include <stdint.h>

/*
 * The store's question: its current revision in *rev within timeout_ms, or a negative code with
 * err filled (code, reason, message). Blocking; called on the round thread only.
 */
typedef int (*rp_sync_fn)(void *ctx, int timeout_ms, uint64_t *rev, api_error *err);

/*
 * Called once per ask, on the round thread, with the round's outcome: rc 0 and rev, or the
 * store's error, always set (code, reason, message; err borrowed for the call; copy what is
 * kept). Must not block for long: the
 * next round waits for it.
 */
typedef void (*rp_done_fn)(void *arg, int rc, uint64_t rev, const api_error *err);

/* One read's ask, embedded in whatever the caller keeps for the read (no allocation here). */
typedef struct rp_ask {
    struct rp_ask *next; /* private: the queue */
    uint64_t arrived_ns; /* clk_mono_ns of the clock given to rp_start, when the read arrived */
    rp_done_fn done;
    void *arg;
} rp_ask;

typedef struct rp_rounds rp_rounds;

/*
 * Starts the round thread. sync/ctx: the store's question (borrowed until rp_stop); clock:
 * time of the budgets (borrowed); budget_ms > 0. Returns 0 with *out, or -EAGAIN with err set
 * when the thread cannot start.
 */
int rp_start(rp_sync_fn sync, void *ctx, clk_t *clock, int budget_ms, rp_rounds **out,
             api_error *err);

/*
 * Queues ask (owned by the caller, untouched by it until its done has run) for the next round.
 * Thread-safe. After rp_stop has begun, done runs at once on the caller's thread with 503
 * ServiceUnavailable.
 */
void rp_ask_point(rp_rounds *r, rp_ask *ask);

/*
 * Stops the round thread: a round in progress ends (its asks get its answer), asks still queued
 * get 503 ServiceUnavailable; then frees r. Call before the store closes. NULL is a no-op.
 */
void rp_stop(rp_rounds *r);

#endif
