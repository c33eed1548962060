/*
 * mergepatch.c - RFC 7386 JSON merge patch, SMP directive stripping and merge-patch diff.
 *
 * Objects are matched key by key through common/jsonkeys.h indexes, never by walking a member
 * list per key: a patch of 250 000 labels against 250 000 labels costs 250 000 steps, not
 * 250 000^2. Where an object repeats a key, its last member is the one that counts (the
 * indexes hold the last), as Go's encoding/json decides.
 */
#include "common/mergepatch.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/jsonkeys.h"

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

/* True when m is the member of its object that ix holds for m's key (the last of its key). */
static bool is_indexed(const jk_index *ix, const cJSON *m)
{
    return m->string && jk_index_get(ix, m->string) == m;
}

/*
 * RFC 7386's recursion for two objects, building a new one: the target's members in their
 * order, each merged with the patch's member of its key (null deletes, objects merge into
 * objects, anything else replaces), then the patch's new members in the patch's order.
 */
static cJSON *merge_objects(const cJSON *target, const cJSON *patch)
{
    jk_index *tix = jk_index_of(target);
    jk_index *pix = jk_index_of(patch);
    cJSON *result = cJSON_CreateObject();
    const cJSON *m;
    cJSON_ArrayForEach(m, target)
    {
        if (!is_indexed(tix, m))
            continue;
        const cJSON *p = jk_index_get(pix, m->string);
        if (!p)
            cJSON_AddItemToObject(result, m->string, duplicate(m));
        else if (!cJSON_IsNull(p))
            cJSON_AddItemToObject(result, m->string, mergepatch_apply(m, p));
    }
    cJSON_ArrayForEach(m, patch)
    {
        if (is_indexed(pix, m) && !cJSON_IsNull(m) && !jk_index_get(tix, m->string))
            cJSON_AddItemToObject(result, m->string, mergepatch_apply(NULL, m));
    }
    jk_index_free(pix);
    jk_index_free(tix);
    return result;
}

cJSON *mergepatch_apply(const cJSON *target, const cJSON *patch)
{
    if (!cJSON_IsObject(patch))
        return patch ? duplicate(patch) : cJSON_CreateNull();
    /* A non-object target is ignored and replaced by an empty object (RFC 7386 §2). */
    return merge_objects(cJSON_IsObject(target) ? target : NULL, patch);
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
    jk_index *fix = jk_index_of(from);
    jk_index *tix = jk_index_of(to);
    cJSON *patch = cJSON_CreateObject();
    const cJSON *c;
    cJSON_ArrayForEach(c, from)
    {
        if (is_indexed(fix, c) && !jk_index_get(tix, c->string))
            cJSON_AddItemToObject(patch, c->string, cJSON_CreateNull());
    }
    cJSON_ArrayForEach(c, to)
    {
        if (!is_indexed(tix, c))
            continue;
        const cJSON *old = jk_index_get(fix, c->string);
        if (old && cJSON_IsObject(old) && cJSON_IsObject(c)) {
            cJSON *sub = mergepatch_diff(old, c);
            if (sub->child)
                cJSON_AddItemToObject(patch, c->string, sub);
            else
                cJSON_Delete(sub);
        } else if (!old || !json_equal(old, c)) {
            cJSON_AddItemToObject(patch, c->string, duplicate(c));
        }
    }
    jk_index_free(tix);
    jk_index_free(fix);
    return patch;
}
