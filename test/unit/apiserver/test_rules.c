/*
 * test_rules.c - the write rules of apiserver/resource/rules.c (docs/api.md §4, §5.3-§5.6, §8),
 * without a server: intents are built by hand (as_write_intent), "stored" objects are what a
 * create returned with a resourceVersion added, as storage would. One test per rule, for Foo (the
 * registry of as_registry_new(false)) and for the built-in kinds of the standalone registry
 * (deployments, events, namespaces, leases).
 */
#include "apiserver/resource/registry.h"
#include "apiserver/resource/rules.h"

#include "common/alloc.h"
#include "common/apierr.h"
#include "common/json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The request's wall clock, and the same instant as the server writes it. */
#define NOW_S    1767225600 /* 2026-01-01T00:00:00Z */
#define NOW_TEXT "2026-01-01T00:00:00Z"
#define LATER_S  (NOW_S + 3600)
#define LATER    "2026-01-01T01:00:00Z"

#define FOO_MODIFIED                                                                               \
    "Operation cannot be fulfilled on foos.demo.example.com \"web\": the object has been "         \
    "modified; please apply your changes to the latest version and try again"

static as_registry *foo_registry; /* Foo only: the aggregated server's table */
static as_registry *standalone;   /* Foo and the built-in kinds */
static const as_resource *foos, *deployments, *events, *namespaces, *leases;

static void setup(void)
{
    alloc_install_cjson_hooks();
    foo_registry = as_registry_new(false);
    standalone = as_registry_new(true);
    foos = as_registry_find(foo_registry, "demo.example.com", "v1beta1", "foos");
    deployments = as_registry_find(standalone, "apps", "v1", "deployments");
    events = as_registry_find(standalone, "", "v1", "events");
    namespaces = as_registry_find(standalone, "", "v1", "namespaces");
    leases = as_registry_find(standalone, "coordination.k8s.io", "v1", "leases");
    cr_assert(foos && deployments && events && namespaces && leases);
}

static void teardown(void)
{
    as_registry_free(foo_registry);
    as_registry_free(standalone);
}

TestSuite(rules, .init = setup, .fini = teardown);

/* ---- objects ------------------------------------------------------------------------------ */

#define FOO_WEB                                                                                    \
    "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\",\"metadata\":{\"name\":"        \
    "\"web\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":2,\"image\":\"nginx:1.27\"}}"

/* `kubectl create deployment web --image=nginx:1.27` with two containers. */
#define DEPLOY_WEB                                                                                 \
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","          \
    "\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":"        \
    "{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":"       \
    "{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.27\",\"ports\":[{\"containerPort\":" \
    "80}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}]},{\"name\":\"side\",\"image\":"               \
    "\"busybox:1.36\",\"args\":[\"sleep\",\"1d\"]}]}}}}"

#define EVENT_E1                                                                                   \
    "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"web.1\"},"                 \
    "\"involvedObject\":{\"kind\":\"Deployment\",\"name\":\"web\",\"namespace\":\"default\"},"     \
    "\"reason\":\"ScalingReplicaSet\",\"message\":\"Scaled up\",\"type\":\"Normal\",\"count\":1}"

#define LEASE_CTL                                                                                  \
    "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":"        \
    "\"ctl\"},\"spec\":{\"holderIdentity\":\"a\",\"leaseDurationSeconds\":15,\"renewTime\":"       \
    "\"2026-01-01T00:00:00.000000Z\"}}"

static cJSON *parse(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    cr_assert_not_null(j, "bad test JSON: %s", json);
    return j;
}

/* Replaces (or, value NULL, removes) the JSON value at a dotted path whose parent exists. */
static void set_at(cJSON *obj, const char *dotted, const char *value)
{
    char parent[256] = "";
    const char *dot = strrchr(dotted, '.');
    const char *key = dot ? dot + 1 : dotted;
    if (dot)
        snprintf(parent, sizeof parent, "%.*s", (int)(dot - dotted), dotted);
    cJSON *p = dot ? json_path(obj, parent) : obj;
    cr_assert(cJSON_IsObject(p), "no object at %s", parent);
    if (value)
        json_set_item(p, key, parse(value));
    else
        json_remove(p, key);
}

static const char *str_at(const cJSON *obj, const char *dotted)
{
    const char *s = json_path_string(obj, dotted);
    cr_assert_not_null(s, "no string at %s", dotted);
    return s;
}

static double num_at(const cJSON *obj, const char *dotted)
{
    const cJSON *v = json_path(obj, dotted);
    cr_assert(cJSON_IsNumber(v), "no number at %s", dotted);
    return v->valuedouble;
}

/* Whether obj's value at dotted is the JSON text want (compared as JSON). */
static void expect_json_at(const cJSON *obj, const char *dotted, const char *want)
{
    cJSON *w = parse(want);
    char *got = json_print(json_path(obj, dotted));
    cr_expect(json_equal(json_path(obj, dotted), w), "%s: want %s, got %s", dotted, want,
              got ? got : "(absent)");
    free(got);
    cJSON_Delete(w);
}

/* Whether a and b hold the same value at dotted (both absent counts as the same). */
static void expect_same_at(const cJSON *a, const cJSON *b, const char *dotted)
{
    char *x = json_print(json_path(a, dotted)), *y = json_print(json_path(b, dotted));
    cr_expect(json_equal(json_path(a, dotted), json_path(b, dotted)), "%s: %s, want %s", dotted,
              x ? x : "(absent)", y ? y : "(absent)");
    free(x);
    free(y);
}

static void expect_error(const api_error *e, int code, const char *reason, const char *message)
{
    cr_expect_eq(e->code, code, "code %d (%s)", e->code, e->message ? e->message : "");
    cr_expect_str_eq(e->reason ? e->reason : "", reason);
    cr_expect_str_eq(e->message ? e->message : "", message);
}

/* ---- intents ------------------------------------------------------------------------------ */

/* An intent as the rest layer fills it; body is taken (parsed from JSON text, or NULL). */
static as_write_intent intent(const as_resource *r, const char *ns, const char *name, op_kind kind,
                              const char *body)
{
    as_write_intent in = {.res = r,
                          .ns = ns ? xstrdup(ns) : NULL,
                          .name = xstrdup(name ? name : ""),
                          .kind = kind,
                          .body = body ? parse(body) : NULL,
                          .now_s = NOW_S};
    return in;
}

static void intent_free(as_write_intent *in)
{
    free(in->ns);
    free(in->name);
    free(in->generate_prefix);
    cJSON_Delete(in->body);
}

/* The stored object a create of body makes, with the resourceVersion storage gives it. */
static cJSON *stored(const as_resource *r, const char *ns, const char *body, const char *rv)
{
    as_write_intent in = intent(r, ns, NULL, OP_CREATE, body);
    cJSON *obj = NULL;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(as_rules_create(&in, &obj, &e), OUT_WRITE, "create: %s",
                 e.message ? e.message : "");
    json_set_string(json_path(obj, "metadata"), "resourceVersion", rv);
    intent_free(&in);
    return obj;
}

/* A stored Foo "web" at resourceVersion 5 with a status. */
static cJSON *stored_foo(void)
{
    cJSON *foo = stored(foos, NULL, FOO_WEB, "5");
    set_at(foo, "status",
           "{\"replicas\":2,\"availableReplicas\":2,\"selector\":\"demo.example.com/foo=web\"}");
    return foo;
}

/* The object with a deletionTimestamp and these finalizers (JSON array text), as a delete left
   it. */
static void make_terminating(cJSON *obj, const char *finalizers)
{
    set_at(obj, "metadata.finalizers", finalizers);
    set_at(obj, "metadata.deletionTimestamp", "\"" NOW_TEXT "\"");
    set_at(obj, "metadata.deletionGracePeriodSeconds", "0");
}

/* Runs a create of body; *next is set on OUT_WRITE. */
static outcome create(as_write_intent *in, cJSON **next, api_error *e)
{
    *next = NULL;
    return as_rules_create(in, next, e);
}

/* Runs the incoming step and the update rules, as the rest layer does for PUT, PATCH, /scale and
   /bar. *next is set on OUT_WRITE. */
static outcome change(as_write_intent *in, const cJSON *current, cJSON **next, api_error *e)
{
    *next = NULL;
    cJSON *incoming = as_rules_incoming(in, current, e);
    if (!incoming)
        return OUT_ERROR;
    outcome out = as_rules_update(in, incoming, current, next, e);
    cJSON_Delete(incoming);
    return out;
}

/* PUT of body (JSON text) on the main resource, or on /status, at the URL of current. */
static outcome put(const as_resource *r, const char *ns, const char *body, bool status,
                   const cJSON *current, cJSON **next, api_error *e)
{
    as_write_intent in = intent(r, ns, str_at(current, "metadata.name"), OP_UPDATE, body);
    in.status = status;
    outcome out = change(&in, current, next, e);
    intent_free(&in);
    return out;
}

/* PUT of the current object with one value replaced (value NULL: removed). */
static outcome put_with(const as_resource *r, const char *ns, const cJSON *current,
                        const char *dotted, const char *value, cJSON **next, api_error *e)
{
    cJSON *body = cJSON_Duplicate(current, 1);
    set_at(body, dotted, value);
    char *text = json_print(body);
    outcome out = put(r, ns, text, false, current, next, e);
    free(text);
    cJSON_Delete(body);
    return out;
}

/* PATCH of body (JSON text) of this type at the URL of current. */
static outcome patch(const as_resource *r, const char *ns, patch_type type, const char *body,
                     const cJSON *current, cJSON **next, api_error *e)
{
    as_write_intent in = intent(r, ns, str_at(current, "metadata.name"), OP_PATCH, body);
    in.ptype = type;
    outcome out = change(&in, current, next, e);
    intent_free(&in);
    return out;
}

/* ---- create ------------------------------------------------------------------------------- */

Test(rules, create_sets_the_server_metadata_of_a_foo)
{
    as_write_intent in = intent(foos, NULL, NULL, OP_CREATE, FOO_WEB);
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_WRITE);
    cr_expect_str_eq(in.name, "web");
    cr_expect_eq(strlen(str_at(next, "metadata.uid")), 36);
    cr_expect_str_eq(str_at(next, "metadata.creationTimestamp"), NOW_TEXT);
    cr_expect_eq(num_at(next, "metadata.generation"), 1);
    cr_expect_null(json_path(next, "metadata.resourceVersion"));
    /* Type meta first, as kube serializes it. */
    cr_expect_str_eq(next->child->string, "apiVersion");
    cr_expect_str_eq(next->child->valuestring, "demo.example.com/v1beta1");
    cr_expect_str_eq(next->child->next->string, "kind");
    cr_expect_str_eq(next->child->next->valuestring, "Foo");
    cJSON_Delete(next);
    intent_free(&in);
}

