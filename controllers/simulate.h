/*
 * simulate.h - the Deployment status simulator (--simulate-deployments, off by default): a
 * second controller in the manager that plays the cluster's part, like kwok does, on a server
 * where nothing runs pods (the standalone foo-apiserver). For every Deployment it writes the
 * status a real cluster shows once every pod of the latest generation is ready
 * (docs/controller-manager.md §5):
 *   observedGeneration = metadata.generation; replicas, updatedReplicas, readyReplicas,
 *   availableReplicas = spec.replicas (default 1; with 0 replicas the counts are removed, as a
 *   cluster omits zeros); unavailableReplicas removed; conditions exactly
 *     Available   True  MinimumReplicasAvailable  "Deployment has minimum availability."
 *     Progressing True  NewReplicaSetAvailable    SIM_PROGRESSING_MESSAGE
 *   each with lastUpdateTime (now when its reason or message changed) and lastTransitionTime
 *   (kept while its status holds).
 * It writes only when the status differs from that (a comparison of the fields above, timestamps
 * ignored), so its own writes coming back through the watch end there: no loop.
 *
 * The write is a JSON merge patch of /status carrying the resourceVersion read (a stale cache
 * gets 409 and a retry) and only status: the cached object is stripped of managed fields, so a
 * whole-object PUT could drop what the cache does not hold.
 *
 * It is named as a simulation everywhere it shows: controller "deployment-simulator" in logs and
 * metrics, the workqueue of that name, and "(simulated)" in the Progressing message.
 *
 * Thread-safety: after sim_new, every function may be called from any thread (the queue keeps
 * one key from two workers at once). The pure functions are thread-safe.
 */
#ifndef FOO_CONTROLLERS_SIMULATE_H
#define FOO_CONTROLLERS_SIMULATE_H

#include "common/clock.h"
#include "controllers/foo_controller.h"
#include "controllers/kapi.h"
#include "informer/informer.h"
#include "workqueue/workqueue.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/* The controller's name in logs, metrics and its workqueue. */
#define SIM_NAME "deployment-simulator"

#define SIM_AVAILABLE_REASON    "MinimumReplicasAvailable"
#define SIM_AVAILABLE_MESSAGE   "Deployment has minimum availability."
#define SIM_PROGRESSING_REASON  "NewReplicaSetAvailable"
#define SIM_PROGRESSING_MESSAGE "Deployment has successfully progressed (simulated: no pods run)."

typedef struct sim_simulator sim_simulator;

typedef struct sim_options {
    inf_store *deployments; /* required, borrowed: the Deployment cache */
    wq *queue;              /* required, borrowed: keys "NAMESPACE/NAME" */
    ctl_kapi api;           /* required: the status writes go through it */
    clk_t *clock;           /* NULL = clk_system(): condition timestamps */
} sim_options;

/* A simulator over the borrowed store, queue and kapi. NULL when a required option is missing.
 * Free with sim_free. */
sim_simulator *sim_new(const sim_options *opt);
/* Frees it (not what it borrows). No worker or handler may be running. NULL: no-op. */
void sim_free(sim_simulator *s);

/* Informer handlers (ctx = s) queueing the key of every added or updated Deployment. */
inf_handlers sim_handlers(sim_simulator *s);

/*
 * One pass over the Deployment under key (read from the cache): FC_DONE when it is gone, being
 * deleted, or its status already is the simulated one (or was just written); FC_REQUEUE on 409;
 * FC_REQUEUE_RATE_LIMITED on any other failure (logged); FC_REQUEUE_AFTER on 429 with
 * Retry-After. Logs JSON lines with controller "deployment-simulator", object and reconcileID.
 * Thread-safe (one key at a time, which the queue guarantees).
 */
fc_result sim_reconcile(sim_simulator *s, const char *key);

/*
 * True when deployment's status already is the simulated one: the counts (absent reads as 0),
 * observedGeneration, no unavailableReplicas, and exactly the two conditions above with their
 * status, reason and message (timestamps ignored). Pure.
 */
bool sim_status_current(const cJSON *deployment);

/*
 * The status to write for deployment (a new tree; caller frees), as described at the top, with
 * timestamps from now_wall_ms and those of deployment's current conditions kept where their
 * status (lastTransitionTime) or their reason and message (lastUpdateTime) did not change.
 * Zero counts and unavailableReplicas are JSON null, which a merge patch reads as "remove".
 * Pure.
 */
cJSON *sim_desired_status(const cJSON *deployment, int64_t now_wall_ms);

#endif
