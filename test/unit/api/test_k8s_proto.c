/*
 * test_k8s_proto.c - protobuf bodies of the built-in kinds (api/k8s_proto.h): the bytes kubectl
 * 1.32 and 1.33 send for `create ns` and `create deployment` (captured from `kubectl -v=9`; both
 * versions send the same bytes) read into exactly the JSON kubectl 1.31 sends for the same
 * commands; a Lease and an Event as client-go writes them, encoded here; the value types' JSON
 * forms; pointer fields keeping their zero values; and every refusal with its code and words.
 */
#include "api/k8s_proto.h"
#include "api_testutil.h"

#include "api/k8s_proto_desc.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/pb_writer.h"
#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(k8s_proto, .init = setup);

/* ---- what kubectl 1.32 / 1.33 send ----------------------------------------------------- */

/* kubectl create ns demo */
static const unsigned char create_ns[] = {
    0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, 0x4e, 0x61,
    0x6d, 0x65, 0x73, 0x70, 0x61, 0x63, 0x65, 0x12, 0x1c, 0x0a, 0x14, 0x0a, 0x04, 0x64,
    0x65, 0x6d, 0x6f, 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38,
    0x00, 0x42, 0x00, 0x12, 0x00, 0x1a, 0x02, 0x0a, 0x00, 0x1a, 0x00, 0x22, 0x00,
};

/* kubectl create deployment web --image=nginx --replicas=2 --port=80 */
static const unsigned char create_web[] = {
    0x6b, 0x38, 0x73, 0x00, 0x0a, 0x15, 0x0a, 0x07, 0x61, 0x70, 0x70, 0x73, 0x2f, 0x76, 0x31, 0x12,
    0x0a, 0x44, 0x65, 0x70, 0x6c, 0x6f, 0x79, 0x6d, 0x65, 0x6e, 0x74, 0x12, 0xb8, 0x01, 0x0a, 0x1f,
    0x0a, 0x03, 0x77, 0x65, 0x62, 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38,
    0x00, 0x42, 0x00, 0x5a, 0x0a, 0x0a, 0x03, 0x61, 0x70, 0x70, 0x12, 0x03, 0x77, 0x65, 0x62, 0x12,
    0x86, 0x01, 0x08, 0x02, 0x12, 0x0c, 0x0a, 0x0a, 0x0a, 0x03, 0x61, 0x70, 0x70, 0x12, 0x03, 0x77,
    0x65, 0x62, 0x1a, 0x6c, 0x0a, 0x1c, 0x0a, 0x00, 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00,
    0x32, 0x00, 0x38, 0x00, 0x42, 0x00, 0x5a, 0x0a, 0x0a, 0x03, 0x61, 0x70, 0x70, 0x12, 0x03, 0x77,
    0x65, 0x62, 0x12, 0x4c, 0x12, 0x2e, 0x0a, 0x05, 0x6e, 0x67, 0x69, 0x6e, 0x78, 0x12, 0x05, 0x6e,
    0x67, 0x69, 0x6e, 0x78, 0x2a, 0x00, 0x32, 0x0a, 0x0a, 0x00, 0x10, 0x00, 0x18, 0x50, 0x22, 0x00,
    0x2a, 0x00, 0x42, 0x00, 0x6a, 0x00, 0x72, 0x00, 0x80, 0x01, 0x00, 0x88, 0x01, 0x00, 0x90, 0x01,
    0x00, 0xa2, 0x01, 0x00, 0x1a, 0x00, 0x32, 0x00, 0x42, 0x00, 0x4a, 0x00, 0x52, 0x00, 0x58, 0x00,
    0x60, 0x00, 0x68, 0x00, 0x82, 0x01, 0x00, 0x8a, 0x01, 0x00, 0x9a, 0x01, 0x00, 0xc2, 0x01, 0x00,
    0x22, 0x02, 0x0a, 0x00, 0x28, 0x00, 0x38, 0x00, 0x1a, 0x0c, 0x08, 0x00, 0x10, 0x00, 0x18, 0x00,
    0x20, 0x00, 0x28, 0x00, 0x38, 0x00, 0x1a, 0x00, 0x22, 0x00,
};

