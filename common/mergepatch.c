/*
 * mergepatch.c - RFC 7386 JSON merge patch, SMP directive stripping and merge-patch diff.
 */
#include "common/mergepatch.h"

#include "common/alloc.h"

#include <stdbool.h>
#include <string.h>

#define SMP_PATCH                      "$patch"
#define SMP_RETAIN_KEYS                "$retainKeys"
#define SMP_SET_ELEMENT_ORDER          "$setElementOrder/"
#define SMP_DELETE_FROM_PRIMITIVE_LIST "$deleteFromPrimitiveList/"

static cJSON *duplicate(const cJSON *item)
{
    cJSON *copy = cJSON_Duplicate(item, 1);
    return copy ? copy : cJSON_CreateNull(); /* only an invalid item fails to duplicate */
}

/*
 * Merges patch (an object) into target (an object we own and modify), RFC 7386's recursion:
 * null deletes, objects merge into objects, anything else replaces.
 */
static void merge_object(cJSON *target, const cJSON *patch)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, patch)
    {
        cJSON *existing = cJSON_GetObjectItemCaseSensitive(target, p->string);
        if (cJSON_IsNull(p)) {
            if (existing)
                cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
            continue;
        }
        cJSON *merged = mergepatch_apply(existing, p);
        if (existing)
            cJSON_ReplaceItemInObjectCaseSensitive(target, p->string, merged);
        else
            cJSON_AddItemToObject(target, p->string, merged);
    }
}

cJSON *mergepatch_apply(const cJSON *target, const cJSON *patch)
{
    if (!cJSON_IsObject(patch))
        return patch ? duplicate(patch) : cJSON_CreateNull();
    /* A non-object target is ignored and replaced by an empty object (RFC 7386 §2). */
    cJSON *result = cJSON_IsObject(target) ? duplicate(target) : cJSON_CreateObject();
    merge_object(result, patch);
    return result;
}

static bool is_directive_name(const char *name)
{
    return name && (strcmp(name, SMP_PATCH) == 0 || strcmp(name, SMP_RETAIN_KEYS) == 0 ||
                    strncmp(name, SMP_SET_ELEMENT_ORDER, strlen(SMP_SET_ELEMENT_ORDER)) == 0 ||
                    strncmp(name, SMP_DELETE_FROM_PRIMITIVE_LIST,
                            strlen(SMP_DELETE_FROM_PRIMITIVE_LIST)) == 0);
}

/* True when obj is an object carrying "$patch": "delete". */
static bool is_delete_directive(const cJSON *obj)
{
    if (!cJSON_IsObject(obj))
        return false;
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, SMP_PATCH));
    return v && strcmp(v, "delete") == 0;
}

/* True when obj is a non-empty object whose members are all directives. */
static bool only_directives(const cJSON *obj)
{
    if (!cJSON_IsObject(obj) || !obj->child)
        return false;
    const cJSON *c;
    cJSON_ArrayForEach(c, obj)
    {
        if (!is_directive_name(c->string))
            return false;
    }
    return true;
}

/*
 * Replaces member c of obj by a JSON null under the same name. cJSON's replace-by-pointer does
 * not carry the name over, so the key (and its "constant string" flag) moves to the null.
 */
static void replace_with_null(cJSON *obj, cJSON *c)
{
    cJSON *null = cJSON_CreateNull();
    null->string = c->string;
    null->type |= c->type & cJSON_StringIsConst;
    c->string = NULL;
    cJSON_ReplaceItemViaPointer(obj, c, null);
}

static int strip_object(cJSON *obj);
static int strip_array(cJSON *arr);

static int strip_object(cJSON *obj)
{
    int removed = 0;
    cJSON *c = obj->child;
    while (c) {
        cJSON *next = c->next;
        if (is_directive_name(c->string)) {
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
            removed++;
        } else if (is_delete_directive(c)) {
            replace_with_null(obj, c);
            removed++;
        } else if (cJSON_IsObject(c)) {
            removed += strip_object(c);
        } else if (cJSON_IsArray(c)) {
            removed += strip_array(c);
        }
        c = next;
    }
    return removed;
}

static int strip_array(cJSON *arr)
{
    int removed = 0;
    cJSON *c = arr->child;
    while (c) {
        cJSON *next = c->next;
        if (is_delete_directive(c) || only_directives(c)) {
            cJSON_Delete(cJSON_DetachItemViaPointer(arr, c));
            removed++;
        } else if (cJSON_IsObject(c)) {
            removed += strip_object(c);
        } else if (cJSON_IsArray(c)) {
            removed += strip_array(c);
        }
        c = next;
    }
    return removed;
}

int mergepatch_strip_smp_directives(cJSON *patch)
{
    if (cJSON_IsObject(patch))
        return strip_object(patch);
    if (cJSON_IsArray(patch))
        return strip_array(patch);
    return 0;
}

cJSON *mergepatch_diff(const cJSON *from, const cJSON *to)
{
    if (!cJSON_IsObject(from) || !cJSON_IsObject(to))
        return to ? duplicate(to) : cJSON_CreateNull();
    cJSON *patch = cJSON_CreateObject();
    const cJSON *c;
    cJSON_ArrayForEach(c, from)
    {
        if (!cJSON_GetObjectItemCaseSensitive(to, c->string))
            cJSON_AddItemToObject(patch, c->string, cJSON_CreateNull());
    }
    cJSON_ArrayForEach(c, to)
    {
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(from, c->string);
        if (old && cJSON_IsObject(old) && cJSON_IsObject(c)) {
            cJSON *sub = mergepatch_diff(old, c);
            if (sub->child)
                cJSON_AddItemToObject(patch, c->string, sub);
            else
                cJSON_Delete(sub);
        } else if (!old || !cJSON_Compare(old, c, 1)) {
            cJSON_AddItemToObject(patch, c->string, duplicate(c));
        }
    }
    return patch;
}
