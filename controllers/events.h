/*
 * events.h - the event recorder: core v1 Events about the objects a controller handles, with
 * client-go's record-package numbers (docs/controller-manager.md §2).
 *
 * ev_record() builds the event and puts it on a bounded queue; one sender thread takes events
 * off the queue, correlates them and writes them. Recording never blocks a reconcile: when the
 * queue is full the event is dropped and counted (client-go drops too, with its 1000-slot
 * channel).
 *
 * The sender's correlator, per source + object:
 *  - spam filter: a token bucket of 25 events refilled at 1 per 5 minutes; an event without a
 *    token is skipped;
 *  - aggregation: once 10 events differing only in their message (same reason, type and
 *    object) fall within 10 minutes of one another, the following ones become a single event
 *    whose message is "(combined from similar events): " plus the latest message;
 *  - deduplication: an event equal to an earlier one (message included) PATCHes the earlier
 *    one's count and lastTimestamp (a JSON merge patch) instead of creating a new Event.
 * Each of its caches keeps the 4096 keys used last.
 *
 * Writes: POST /api/v1/namespaces/NS/events, PATCH .../events/NAME. NS is the object's
 * namespace, "default" for a cluster-scoped object (as client-go). The name is the object's name,
 * ".", then 16 hex digits of the time in nanoseconds, made unique within the recorder. A write
 * that fails without an answer from the server is retried up to 12 tries in all, 10 s apart
 * (the first pause random in 0..10 s); one the server refuses is dropped; a PATCH answered 404
 * (the Event expired) creates the event anew.
 *
 * Thread-safety: ev_record, ev_flush and ev_stats_get may be called from any thread;
 * ev_recorder_free from one thread once no other call is in flight.
 */
#ifndef FOO_CONTROLLERS_EVENTS_H
#define FOO_CONTROLLERS_EVENTS_H

#include "common/clock.h"
#include "controllers/kapi.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define EV_NORMAL  "Normal"
#define EV_WARNING "Warning"

/* Longest message kept, in bytes; longer ones are cut at a UTF-8 character boundary. */
#define EV_MAX_MESSAGE 1024

typedef struct ev_recorder ev_recorder;

/*
 * Pause hook of the sender between write attempts: wait ns unless the recorder is being freed;
 * return false to give up. The default waits on a condition variable ev_recorder_free signals.
 */
typedef bool (*ev_wait_fn)(void *ctx, uint64_t ns);

/* Options; start from ev_options_defaults(). */
typedef struct ev_options {
    const char *component;        /* source.component and reportingComponent; copied;
                                     default "foo-controller-manager" */
    const char *host;             /* source.host and reportingInstance; NULL = none; copied */
    size_t queue_size;            /* events waiting for the sender; default 1000 */
    int spam_burst;               /* default 25 */
    uint64_t spam_refill_ms;      /* one token per; default 300000 (5 min) */
    int aggregate_max_events;     /* default 10 */
    uint64_t aggregate_window_ms; /* default 600000 (10 min) */
    size_t cache_size;            /* entries of each correlator cache; default 4096 */
    int max_tries;                /* write attempts per event; default 12 */
    uint64_t retry_sleep_ms;      /* between attempts; default 10000 */
    ev_wait_fn wait;              /* NULL = the recorder's interruptible wait */
    void *wait_ctx;
    uint64_t seed; /* randomness of the first retry pause; 0 = from the clock */
} ev_options;

/* client-go's numbers, in one place. */
ev_options ev_options_defaults(void);

/*
 * Starts a recorder and its sender thread. kapi is copied (its context must outlive the
 * recorder); clock is borrowed (NULL = clk_system()); opt may be NULL (defaults). Returns NULL
 * when an option is out of range (a zero size, burst or tries) or the thread cannot start.
 */
ev_recorder *ev_recorder_new(ctl_kapi kapi, clk_t *clock, const ev_options *opt);

/*
 * Stops the sender: the write in progress (if any) finishes, its retries are abandoned, events
 * still queued are discarded (and logged as a count). Call ev_flush first to deliver them.
 * NULL: no-op.
 */
void ev_recorder_free(ev_recorder *r);

/*
 * Records an event about obj (borrowed for the call: kind, apiVersion, metadata.name,
 * .namespace, .uid and .resourceVersion are copied into involvedObject). type is EV_NORMAL or
 * EV_WARNING; reason is a short UpperCamelCase word; the message is printf-formatted. Never
 * blocks beyond a short mutex. Dropped (and counted) when the queue is full; dropped (and
 * logged) when type is neither Normal nor Warning or obj has no metadata.name. Thread-safe.
 */
void ev_record(ev_recorder *r, const cJSON *obj, const char *type, const char *reason,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same with a va_list, for wrappers (a controller's record hook). */
void ev_recordv(ev_recorder *r, const cJSON *obj, const char *type, const char *reason,
                const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/*
 * Waits until every event recorded before the call has been handled (written, skipped or given
 * up). timeout_ms < 0 waits without limit; otherwise at most that long in real time. Returns 0,
 * or -ETIMEDOUT. Thread-safe.
 */
int ev_flush(ev_recorder *r, int timeout_ms);

/* Counters since ev_recorder_new. */
typedef struct ev_stats {
    uint64_t recorded;     /* accepted onto the queue */
    uint64_t dropped;      /* refused: the queue was full */
    uint64_t invalid;      /* refused: bad type or object */
    uint64_t created;      /* POSTs that succeeded */
    uint64_t patched;      /* PATCHes that succeeded */
    uint64_t spam_skipped; /* skipped by the spam filter */
    uint64_t failed;       /* given up: refused by the server or out of tries */
} ev_stats;

/* A snapshot of the counters. Thread-safe. */
void ev_stats_get(ev_recorder *r, ev_stats *out);

#endif
