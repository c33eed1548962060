/*
 * builtin.h - the strategies of the Kubernetes kinds the standalone server serves besides Foo
 * (the registry's entries, docs/design.md §4.9): apps/v1 Deployment, core v1 Event and Namespace,
 * coordination.k8s.io/v1 Lease. For each kind: its names, kube's defaults, the validation kubectl
 * users meet first (kube's field paths and wording), the columns of `kubectl get`, and how
 * metadata.generation evolves.
 *
 * Functions work on cJSON trees of the wire form, like api/foo.h. They are pure (no I/O, no
 * mutable globals) and thread-safe; every one accepts any JSON (wrong types anywhere, missing
 * members, huge strings) without crashing: wrong types are reported as validation causes in the
 * CRD schema wording of fielderr.h, since no Go decoder rejects them first here.
 *
 * Validation functions append causes to err (reasons FieldValueRequired / FieldValueInvalid /
 * ...; fields as JSON paths "spec.template.spec.containers[0].name") and never set err->code: the
 * caller finishes with apierr_finish_invalid. `old` is the stored object on update, NULL on
 * create. Defaults are applied before validation, on create and on update.
 *
 * Unknown fields: these kinds have no schema here, so there is no prune_unknown_fields hook and
 * unknown fields are stored as sent. kube drops them (400 under fieldValidation=Strict, a
 * warning under Warn); doing the same needs the complete schema of each kind (a PodSpec alone
 * has well over a hundred fields), and a partial one would silently delete valid fields that
 * kubectl apply then re-sends forever. Keeping them is the recommended behaviour until full
 * schemas exist (for example generated from kube's OpenAPI document).
 */
#ifndef FOO_API_BUILTIN_H
#define FOO_API_BUILTIN_H

#include "api/column.h"

#include "common/apierr.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* ---- what the registry needs of each kind ------------------------------------------------ */

/* How a kind's metadata.generation evolves, as kube's registry strategies set it. */
typedef enum api_generation {
    API_GENERATION_NONE,             /* kube never sets it */
    API_GENERATION_SPEC,             /* 1 on create; +1 on an update that changes the spec */
    API_GENERATION_SPEC_ANNOTATIONS, /* the same, and +1 when metadata.annotations change too
                                        (Deployment: they are copied to its ReplicaSets) */
} api_generation;

/* A kind's strategy as data; NULL hooks mean kube has no such step for the kind. */
typedef struct api_kind_strategy {
    void (*defaults)(cJSON *obj);
    void (*validate)(const cJSON *obj, const cJSON *old, api_error *err);
    void (*validate_status)(const cJSON *obj, api_error *err); /* for /status writes */
    const api_column *columns;
    size_t ncolumns;
    api_generation generation;
} api_kind_strategy;

/* ---- apps/v1 Deployment ------------------------------------------------------------------ */

#define DEPLOYMENT_GROUP      "apps"
#define DEPLOYMENT_VERSION    "v1"
#define DEPLOYMENT_KIND       "Deployment"
#define DEPLOYMENT_LIST_KIND  "DeploymentList"
#define DEPLOYMENT_RESOURCE   "deployments"
#define DEPLOYMENT_SINGULAR   "deployment"
#define DEPLOYMENT_SHORT_NAME "deploy"
#define DEPLOYMENT_CATEGORY   "all"

/* The replicas the /scale subresource (autoscaling/v1 Scale) reads and writes. */
#define DEPLOYMENT_SCALE_SPEC_REPLICAS   "spec.replicas"
#define DEPLOYMENT_SCALE_STATUS_REPLICAS "status.replicas"

/*
 * kube's defaults (apps/v1 SetDefaults_Deployment and the pod template's): spec.replicas 1;
 * strategy RollingUpdate with rollingUpdate maxUnavailable and maxSurge "25%" (rollingUpdate only
 * for that type); revisionHistoryLimit 10; progressDeadlineSeconds 600; in spec.template.spec
 * restartPolicy Always, terminationGracePeriodSeconds 30, dnsPolicy ClusterFirst, schedulerName
 * default-scheduler, securityContext {}; in every container and init container
 * terminationMessagePath /dev/termination-log, terminationMessagePolicy File, imagePullPolicy
 * (Always when the image's tag is "latest" or it has neither tag nor digest, else IfNotPresent),
 * ports[].protocol TCP, probe timings (timeoutSeconds 1, periodSeconds 10, successThreshold 1,
 * failureThreshold 3), httpGet path "/" and scheme HTTP, env fieldRef apiVersion v1; volumes'
 * defaultMode 420. Creates spec, spec.strategy and spec.template(.spec) when absent; leaves
 * members of the wrong type for validation. No labels are copied from the template (apps/v1).
 */