Test(rules, create_gives_every_object_its_own_uid)
{
    cJSON *a = stored(foos, NULL, FOO_WEB, "5");
    cJSON *b = stored(foos, NULL, FOO_WEB, "6");
    cr_expect_str_neq(str_at(a, "metadata.uid"), str_at(b, "metadata.uid"));
    cJSON_Delete(a);
    cJSON_Delete(b);
}

Test(rules, create_replaces_what_the_client_sent_for_server_fields)
{
    as_write_intent in = intent(foos, NULL, NULL, OP_CREATE, FOO_WEB);
    set_at(in.body, "metadata.uid", "\"client-uid\"");
    set_at(in.body, "metadata.creationTimestamp", "\"2020-01-01T00:00:00Z\"");
    set_at(in.body, "metadata.generation", "7");
    set_at(in.body, "metadata.deletionTimestamp", "\"2020-01-01T00:00:00Z\"");
    set_at(in.body, "metadata.deletionGracePeriodSeconds", "30");
    set_at(in.body, "metadata.managedFields", "[{\"manager\":\"kubectl\"}]");
    set_at(in.body, "metadata.selfLink", "\"/apis/x\"");
    set_at(in.body, "metadata.annotations", "{}");
    set_at(in.body, "metadata.namespace", "\"default\""); /* Foo is cluster-scoped */
    set_at(in.body, "status", "{\"replicas\":9}");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect_str_neq(str_at(next, "metadata.uid"), "client-uid");
    cr_expect_str_eq(str_at(next, "metadata.creationTimestamp"), NOW_TEXT);
    cr_expect_eq(num_at(next, "metadata.generation"), 1);
    static const char *gone[] = {"metadata.deletionTimestamp",
                                 "metadata.deletionGracePeriodSeconds",
                                 "metadata.managedFields",
                                 "metadata.selfLink",
                                 "metadata.annotations",
                                 "metadata.namespace",
                                 "status"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        cr_expect_null(json_path(next, gone[i]), "%s kept", gone[i]);
    cJSON_Delete(next);
    intent_free(&in);
}

Test(rules, create_applies_the_foo_defaults)
{
    cJSON *foo = stored(foos, NULL, "{\"metadata\":{\"name\":\"web\"}}", "5");
    expect_json_at(foo, "spec",
                   "{\"deploymentName\":\"web\",\"namespace\":\"default\",\"replicas\":1,"
                   "\"image\":\"nginx:1.27\"}");
    cJSON_Delete(foo);
}

Test(rules, create_with_a_resource_version_is_400)
{
    as_write_intent in = intent(foos, NULL, NULL, OP_CREATE, FOO_WEB);
    set_at(in.body, "metadata.resourceVersion", "\"3\"");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_ERROR);
    expect_error(&e, 400, "BadRequest",
                 "resourceVersion should not be set on objects to be created");
    apierr_clear(&e);
    intent_free(&in);
}

Test(rules, create_with_generate_name_names_the_object)
{
    as_write_intent in =
        intent(foos, NULL, NULL, OP_CREATE, "{\"metadata\":{\"generateName\":\"web-\"}}");
    in.generate_prefix = xstrdup("web-");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_WRITE, "%s", e.message);
    const char *name = str_at(next, "metadata.name");
    cr_expect_str_eq(in.name, name);
    cr_assert_eq(strlen(name), strlen("web-") + 5, "%s", name);
    cr_expect_eq(strncmp(name, "web-", 4), 0, "%s", name);
    cr_expect_eq(strspn(name + 4, "bcdfghjklmnpqrstvwxz2456789"), 5, "%s", name);
    cr_expect_str_eq(str_at(next, "metadata.generateName"), "web-");
    cr_expect_str_eq(str_at(next, "spec.deploymentName"), name); /* defaults see the name */
    cJSON_Delete(next);
    intent_free(&in);
}

Test(rules, create_of_an_invalid_foo_is_422_in_kube_words)
{
    as_write_intent in = intent(foos, NULL, NULL, OP_CREATE, FOO_WEB);
    set_at(in.body, "spec.replicas", "2000");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_ERROR);
    expect_error(&e, 422, "Invalid",
                 "Foo.demo.example.com \"web\" is invalid: spec.replicas: Invalid value: 2000: "
                 "must be less than or equal to 1000");
    cr_expect_str_eq(e.kind, "Foo");
    cr_expect_str_eq(e.group, "demo.example.com");
    cr_expect_str_eq(e.name, "web");
    apierr_clear(&e);
    intent_free(&in);
}

