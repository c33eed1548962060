/*
 * foo_deployment.c - the Deployment a Foo implies and the drift check (foo_deployment.h).
 *
 * The drift check compares only the fields the Foo decides, each in the form the server keeps
 * it, so that what the server adds on create (defaults) or what other tools add (labels,
 * annotations) never counts as drift: otherwise the controller would rewrite every Deployment on
 * every event, for ever.
 */
#include "api/foo_deployment.h"
#include "api/foo.h"

#include "common/alloc.h"
#include "common/json.h"

#include <stdint.h>
#include <string.h>

/* ---- reading a Foo ------------------------------------------------------------------------- */

/* A string member of foo's spec when set to a non-empty string, else NULL. */
static const char *spec_string(const cJSON *foo, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_path(foo, "spec"), key);
    return cJSON_IsString(v) && v->valuestring && *v->valuestring ? v->valuestring : NULL;
}

static const char *foo_name(const cJSON *foo)
{
    const char *name = json_path_string(foo, "metadata.name");
    return name ? name : "";
}

const char *foo_deployment_name(const cJSON *foo)
{
    const char *name = spec_string(foo, "deploymentName");
    return name ? name : foo_name(foo);
}

const char *foo_deployment_namespace(const cJSON *foo)
{
    const char *ns = spec_string(foo, "namespace");
    return ns ? ns : FOO_DEFAULT_NAMESPACE;
}

int64_t foo_spec_replicas(const cJSON *foo)
{
    int64_t n;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json_path(foo, "spec"), "replicas");
    return json_int64(v, 0, INT32_MAX, &n) ? n : FOO_DEFAULT_REPLICAS;
}

char *foo_selector_string(const cJSON *foo)
{
    const char *name = foo_name(foo);
    return *name ? xasprintf("%s=%s", FOO_SELECTOR_LABEL, name) : NULL;
}

/* ---- the desired Deployment ---------------------------------------------------------------- */

static cJSON *owner_reference(const char *name, const char *uid)
{
    cJSON *ref = cJSON_CreateObject();
    json_set_string(ref, "apiVersion", FOO_API_VERSION);
    json_set_string(ref, "kind", FOO_KIND);
    json_set_string(ref, "name", name);
    json_set_string(ref, "uid", uid);
    json_set_bool(ref, "controller", true);
    json_set_bool(ref, "blockOwnerDeletion", true);
    return ref;
}

static cJSON *metadata(const cJSON *foo, const char *name, const char *uid)
{
    cJSON *meta = cJSON_CreateObject();
    json_set_string(meta, "name", foo_deployment_name(foo));
    json_set_string(meta, "namespace", foo_deployment_namespace(foo));
    cJSON *labels = json_ensure_object(meta, "labels");
    json_set_string(labels, FOO_LABEL_NAME, FOO_LABEL_NAME_VALUE);
    json_set_string(labels, FOO_LABEL_INSTANCE, name);
    json_set_string(labels, FOO_LABEL_MANAGED_BY, FOO_LABEL_MANAGED_BY_VALUE);
    cJSON *refs = cJSON_CreateArray();
    cJSON_AddItemToArray(refs, owner_reference(name, uid));
    json_set_item(meta, "ownerReferences", refs);
    return meta;
}

static cJSON *pod_template(const cJSON *foo, const char *name)
{
    cJSON *tmpl = cJSON_CreateObject();
    cJSON *meta = json_ensure_object(tmpl, "metadata");
    json_set_string(json_ensure_object(meta, "labels"), FOO_SELECTOR_LABEL, name);
    const char *restarted = spec_string(foo, "restartedAt");
    if (restarted)
        json_set_string(json_ensure_object(meta, "annotations"), FOO_RESTARTED_AT_ANNOTATION,
                        restarted);
    const char *image = spec_string(foo, "image");
    cJSON *container = cJSON_CreateObject();
    json_set_string(container, "name", FOO_CONTAINER_NAME);
    json_set_string(container, "image", image ? image : FOO_DEFAULT_IMAGE);
    cJSON *containers = cJSON_CreateArray();
    cJSON_AddItemToArray(containers, container);
    json_set_item(json_ensure_object(tmpl, "spec"), "containers", containers);
    return tmpl;
}

cJSON *foo_desired_deployment(const cJSON *foo)
{
    const char *name = foo_name(foo);
    const char *uid = json_path_string(foo, "metadata.uid");
    if (!*name || !uid || !*uid)
        return NULL;
    cJSON *d = cJSON_CreateObject();
    json_set_string(d, "apiVersion", FOO_DEPLOYMENT_API_VERSION);
    json_set_string(d, "kind", FOO_DEPLOYMENT_KIND);
    json_set_item(d, "metadata", metadata(foo, name, uid));
    cJSON *spec = json_ensure_object(d, "spec");
    json_set_number(spec, "replicas", (double)foo_spec_replicas(foo));
    cJSON *match = json_ensure_object(json_ensure_object(spec, "selector"), "matchLabels");
    json_set_string(match, FOO_SELECTOR_LABEL, name);
    json_set_item(spec, "template", pod_template(foo, name));
    return d;
}

/* ---- drift --------------------------------------------------------------------------------- */

/* Deployment spec.replicas as the server keeps it: absent is defaulted to 1; -1 when invalid. */
static int64_t deployment_replicas(const cJSON *d)
{
    const cJSON *v = json_path(d, "spec.replicas");
    if (!v)
        return 1;
    int64_t n;
    return json_int64(v, 0, INT32_MAX, &n) ? n : -1;
}

