/*
 * openapi_pb.c - encodes a Swagger 2.0 document (cJSON) as gnostic's openapi.v2.Document
 * protobuf message (google/gnostic openapiv2/OpenAPIv2.proto), the only form of /openapi/v2 that
 * kubectl 1.27 and 1.28 request before client-side validation.
 *
 * The encoder is driven by tables: each message type lists the JSON keys it carries with their
 * field numbers and kinds, in field-number order (so the output starts with Document.swagger).
 * Message kinds that are not plain field lists:
 *  - map messages (Paths, Definitions, Properties, Responses ...): every member of the JSON
 *    object becomes one Named* entry {1: name, 2: value}; "x-" members of maps that allow
 *    vendor extensions become NamedAny entries instead;
 *  - oneof wrappers (ParametersItem, Parameter, ...): a `choose` function picks the alternative
 *    from the JSON value, e.g. "$ref" -> JsonReference, "in": "query" -> QueryParameterSubSchema;
 *  - a field whose key is "" takes the whole JSON value (TypeItem, ItemsItem, SchemaItem).
 * Vendor extensions and default/enum/example values become Any{yaml: JSON text}; JSON is valid
 * YAML, and kube-openapi reads Any.yaml with a YAML parser.
 * Proto3 leaves out scalar fields equal to their zero value, and so do we (except for a chosen
 * oneof alternative, whose presence is the information). The wire format itself is written by
 * common/pb_writer.h.
 */
#include "api/openapi_internal.h"
#include "common/json.h"
#include "common/pb_writer.h"
#include "common/sbuf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum pb_kind {
    K_STRING,  /* JSON string -> string */
    K_BOOL,    /* JSON bool -> bool */
    K_INT64,   /* JSON number -> int64 */
    K_DOUBLE,  /* JSON number -> double */
    K_STRINGS, /* JSON string or array of strings -> repeated string */
    K_ANY,     /* any JSON value -> Any */
    K_ANYS,    /* JSON array -> repeated Any */
    K_MSG,     /* JSON value -> message `msg` */
    K_MSGS,    /* JSON array (or one value) -> repeated message `msg` */
} pb_kind;

struct pb_msg;

typedef struct pb_field {
    const char *key; /* JSON key; "" = the whole JSON value; NULL ends a table */
    uint32_t num;
    pb_kind kind;
    const struct pb_msg *msg;
} pb_field;

typedef struct pb_msg {
    const pb_field *fields;
    uint32_t ext_num;               /* repeated NamedAny vendor_extension, 0 if none */
    uint32_t map_num;               /* map message: field of the Named* entries, else 0 */
    const struct pb_msg *map_value; /* map message: type of the values (NULL = Any) */
    /* oneof wrapper: the alternative (one of `fields`) for this JSON value, NULL for none */
    const pb_field *(*choose)(const cJSON *json);
} pb_msg;

/* ---- values ------------------------------------------------------------------------------ */

static void pb_message(sbuf *out, const pb_msg *m, const cJSON *json);

static void pb_submessage(sbuf *out, uint32_t num, const pb_msg *m, const cJSON *json)
{
    sbuf body = SBUF_INIT;
    pb_message(&body, m, json);
    pb_put_message(out, num, &body);
}

/* Any {string yaml = 2;} holding the JSON text of `value`. */
static void pb_any(sbuf *out, uint32_t num, const cJSON *value)
{
    char *text = json_print(value);
    sbuf any = SBUF_INIT;
    pb_put_string(&any, 2, text);
    pb_put_message(out, num, &any);
    free(text);
}

/* Named* {string name = 1; <value> value = 2;}; a NULL message type means an Any value. */
static void pb_named(sbuf *out, uint32_t num, const char *name, const pb_msg *m, const cJSON *v)
{
    sbuf entry = SBUF_INIT;
    pb_put_string(&entry, 1, name);
    if (m)
        pb_submessage(&entry, 2, m, v);
    else
        pb_any(&entry, 2, v);
    pb_put_message(out, num, &entry);
}

