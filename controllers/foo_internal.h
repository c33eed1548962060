/*
 * foo_internal.h - the Foo controller's state, shared by foo_controller.c (object, worker,
 * event handlers) and foo_reconcile.c (fc_reconcile). Not part of the public face.
 */
#ifndef FOO_CONTROLLERS_FOO_INTERNAL_H
#define FOO_CONTROLLERS_FOO_INTERNAL_H

#include "controllers/foo_controller.h"

/* Immutable after fc_controller_new: workers and handlers read it without a lock. */
struct fc_controller {
    inf_store *foos;        /* borrowed */
    inf_store *deployments; /* borrowed */
    wq *queue;              /* borrowed */
    ctl_kapi api;
    fc_record_fn record; /* may be NULL */
    void *record_ctx;
    clk_t *clock;
    fc_hooks hooks;
    char *name; /* owned */
};

#endif
