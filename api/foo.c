/*
 * foo.c - defaulting, validation and the unknown-field check of the Foo kind (docs/design.md §2).
 *
 * Messages follow apimachinery's field.Error wording (see fielderr.h). Where a value has the
 * wrong JSON type, the cause uses the CRD schema wording, since a Foo is checked as JSON here
 * rather than decoded into typed structs.
 */
#include "api/foo.h"
#include "api/fielderr.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"
#include "common/timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CONDITION_STATUSES[] = {"True", "False", "Unknown"};

/* obj[key] when obj is an object and the member is present and not JSON null; else NULL. */
static const cJSON *member(const cJSON *obj, const char *key)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

/* A string member that is absent, null or "" is unset, as the zero value of a Go string. */
static bool string_unset(const cJSON *v)
{
    return !v || cJSON_IsNull(v) || (cJSON_IsString(v) && !*v->valuestring);
}

/* ---- defaulting ---------------------------------------------------------------------------- */

void foo_default(cJSON *foo)
{
    if (!cJSON_IsObject(foo))
        return;
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(foo, "spec");
    if (!spec || cJSON_IsNull(spec)) {
        spec = cJSON_CreateObject();
        json_set_item(foo, "spec", spec);
    }
    if (!cJSON_IsObject(spec))
        return; /* left for foo_validate to report */
    const char *name = json_path_string(foo, "metadata.name");
    if (string_unset(cJSON_GetObjectItemCaseSensitive(spec, "deploymentName")) && name && *name)
        json_set_string(spec, "deploymentName", name);
    if (string_unset(cJSON_GetObjectItemCaseSensitive(spec, "namespace")))
        json_set_string(spec, "namespace", FOO_DEFAULT_NAMESPACE);
    if (!member(spec, "replicas"))
        json_set_number(spec, "replicas", FOO_DEFAULT_REPLICAS);
    if (string_unset(cJSON_GetObjectItemCaseSensitive(spec, "image")))
        json_set_string(spec, "image", FOO_DEFAULT_IMAGE);
}

/* ---- spec validation ----------------------------------------------------------------------- */

/* spec.<key>: required DNS-1123 label that may not change once stored. */
static void validate_immutable_label(const cJSON *spec, const cJSON *old_spec, const char *key,
                                     api_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "spec.%s", key);
    const cJSON *v = member(spec, key);
    if (string_unset(v)) {
        fe_required(err, path, NULL);
        return;
    }
    if (!cJSON_IsString(v)) {
        fe_type_invalid(err, path, v, "string");
        return;
    }
    const char *msg = dns1123_label_error(v->valuestring);
    if (msg) {
        fe_invalid_string(err, path, v->valuestring, msg);
        return;
    }
    const cJSON *old = member(old_spec, key);
    if (cJSON_IsString(old) && strcmp(old->valuestring, v->valuestring) != 0)
        fe_invalid_string(err, path, v->valuestring, "field is immutable");
}

/* An integer in [min, max] at `path`; absent is an error only when required. */
static void validate_int_range(const cJSON *v, const char *path, bool required, double min,
                               double max, api_error *err)
{
    char detail[64];
    if (!v) {
        if (required)
            fe_required(err, path, NULL);
        return;
    }
    if (!fe_is_integer(v)) {
        fe_type_invalid(err, path, v, "integer");
    } else if (v->valuedouble < min) {
        snprintf(detail, sizeof detail, "must be greater than or equal to %.0f", min);
        fe_invalid(err, path, v, detail);
    } else if (v->valuedouble > max) {
        snprintf(detail, sizeof detail, "must be less than or equal to %.0f", max);
        fe_invalid(err, path, v, detail);
    }
}

static bool has_whitespace(const char *s)
{
    for (; *s; s++) {
        if (isspace((unsigned char)*s))
            return true;
    }
    return false;
}

static void validate_image(const cJSON *spec, api_error *err)
{
    const cJSON *v = member(spec, "image");
    if (string_unset(v)) {
        fe_required(err, "spec.image", NULL);
    } else if (!cJSON_IsString(v)) {
        fe_type_invalid(err, "spec.image", v, "string");
    } else if (strlen(v->valuestring) > FOO_MAX_IMAGE_LEN) {
        fe_too_long(err, "spec.image", FOO_MAX_IMAGE_LEN);
    } else if (has_whitespace(v->valuestring)) {
        fe_invalid_string(err, "spec.image", v->valuestring, "must not contain whitespace");
    }
}

/* An optional RFC 3339 time string at `path` ("" counts as unset). */
static void validate_time(const cJSON *v, const char *path, api_error *err)
{
    int64_t t;
    if (!v)
        return;
    if (!cJSON_IsString(v))
        fe_type_invalid(err, path, v, "string");
    else if (*v->valuestring && !time_parse_rfc3339(v->valuestring, &t))
        fe_format_invalid(err, path, v->valuestring, "date-time");
}

