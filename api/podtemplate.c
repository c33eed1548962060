/*
 * podtemplate.c - defaults and common validation of a pod template (see podtemplate.h), with
 * the values and messages of kube's core/v1 defaults and core validation.
 */
#include "api/podtemplate.h"
#include "api/fielderr.h"
#include "api/foo.h"
#include "api/kindutil.h"

#include "common/alloc.h"
#include "common/json.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Default mode of the files of configMap, secret, downwardAPI and projected volumes (0644). */
#define VOLUME_DEFAULT_MODE 420

/* ---- the image pull policy ----------------------------------------------------------------- */

/* kube's image references have lower-case repository paths and no blanks anywhere. */
static bool reference_plausible(const char *image, size_t name_len)
{
    if (name_len == 0)
        return false;
    for (size_t i = 0; image[i]; i++) {
        if (isspace((unsigned char)image[i]) || iscntrl((unsigned char)image[i]))
            return false;
    }
    /* The first component is a registry host when it looks like one (docker's rule). */
    const char *slash = memchr(image, '/', name_len);
    size_t start = 0;
    if (slash) {
        size_t n = (size_t)(slash - image);
        bool host = memchr(image, '.', n) || memchr(image, ':', n) ||
                    (n == 9 && strncmp(image, "localhost", 9) == 0);
        for (size_t i = 0; i < n && !host; i++)
            host = isupper((unsigned char)image[i]);
        if (host)
            start = n + 1;
    }
    for (size_t i = start; i < name_len; i++) {
        if (isupper((unsigned char)image[i]))
            return false;
    }
    return true;
}

const char *pod_default_pull_policy(const char *image)
{
    if (!image)
        return POD_PULL_IF_NOT_PRESENT; /* no reference parses as no tag */
    const char *at = strchr(image, '@');
    size_t end = at ? (size_t)(at - image) : strlen(image);
    /* The tag follows the last ':' after the last '/' (a ':' before it is a registry port). */
    size_t name_end = end;
    for (size_t i = end; i > 0 && image[i - 1] != '/'; i--) {
        if (image[i - 1] == ':') {
            name_end = i - 1;
            break;
        }
    }
    if (!reference_plausible(image, name_end))
        return POD_PULL_IF_NOT_PRESENT;
    bool has_tag = name_end < end;
    if (!has_tag)
        return at ? POD_PULL_IF_NOT_PRESENT : POD_PULL_ALWAYS;
    const char *tag = image + name_end + 1;
    bool latest = end - name_end - 1 == 6 && strncmp(tag, "latest", 6) == 0;
    return latest ? POD_PULL_ALWAYS : POD_PULL_IF_NOT_PRESENT;
}

/* ---- defaults ------------------------------------------------------------------------------ */

static void default_string(cJSON *obj, const char *key, const char *value)
{
    if (ku_string_unset(cJSON_GetObjectItemCaseSensitive(obj, key)))
        json_set_string(obj, key, value);
}

/* For Go integer fields (not pointers): 0 counts as unset. */
static void default_int(cJSON *obj, const char *key, double value)
{
    if (ku_int_unset(cJSON_GetObjectItemCaseSensitive(obj, key)))
        json_set_number(obj, key, value);
}

/* For pointer fields: only absent or null is unset. */
static void default_int_ptr(cJSON *obj, const char *key, double value)
{
    if (!ku_member(obj, key))
        json_set_number(obj, key, value);
}

static void default_http_get(cJSON *handler)
{
    cJSON *get = ku_member_mut(handler, "httpGet");
    if (!cJSON_IsObject(get))
        return;
    default_string(get, "path", "/");
    default_string(get, "scheme", "HTTP");
}

static void default_probe(cJSON *probe)
{
    if (!cJSON_IsObject(probe))
        return;
    default_int(probe, "timeoutSeconds", 1);
    default_int(probe, "periodSeconds", 10);
    default_int(probe, "successThreshold", 1);
    default_int(probe, "failureThreshold", 3);
    default_http_get(probe);
}

static void default_env(cJSON *env)
{
    cJSON *e;
    cJSON_ArrayForEach(e, ku_array_mut(env))
    {
        cJSON *ref = ku_member_mut(ku_member_mut(e, "valueFrom"), "fieldRef");
        if (cJSON_IsObject(ref))
            default_string(ref, "apiVersion", "v1");
    }
}

