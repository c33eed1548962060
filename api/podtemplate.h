/*
 * podtemplate.h - private to api/: kube's defaults and the commonly met validation rules of a pod
 * template ({"metadata":{...},"spec":{PodSpec}}), as embedded in a Deployment's spec.template
 * (and in any later workload kind).
 *
 * Defaults are core/v1's SetDefaults_PodSpec, SetDefaults_Container, SetDefaults_Probe,
 * SetDefaults_HTTPGetAction, SetDefaults_ObjectFieldSelector, the volume sources' defaultMode
 * and the declarative ports[].protocol default. Validation covers what kubectl users meet first
 * (containers, names, images, ports, pull and termination-message policies, dnsPolicy), not all
 * of kube's PodSpec validation.
 *
 * Functions accept any JSON: members of the wrong type are left alone by the defaults and
 * reported by the validation. Pure; thread-safe for distinct objects.
 */
#ifndef FOO_API_PODTEMPLATE_H
#define FOO_API_PODTEMPLATE_H

#include "common/apierr.h"

#include <cjson/cJSON.h>

#define POD_PULL_ALWAYS         "Always"
#define POD_PULL_IF_NOT_PRESENT "IfNotPresent"

/*
 * kube's default imagePullPolicy for an image reference: "Always" when its tag is "latest" or it
 * has neither tag nor digest ("nginx"), else "IfNotPresent" ("nginx:1.27", "nginx@sha256:...",
 * and references that do not parse). Returns a static string.
 */
const char *pod_default_pull_policy(const char *image);

/*
 * Fills the defaults into the pod template `tmpl` (an object; anything else is left alone).
 * Creates tmpl.spec when absent, since kube defaults the zero PodSpec too.
 */
void pod_template_default(cJSON *tmpl);

/*
 * Validates the pod template at `path` (e.g. "spec.template"; NULL tmpl counts as an empty
 * template, which lacks containers): template labels, containers and initContainers (names
 * required DNS-1123 labels, unique across both lists; image required; ports; policies) and
 * dnsPolicy. Appends causes to err.
 */
void pod_template_validate(const cJSON *tmpl, const char *path, api_error *err);

#endif