Test(rules, create_of_a_deployment_takes_the_namespace_of_the_path)
{
    as_write_intent in = intent(deployments, "prod", NULL, OP_CREATE, DEPLOY_WEB);
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect_str_eq(str_at(next, "metadata.namespace"), "prod");
    cr_expect_str_eq(str_at(next, "apiVersion"), "apps/v1");
    cr_expect_str_eq(str_at(next, "kind"), "Deployment");
    cr_expect_eq(num_at(next, "metadata.generation"), 1);
    cr_expect_str_eq(str_at(next, "metadata.creationTimestamp"), NOW_TEXT);
    cJSON_Delete(next);
    intent_free(&in);

    /* The same namespace in the body is fine. */
    in = intent(deployments, "prod", NULL, OP_CREATE, DEPLOY_WEB);
    set_at(in.body, "metadata.namespace", "\"prod\"");
    cr_assert_eq(create(&in, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect_str_eq(str_at(next, "metadata.namespace"), "prod");
    cJSON_Delete(next);
    intent_free(&in);
}

Test(rules, create_in_another_namespace_than_the_body_is_400)
{
    as_write_intent in = intent(deployments, "prod", NULL, OP_CREATE, DEPLOY_WEB);
    set_at(in.body, "metadata.namespace", "\"dev\"");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_ERROR);
    expect_error(&e, 400, "BadRequest",
                 "the namespace of the provided object does not match the namespace sent on the "
                 "request");
    apierr_clear(&e);
    intent_free(&in);
}

Test(rules, create_applies_the_deployment_defaults)
{
    cJSON *d = stored(deployments, "default", DEPLOY_WEB, "5");
    expect_json_at(d, "spec.strategy",
                   "{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"25%\","
                   "\"maxSurge\":\"25%\"}}");
    cr_expect_eq(num_at(d, "spec.revisionHistoryLimit"), 10);
    cr_expect_eq(num_at(d, "spec.progressDeadlineSeconds"), 600);
    const cJSON *pod = json_path(d, "spec.template.spec");
    cr_expect_str_eq(str_at(pod, "restartPolicy"), "Always");
    cr_expect_str_eq(str_at(pod, "dnsPolicy"), "ClusterFirst");
    cr_expect_str_eq(str_at(pod, "schedulerName"), "default-scheduler");
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(pod, "containers"), 0);
    cr_expect_str_eq(str_at(c, "terminationMessagePath"), "/dev/termination-log");
    cr_expect_str_eq(str_at(c, "terminationMessagePolicy"), "File");
    cr_expect_str_eq(str_at(c, "imagePullPolicy"), "IfNotPresent");
    cJSON_Delete(d);
}

Test(rules, create_drops_the_status_of_a_deployment)
{
    as_write_intent in = intent(deployments, "default", NULL, OP_CREATE, DEPLOY_WEB);
    set_at(in.body, "status", "{\"replicas\":3}");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect_null(json_path(next, "status"));
    cJSON_Delete(next);
    intent_free(&in);
}

Test(rules, create_of_a_deployment_whose_selector_misses_the_template_is_422)
{
    as_write_intent in = intent(deployments, "default", NULL, OP_CREATE, DEPLOY_WEB);
    set_at(in.body, "spec.template.metadata.labels", "{\"app\":\"other\"}");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_ERROR);
    expect_error(&e, 422, "Invalid",
                 "Deployment.apps \"web\" is invalid: spec.template.metadata.labels: Invalid "
                 "value: map[string]string{\"app\":\"other\"}: `selector` does not match template "
                 "`labels`");
    cr_expect_str_eq(e.kind, "Deployment");
    cr_expect_str_eq(e.group, "apps");
    apierr_clear(&e);
    intent_free(&in);
}

Test(rules, create_of_an_event_sets_no_generation)
{
    as_write_intent in = intent(events, "default", NULL, OP_CREATE, EVENT_E1);
    set_at(in.body, "metadata.generation", "4");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect_null(json_path(next, "metadata.generation"));
    cr_expect_str_eq(str_at(next, "apiVersion"), "v1");
    cr_expect_str_eq(str_at(next, "kind"), "Event");
    cr_expect_str_eq(str_at(next, "metadata.namespace"), "default");
    cr_expect_eq(strlen(str_at(next, "metadata.uid")), 36);
    cr_expect_str_eq(str_at(next, "metadata.creationTimestamp"), NOW_TEXT);
    /* No defaults for v1 Events: what the client sent stays as sent. */
    cr_expect_str_eq(str_at(next, "reason"), "ScalingReplicaSet");
    cr_expect_eq(num_at(next, "count"), 1);
    cJSON_Delete(next);
    intent_free(&in);
}

Test(rules, create_of_an_event_about_another_namespace_is_422)
{
    as_write_intent in = intent(events, "prod", NULL, OP_CREATE, EVENT_E1);
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_ERROR);
    cr_expect_eq(e.code, 422);
    cr_expect_str_eq(e.kind, "Event");
    cr_expect_str_eq(e.group, "");
    cr_expect(strstr(e.message, "Event \"web.1\" is invalid: involvedObject.namespace") ==
                  e.message,
              "%s", e.message);
    cr_expect_not_null(strstr(e.message, "does not match event.namespace"), "%s", e.message);
    apierr_clear(&e);
    intent_free(&in);
}

Test(rules, create_of_a_lease_sets_no_generation)
{
    cJSON *l = stored(leases, "kube-system", LEASE_CTL, "5");
    cr_expect_null(json_path(l, "metadata.generation"));
    cr_expect_str_eq(str_at(l, "apiVersion"), "coordination.k8s.io/v1");
    cr_expect_str_eq(str_at(l, "kind"), "Lease");
    cr_expect_str_eq(str_at(l, "metadata.namespace"), "kube-system");
    cr_expect_str_eq(str_at(l, "spec.holderIdentity"), "a");
    cJSON_Delete(l);
}

Test(rules, create_of_a_lease_with_a_zero_duration_is_422)
{
    as_write_intent in = intent(leases, "kube-system", NULL, OP_CREATE, LEASE_CTL);
    set_at(in.body, "spec.leaseDurationSeconds", "0");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_ERROR);
    cr_expect_eq(e.code, 422);
    cr_expect(strstr(e.message, "Lease.coordination.k8s.io \"ctl\" is invalid: "
                                "spec.leaseDurationSeconds: Invalid value: 0: ") == e.message,
              "%s", e.message);
    apierr_clear(&e);
    intent_free(&in);
}

Test(rules, create_of_a_namespace_is_cluster_scoped_and_defaulted)
{
    as_write_intent in = intent(namespaces, NULL, NULL, OP_CREATE,
                                "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
                                "{\"name\":\"team-a\",\"namespace\":\"default\"},\"status\":"
                                "{\"phase\":\"Terminating\"}}");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect_null(json_path(next, "metadata.namespace"));
    cr_expect_null(json_path(next, "metadata.generation"));
    cr_expect_str_eq(str_at(next, "apiVersion"), "v1");
    expect_json_at(next, "metadata.labels", "{\"kubernetes.io/metadata.name\":\"team-a\"}");
    expect_json_at(next, "spec.finalizers", "[\"kubernetes\"]");
    /* The client's status is dropped, then defaulted. */
    cr_expect_str_eq(str_at(next, "status.phase"), "Active");
    cJSON_Delete(next);
    intent_free(&in);
}

Test(rules, create_of_a_namespace_with_a_bad_name_is_422)
{
    as_write_intent in =
        intent(namespaces, NULL, NULL, OP_CREATE, "{\"metadata\":{\"name\":\"Team_A\"}}");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(create(&in, &next, &e), OUT_ERROR);
    cr_expect_eq(e.code, 422);
    cr_expect(strstr(e.message, "Namespace \"Team_A\" is invalid: metadata.name: Invalid value: "
                                "\"Team_A\": a lowercase RFC 1123 label") == e.message,
              "%s", e.message);
    apierr_clear(&e);
    intent_free(&in);
}

/* ---- update ------------------------------------------------------------------------------- */

