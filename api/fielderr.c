/*
 * fielderr.c - causes worded like apimachinery's field.Error (see fielderr.h).
 */
#include "api/fielderr.h"

#include "common/alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2^53: beyond it a double no longer holds every integer, so "integer" stops meaning much. */
#define FE_MAX_EXACT_INT 9007199254740992.0

const char *fe_type_name(const cJSON *v)
{
    if (!v || cJSON_IsNull(v))
        return "null";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return fe_is_integer(v) ? "integer" : "number";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsArray(v))
        return "array";
    return "object";
}

bool fe_is_integer(const cJSON *v)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    return isfinite(d) && d == floor(d) && fabs(d) <= FE_MAX_EXACT_INT;
}

void fe_render_quoted(sbuf *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    sbuf_putc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            sbuf_puts(sb, "\\\"");
            break;
        case '\\':
            sbuf_puts(sb, "\\\\");
            break;
        case '\a':
            sbuf_puts(sb, "\\a");
            break;
        case '\b':
            sbuf_puts(sb, "\\b");
            break;
        case '\f':
            sbuf_puts(sb, "\\f");
            break;
        case '\n':
            sbuf_puts(sb, "\\n");
            break;
        case '\r':
            sbuf_puts(sb, "\\r");
            break;
        case '\t':
            sbuf_puts(sb, "\\t");
            break;
        case '\v':
            sbuf_puts(sb, "\\v");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                char esc[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 15]};
                sbuf_append(sb, esc, sizeof esc);
            } else {
                sbuf_putc(sb, (char)*p);
            }
        }
    }
    sbuf_putc(sb, '"');
}

/*
 * Go's %v of a float64: the shortest digits that read back to the same value, in plain
 * notation unless the decimal exponent is < -4 or >= 21 (then 1e+21 style).
 */
static void render_number(sbuf *sb, double d)
{
    if (!isfinite(d)) {
        sbuf_puts(sb, isnan(d) ? "NaN" : (d > 0 ? "+Inf" : "-Inf"));
        return;
    }
    if (d == floor(d) && fabs(d) < 1e21) {
        sbuf_printf(sb, "%.0f", d);
        return;
    }
    char buf[64];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
    int exp10 = atoi(strchr(buf, 'e') + 1);
    if (exp10 < -4 || exp10 >= 21) {
        sbuf_puts(sb, buf);
        return;
    }
    int decimals = prec - 1 - exp10;
    sbuf_printf(sb, "%.*f", decimals > 0 ? decimals : 0, d);
}

static bool all_strings(const cJSON *arr)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it))
            return false;
    }
    return true;
}