/* kubectl create deployment two --image=nginx --image=busybox */
static const unsigned char create_two[] = {
    0x6b, 0x38, 0x73, 0x00, 0x0a, 0x15, 0x0a, 0x07, 0x61, 0x70, 0x70, 0x73, 0x2f, 0x76, 0x31, 0x12,
    0x0a, 0x44, 0x65, 0x70, 0x6c, 0x6f, 0x79, 0x6d, 0x65, 0x6e, 0x74, 0x12, 0xd5, 0x01, 0x0a, 0x1f,
    0x0a, 0x03, 0x74, 0x77, 0x6f, 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38,
    0x00, 0x42, 0x00, 0x5a, 0x0a, 0x0a, 0x03, 0x61, 0x70, 0x70, 0x12, 0x03, 0x74, 0x77, 0x6f, 0x12,
    0xa3, 0x01, 0x08, 0x01, 0x12, 0x0c, 0x0a, 0x0a, 0x0a, 0x03, 0x61, 0x70, 0x70, 0x12, 0x03, 0x74,
    0x77, 0x6f, 0x1a, 0x88, 0x01, 0x0a, 0x1c, 0x0a, 0x00, 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a,
    0x00, 0x32, 0x00, 0x38, 0x00, 0x42, 0x00, 0x5a, 0x0a, 0x0a, 0x03, 0x61, 0x70, 0x70, 0x12, 0x03,
    0x74, 0x77, 0x6f, 0x12, 0x68, 0x12, 0x22, 0x0a, 0x05, 0x6e, 0x67, 0x69, 0x6e, 0x78, 0x12, 0x05,
    0x6e, 0x67, 0x69, 0x6e, 0x78, 0x2a, 0x00, 0x42, 0x00, 0x6a, 0x00, 0x72, 0x00, 0x80, 0x01, 0x00,
    0x88, 0x01, 0x00, 0x90, 0x01, 0x00, 0xa2, 0x01, 0x00, 0x12, 0x26, 0x0a, 0x07, 0x62, 0x75, 0x73,
    0x79, 0x62, 0x6f, 0x78, 0x12, 0x07, 0x62, 0x75, 0x73, 0x79, 0x62, 0x6f, 0x78, 0x2a, 0x00, 0x42,
    0x00, 0x6a, 0x00, 0x72, 0x00, 0x80, 0x01, 0x00, 0x88, 0x01, 0x00, 0x90, 0x01, 0x00, 0xa2, 0x01,
    0x00, 0x1a, 0x00, 0x32, 0x00, 0x42, 0x00, 0x4a, 0x00, 0x52, 0x00, 0x58, 0x00, 0x60, 0x00, 0x68,
    0x00, 0x82, 0x01, 0x00, 0x8a, 0x01, 0x00, 0x9a, 0x01, 0x00, 0xc2, 0x01, 0x00, 0x22, 0x02, 0x0a,
    0x00, 0x28, 0x00, 0x38, 0x00, 0x1a, 0x0c, 0x08, 0x00, 0x10, 0x00, 0x18, 0x00, 0x20, 0x00, 0x28,
    0x00, 0x38, 0x00, 0x1a, 0x00, 0x22, 0x00,
};

/* ---- hand-made bodies (common/pb_writer.h) -----------------------------------------------------
 */

/* A whole body: magic, envelope {typeMeta, raw}; raw is freed. */
static void put_body(sbuf *b, const char *api_version, const char *kind, sbuf *raw)
{
    sbuf tm = SBUF_INIT;
    sbuf_append(b, "k8s\0", 4);
    pb_put_string(&tm, 1, api_version);
    pb_put_string(&tm, 2, kind);
    pb_put_message(b, 1, &tm);
    pb_put_message(b, 2, raw);
}

/* metadata {name, namespace} as field 1 of b. */
static void put_meta(sbuf *b, const char *name, const char *ns)
{
    sbuf m = SBUF_INIT;
    pb_put_string(&m, 1, name);
    if (ns)
        pb_put_string(&m, 3, ns);
    pb_put_message(b, 1, &m);
}

