/*
 * jsonpatch.c - RFC 6902 JSON patch over RFC 6901 JSON pointers.
 *
 * Two phases, so that a malformed patch is a 400 whatever the document holds: decode every
 * operation (kind, parsed pointers, value) first, then apply them in order to a copy of the
 * document. A failure while applying throws the copy away, which makes the patch atomic.
 */
#include "common/jsonpatch.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/jsonkeys.h"
#include "common/sbuf.h"

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* uthash allocates through the project's wrappers, so out-of-memory has one policy. */
#define uthash_malloc(sz)    xmalloc(sz)
#define uthash_free(ptr, sz) free(ptr)
#include <uthash.h>

#define JP_BAD_REQUEST_PREFIX "the server rejected our request due to an error in our request: "

/* Longest decimal index we read; anything longer is out of range of a cJSON (int) array. */
#define JP_MAX_INDEX_DIGITS 9

typedef enum { JP_ADD, JP_REMOVE, JP_REPLACE, JP_MOVE, JP_COPY, JP_TEST } jp_kind;

static const char *const jp_kind_names[] = {"add", "remove", "replace", "move", "copy", "test"};

/* A parsed JSON pointer: n unescaped reference tokens, stored back to back in buf. */
typedef struct jp_pointer {
    char *buf;
    char **tokens;
    size_t n;
} jp_pointer;

typedef struct jp_op {
    jp_kind kind;
    const char *path_text; /* borrowed from the patch, for messages */
    const char *from_text; /* move/copy only */
    jp_pointer path;
    jp_pointer from;
    const cJSON *value; /* add/replace/test only; borrowed from the patch */
    int value_depth;    /* add/replace: nesting of value, measured once when decoding */
} jp_op;

/*
 * The document being patched and what the bounds need to know about it: an upper bound of its
 * nesting (exact at the start, raised by each operation that can deepen it) and the bytes the
 * copy operations have added so far.
 */
typedef struct jp_container jp_container;
typedef struct jp_doc {
    cJSON *root;
    int depth_bound;
    size_t copied;
    jp_container *containers; /* uthash table of container indexes, by address */
    cJSON *discarded;         /* an array of what operations took out, freed at the end */
} jp_doc;

/* Outcome of applying one operation; details go to a `why` buffer. */
typedef enum {
    JP_OK,
    JP_MISSING_PATH,
    JP_MISSING_FROM,
    JP_TEST_FAILED,
    JP_ROOT_REMOVE,
    JP_TOO_DEEP,
    JP_COPY_TOO_LARGE,
} jp_result;

/* ---- measuring values ------------------------------------------------------------------------ */

/*
 * Nesting of v: the number of containers on its deepest path (0 for a scalar). Recursive; the
 * trees walked here are never deeper than JSONPATCH_MAX_DEPTH plus one patch value (itself
 * parsed, so bounded by cJSON's nesting limit).
 */
static int nesting(const cJSON *v)
{
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return 0;
    int deepest = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        int d = nesting(c);
        if (d > deepest)
            deepest = d;
    }
    return deepest + 1;
}

/* Length of s as a JSON string literal, quotes and escapes included. */
static size_t quoted_length(const char *s)
{
    size_t n = 2;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '\b' || *p == '\f' || *p == '\n' || *p == '\r' ||
            *p == '\t')
            n += 2;
        else if (*p < 0x20)
            n += 6; /* \u00XX */
        else
            n += 1;
    }
    return n;
}

/* Length of a number as cJSON prints it, or slightly more (never less) for fractions. */
static size_t number_length(double d)
{
    if (!isfinite(d))
        return 4; /* null */
    if (d == trunc(d) && fabs(d) < 1e15) {
        size_t n = d < 0 ? 2 : 1;
        for (double a = fabs(d); a >= 10; a /= 10)
            n++;
        return n;
    }
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%1.17g", d);
    return n > 0 ? (size_t)n : sizeof buf;
}

/*
 * Adds to *bytes the length of v's compact JSON text (what cJSON_PrintUnformatted would make,
 * fractions rounded up; the names of v's members count, v's own name does not). Stops as soon as
 * *bytes passes limit, so a value far larger than the allowance costs only the allowance to
 * measure. Recursive, with the depth bound of nesting().
 */