void foo_validate(const cJSON *foo, const cJSON *old, api_error *err)
{
    const cJSON *meta = member(foo, "metadata");
    meta_validate(meta, true, err);
    if (old)
        meta_validate_update(meta, member(old, "metadata"), err);

    const cJSON *spec = member(foo, "spec");
    if (!spec) {
        fe_required(err, "spec", NULL);
        return;
    }
    if (!cJSON_IsObject(spec)) {
        fe_type_invalid(err, "spec", spec, "object");
        return;
    }
    const cJSON *old_spec = member(old, "spec");
    validate_immutable_label(spec, old_spec, "deploymentName", err);
    validate_immutable_label(spec, old_spec, "namespace", err);
    validate_int_range(member(spec, "replicas"), "spec.replicas", true, 0, FOO_MAX_REPLICAS, err);
    validate_image(spec, err);
    validate_time(member(spec, "restartedAt"), "spec.restartedAt", err);
}

/* ---- status validation --------------------------------------------------------------------- */

/* An optional string member at prefix.key. */
static void validate_string_member(const cJSON *obj, const char *prefix, const char *key,
                                   api_error *err)
{
    const cJSON *v = member(obj, key);
    if (v && !cJSON_IsString(v)) {
        char *path = xasprintf("%s.%s", prefix, key);
        fe_type_invalid(err, path, v, "string");
        free(path);
    }
}

static void validate_nonneg_member(const cJSON *obj, const char *prefix, const char *key,
                                   api_error *err)
{
    char *path = xasprintf("%s.%s", prefix, key);
    validate_int_range(member(obj, key), path, false, 0, 9007199254740992.0, err);
    free(path);
}

/* A condition's string type and its position, for finding repeated types by sorting. */
typedef struct cond_type {
    const char *type;
    size_t index;
} cond_type;

static int cmp_cond_type(const void *a, const void *b)
{
    const cond_type *x = a, *y = b;
    int c = strcmp(x->type, y->type);
    if (c != 0)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * For each of the n conditions, whether an earlier one has the same string type (the later
 * ones are the duplicates). Sorting by (type, position) makes this O(n log n) where comparing
 * each condition with every earlier one would be O(n^2). The caller frees the result.
 */
static bool *repeated_types(const cJSON *conds, size_t n)
{
    bool *repeated = xcalloc(n + 1, sizeof *repeated);
    cond_type *types = xcalloc(n + 1, sizeof *types);
    size_t m = 0, i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, conds)
    {
        const cJSON *t = member(c, "type");
        if (cJSON_IsString(t))
            types[m++] = (cond_type){t->valuestring, i};
        i++;
    }
    qsort(types, m, sizeof *types, cmp_cond_type);
    for (size_t k = 1; k < m; k++)
        repeated[types[k].index] = strcmp(types[k - 1].type, types[k].type) == 0;
    free(types);
    return repeated;
}

static void validate_condition_type(const cJSON *c, bool repeated, const char *prefix,
                                    api_error *err)
{
    char *path = xasprintf("%s.type", prefix);
    const cJSON *t = member(c, "type");
    const char *msg;
    if (string_unset(t))
        fe_required(err, path, NULL);
    else if (!cJSON_IsString(t))
        fe_type_invalid(err, path, t, "string");
    else if ((msg = meta_qualified_name_error(t->valuestring)) != NULL)
        fe_invalid_string(err, path, t->valuestring, msg);
    else if (repeated)
        fe_duplicate(err, path, t);
    free(path);
}

static void validate_condition_status(const cJSON *c, const char *prefix, api_error *err)
{
    char *path = xasprintf("%s.status", prefix);
    const cJSON *s = member(c, "status");
    size_t n = sizeof CONDITION_STATUSES / sizeof CONDITION_STATUSES[0];
    if (string_unset(s)) {
        fe_required(err, path, NULL);
    } else if (!cJSON_IsString(s)) {
        fe_type_invalid(err, path, s, "string");
    } else {
        bool ok = false;
        for (size_t i = 0; i < n; i++)
            ok |= strcmp(s->valuestring, CONDITION_STATUSES[i]) == 0;
        if (!ok)
            fe_not_supported(err, path, s->valuestring, CONDITION_STATUSES, n);
    }
    free(path);
}

static void validate_condition(const cJSON *c, int i, bool repeated, api_error *err)
{
    char *prefix = xasprintf("status.conditions[%d]", i);
    if (!cJSON_IsObject(c)) {
        fe_type_invalid(err, prefix, c, "object");
        free(prefix);
        return;
    }
    validate_condition_type(c, repeated, prefix, err);
    validate_condition_status(c, prefix, err);
    validate_string_member(c, prefix, "reason", err);
    validate_string_member(c, prefix, "message", err);
    char *path = xasprintf("%s.lastTransitionTime", prefix);
    validate_time(member(c, "lastTransitionTime"), path, err);
    free(path);
    validate_nonneg_member(c, prefix, "observedGeneration", err);
    free(prefix);
}