void deployment_default(cJSON *obj);

/*
 * Validates a Deployment: metadata (name a DNS-1123 subdomain); spec.replicas an integer >= 0;
 * spec.selector required, a valid label selector and not empty; the template's labels matched by
 * the selector (`spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}:
 * `selector` does not match template `labels``, also when the selector is missing, as kube); the
 * pod template (see api/podtemplate.h) with restartPolicy Always; strategy type and rollingUpdate
 * (int or percent, not both 0); minReadySeconds, revisionHistoryLimit, progressDeadlineSeconds
 * >= 0 and progressDeadlineSeconds > minReadySeconds. On update (old != NULL) the selector is
 * immutable (`spec.selector: Invalid value: v1.LabelSelector{...}: field is immutable`, compared
 * as the set of requirements) and metadata follows meta_validate_update.
 */
void deployment_validate(const cJSON *obj, const cJSON *old, api_error *err);

/*
 * Validates .status written through /status: observedGeneration, replicas, updatedReplicas,
 * readyReplicas, availableReplicas, unavailableReplicas, collisionCount integers >= 0; updated,
 * ready and available replicas not above status.replicas, available not above ready (kube's
 * wording); conditions an array of objects.
 */
void deployment_validate_status(const cJSON *obj, api_error *err);

/*
 * The label selector text of spec.selector, as /scale's status.selector and the SELECTOR column
 * show it ("app=web,tier in (a,b)": kube's LabelSelectorAsSelector(...).String()). "" when the
 * selector is absent or empty; NULL when it is malformed (never for a validated object). The
 * caller frees the result.
 */
char *deployment_scale_selector(const cJSON *obj);

/* Cells (see api/column.h; missing counts are 0, as kube prints them). */
cJSON *deployment_cell_ready(const cJSON *obj, int64_t now_s);      /* "ready/replicas" */
cJSON *deployment_cell_up_to_date(const cJSON *obj, int64_t now_s); /* status.updatedReplicas */
cJSON *deployment_cell_available(const cJSON *obj, int64_t now_s);  /* availableReplicas */
cJSON *deployment_cell_containers(const cJSON *obj, int64_t now_s); /* names, comma-joined */
cJSON *deployment_cell_images(const cJSON *obj, int64_t now_s);     /* images, comma-joined */
cJSON *deployment_cell_selector(const cJSON *obj, int64_t now_s);   /* "<invalid>" if malformed */

/* NAME, READY, UP-TO-DATE, AVAILABLE, AGE; with -o wide CONTAINERS, IMAGES, SELECTOR. */
#define DEPLOYMENT_NCOLUMNS 8
extern const api_column deployment_columns[DEPLOYMENT_NCOLUMNS];
extern const api_kind_strategy deployment_strategy; /* API_GENERATION_SPEC_ANNOTATIONS */

/* ---- core v1 Event ------------------------------------------------------------------------ */

#define EVENT_GROUP      ""
#define EVENT_VERSION    "v1"
#define EVENT_KIND       "Event"
#define EVENT_LIST_KIND  "EventList"
#define EVENT_RESOURCE   "events"
#define EVENT_SINGULAR   "event"
#define EVENT_SHORT_NAME "ev"

/*
 * kube applies no defaults to core v1 Events (client-go sets count, type, timestamps itself),
 * so there is no event_default.
 *
 * Validates an Event as kube's legacy rules for core v1 requests do: the name only as a path
 * segment (not ".", "..", no '/' or '%': kube checks no stricter rule for v1 Events) with the
 * rest of metadata as meta_validate; involvedObject.namespace must match metadata.namespace
 * ("does not match event.namespace"; an empty one is allowed in "" or "default"); when eventTime
 * is set, reportingComponent, reportingInstance, action and reason are required and limited
 * (128, 128, 128, 128 characters; message 1024); types of the common fields (strings, count an
 * integer, timestamps RFC 3339). kube has no update-specific rule for v1 Events.
 */
void event_validate(const cJSON *obj, const cJSON *old, api_error *err);

/* Cells (kube's printEvent). LAST SEEN: since lastTimestamp, else FIRST SEEN's value; with a
   series, since series.lastObservedTime. FIRST SEEN: since firstTimestamp, else eventTime.
   OBJECT: "<kind lower-cased>/<name>" of involvedObject (just the kind without a name).
   SOURCE: "component, host" of source, falling back to reportingComponent/reportingInstance.
   COUNT: series.count, else count, else 1. MESSAGE: trimmed of surrounding blanks. */
