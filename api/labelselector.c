/*
 * labelselector.c - the structured metav1.LabelSelector (see labelselector.h), worded and
 * printed as apimachinery's meta/v1 helpers and validation do.
 */
#include "api/labelselector.h"
#include "api/fielderr.h"
#include "api/foo.h"
#include "api/kindutil.h"

#include "common/alloc.h"
#include "common/labels.h"

#include <stdlib.h>
#include <string.h>

typedef enum ls_op { OP_EQUALS, OP_IN, OP_NOT_IN, OP_EXISTS, OP_DOES_NOT_EXIST, OP_UNKNOWN } ls_op;

static ls_op op_of(const char *s)
{
    static const struct {
        const char *name;
        ls_op op;
    } ops[] = {{"In", OP_IN},
               {"NotIn", OP_NOT_IN},
               {"Exists", OP_EXISTS},
               {"DoesNotExist", OP_DOES_NOT_EXIST}};
    for (size_t i = 0; s && i < sizeof ops / sizeof ops[0]; i++) {
        if (strcmp(s, ops[i].name) == 0)
            return ops[i].op;
    }
    return OP_UNKNOWN;
}

/* ---- validation ---------------------------------------------------------------------------- */

/* The values of one expression: an array of label values. */
static bool validate_values(const cJSON *values, const char *prefix, api_error *err)
{
    char *path = xasprintf("%s.values", prefix);
    bool ok = ku_check_array(values, path, err);
    int j = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, ku_array(values))
    {
        char *vpath = xasprintf("%s[%d]", path, j++);
        const char *msg;
        if (!cJSON_IsString(v)) {
            fe_type_invalid(err, vpath, v, "string");
            ok = false;
        } else if ((msg = meta_label_value_error(v->valuestring)) != NULL) {
            fe_invalid_string(err, vpath, v->valuestring, msg);
            ok = false;
        }
        free(vpath);
    }
    free(path);
    return ok;
}

/* How many values the operator takes is kube's rule: some for In/NotIn, none for the others. */
static bool validate_operator(const cJSON *expr, const char *prefix, api_error *err)
{
    char *path = xasprintf("%s.operator", prefix);
    const char *op_name = ku_check_string(ku_member(expr, "operator"), path, err);
    const cJSON *values = ku_member(expr, "values");
    int nvalues = cJSON_IsArray(values) ? cJSON_GetArraySize(values) : 0;
    bool ok = true;
    switch (op_of(op_name)) {
    case OP_IN:
    case OP_NOT_IN:
        if (nvalues == 0) {
            char *vpath = xasprintf("%s.values", prefix);
            fe_required(err, vpath, "must be specified when `operator` is 'In' or 'NotIn'");
            free(vpath);
            ok = false;
        }
        break;
    case OP_EXISTS:
    case OP_DOES_NOT_EXIST:
        if (nvalues > 0) {
            char *vpath = xasprintf("%s.values", prefix);
            fe_forbidden(err, vpath,
                         "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
            free(vpath);
            ok = false;
        }
        break;
    default:
        fe_invalid_string(err, path, op_name ? op_name : "", "not a valid selector operator");
        ok = false;
        break;
    }
    free(path);
    return ok;
}

/* The key of one expression: a qualified name, like a label key. */
static bool validate_key(const cJSON *expr, const char *prefix, api_error *err)
{
    char *path = xasprintf("%s.key", prefix);
    const cJSON *key = ku_member(expr, "key");
    const char *k = ku_check_string(key, path, err);
    const char *msg = NULL;
    if (!key || k) /* absent reads as "", as in Go */
        msg = meta_qualified_name_error(k ? k : "");
    if (msg)
        fe_invalid_string(err, path, k ? k : "", msg);
    free(path);
    return (!key || k) && !msg;
}

static bool validate_expression(const cJSON *expr, int i, const char *path, api_error *err)
{
    char *prefix = xasprintf("%s.matchExpressions[%d]", path, i);
    bool ok = cJSON_IsObject(expr);
    if (!ok) {
        fe_type_invalid(err, prefix, expr, "object");
    } else { /* every check runs, even after a failure, so that each problem is reported */
        bool op_ok = validate_operator(expr, prefix, err);
        bool key_ok = validate_key(expr, prefix, err);
        bool values_ok = validate_values(ku_member(expr, "values"), prefix, err);
        ok = op_ok && key_ok && values_ok;
    }
    free(prefix);
    return ok;
}

bool ls_validate(const cJSON *sel, const char *path, api_error *err)
{
    if (!sel)
        return true;
    if (!ku_check_object(sel, path, err))
        return false;
    char *mlpath = xasprintf("%s.matchLabels", path);
    bool ok = ku_check_labels(ku_member(sel, "matchLabels"), mlpath, err);
    free(mlpath);
    char *mepath = xasprintf("%s.matchExpressions", path);
    const cJSON *exprs = ku_member(sel, "matchExpressions");
    if (!ku_check_array(exprs, mepath, err))
        ok = false;
    free(mepath);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, ku_array(exprs))
    {
        ok &= validate_expression(e, i++, path, err);
    }
    return ok;
}