void foo_validate_status(const cJSON *foo, api_error *err)
{
    const cJSON *st = member(foo, "status");
    if (!st)
        return;
    if (!cJSON_IsObject(st)) {
        fe_type_invalid(err, "status", st, "object");
        return;
    }
    validate_nonneg_member(st, "status", "observedGeneration", err);
    validate_nonneg_member(st, "status", "replicas", err);
    validate_nonneg_member(st, "status", "availableReplicas", err);
    validate_string_member(st, "status", "selector", err);
    const cJSON *conds = member(st, "conditions");
    if (!conds)
        return;
    if (!cJSON_IsArray(conds)) {
        fe_type_invalid(err, "status.conditions", conds, "array");
        return;
    }
    bool *repeated = repeated_types(conds, (size_t)cJSON_GetArraySize(conds));
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, conds)
    {
        validate_condition(c, i, repeated[i], err);
        i++;
    }
    free(repeated);
}

/* ---- unknown fields ------------------------------------------------------------------------ */

/*
 * The Foo schema as a tree of known fields. A leaf accepts any value (scalars, and maps with
 * free keys such as labels); an object node lists its known fields; an array node gives the
 * node of its items.
 */
enum node_kind { NODE_LEAF, NODE_OBJECT, NODE_ARRAY };

struct schema_field;
struct schema_node {
    enum node_kind kind;
    const struct schema_field *fields; /* NODE_OBJECT: terminated by a NULL name */
    const struct schema_node *items;   /* NODE_ARRAY */
};
struct schema_field {
    const char *name;
    const struct schema_node *node;
};

static const struct schema_node LEAF = {NODE_LEAF, NULL, NULL};

static const struct schema_field OWNER_REF_FIELDS[] = {
    {"apiVersion", &LEAF}, {"kind", &LEAF},       {"name", &LEAF},
    {"uid", &LEAF},        {"controller", &LEAF}, {"blockOwnerDeletion", &LEAF},
    {NULL, NULL}};
static const struct schema_node OWNER_REF = {NODE_OBJECT, OWNER_REF_FIELDS, NULL};
static const struct schema_node OWNER_REFS = {NODE_ARRAY, NULL, &OWNER_REF};

static const struct schema_field MANAGED_FIELDS_ENTRY_FIELDS[] = {
    {"manager", &LEAF},    {"operation", &LEAF}, {"apiVersion", &LEAF},  {"time", &LEAF},
    {"fieldsType", &LEAF}, {"fieldsV1", &LEAF},  {"subresource", &LEAF}, {NULL, NULL}};
static const struct schema_node MANAGED_FIELDS_ENTRY = {NODE_OBJECT, MANAGED_FIELDS_ENTRY_FIELDS,
                                                        NULL};
static const struct schema_node MANAGED_FIELDS = {NODE_ARRAY, NULL, &MANAGED_FIELDS_ENTRY};

static const struct schema_field META_FIELDS[] = {{"name", &LEAF},
                                                  {"generateName", &LEAF},
                                                  {"namespace", &LEAF},
                                                  {"selfLink", &LEAF},
                                                  {"uid", &LEAF},
                                                  {"resourceVersion", &LEAF},
                                                  {"generation", &LEAF},
                                                  {"creationTimestamp", &LEAF},
                                                  {"deletionTimestamp", &LEAF},
                                                  {"deletionGracePeriodSeconds", &LEAF},
                                                  {"labels", &LEAF},
                                                  {"annotations", &LEAF},
                                                  {"ownerReferences", &OWNER_REFS},
                                                  {"finalizers", &LEAF},
                                                  {"managedFields", &MANAGED_FIELDS},
                                                  {NULL, NULL}};
static const struct schema_node META = {NODE_OBJECT, META_FIELDS, NULL};

static const struct schema_field SPEC_FIELDS[] = {{"deploymentName", &LEAF}, {"namespace", &LEAF},
                                                  {"replicas", &LEAF},       {"image", &LEAF},
                                                  {"restartedAt", &LEAF},    {NULL, NULL}};
static const struct schema_node SPEC = {NODE_OBJECT, SPEC_FIELDS, NULL};

static const struct schema_field CONDITION_FIELDS[] = {{"type", &LEAF},
                                                       {"status", &LEAF},
                                                       {"reason", &LEAF},
                                                       {"message", &LEAF},
                                                       {"lastTransitionTime", &LEAF},
                                                       {"observedGeneration", &LEAF},
                                                       {NULL, NULL}};
