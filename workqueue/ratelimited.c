/*
 * ratelimited.c - the rate-limited face of the queue: retries wait for the limiter's delay.
 * The limiter is called without the queue's lock (it has its own), so a slow limiter never
 * blocks getters.
 */
#include "workqueue/wq_internal.h"

void wq_add_rate_limited(wq *q, const char *key)
{
    /* Checked first so a shut-down queue does not charge the limiter for a dropped retry. */
    if (wq_shutting_down(q))
        return;
    wq__add_after_ns(q, key, wq_rl_when_ns(q->rl, key));
}

void wq_forget(wq *q, const char *key)
{
    wq_rl_forget(q->rl, key);
}

int wq_num_requeues(wq *q, const char *key)
{
    return wq_rl_retries(q->rl, key);
}