Test(rules, update_keeps_status_and_server_metadata_of_the_main_resource)
{
    cJSON *cur = stored_foo();
    cJSON *body = cJSON_Duplicate(cur, 1);
    set_at(body, "spec.replicas", "3");
    set_at(body, "status", "{\"replicas\":0}");
    set_at(body, "metadata.creationTimestamp", "\"2020-01-01T00:00:00Z\"");
    set_at(body, "metadata.generation", "40");
    set_at(body, "metadata.uid", NULL);
    set_at(body, "metadata.resourceVersion", NULL);
    char *text = json_print(body);
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put(foos, NULL, text, false, cur, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect_eq(num_at(next, "spec.replicas"), 3);
    expect_same_at(next, cur, "status");
    cr_expect_str_eq(str_at(next, "metadata.uid"), str_at(cur, "metadata.uid"));
    cr_expect_str_eq(str_at(next, "metadata.creationTimestamp"), NOW_TEXT);
    cr_expect_str_eq(str_at(next, "metadata.resourceVersion"), "5");
    cr_expect_eq(num_at(next, "metadata.generation"), 2);
    cJSON_Delete(next);
    free(text);
    cJSON_Delete(body);
    cJSON_Delete(cur);
}

Test(rules, update_of_metadata_only_keeps_the_generation)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(
        put_with(foos, NULL, cur, "metadata.labels", "{\"app\":\"web\",\"tier\":\"x\"}", &next, &e),
        OUT_WRITE, "%s", e.message);
    cr_expect_eq(num_at(next, "metadata.generation"), 1);
    expect_json_at(next, "metadata.labels", "{\"app\":\"web\",\"tier\":\"x\"}");
    cJSON_Delete(next);
    cr_assert_eq(put_with(foos, NULL, cur, "metadata.annotations", "{\"note\":\"x\"}", &next, &e),
                 OUT_WRITE, "%s", e.message);
    cr_expect_eq(num_at(next, "metadata.generation"), 1, "Foo ignores annotations");
    cJSON_Delete(next);
    cJSON_Delete(cur);
}

Test(rules, update_that_changes_nothing_is_a_noop)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    char *text = json_print(cur);
    cr_expect_eq(put(foos, NULL, text, false, cur, &next, &e), OUT_NOOP, "%s", e.message);
    free(text);
    /* Without a resourceVersion and with the server fields left out: still nothing to do. */
    cJSON *body = cJSON_Duplicate(cur, 1);
    set_at(body, "metadata.resourceVersion", NULL);
    set_at(body, "metadata.uid", NULL);
    set_at(body, "metadata.creationTimestamp", NULL);
    set_at(body, "metadata.generation", NULL);
    set_at(body, "status", NULL);
    text = json_print(body);
    cr_expect_eq(put(foos, NULL, text, false, cur, &next, &e), OUT_NOOP, "%s", e.message);
    free(text);
    cJSON_Delete(body);
    cJSON_Delete(cur);
}

Test(rules, update_with_another_name_is_400)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put_with(foos, NULL, cur, "metadata.name", "\"other\"", &next, &e), OUT_ERROR);
    expect_error(&e, 400, "BadRequest",
                 "the name of the object (other) does not match the name on the URL (web)");
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, update_with_a_stale_resource_version_is_409)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put_with(foos, NULL, cur, "metadata.resourceVersion", "\"4\"", &next, &e),
                 OUT_ERROR);
    expect_error(&e, 409, "Conflict", FOO_MODIFIED);
    cr_expect_str_eq(e.kind, "foos");
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, update_with_another_uid_is_409)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put_with(foos, NULL, cur, "metadata.uid", "\"u-2\"", &next, &e), OUT_ERROR);
    char want[256];
    snprintf(want, sizeof want,
             "Operation cannot be fulfilled on foos.demo.example.com \"web\": Precondition "
             "failed: UID in precondition: u-2, UID in object meta: %s",
             str_at(cur, "metadata.uid"));
    expect_error(&e, 409, "Conflict", want);
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, update_of_an_immutable_foo_field_is_422)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put_with(foos, NULL, cur, "spec.deploymentName", "\"other\"", &next, &e),
                 OUT_ERROR);
    expect_error(&e, 422, "Invalid",
                 "Foo.demo.example.com \"web\" is invalid: spec.deploymentName: Invalid value: "
                 "\"other\": field is immutable");
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, status_update_changes_only_the_status)
{
    cJSON *cur = stored_foo();
    cJSON *body = cJSON_Duplicate(cur, 1);
    set_at(body, "spec.replicas", "7");
    set_at(body, "metadata.labels", "{\"app\":\"changed\"}");
    set_at(body, "status", "{\"replicas\":1,\"observedGeneration\":1}");
    char *text = json_print(body);
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put(foos, NULL, text, true, cur, &next, &e), OUT_WRITE, "%s", e.message);
    expect_json_at(next, "status", "{\"replicas\":1,\"observedGeneration\":1}");
    cr_expect_eq(num_at(next, "spec.replicas"), 2);
    expect_json_at(next, "metadata.labels", "{\"app\":\"web\"}");
    cr_expect_eq(num_at(next, "metadata.generation"), 1);
    cJSON_Delete(next);
    free(text);
    cJSON_Delete(body);
    cJSON_Delete(cur);
}

Test(rules, status_update_is_validated_on_its_own)
{
    cJSON *cur = stored_foo();
    cJSON *body = cJSON_Duplicate(cur, 1);
    set_at(body, "status", "{\"replicas\":-1}");
    set_at(body, "spec.replicas", "5000"); /* ignored on /status, so not reported */
    char *text = json_print(body);
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put(foos, NULL, text, true, cur, &next, &e), OUT_ERROR);
    cr_expect_eq(e.code, 422);
    cr_expect_eq(apierr_cause_count(&e), 1, "%s", e.message);
    cr_expect(strstr(e.message, "Foo.demo.example.com \"web\" is invalid: status.replicas: ") ==
                  e.message,
              "%s", e.message);
    apierr_clear(&e);
    free(text);
    cJSON_Delete(body);
    cJSON_Delete(cur);
}

Test(rules, status_patch_changes_only_the_status)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    as_write_intent in = intent(deployments, "default", "web", OP_PATCH,
                                "{\"spec\":{\"replicas\":9},\"metadata\":{\"labels\":null},"
                                "\"status\":{\"replicas\":1,\"observedGeneration\":1}}");
    in.status = true;
    in.ptype = PATCH_MERGE;
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(change(&in, cur, &next, &e), OUT_WRITE, "%s", e.message);
    expect_json_at(next, "status", "{\"replicas\":1,\"observedGeneration\":1}");
    expect_same_at(next, cur, "spec");
    expect_same_at(next, cur, "metadata.labels");
    cr_expect_eq(num_at(next, "metadata.generation"), 1);
    cJSON_Delete(next);
    intent_free(&in);
    cJSON_Delete(cur);
}

Test(rules, update_cannot_start_a_deletion)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_expect_eq(
        put_with(foos, NULL, cur, "metadata.deletionTimestamp", "\"" NOW_TEXT "\"", &next, &e),
        OUT_NOOP, "%s", e.message);
    cJSON_Delete(cur);
}

Test(rules, deployment_generation_grows_on_spec_and_annotations_only)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put_with(deployments, "default", cur, "spec.replicas", "3", &next, &e), OUT_WRITE,
                 "%s", e.message);
    cr_expect_eq(num_at(next, "metadata.generation"), 2);
    cJSON_Delete(next);
    cr_assert_eq(
        put_with(deployments, "default", cur, "metadata.annotations", "{\"a\":\"1\"}", &next, &e),
        OUT_WRITE, "%s", e.message);
    cr_expect_eq(num_at(next, "metadata.generation"), 2, "annotations count for a Deployment");
    cJSON_Delete(next);
    cr_assert_eq(
        put_with(deployments, "default", cur, "metadata.labels", "{\"app\":\"x\"}", &next, &e),
        OUT_WRITE, "%s", e.message);
    cr_expect_eq(num_at(next, "metadata.generation"), 1, "labels do not");
    cJSON_Delete(next);
    cJSON_Delete(cur);
}

Test(rules, deployment_update_is_defaulted_before_it_is_compared)
{
    /* `kubectl replace` of the manifest it was created from: the defaults make it the same. */
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_expect_eq(put(deployments, "default", DEPLOY_WEB, false, cur, &next, &e), OUT_NOOP, "%s",
                 e.message);
    cJSON_Delete(cur);
}

