/*
 * fielderr.h - private to api/: validation causes worded like apimachinery's field.Error, so a
 * 422 from foo-apiserver reads like one from kube-apiserver.
 *
 * A cause is {reason, message, field}; the message is "<type>[: <value>][: <detail>]" where the
 * value is rendered like Go's fmt (%v for numbers and bools, %q for strings). Schema-type
 * problems (a string where an integer belongs) use the wording of CRD validation
 * (`spec.replicas in body must be of type integer: "string"`), as no Go decoder runs here.
 *
 * All functions append one cause to `e` (see apierr_add_cause); field and strings are copied.
 * Pure apart from that; thread-safe for distinct `e`.
 *
 * At most FE_MAX_CAUSES causes are reported: kube lists every one, but a body with 250 000 bad
 * labels must not build a response of megabytes. Past the limit, one last cause counts the rest:
 * reason FieldValueInvalid, the field of the first cause left out, message
 * "and N more errors (only the first 100 are reported)". Left-out causes cost no formatting.
 */
#ifndef FOO_API_FIELDERR_H
#define FOO_API_FIELDERR_H

#include "common/apierr.h"
#include "common/sbuf.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Cause reasons: metav1.CauseType values. */
#define FE_REQUIRED      "FieldValueRequired"
#define FE_INVALID       "FieldValueInvalid"
#define FE_TYPE_INVALID  "FieldValueTypeInvalid"
#define FE_NOT_SUPPORTED "FieldValueNotSupported"
#define FE_TOO_LONG      "FieldValueTooLong"
#define FE_FORBIDDEN     "FieldValueForbidden"
#define FE_DUPLICATE     "FieldValueDuplicate"

/* Causes reported in full; the rest are counted in one more cause. */
#define FE_MAX_CAUSES 100

/* "Required value" or "Required value: <detail>" (detail may be NULL). */
void fe_required(api_error *e, const char *field, const char *detail);
/* "Invalid value: <value>: <detail>"; value is any JSON item (NULL renders as null). */
void fe_invalid(api_error *e, const char *field, const cJSON *value, const char *detail);
/* Same with a plain C string value, rendered quoted like Go's %q. */
void fe_invalid_string(api_error *e, const char *field, const char *value, const char *detail);
/*
 * The CRD schema wording for a value of the wrong JSON type or format:
 * `Invalid value: "<got>": <field> in body must be of type <want>: "<got>"`, where got is the
 * JSON type name of value (fe_type_name); reason FieldValueTypeInvalid.
 */
void fe_type_invalid(api_error *e, const char *field, const cJSON *value, const char *want);
/* Like fe_type_invalid for a string of the right type in the wrong format (want: "date-time"). */
void fe_format_invalid(api_error *e, const char *field, const char *value, const char *want);
/* `Unsupported value: "<value>": supported values: "a", "b"`. */
void fe_not_supported(api_error *e, const char *field, const char *value,
                      const char *const *supported, size_t n);
/* "Too long: may not be more than <max> bytes" (the value is not echoed: it may be huge). */
void fe_too_long(api_error *e, const char *field, size_t max);
/* "Forbidden: <detail>". */
void fe_forbidden(api_error *e, const char *field, const char *detail);
/* "Duplicate value: <value>". */
void fe_duplicate(api_error *e, const char *field, const cJSON *value);

/*
 * The JSON Schema type name of a value: "string", "integer" (a number without fraction),
 * "number", "boolean", "object", "array" or "null" (also for NULL).
 */
const char *fe_type_name(const cJSON *v);
/* True when v is a JSON number with no fractional part, exactly representable (|v| <= 2^53). */
bool fe_is_integer(const cJSON *v);
/* Appends v rendered like Go's fmt: numbers bare, strings %q, []string{"a"} for string arrays. */
void fe_render_value(sbuf *sb, const cJSON *v);
/* Appends s quoted like Go's strconv.Quote for ASCII (control bytes as \xNN, UTF-8 kept). */
void fe_render_quoted(sbuf *sb, const char *s);

#endif