static void measure(const cJSON *v, size_t limit, size_t *bytes)
{
    if (cJSON_IsString(v)) {
        *bytes += quoted_length(v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        *bytes += number_length(v->valuedouble);
    } else if (cJSON_IsTrue(v)) {
        *bytes += 4;
    } else if (cJSON_IsFalse(v)) {
        *bytes += 5;
    } else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        *bytes += 2;
        for (const cJSON *c = v->child; c && *bytes <= limit; c = c->next) {
            if (c != v->child)
                *bytes += 1; /* , */
            if (cJSON_IsObject(v) && c->string)
                *bytes += quoted_length(c->string) + 1; /* "name": */
            measure(c, limit, bytes);
        }
    } else {
        *bytes += 4; /* null, or raw content cJSON would not produce from a parse */
    }
}

/* ---- pointers ------------------------------------------------------------------------------ */

static void pointer_free(jp_pointer *p)
{
    free(p->buf);
    free(p->tokens);
    memset(p, 0, sizeof *p);
}

/*
 * Parses an RFC 6901 pointer into p (zeroed first). Returns false, with p empty, when s is not
 * a pointer: non-empty without a leading '/', or a '~' not followed by '0' or '1'.
 */
static bool pointer_parse(const char *s, jp_pointer *p)
{
    memset(p, 0, sizeof *p);
    if (*s == '\0')
        return true; /* the whole document */
    if (*s != '/')
        return false;
    for (const char *c = s; *c; c++)
        p->n += *c == '/';
    p->tokens = xcalloc(p->n, sizeof *p->tokens);
    p->buf = xmalloc(strlen(s) + 1);
    char *out = p->buf;
    size_t t = 0;
    for (const char *c = s; *c; c++) {
        if (*c == '/') {
            if (t > 0)
                *out++ = '\0';
            p->tokens[t++] = out;
        } else if (*c == '~') {
            c++;
            if (*c != '0' && *c != '1') {
                pointer_free(p);
                return false;
            }
            *out++ = *c == '0' ? '~' : '/';
        } else {
            *out++ = *c;
        }
    }
    *out = '\0';
    return true;
}

/* True when pointer text `prefix` designates a proper ancestor of pointer text `s`. */
static bool pointer_is_proper_prefix(const char *prefix, const char *s)
{
    size_t n = strlen(prefix);
    return strncmp(prefix, s, n) == 0 && s[n] == '/';
}

/*
 * Reads an array index token: "0" or digits without a leading zero. Returns false for
 * anything else ("-", "01", "1a", ""). An index longer than JP_MAX_INDEX_DIGITS reads as
 * INT_MAX, beyond the end of any array cJSON (int-indexed) can hold.
 */
static bool parse_index(const char *tok, int *idx)
{
    size_t len = strlen(tok);
    if (len == 0 || (len > 1 && tok[0] == '0'))
        return false;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return false;
        if (i < JP_MAX_INDEX_DIGITS)
            v = v * 10 + (tok[i] - '0');
    }
    *idx = len > JP_MAX_INDEX_DIGITS ? INT_MAX : (int)v;
    return true;
}

/* ---- container indexes ----------------------------------------------------------------------- */

/*
 * The index of one container of the document, built the first time a pointer passes through it
 * and kept up to date by every change to that container, so that a pointer step costs O(1)
 * rather than a walk of a linked member list (10 000 operations on an object of 150 000 labels,
 * or on an array of as many finalizers, would otherwise cost 10^9 steps):
 *  - an object: its members by key (jsonkeys: the last of repeated keys is the one found);
 *  - an array: its elements by position, in a vector (an insertion or a removal moves the
 *    pointers after it, as inserting into a Go slice moves the elements).
 */
typedef struct jp_container {
    const cJSON *container; /* the key; stays allocated until the patch ends (see discard) */
    jk_index *keys;         /* objects */
    cJSON **items;          /* arrays */
    size_t n, cap;          /* arrays: elements, room in items */
    UT_hash_handle hh;
} jp_container;

