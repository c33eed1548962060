#include "common/signals.h"
#include "common/alloc.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct sig_waiter {
    pthread_t thread;
    void (*stop)(void *ctx);
    void *ctx;
};

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

void sig_block_stop_signals(void)
{
    sigset_t set;
    stop_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void *wait_for_signal(void *arg)
{
    sig_waiter *w = arg;
    sigset_t set;
    stop_signals(&set);
    int sig = 0;
    if (sigwait(&set, &sig) == 0) {
        /* From here on the stop runs to its end: logging and stop(ctx) may reach cancellation
           points (write, lock waits), and a cancel there could leave a lock held. */
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        log_kv(LOG_INFO, "signal received, stopping", "signal", strsignal(sig), NULL);
        w->stop(w->ctx);
    }
    return NULL;
}

int sig_waiter_start(void (*stop)(void *ctx), void *ctx, sig_waiter **out, api_error *err)
{
    sig_waiter *w = xcalloc(1, sizeof *w);
    w->stop = stop;
    w->ctx = ctx;
    if (pthread_create(&w->thread, NULL, wait_for_signal, w) != 0) {
        apierr_internal(err, "cannot start the signal thread");
        free(w);
        return -EAGAIN;
    }
    *out = w;
    return 0;
}

void sig_waiter_stop(sig_waiter *w)
{
    if (!w)
        return;
    /* sigwait is a cancellation point; once a signal came, the thread ignores the cancel and
       the join waits for its stop(ctx) to return. */
    pthread_cancel(w->thread);
    pthread_join(w->thread, NULL);
    free(w);
}
