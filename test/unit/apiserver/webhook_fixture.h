/*
 * webhook_fixture.h - the setup the webhook clients' tests share (sar_test.c, tokenreview_test.c):
 * a scripted HTTP server standing in for kube-apiserver, a client to it that never waits, a fake
 * clock and the user alice. One fixture per test process: Criterion runs each test in its own
 * process, the TSan shim runs them one after the other.
 */
#ifndef FOO_TEST_APISERVER_WEBHOOK_FIXTURE_H
#define FOO_TEST_APISERVER_WEBHOOK_FIXTURE_H

#include "apiserver/transport/authn.h"
#include "test/unit/client/http_stub.h"

#include "client/config.h"
#include "client/rest.h"
#include "common/clock.h"

#include <stdint.h>

typedef struct webhook_fixture {
    http_stub stub;     /* kube-apiserver: the scripted answers, then the fallback */
    kc_config *cfg;     /* points at stub, no credentials */
    kc_client *client;  /* max_retries 0; its sleep adds to waited_ms and returns at once */
    clk_t *clk;         /* fake, starting at 0 */
    authn_user *alice;  /* alice, uid u-1, groups dev and system:authenticated,
                           extra scopes [x, y] and acme.com/project [p1] (added out of order) */
    uint64_t waited_ms; /* what the client was asked to sleep since setup, in all */
} webhook_fixture;

/* The fixture of the running test; valid between wh_setup and wh_teardown. */
extern webhook_fixture wh;

/* Starts the stub answering fallback_body (200, JSON) once its script is used up, and makes the
 * rest of wh. Asserts (Criterion) on failure. Not thread-safe: call from a suite's .init. */
void wh_setup(const char *fallback_body);
/* Frees everything wh_setup made and stops the stub (joining its threads). */
void wh_teardown(void);

/* Scripts one 200 answer with body (copied). Call before the request it answers. */
void wh_push_ok(const char *body);
/* The body of the last request the stub received ("" when none); caller frees. Thread-safe. */
char *wh_last_body(void);

#endif