static jp_container *container_of(jp_doc *doc, const cJSON *c)
{
    jp_container *ix = NULL;
    HASH_FIND_PTR(doc->containers, &c, ix);
    if (ix)
        return ix;
    ix = xcalloc(1, sizeof *ix);
    ix->container = c;
    if (cJSON_IsObject(c)) {
        ix->keys = jk_index_of(c);
    } else {
        for (cJSON *e = c->child; e; e = e->next)
            ix->n++;
        ix->cap = ix->n + 1;
        ix->items = xcalloc(ix->cap, sizeof *ix->items);
        size_t i = 0;
        for (cJSON *e = c->child; e; e = e->next)
            ix->items[i++] = e;
    }
    HASH_ADD_PTR(doc->containers, container, ix);
    return ix;
}

static jk_index *keys_of(jp_doc *doc, const cJSON *obj)
{
    return container_of(doc, obj)->keys;
}

/* Records that item now sits at position idx (<= n) of the indexed array. */
static void elements_insert(jp_container *ix, size_t idx, cJSON *item)
{
    if (ix->n == ix->cap) {
        ix->cap *= 2;
        ix->items = xrealloc(ix->items, ix->cap * sizeof *ix->items);
    }
    memmove(&ix->items[idx + 1], &ix->items[idx], (ix->n - idx) * sizeof *ix->items);
    ix->items[idx] = item;
    ix->n++;
}

/* Records that the element at position idx (< n) of the indexed array is gone. */
static void elements_remove(jp_container *ix, size_t idx)
{
    memmove(&ix->items[idx], &ix->items[idx + 1], (ix->n - idx - 1) * sizeof *ix->items);
    ix->n--;
}

/*
 * Takes an item out of the document for good. It is freed only when the patch ends: the
 * indexes are found by container address, and a freed container's address could come back as
 * a new container's while its stale index is still on file.
 */
static void discard(jp_doc *doc, cJSON *item)
{
    cJSON_AddItemToArray(doc->discarded, item);
}

static void doc_free_indexes(jp_doc *doc)
{
    jp_container *ix, *tmp;
    HASH_ITER(hh, doc->containers, ix, tmp)
    {
        HASH_DEL(doc->containers, ix);
        jk_index_free(ix->keys);
        free(ix->items);
        free(ix);
    }
}

/* ---- pointer evaluation ---------------------------------------------------------------------- */

static const char *type_name(const cJSON *item)
{
    if (cJSON_IsString(item))
        return "a string";
    if (cJSON_IsNumber(item))
        return "a number";
    if (cJSON_IsBool(item))
        return "a boolean";
    return "null";
}

/* The member `tok` of container c, or NULL with the reason appended to why. */
static cJSON *child(jp_doc *doc, cJSON *c, const char *tok, sbuf *why)
{
    if (cJSON_IsObject(c)) {
        cJSON *item = jk_index_get(keys_of(doc, c), tok);
        if (!item)
            sbuf_printf(why, "no member \"%s\"", tok);
        return item;
    }
    if (cJSON_IsArray(c)) {
        int idx;
        jp_container *ix = container_of(doc, c);
        if (!parse_index(tok, &idx)) {
            sbuf_printf(why, "\"%s\" is not a valid array index", tok);
            return NULL;
        }
        if ((size_t)idx >= ix->n) {
            sbuf_printf(why, "index %s is out of range for an array of length %zu", tok, ix->n);
            return NULL;
        }
        return ix->items[idx];
    }
    sbuf_printf(why, "%s has no member \"%s\"", type_name(c), tok);
    return NULL;
}

/* The item reached by the first `depth` tokens of p, or NULL with the reason in why. */
static cJSON *walk(jp_doc *doc, const jp_pointer *p, size_t depth, sbuf *why)
{
    cJSON *cur = doc->root;
    for (size_t i = 0; i < depth && cur; i++)
        cur = child(doc, cur, p->tokens[i], why);
    return cur;
}

static const char *last_token(const jp_pointer *p)
{
    return p->tokens[p->n - 1];
}

/* ---- the operations -------------------------------------------------------------------------- */

/* An item about to enter an array must not carry the member name it had in an object. */
static void strip_name(cJSON *item)
{
    if (!(item->type & cJSON_StringIsConst))
        free(item->string);
    item->string = NULL;
    item->type &= ~cJSON_StringIsConst;
}

