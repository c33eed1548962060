/*
 * foo_deployment.h - the apps/v1 Deployment a Foo implies (docs/design.md §2, docs/controller.md
 * §2), and how to tell whether a live Deployment has drifted from it.
 *
 * The controller builds the desired Deployment from the Foo, compares it with the one it reads
 * from its cache, and writes only what differs. Everything here is a pure function of cJSON
 * trees in wire form: no I/O, no globals, thread-safe. Missing spec fields of the Foo read as
 * their defaults (api/foo.h), so an undefaulted Foo still yields the Deployment the server's
 * defaulted copy would.
 */
#ifndef FOO_API_FOO_DEPLOYMENT_H
#define FOO_API_FOO_DEPLOYMENT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define FOO_DEPLOYMENT_API_VERSION "apps/v1"
#define FOO_DEPLOYMENT_KIND        "Deployment"
/* The one container of the pod template. */
#define FOO_CONTAINER_NAME "app"
/* The labels every Deployment of a Foo carries (Kubernetes' recommended labels). */
#define FOO_LABEL_NAME             "app.kubernetes.io/name"
#define FOO_LABEL_INSTANCE         "app.kubernetes.io/instance"
#define FOO_LABEL_MANAGED_BY       "app.kubernetes.io/managed-by"
#define FOO_LABEL_NAME_VALUE       "foo"
#define FOO_LABEL_MANAGED_BY_VALUE "foo-controller-manager"

/*
 * The Deployment's name and namespace for foo: spec.deploymentName (default metadata.name) and
 * spec.namespace (default "default"). Borrowed from foo (or a static default); "" when foo has
 * no name. Never NULL.
 */
const char *foo_deployment_name(const cJSON *foo);
const char *foo_deployment_namespace(const cJSON *foo);

/* spec.replicas of foo: its value when an integer in [0, INT32_MAX], else the default 1. */
int64_t foo_spec_replicas(const cJSON *foo);

/*
 * The pod label selector of foo as the string status.selector and /scale report:
 * "demo.example.com/foo=NAME". Caller frees. NULL when foo has no metadata.name.
 */
char *foo_selector_string(const cJSON *foo);

/*
 * The Deployment foo implies, as a new tree the caller frees (docs/design.md §2):
 *   apiVersion apps/v1, kind Deployment;
 *   metadata: name, namespace (above), labels app.kubernetes.io/{name: foo, instance: F,
 *     managed-by: foo-controller-manager}, ownerReferences [one: apiVersion
 *     demo.example.com/v1beta1, kind Foo, name F, uid, controller true, blockOwnerDeletion true];
 *   spec: replicas, selector.matchLabels {demo.example.com/foo: F}, template with that label,
 *     the annotation demo.example.com/restartedAt when spec.restartedAt is a non-empty string,
 *     and one container "app" with spec.image (default nginx:1.27).
 * Returns NULL when foo lacks a non-empty metadata.name or metadata.uid (an owner reference
 * needs both). The values are not validated: a name longer than a label value allows yields a
 * Deployment the server rejects, which is how the user learns of it.
 */
cJSON *foo_desired_deployment(const cJSON *foo);

/*
 * True when actual differs from desired in a field the Foo decides: spec.replicas (absent reads
 * as the server's default 1), the image of container "app" (or that container is missing),
 * each of desired's metadata labels, spec.selector (exactly), each of desired's template labels,
 * and the template annotation demo.example.com/restartedAt (present with the same value, or
 * absent in both). Everything else, including what the server fills in (strategy,
 * revisionHistoryLimit, imagePullPolicy, ...) and labels or annotations others add, is ignored,
 * so a freshly created and defaulted Deployment is not drifted. NULL actual counts as drifted.
 */
bool foo_deployment_drifted(const cJSON *desired, const cJSON *actual);

/*
 * The object to PUT to repair actual: a copy of actual (resourceVersion, status, defaults and
 * other people's labels and annotations kept) with every field foo_deployment_drifted checks set
 * as desired says: labels and template labels set key by key, replicas, selector replaced, the
 * restart annotation set or removed, the image of container "app" set (if actual has no such
 * container, the containers list becomes desired's). Caller frees. Neither input is modified.
 */
cJSON *foo_deployment_updated(const cJSON *desired, const cJSON *actual);

/*
 * True when the controlling owner reference of deployment (the one with controller: true) is
 * the Foo with uid foo_uid: kind Foo, an apiVersion of group demo.example.com, that uid.
 * False for a NULL deployment or an empty uid.
 */
bool foo_deployment_controlled_by(const cJSON *deployment, const char *foo_uid);

/*
 * True when ref (an ownerReference) names a Foo of our group, whatever its version:
 * kind "Foo" and apiVersion "demo.example.com/<version>".
 */
bool foo_owner_ref_is_foo(const cJSON *ref);
/* The same test on an owner's kind and apiVersion (either may be NULL: false), for callers that
   hold them already, such as an informer object's controller fields. */
bool foo_owner_is_foo(const char *kind, const char *api_version);

#endif
