/*
 * test_readpoints.c - read points asked in rounds (apiserver/resource/readpoints.h): one
 * question serves every read queued before it, later reads wait for the next one, a failure
 * reaches every read of its round, the budget bounds the question, and stop answers the rest.
 *
 * The store's question is a gate the test opens (gate_sync below): it counts calls and records the
 * timeout each was given.
 */
#include "apiserver/resource/readpoints.h"

#include "common/clock.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CALLS 8

/* The store's side: each call blocks until the test releases it, then answers revs[call]. */
typedef struct store_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;               /* questions asked so far */
    int released;            /* questions allowed to answer */
    int timeouts[MAX_CALLS]; /* the timeout each question was given */
    uint64_t revs[MAX_CALLS];
    int fail_call;      /* this call answers 503 (-1: none) */
    bool fail_silently; /* ... returning -EIO without filling err */
} store_gate;

/* One read's side: its ask and what its done saw. */
typedef struct read_rec {
    rp_ask ask;
    bool done;
    int rc;
    uint64_t rev;
    int code;
    char reason[32];
} read_rec;

static store_gate gate;
static clk_t *fake;
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv;

static void setup(void)
{
    memset(&gate, 0, sizeof gate);
    pthread_mutex_init(&gate.mu, NULL);
    cr_assert_eq(clk_mono_cond_init(&gate.cv), 0);
    cr_assert_eq(clk_mono_cond_init(&done_cv), 0);
    gate.fail_call = -1;
    for (int i = 0; i < MAX_CALLS; i++)
        gate.revs[i] = (uint64_t)(100 * (i + 1));
    fake = clk_fake_new(0);
}

static void teardown(void)
{
    clk_fake_free(fake);
    pthread_cond_destroy(&gate.cv);
    pthread_cond_destroy(&done_cv);
    pthread_mutex_destroy(&gate.mu);
}

TestSuite(readpoints, .init = setup, .fini = teardown);

static int gate_sync(void *ctx, int timeout_ms, uint64_t *rev, api_error *err)
{
    store_gate *g = ctx;
    pthread_mutex_lock(&g->mu);
    int call = g->calls++;
    g->timeouts[call] = timeout_ms;
    pthread_cond_broadcast(&g->cv);
    struct timespec deadline = clk_mono_deadline(10 * CLK_NS_PER_S);
    while (g->released <= call)
        if (pthread_cond_timedwait(&g->cv, &g->mu, &deadline) != 0)
            break;
    bool fail = call == g->fail_call;
    pthread_mutex_unlock(&g->mu);
    if (fail && g->fail_silently)
        return -EIO;
    if (fail) {
        apierr_set(err, 503, "ServiceUnavailable", "etcd cannot serve a consistent read");
        return -EIO;
    }
    *rev = g->revs[call];
    return 0;
}

/* Waits until the store has been asked n times. */
static void wait_calls(int n)
{
    struct timespec deadline = clk_mono_deadline(10 * CLK_NS_PER_S);
    pthread_mutex_lock(&gate.mu);
    while (gate.calls < n)
        if (pthread_cond_timedwait(&gate.cv, &gate.mu, &deadline) != 0)
            break;
    int calls = gate.calls;
    pthread_mutex_unlock(&gate.mu);
    cr_assert_geq(calls, n, "the store was asked %d times, not %d", calls, n);
}

static void release(int n)
{
    pthread_mutex_lock(&gate.mu);
    gate.released += n;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
}

static int calls(void)
{
    pthread_mutex_lock(&gate.mu);
    int n = gate.calls;
    pthread_mutex_unlock(&gate.mu);
    return n;
}

static void on_point(void *arg, int rc, uint64_t rev, const api_error *err)
{
    read_rec *r = arg;
    pthread_mutex_lock(&done_mu);
    r->rc = rc;
    r->rev = rev;
    r->code = err->code;
    snprintf(r->reason, sizeof r->reason, "%s", err->reason ? err->reason : "");
    r->done = true;
    pthread_cond_broadcast(&done_cv);
    pthread_mutex_unlock(&done_mu);
}

static void ask(rp_rounds *rounds, read_rec *r)
{
    memset(r, 0, sizeof *r);
    r->ask.arrived_ns = clk_mono_ns(fake);
    r->ask.done = on_point;
    r->ask.arg = r;
    rp_ask_point(rounds, &r->ask);
}

static void wait_done(read_rec *r)
{
    struct timespec deadline = clk_mono_deadline(10 * CLK_NS_PER_S);
    pthread_mutex_lock(&done_mu);
    while (!r->done)
        if (pthread_cond_timedwait(&done_cv, &done_mu, &deadline) != 0)
            break;
    bool done = r->done;
    pthread_mutex_unlock(&done_mu);
    cr_assert(done, "the read got no read point");
}

static rp_rounds *start(void)
{
    rp_rounds *rounds = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(rp_start(gate_sync, &gate, fake, 3000, &rounds, &err), 0);
    return rounds;
}