/* A Timestamp message as field `field` of b; nanos < 0: leave it out. */
static void put_time(sbuf *b, uint32_t field, int64_t seconds, int32_t nanos)
{
    sbuf t = SBUF_INIT;
    pb_put_uint(&t, 1, (uint64_t)seconds);
    if (nanos >= 0)
        pb_put_uint(&t, 2, (uint64_t)nanos);
    pb_put_message(b, field, &t);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void expect_body(const void *data, size_t len, const char *want_json)
{
    cJSON *out = NULL;
    cJSON *dups = cJSON_CreateArray();
    api_error err = API_ERROR_INIT;
    int rc = k8s_proto_decode(data, len, dups, &out, &err);
    cr_expect_eq(rc, 0, "rc %d: %s", rc, err.message ? err.message : "");
    if (out)
        expect_json(out, want_json);
    cr_expect_eq(cJSON_GetArraySize(dups), 0);
    cJSON_Delete(out);
    cJSON_Delete(dups);
    apierr_clear(&err);
}

static void expect_sbuf_body(sbuf *b, const char *want_json)
{
    expect_body(b->data, b->len, want_json);
    sbuf_free(b);
}

/* Decodes b (freed) and expects the refusal: code, reason, exact message. */
static void expect_refusal(sbuf *b, int code, const char *message)
{
    cJSON *out = (cJSON *)1;
    api_error err = API_ERROR_INIT;
    int rc = k8s_proto_decode(b->data ? b->data : "", b->len, NULL, &out, &err);
    cr_expect_eq(rc, -EPROTO);
    cr_expect_null(out);
    cr_expect_eq(err.code, code, "code %d: %s", err.code, err.message);
    cr_expect_str_eq(err.reason, code == 415 ? "UnsupportedMediaType" : "BadRequest");
    cr_expect_str_eq(err.message, message);
    apierr_clear(&err);
    sbuf_free(b);
}

/* ---- kubectl's bodies ------------------------------------------------------------------- */

Test(k8s_proto, kubectl_create_ns_reads_as_kubectl_1_31_json)
{
    expect_body(create_ns, sizeof create_ns,
                "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"demo\","
                "\"creationTimestamp\":null},\"spec\":{},\"status\":{}}");
}

Test(k8s_proto, kubectl_create_deployment_with_replicas_and_port_reads_as_1_31_json)
{
    expect_body(create_web, sizeof create_web,
                "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":"
                "\"web\",\"creationTimestamp\":null,\"labels\":{\"app\":\"web\"}},\"spec\":{"
                "\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{"
                "\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"web\"}},\"spec\":"
                "{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\",\"ports\":[{"
                "\"containerPort\":80}],\"resources\":{}}]}},\"strategy\":{}},\"status\":{}}");
}

Test(k8s_proto, kubectl_create_deployment_with_two_images_reads_as_1_31_json)
{
    expect_body(create_two, sizeof create_two,
                "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":"
                "\"two\",\"creationTimestamp\":null,\"labels\":{\"app\":\"two\"}},\"spec\":{"
                "\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"two\"}},\"template\":{"
                "\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"two\"}},\"spec\":"
                "{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\",\"resources\":{}},{"
                "\"name\":\"busybox\",\"image\":\"busybox\",\"resources\":{}}]}},\"strategy\":{}"
                "},\"status\":{}}");
}

Test(k8s_proto, every_cut_of_a_kubectl_body_is_refused_cleanly)
{
    for (size_t n = 0; n < sizeof create_web; n++) {
        cJSON *out = NULL;
        api_error err = API_ERROR_INIT;
        int rc = k8s_proto_decode((const char *)create_web, n, NULL, &out, &err);
        /* A cut right after a complete field can still be a whole (shorter) object. */
        if (rc < 0) {
            cr_expect(err.code == 400 || err.code == 415, "cut %zu: code %d", n, err.code);
            cr_expect_null(out);
        }
        cJSON_Delete(out);
        apierr_clear(&err);
    }
}

/* ---- client-go's Lease and Event -------------------------------------------------------- */

Test(k8s_proto, a_lease_renewal_keeps_micro_times_and_zero_pointers)
{
    sbuf raw = SBUF_INIT, spec = SBUF_INIT, b = SBUF_INIT;
    put_meta(&raw, "foo-controller", "kube-system");
    pb_put_string(&spec, 1, "mgr-1_0a1b");
    pb_put_uint(&spec, 2, 15);
    put_time(&spec, 3, 1764000000, 123456789);
    put_time(&spec, 4, 1764000010, 5000);
    pb_put_uint(&spec, 5, 0);
    pb_put_message(&raw, 2, &spec);
    put_body(&b, "coordination.k8s.io/v1", "Lease", &raw);
    expect_sbuf_body(&b, "{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\","
                         "\"metadata\":{\"name\":\"foo-controller\",\"namespace\":\"kube-system\"},"
                         "\"spec\":{\"holderIdentity\":\"mgr-1_0a1b\",\"leaseDurationSeconds\":15,"
                         "\"acquireTime\":\"2025-11-24T16:00:00.123456Z\",\"renewTime\":"
                         "\"2025-11-24T16:00:10.000005Z\",\"leaseTransitions\":0}}");
}

Test(k8s_proto, an_event_of_the_recorder_has_times_and_kept_empty_strings)
{
    sbuf raw = SBUF_INIT, obj = SBUF_INIT, src = SBUF_INIT, b = SBUF_INIT, empty = SBUF_INIT;
    put_meta(&raw, "web.17f", "default");
    pb_put_string(&obj, 1, "Deployment");
    pb_put_string(&obj, 2, "default");
    pb_put_string(&obj, 3, "web");
    pb_put_string(&obj, 4, "0d7c2f3e");
    pb_put_string(&obj, 5, "apps/v1");
    pb_put_string(&obj, 6, "5");
    pb_put_string(&obj, 7, "");
    pb_put_message(&raw, 2, &obj);
    pb_put_string(&raw, 3, "ScalingReplicaSet");
    pb_put_string(&raw, 4, "Scaled up replica set web-1 to 2");
    pb_put_string(&src, 1, "deployment-controller");
    pb_put_string(&src, 2, "");
    pb_put_message(&raw, 5, &src);
    put_time(&raw, 6, 1764000000, -1);
    put_time(&raw, 7, 1764000000, 999999999); /* a Time drops its nanos */
    pb_put_uint(&raw, 8, 1);
    pb_put_string(&raw, 9, "Normal");
    pb_put_message(&raw, 10, &empty); /* the zero MicroTime */
    pb_put_string(&raw, 12, "");
    pb_put_string(&raw, 14, "deployment-controller");
    pb_put_string(&raw, 15, "");
    put_body(&b, "v1", "Event", &raw);
    expect_sbuf_body(&b,
                     "{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"web.17f\","
                     "\"namespace\":\"default\"},\"involvedObject\":{\"kind\":\"Deployment\","
                     "\"namespace\":\"default\",\"name\":\"web\",\"uid\":\"0d7c2f3e\","
                     "\"apiVersion\":\"apps/v1\",\"resourceVersion\":\"5\"},\"reason\":"
                     "\"ScalingReplicaSet\",\"message\":\"Scaled up replica set web-1 to 2\","
                     "\"source\":{\"component\":\"deployment-controller\"},\"firstTimestamp\":"
                     "\"2025-11-24T16:00:00Z\",\"lastTimestamp\":\"2025-11-24T16:00:00Z\","
                     "\"count\":1,\"type\":\"Normal\",\"eventTime\":null,\"reportingComponent\":"
                     "\"deployment-controller\",\"reportingInstance\":\"\"}");
}

/* ---- value types and pointer fields ----------------------------------------------------- */

/* A Deployment whose spec is `spec` (freed). */
static void put_deployment(sbuf *b, sbuf *spec)
{
    sbuf raw = SBUF_INIT;
    put_meta(&raw, "d", NULL);
    pb_put_message(&raw, 2, spec);
    put_body(b, "apps/v1", "Deployment", &raw);
}

Test(k8s_proto, pointer_fields_keep_zero_and_int_or_string_takes_both_forms)
{
    sbuf spec = SBUF_INIT, strategy = SBUF_INIT, ru = SBUF_INIT, v = SBUF_INIT, b = SBUF_INIT;
    pb_put_uint(&spec, 1, 0); /* replicas: 0 is not "unset" */
    pb_put_uint(&spec, 6, 0); /* revisionHistoryLimit */
    pb_put_uint(&spec, 5, 0); /* minReadySeconds: omitempty */
    pb_put_string(&strategy, 1, "RollingUpdate");
    pb_put_uint(&v, 1, 0);
    pb_put_uint(&v, 2, 0);
    pb_put_message(&ru, 1, &v); /* maxUnavailable: 0 */
    pb_put_uint(&v, 1, 1);
    pb_put_string(&v, 3, "25%");
    pb_put_message(&ru, 2, &v); /* maxSurge: "25%" */
    pb_put_message(&strategy, 2, &ru);
    pb_put_message(&spec, 4, &strategy);
    put_deployment(&b, &spec);
    expect_sbuf_body(&b, "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{"
                         "\"name\":\"d\"},\"spec\":{\"replicas\":0,\"revisionHistoryLimit\":0,"
                         "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{"
                         "\"maxUnavailable\":0,\"maxSurge\":\"25%\"}}}}");
}

/* A Deployment with one container `c` (freed) in its template. */
static void put_deployment_with_container(sbuf *b, sbuf *c)
{
    sbuf spec = SBUF_INIT, tmpl = SBUF_INIT, pod = SBUF_INIT;
    pb_put_message(&pod, 2, c);
    pb_put_message(&tmpl, 2, &pod);
    pb_put_message(&spec, 3, &tmpl);
    put_deployment(b, &spec);
}

Test(k8s_proto, quantities_probes_env_and_volume_mounts_of_a_container)
{
    sbuf c = SBUF_INIT, res = SBUF_INIT, e = SBUF_INIT, q = SBUF_INIT, probe = SBUF_INIT;
    sbuf handler = SBUF_INIT, get = SBUF_INIT, port = SBUF_INIT, env = SBUF_INIT;
    sbuf from = SBUF_INIT, sel = SBUF_INIT, lor = SBUF_INIT, vm = SBUF_INIT, b = SBUF_INIT;
    pb_put_string(&c, 1, "app");
    pb_put_string(&q, 1, "100m");
    pb_put_string(&e, 1, "cpu");
    pb_put_message(&e, 2, &q);
    pb_put_message(&res, 1, &e); /* limits */
    pb_put_string(&e, 1, "memory");
    pb_put_string(&q, 1, "64Mi");
    pb_put_message(&e, 2, &q);
    pb_put_message(&res, 2, &e); /* requests */
    pb_put_message(&c, 8, &res);
    pb_put_string(&get, 1, "/healthz");
    pb_put_uint(&port, 1, 0);
    pb_put_uint(&port, 2, 8080);
    pb_put_message(&get, 2, &port);
    pb_put_message(&handler, 2, &get);
    pb_put_message(&probe, 1, &handler); /* ProbeHandler, inline */
    pb_put_uint(&probe, 4, 5);
    pb_put_message(&c, 10, &probe);
    pb_put_string(&env, 1, "NAME");
    pb_put_string(&lor, 1, "settings");
    pb_put_message(&sel, 1, &lor); /* LocalObjectReference, inline */
    pb_put_string(&sel, 2, "name");
    pb_put_message(&from, 3, &sel);
    pb_put_message(&env, 3, &from);
    pb_put_message(&c, 7, &env);
    pb_put_string(&vm, 1, "data");
    pb_put_uint(&vm, 2, 0);
    pb_put_string(&vm, 3, "/data");
    pb_put_message(&c, 9, &vm);
    put_deployment_with_container(&b, &c);
    expect_sbuf_body(&b, "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{"
                         "\"name\":\"d\"},\"spec\":{\"template\":{\"spec\":{\"containers\":[{"
                         "\"name\":\"app\",\"resources\":{\"limits\":{\"cpu\":\"100m\"},"
                         "\"requests\":{\"memory\":\"64Mi\"}},\"livenessProbe\":{\"httpGet\":{"
                         "\"path\":\"/healthz\",\"port\":8080},\"periodSeconds\":5},\"env\":[{"
                         "\"name\":\"NAME\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":"
                         "\"settings\",\"key\":\"name\"}}}],\"volumeMounts\":[{\"name\":\"data\","
                         "\"mountPath\":\"/data\"}]}]}}}}");
}

Test(k8s_proto, times_at_the_edges)
{
    static const struct {
        int64_t seconds;
        int32_t nanos;
        const char *want;
    } cases[] = {
        {0, -1, "\"1970-01-01T00:00:00Z\""},
        {-62135596800LL, 0, "\"0001-01-01T00:00:00Z\""},
        {253402300799LL, 0, "\"9999-12-31T23:59:59Z\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sbuf raw = SBUF_INIT, cond = SBUF_INIT, status = SBUF_INIT, b = SBUF_INIT;
        pb_put_string(&cond, 1, "Available");
        pb_put_string(&cond, 2, "True");
        put_time(&cond, 7, cases[i].seconds, cases[i].nanos);
        pb_put_message(&status, 6, &cond);
        put_meta(&raw, "d", NULL);
        pb_put_message(&raw, 3, &status);
        put_body(&b, "apps/v1", "Deployment", &raw);
        sbuf want = SBUF_INIT;
        sbuf_printf(&want,
                    "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":"
                    "\"d\"},\"status\":{\"conditions\":[{\"type\":\"Available\",\"status\":"
                    "\"True\",\"lastTransitionTime\":%s}]}}",
                    cases[i].want);
        expect_sbuf_body(&b, want.data);
        sbuf_free(&want);
    }
}

/* A Namespace whose status has one condition with lastTransitionTime {seconds, nanos}. */
static void put_namespace_with_time(sbuf *b, int64_t seconds, int32_t nanos)
{
    sbuf raw = SBUF_INIT, cond = SBUF_INIT, status = SBUF_INIT;
    pb_put_string(&cond, 1, "Ready");
    put_time(&cond, 4, seconds, nanos);
    pb_put_message(&status, 2, &cond);
    put_meta(&raw, "n", NULL);
    pb_put_message(&raw, 3, &status);
    put_body(b, "v1", "Namespace", &raw);
}

Test(k8s_proto, times_outside_the_timestamp_range_are_refused)
{
    sbuf b = SBUF_INIT;
    put_namespace_with_time(&b, 253402300800LL, 0);
    expect_refusal(&b, 400,
                   "Namespace in version \"v1\" cannot be handled as a Namespace: protobuf field "
                   "4 (lastTransitionTime) of v1.NamespaceCondition at byte 16: a time outside "
                   "the years 0001 to 9999");
    put_namespace_with_time(&b, 0, 1000000000);
    expect_refusal(&b, 400,
                   "Namespace in version \"v1\" cannot be handled as a Namespace: protobuf field "
                   "4 (lastTransitionTime) of v1.NamespaceCondition at byte 16: a time whose "
                   "nanos are outside 0 to 999999999");
}

Test(k8s_proto, quantity_and_int_or_string_refusals)
{
    sbuf c = SBUF_INIT, res = SBUF_INIT, e = SBUF_INIT, q = SBUF_INIT, b = SBUF_INIT;
    pb_put_string(&c, 1, "app");
    pb_put_string(&e, 1, "cpu");
    pb_put_string(&q, 1, "");
    pb_put_message(&e, 2, &q);
    pb_put_message(&res, 1, &e);
    pb_put_message(&c, 8, &res);
    put_deployment_with_container(&b, &c);
    cJSON *out = NULL;
    api_error err = API_ERROR_INIT;
    cr_expect_eq(k8s_proto_decode(b.data, b.len, NULL, &out, &err), -EPROTO);
    cr_expect(strstr(err.message, "(limits) of v1.ResourceRequirements") &&
                  strstr(err.message, "an empty quantity"),
              "%s", err.message);
    apierr_clear(&err);
    sbuf_free(&b);

    sbuf spec = SBUF_INIT, strategy = SBUF_INIT, ru = SBUF_INIT, v = SBUF_INIT;
    pb_put_uint(&v, 1, 2);
    pb_put_message(&ru, 2, &v);
    pb_put_message(&strategy, 2, &ru);
    pb_put_message(&spec, 4, &strategy);
    put_deployment(&b, &spec);
    cr_expect_eq(k8s_proto_decode(b.data, b.len, NULL, &out, &err), -EPROTO);
    cr_expect(strstr(err.message, "(maxSurge) of v1.RollingUpdateDeployment") &&
                  strstr(err.message, "neither 0 (int) nor 1 (string)"),
              "%s", err.message);
    apierr_clear(&err);
    sbuf_free(&b);
}

Test(k8s_proto, delete_options_of_any_group_version)
{
    sbuf raw = SBUF_INIT, pre = SBUF_INIT, b = SBUF_INIT;
    pb_put_uint(&raw, 1, 0);
    pb_put_string(&pre, 1, "uid-1");
    pb_put_message(&raw, 2, &pre);
    pb_put_string(&raw, 4, "Foreground");
    pb_put_string(&raw, 5, "All");
    put_body(&b, "coordination.k8s.io/v1", "DeleteOptions", &raw);
    expect_sbuf_body(&b, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"coordination.k8s.io/v1\","
                         "\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"uid-1\"},"
                         "\"propagationPolicy\":\"Foreground\",\"dryRun\":[\"All\"]}");
}

Test(k8s_proto, a_scale_of_autoscaling_v1)
{
    sbuf raw = SBUF_INIT, spec = SBUF_INIT, b = SBUF_INIT;
    put_meta(&raw, "web", "default");
    pb_put_uint(&spec, 1, 3);
    pb_put_message(&raw, 2, &spec);
    put_body(&b, "autoscaling/v1", "Scale", &raw);
    expect_sbuf_body(&b, "{\"kind\":\"Scale\",\"apiVersion\":\"autoscaling/v1\",\"metadata\":{"
                         "\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":3}}");
}

Test(k8s_proto, duplicates_are_counted_and_named)
{
    sbuf raw = SBUF_INIT, m = SBUF_INIT, b = SBUF_INIT;
    pb_put_string(&m, 1, "a");
    pb_put_string(&m, 1, "b");
    pb_put_message(&raw, 1, &m);
    put_body(&b, "v1", "Namespace", &raw);
    cJSON *out = NULL, *dups = cJSON_CreateArray();
    api_error err = API_ERROR_INIT;
    cr_expect_eq(k8s_proto_decode(b.data, b.len, dups, &out, &err), 1);
    expect_json(out, "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
                     "\"b\"}}");
    expect_json(dups, "[\"metadata.name\"]");
    cJSON_Delete(out);
    cJSON_Delete(dups);
    sbuf_free(&b);
}

/* ---- refusals ------------------------------------------------------------------------------ */

Test(k8s_proto, a_body_without_the_magic_is_kubes_400)
{
    static const char *const bodies[] = {"", "k8s", "{\"kind\":\"Namespace\"}", "k8s\x01"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        sbuf b = SBUF_INIT;
        sbuf_append(&b, bodies[i], strlen(bodies[i]) + (i == 3));
        expect_refusal(&b, 400,
                       "provided data does not appear to be a protobuf message, expected prefix "
                       "[107 56 115 0]");
    }
}

Test(k8s_proto, a_kind_without_descriptors_is_415)
{
    sbuf raw = SBUF_INIT, b = SBUF_INIT;
    put_meta(&raw, "f", NULL);
    put_body(&b, "demo.example.com/v1", "Foo", &raw);
    expect_refusal(&b, 415,
                   "protobuf bodies of demo.example.com/v1 Foo are not supported: send "
                   "JSON");
    put_meta(&raw, "p", NULL);
    put_body(&b, "apps/v1beta1", "Deployment", &raw);
    expect_refusal(&b, 415,
                   "protobuf bodies of apps/v1beta1 Deployment are not supported: send "
                   "JSON");
}

Test(k8s_proto, managed_fields_are_415_naming_the_field)
{
    sbuf raw = SBUF_INIT, m = SBUF_INIT, mf = SBUF_INIT, b = SBUF_INIT;
    pb_put_string(&m, 1, "n");
    pb_put_string(&mf, 1, "kubectl");
    pb_put_message(&m, 17, &mf);
    pb_put_message(&raw, 1, &m);
    put_body(&b, "v1", "Namespace", &raw);
    expect_refusal(&b, 415, "protobuf field 17 of v1.ObjectMeta is not supported: send JSON");
}

Test(k8s_proto, a_malformed_object_is_400_in_kubes_words)
{
    sbuf raw = SBUF_INIT, b = SBUF_INIT;
    pb_put_uint(&raw, 1, 5); /* metadata as a varint */
    put_body(&b, "apps/v1", "Deployment", &raw);
    expect_refusal(&b, 400,
                   "Deployment in version \"v1\" cannot be handled as a Deployment: protobuf "
                   "field 1 (metadata) of v1.Deployment at byte 0: wire type 0, expected 2");
}

Test(k8s_proto, envelope_refusals)
{
    sbuf b = SBUF_INIT, tm = SBUF_INIT;
    sbuf_append(&b, "k8s\0", 4);
    pb_put_string(&tm, 2, "Namespace");
    pb_put_message(&b, 1, &tm);
    expect_refusal(&b, 400, "Object 'Kind' or 'apiVersion' is missing in the protobuf envelope");

    sbuf_append(&b, "k8s\0", 4);
    expect_refusal(&b, 400, "Object 'Kind' or 'apiVersion' is missing in the protobuf envelope");

    sbuf raw = SBUF_INIT;
    put_body(&b, "v1", "Namespace", &raw);
    pb_put_string(&b, 3, "gzip");
    expect_refusal(&b, 415, "protobuf bodies with a contentEncoding are not supported: send JSON");

    put_body(&b, "v1", "Namespace", &raw);
    pb_put_string(&b, 2, "");
    expect_refusal(&b, 400,
                   "the protobuf envelope (runtime.Unknown) is malformed: a field given "
                   "twice");

    put_body(&b, "v1", "Namespace", &raw);
    pb_put_uint(&b, 4, 1);
    expect_refusal(&b, 400,
                   "the protobuf envelope (runtime.Unknown) is malformed: a field of "
                   "the wrong wire type");

    put_body(&b, "v1", "Namespace", &raw);
    pb_put_string(&b, 9, "x");
    expect_refusal(&b, 415, "protobuf field 9 of runtime.Unknown is not supported: send JSON");

    sbuf_append(&b, "k8s\0\x0a\x05\x0a", 7);
    expect_refusal(&b, 400,
                   "the protobuf envelope (runtime.Unknown) is malformed: unexpected end "
                   "of data");
}

Test(k8s_proto, an_empty_object_and_a_content_type_are_accepted)
{
    sbuf raw = SBUF_INIT, b = SBUF_INIT;
    put_body(&b, "v1", "Namespace", &raw);
    pb_put_string(&b, 3, "");
    pb_put_string(&b, 4, "application/vnd.kubernetes.protobuf");
    expect_sbuf_body(&b, "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\"}");
}

/* ---- the table ------------------------------------------------------------------------------ */

Test(k8s_proto, readable_kinds_are_the_built_in_resources)
{
    cr_expect(k8s_proto_readable("", "Namespace"));
    cr_expect(k8s_proto_readable("", "Event"));
    cr_expect(k8s_proto_readable("apps", "Deployment"));
    cr_expect(k8s_proto_readable("coordination.k8s.io", "Lease"));
    cr_expect_not(k8s_proto_readable("demo.example.com", "Foo"));
    cr_expect_not(k8s_proto_readable("", "Deployment"));
    cr_expect_not(k8s_proto_readable("app", "Deployment"));
    cr_expect_not(k8s_proto_readable("autoscaling", "Scale"));
    cr_expect_not(k8s_proto_readable("", "DeleteOptions"));
}

Test(k8s_proto, every_descriptor_is_well_formed)
{
    for (size_t i = 0; i < k8s_pb_nkinds; i++) {
        api_error err = API_ERROR_INIT;
        cr_expect_eq(pb_check_descriptor(k8s_pb_kinds[i].message, &err), 0, "%s: %s",
                     k8s_pb_kinds[i].kind, err.message);
        apierr_clear(&err);
    }
}
