/*
 * kindutil.c - field helpers shared by the built-in kinds' strategies (see kindutil.h).
 */
#include "api/kindutil.h"
#include "api/fielderr.h"
#include "api/foo.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const cJSON *ku_member(const cJSON *obj, const char *key)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

cJSON *ku_member_mut(cJSON *obj, const char *key)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

cJSON *ku_object_member(cJSON *parent, const char *key)
{
    if (!cJSON_IsObject(parent))
        return NULL;
    cJSON *v = ku_member_mut(parent, key);
    if (!v) {
        v = cJSON_CreateObject();
        json_set_item(parent, key, v);
    }
    return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *ku_array(const cJSON *v)
{
    return cJSON_IsArray(v) ? v : NULL;
}

cJSON *ku_array_mut(cJSON *v)
{
    return cJSON_IsArray(v) ? v : NULL;
}

const char *ku_string(const cJSON *obj, const char *key)
{
    const cJSON *v = ku_member(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool ku_string_unset(const cJSON *v)
{
    return !v || cJSON_IsNull(v) || (cJSON_IsString(v) && !*v->valuestring);
}

bool ku_int_unset(const cJSON *v)
{
    return !v || cJSON_IsNull(v) || (cJSON_IsNumber(v) && v->valuedouble == 0);
}

int64_t ku_int_or(const cJSON *obj, const char *key, int64_t otherwise)
{
    int64_t n;
    return json_int64(ku_member(obj, key), INT64_MIN, INT64_MAX, &n) ? n : otherwise;
}

bool ku_check_int(const cJSON *v, const char *path, int64_t min, const char *min_msg, int64_t max,
                  api_error *err, int64_t *out)
{
    char detail[64];
    int64_t n;
    if (!v)
        return false;
    if (!fe_is_integer(v) || !json_int64(v, INT64_MIN, INT64_MAX, &n)) {
        fe_type_invalid(err, path, v, "integer");
        return false;
    }
    if (n < min) {
        fe_invalid(err, path, v, min_msg);
        return false;
    }
    if (n > max) {
        snprintf(detail, sizeof detail, "must be less than or equal to %lld", (long long)max);
        fe_invalid(err, path, v, detail);
        return false;
    }
    if (out)
        *out = n;
    return true;
}

const char *ku_check_string(const cJSON *v, const char *path, api_error *err)
{
    if (!v)
        return NULL;
    if (!cJSON_IsString(v)) {
        fe_type_invalid(err, path, v, "string");
        return NULL;
    }
    return v->valuestring;
}

void ku_check_time(const cJSON *v, const char *path, api_error *err)
{
    int64_t t;
    const char *s = ku_check_string(v, path, err);
    if (s && *s && !time_parse_rfc3339(s, &t))
        fe_format_invalid(err, path, s, "date-time");
}

void ku_check_bool(const cJSON *v, const char *path, api_error *err)
{
    if (v && !cJSON_IsBool(v))
        fe_type_invalid(err, path, v, "boolean");
}

bool ku_check_object(const cJSON *v, const char *path, api_error *err)
{
    if (v && !cJSON_IsObject(v)) {
        fe_type_invalid(err, path, v, "object");
        return false;
    }
    return true;
}

bool ku_check_array(const cJSON *v, const char *path, api_error *err)
{
    if (v && !cJSON_IsArray(v)) {
        fe_type_invalid(err, path, v, "array");
        return false;
    }
    return true;
}

bool ku_check_labels(const cJSON *labels, const char *path, api_error *err)
{
    if (!labels)
        return true;
    if (!ku_check_object(labels, path, err))
        return false;
    bool ok = true;
    const cJSON *it;
    cJSON_ArrayForEach(it, labels)
    {
        const char *msg = meta_qualified_name_error(it->string);
        if (msg) {
            fe_invalid_string(err, path, it->string, msg);
            ok = false;
        }
        if (!cJSON_IsString(it)) {
            char *p = xasprintf("%s.%s", path, it->string);
            fe_type_invalid(err, p, it, "string");
            free(p);
            ok = false;
        } else if ((msg = meta_label_value_error(it->valuestring)) != NULL) {
            fe_invalid_string(err, path, it->valuestring, msg);
            ok = false;
        }
    }
    return ok;
}

/* ---- metadata ------------------------------------------------------------------------------ */

static void validate_name(const cJSON *meta, ku_name_rule name_rule, api_error *err)
{
    const cJSON *name = ku_member(meta, "name");
    if (name && !cJSON_IsString(name)) {
        fe_type_invalid(err, "metadata.name", name, "string");
        return;
    }
    if (!name || !*name->valuestring) {
        fe_required(err, "metadata.name", "name or generateName is required");
        return;
    }
    const char *msg = name_rule(name->valuestring);
    if (msg)
        fe_invalid_string(err, "metadata.name", name->valuestring, msg);
}

void ku_validate_meta(const cJSON *obj, const cJSON *old_obj, ku_name_rule name_rule,
                      api_error *err)
{
    const cJSON *meta = ku_member(obj, "metadata");
    if (meta && !cJSON_IsObject(meta)) {
        fe_type_invalid(err, "metadata", meta, "object");
        return;
    }
    /*
     * meta_validate checks the name as a DNS-1123 subdomain. To apply the kind's own rule, it is
     * given a view of the metadata without the name: an object of references to the other
     * members, which costs no copy and frees none of them.
     */
    cJSON *view = cJSON_CreateObject();
    const cJSON *m;
    cJSON_ArrayForEach(m, meta)
    {
        if (m->string && strcmp(m->string, "name") != 0)
            cJSON_AddItemReferenceToObject(view, m->string, (cJSON *)m);
    }
    validate_name(meta, name_rule, err);
    meta_validate(view, false, err);
    cJSON_Delete(view);
    if (old_obj)
        meta_validate_update(meta, ku_member(old_obj, "metadata"), err);
}

const char *ku_path_segment_error(const char *name)
{
    if (strcmp(name, ".") == 0)
        return "may not be '.'";
    if (strcmp(name, "..") == 0)
        return "may not be '..'";
    if (strchr(name, '/'))
        return "may not contain '/'";
    if (strchr(name, '%'))
        return "may not contain '%'";
    return NULL;
}

/* ---- repeated strings ---------------------------------------------------------------------- */

typedef struct indexed_string {
    const char *s;
    size_t index;
} indexed_string;

static int cmp_indexed(const void *a, const void *b)
{
    const indexed_string *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    if (c != 0)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

bool *ku_repeated_strings(const char *const *strs, size_t n)
{
    bool *repeated = xcalloc(n + 1, sizeof *repeated);
    indexed_string *sorted = xcalloc(n + 1, sizeof *sorted);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (strs[i])
            sorted[m++] = (indexed_string){strs[i], i};
    }
    qsort(sorted, m, sizeof *sorted, cmp_indexed);
    for (size_t k = 1; k < m; k++)
        repeated[sorted[k].index] = strcmp(sorted[k - 1].s, sorted[k].s) == 0;
    free(sorted);
    return repeated;
}

void ku_invalid_rendered(api_error *err, const char *path, const char *rendered, const char *detail)
{
    /* fe_invalid prints values it cannot render in Go's syntax as JSON, and a cJSON raw item
       prints as its text: this keeps the cause limit and wording of fielderr.h. */
    cJSON *raw = cJSON_CreateRaw(rendered);
    fe_invalid(err, path, raw, detail);
    cJSON_Delete(raw);
}

/* ---- Go's %#v ------------------------------------------------------------------------------ */

static int cmp_member_keys(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

void ku_render_go_string_map(sbuf *sb, const cJSON *map)
{
    if (!cJSON_IsObject(map)) {
        sbuf_puts(sb, "map[string]string(nil)");
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(map), i = 0;
    const cJSON **members = xcalloc(n + 1, sizeof *members);
    const cJSON *it;
    cJSON_ArrayForEach(it, map)
    {
        members[i++] = it;
    }
    qsort(members, n, sizeof *members, cmp_member_keys);
    sbuf_puts(sb, "map[string]string{");
    for (i = 0; i < n; i++) {
        if (i)
            sbuf_puts(sb, ", ");
        fe_render_quoted(sb, members[i]->string);
        sbuf_putc(sb, ':');
        fe_render_quoted(sb, cJSON_IsString(members[i]) ? members[i]->valuestring : "");
    }
    sbuf_putc(sb, '}');
    free(members);
}

void ku_render_go_string_slice(sbuf *sb, const cJSON *arr)
{
    if (!cJSON_IsArray(arr)) {
        sbuf_puts(sb, "[]string(nil)");
        return;
    }
    sbuf_puts(sb, "[]string{");
    bool first = true;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!first)
            sbuf_puts(sb, ", ");
        fe_render_quoted(sb, cJSON_IsString(it) ? it->valuestring : "");
        first = false;
    }
    sbuf_putc(sb, '}');
}