Test(readpoints, one_question_serves_every_read_queued_before_it)
{
    rp_rounds *rounds = start();
    read_rec first, during[5];
    ask(rounds, &first);
    wait_calls(1); /* the first round is asking; these five arrive after its question */
    for (int i = 0; i < 5; i++)
        ask(rounds, &during[i]);
    release(1);
    wait_done(&first);
    cr_expect_eq(first.rc, 0);
    cr_expect_eq(first.rev, 100);
    wait_calls(2);
    release(1);
    for (int i = 0; i < 5; i++) {
        wait_done(&during[i]);
        cr_expect_eq(during[i].rc, 0);
        cr_expect_eq(during[i].rev, 200, "a read that arrived during a question takes the next");
    }
    rp_stop(rounds);
    cr_expect_eq(calls(), 2, "six reads, two questions");
}

Test(readpoints, a_failed_question_fails_every_read_of_its_round_only)
{
    gate.fail_call = 0;
    rp_rounds *rounds = start();
    read_rec a, b, c;
    ask(rounds, &a);
    wait_calls(1);
    release(1);
    wait_done(&a);
    cr_expect_neq(a.rc, 0);
    cr_expect_eq(a.code, 503);
    cr_expect_str_eq(a.reason, "ServiceUnavailable");
    ask(rounds, &b);
    ask(rounds, &c);
    wait_calls(2);
    release(1);
    wait_done(&b);
    wait_done(&c);
    cr_expect_eq(b.rc, 0, "the next round asks again");
    cr_expect_eq(c.rev, 200);
    rp_stop(rounds);
}

Test(readpoints, a_failure_without_a_reason_reaches_the_reads_as_a_500)
{
    gate.fail_call = 0;
    gate.fail_silently = true;
    rp_rounds *rounds = start();
    read_rec a;
    ask(rounds, &a);
    release(1);
    wait_done(&a);
    cr_expect_neq(a.rc, 0);
    cr_expect_eq(a.code, 500);
    cr_expect_str_eq(a.reason, "InternalError");
    rp_stop(rounds);
}

Test(readpoints, a_round_asks_with_what_is_left_of_its_oldest_reads_budget)
{
    rp_rounds *rounds = start();
    read_rec first, old, young;
    ask(rounds, &first);
    wait_calls(1);
    cr_expect_eq(gate.timeouts[0], 3000, "a fresh read has its whole budget");
    ask(rounds, &old);
    clk_fake_advance_ms(fake, 2500); /* the first question hangs meanwhile */
    ask(rounds, &young);
    release(1);
    wait_calls(2);
    pthread_mutex_lock(&gate.mu);
    int t = gate.timeouts[1];
    pthread_mutex_unlock(&gate.mu);
    cr_expect_eq(t, 500, "the oldest read of the round has 500 ms left");
    release(1);
    wait_done(&young);
    /* A read that waits out its whole budget behind a hung question still asks, for 1 ms. */
    read_rec blocker, late;
    ask(rounds, &blocker);
    wait_calls(3);
    ask(rounds, &late);
    clk_fake_advance_ms(fake, 4000);
    release(1);
    wait_calls(4);
    pthread_mutex_lock(&gate.mu);
    t = gate.timeouts[3];
    pthread_mutex_unlock(&gate.mu);
    cr_expect_eq(t, 1, "a spent budget still asks, for 1 ms");
    release(1);
    wait_done(&blocker);
    wait_done(&late);
    rp_stop(rounds);
}

Test(readpoints, stop_lets_the_round_in_progress_end)
{
    rp_rounds *rounds = start();
    read_rec asking, queued;
    ask(rounds, &asking);
    wait_calls(1);
    ask(rounds, &queued);
    release(MAX_CALLS);
    rp_stop(rounds);
    wait_done(&asking);
    wait_done(&queued);
    cr_expect_eq(asking.rc, 0, "the round in progress ends normally");
    cr_expect_eq(asking.rev, 100);
    /* queued made it into a next round before stop began, or was refused by it */
    cr_expect(queued.rev == 200 || (queued.rc != 0 && queued.code == 503));
}

static void *stopper(void *arg)
{
    rp_stop(arg);
    return NULL;
}

Test(readpoints, stop_refuses_the_reads_still_queued_and_every_later_one)
{
    rp_rounds *rounds = start();
    read_rec asking, queued;
    ask(rounds, &asking);
    wait_calls(1); /* the round thread is held in its question: rounds stays alive */
    ask(rounds, &queued);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, stopper, rounds), 0);
    /* Stop has begun once an ask is refused at once (on this thread, inside rp_ask_point). The
       asks before that stay queued, so each probe has its own record, kept to the end. */
    enum { MAX_PROBES = 1 << 16 };
    read_rec *probes = calloc(MAX_PROBES, sizeof *probes);
    cr_assert_not_null(probes);
    uint64_t give_up = clk_mono_ns(clk_system()) + 10 * CLK_NS_PER_S;
    int n = 0;
    do {
        ask(rounds, &probes[n]);
        sched_yield();
    } while (!probes[n++].done && n < MAX_PROBES && clk_mono_ns(clk_system()) < give_up);
    bool began = probes[n - 1].done;
    release(MAX_CALLS); /* before any assertion: the round thread must not stay held */
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert(began, "stop did not begin");
    wait_done(&asking);
    cr_expect_eq(asking.rev, 100, "the round in progress ends normally");
    wait_done(&queued);
    cr_expect_eq(queued.code, 503);
    cr_expect_str_eq(queued.reason, "ServiceUnavailable");
    for (int i = 0; i < n; i++) {
        wait_done(&probes[i]);
        cr_expect_eq(probes[i].code, 503);
    }
    free(probes);
    cr_expect_eq(calls(), 1, "no question after stop began");
}