static void pb_strings(sbuf *out, uint32_t num, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        pb_put_string(out, num, v->valuestring);
        return;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (cJSON_IsString(e))
            pb_put_string(out, num, e->valuestring);
    }
}

static void pb_field_value(sbuf *out, const pb_field *f, const cJSON *v, bool force)
{
    const cJSON *e;
    switch (f->kind) {
    case K_STRING:
        if (cJSON_IsString(v) && (force || v->valuestring[0]))
            pb_put_string(out, f->num, v->valuestring);
        break;
    case K_BOOL:
        if (cJSON_IsBool(v) && (force || cJSON_IsTrue(v))) {
            pb_put_uint(out, f->num, cJSON_IsTrue(v) ? 1 : 0);
        }
        break;
    case K_INT64:
        if (cJSON_IsNumber(v) && (force || v->valuedouble != 0)) {
            pb_put_uint(out, f->num,
                        (uint64_t)(int64_t)v->valuedouble); /* two's complement, as proto */
        }
        break;
    case K_DOUBLE:
        if (cJSON_IsNumber(v) && (force || v->valuedouble != 0))
            pb_put_double(out, f->num, v->valuedouble);
        break;
    case K_STRINGS:
        pb_strings(out, f->num, v);
        break;
    case K_ANY:
        pb_any(out, f->num, v);
        break;
    case K_ANYS:
        cJSON_ArrayForEach(e, v) pb_any(out, f->num, e);
        break;
    case K_MSG:
        pb_submessage(out, f->num, f->msg, v);
        break;
    case K_MSGS:
        if (!cJSON_IsArray(v)) {
            pb_submessage(out, f->num, f->msg, v);
            break;
        }
        cJSON_ArrayForEach(e, v) pb_submessage(out, f->num, f->msg, e);
        break;
    }
}

static bool pb_is_extension(const char *key)
{
    return key && key[0] == 'x' && key[1] == '-';
}

static void pb_extensions(sbuf *out, uint32_t num, const cJSON *json)
{
    const cJSON *member;
    cJSON_ArrayForEach(member, json)
    {
        if (pb_is_extension(member->string))
            pb_named(out, num, member->string, NULL, member);
    }
}

static void pb_map(sbuf *out, const pb_msg *m, const cJSON *json)
{
    const cJSON *member;
    cJSON_ArrayForEach(member, json)
    {
        if (m->ext_num && pb_is_extension(member->string))
            pb_named(out, m->ext_num, member->string, NULL, member);
        else
            pb_named(out, m->map_num, member->string, m->map_value, member);
    }
}

static void pb_message(sbuf *out, const pb_msg *m, const cJSON *json)
{
    if (m->choose) {
        const pb_field *f = m->choose(json);
        if (f)
            pb_field_value(out, f, json, true);
        return;
    }
    if (m->map_num) {
        pb_map(out, m, json);
        return;
    }
    for (const pb_field *f = m->fields; f && f->key; f++) {
        const cJSON *v = f->key[0] ? cJSON_GetObjectItemCaseSensitive(json, f->key) : json;
        if (v)
            pb_field_value(out, f, v, false);
    }
    if (m->ext_num)
        pb_extensions(out, m->ext_num, json);
}

/* ---- message types of OpenAPIv2.proto ---------------------------------------------------- */

/* Tentative definitions, so that the tables can refer to each other (Schema is recursive). */
static const pb_msg M_INFO, M_CONTACT, M_LICENSE, M_EXTERNAL_DOCS, M_TAG, M_PATHS, M_PATH_ITEM,
    M_OPERATION, M_PARAMETERS_ITEM, M_PARAMETER, M_BODY_PARAMETER, M_NON_BODY_PARAMETER,
    M_HEADER_PARAM, M_QUERY_PARAM, M_PRIMITIVES_ITEMS, M_JSON_REFERENCE, M_RESPONSES,
    M_RESPONSE_VALUE, M_RESPONSE, M_SCHEMA_ITEM, M_FILE_SCHEMA, M_HEADERS, M_HEADER, M_EXAMPLES,
    M_SCHEMA, M_ADDITIONAL_PROPERTIES, M_TYPE_ITEM, M_ITEMS_ITEM, M_PROPERTIES, M_XML,
    M_DEFINITIONS, M_PARAMETER_DEFINITIONS, M_RESPONSE_DEFINITIONS;

