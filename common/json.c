#include "common/json.h"
#include "common/alloc.h"
#include "common/jsonkeys.h"
#include "common/sbuf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing a body ---------------------------------------------------------------------- */

/* Offset of the first "\u0000" escape inside a string of text, or len when there is none. JSON
   has backslashes only inside strings, so pairing each with the character it escapes suffices. */
static size_t find_escaped_nul(const char *text, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] != '\\')
            continue;
        if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
            return i;
        i++; /* skip the escaped character, so "\\u0000" is not taken for an escape */
    }
    return len;
}

static bool only_whitespace(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return false;
    return true;
}

typedef struct dedup_walk {
    sbuf path;            /* field path of the value being visited */
    cJSON *out;           /* where repeated keys are reported, or NULL */
    bool infinite_number; /* a number too large for a double (7e777 reads as infinity) */
} dedup_walk;

static void dedup_value(dedup_walk *w, cJSON *v);

/* Appends ".key" (or "key" at the top) to the path. */
static void path_push_key(sbuf *path, const char *key)
{
    if (path->len)
        sbuf_putc(path, '.');
    sbuf_puts(path, key);
}

static void path_cut(sbuf *path, size_t len)
{
    path->len = len;
    if (path->data)
        path->data[len] = '\0';
}

static void report_duplicate(dedup_walk *w, const char *key)
{
    if (!w->out || cJSON_GetArraySize(w->out) >= JSON_MAX_REPORTED_DUPLICATES)
        return;
    size_t mark = w->path.len;
    path_push_key(&w->path, key);
    cJSON_AddItemToArray(w->out, cJSON_CreateString(w->path.data));
    path_cut(&w->path, mark);
}

/* Up to this many members, repeated keys are found, and objects compared, pair by pair: no
   allocation, and faster than a hash for the small objects that make up nearly every body. */
#define PAIRWISE_MAX_MEMBERS 16

/* Members of obj, counted up to max + 1 (enough to tell "more than max"). */
static size_t members_up_to(const cJSON *obj, size_t max)
{
    size_t n = 0;
    for (const cJSON *m = obj->child; m && n <= max; m = m->next)
        n++;
    return n;
}

/* Removes `earlier`, a member of obj whose key repeats later on, and reports it. */
static void drop_repeated(dedup_walk *w, cJSON *obj, cJSON *earlier)
{
    report_duplicate(w, earlier->string);
    cJSON_Delete(cJSON_DetachItemViaPointer(obj, earlier));
}

static void dedup_pairwise(dedup_walk *w, cJSON *obj)
{
    cJSON *m = obj->child;
    while (m) {
        cJSON *next = m->next;
        for (cJSON *later = next; later; later = later->next) {
            if (strcmp(m->string, later->string) == 0) {
                drop_repeated(w, obj, m);
                break;
            }
        }
        m = next;
    }
}

static void dedup_hashed(dedup_walk *w, cJSON *obj)
{
    jk_index *ix = jk_index_new();
    cJSON *m = obj->child;
    while (m) {
        cJSON *next = m->next;
        cJSON *earlier = jk_index_put(ix, m);
        if (earlier)
            drop_repeated(w, obj, earlier);
        m = next;
    }
    jk_index_free(ix);
}

/* Keeps the last member of every key of obj, then visits what is kept. */
static void dedup_object(dedup_walk *w, cJSON *obj)
{
    size_t n = members_up_to(obj, PAIRWISE_MAX_MEMBERS);
    if (n > PAIRWISE_MAX_MEMBERS)
        dedup_hashed(w, obj);
    else if (n > 1)
        dedup_pairwise(w, obj);
    size_t mark = w->path.len;
    for (cJSON *m = obj->child; m; m = m->next) {
        path_push_key(&w->path, m->string);
        dedup_value(w, m);
        path_cut(&w->path, mark);
    }
}

