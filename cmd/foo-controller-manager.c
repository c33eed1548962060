/*
 * foo-controller-manager: flags, signals and wiring only; the manager lives in controllers/
 * (controllers/manager.h).
 */
#include "common/alloc.h"
#include "common/log.h"
#include "controllers/manager.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

typedef struct signal_waiter {
    sigset_t set;
    mgr_manager *m;
} signal_waiter;

/* Signals are blocked in every thread; this one waits for them and asks the manager to stop. */
static void *wait_for_signal(void *arg)
{
    signal_waiter *sw = arg;
    int sig = 0;
    if (sigwait(&sw->set, &sig) == 0) {
        log_kv(LOG_INFO, "signal received, stopping", "signal", strsignal(sig), NULL);
        mgr_request_stop(sw->m);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    alloc_install_cjson_hooks();
    mgr_options o = mgr_options_defaults();
    int rc = mgr_parse_flags(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    log_set_verbosity(o.verbosity);

    /* Blocked before any thread starts, so every thread inherits the mask. */
    signal_waiter sw;
    sigemptyset(&sw.set);
    sigaddset(&sw.set, SIGTERM);
    sigaddset(&sw.set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sw.set, NULL);
    signal(SIGPIPE, SIG_IGN);

    api_error err = API_ERROR_INIT;
    mgr_manager *m = NULL;
    if (mgr_new(&o, &m, &err) != 0) {
        log_kv(LOG_ERROR, "cannot start the controller-manager", "error",
               err.message ? err.message : "", NULL);
        apierr_clear(&err);
        return 1;
    }
    sw.m = m;
    pthread_t waiter;
    if (pthread_create(&waiter, NULL, wait_for_signal, &sw) != 0) {
        log_error("cannot start the signal thread");
        mgr_free(m);
        return 1;
    }
    rc = mgr_run(m);
    pthread_cancel(waiter);
    pthread_join(waiter, NULL);
    mgr_free(m);
    return rc;
}
