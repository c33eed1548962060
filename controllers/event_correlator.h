/*
 * event_correlator.h - private to the event recorder (events.c): the event as the recorder
 * carries it, and the correlator that decides, for each event, whether to skip it (spam
 * filter), fold it into a combined event (aggregation), PATCH an earlier Event (deduplication)
 * or create a new one. The rules and numbers are those of events.h; this part is pure logic on
 * the sender thread (no lock, no I/O), so tests can drive it step by step.
 */
#ifndef FOO_CONTROLLERS_EVENT_CORRELATOR_H
#define FOO_CONTROLLERS_EVENT_CORRELATOR_H

#include "controllers/events.h"

#include <stdint.h>

/* One event. Strings are owned unless marked borrowed. */
typedef struct ev_event {
    char *ns;   /* namespace of the Event object */
    char *name; /* metadata.name; set by the correlator */
    /* involvedObject */
    char *kind, *api_version, *obj_name, *obj_ns, *uid, *obj_rv;
    char *type, *reason, *message;
    const char *component, *host; /* borrowed from the recorder's options; host may be NULL */
    int count;                    /* set by the correlator */
    int64_t first_ms, last_ms;    /* wall clock; first set by the correlator */
    uint64_t mono_ns;             /* monotonic time of recording: windows and token buckets */
} ev_event;

void ev_event_free(ev_event *e);

typedef enum evc_action {
    EVC_SKIP,   /* the spam filter refused it: write nothing */
    EVC_CREATE, /* POST it as a new Event */
    EVC_PATCH,  /* PATCH count, lastTimestamp and message of the Event named e->name */
} evc_action;

typedef struct evc_correlator evc_correlator;

/* Uses spam_burst, spam_refill_ms, aggregate_max_events, aggregate_window_ms and cache_size of
 * opt (copied). */
evc_correlator *evc_new(const ev_options *opt);
void evc_free(evc_correlator *c);

/*
 * Correlates e, in client-go's order: aggregation (which may turn e into the combined event:
 * new message, new name), then deduplication (an earlier equal event gives e its name, first
 * time and count + 1), then the spam filter. Sets e->name, e->count and e->first_ms, and
 * returns what to write. Not thread-safe (the sender thread only).
 */
evc_action evc_correlate(evc_correlator *c, ev_event *e);

#endif