Test(rules, deployment_update_in_another_namespace_is_400)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put_with(deployments, "default", cur, "metadata.namespace", "\"prod\"", &next, &e),
                 OUT_ERROR);
    expect_error(&e, 400, "BadRequest",
                 "the namespace of the provided object does not match the namespace sent on the "
                 "request");
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, deployment_selector_is_immutable)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    cJSON *body = cJSON_Duplicate(cur, 1);
    set_at(body, "spec.selector", "{\"matchLabels\":{\"app\":\"web\",\"v\":\"2\"}}");
    set_at(body, "spec.template.metadata.labels", "{\"app\":\"web\",\"v\":\"2\"}");
    char *text = json_print(body);
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put(deployments, "default", text, false, cur, &next, &e), OUT_ERROR);
    cr_expect_eq(e.code, 422);
    cr_expect_not_null(strstr(e.message, "spec.selector: Invalid value: "), "%s", e.message);
    cr_expect_not_null(strstr(e.message, "field is immutable"), "%s", e.message);
    apierr_clear(&e);
    free(text);
    cJSON_Delete(body);
    cJSON_Delete(cur);
}

Test(rules, deployment_status_update_is_validated_and_keeps_the_generation)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put(deployments, "default",
                     "{\"metadata\":{\"name\":\"web\"},\"status\":{\"replicas\":1,"
                     "\"updatedReplicas\":1,\"readyReplicas\":1,\"availableReplicas\":1,"
                     "\"observedGeneration\":1}}",
                     true, cur, &next, &e),
                 OUT_WRITE, "%s", e.message);
    cr_expect_eq(num_at(next, "status.availableReplicas"), 1);
    cr_expect_eq(num_at(next, "metadata.generation"), 1);
    expect_same_at(next, cur, "spec");
    cJSON_Delete(next);

    cr_assert_eq(put(deployments, "default",
                     "{\"metadata\":{\"name\":\"web\"},\"status\":{\"replicas\":1,"
                     "\"updatedReplicas\":2}}",
                     true, cur, &next, &e),
                 OUT_ERROR);
    cr_expect_eq(e.code, 422);
    cr_expect(strstr(e.message, "Deployment.apps \"web\" is invalid: status.updatedReplicas: ") ==
                  e.message,
              "%s", e.message);
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, event_and_lease_updates_never_set_a_generation)
{
    cJSON *ev = stored(events, "default", EVENT_E1, "5");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(put_with(events, "default", ev, "count", "2", &next, &e), OUT_WRITE, "%s",
                 e.message);
    cr_expect_eq(num_at(next, "count"), 2);
    cr_expect_null(json_path(next, "metadata.generation"));
    cJSON_Delete(next);
    cJSON_Delete(ev);

    cJSON *lease = stored(leases, "kube-system", LEASE_CTL, "5");
    cr_assert_eq(put_with(leases, "kube-system", lease, "spec.holderIdentity", "\"b\"", &next, &e),
                 OUT_WRITE, "%s", e.message);
    cr_expect_str_eq(str_at(next, "spec.holderIdentity"), "b");
    cr_expect_null(json_path(next, "metadata.generation"));
    cJSON_Delete(next);
    cJSON_Delete(lease);
}

Test(rules, namespace_update_keeps_its_defaults)
{
    cJSON *cur = stored(namespaces, NULL, "{\"metadata\":{\"name\":\"team-a\"}}", "5");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    /* A PUT that leaves out the defaulted fields gets them back. */
    as_write_intent in = intent(namespaces, NULL, "team-a", OP_UPDATE,
                                "{\"metadata\":{\"name\":\"team-a\",\"labels\":{\"x\":\"y\"}}}");
    cr_assert_eq(change(&in, cur, &next, &e), OUT_WRITE, "%s", e.message);
    expect_json_at(next, "metadata.labels",
                   "{\"x\":\"y\",\"kubernetes.io/metadata.name\":\"team-a\"}");
    expect_json_at(next, "spec.finalizers", "[\"kubernetes\"]");
    cr_expect_str_eq(str_at(next, "status.phase"), "Active");
    cJSON_Delete(next);
    intent_free(&in);
    cJSON_Delete(cur);
}

Test(rules, removing_the_last_finalizer_of_a_terminating_object_removes_it)
{
    cJSON *cur = stored_foo();
    make_terminating(cur, "[\"a.example.com/x\",\"b.example.com/y\"]");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    as_write_intent in = intent(foos, NULL, "web", OP_PATCH,
                                "{\"metadata\":{\"finalizers\":[\"b.example.com/y\"]}}");
    cr_assert_eq(change(&in, cur, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect_not(in.removed, "one finalizer is left");
    cr_expect_str_eq(str_at(next, "metadata.deletionTimestamp"), NOW_TEXT);
    cJSON_Delete(next);
    intent_free(&in);

    in = intent(foos, NULL, "web", OP_PATCH, "{\"metadata\":{\"finalizers\":null}}");
    cr_assert_eq(change(&in, cur, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect(in.removed);
    cr_expect_null(json_path(next, "metadata.finalizers"));
    cJSON_Delete(next);
    intent_free(&in);
    cJSON_Delete(cur);
}

Test(rules, adding_a_finalizer_to_a_terminating_object_is_422)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    make_terminating(cur, "[\"a.example.com/x\"]");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(deployments, "default", PATCH_MERGE,
                       "{\"metadata\":{\"finalizers\":[\"a.example.com/x\",\"b.example.com/y\"]}}",
                       cur, &next, &e),
                 OUT_ERROR);
    cr_expect_eq(e.code, 422);
    cr_expect_not_null(strstr(e.message, "metadata.finalizers: Forbidden: no new finalizers can "
                                         "be added if the object is being deleted"),
                       "%s", e.message);
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, a_terminating_object_keeps_its_deletion_timestamp)
{
    cJSON *cur = stored_foo();
    make_terminating(cur, "[\"a.example.com/x\"]");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(
        put_with(foos, NULL, cur, "metadata.deletionTimestamp", "\"" LATER "\"", &next, &e),
        OUT_NOOP, "%s", e.message);
    cr_assert_eq(put_with(foos, NULL, cur, "metadata.deletionTimestamp", NULL, &next, &e), OUT_NOOP,
                 "%s", e.message);
    cJSON_Delete(cur);
}

/* ---- patch -------------------------------------------------------------------------------- */

Test(rules, merge_patch_of_a_foo)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(foos, NULL, PATCH_MERGE,
                       "{\"spec\":{\"replicas\":3},\"metadata\":{\"labels\":{\"app\":null}}}", cur,
                       &next, &e),
                 OUT_WRITE, "%s", e.message);
    cr_expect_eq(num_at(next, "spec.replicas"), 3);
    cr_expect_null(json_path(next, "metadata.labels"), "an emptied map disappears");
    cr_expect_eq(num_at(next, "metadata.generation"), 2);
    cJSON_Delete(next);
    cJSON_Delete(cur);
}

Test(rules, merge_patch_that_is_not_an_object_is_400)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(foos, NULL, PATCH_MERGE, "[1]", cur, &next, &e), OUT_ERROR);
    expect_error(&e, 400, "BadRequest", "the patch is not a JSON object");
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, patch_with_a_stale_resource_version_is_409)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(foos, NULL, PATCH_MERGE,
                       "{\"metadata\":{\"resourceVersion\":\"4\"},\"spec\":{\"replicas\":3}}", cur,
                       &next, &e),
                 OUT_ERROR);
    expect_error(&e, 409, "Conflict", FOO_MODIFIED);
    apierr_clear(&e);
    cr_assert_eq(patch(foos, NULL, PATCH_MERGE,
                       "{\"metadata\":{\"resourceVersion\":\"5\"},\"spec\":{\"replicas\":3}}", cur,
                       &next, &e),
                 OUT_WRITE, "%s", e.message);
    cJSON_Delete(next);
    cJSON_Delete(cur);
}