static const pb_field f_document[] = {
    {"swagger", 1, K_STRING, NULL},
    {"info", 2, K_MSG, &M_INFO},
    {"host", 3, K_STRING, NULL},
    {"basePath", 4, K_STRING, NULL},
    {"schemes", 5, K_STRINGS, NULL},
    {"consumes", 6, K_STRINGS, NULL},
    {"produces", 7, K_STRINGS, NULL},
    {"paths", 8, K_MSG, &M_PATHS},
    {"definitions", 9, K_MSG, &M_DEFINITIONS},
    {"parameters", 10, K_MSG, &M_PARAMETER_DEFINITIONS},
    {"responses", 11, K_MSG, &M_RESPONSE_DEFINITIONS},
    {"tags", 14, K_MSGS, &M_TAG},
    {"externalDocs", 15, K_MSG, &M_EXTERNAL_DOCS},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_DOCUMENT = {f_document, 16, 0, NULL, NULL};

static const pb_field f_info[] = {
    {"title", 1, K_STRING, NULL},
    {"version", 2, K_STRING, NULL},
    {"description", 3, K_STRING, NULL},
    {"termsOfService", 4, K_STRING, NULL},
    {"contact", 5, K_MSG, &M_CONTACT},
    {"license", 6, K_MSG, &M_LICENSE},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_INFO = {f_info, 7, 0, NULL, NULL};

static const pb_field f_contact[] = {
    {"name", 1, K_STRING, NULL},
    {"url", 2, K_STRING, NULL},
    {"email", 3, K_STRING, NULL},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_CONTACT = {f_contact, 4, 0, NULL, NULL};

static const pb_field f_license[] = {
    {"name", 1, K_STRING, NULL},
    {"url", 2, K_STRING, NULL},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_LICENSE = {f_license, 3, 0, NULL, NULL};

static const pb_field f_external_docs[] = {
    {"description", 1, K_STRING, NULL},
    {"url", 2, K_STRING, NULL},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_EXTERNAL_DOCS = {f_external_docs, 3, 0, NULL, NULL};

static const pb_field f_tag[] = {
    {"name", 1, K_STRING, NULL},
    {"description", 2, K_STRING, NULL},
    {"externalDocs", 3, K_MSG, &M_EXTERNAL_DOCS},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_TAG = {f_tag, 4, 0, NULL, NULL};

/* Paths {repeated NamedAny vendor_extension = 1; repeated NamedPathItem path = 2;} */
static const pb_msg M_PATHS = {NULL, 1, 2, &M_PATH_ITEM, NULL};

static const pb_field f_path_item[] = {
    {"$ref", 1, K_STRING, NULL},
    {"get", 2, K_MSG, &M_OPERATION},
    {"put", 3, K_MSG, &M_OPERATION},
    {"post", 4, K_MSG, &M_OPERATION},
    {"delete", 5, K_MSG, &M_OPERATION},
    {"options", 6, K_MSG, &M_OPERATION},
    {"head", 7, K_MSG, &M_OPERATION},
    {"patch", 8, K_MSG, &M_OPERATION},
    {"parameters", 9, K_MSGS, &M_PARAMETERS_ITEM},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_PATH_ITEM = {f_path_item, 10, 0, NULL, NULL};

static const pb_field f_operation[] = {
    {"tags", 1, K_STRINGS, NULL},          {"summary", 2, K_STRING, NULL},
    {"description", 3, K_STRING, NULL},    {"externalDocs", 4, K_MSG, &M_EXTERNAL_DOCS},
    {"operationId", 5, K_STRING, NULL},    {"produces", 6, K_STRINGS, NULL},
    {"consumes", 7, K_STRINGS, NULL},      {"parameters", 8, K_MSGS, &M_PARAMETERS_ITEM},
    {"responses", 9, K_MSG, &M_RESPONSES}, {"schemes", 10, K_STRINGS, NULL},
    {"deprecated", 11, K_BOOL, NULL},      {NULL, 0, 0, NULL},
};
static const pb_msg M_OPERATION = {f_operation, 13, 0, NULL, NULL};

/* ParametersItem {oneof {Parameter parameter = 1; JsonReference json_reference = 2;}} */
static const pb_field f_parameters_item[] = {
    {"", 1, K_MSG, &M_PARAMETER},
    {"", 2, K_MSG, &M_JSON_REFERENCE},
    {NULL, 0, 0, NULL},
};
static const pb_field *choose_parameters_item(const cJSON *json)
{
    bool ref = cJSON_GetObjectItemCaseSensitive(json, "$ref") != NULL;
    return &f_parameters_item[ref ? 1 : 0];
}
static const pb_msg M_PARAMETERS_ITEM = {f_parameters_item, 0, 0, NULL, choose_parameters_item};

/* Parameter {oneof {BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2;}} */
static const pb_field f_parameter[] = {
    {"", 1, K_MSG, &M_BODY_PARAMETER},
    {"", 2, K_MSG, &M_NON_BODY_PARAMETER},
    {NULL, 0, 0, NULL},
};
static const pb_field *choose_parameter(const cJSON *json)
{
    const char *in = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "in"));
    return &f_parameter[in && !strcmp(in, "body") ? 0 : 1];
}
static const pb_msg M_PARAMETER = {f_parameter, 0, 0, NULL, choose_parameter};

static const pb_field f_body_parameter[] = {
    {"description", 1, K_STRING, NULL}, {"name", 2, K_STRING, NULL},     {"in", 3, K_STRING, NULL},
    {"required", 4, K_BOOL, NULL},      {"schema", 5, K_MSG, &M_SCHEMA}, {NULL, 0, 0, NULL},
};
static const pb_msg M_BODY_PARAMETER = {f_body_parameter, 6, 0, NULL, NULL};

/* NonBodyParameter {oneof {Header = 1; FormData = 2; Query = 3; Path = 4;}}. Header and path
 * sub-schemas share one field layout, form-data and query another. */
static const pb_field f_non_body_parameter[] = {
    {"", 1, K_MSG, &M_HEADER_PARAM},
    {"", 2, K_MSG, &M_QUERY_PARAM},
    {"", 3, K_MSG, &M_QUERY_PARAM},
    {"", 4, K_MSG, &M_HEADER_PARAM},
    {NULL, 0, 0, NULL},
};
static const pb_field *choose_non_body_parameter(const cJSON *json)
{
    static const char *const in_names[] = {"header", "formData", "query", "path"};
    const char *in = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "in"));
    for (size_t i = 0; in && i < sizeof in_names / sizeof in_names[0]; i++) {
        if (!strcmp(in, in_names[i]))
            return &f_non_body_parameter[i];
    }
    return NULL;
}
static const pb_msg M_NON_BODY_PARAMETER = {f_non_body_parameter, 0, 0, NULL,
                                            choose_non_body_parameter};

static const pb_field f_header_param[] = {
    {"required", 1, K_BOOL, NULL},
    {"in", 2, K_STRING, NULL},
    {"description", 3, K_STRING, NULL},
    {"name", 4, K_STRING, NULL},
    {"type", 5, K_STRING, NULL},
    {"format", 6, K_STRING, NULL},
    {"items", 7, K_MSG, &M_PRIMITIVES_ITEMS},
    {"collectionFormat", 8, K_STRING, NULL},
    {"default", 9, K_ANY, NULL},
    {"maximum", 10, K_DOUBLE, NULL},
    {"exclusiveMaximum", 11, K_BOOL, NULL},
    {"minimum", 12, K_DOUBLE, NULL},
    {"exclusiveMinimum", 13, K_BOOL, NULL},
    {"maxLength", 14, K_INT64, NULL},
    {"minLength", 15, K_INT64, NULL},
    {"pattern", 16, K_STRING, NULL},
    {"maxItems", 17, K_INT64, NULL},
    {"minItems", 18, K_INT64, NULL},
    {"uniqueItems", 19, K_BOOL, NULL},
    {"enum", 20, K_ANYS, NULL},
    {"multipleOf", 21, K_DOUBLE, NULL},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_HEADER_PARAM = {f_header_param, 22, 0, NULL, NULL};

static const pb_field f_query_param[] = {
    {"required", 1, K_BOOL, NULL},
    {"in", 2, K_STRING, NULL},
    {"description", 3, K_STRING, NULL},
    {"name", 4, K_STRING, NULL},
    {"allowEmptyValue", 5, K_BOOL, NULL},
    {"type", 6, K_STRING, NULL},
    {"format", 7, K_STRING, NULL},
    {"items", 8, K_MSG, &M_PRIMITIVES_ITEMS},
    {"collectionFormat", 9, K_STRING, NULL},
    {"default", 10, K_ANY, NULL},
    {"maximum", 11, K_DOUBLE, NULL},
    {"exclusiveMaximum", 12, K_BOOL, NULL},
    {"minimum", 13, K_DOUBLE, NULL},
    {"exclusiveMinimum", 14, K_BOOL, NULL},
    {"maxLength", 15, K_INT64, NULL},
    {"minLength", 16, K_INT64, NULL},
    {"pattern", 17, K_STRING, NULL},
    {"maxItems", 18, K_INT64, NULL},
    {"minItems", 19, K_INT64, NULL},
    {"uniqueItems", 20, K_BOOL, NULL},
    {"enum", 21, K_ANYS, NULL},
    {"multipleOf", 22, K_DOUBLE, NULL},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_QUERY_PARAM = {f_query_param, 23, 0, NULL, NULL};

/* PrimitivesItems and Header share their first 17 fields. */
static const pb_field f_primitives_items[] = {
    {"type", 1, K_STRING, NULL},
    {"format", 2, K_STRING, NULL},
    {"items", 3, K_MSG, &M_PRIMITIVES_ITEMS},
    {"collectionFormat", 4, K_STRING, NULL},
    {"default", 5, K_ANY, NULL},
    {"maximum", 6, K_DOUBLE, NULL},
    {"exclusiveMaximum", 7, K_BOOL, NULL},
    {"minimum", 8, K_DOUBLE, NULL},
    {"exclusiveMinimum", 9, K_BOOL, NULL},
    {"maxLength", 10, K_INT64, NULL},
    {"minLength", 11, K_INT64, NULL},
    {"pattern", 12, K_STRING, NULL},
    {"maxItems", 13, K_INT64, NULL},
    {"minItems", 14, K_INT64, NULL},
    {"uniqueItems", 15, K_BOOL, NULL},
    {"enum", 16, K_ANYS, NULL},
    {"multipleOf", 17, K_DOUBLE, NULL},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_PRIMITIVES_ITEMS = {f_primitives_items, 18, 0, NULL, NULL};

static const pb_field f_header[] = {
    {"type", 1, K_STRING, NULL},
    {"format", 2, K_STRING, NULL},
    {"items", 3, K_MSG, &M_PRIMITIVES_ITEMS},
    {"collectionFormat", 4, K_STRING, NULL},
    {"default", 5, K_ANY, NULL},
    {"maximum", 6, K_DOUBLE, NULL},
    {"exclusiveMaximum", 7, K_BOOL, NULL},
    {"minimum", 8, K_DOUBLE, NULL},
    {"exclusiveMinimum", 9, K_BOOL, NULL},
    {"maxLength", 10, K_INT64, NULL},
    {"minLength", 11, K_INT64, NULL},
    {"pattern", 12, K_STRING, NULL},
    {"maxItems", 13, K_INT64, NULL},
    {"minItems", 14, K_INT64, NULL},
    {"uniqueItems", 15, K_BOOL, NULL},
    {"enum", 16, K_ANYS, NULL},
    {"multipleOf", 17, K_DOUBLE, NULL},
    {"description", 18, K_STRING, NULL},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_HEADER = {f_header, 19, 0, NULL, NULL};

static const pb_field f_json_reference[] = {
    {"$ref", 1, K_STRING, NULL},
    {"description", 2, K_STRING, NULL},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_JSON_REFERENCE = {f_json_reference, 0, 0, NULL, NULL};

/* Responses {repeated NamedResponseValue response_code = 1; repeated NamedAny ext = 2;} */
static const pb_msg M_RESPONSES = {NULL, 2, 1, &M_RESPONSE_VALUE, NULL};

/* ResponseValue {oneof {Response response = 1; JsonReference json_reference = 2;}} */
static const pb_field f_response_value[] = {
    {"", 1, K_MSG, &M_RESPONSE},
    {"", 2, K_MSG, &M_JSON_REFERENCE},
    {NULL, 0, 0, NULL},
};
static const pb_field *choose_response_value(const cJSON *json)
{
    bool ref = cJSON_GetObjectItemCaseSensitive(json, "$ref") != NULL;
    return &f_response_value[ref ? 1 : 0];
}
static const pb_msg M_RESPONSE_VALUE = {f_response_value, 0, 0, NULL, choose_response_value};

static const pb_field f_response[] = {
    {"description", 1, K_STRING, NULL},
    {"schema", 2, K_MSG, &M_SCHEMA_ITEM},
    {"headers", 3, K_MSG, &M_HEADERS},
    {"examples", 4, K_MSG, &M_EXAMPLES},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_RESPONSE = {f_response, 5, 0, NULL, NULL};

/* SchemaItem {oneof {Schema schema = 1; FileSchema file_schema = 2;}} */
static const pb_field f_schema_item[] = {
    {"", 1, K_MSG, &M_SCHEMA},
    {"", 2, K_MSG, &M_FILE_SCHEMA},
    {NULL, 0, 0, NULL},
};
static const pb_field *choose_schema_item(const cJSON *json)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "type"));
    return &f_schema_item[type && !strcmp(type, "file") ? 1 : 0];
}
static const pb_msg M_SCHEMA_ITEM = {f_schema_item, 0, 0, NULL, choose_schema_item};

static const pb_field f_file_schema[] = {
    {"format", 1, K_STRING, NULL},      {"title", 2, K_STRING, NULL},
    {"description", 3, K_STRING, NULL}, {"default", 4, K_ANY, NULL},
    {"required", 5, K_STRINGS, NULL},   {"type", 6, K_STRING, NULL},
    {"readOnly", 7, K_BOOL, NULL},      {"externalDocs", 8, K_MSG, &M_EXTERNAL_DOCS},
    {"example", 9, K_ANY, NULL},        {NULL, 0, 0, NULL},
};
static const pb_msg M_FILE_SCHEMA = {f_file_schema, 10, 0, NULL, NULL};

static const pb_msg M_HEADERS = {NULL, 0, 1, &M_HEADER, NULL};
static const pb_msg M_EXAMPLES = {NULL, 0, 1, NULL, NULL}; /* NamedAny entries */

static const pb_field f_schema[] = {
    {"$ref", 1, K_STRING, NULL},
    {"format", 2, K_STRING, NULL},
    {"title", 3, K_STRING, NULL},
    {"description", 4, K_STRING, NULL},
    {"default", 5, K_ANY, NULL},
    {"multipleOf", 6, K_DOUBLE, NULL},
    {"maximum", 7, K_DOUBLE, NULL},
    {"exclusiveMaximum", 8, K_BOOL, NULL},
    {"minimum", 9, K_DOUBLE, NULL},
    {"exclusiveMinimum", 10, K_BOOL, NULL},
    {"maxLength", 11, K_INT64, NULL},
    {"minLength", 12, K_INT64, NULL},
    {"pattern", 13, K_STRING, NULL},
    {"maxItems", 14, K_INT64, NULL},
    {"minItems", 15, K_INT64, NULL},
    {"uniqueItems", 16, K_BOOL, NULL},
    {"maxProperties", 17, K_INT64, NULL},
    {"minProperties", 18, K_INT64, NULL},
    {"required", 19, K_STRINGS, NULL},
    {"enum", 20, K_ANYS, NULL},
    {"additionalProperties", 21, K_MSG, &M_ADDITIONAL_PROPERTIES},
    {"type", 22, K_MSG, &M_TYPE_ITEM},
    {"items", 23, K_MSG, &M_ITEMS_ITEM},
    {"allOf", 24, K_MSGS, &M_SCHEMA},
    {"properties", 25, K_MSG, &M_PROPERTIES},
    {"discriminator", 26, K_STRING, NULL},
    {"readOnly", 27, K_BOOL, NULL},
    {"xml", 28, K_MSG, &M_XML},
    {"externalDocs", 29, K_MSG, &M_EXTERNAL_DOCS},
    {"example", 30, K_ANY, NULL},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_SCHEMA = {f_schema, 31, 0, NULL, NULL};

/* AdditionalPropertiesItem {oneof {Schema schema = 1; bool boolean = 2;}} */
static const pb_field f_additional_properties[] = {
    {"", 1, K_MSG, &M_SCHEMA},
    {"", 2, K_BOOL, NULL},
    {NULL, 0, 0, NULL},
};
static const pb_field *choose_additional_properties(const cJSON *json)
{
    return &f_additional_properties[cJSON_IsBool(json) ? 1 : 0];
}
static const pb_msg M_ADDITIONAL_PROPERTIES = {f_additional_properties, 0, 0, NULL,
                                               choose_additional_properties};

/* TypeItem {repeated string value = 1;}: "type" is one string or a list of them. */
static const pb_field f_type_item[] = {
    {"", 1, K_STRINGS, NULL},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_TYPE_ITEM = {f_type_item, 0, 0, NULL, NULL};

/* ItemsItem {repeated Schema schema = 1;}: "items" is one schema or a list of them. */
static const pb_field f_items_item[] = {
    {"", 1, K_MSGS, &M_SCHEMA},
    {NULL, 0, 0, NULL},
};
static const pb_msg M_ITEMS_ITEM = {f_items_item, 0, 0, NULL, NULL};

static const pb_msg M_PROPERTIES = {NULL, 0, 1, &M_SCHEMA, NULL};

static const pb_field f_xml[] = {
    {"name", 1, K_STRING, NULL},    {"namespace", 2, K_STRING, NULL}, {"prefix", 3, K_STRING, NULL},
    {"attribute", 4, K_BOOL, NULL}, {"wrapped", 5, K_BOOL, NULL},     {NULL, 0, 0, NULL},
};
static const pb_msg M_XML = {f_xml, 6, 0, NULL, NULL};

static const pb_msg M_DEFINITIONS = {NULL, 0, 1, &M_SCHEMA, NULL};
static const pb_msg M_PARAMETER_DEFINITIONS = {NULL, 0, 1, &M_PARAMETER, NULL};
static const pb_msg M_RESPONSE_DEFINITIONS = {NULL, 0, 1, &M_RESPONSE, NULL};

unsigned char *oa_pb_encode_document(const cJSON *doc, size_t *len)
{
    sbuf out = SBUF_INIT;
    pb_message(&out, &M_DOCUMENT, doc);
    return (unsigned char *)sbuf_detach(&out, len);
}
