/*
 * patchmeta.h - the strategic-merge-patch schemas ("patch meta") of the built-in kinds the
 * standalone server serves: which lists a patch merges, and by which key, as the patchStrategy
 * and patchMergeKey tags of kube's Go types (k8s.io/api) say. Consumed by smp_apply
 * (common/strategicpatch.h); docs/api.md §5.5 lists the merged lists.
 *
 * Only the paths that lead to a merged list or a retainKeys object are described; every other
 * list is replaced whole and every object merged, which is kube's default. Foo has no schema: a
 * strategic merge patch of a Foo stays a merge patch (decision D4).
 *
 * The schemas are static constants: the pointers returned stay valid for the life of the
 * process, and the functions are pure and thread-safe.
 */
#ifndef FOO_API_PATCHMETA_H
#define FOO_API_PATCHMETA_H

#include "common/strategicpatch.h"

/*
 * apps/v1 Deployment. metadata (ObjectMeta): finalizers merged as a set, ownerReferences by uid.
 * spec.strategy: retainKeys. spec.template.metadata: ObjectMeta. spec.template.spec (PodSpec):
 * containers, initContainers, ephemeralContainers by name, and in each of their elements env by
 * name, ports by containerPort, volumeMounts by mountPath, volumeDevices by devicePath; volumes by
 * name (retainKeys); imagePullSecrets by name; hostAliases by ip; topologySpreadConstraints by
 * topologyKey; schedulingGates by name; resourceClaims by name (retainKeys).
 * status.conditions by type.
 */
const smp_schema *patchmeta_deployment(void);

/* core/v1 Event: ObjectMeta only (no other field of an Event carries a patch tag). */
const smp_schema *patchmeta_event(void);

/* coordination.k8s.io/v1 Lease: ObjectMeta only. */
const smp_schema *patchmeta_lease(void);

/* core/v1 Namespace: ObjectMeta and status.conditions by type; spec.finalizers is replaced whole
   (it carries no patch tag). */
const smp_schema *patchmeta_namespace(void);

#endif