Test(rules, json_patch_of_a_foo)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(foos, NULL, PATCH_JSON,
                       "[{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":2},"
                       "{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":4}]",
                       cur, &next, &e),
                 OUT_WRITE, "%s", e.message);
    cr_expect_eq(num_at(next, "spec.replicas"), 4);
    cJSON_Delete(next);

    cr_assert_eq(patch(foos, NULL, PATCH_JSON,
                       "[{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":9}]", cur, &next,
                       &e),
                 OUT_ERROR);
    cr_expect_eq(e.code, 422, "a failing test is 422 (%d %s)", e.code, e.message);
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, patch_result_is_validated)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(foos, NULL, PATCH_MERGE, "{\"spec\":{\"image\":\"a b\"}}", cur, &next, &e),
                 OUT_ERROR);
    expect_error(&e, 422, "Invalid",
                 "Foo.demo.example.com \"web\" is invalid: spec.image: Invalid value: \"a b\": "
                 "must not contain whitespace");
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, strategic_patch_of_a_foo_is_a_merge_patch_without_directives)
{
    cJSON *cur = stored_foo();
    set_at(cur, "metadata.finalizers", "[\"a.example.com/x\",\"b.example.com/y\"]");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(foos, NULL, PATCH_STRATEGIC,
                       "{\"metadata\":{\"$setElementOrder/finalizers\":[\"c.example.com/z\"],"
                       "\"finalizers\":[\"c.example.com/z\"],\"$deleteFromPrimitiveList/"
                       "finalizers\":[\"a.example.com/x\"]},\"spec\":{\"$patch\":\"replace\","
                       "\"replicas\":3}}",
                       cur, &next, &e),
                 OUT_WRITE, "%s", e.message);
    /* Lists are replaced whole and objects merged (no $patch: replace), as merge patch does. */
    expect_json_at(next, "metadata.finalizers", "[\"c.example.com/z\"]");
    cr_expect_eq(num_at(next, "spec.replicas"), 3);
    cr_expect_str_eq(str_at(next, "spec.image"), "nginx:1.27");
    char *text = json_print(next);
    cr_expect_null(strstr(text, "$"), "a directive was stored: %s", text);
    free(text);
    cJSON_Delete(next);
    cJSON_Delete(cur);
}

/* What `kubectl apply` sends for a Deployment whose file changed one image. */
#define APPLY_IMAGE                                                                                \
    "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"nginx\"},"    \
    "{\"name\":\"side\"}],\"containers\":[{\"image\":\"nginx:1.28\",\"name\":\"nginx\"}]}}}}"

Test(rules, strategic_patch_of_a_deployment_merges_containers_by_name)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(deployments, "default", PATCH_STRATEGIC, APPLY_IMAGE, cur, &next, &e),
                 OUT_WRITE, "%s", e.message);
    const cJSON *cs = json_path(next, "spec.template.spec.containers");
    cr_assert_eq(cJSON_GetArraySize(cs), 2);
    const cJSON *nginx = cJSON_GetArrayItem(cs, 0);
    cr_expect_str_eq(str_at(nginx, "name"), "nginx");
    cr_expect_str_eq(str_at(nginx, "image"), "nginx:1.28");
    expect_json_at(nginx, "ports", "[{\"containerPort\":80,\"protocol\":\"TCP\"}]");
    expect_json_at(nginx, "env", "[{\"name\":\"A\",\"value\":\"1\"}]");
    cr_expect_str_eq(str_at(nginx, "terminationMessagePath"), "/dev/termination-log");
    const cJSON *side = cJSON_GetArrayItem(cs, 1);
    cr_expect_str_eq(str_at(side, "name"), "side");
    cr_expect_str_eq(str_at(side, "image"), "busybox:1.36");
    expect_json_at(side, "args", "[\"sleep\",\"1d\"]");
    cr_expect_eq(num_at(next, "metadata.generation"), 2);
    cJSON_Delete(next);
    cJSON_Delete(cur);
}

Test(rules, strategic_patch_of_a_deployment_merges_env_by_name)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(deployments, "default", PATCH_STRATEGIC,
                       "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\","
                       "\"env\":[{\"name\":\"B\",\"value\":\"2\"}]}]}}}}",
                       cur, &next, &e),
                 OUT_WRITE, "%s", e.message);
    const cJSON *nginx = cJSON_GetArrayItem(json_path(next, "spec.template.spec.containers"), 0);
    cr_expect_str_eq(str_at(nginx, "name"), "nginx");
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(nginx, "env")), 2);
    cJSON_Delete(next);
    cJSON_Delete(cur);
}

Test(rules, strategic_patch_can_delete_a_container)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(deployments, "default", PATCH_STRATEGIC,
                       "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"side\","
                       "\"$patch\":\"delete\"}]}}}}",
                       cur, &next, &e),
                 OUT_WRITE, "%s", e.message);
    const cJSON *cs = json_path(next, "spec.template.spec.containers");
    cr_assert_eq(cJSON_GetArraySize(cs), 1);
    cr_expect_str_eq(str_at(cJSON_GetArrayItem(cs, 0), "name"), "nginx");
    cJSON_Delete(next);
    cJSON_Delete(cur);
}

Test(rules, merge_patch_of_a_deployment_replaces_the_containers)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(deployments, "default", PATCH_MERGE,
                       "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"nginx\","
                       "\"image\":\"nginx:1.28\"}]}}}}",
                       cur, &next, &e),
                 OUT_WRITE, "%s", e.message);
    const cJSON *cs = json_path(next, "spec.template.spec.containers");
    cr_assert_eq(cJSON_GetArraySize(cs), 1);
    /* The replaced container is defaulted again. */
    cr_expect_str_eq(str_at(cJSON_GetArrayItem(cs, 0), "imagePullPolicy"), "IfNotPresent");
    cJSON_Delete(next);
    cJSON_Delete(cur);
}

Test(rules, strategic_patch_element_without_its_merge_key_is_400)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(patch(deployments, "default", PATCH_STRATEGIC,
                       "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}}}",
                       cur, &next, &e),
                 OUT_ERROR);
    expect_error(&e, 400, "BadRequest",
                 "map: map[image:x] does not contain declared merge key: name");
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, strategic_patch_of_events_leases_and_namespaces)
{
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cJSON *ev = stored(events, "default", EVENT_E1, "5");
    cr_assert_eq(patch(events, "default", PATCH_STRATEGIC,
                       "{\"count\":2,\"lastTimestamp\":\"" LATER "\"}", ev, &next, &e),
                 OUT_WRITE, "%s", e.message);
    cr_expect_eq(num_at(next, "count"), 2);
    cJSON_Delete(next);
    cJSON_Delete(ev);

    cJSON *lease = stored(leases, "kube-system", LEASE_CTL, "5");
    cr_assert_eq(patch(leases, "kube-system", PATCH_STRATEGIC,
                       "{\"spec\":{\"renewTime\":\"2026-01-01T00:00:02.000000Z\"}}", lease, &next,
                       &e),
                 OUT_WRITE, "%s", e.message);
    cr_expect_str_eq(str_at(next, "spec.renewTime"), "2026-01-01T00:00:02.000000Z");
    cr_expect_str_eq(str_at(next, "spec.holderIdentity"), "a");
    cJSON_Delete(next);
    cJSON_Delete(lease);

    /* Namespace spec.finalizers carries no patch tag: replaced whole. */
    cJSON *ns = stored(namespaces, NULL, "{\"metadata\":{\"name\":\"web\"}}", "5");
    cr_assert_eq(patch(namespaces, NULL, PATCH_STRATEGIC,
                       "{\"metadata\":{\"labels\":{\"team\":\"a\"}}}", ns, &next, &e),
                 OUT_WRITE, "%s", e.message);
    expect_json_at(next, "metadata.labels",
                   "{\"kubernetes.io/metadata.name\":\"web\",\"team\":\"a\"}");
    cJSON_Delete(next);
    cJSON_Delete(ns);
}

