/*
 * internal.h - private pieces of informer/: the backoff, the random source and the reflector.
 * Included by the informer sources and by the unit tests, never by other parts.
 */
#ifndef FOO_INFORMER_INTERNAL_H
#define FOO_INFORMER_INTERNAL_H

#include "informer/informer.h"
#include "common/sbuf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* The values collected by an index function (see inf_values_add). */
struct inf_values {
    char **v;
    size_t n, cap;
};

void inf_values_clear(inf_values *vals);

/* ---- random source: splitmix64; small, seedable, good enough for jitter ---- */

/* Next 64 random bits; advances *state. Not thread-safe (one state per owner). */
uint64_t inf_rand_next(uint64_t *state);
/* A uniform double in [0, 1). */
double inf_rand_unit(uint64_t *state);
/* A non-zero seed from the clock and an address, for opt->seed == 0. */
uint64_t inf_rand_seed(clk_t *clock, const void *salt);

/* ---- backoff: client-go's exponential backoff manager (reflector.go) ----
 *
 * Step n waits base_n * (1 + jitter * U[0,1)), where base_0 = initial and
 * base_{n+1} = min(max, base_n * factor): 0.8 s, 1.6 s, ... 25.6 s, 30 s, 30 s ... (jittered up
 * to twice that with jitter 1.0). When the previous step is more than reset ago (the stream was
 * healthy that long) the sequence starts again at initial. One per watch stream.
 * Not thread-safe (owned by the reflector's thread).
 */
typedef struct inf_backoff {
    uint64_t initial_ns, max_ns, reset_ns;
    double factor, jitter;
    uint64_t base_ns; /* un-jittered length of the next step */
    uint64_t last_ns; /* clock reading at the previous step */
    bool stepped;     /* a step was taken (last_ns is valid) */
    uint64_t rng;
} inf_backoff;

/* Initializes from opt's backoff_* fields; seed must not be 0. */
void inf_backoff_init(inf_backoff *b, const inf_options *opt, uint64_t seed);
/* The next wait in nanoseconds, given the clock reading now_ns; advances the sequence. */
uint64_t inf_backoff_next(inf_backoff *b, uint64_t now_ns);

/* ---- reflector ---- */

/*
 * Where the reflector delivers what it learns. Called on the reflector's thread only.
 *   replace: a complete list (or watch-list snapshot) at resource version rv; the n references
 *            are handed over (the array is not).
 *   event:   one watch event (KC_ADDED, KC_MODIFIED or KC_DELETED); the reference is handed over.
 *   progress: after every event and bookmark, and before every watch, with the resource version
 *            reached (rv never NULL here). The informer runs its resync here.
 *   next_tick_ns: how soon progress must run again even without events (0 = no need); the
 *            reflector caps the watch's timeoutSeconds to it. May be NULL.
 */
typedef struct inf_sink {
    void (*replace)(void *ctx, inf_obj **objs, size_t n, const char *rv);
    void (*event)(void *ctx, kc_event_type type, inf_obj *obj);
    void (*progress)(void *ctx, const char *rv);
    uint64_t (*next_tick_ns)(void *ctx);
    void *ctx;
} inf_sink;

/* The reflector's counters (the reflector part of inf_stats). */
typedef struct inf_counters {
    _Atomic uint64_t lists, watches, watch_lists, watch_list_fallbacks;
    _Atomic uint64_t added, modified, deleted, bookmarks;
    _Atomic uint64_t expired, errors, short_watches, stall_reconnects, backoff_ns_total;
} inf_counters;

typedef struct inf_reflector inf_reflector;

/*
 * A reflector for opt (strings copied; opt->path required), talking through t (copied; t->ctx
 * borrowed) and delivering to sink (copied). opt->wait must be set (the informer passes its
 * own). Returns NULL when opt->path is missing.
 */
inf_reflector *inf_reflector_new(const inf_transport *t, const inf_options *opt,
                                 const inf_sink *sink);
void inf_reflector_free(inf_reflector *r);

/*
 * Runs list/watch cycles until inf_reflector_stop(); returns then. Blocking; call it on the
 * thread that owns the reflector. The protocol (docs/controller-machinery.md §3):
 *   - watch-list first when enabled (sendInitialEvents, NotOlderThan, bookmarks; the snapshot
 *     ends at the BOOKMARK annotated k8s.io/initial-events-end); a 4xx answer, or a stream that
 *     ends without that bookmark, turns watch-list off for good and falls back to LIST;
 *   - LIST in pages (limit, continue; the first page's resourceVersion is the list's); the first
 *     at RV "0", relists at the last RV (unpaged unless the server paged before); a 410 or a
 *     "too large RV" answer retries at once with RV "" (client-go's ladder); an expired continue
 *     token restarts as one unpaged LIST;
 *   - watch from the RV with allowWatchBookmarks and timeoutSeconds in [min, max], idle deadline
 *     timeoutSeconds + grace; every event and bookmark advances the RV; a server close resumes
 *     at once; an idle deadline resumes at once (counted as a stall);
 *   - a 410 (answer or ERROR event) relists; transport errors, 429 and 5xx at watch start back
 *     off and watch again; a watch closed within short_watch_ms with no event, and any other
 *     error, back off and relist. Every relist is preceded by a backoff wait, as in client-go.
 */
void inf_reflector_run(inf_reflector *r);
/* Asks run() to return; cancels the watch in flight. Thread-safe, idempotent. */
void inf_reflector_stop(inf_reflector *r);
/* True once stop was requested. Thread-safe. */
bool inf_reflector_stopping(inf_reflector *r);
/* The reflector's counters (read with relaxed atomics). */
const inf_counters *inf_reflector_counters(inf_reflector *r);

/* Appends s percent-encoded (all but RFC 3986's unreserved characters). */
void inf_put_escaped(sbuf *sb, const char *s);
/* Builds "<path>?<query>&labelSelector=..&fieldSelector=.." with the selectors percent-encoded.
   Caller frees. Exposed for tests. */
char *inf_build_path(const char *path, const char *query, const char *label_selector,
                     const char *field_selector);

#endif
