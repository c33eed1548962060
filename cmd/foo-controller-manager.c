/*
 * foo-controller-manager: flags, signals and wiring only; the manager lives in controllers/
 * (controllers/manager.h).
 */
#include "common/alloc.h"
#include "common/log.h"
#include "common/signals.h"
#include "controllers/manager.h"

#include <stdlib.h>
#include <string.h>

static void stop_manager(void *m)
{
    mgr_request_stop(m);
}

int main(int argc, char **argv)
{
    alloc_install_cjson_hooks();
    mgr_options o = mgr_options_defaults();
    int rc = mgr_parse_flags(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    log_set_verbosity(o.verbosity);

    sig_block_stop_signals(); /* before any thread starts: every thread inherits the mask */

    api_error err = API_ERROR_INIT;
    mgr_manager *m = NULL;
    if (mgr_new(&o, &m, &err) != 0) {
        log_kv(LOG_ERROR, "cannot start the controller-manager", "error",
               err.message ? err.message : "", NULL);
        apierr_clear(&err);
        return 1;
    }
    sig_waiter *waiter = NULL;
    if (sig_waiter_start(stop_manager, m, &waiter, &err) != 0) {
        log_kv(LOG_ERROR, err.message, NULL);
        apierr_clear(&err);
        mgr_free(m);
        return 1;
    }
    rc = mgr_run(m);
    sig_waiter_stop(waiter);
    mgr_free(m);
    return rc;
}