/* ---- scale -------------------------------------------------------------------------------- */

Test(rules, scale_of_a_foo_reports_its_status_selector)
{
    cJSON *cur = stored_foo();
    cJSON *s = as_rules_scale_of(foos, cur);
    cr_expect_str_eq(str_at(s, "apiVersion"), "autoscaling/v1");
    cr_expect_str_eq(str_at(s, "kind"), "Scale");
    cr_expect_str_eq(str_at(s, "metadata.name"), "web");
    cr_expect_str_eq(str_at(s, "metadata.uid"), str_at(cur, "metadata.uid"));
    cr_expect_str_eq(str_at(s, "metadata.resourceVersion"), "5");
    cr_expect_str_eq(str_at(s, "metadata.creationTimestamp"), NOW_TEXT);
    cr_expect_eq(num_at(s, "spec.replicas"), 2);
    cr_expect_eq(num_at(s, "status.replicas"), 2);
    cr_expect_str_eq(str_at(s, "status.selector"), "demo.example.com/foo=web");
    cJSON_Delete(s);
    cJSON_Delete(cur);
}

Test(rules, scale_of_a_deployment_reports_its_spec_selector)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    set_at(cur, "spec.selector",
           "{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"tier\","
           "\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}");
    cJSON *s = as_rules_scale_of(deployments, cur);
    cr_expect_str_eq(str_at(s, "metadata.namespace"), "default");
    cr_expect_eq(num_at(s, "spec.replicas"), 1);
    cr_expect_eq(num_at(s, "status.replicas"), 0);
    cr_expect_str_eq(str_at(s, "status.selector"), "app=web,tier in (a,b)");
    cJSON_Delete(s);
    cJSON_Delete(cur);
}

static outcome scale_put(const as_resource *r, const char *ns, const char *scale,
                         const cJSON *current, bool *pinned, cJSON **next, api_error *e)
{
    as_write_intent in = intent(r, ns, "web", OP_SCALE_UPDATE, scale);
    outcome out = change(&in, current, next, e);
    *pinned = in.rv_pinned;
    intent_free(&in);
    return out;
}

Test(rules, scale_update_sets_the_replicas)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    cJSON *next;
    bool pinned;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(
        scale_put(deployments, "default",
                  "{\"kind\":\"Scale\",\"apiVersion\":\"autoscaling/v1\",\"metadata\":"
                  "{\"name\":\"web\",\"resourceVersion\":\"5\"},\"spec\":{\"replicas\":3}}",
                  cur, &pinned, &next, &e),
        OUT_WRITE, "%s", e.message);
    cr_expect(pinned);
    cr_expect_eq(num_at(next, "spec.replicas"), 3);
    cr_expect_eq(num_at(next, "metadata.generation"), 2);
    cJSON_Delete(next);

    cr_assert_eq(scale_put(deployments, "default",
                           "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":1}}", cur,
                           &pinned, &next, &e),
                 OUT_NOOP, "%s", e.message);
    cr_expect_not(pinned);
    cJSON_Delete(cur);
}

Test(rules, scale_update_with_a_stale_resource_version_is_409)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    bool pinned;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(scale_put(foos, NULL,
                           "{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"4\"},\"spec\":"
                           "{\"replicas\":3}}",
                           cur, &pinned, &next, &e),
                 OUT_ERROR);
    expect_error(&e, 409, "Conflict", FOO_MODIFIED);
    cr_expect(pinned);
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, scale_to_negative_replicas_is_422_on_the_scale)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    bool pinned;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(scale_put(foos, NULL,
                           "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":-1}}", cur,
                           &pinned, &next, &e),
                 OUT_ERROR);
    expect_error(&e, 422, "Invalid",
                 "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be "
                 "greater than or equal to 0");
    cr_expect_str_eq(e.kind, "Scale");
    cr_expect_str_eq(e.group, "autoscaling");
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, scale_replicas_that_are_not_an_int32_are_a_400_decode_error)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    bool pinned;
    static const char *const bad[][2] = {
        {"1.5", "number 1.5"},
        {"3000000000", "number 3000000000"},
        {"\"3\"", "string"},
        {"true", "bool"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *scale =
            xasprintf("{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":%s}}", bad[i][0]);
        char *want = xasprintf("json: cannot unmarshal %s into Go struct field "
                               "ScaleSpec.spec.replicas of type int32",
                               bad[i][1]);
        api_error e = API_ERROR_INIT;
        cr_assert_eq(scale_put(foos, NULL, scale, cur, &pinned, &next, &e), OUT_ERROR);
        expect_error(&e, 400, "BadRequest", want);
        apierr_clear(&e);
        free(scale);
        free(want);
    }
    cJSON_Delete(cur);
}

Test(rules, scale_without_replicas_scales_to_zero_as_kube_decodes_it)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    bool pinned;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(scale_put(foos, NULL, "{\"metadata\":{\"name\":\"web\"},\"spec\":{}}", cur,
                           &pinned, &next, &e),
                 OUT_WRITE, "%s", e.message);
    cr_expect_eq(num_at(next, "spec.replicas"), 0);
    cJSON_Delete(next);
    cJSON_Delete(cur);
}

Test(rules, scale_beyond_the_foo_maximum_is_422_on_the_foo)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    bool pinned;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(scale_put(foos, NULL,
                           "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":1001}}", cur,
                           &pinned, &next, &e),
                 OUT_ERROR);
    expect_error(&e, 422, "Invalid",
                 "Foo.demo.example.com \"web\" is invalid: spec.replicas: Invalid value: 1001: "
                 "must be less than or equal to 1000");
    apierr_clear(&e);
    cJSON_Delete(cur);
}