/* True when every member of `want` (a string map) is in `have` with the same string value. */
static bool has_all_strings(const cJSON *want, const cJSON *have)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, want)
    {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(have, w->string);
        if (!cJSON_IsString(w) || !cJSON_IsString(h) || strcmp(w->valuestring, h->valuestring))
            return false;
    }
    return true;
}

/* The restart annotation of a Deployment's pod template, or NULL when absent. */
static const char *restart_annotation(const cJSON *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        json_path(d, "spec.template.metadata.annotations"), FOO_RESTARTED_AT_ANNOTATION);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool same_optional_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The container named "app" in the pod template of d, or NULL. */
static cJSON *app_container(const cJSON *d)
{
    cJSON *c;
    cJSON_ArrayForEach(c, json_path(d, "spec.template.spec.containers"))
    {
        const char *name = json_path_string(c, "name");
        if (name && !strcmp(name, FOO_CONTAINER_NAME))
            return c;
    }
    return NULL;
}

static bool image_matches(const cJSON *desired, const cJSON *actual)
{
    const cJSON *want = app_container(desired);
    const cJSON *have = app_container(actual);
    if (!want || !have)
        return !want && !have;
    return same_optional_string(json_path_string(want, "image"), json_path_string(have, "image"));
}

bool foo_deployment_drifted(const cJSON *desired, const cJSON *actual)
{
    if (!cJSON_IsObject(actual))
        return true;
    return deployment_replicas(desired) != deployment_replicas(actual) ||
           !image_matches(desired, actual) ||
           !has_all_strings(json_path(desired, "metadata.labels"),
                            json_path(actual, "metadata.labels")) ||
           !json_equal(json_path(desired, "spec.selector"), json_path(actual, "spec.selector")) ||
           !has_all_strings(json_path(desired, "spec.template.metadata.labels"),
                            json_path(actual, "spec.template.metadata.labels")) ||
           !same_optional_string(restart_annotation(desired), restart_annotation(actual));
}

/* ---- repair -------------------------------------------------------------------------------- */

/* Sets every member of the string map `from` in the object parent[key] (created if needed). */
static void set_strings(cJSON *parent, const char *key, const cJSON *from)
{
    if (!cJSON_IsObject(from))
        return;
    cJSON *to = json_ensure_object(parent, key);
    const cJSON *v;
    cJSON_ArrayForEach(v, from)
    {
        json_set_item(to, v->string, cJSON_Duplicate(v, true));
    }
}

static void set_restart_annotation(cJSON *tmpl_meta, const char *value)
{
    if (value) {
        json_set_string(json_ensure_object(tmpl_meta, "annotations"), FOO_RESTARTED_AT_ANNOTATION,
                        value);
        return;
    }
    cJSON *ann = cJSON_GetObjectItemCaseSensitive(tmpl_meta, "annotations");
    json_remove(ann, FOO_RESTARTED_AT_ANNOTATION);
    if (cJSON_IsObject(ann) && !ann->child)
        json_remove(tmpl_meta, "annotations");
}

static void set_image(const cJSON *desired, cJSON *updated)
{
    cJSON *have = app_container(updated);
    if (have) {
        const char *image = json_path_string(app_container(desired), "image");
        json_set_string(have, "image", image ? image : FOO_DEFAULT_IMAGE);
        return;
    }
    cJSON *pod_spec = json_ensure_object(
        json_ensure_object(json_ensure_object(updated, "spec"), "template"), "spec");
    const cJSON *containers = json_path(desired, "spec.template.spec.containers");
    if (containers)
        json_set_item(pod_spec, "containers", cJSON_Duplicate(containers, true));
}

cJSON *foo_deployment_updated(const cJSON *desired, const cJSON *actual)
{
    cJSON *u = cJSON_IsObject(actual) ? cJSON_Duplicate(actual, true) : cJSON_CreateObject();
    set_strings(json_ensure_object(u, "metadata"), "labels", json_path(desired, "metadata.labels"));
    cJSON *spec = json_ensure_object(u, "spec");
    json_set_number(spec, "replicas", (double)deployment_replicas(desired));
    const cJSON *selector = json_path(desired, "spec.selector");
    if (selector)
        json_set_item(spec, "selector", cJSON_Duplicate(selector, true));
    cJSON *tmpl_meta = json_ensure_object(json_ensure_object(spec, "template"), "metadata");
    set_strings(tmpl_meta, "labels", json_path(desired, "spec.template.metadata.labels"));
    set_restart_annotation(tmpl_meta, restart_annotation(desired));
    set_image(desired, u);
    return u;
}

/* ---- ownership ----------------------------------------------------------------------------- */

bool foo_owner_is_foo(const char *kind, const char *api_version)
{
    size_t glen = strlen(FOO_GROUP);
    return kind && !strcmp(kind, FOO_KIND) && api_version &&
           !strncmp(api_version, FOO_GROUP, glen) && api_version[glen] == '/' &&
           api_version[glen + 1];
}

bool foo_owner_ref_is_foo(const cJSON *ref)
{
    return foo_owner_is_foo(json_path_string(ref, "kind"), json_path_string(ref, "apiVersion"));
}

bool foo_deployment_controlled_by(const cJSON *deployment, const char *foo_uid)
{
    if (!foo_uid || !*foo_uid)
        return false;
    const cJSON *ref;
    cJSON_ArrayForEach(ref, json_path(deployment, "metadata.ownerReferences"))
    {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ref, "controller")))
            continue;
        const char *uid = json_path_string(ref, "uid");
        /* only one controller reference is allowed, so the first one decides */
        return foo_owner_ref_is_foo(ref) && uid && !strcmp(uid, foo_uid);
    }
    return false;
}
