/*
 * foo_status.h - the status a Foo should show, and the patch that gets it there
 * (docs/controller.md §4). Pure functions of cJSON trees: no I/O, no clock (the caller passes
 * the time), thread-safe.
 *
 * Split from the reconcile so the rules of the Ready condition can be read and tested alone:
 * when it is True, which reason it gives, and that lastTransitionTime moves only when its status
 * does (metav1.Condition's rule), which is what keeps repeated reconciles from rewriting it.
 */
#ifndef FOO_CONTROLLERS_FOO_STATUS_H
#define FOO_CONTROLLERS_FOO_STATUS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* The Foo condition type the controller owns. */
#define FC_CONDITION_READY "Ready"

/* One Ready condition as the reconcile decided it; message is owned (free with fc_ready_clear). */
typedef struct fc_ready {
    bool ok;            /* status "True" when set, else "False" */
    const char *reason; /* static: FC_READY_* of foo_controller.h */
    char *message;
} fc_ready;

/* Frees r->message and zeroes r. */
void fc_ready_clear(fc_ready *r);

/*
 * The Ready condition when deployment (the Foo's own, as last seen or as just written) is the
 * truth: True, reason Available, when the Deployment has observed its latest generation
 * (status.observedGeneration >= metadata.generation) and status.updatedReplicas and
 * status.availableReplicas both equal the Foo's spec.replicas (absent counts read as 0);
 * otherwise False, reason Progressing, with a message saying what is awaited. Fills *out.
 */
void fc_ready_from_deployment(const cJSON *foo, const cJSON *deployment, fc_ready *out);

/*
 * The Foo's desired status, a new tree the caller frees: a copy of the current status (fields
 * and conditions of others kept) with observedGeneration = metadata.generation, replicas and
 * availableReplicas from deployment's status (0 when deployment is NULL: missing, or not the
 * Foo's), selector "demo.example.com/foo=NAME", and the Ready condition set from ready with
 * observedGeneration; its lastTransitionTime is kept while the condition's status is unchanged,
 * else set to now_unix_s (RFC 3339).
 */
cJSON *fc_status_desired(const cJSON *foo, const cJSON *deployment, const fc_ready *ready,
                         int64_t now_unix_s);

/*
 * The merge patch for /status that turns foo's status into desired, carrying foo's
 * metadata.resourceVersion so a write based on a stale read fails with 409:
 * {"metadata":{"resourceVersion":RV},"status":{...only what differs...}}. Returns NULL when the
 * status already equals desired (nothing to write). Caller frees.
 */
cJSON *fc_status_patch(const cJSON *foo, const cJSON *desired);

/* The Ready condition of foo's status, or NULL. Borrowed. */
const cJSON *fc_ready_condition(const cJSON *foo);

#endif