static void default_container(cJSON *c)
{
    if (!cJSON_IsObject(c))
        return;
    if (ku_string_unset(cJSON_GetObjectItemCaseSensitive(c, "imagePullPolicy")))
        json_set_string(c, "imagePullPolicy", pod_default_pull_policy(ku_string(c, "image")));
    default_string(c, "terminationMessagePath", "/dev/termination-log");
    default_string(c, "terminationMessagePolicy", "File");
    cJSON *port;
    cJSON_ArrayForEach(port, ku_array_mut(ku_member_mut(c, "ports")))
    {
        if (cJSON_IsObject(port))
            default_string(port, "protocol", "TCP");
    }
    default_probe(ku_member_mut(c, "livenessProbe"));
    default_probe(ku_member_mut(c, "readinessProbe"));
    default_probe(ku_member_mut(c, "startupProbe"));
    cJSON *lifecycle = ku_member_mut(c, "lifecycle");
    default_http_get(ku_member_mut(lifecycle, "postStart"));
    default_http_get(ku_member_mut(lifecycle, "preStop"));
    default_env(ku_member_mut(c, "env"));
}

static void default_containers(cJSON *list)
{
    cJSON *c;
    cJSON_ArrayForEach(c, ku_array_mut(list))
    {
        default_container(c);
    }
}

static void default_volumes(cJSON *volumes)
{
    static const char *const with_mode[] = {"configMap", "secret", "downwardAPI", "projected"};
    cJSON *v;
    cJSON_ArrayForEach(v, ku_array_mut(volumes))
    {
        for (size_t i = 0; i < sizeof with_mode / sizeof with_mode[0]; i++) {
            cJSON *source = ku_member_mut(v, with_mode[i]);
            if (cJSON_IsObject(source))
                default_int_ptr(source, "defaultMode", VOLUME_DEFAULT_MODE);
        }
    }
}

void pod_template_default(cJSON *tmpl)
{
    if (!cJSON_IsObject(tmpl))
        return;
    cJSON *spec = ku_object_member(tmpl, "spec");
    if (!spec)
        return;
    default_string(spec, "dnsPolicy", "ClusterFirst");
    default_string(spec, "restartPolicy", "Always");
    default_string(spec, "schedulerName", "default-scheduler");
    default_int_ptr(spec, "terminationGracePeriodSeconds", 30);
    if (!ku_member(spec, "securityContext"))
        json_set_item(spec, "securityContext", cJSON_CreateObject());
    default_containers(ku_member_mut(spec, "containers"));
    default_containers(ku_member_mut(spec, "initContainers"));
    default_volumes(ku_member_mut(spec, "volumes"));
}

/* ---- validation ---------------------------------------------------------------------------- */

static const char *const PULL_POLICIES[] = {"Always", "IfNotPresent", "Never"};
static const char *const MESSAGE_POLICIES[] = {"File", "FallbackToLogsOnError"};
static const char *const PROTOCOLS[] = {"SCTP", "TCP", "UDP"};
static const char *const DNS_POLICIES[] = {"ClusterFirst", "ClusterFirstWithHostNet", "Default",
                                           "None"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* An optional string member that must be one of `supported`. */
static void check_enum(const cJSON *obj, const char *prefix, const char *key,
                       const char *const *supported, size_t n, api_error *err)
{
    char *path = xasprintf("%s.%s", prefix, key);
    const char *s = ku_check_string(ku_member(obj, key), path, err);
    bool ok = !s || !*s;
    for (size_t i = 0; i < n && !ok; i++)
        ok = strcmp(s, supported[i]) == 0;
    if (!ok)
        fe_not_supported(err, path, s, supported, n);
    free(path);
}

/* A port number: required (0 counts as unset) or optional, in 1..65535. */
static void check_port_number(const cJSON *port, const char *prefix, const char *key, bool required,
                              api_error *err)
{
    char *path = xasprintf("%s.%s", prefix, key);
    const cJSON *v = ku_member(port, key);
    if (ku_int_unset(v)) {
        if (required)
            fe_required(err, path, NULL);
    } else if (!fe_is_integer(v)) {
        fe_type_invalid(err, path, v, "integer");
    } else if (v->valuedouble < 1 || v->valuedouble > 65535) {
        fe_invalid(err, path, v, "must be between 1 and 65535, inclusive");
    }
    free(path);
}

static void check_ports(const cJSON *c, const char *prefix, api_error *err)
{
    char *path = xasprintf("%s.ports", prefix);
    const cJSON *ports = ku_member(c, "ports");
    if (ku_check_array(ports, path, err)) {
        int i = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, ports)
        {
            char *ppath = xasprintf("%s[%d]", path, i++);
            if (ku_check_object(p, ppath, err)) {
                check_port_number(p, ppath, "containerPort", true, err);
                check_port_number(p, ppath, "hostPort", false, err);
                check_enum(p, ppath, "protocol", PROTOCOLS, NELEM(PROTOCOLS), err);
            }
            free(ppath);
        }
    }
    free(path);
}

