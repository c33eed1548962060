/*
 * fake.h - a scripted transport for the informer's unit tests (the legitimate seam of
 * inf_transport: the reflector's protocol decisions are tested without a network), a fake wait
 * that advances a fake clock instead of sleeping, and a recording sink.
 *
 * A script is an array of steps; each call of the reflector consumes the next one, which must be
 * of the expected kind. When the script runs out (or a step has the wrong kind) the fake stops the
 * reflector and fails the call, so a test simply runs inf_reflector_run() to completion and then
 * asserts on the recorded paths, waits and sink log.
 */
#ifndef FOO_TEST_INFORMER_FAKE_H
#define FOO_TEST_INFORMER_FAKE_H

#include "informer/internal.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum fk_kind { FK_GET, FK_WATCH } fk_kind;

/* Transport failure (connection refused): err->code 0, reason "Transport". */
#define FK_TRANSPORT (-1)

typedef struct fk_step {
    fk_kind kind;
    int code;            /* 0 = 200 OK; FK_TRANSPORT; else an HTTP error code with a Status */
    const char *body;    /* GET 200: the body */
    const char *lines;   /* WATCH 200: watch events, one JSON object per line */
    int rc;              /* WATCH 200: what kc_watch returns after the lines (0, -ETIMEDOUT...) */
    int advance_ms;      /* the fake clock moves this much during the call */
    const char *cause;   /* optional Status cause reason for an error answer */
    const char *message; /* optional Status message */
} fk_step;

#define FK_MAX_CALLS 4096

typedef struct fake {
    fk_step *steps; /* owned copy */
    size_t nsteps, next;
    clk_t *clock;
    inf_reflector *refl;    /* to stop when the script ends; set after inf_reflector_new */
    atomic_bool *stop_flag; /* alternatively a flag to raise (informer tests) */
    void (*on_end)(void *ctx);
    void *on_end_ctx;
    char *paths[FK_MAX_CALLS];
    int idle_ms[FK_MAX_CALLS];
    size_t ncalls;
    uint64_t waits[FK_MAX_CALLS];
    size_t nwaits;
    bool block_last_watch; /* the final watch blocks until cancelled (stop tests) */
    atomic_bool in_blocking_watch;
} fake;

/* A fake with a copy of the steps (n of them) on the fake clock c. */
fake *fake_new(const fk_step *steps, size_t n, clk_t *c);
/* Appends one step (for scripts built in loops). */
void fake_push(fake *f, fk_step step);
void fake_free(fake *f);

inf_transport fake_transport(fake *f);
/* The fake wait: records ns, advances the clock by ns, returns !stopping. ctx is the fake. */
bool fake_wait(void *ctx, uint64_t ns);

/* The path of call i ("" when there is none). */
const char *fake_path(const fake *f, size_t i);
/* The value of query parameter name in path (malloc'd), or NULL. */
char *query_param(const char *path, const char *name);

/* A sink that records a log line per delivery: "replace <rv> <key>,<key>..." /
   "ADDED <key> <rv>" / "MODIFIED ..." / "DELETED ...". Keys of a replace are sorted. */
typedef struct rec_sink {
    char *log[FK_MAX_CALLS];
    size_t n;
} rec_sink;

inf_sink rec_sink_make(rec_sink *rs);
void rec_sink_free(rec_sink *rs);

/* Options for reflector tests: the defaults, a fixed seed, the fake clock and fake wait. */
inf_options fake_options(fake *f, const char *path);

/* Builders of bodies and watch lines (malloc'd, caller frees; tests keep them in a pool). */
char *mk_obj(const char *name, const char *rv);
char *mk_list(const char *rv, const char *cont, int n, const char *names[], const char *rvs[]);
char *mk_event(const char *type, const char *name, const char *rv);
char *mk_bookmark(const char *rv, bool initial_end);
char *mk_error_event(int code, const char *reason);
/* Frees every string the mk_* helpers returned so far. */
void mk_free_all(void);

#endif