static const struct schema_node CONDITION = {NODE_OBJECT, CONDITION_FIELDS, NULL};
static const struct schema_node CONDITIONS = {NODE_ARRAY, NULL, &CONDITION};

static const struct schema_field STATUS_FIELDS[] = {
    {"observedGeneration", &LEAF}, {"replicas", &LEAF},         {"availableReplicas", &LEAF},
    {"selector", &LEAF},           {"conditions", &CONDITIONS}, {NULL, NULL}};
static const struct schema_node STATUS = {NODE_OBJECT, STATUS_FIELDS, NULL};

static const struct schema_field FOO_FIELDS[] = {{"apiVersion", &LEAF}, {"kind", &LEAF},
                                                 {"metadata", &META},   {"spec", &SPEC},
                                                 {"status", &STATUS},   {NULL, NULL}};
static const struct schema_node FOO_SCHEMA = {NODE_OBJECT, FOO_FIELDS, NULL};

static const struct schema_node *lookup_field(const struct schema_field *fields, const char *name)
{
    for (; fields->name; fields++) {
        if (strcmp(fields->name, name) == 0)
            return fields->node;
    }
    return NULL;
}

/* Cuts the path back to `len` bytes after a child was visited. */
static void path_truncate(sbuf *path, size_t len)
{
    path->len = len;
    if (path->data)
        path->data[len] = '\0';
}

typedef struct prune_walk {
    sbuf path;        /* field path of the value being visited */
    cJSON *out;       /* where removed fields are named */
    size_t max_named; /* at most this many are named */
    size_t removed;
} prune_walk;

static void prune_value(prune_walk *w, cJSON *v, const struct schema_node *node);

/* Removes member m of obj, which the schema does not know, naming it while there is room. */
static void prune_member(prune_walk *w, cJSON *obj, cJSON *m)
{
    if (w->removed++ < w->max_named)
        cJSON_AddItemToArray(w->out, cJSON_CreateString(w->path.data));
    cJSON_Delete(cJSON_DetachItemViaPointer(obj, m));
}

/*
 * Removes from v every member unknown to node. A value of the wrong JSON type is not descended
 * into: that is a validation error, not an unknown field.
 */
static void prune_value(prune_walk *w, cJSON *v, const struct schema_node *node)
{
    size_t mark = w->path.len;
    if (node->kind == NODE_OBJECT && cJSON_IsObject(v)) {
        cJSON *m = v->child;
        while (m) {
            cJSON *next = m->next;
            if (mark)
                sbuf_putc(&w->path, '.');
            sbuf_puts(&w->path, m->string);
            const struct schema_node *child = lookup_field(node->fields, m->string);
            if (child)
                prune_value(w, m, child);
            else
                prune_member(w, v, m);
            path_truncate(&w->path, mark);
            m = next;
        }
    } else if (node->kind == NODE_ARRAY && cJSON_IsArray(v)) {
        int i = 0;
        for (cJSON *e = v->child; e; e = e->next) {
            sbuf_printf(&w->path, "[%d]", i++);
            prune_value(w, e, node->items);
            path_truncate(&w->path, mark);
        }
    }
}

size_t foo_prune_unknown_fields(cJSON *foo, cJSON *paths, size_t max_named)
{
    prune_walk w = {SBUF_INIT, paths, max_named, 0};
    prune_value(&w, foo, &FOO_SCHEMA);
    sbuf_free(&w.path);
    return w.removed;
}

/* ---- columns ------------------------------------------------------------------------------- */

cJSON *foo_cell_ready(const cJSON *foo, int64_t now_s)
{
    (void)now_s;
    const cJSON *cond;
    cJSON_ArrayForEach(cond, json_path(foo, "status.conditions"))
    {
        const char *type = json_path_string(cond, "type");
        const char *status = json_path_string(cond, "status");
        if (type && status && strcmp(type, "Ready") == 0)
            return cJSON_CreateString(status);
    }
    return cJSON_CreateNull();
}

const api_column foo_columns[FOO_NCOLUMNS] = {
    {"Name", "string", "name", "Name of the Foo", 0, "metadata.name", NULL},
    {"Deployment", "string", "", "Name of the Deployment the Foo owns", 0, "spec.deploymentName",
     NULL},
    {"Replicas", "integer", "", "Desired number of pods", 0, "spec.replicas", NULL},
    {"Available", "integer", "", "Pods available", 0, "status.availableReplicas", NULL},
    {"Ready", "string", "", "Status of the Ready condition", 0, NULL, foo_cell_ready},
    {"Age", "date", "", "Time since the Foo was created", 0, NULL, api_cell_age},
    {"Namespace", "string", "", "Namespace of the Deployment", 1, "spec.namespace", NULL},
    {"Image", "string", "", "Container image of the pods", 1, "spec.image", NULL},
};