static void dedup_value(dedup_walk *w, cJSON *v)
{
    if (cJSON_IsNumber(v) && !isfinite(v->valuedouble)) {
        w->infinite_number = true; /* stored, it would print as null */
    } else if (cJSON_IsObject(v)) {
        dedup_object(w, v);
    } else if (cJSON_IsArray(v)) {
        size_t mark = w->path.len;
        int i = 0;
        for (cJSON *e = v->child; e; e = e->next) {
            sbuf_printf(&w->path, "[%d]", i++);
            dedup_value(w, e);
            path_cut(&w->path, mark);
        }
    }
}

cJSON *json_parse_body(const char *data, size_t len, cJSON *dups, size_t *error_offset)
{
    size_t nul = find_escaped_nul(data, len);
    if (nul < len) {
        if (error_offset)
            *error_offset = nul;
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(data, len, &end, false);
    if (!root || !only_whitespace(end, data + len)) {
        if (error_offset)
            *error_offset = end ? (size_t)(end - data) : 0;
        cJSON_Delete(root);
        return NULL;
    }
    dedup_walk w = {SBUF_INIT, dups, false};
    dedup_value(&w, root);
    sbuf_free(&w.path);
    if (w.infinite_number) {
        if (error_offset)
            *error_offset = 0;
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

bool json_int64(const cJSON *item, int64_t min, int64_t max, int64_t *out)
{
    if (!cJSON_IsNumber(item))
        return false;
    double d = item->valuedouble;
    /* 2^63 is the first double above every int64; the comparisons are false for NaN too. */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != trunc(d))
        return false;
    int64_t v = (int64_t)d;
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

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

/* The member of obj named key that counts (the last, when a key repeats), or NULL. */
static const cJSON *last_member(const cJSON *obj, const char *key)
{
    const cJSON *found = NULL;
    for (const cJSON *m = obj->child; m; m = m->next)
        if (strcmp(m->string, key) == 0)
            found = m;
    return found;
}

/* Small objects (nearly all of them: this runs on every update) are compared without
   allocating an index, by looking keys up in place. */
static bool small_objects_equal(const cJSON *a, const cJSON *b)
{
    size_t keys_a = 0, keys_b = 0;
    for (const cJSON *m = a->child; m; m = m->next) {
        if (last_member(a, m->string) != m)
            continue;
        keys_a++;
        const cJSON *other = last_member(b, m->string);
        if (!other || !json_equal(m, other))
            return false;
    }
    for (const cJSON *m = b->child; m; m = m->next)
        keys_b += last_member(b, m->string) == m;
    return keys_a == keys_b;
}

static bool objects_equal(const cJSON *a, const cJSON *b)
{
    if (members_up_to(a, PAIRWISE_MAX_MEMBERS) <= PAIRWISE_MAX_MEMBERS &&
        members_up_to(b, PAIRWISE_MAX_MEMBERS) <= PAIRWISE_MAX_MEMBERS)
        return small_objects_equal(a, b);
    jk_index *ia = jk_index_of(a), *ib = jk_index_of(b);
    bool equal = jk_index_count(ia) == jk_index_count(ib);
    for (const cJSON *m = a->child; equal && m; m = m->next) {
        /* compare each key once, through its last member (the one the index holds) */
        if (jk_index_get(ia, m->string) != m)
            continue;
        const cJSON *other = jk_index_get(ib, m->string);
        equal = other && json_equal(m, other);
    }
    jk_index_free(ia);
    jk_index_free(ib);
    return equal;
}

bool json_equal(const cJSON *a, const cJSON *b)
{
    if (!a || !b || (a->type & 0xFF) != (b->type & 0xFF))
        return a == b;
    if (cJSON_IsObject(a))
        return objects_equal(a, b);
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!json_equal(x, y))
                return false;
        return !x && !y;
    }
    return cJSON_Compare(a, b, 1); /* scalars */
}

bool json_has_string(const cJSON *array, const char *s)
{
    if (!cJSON_IsArray(array))
        return false;
    const cJSON *it;
    cJSON_ArrayForEach(it, array)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
            return true;
    }
    return false;
}