cJSON *event_cell_last_seen(const cJSON *obj, int64_t now_s);
cJSON *event_cell_type(const cJSON *obj, int64_t now_s);
cJSON *event_cell_reason(const cJSON *obj, int64_t now_s);
cJSON *event_cell_object(const cJSON *obj, int64_t now_s);
cJSON *event_cell_subobject(const cJSON *obj, int64_t now_s); /* involvedObject.fieldPath */
cJSON *event_cell_source(const cJSON *obj, int64_t now_s);
cJSON *event_cell_message(const cJSON *obj, int64_t now_s);
cJSON *event_cell_first_seen(const cJSON *obj, int64_t now_s);
cJSON *event_cell_count(const cJSON *obj, int64_t now_s);

/* LAST SEEN, TYPE, REASON, OBJECT, MESSAGE; with -o wide SUBOBJECT, SOURCE, FIRST SEEN, COUNT,
   NAME (in kube's order: the wide ones are interleaved). */
#define EVENT_NCOLUMNS 10
extern const api_column event_columns[EVENT_NCOLUMNS];
extern const api_kind_strategy event_strategy; /* API_GENERATION_NONE */

/* ---- core v1 Namespace -------------------------------------------------------------------- */

#define NAMESPACE_GROUP      ""
#define NAMESPACE_VERSION    "v1"
#define NAMESPACE_KIND       "Namespace"
#define NAMESPACE_LIST_KIND  "NamespaceList"
#define NAMESPACE_RESOURCE   "namespaces"
#define NAMESPACE_SINGULAR   "namespace"
#define NAMESPACE_SHORT_NAME "ns"

#define NAMESPACE_FINALIZER    "kubernetes"
#define NAMESPACE_NAME_LABEL   "kubernetes.io/metadata.name"
#define NAMESPACE_PHASE_ACTIVE "Active"

/*
 * kube's defaults: the label kubernetes.io/metadata.name set to the name (always, overwriting);
 * spec.finalizers containing "kubernetes" (appended when missing: kube adds it on create and
 * keeps it on update, and no namespace controller runs here to remove it); status.phase
 * "Active" when unset. Creates metadata.labels, spec and status when absent.
 */
void namespace_default(cJSON *obj);

/*
 * Validates a Namespace: the name a DNS-1123 label, the rest of metadata as meta_validate (and
 * meta_validate_update on update); spec.finalizers an array of qualified names, each either
 * "kubernetes" or containing a '/' (kube's "name is neither a standard finalizer name nor is it
 * fully qualified"); status.phase a string.
 */
void namespace_validate(const cJSON *obj, const cJSON *old, api_error *err);

cJSON *namespace_cell_status(const cJSON *obj, int64_t now_s); /* status.phase */

/* NAME, STATUS, AGE. */
#define NAMESPACE_NCOLUMNS 3
extern const api_column namespace_columns[NAMESPACE_NCOLUMNS];
extern const api_kind_strategy namespace_strategy; /* API_GENERATION_NONE */

/* ---- coordination.k8s.io/v1 Lease -------------------------------------------------------- */

#define LEASE_GROUP     "coordination.k8s.io"
#define LEASE_VERSION   "v1"
#define LEASE_KIND      "Lease"
#define LEASE_LIST_KIND "LeaseList"
#define LEASE_RESOURCE  "leases"
#define LEASE_SINGULAR  "lease"

/*
 * kube applies no defaults to Leases, so there is no lease_default.
 *
 * Validates a Lease: metadata with the name a DNS-1123 subdomain; spec.holderIdentity a string;
 * spec.leaseDurationSeconds an integer > 0; spec.leaseTransitions an integer >= 0;
 * acquireTime and renewTime RFC 3339 times; spec.strategy "OldestEmulationVersion" or a
 * qualified name with a '/'; spec.preferredHolder only with a strategy.
 */
void lease_validate(const cJSON *obj, const cJSON *old, api_error *err);

cJSON *lease_cell_holder(const cJSON *obj, int64_t now_s); /* spec.holderIdentity */

/* NAME, HOLDER, AGE. */
#define LEASE_NCOLUMNS 3
extern const api_column lease_columns[LEASE_NCOLUMNS];
extern const api_kind_strategy lease_strategy; /* API_GENERATION_NONE */

#endif