/*
 * Links item into container in front of `after`, one of its members. Done by hand because
 * cJSON_InsertItemInArray of Debian's libcjson 1.7.15-1+deb12u4 refuses every index but 0
 * (its added corruption check tests the wrong link).
 */
static void insert_before(cJSON *container, cJSON *after, cJSON *item)
{
    item->next = after;
    item->prev = after->prev; /* for the head, prev is the tail: cJSON's convention */
    after->prev = item;
    if (after == container->child)
        container->child = item;
    else
        item->prev->next = item;
}

/* Puts item in the place of old, a member of container; old is discarded. */
static void replace_member(jp_doc *doc, cJSON *container, cJSON *old, cJSON *item)
{
    insert_before(container, old, item);
    discard(doc, cJSON_DetachItemViaPointer(container, old));
}

/* Sets obj[key] = value (replacing a member of that key in place), keeping obj's index right. */
static void set_member(jp_doc *doc, cJSON *obj, const char *key, cJSON *value)
{
    jk_index *keys = keys_of(doc, obj);
    cJSON *existing = jk_index_get(keys, key);
    strip_name(value);
    value->string = xstrdup(key);
    if (existing)
        replace_member(doc, obj, existing, value);
    else
        cJSON_AddItemToArray(obj, value); /* an object's member list, the name already set */
    jk_index_put(keys, value);
}

/* RFC 6902 §4.1. Takes ownership of value whatever the outcome. */
static jp_result do_add(jp_doc *doc, const jp_pointer *path, cJSON *value, sbuf *why)
{
    if (path->n == 0) {
        discard(doc, doc->root);
        strip_name(value);
        doc->root = value;
        return JP_OK;
    }
    cJSON *parent = walk(doc, path, path->n - 1, why);
    const char *tok = last_token(path);
    if (cJSON_IsObject(parent)) {
        set_member(doc, parent, tok, value);
        return JP_OK;
    }
    if (cJSON_IsArray(parent)) {
        jp_container *ix = container_of(doc, parent);
        int idx = ix->n > INT_MAX ? INT_MAX : (int)ix->n;
        if (strcmp(tok, "-") != 0 && !parse_index(tok, &idx)) {
            sbuf_printf(why, "\"%s\" is not a valid array index", tok);
        } else if ((size_t)idx > ix->n) {
            sbuf_printf(why, "index %s is out of range for an array of length %zu", tok, ix->n);
        } else {
            strip_name(value);
            if ((size_t)idx == ix->n)
                cJSON_AddItemToArray(parent, value);
            else
                insert_before(parent, ix->items[idx], value);
            elements_insert(ix, (size_t)idx, value);
            return JP_OK;
        }
    } else if (parent) {
        sbuf_printf(why, "%s has no member \"%s\"", type_name(parent), tok);
    }
    discard(doc, value);
    return JP_MISSING_PATH;
}

/* RFC 6902 §4.2. Detaches the target into *removed (caller owns it), or discards it if NULL. */
static jp_result do_remove(jp_doc *doc, const jp_pointer *path, cJSON **removed, sbuf *why)
{
    if (path->n == 0)
        return JP_ROOT_REMOVE;
    cJSON *parent = walk(doc, path, path->n - 1, why);
    cJSON *target = parent ? child(doc, parent, last_token(path), why) : NULL;
    if (!target)
        return JP_MISSING_PATH;
    int idx;
    if (cJSON_IsObject(parent))
        jk_index_remove(keys_of(doc, parent), target->string);
    else if (parse_index(last_token(path), &idx)) /* it is valid: child() found the element */
        elements_remove(container_of(doc, parent), (size_t)idx);
    cJSON_DetachItemViaPointer(parent, target);
    if (removed)
        *removed = target;
    else
        discard(doc, target);
    return JP_OK;
}