void fe_render_value(sbuf *sb, const cJSON *v)
{
    if (!v || cJSON_IsNull(v)) {
        sbuf_puts(sb, "null");
    } else if (cJSON_IsString(v)) {
        fe_render_quoted(sb, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        render_number(sb, v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        sbuf_puts(sb, cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsArray(v) && all_strings(v)) {
        /* Go's %#v of a []string, as kube prints e.g. a finalizer list. */
        sbuf_puts(sb, "[]string{");
        const cJSON *it;
        bool first = true;
        cJSON_ArrayForEach(it, v)
        {
            if (!first)
                sbuf_puts(sb, ", ");
            fe_render_quoted(sb, it->valuestring);
            first = false;
        }
        sbuf_putc(sb, '}');
    } else {
        char *json = cJSON_PrintUnformatted(v);
        sbuf_puts(sb, json ? json : "null");
        free(json);
    }
}

/* The message of the cause counting the causes left out: "and N more errors (...)". */
#define FE_OMITTED_FORMAT "and %zu more errors (only the first %d are reported)"

static bool is_omitted_cause(const cJSON *c)
{
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "message"));
    return msg && strncmp(msg, "and ", 4) == 0 && strstr(msg, " more errors (only the first ");
}

/*
 * The cause counting left-out causes, if there is one yet: normally the last (cJSON keeps the
 * tail in the head's prev, so that is O(1)); someone may have added causes after it.
 */
static cJSON *omitted_cause(const api_error *e)
{
    cJSON *head = e->causes ? e->causes->child : NULL;
    if (head && is_omitted_cause(head->prev))
        return head->prev;
    for (cJSON *c = head; c; c = c->next) {
        if (is_omitted_cause(c))
            return c;
    }
    return NULL;
}

/*
 * True when e already holds FE_MAX_CAUSES causes: then the cause for field is not built but
 * counted in the last cause (created on the first one left out). Costs at most a walk of the
 * FE_MAX_CAUSES causes.
 */
static bool omit(api_error *e, const char *field)
{
    if (apierr_cause_count(e) < FE_MAX_CAUSES)
        return false;
    cJSON *last = omitted_cause(e);
    if (!last) {
        apierr_add_cause(e, FE_INVALID, field, FE_OMITTED_FORMAT, (size_t)1, FE_MAX_CAUSES);
        return true;
    }
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(last, "message");
    size_t n = 0;
    if (sscanf(msg->valuestring, "and %zu", &n) != 1)
        n = 0;
    char *text = xasprintf(FE_OMITTED_FORMAT, n + 1, FE_MAX_CAUSES);
    cJSON_ReplaceItemInObjectCaseSensitive(last, "message", cJSON_CreateString(text));
    free(text);
    return true;
}

/* Appends a cause whose message is the finished buffer; frees the buffer. */
static void add(api_error *e, const char *reason, const char *field, sbuf *msg)
{
    apierr_add_cause(e, reason, field, "%s", msg->data ? msg->data : "");
    sbuf_free(msg);
}

void fe_required(api_error *e, const char *field, const char *detail)
{
    if (omit(e, field))
        return;
    sbuf msg = SBUF_INIT;
    sbuf_puts(&msg, "Required value");
    if (detail && *detail)
        sbuf_printf(&msg, ": %s", detail);
    add(e, FE_REQUIRED, field, &msg);
}

void fe_invalid(api_error *e, const char *field, const cJSON *value, const char *detail)
{
    if (omit(e, field))
        return;
    sbuf msg = SBUF_INIT;
    sbuf_puts(&msg, "Invalid value: ");
    fe_render_value(&msg, value);
    if (detail && *detail)
        sbuf_printf(&msg, ": %s", detail);
    add(e, FE_INVALID, field, &msg);
}

void fe_invalid_string(api_error *e, const char *field, const char *value, const char *detail)
{
    if (omit(e, field))
        return;
    sbuf msg = SBUF_INIT;
    sbuf_puts(&msg, "Invalid value: ");
    fe_render_quoted(&msg, value ? value : "");
    if (detail && *detail)
        sbuf_printf(&msg, ": %s", detail);
    add(e, FE_INVALID, field, &msg);
}

/* `Invalid value: "<got>": <field> in body must be of type <want>: "<got>"`. */
static void type_message(api_error *e, const char *field, const char *got, const char *want)
{
    if (omit(e, field))
        return;
    sbuf msg = SBUF_INIT;
    sbuf_puts(&msg, "Invalid value: ");
    fe_render_quoted(&msg, got);
    sbuf_printf(&msg, ": %s in body must be of type %s: ", field, want);
    fe_render_quoted(&msg, got);
    add(e, FE_TYPE_INVALID, field, &msg);
}

void fe_type_invalid(api_error *e, const char *field, const cJSON *value, const char *want)
{
    type_message(e, field, fe_type_name(value), want);
}

void fe_format_invalid(api_error *e, const char *field, const char *value, const char *want)
{
    type_message(e, field, value ? value : "", want);
}

void fe_not_supported(api_error *e, const char *field, const char *value,
                      const char *const *supported, size_t n)
{
    if (omit(e, field))
        return;
    sbuf msg = SBUF_INIT;
    sbuf_puts(&msg, "Unsupported value: ");
    fe_render_quoted(&msg, value ? value : "");
    sbuf_puts(&msg, ": supported values: ");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_puts(&msg, ", ");
        fe_render_quoted(&msg, supported[i]);
    }
    add(e, FE_NOT_SUPPORTED, field, &msg);
}

void fe_too_long(api_error *e, const char *field, size_t max)
{
    if (omit(e, field))
        return;
    sbuf msg = SBUF_INIT;
    sbuf_printf(&msg, "Too long: may not be more than %zu %s", max, max == 1 ? "byte" : "bytes");
    add(e, FE_TOO_LONG, field, &msg);
}

void fe_forbidden(api_error *e, const char *field, const char *detail)
{
    if (omit(e, field))
        return;
    sbuf msg = SBUF_INIT;
    sbuf_printf(&msg, "Forbidden: %s", detail);
    add(e, FE_FORBIDDEN, field, &msg);
}

void fe_duplicate(api_error *e, const char *field, const cJSON *value)
{
    if (omit(e, field))
        return;
    sbuf msg = SBUF_INIT;
    sbuf_puts(&msg, "Duplicate value: ");
    fe_render_value(&msg, value);
    add(e, FE_DUPLICATE, field, &msg);
}
