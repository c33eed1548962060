#include "common/json.h"
#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

cJSON *json_path(const cJSON *obj, const char *dotted)
{
    const cJSON *cur = obj;
    const char *p = dotted;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[128];
        if (n >= sizeof key || !cJSON_IsObject(cur))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        p += n + (dot ? 1 : 0);
    }
    return (cJSON *)cur;
}

const char *json_path_string(const cJSON *obj, const char *dotted)
{
    return cJSON_GetStringValue(json_path(obj, dotted));
}

cJSON *json_ensure_object(cJSON *parent, const char *key)
{
    cJSON *child = cJSON_GetObjectItemCaseSensitive(parent, key);
    if (cJSON_IsObject(child))
        return child;
    child = cJSON_CreateObject();
    json_set_item(parent, key, child);
    return child;
}

void json_set_item(cJSON *parent, const char *key, cJSON *item)
{
    if (cJSON_GetObjectItemCaseSensitive(parent, key))
        cJSON_ReplaceItemInObjectCaseSensitive(parent, key, item);
    else
        cJSON_AddItemToObject(parent, key, item);
}

void json_set_string(cJSON *parent, const char *key, const char *value)
{
    json_set_item(parent, key, cJSON_CreateString(value));
}

void json_set_number(cJSON *parent, const char *key, double value)
{
    json_set_item(parent, key, cJSON_CreateNumber(value));
}

void json_set_bool(cJSON *parent, const char *key, bool value)
{
    json_set_item(parent, key, cJSON_CreateBool(value));
}

void json_remove(cJSON *parent, const char *key)
{
    cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
}

char *json_print(const cJSON *item)
{
    char *s = cJSON_PrintUnformatted(item);
    if (!s)
        s = xstrdup("null");
    return s;
}

bool json_parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *no[] = {"0", "f", "F", "FALSE", "false", "False"};
    if (!s)
        return false;
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0)
            return *out = true, true;
        if (strcmp(s, no[i]) == 0)
            return *out = false, true;
    }
    return false;
}

bool json_equal(const cJSON *a, const cJSON *b)
{
    return cJSON_Compare(a, b, 1);
}

/* Reads one step of a path: a key (into key) and any [n] indices that follow. */
static const char *path_step(const char *p, char *key, size_t keylen)
{
    size_t n = 0;
    while (*p && *p != '.' && *p != '[' && n + 1 < keylen)
        key[n++] = *p++;
    key[n] = '\0';
    return p;
}

bool json_delete_path(cJSON *obj, const char *path)
{
    cJSON *cur = obj;
    const char *p = path;
    while (cur && *p) {
        char key[256];
        p = path_step(p, key, sizeof key);
        bool last = *p == '\0';
        if (last)
            return cJSON_GetObjectItemCaseSensitive(cur, key) &&
                   (cJSON_DeleteItemFromObjectCaseSensitive(cur, key), true);
        cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        while (cur && *p == '[') {
            int idx = atoi(p + 1);
            const char *close = strchr(p, ']');
            if (!close)
                return false;
            p = close + 1;
            if (*p == '\0') {
                if (!cJSON_IsArray(cur) || idx >= cJSON_GetArraySize(cur))
                    return false;
                cJSON_DeleteItemFromArray(cur, idx);
                return true;
            }
            cur = cJSON_GetArrayItem(cur, idx);
        }
        if (*p == '.')
            p++;
    }
    return false;
}