/* RFC 6902 §4.3. Takes ownership of value whatever the outcome. */
static jp_result do_replace(jp_doc *doc, const jp_pointer *path, cJSON *value, sbuf *why)
{
    if (path->n == 0)
        return do_add(doc, path, value, why);
    cJSON *parent = walk(doc, path, path->n - 1, why);
    cJSON *target = parent ? child(doc, parent, last_token(path), why) : NULL;
    if (!target) {
        discard(doc, value);
        return JP_MISSING_PATH;
    }
    int idx;
    if (cJSON_IsObject(parent)) {
        set_member(doc, parent, last_token(path), value);
    } else {
        strip_name(value);
        replace_member(doc, parent, target, value);
        if (parse_index(last_token(path), &idx)) /* it is valid: child() found the element */
            container_of(doc, parent)->items[idx] = value;
    }
    return JP_OK;
}

/* RFC 6902 §4.4: remove at from, then add at path. from is never a proper prefix of path. */
static jp_result do_move(jp_doc *doc, const jp_op *op, sbuf *why)
{
    if (!walk(doc, &op->from, op->from.n, why))
        return JP_MISSING_FROM;
    if (strcmp(op->from_text, op->path_text) == 0)
        return JP_OK;
    cJSON *moved = NULL;
    jp_result r = do_remove(doc, &op->from, &moved, why);
    if (r != JP_OK)
        return r == JP_MISSING_PATH ? JP_MISSING_FROM : r;
    return do_add(doc, &op->path, moved, why);
}

/*
 * Admits a value of nesting value_depth at path: false when the document would then be nested
 * deeper than JSONPATCH_MAX_DEPTH; otherwise raises the document's depth bound accordingly.
 */
static bool admit_depth(jp_doc *doc, const jp_pointer *path, int value_depth)
{
    long depth = (long)path->n + value_depth;
    if (depth > JSONPATCH_MAX_DEPTH)
        return false;
    if (depth > doc->depth_bound)
        doc->depth_bound = (int)depth;
    return true;
}

/*
 * RFC 6902 §4.4 with the depth bound. The moved value lies below from.n containers, so it is at
 * most depth_bound - from.n deep; placed below path.n containers it deepens the document by at
 * most path.n - from.n. That bound costs nothing to compute, where the exact depth would cost a
 * walk of the value on every move.
 */
static jp_result do_bounded_move(jp_doc *doc, const jp_op *op, sbuf *why)
{
    long moved_depth = (long)doc->depth_bound - (long)op->from.n;
    if (!admit_depth(doc, &op->path, moved_depth > 0 ? (int)moved_depth : 0))
        return JP_TOO_DEEP;
    return do_move(doc, op, why);
}

/* RFC 6902 §4.5, with the accumulated copy size and the depth bounded. */
static jp_result do_copy(jp_doc *doc, const jp_op *op, sbuf *why)
{
    cJSON *source = walk(doc, &op->from, op->from.n, why);
    if (!source)
        return JP_MISSING_FROM;
    size_t allowance = JSONPATCH_MAX_COPY_BYTES - doc->copied;
    size_t bytes = 0;
    measure(source, allowance, &bytes);
    if (bytes > allowance)
        return JP_COPY_TOO_LARGE;
    doc->copied += bytes;
    if (!admit_depth(doc, &op->path, nesting(source)))
        return JP_TOO_DEEP;
    return do_add(doc, &op->path, cJSON_Duplicate(source, 1), why);
}

/* RFC 6902 §4.6: deep equality, object member order ignored, numbers compared as numbers. */
static jp_result do_test(jp_doc *doc, const jp_op *op, sbuf *why)
{
    cJSON *target = walk(doc, &op->path, op->path.n, why);
    if (!target)
        return JP_MISSING_PATH;
    return json_equal(target, op->value) ? JP_OK : JP_TEST_FAILED;
}

static jp_result apply_one(jp_doc *doc, const jp_op *op, sbuf *why)
{
    switch (op->kind) {
    case JP_ADD:
        if (!admit_depth(doc, &op->path, op->value_depth))
            return JP_TOO_DEEP;
        return do_add(doc, &op->path, cJSON_Duplicate(op->value, 1), why);
    case JP_REMOVE:
        return do_remove(doc, &op->path, NULL, why);
    case JP_REPLACE:
        if (!admit_depth(doc, &op->path, op->value_depth))
            return JP_TOO_DEEP;
        return do_replace(doc, &op->path, cJSON_Duplicate(op->value, 1), why);
    case JP_MOVE:
        return do_bounded_move(doc, op, why);
    case JP_COPY:
        return do_copy(doc, op, why);
    case JP_TEST:
        return do_test(doc, op, why);
    }
    return JP_OK;
}

