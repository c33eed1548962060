/*
 * wq_test_util.h - helpers shared by the workqueue unit tests: a hang guard, a queue on a fake
 * clock, and a wq_get that cannot block (it asserts a key is queued first, so a broken queue
 * fails instead of hanging).
 */
#ifndef FOO_TEST_WQ_TEST_UTIL_H
#define FOO_TEST_WQ_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

#include "workqueue/workqueue.h"
#include "workqueue/wq_internal.h"

/*
 * Hang guard: a broken queue shows up as a getter that never wakes. Instead of Criterion's
 * .timeout (whose timeout thread in Criterion 2.4.1 leaks a 48-byte request when parallel tests
 * finish in some orders, which fails the ASan build at random), each test process arms its own
 * SIGALRM, whose default action kills it; Criterion then reports the test as crashed.
 */
#define WQ_TEST_WATCHDOG_S 120

static inline void arm_watchdog(void)
{
    alarm(WQ_TEST_WATCHDOG_S);
}

static inline wq *new_fake_queue(clk_t *clk, const char *name)
{
    wq_options o = wq_defaults();
    o.clock = clk;
    o.name = name;
    wq *q = wq_new(&o);
    cr_assert_not_null(q);
    return q;
}

/* Takes the next key, which must be `want`, and leaves it processing. */
static inline void expect_get(wq *q, const char *want)
{
    cr_assert_gt(wq_len(q), 0, "expected %s to be queued, queue is empty", want);
    char *key = NULL;
    cr_assert(wq_get(q, &key));
    cr_assert_str_eq(key, want);
    free(key);
}

#endif
