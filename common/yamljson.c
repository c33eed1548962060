#include "common/yamljson.h"
#include "common/alloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static cJSON *plain_scalar(const char *v, size_t len)
{
    if (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
        strcmp(v, "NULL") == 0)
        return cJSON_CreateNull();
    static const char *yes[] = {"true", "True", "TRUE"};
    static const char *no[] = {"false", "False", "FALSE"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(v, yes[i]) == 0)
            return cJSON_CreateTrue();
        if (strcmp(v, no[i]) == 0)
            return cJSON_CreateFalse();
    }
    char *end;
    double d = strtod(v, &end);
    bool numeric = *v && *end == '\0' && strspn(v, "+-0123456789.eE") == len;
    return numeric ? cJSON_CreateNumber(d) : cJSON_CreateString(v);
}

static cJSON *node_to_json(yaml_document_t *doc, yaml_node_t *node, int depth, char **errmsg)
{
    if (!node || depth > 100) {
        *errmsg = xstrdup("YAML nesting too deep or node missing");
        return NULL;
    }
    switch (node->type) {
    case YAML_SCALAR_NODE: {
        const char *v = (const char *)node->data.scalar.value;
        if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return plain_scalar(v, node->data.scalar.length);
        return cJSON_CreateString(v);
    }
    case YAML_SEQUENCE_NODE: {
        cJSON *arr = cJSON_CreateArray();
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             it < node->data.sequence.items.top; it++) {
            cJSON *child = node_to_json(doc, yaml_document_get_node(doc, *it), depth + 1, errmsg);
            if (!child) {
                cJSON_Delete(arr);
                return NULL;
            }
            cJSON_AddItemToArray(arr, child);
        }
        return arr;
    }
    case YAML_MAPPING_NODE: {
        cJSON *obj = cJSON_CreateObject();
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE) {
                *errmsg = xstrdup("YAML mapping keys must be scalars");
                cJSON_Delete(obj);
                return NULL;
            }
            cJSON *child =
                node_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1, errmsg);
            if (!child) {
                cJSON_Delete(obj);
                return NULL;
            }
            const char *key = (const char *)k->data.scalar.value;
            cJSON_DeleteItemFromObjectCaseSensitive(obj, key); /* the last duplicate wins */
            cJSON_AddItemToObject(obj, key, child);
        }
        return obj;
    }
    default:
        *errmsg = xstrdup("empty YAML document");
        return NULL;
    }
}

cJSON *yaml_to_json(const char *text, size_t len, char **errmsg)
{
    *errmsg = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        *errmsg = xstrdup("cannot initialize the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yaml_document_t doc;
    cJSON *out = NULL;
    if (!yaml_parser_load(&parser, &doc)) {
        *errmsg = xasprintf("invalid YAML at line %zu: %s", parser.problem_mark.line + 1,
                            parser.problem ? parser.problem : "syntax error");
    } else {
        out = node_to_json(&doc, yaml_document_get_root_node(&doc), 0, errmsg);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return out;
}