/* Sets the 422 for operation i that did not apply. */
static void set_not_applied(api_error *err, int i, const jp_op *op, jp_result r, const char *why)
{
    const char *kind = jp_kind_names[op->kind];
    switch (r) {
    case JP_TEST_FAILED:
        apierr_set(err, 422, "Invalid", "json patch operation #%d: testing value %s failed: %s", i,
                   op->path_text, "test failed");
        break;
    case JP_COPY_TOO_LARGE:
        apierr_set(err, 413, "RequestEntityTooLarge",
                   "Request entity too large: json patch operation #%d: Unable to complete the "
                   "copy, the accumulated size increase of copy would exceed the limit %d bytes",
                   i, JSONPATCH_MAX_COPY_BYTES);
        break;
    case JP_TOO_DEEP:
        apierr_set(err, 422, "Invalid",
                   "json patch operation #%d: %s operation does not apply: the result would be "
                   "nested deeper than %d levels",
                   i, kind, JSONPATCH_MAX_DEPTH);
        break;
    case JP_ROOT_REMOVE:
        apierr_set(err, 422, "Invalid",
                   "json patch operation #%d: remove operation does not apply: the whole document "
                   "cannot be removed",
                   i);
        break;
    case JP_MISSING_FROM:
        apierr_set(err, 422, "Invalid",
                   "json patch operation #%d: %s operation does not apply: doc is missing from "
                   "path: \"%s\" (%s)",
                   i, kind, op->from_text, why);
        break;
    default:
        apierr_set(err, 422, "Invalid",
                   "json patch operation #%d: %s operation does not apply: doc is missing path: "
                   "\"%s\" (%s)",
                   i, kind, op->path_text, why);
        break;
    }
}

/* ---- decoding -------------------------------------------------------------------------------- */

static bool kind_from_name(const char *name, jp_kind *kind)
{
    for (size_t k = 0; k < sizeof jp_kind_names / sizeof jp_kind_names[0]; k++) {
        if (strcmp(name, jp_kind_names[k]) == 0) {
            *kind = (jp_kind)k;
            return true;
        }
    }
    return false;
}

/* Reads member `name` of op i as a pointer into *text and *p; false with a 400 otherwise. */
static bool decode_pointer(const cJSON *item, int i, const char *kind, const char *name,
                           const char **text, jp_pointer *p, api_error *err)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, name));
    if (!s) {
        apierr_bad_request(err,
                           JP_BAD_REQUEST_PREFIX "json patch operation #%d (%s): missing string "
                                                 "\"%s\"",
                           i, kind, name);
        return false;
    }
    if (!pointer_parse(s, p)) {
        apierr_bad_request(err,
                           JP_BAD_REQUEST_PREFIX "json patch operation #%d (%s): \"%s\" is not a "
                                                 "valid JSON pointer: \"%s\"",
                           i, kind, name, s);
        return false;
    }
    *text = s;
    return true;
}

/*
 * The first of op, path, from, value that item holds twice, or NULL. cJSON keeps duplicate
 * members, and RFC 6902 §5 (example A.13) makes such an operation an error rather than
 * letting one of the copies win silently.
 */
static const char *duplicated_member(const cJSON *item)
{
    static const char *const names[] = {"op", "path", "from", "value"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        int seen = 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, item)
        {
            seen += m->string && strcmp(m->string, names[k]) == 0;
        }
        if (seen > 1)
            return names[k];
    }
    return NULL;
}