bool ls_is_empty(const cJSON *sel)
{
    const cJSON *ml = ku_member(sel, "matchLabels");
    const cJSON *me = ku_member(sel, "matchExpressions");
    return cJSON_IsObject(sel) && cJSON_GetArraySize(ml) == 0 && cJSON_GetArraySize(me) == 0;
}

/* ---- the selector text --------------------------------------------------------------------- */

/*
 * A well-formed selector's requirements as selector text, in document order (matchLabels
 * first); common/labels sorts and prints them canonically. Validated keys and values are label
 * syntax, so the text always parses.
 */
static char *unsorted_text(const cJSON *sel)
{
    sbuf out = SBUF_INIT;
    const cJSON *it;
    cJSON_ArrayForEach(it, ku_member(sel, "matchLabels"))
    {
        sbuf_printf(&out, "%s%s=%s", out.len ? "," : "", it->string, it->valuestring);
    }
    cJSON_ArrayForEach(it, ku_member(sel, "matchExpressions"))
    {
        const char *key = ku_string(it, "key");
        ls_op op = op_of(ku_string(it, "operator"));
        if (out.len)
            sbuf_putc(&out, ',');
        switch (op) {
        case OP_IN:
        case OP_NOT_IN: {
            sbuf_printf(&out, "%s %s (", key, op == OP_IN ? "in" : "notin");
            int j = 0;
            const cJSON *v;
            cJSON_ArrayForEach(v, ku_member(it, "values"))
            {
                sbuf_printf(&out, "%s%s", j++ ? "," : "", v->valuestring);
            }
            sbuf_putc(&out, ')');
            break;
        }
        case OP_EXISTS:
            sbuf_puts(&out, key);
            break;
        case OP_DOES_NOT_EXIST:
            sbuf_printf(&out, "!%s", key);
            break;
        case OP_EQUALS:
        case OP_UNKNOWN:
            break; /* not an expression operator; ls_validate rejects it */
        }
    }
    return sbuf_detach(&out, NULL);
}

/* sel as common/labels' parsed selector, or NULL when sel is not well formed. */
static labels_selector *to_selector(const cJSON *sel)
{
    api_error err = API_ERROR_INIT;
    labels_selector *parsed = NULL;
    if (ls_validate(sel, "selector", &err)) {
        char *text = unsorted_text(sel);
        parsed = labels_parse(text, &err);
        free(text);
    }
    apierr_clear(&err);
    return parsed;
}

char *ls_format(const cJSON *sel)
{
    labels_selector *parsed = to_selector(sel);
    char *text = parsed ? labels_format(parsed) : NULL;
    labels_free(parsed);
    return text;
}

/* ---- Go's %#v ------------------------------------------------------------------------------ */

static void put_go_string(sbuf *sb, const cJSON *v)
{
    fe_render_quoted(sb, cJSON_IsString(v) ? v->valuestring : "");
}

void ls_render_go(sbuf *sb, const cJSON *sel)
{
    if (!cJSON_IsObject(sel)) {
        sbuf_puts(sb, "null");
        return;
    }
    sbuf_puts(sb, "v1.LabelSelector{MatchLabels:");
    ku_render_go_string_map(sb, ku_member(sel, "matchLabels"));
    sbuf_puts(sb, ", MatchExpressions:");
    const cJSON *exprs = ku_member(sel, "matchExpressions");
    if (!cJSON_IsArray(exprs)) {
        sbuf_puts(sb, "[]v1.LabelSelectorRequirement(nil)}");
        return;
    }
    sbuf_puts(sb, "[]v1.LabelSelectorRequirement{");
    bool first = true;
    const cJSON *e;
    cJSON_ArrayForEach(e, exprs)
    {
        sbuf_puts(sb, first ? "v1.LabelSelectorRequirement{Key:"
                            : ", v1.LabelSelectorRequirement{Key:");
        put_go_string(sb, ku_member(e, "key"));
        sbuf_puts(sb, ", Operator:");
        put_go_string(sb, ku_member(e, "operator"));
        sbuf_puts(sb, ", Values:");
        ku_render_go_string_slice(sb, ku_member(e, "values"));
        sbuf_putc(sb, '}');
        first = false;
    }
    sbuf_puts(sb, "}}");
}

/* ---- matching ------------------------------------------------------------------------------ */

bool ls_matches(const cJSON *sel, const cJSON *labels)
{
    if (!sel)
        return false;
    /* Matched by the same code as the labelSelector query parameter. */
    labels_selector *parsed = to_selector(sel);
    bool match = parsed && labels_match(parsed, labels);
    labels_free(parsed);
    return match;
}