Test(rules, scale_patch_patches_the_scale_view)
{
    cJSON *cur = stored_foo();
    cJSON *next;
    api_error e = API_ERROR_INIT;
    as_write_intent in = intent(foos, NULL, "web", OP_SCALE_PATCH, "{\"spec\":{\"replicas\":4}}");
    in.ptype = PATCH_MERGE;
    cr_assert_eq(change(&in, cur, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect_not(in.rv_pinned, "the Scale view's resourceVersion pins nothing");
    cr_expect_eq(num_at(next, "spec.replicas"), 4);
    cr_expect_eq(num_at(next, "metadata.generation"), 2);
    expect_same_at(next, cur, "status");
    cJSON_Delete(next);
    intent_free(&in);

    /* A resourceVersion in the patch itself does pin it. */
    in = intent(foos, NULL, "web", OP_SCALE_PATCH,
                "{\"metadata\":{\"resourceVersion\":\"4\"},\"spec\":{\"replicas\":4}}");
    in.ptype = PATCH_MERGE;
    cr_assert_eq(change(&in, cur, &next, &e), OUT_ERROR);
    cr_expect(in.rv_pinned);
    cr_expect_eq(e.code, 409);
    apierr_clear(&e);
    intent_free(&in);

    in = intent(deployments, "default", "web", OP_SCALE_PATCH,
                "[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":6}]");
    in.ptype = PATCH_JSON;
    cJSON *d = stored(deployments, "default", DEPLOY_WEB, "5");
    cr_assert_eq(change(&in, d, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect_eq(num_at(next, "spec.replicas"), 6);
    cJSON_Delete(next);
    cJSON_Delete(d);
    intent_free(&in);
    cJSON_Delete(cur);
}

/* ---- bar ---------------------------------------------------------------------------------- */

Test(rules, bar_sets_restarted_at_to_the_request_time)
{
    cJSON *cur = stored_foo();
    as_write_intent in =
        intent(foos, NULL, "web", OP_BAR,
               "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"FooBar\"}");
    in.now_s = LATER_S;
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(change(&in, cur, &next, &e), OUT_WRITE, "%s", e.message);
    cr_expect_str_eq(str_at(next, "spec.restartedAt"), LATER);
    cr_expect_eq(num_at(next, "metadata.generation"), 2);
    cr_expect_not(in.rv_pinned);
    expect_same_at(next, cur, "status");
    cJSON_Delete(next);
    intent_free(&in);
    cJSON_Delete(cur);
}

/* ---- delete ------------------------------------------------------------------------------- */

static outcome delete_with(const as_resource *r, const char *ns, const char *policy,
                           const char *body, const cJSON *current, as_write_intent *in,
                           cJSON **next, api_error *e)
{
    *in = intent(r, ns, "web", OP_DELETE, body);
    in->propagation_policy = policy;
    *next = NULL;
    return as_rules_delete(in, current, next, e);
}

Test(rules, delete_without_finalizers_removes_the_object)
{
    cJSON *cur = stored_foo();
    as_write_intent in;
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(delete_with(foos, NULL, NULL, NULL, cur, &in, &next, &e), OUT_WRITE);
    cr_expect(in.removed);
    cr_expect(json_equal(next, cur), "the final state is the object");
    cr_expect_not(in.rv_pinned);
    cJSON_Delete(next);
    intent_free(&in);

    cr_assert_eq(delete_with(foos, NULL, "Background", NULL, cur, &in, &next, &e), OUT_WRITE);
    cr_expect(in.removed, "Background adds no finalizer");
    cJSON_Delete(next);
    intent_free(&in);
    cJSON_Delete(cur);
}

Test(rules, delete_with_finalizers_marks_the_object_terminating)
{
    cJSON *cur = stored(deployments, "default", DEPLOY_WEB, "5");
    set_at(cur, "metadata.finalizers", "[\"a.example.com/x\"]");
    as_write_intent in;
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(delete_with(deployments, "default", NULL, NULL, cur, &in, &next, &e), OUT_WRITE);
    cr_expect_not(in.removed);
    cr_expect_str_eq(str_at(next, "metadata.deletionTimestamp"), NOW_TEXT);
    cr_expect_eq(num_at(next, "metadata.deletionGracePeriodSeconds"), 0);
    expect_json_at(next, "metadata.finalizers", "[\"a.example.com/x\"]");
    cr_expect_eq(num_at(next, "metadata.generation"), 1);
    cJSON_Delete(next);
    intent_free(&in);
    cJSON_Delete(cur);
}

Test(rules, delete_of_a_terminating_object_is_a_noop)
{
    cJSON *cur = stored_foo();
    make_terminating(cur, "[\"a.example.com/x\"]");
    as_write_intent in;
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_expect_eq(delete_with(foos, NULL, NULL, NULL, cur, &in, &next, &e), OUT_NOOP);
    cr_expect_not(in.removed);
    intent_free(&in);
    cJSON_Delete(cur);
}

Test(rules, foreground_delete_adds_its_finalizer)
{
    cJSON *cur = stored_foo();
    as_write_intent in;
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(delete_with(foos, NULL, "Foreground", NULL, cur, &in, &next, &e), OUT_WRITE);
    cr_expect_not(in.removed);
    expect_json_at(next, "metadata.finalizers", "[\"foregroundDeletion\"]");
    cr_expect_str_eq(str_at(next, "metadata.deletionTimestamp"), NOW_TEXT);
    cJSON_Delete(next);
    intent_free(&in);

    /* Not twice. */
    set_at(cur, "metadata.finalizers", "[\"foregroundDeletion\"]");
    cr_assert_eq(delete_with(foos, NULL, "Foreground", NULL, cur, &in, &next, &e), OUT_WRITE);
    expect_json_at(next, "metadata.finalizers", "[\"foregroundDeletion\"]");
    cJSON_Delete(next);
    intent_free(&in);
    cJSON_Delete(cur);
}

Test(rules, orphan_delete_adds_its_finalizer_from_the_body)
{
    cJSON *cur = stored(leases, "kube-system", LEASE_CTL, "5");
    set_at(cur, "metadata.finalizers", "[\"a.example.com/x\"]");
    as_write_intent in;
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(delete_with(leases, "kube-system", NULL,
                             "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
                             "\"propagationPolicy\":\"Orphan\"}",
                             cur, &in, &next, &e),
                 OUT_WRITE);
    cr_expect_str_eq(as_rules_propagation_policy(&in), "Orphan");
    expect_json_at(next, "metadata.finalizers", "[\"a.example.com/x\",\"orphan\"]");
    cJSON_Delete(next);
    intent_free(&in);

    /* The deprecated orphanDependents means the same. */
    cr_assert_eq(delete_with(leases, "kube-system", NULL, "{\"orphanDependents\":true}", cur, &in,
                             &next, &e),
                 OUT_WRITE);
    expect_json_at(next, "metadata.finalizers", "[\"a.example.com/x\",\"orphan\"]");
    cJSON_Delete(next);
    intent_free(&in);
    cJSON_Delete(cur);
}

Test(rules, query_propagation_policy_wins_over_the_body)
{
    cJSON *cur = stored_foo();
    as_write_intent in;
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(delete_with(foos, NULL, "Background", "{\"propagationPolicy\":\"Foreground\"}",
                             cur, &in, &next, &e),
                 OUT_WRITE);
    cr_expect_str_eq(as_rules_propagation_policy(&in), "Background");
    cr_expect(in.removed);
    cJSON_Delete(next);
    intent_free(&in);
    cJSON_Delete(cur);
}

Test(rules, delete_preconditions)
{
    cJSON *cur = stored(events, "default", EVENT_E1, "5");
    as_write_intent in;
    cJSON *next;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(delete_with(events, "default", NULL, "{\"preconditions\":{\"uid\":\"u-2\"}}", cur,
                             &in, &next, &e),
                 OUT_ERROR);
    char want[256];
    snprintf(want, sizeof want,
             "Operation cannot be fulfilled on events \"web\": Precondition failed: UID in "
             "precondition: u-2, UID in object meta: %s",
             str_at(cur, "metadata.uid"));
    expect_error(&e, 409, "Conflict", want);
    apierr_clear(&e);
    intent_free(&in);

    cr_assert_eq(delete_with(events, "default", NULL,
                             "{\"preconditions\":{\"resourceVersion\":\"4\"}}", cur, &in, &next,
                             &e),
                 OUT_ERROR);
    expect_error(&e, 409, "Conflict",
                 "Operation cannot be fulfilled on events \"web\": Precondition failed: "
                 "ResourceVersion in precondition: 4, ResourceVersion in object meta: 5");
    cr_expect(in.rv_pinned);
    apierr_clear(&e);
    intent_free(&in);

    char body[256];
    snprintf(body, sizeof body, "{\"preconditions\":{\"uid\":\"%s\",\"resourceVersion\":\"5\"}}",
             str_at(cur, "metadata.uid"));
    cr_assert_eq(delete_with(events, "default", NULL, body, cur, &in, &next, &e), OUT_WRITE, "%s",
                 e.message);
    cr_expect(in.removed);
    cr_expect(in.rv_pinned);
    cJSON_Delete(next);
    intent_free(&in);
    cJSON_Delete(cur);
}

/* ---- keys --------------------------------------------------------------------------------- */

Test(rules, object_keys_name_the_namespace_of_namespaced_kinds)
{
    sbuf k = SBUF_INIT;
    as_object_key(foos, NULL, "web", &k);
    cr_expect_str_eq(k.data, "/demo.example.com/foos/web");
    sbuf_free(&k);
    as_object_key(deployments, "prod", "web", &k);
    cr_expect_str_eq(k.data, "/apps/deployments/prod/web");
    sbuf_free(&k);
    as_object_key(events, "default", "web.1", &k);
    cr_expect_str_eq(k.data, "/core/events/default/web.1");
    sbuf_free(&k);
    as_object_key(namespaces, NULL, "team-a", &k);
    cr_expect_str_eq(k.data, "/core/namespaces/team-a");
    sbuf_free(&k);
}