/* Decodes operation i into op; false with a 400 in err when it is malformed. */
static bool decode_op(const cJSON *item, int i, jp_op *op, api_error *err)
{
    if (!cJSON_IsObject(item)) {
        apierr_bad_request(err, JP_BAD_REQUEST_PREFIX "json patch operation #%d is not an object",
                           i);
        return false;
    }
    const char *dup = duplicated_member(item);
    if (dup) {
        apierr_bad_request(err,
                           JP_BAD_REQUEST_PREFIX "json patch operation #%d: member \"%s\" "
                                                 "appears more than once",
                           i, dup);
        return false;
    }
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "op"));
    if (!name) {
        apierr_bad_request(err,
                           JP_BAD_REQUEST_PREFIX "json patch operation #%d: missing string "
                                                 "\"op\"",
                           i);
        return false;
    }
    if (!kind_from_name(name, &op->kind)) {
        apierr_bad_request(err,
                           JP_BAD_REQUEST_PREFIX "json patch operation #%d: unknown op \"%s\" "
                                                 "(want add, remove, replace, move, copy or test)",
                           i, name);
        return false;
    }
    if (!decode_pointer(item, i, name, "path", &op->path_text, &op->path, err))
        return false;
    if (op->kind == JP_MOVE || op->kind == JP_COPY) {
        if (!decode_pointer(item, i, name, "from", &op->from_text, &op->from, err))
            return false;
    }
    if (op->kind == JP_MOVE && pointer_is_proper_prefix(op->from_text, op->path_text)) {
        apierr_bad_request(err,
                           JP_BAD_REQUEST_PREFIX "json patch operation #%d (move): \"from\" %s is "
                                                 "a proper prefix of \"path\" %s",
                           i, op->from_text, op->path_text);
        return false;
    }
    if (op->kind == JP_ADD || op->kind == JP_REPLACE || op->kind == JP_TEST) {
        op->value = cJSON_GetObjectItemCaseSensitive(item, "value");
        if (!op->value) {
            apierr_bad_request(err,
                               JP_BAD_REQUEST_PREFIX "json patch operation #%d (%s): missing "
                                                     "\"value\"",
                               i, name);
            return false;
        }
        op->value_depth = nesting(op->value);
    }
    return true;
}

static void free_ops(jp_op *ops, int n)
{
    for (int i = 0; i < n; i++) {
        pointer_free(&ops[i].path);
        pointer_free(&ops[i].from);
    }
    free(ops);
}

/* Decodes the whole patch; NULL with err set (400 or 413) when it is not a valid patch. */
static jp_op *decode_patch(const cJSON *patch, int *count, api_error *err)
{
    if (!cJSON_IsArray(patch)) {
        apierr_bad_request(err,
                           JP_BAD_REQUEST_PREFIX "a JSON patch must be a JSON array of operations");
        return NULL;
    }
    int n = cJSON_GetArraySize(patch);
    if (n > JSONPATCH_MAX_OPERATIONS) {
        apierr_set(err, 413, "RequestEntityTooLarge",
                   "Request entity too large: The allowed maximum operations in a JSON patch is "
                   "%d, got: %d",
                   JSONPATCH_MAX_OPERATIONS, n);
        return NULL;
    }
    jp_op *ops = xcalloc(n > 0 ? (size_t)n : 1, sizeof *ops);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, patch)
    {
        if (!decode_op(item, i, &ops[i], err)) {
            free_ops(ops, i + 1);
            return NULL;
        }
        i++;
    }
    *count = n;
    return ops;
}

/* ---- entry point ----------------------------------------------------------------------------- */

cJSON *jsonpatch_apply(const cJSON *doc, const cJSON *patch, api_error *err)
{
    int n = 0;
    jp_op *ops = decode_patch(patch, &n, err);
    if (!ops)
        return NULL;
    jp_doc state = {.root = doc ? cJSON_Duplicate(doc, 1) : cJSON_CreateNull(),
                    .discarded = cJSON_CreateArray()};
    if (!state.root)
        state.root = cJSON_CreateNull(); /* only an invalid item fails to duplicate */
    state.depth_bound = nesting(state.root);
    sbuf why = SBUF_INIT;
    for (int i = 0; i < n; i++) {
        sbuf_reset(&why);
        jp_result r = apply_one(&state, &ops[i], &why);
        if (r != JP_OK) {
            set_not_applied(err, i, &ops[i], r, why.data ? why.data : "");
            cJSON_Delete(state.root);
            state.root = NULL;
            break;
        }
    }
    sbuf_free(&why);
    free_ops(ops, n);
    doc_free_indexes(&state);
    cJSON_Delete(state.discarded);
    return state.root;
}
