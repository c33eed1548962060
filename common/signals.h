/*
 * signals.h - how the two programs stop on SIGTERM and SIGINT: the signals are blocked in every
 * thread and one thread waits for them with sigwait, then asks the program to stop through a
 * function it was given. Nothing runs in a signal handler, so the stop function may take locks
 * and log (docs/design.md §4.2).
 */
#ifndef FOO_COMMON_SIGNALS_H
#define FOO_COMMON_SIGNALS_H

#include "common/apierr.h"

typedef struct sig_waiter sig_waiter;

/*
 * Blocks SIGTERM and SIGINT in the calling thread, so that every thread created afterwards
 * inherits the mask, and ignores SIGPIPE (a write to a closed socket is an error, not death).
 * Call at the start of main, before any thread exists. Not thread-safe.
 */
void sig_block_stop_signals(void);

/*
 * Starts the thread that waits for SIGTERM or SIGINT (blocked by sig_block_stop_signals) and
 * then logs it and calls stop(ctx), once. Returns 0 with *out, or -EAGAIN with err set (500)
 * when the thread cannot start. ctx is borrowed until sig_waiter_stop.
 */
int sig_waiter_start(void (*stop)(void *ctx), void *ctx, sig_waiter **out, api_error *err);

/* Ends the waiting thread (if no signal came) and frees w. NULL is a no-op. */
void sig_waiter_stop(sig_waiter *w);

#endif