static void check_env(const cJSON *c, const char *prefix, api_error *err)
{
    char *path = xasprintf("%s.env", prefix);
    const cJSON *env = ku_member(c, "env");
    if (ku_check_array(env, path, err)) {
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, env)
        {
            char *epath = xasprintf("%s[%d]", path, i++);
            if (ku_check_object(e, epath, err)) {
                char *npath = xasprintf("%s.name", epath);
                const cJSON *name = ku_member(e, "name");
                if (ku_string_unset(name))
                    fe_required(err, npath, NULL);
                else
                    ku_check_string(name, npath, err);
                free(npath);
            }
            free(epath);
        }
    }
    free(path);
}

static void check_container_name(const cJSON *c, const char *prefix, bool repeated, api_error *err)
{
    char *path = xasprintf("%s.name", prefix);
    const cJSON *name = ku_member(c, "name");
    const char *msg;
    if (ku_string_unset(name))
        fe_required(err, path, NULL);
    else if (!cJSON_IsString(name))
        fe_type_invalid(err, path, name, "string");
    else if ((msg = dns1123_label_error(name->valuestring)) != NULL)
        fe_invalid_string(err, path, name->valuestring, msg);
    else if (repeated)
        fe_duplicate(err, path, name);
    free(path);
}

static void check_container(const cJSON *c, const char *prefix, bool repeated, api_error *err)
{
    if (!ku_check_object(c, prefix, err))
        return;
    check_container_name(c, prefix, repeated, err);
    char *path = xasprintf("%s.image", prefix);
    const cJSON *image = ku_member(c, "image");
    if (ku_string_unset(image))
        fe_required(err, path, NULL);
    else
        ku_check_string(image, path, err);
    free(path);
    check_enum(c, prefix, "imagePullPolicy", PULL_POLICIES, NELEM(PULL_POLICIES), err);
    check_enum(c, prefix, "terminationMessagePolicy", MESSAGE_POLICIES, NELEM(MESSAGE_POLICIES),
               err);
    check_ports(c, prefix, err);
    check_env(c, prefix, err);
}

/* The container names of both lists in kube's order (containers first), for the duplicate check. */
static const char **container_names(const cJSON *containers, const cJSON *inits, size_t *n)
{
    size_t cap = (size_t)cJSON_GetArraySize(containers) + (size_t)cJSON_GetArraySize(inits);
    const char **names = xcalloc(cap + 1, sizeof *names);
    size_t i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, containers)
    {
        names[i++] = ku_string(c, "name");
    }
    cJSON_ArrayForEach(c, inits)
    {
        names[i++] = ku_string(c, "name");
    }
    *n = i;
    return names;
}

static void check_container_list(const cJSON *list, const char *path, const bool *repeated,
                                 api_error *err)
{
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        char *prefix = xasprintf("%s[%d]", path, i);
        check_container(c, prefix, repeated[i], err);
        free(prefix);
        i++;
    }
}

static void check_containers(const cJSON *spec, const char *path, api_error *err)
{
    char *cpath = xasprintf("%s.containers", path);
    char *ipath = xasprintf("%s.initContainers", path);
    const cJSON *containers = ku_member(spec, "containers");
    const cJSON *inits = ku_member(spec, "initContainers");
    if (!containers || (cJSON_IsArray(containers) && cJSON_GetArraySize(containers) == 0))
        fe_required(err, cpath, NULL);
    if (!ku_check_array(containers, cpath, err))
        containers = NULL;
    if (!ku_check_array(inits, ipath, err))
        inits = NULL;
    size_t n;
    const char **names = container_names(containers, inits, &n);
    bool *repeated = ku_repeated_strings(names, n);
    check_container_list(containers, cpath, repeated, err);
    check_container_list(inits, ipath, repeated + cJSON_GetArraySize(containers), err);
    free(repeated);
    free(names);
    free(ipath);
    free(cpath);
}

void pod_template_validate(const cJSON *tmpl, const char *path, api_error *err)
{
    if (!ku_check_object(tmpl, path, err))
        return;
    char *mpath = xasprintf("%s.metadata", path);
    const cJSON *meta = ku_member(tmpl, "metadata");
    if (ku_check_object(meta, mpath, err)) {
        char *lpath = xasprintf("%s.labels", mpath);
        ku_check_labels(ku_member(meta, "labels"), lpath, err);
        free(lpath);
    }
    free(mpath);
    char *spath = xasprintf("%s.spec", path);
    const cJSON *spec = ku_member(tmpl, "spec");
    if (ku_check_object(spec, spath, err)) {
        check_containers(spec, spath, err);
        check_enum(spec, spath, "dnsPolicy", DNS_POLICIES, NELEM(DNS_POLICIES), err);
    }
    free(spath);
}
