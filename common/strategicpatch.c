/*
 * strategicpatch.c - kube's strategic merge patch applied to an object under a static schema
 * (common/strategicpatch.h).
 *
 * The steps are those of kube's server-side apply of a patch (mergeMap, mergeSlice and their
 * order normalization), rebuilt for C trees: nothing is modified in place, every result is built
 * fresh, and each lookup kube makes by walking a list (the element with this merge key, the place
 * of a key in an order list) goes through a hash index of canonical keys, so merging a list of
 * 50 000 containers costs a few passes and one sort instead of 50 000^2 comparisons.
 *
 * Where kube leaves a directive in its intermediate map and relies on decoding into a Go struct to
 * drop it (a directive inside a value the original does not have yet, an element of a replaced
 * list), the value is here merged into nothing instead, which applies the directive. Where kube's
 * $patch: delete leaves an empty object behind, the member is removed, as kube documents it.
 */
#include "common/strategicpatch.h"

#include "common/alloc.h"
#include "common/jsonkeys.h"
#include "common/sbuf.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIRECTIVE_PATCH              "$patch"
#define DIRECTIVE_RETAIN_KEYS        "$retainKeys"
#define PREFIX_SET_ELEMENT_ORDER     "$setElementOrder"
#define PREFIX_DELETE_FROM_PRIMITIVE "$deleteFromPrimitiveList"
#define GO_MAP_TYPE                  "map[string]interface {}"
#define GO_SLICE_TYPE                "[]interface {}"
#define MSG_BAD_RETAIN_KEYS          "invalid patch format of retainKeys"
#define MSG_BAD_SET_ELEMENT_ORDER    "invalid patch format of setElementOrder list"
#define MSG_BAD_PRIMITIVE_LIST       "invalid patch format of primitive list"
#define MSG_LISTS_OF_LISTS           "lists of lists are not supported"
#define MSG_REJECTED_INVALID         "the server rejected our request due to an error in our request"
#define MSG_NO_MERGE_KEY_FOR_MAP     "cannot merge lists without merge key for type map"

/* Bytes of a value quoted in an error message before it is cut with "...". */
#define EXCERPT_MAX 1024

/* State of one smp_apply call. */
typedef struct smp_ctx {
    api_error *err;
    sbuf key;   /* scratch: the canonical key computed last */
    sbuf other; /* scratch: a second key, when two are compared */
} smp_ctx;

/* ---- error messages, in kube's words ------------------------------------------------------ */

static int cmp_member_names(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a;
    const cJSON *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

/* A JSON number as Go's %v prints what kube decoded: integers as int64, others shortest. */
static void go_number(sbuf *sb, double d)
{
    if (d == floor(d) && fabs(d) < 9.2e18) {
        sbuf_printf(sb, "%lld", (long long)d);
        return;
    }
    sbuf_put_double(sb, d);
}

static void go_value(sbuf *sb, const cJSON *v);

/* Go prints a map with its keys sorted: map[a:1 b:[x y]]. */
static void go_map(sbuf *sb, const cJSON *obj)
{
    size_t n = (size_t)cJSON_GetArraySize(obj);
    const cJSON **members = xmalloc((n ? n : 1) * sizeof *members);
    size_t i = 0;
    for (const cJSON *m = obj->child; m && i < n; m = m->next)
        members[i++] = m;
    qsort(members, i, sizeof *members, cmp_member_names);
    sbuf_puts(sb, "map[");
    for (size_t k = 0; k < i && sb->len <= EXCERPT_MAX; k++) {
        sbuf_printf(sb, "%s%s:", k ? " " : "", members[k]->string);
        go_value(sb, members[k]);
    }
    sbuf_putc(sb, ']');
    free(members);
}

/* Appends v as Go's %v prints the decoded JSON; stops adding once past EXCERPT_MAX bytes. */
static void go_value(sbuf *sb, const cJSON *v)
{
    if (sb->len > EXCERPT_MAX)
        return;
    if (cJSON_IsObject(v)) {
        go_map(sb, v);
    } else if (cJSON_IsArray(v)) {
        sbuf_putc(sb, '[');
        for (const cJSON *e = v->child; e && sb->len <= EXCERPT_MAX; e = e->next) {
            if (e != v->child)
                sbuf_putc(sb, ' ');
            go_value(sb, e);
        }
        sbuf_putc(sb, ']');
    } else if (cJSON_IsString(v)) {
        sbuf_puts(sb, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        go_number(sb, v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        sbuf_puts(sb, cJSON_IsTrue(v) ? "true" : "false");
    } else {
        sbuf_puts(sb, "<nil>");
    }
}

/* v printed by go_value, cut to EXCERPT_MAX bytes (on a UTF-8 boundary) plus "...". Caller frees.
 */
static char *excerpt(const cJSON *v)
{
    sbuf sb = SBUF_INIT;
    go_value(&sb, v);
    if (sb.len > EXCERPT_MAX) {
        size_t cut = EXCERPT_MAX;
        while (cut > 0 && ((unsigned char)sb.data[cut] & 0xC0) == 0x80)
            cut--;
        sb.len = cut;
        sb.data[cut] = '\0';
        sbuf_puts(&sb, "...");
    }
    return sbuf_detach(&sb, NULL);
}

/* The Go type kube's decoder gives v, as reflect prints it. */
static const char *go_type(const cJSON *v)
{
    if (cJSON_IsObject(v))
        return GO_MAP_TYPE;
    if (cJSON_IsArray(v))
        return GO_SLICE_TYPE;
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsBool(v))
        return "bool";
    if (cJSON_IsNumber(v))
        return v->valuedouble == floor(v->valuedouble) ? "int64" : "float64";
    return "<nil>";
}

static int bad_request(smp_ctx *c, const char *msg)
{
    apierr_bad_request(c->err, "%s", msg);
    return -EINVAL;
}

/* kube's mergepatch.ErrBadArgType. */
static int bad_arg_type(smp_ctx *c, const char *expected, const cJSON *actual)
{
    apierr_bad_request(c->err, "expected a %s, but received a %s", expected, go_type(actual));
    return -EINVAL;
}

/* kube's mergepatch.ErrNoMergeKey. */
static int no_merge_key(smp_ctx *c, const cJSON *element, const char *merge_key)
{
    char *m = excerpt(element);
    apierr_bad_request(c->err, "map: %s does not contain declared merge key: %s", m, merge_key);
    free(m);
    return -EINVAL;
}

/* kube's mergepatch.ErrBadPatchType: a $patch value other than replace, delete or merge. */
static int bad_patch_type(smp_ctx *c, const cJSON *directive, const cJSON *map)
{
    char *d = excerpt(directive);
    char *m = excerpt(map);
    apierr_bad_request(c->err, "unknown patch type: %s in map: %s", d, m);
    free(m);
    free(d);
    return -EINVAL;
}

/* A merge key whose value is an object or a list: kube cannot compare those either. */
static int bad_merge_key_value(smp_ctx *c, const cJSON *element, const char *merge_key)
{
    char *m = excerpt(element);
    apierr_bad_request(c->err, "map: %s: the value of merge key %s is not a string, number or bool",
                       m, merge_key);
    free(m);
    return -EINVAL;
}

/* The one error kube maps to 422: NewGenericServerResponse's shape, the reason in the cause. */
static int lists_of_lists(smp_ctx *c)
{
    apierr_set(c->err, 422, "Invalid", MSG_REJECTED_INVALID);
    cJSON *cause = cJSON_CreateObject();
    cJSON_AddStringToObject(cause, "reason", "UnexpectedServerResponse");
    cJSON_AddStringToObject(cause, "message", MSG_LISTS_OF_LISTS);
    if (!c->err->causes)
        c->err->causes = cJSON_CreateArray();
    cJSON_AddItemToArray(c->err->causes, cause);
    return -EINVAL;
}

/* Patch elements named out of their $setElementOrder order (kube's validatePatchWithSetOrderList).
 */
static int order_mismatch(smp_ctx *c, const cJSON *patch_list, const cJSON *order)
{
    char *p = excerpt(patch_list);
    char *o = excerpt(order);
    apierr_bad_request(c->err, "The order in patch list:\n%s\n doesn't match %s list:\n%s\n", p,
                       PREFIX_SET_ELEMENT_ORDER, o);
    free(o);
    free(p);
    return -EINVAL;
}

/* ---- canonical keys and key maps ----------------------------------------------------------- */

/*
 * Writes the canonical form of a scalar (a merge-key value or an element of a list of scalars)
 * into sb: a type letter and the value, so that "80" and 80 stay different, as they are for kube,
 * and 0 and -0 compare equal. False for objects and lists.
 */
static bool canonical_key(sbuf *sb, const cJSON *v)
{
    sbuf_reset(sb);
    if (cJSON_IsString(v)) {
        sbuf_putc(sb, 's');
        sbuf_puts(sb, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        sbuf_printf(sb, "n%.17g", v->valuedouble == 0 ? 0.0 : v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        sbuf_putc(sb, cJSON_IsTrue(v) ? 't' : 'f');
    } else if (cJSON_IsNull(v)) {
        sbuf_putc(sb, 'z');
    } else {
        return false;
    }
    return true;
}

/*
 * A map from keys to positions. jk_index indexes cJSON members by name, so each key is a member
 * of a holder object whose number is the position.
 */
typedef struct keymap {
    cJSON *holder;
    jk_index *ix;
} keymap;

static void keymap_init(keymap *m)
{
    m->holder = cJSON_CreateObject();
    m->ix = jk_index_new();
}

static void keymap_free(keymap *m)
{
    jk_index_free(m->ix);
    cJSON_Delete(m->holder);
}

/* The position of key, or -1. */
static long keymap_get(const keymap *m, const char *key)
{
    const cJSON *n = jk_index_get(m->ix, key);
    return n ? (long)n->valuedouble : -1;
}

/* Maps key to pos unless it is mapped already; returns the position key maps to. */
static long keymap_add(keymap *m, const char *key, long pos)
{
    cJSON *n = jk_index_get(m->ix, key);
    if (n)
        return (long)n->valuedouble;
    n = cJSON_CreateNumber((double)pos);
    cJSON_AddItemToObject(m->holder, key, n);
    jk_index_put(m->ix, n);
    return pos;
}

/* ---- lists: the merged elements and their order ------------------------------------------- */

/* One element of a list being merged. */
typedef struct item {
    const cJSON *borrowed; /* an element of an input, copied into the result as it is */
    cJSON *owned;          /* or the element the patch built (replaces borrowed) */
    long server_pos;       /* first position of its key in the original list; -1: not there */
    long order_pos;        /* first position of its key in the order list; -1: not there */
    size_t seq;            /* place before sorting, so that sorts are stable */
} item;

typedef struct items {
    item *v;
    size_t n, cap;
} items;

static item *items_push(items *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    item *it = &l->v[l->n++];
    memset(it, 0, sizeof *it);
    it->server_pos = it->order_pos = -1;
    return it;
}

static void items_free(items *l)
{
    for (size_t i = 0; i < l->n; i++)
        cJSON_Delete(l->v[i].owned);
    free(l->v);
}

static const cJSON *item_value(const item *it)
{
    return it->owned ? it->owned : it->borrowed;
}

/* The items as a new array: owned elements move into it, borrowed ones are copied. */
static cJSON *items_to_array(items *l)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < l->n; i++) {
        item *it = &l->v[i];
        cJSON_AddItemToArray(arr, it->owned ? it->owned : cJSON_Duplicate(it->borrowed, 1));
        it->owned = NULL;
    }
    return arr;
}

static int by_order_pos(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->order_pos != y->order_pos)
        return x->order_pos < y->order_pos ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Elements found in the original first, by their position there; the others after them. */
static int by_server_pos(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if ((x->server_pos < 0) != (y->server_pos < 0))
        return x->server_pos < 0 ? 1 : -1;
    if (x->server_pos != y->server_pos)
        return x->server_pos < y->server_pos ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Puts the items in kube's order (normalizeElementOrder and mergeSortedSlice): the items whose key
 * the order list names, sorted by that list, and the others, sorted by their original position,
 * are interleaved: an other item goes first while both are in the original and it came before
 * there; otherwise the named item goes first. So items the patch adds come right where the
 * named items are, and original items the patch does not name keep their place among them.
 */
static void order_items(items *l)
{
    item *named = xmalloc((l->n ? l->n : 1) * sizeof *named);
    item *others = xmalloc((l->n ? l->n : 1) * sizeof *others);
    size_t nn = 0, no = 0;
    for (size_t i = 0; i < l->n; i++) {
        l->v[i].seq = i;
        if (l->v[i].order_pos >= 0)
            named[nn++] = l->v[i];
        else
            others[no++] = l->v[i];
    }
    qsort(named, nn, sizeof *named, by_order_pos);
    qsort(others, no, sizeof *others, by_server_pos);
    size_t i = 0, j = 0, k = 0;
    while (i < no || j < nn) {
        bool other_first =
            j == nn || (i < no && others[i].server_pos >= 0 && named[j].server_pos >= 0 &&
                        others[i].server_pos < named[j].server_pos);
        l->v[k++] = other_first ? others[i++] : named[j++];
    }
    free(others);
    free(named);
}

/* ---- list elements and their keys ---------------------------------------------------------- */

/* What a "$patch" member asks of the object holding it. */
typedef enum directive { D_NONE, D_MERGE, D_REPLACE, D_DELETE } directive;

/* The $patch directive of object obj (D_NONE without one); an unknown value is an error. */
static int read_directive(smp_ctx *c, const cJSON *obj, const cJSON *value, directive *d)
{
    *d = D_NONE;
    if (!value)
        return 0;
    const char *s = cJSON_GetStringValue(value);
    if (s && strcmp(s, "merge") == 0)
        *d = D_MERGE;
    else if (s && strcmp(s, "replace") == 0)
        *d = D_REPLACE;
    else if (s && strcmp(s, "delete") == 0)
        *d = D_DELETE;
    else
        return bad_patch_type(c, value, obj);
    return 0;
}

/* Canonical key of element e of a list merged by merge_key, into c->key. */
static int element_key(smp_ctx *c, const cJSON *e, const char *merge_key)
{
    if (!cJSON_IsObject(e))
        return bad_arg_type(c, GO_MAP_TYPE, e);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, merge_key);
    if (!k)
        return no_merge_key(c, e, merge_key);
    if (!canonical_key(&c->key, k))
        return bad_merge_key_value(c, e, merge_key);
    return 0;
}

/*
 * Canonical key of element e of a list of scalars, into c->key. merging: the list is a merged
 * set, whose errors are kube's; otherwise it is a replaced list being reordered.
 */
static int scalar_key(smp_ctx *c, const cJSON *e, bool merging)
{
    if (cJSON_IsArray(e))
        return merging ? lists_of_lists(c) : bad_request(c, MSG_BAD_SET_ELEMENT_ORDER);
    if (!canonical_key(&c->key, e))
        return bad_request(c, merging ? MSG_NO_MERGE_KEY_FOR_MAP : MSG_BAD_SET_ELEMENT_ORDER);
    return 0;
}

/* How the elements of one list are keyed: by a merge key, or (merge_key NULL) as scalars. */
typedef struct list_kind {
    const char *merge_key;
    bool merging; /* a merged list (else a replaced one) */
} list_kind;

static int key_of(smp_ctx *c, const list_kind *k, const cJSON *e)
{
    return k->merge_key ? element_key(c, e, k->merge_key) : scalar_key(c, e, k->merging);
}

/*
 * True when e is a special element of a patch list: "$patch": "delete" or "replace". Its siblings
 * are the plain elements, merged and ordered ("$patch": "merge" is plain).
 */
static bool is_special(const cJSON *e)
{
    const char *d = cJSON_IsObject(e)
                        ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, DIRECTIVE_PATCH))
                        : NULL;
    return d && (strcmp(d, "delete") == 0 || strcmp(d, "replace") == 0);
}

/*
 * Maps the key of each element of the order list (the $setElementOrder list, else the patch's
 * plain elements) to its first position there.
 */
static int build_order(smp_ctx *c, const list_kind *k, const cJSON *list, bool skip_special,
                       keymap *order)
{
    long pos = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        if (skip_special && is_special(e))
            continue;
        int rc = key_of(c, k, e);
        if (rc)
            return rc;
        keymap_add(order, c->key.data, pos++);
    }
    return 0;
}

/*
 * kube's check of a patch list against its $setElementOrder list: the plain patch elements must
 * appear there, in the same relative order (a subsequence, matched greedily).
 */
static int check_subsequence(smp_ctx *c, const list_kind *k, const cJSON *plist, const cJSON *order)
{
    if (!cJSON_GetArraySize(order) || !cJSON_GetArraySize(plist))
        return 0;
    const cJSON *o = order->child;
    const cJSON *e;
    cJSON_ArrayForEach(e, plist)
    {
        if (is_special(e))
            continue;
        int rc = key_of(c, k, e);
        if (rc)
            return rc;
        sbuf_reset(&c->other);
        sbuf_append(&c->other, c->key.data, c->key.len);
        bool found = false;
        while (o && !found) {
            if ((rc = key_of(c, k, o)) != 0)
                return rc;
            found = strcmp(c->key.data, c->other.data) == 0;
            o = o->next;
        }
        if (!found)
            return order_mismatch(c, plist, order);
    }
    return 0;
}

/* ---- lists: the three strategies ------------------------------------------------------------ */

static int merge_object(smp_ctx *c, const cJSON *orig, const cJSON *patch, const smp_schema *schema,
                        cJSON **out);
static int fresh_value(smp_ctx *c, const cJSON *p, const smp_field *f, cJSON **out);

/*
 * The patch's special elements of a list merged by key: collects the keys of the elements marked
 * "$patch": "delete" into `deleted` and tells whether one says "$patch": "replace".
 */
static int read_special_elements(smp_ctx *c, const char *merge_key, const cJSON *plist,
                                 keymap *deleted, bool *replace)
{
    const cJSON *pe;
    cJSON_ArrayForEach(pe, plist)
    {
        if (!cJSON_IsObject(pe))
            return bad_arg_type(c, GO_MAP_TYPE, pe);
        directive d;
        int rc = read_directive(c, pe, cJSON_GetObjectItemCaseSensitive(pe, DIRECTIVE_PATCH), &d);
        if (rc)
            return rc;
        if (d == D_REPLACE)
            *replace = true;
        if (d == D_DELETE || d == D_NONE || d == D_MERGE) {
            if ((rc = element_key(c, pe, merge_key)) != 0)
                return rc;
            if (d == D_DELETE)
                keymap_add(deleted, c->key.data, 0);
        }
    }
    return 0;
}

/* Merges patch element pe (its key in c->key) into the items: into the element of its key, else
 * as a new element. `live` maps keys to item positions. */
static int merge_element(smp_ctx *c, const smp_field *f, const cJSON *pe, const keymap *order,
                         keymap *live, items *out)
{
    long at = keymap_get(live, c->key.data);
    cJSON *merged = NULL;
    if (at >= 0) {
        item *it = &out->v[at];
        int rc = merge_object(c, item_value(it), pe, f->schema, &merged);
        if (rc)
            return rc;
        cJSON_Delete(it->owned);
        it->owned = merged ? merged : cJSON_CreateObject();
        return 0;
    }
    long order_pos = keymap_get(order, c->key.data);
    keymap_add(live, c->key.data, (long)out->n);
    int rc = fresh_value(c, pe, f, &merged); /* reuses c->key */
    if (rc)
        return rc;
    item *it = items_push(out);
    it->owned = merged ? merged : cJSON_CreateObject();
    it->order_pos = order_pos;
    return 0;
}

/*
 * The original's elements of a list merged by key, minus those the patch deletes: as items (with
 * their positions), unless `replace`; in any case their keys' first positions go into `live`.
 */
static int add_originals(smp_ctx *c, const char *merge_key, const cJSON *olist,
                         const keymap *deleted, const keymap *order, bool replace, keymap *live,
                         items *out)
{
    long pos = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, olist)
    {
        int rc = element_key(c, e, merge_key);
        if (rc)
            return rc;
        if (keymap_get(deleted, c->key.data) >= 0)
            continue;
        long first = keymap_add(live, c->key.data, pos++);
        if (replace)
            continue;
        item *it = items_push(out);
        it->borrowed = e;
        it->server_pos = first;
        it->order_pos = keymap_get(order, c->key.data);
    }
    return 0;
}

/* With "$patch": "replace": plain element pe (its key in c->key) as it is, merged with nothing. */
static int add_replacing(smp_ctx *c, const smp_field *f, const cJSON *pe, const keymap *order,
                         const keymap *live, items *out)
{
    long server_pos = keymap_get(live, c->key.data);
    long order_pos = keymap_get(order, c->key.data);
    cJSON *v = NULL;
    int rc = fresh_value(c, pe, f, &v); /* reuses c->key */
    if (rc)
        return rc;
    item *it = items_push(out);
    it->owned = v ? v : cJSON_CreateObject();
    it->server_pos = server_pos;
    it->order_pos = order_pos;
    return 0;
}

/*
 * A list merged by merge key (kube's mergeSlice for maps): "$patch": "delete" elements remove the
 * original elements of their key, a "$patch": "replace" element makes the patch's plain elements
 * the whole list, other patch elements merge into the first original element of their key or are
 * added; then the items are ordered by `order` (the $setElementOrder list) or the patch.
 */
static int keyed_merge(smp_ctx *c, const cJSON *olist, const cJSON *plist, const cJSON *order,
                       const smp_field *f, items *out)
{
    list_kind kind = {f->merge_key, true};
    keymap deleted, orderm, live;
    keymap_init(&deleted);
    keymap_init(&orderm);
    keymap_init(&live);
    bool replace = false;
    int rc = read_special_elements(c, f->merge_key, plist, &deleted, &replace);
    if (!rc)
        rc = order ? build_order(c, &kind, order, false, &orderm)
                   : build_order(c, &kind, plist, true, &orderm);
    if (!rc && order)
        rc = check_subsequence(c, &kind, plist, order);
    if (!rc && (!replace || order))
        rc = add_originals(c, f->merge_key, olist, &deleted, &orderm, replace, &live, out);
    const cJSON *pe;
    cJSON_ArrayForEach(pe, plist)
    {
        if (rc)
            break;
        if (is_special(pe))
            continue; /* handled by read_special_elements */
        if ((rc = element_key(c, pe, f->merge_key)) != 0)
            break;
        rc = replace ? add_replacing(c, f, pe, &orderm, &live, out)
                     : merge_element(c, f, pe, &orderm, &live, out);
        if (rc)
            break;
    }
    if (!rc && (!replace || order))
        order_items(out);
    keymap_free(&live);
    keymap_free(&orderm);
    keymap_free(&deleted);
    return rc;
}

/*
 * A merged list of scalars (kube's mergeSlice for primitives): the union of both lists without
 * duplicates, ordered by `order` (the $setElementOrder list) or the patch.
 */
static int set_union(smp_ctx *c, const cJSON *olist, const cJSON *plist, const cJSON *order,
                     items *out)
{
    list_kind kind = {NULL, true};
    keymap seen, orderm;
    keymap_init(&seen);
    keymap_init(&orderm);
    int rc = build_order(c, &kind, order ? order : plist, false, &orderm);
    if (!rc && order)
        rc = check_subsequence(c, &kind, plist, order);
    const cJSON *lists[2] = {olist, plist};
    for (int l = 0; l < 2 && !rc; l++) {
        const cJSON *e;
        cJSON_ArrayForEach(e, lists[l])
        {
            if ((rc = scalar_key(c, e, true)) != 0)
                break;
            long at = keymap_add(&seen, c->key.data, (long)out->n);
            if (at != (long)out->n)
                continue; /* a duplicate */
            item *it = items_push(out);
            it->borrowed = e;
            it->server_pos = l == 0 ? at : -1;
            it->order_pos = keymap_get(&orderm, c->key.data);
        }
    }
    if (!rc)
        order_items(out);
    keymap_free(&orderm);
    keymap_free(&seen);
    return rc;
}

/*
 * A replaced list: the patch's elements (each merged into nothing, which applies its directives),
 * reordered by `order` when the patch sends one; only lists of scalars can be ordered.
 */
static int atomic_list(smp_ctx *c, const cJSON *olist, const cJSON *plist, const cJSON *order,
                       const smp_field *f, items *out)
{
    int rc = 0;
    const cJSON *e;
    const cJSON *from = plist ? plist : olist;
    cJSON_ArrayForEach(e, from)
    {
        item *it = items_push(out);
        if (!plist) {
            it->borrowed = e;
            continue;
        }
        if ((rc = fresh_value(c, e, f, &it->owned)) != 0)
            return rc;
        if (!it->owned)
            out->n--; /* an element deleting itself */
    }
    if (!order)
        return 0;
    list_kind kind = {NULL, false};
    keymap server, orderm;
    keymap_init(&server);
    keymap_init(&orderm);
    rc = build_order(c, &kind, order, false, &orderm);
    if (!rc)
        rc = check_subsequence(c, &kind, plist, order);
    long pos = 0;
    cJSON_ArrayForEach(e, olist)
    {
        if (rc || (rc = scalar_key(c, e, false)) != 0)
            break;
        keymap_add(&server, c->key.data, pos++);
    }
    for (size_t i = 0; i < out->n && !rc; i++) {
        if ((rc = scalar_key(c, item_value(&out->v[i]), false)) != 0)
            break;
        out->v[i].server_pos = keymap_get(&server, c->key.data);
        out->v[i].order_pos = keymap_get(&orderm, c->key.data);
    }
    if (!rc)
        order_items(out);
    keymap_free(&orderm);
    keymap_free(&server);
    return rc;
}

/* $deleteFromPrimitiveList: removes the scalar items equal to one of dels. */
static int delete_values(smp_ctx *c, items *l, const cJSON *dels)
{
    keymap gone;
    keymap_init(&gone);
    int rc = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, dels)
    {
        if (!canonical_key(&c->key, d)) {
            rc = bad_request(c, MSG_BAD_PRIMITIVE_LIST);
            break;
        }
        keymap_add(&gone, c->key.data, 0);
    }
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        item *it = &l->v[i];
        if (!rc && canonical_key(&c->key, item_value(it)) && keymap_get(&gone, c->key.data) >= 0) {
            cJSON_Delete(it->owned);
            continue;
        }
        l->v[kept++] = *it;
    }
    l->n = kept;
    keymap_free(&gone);
    return rc;
}

static bool is_merge(const smp_field *f)
{
    return f && (f->strategy == SMP_MERGE || f->strategy == SMP_MERGE_RETAIN_KEYS);
}

/*
 * The list a member becomes: olist (the original's list, or NULL) with plist (the patch's, or
 * NULL), ordered by `order` ($setElementOrder, or NULL) and without the scalars of `dels`
 * ($deleteFromPrimitiveList, or NULL), by the field's strategy.
 */
static int merge_list(smp_ctx *c, const cJSON *olist, const cJSON *plist, const cJSON *order,
                      const cJSON *dels, const smp_field *f, cJSON **out)
{
    items l = {0};
    int rc = 0;
    if (!plist && !order) {
        const cJSON *e;
        cJSON_ArrayForEach(e, olist)
        {
            items_push(&l)->borrowed = e;
        }
    } else if (is_merge(f) && f->merge_key) {
        rc = keyed_merge(c, olist, plist, order, f, &l);
    } else if (is_merge(f)) {
        rc = set_union(c, olist, plist, order, &l);
    } else {
        rc = atomic_list(c, olist, plist, order, f, &l);
    }
    if (!rc && dels)
        rc = delete_values(c, &l, dels);
    *out = rc ? NULL : items_to_array(&l);
    items_free(&l);
    return rc;
}

/* ---- objects -------------------------------------------------------------------------------- */

/* The members of one patch object, by role. */
typedef struct patch_object {
    jk_index *ix;             /* every member, by name (the last of a repeated name) */
    directive patch;          /* its $patch */
    const cJSON *retain_keys; /* its $retainKeys list, or NULL */
    cJSON *orders;            /* its $setElementOrder/K lists, as references named K; or NULL */
    jk_index *order_ix;
    cJSON *deletions; /* its $deleteFromPrimitiveList/K lists, as references named K; or NULL */
    jk_index *deletion_ix;
} patch_object;

static void patch_object_free(patch_object *po)
{
    jk_index_free(po->deletion_ix);
    cJSON_Delete(po->deletions);
    jk_index_free(po->order_ix);
    cJSON_Delete(po->orders);
    jk_index_free(po->ix);
}

static bool is_indexed(const jk_index *ix, const cJSON *m)
{
    return m->string && jk_index_get(ix, m->string) == m;
}

static const cJSON *lookup(const jk_index *ix, const char *name)
{
    return ix ? jk_index_get(ix, name) : NULL;
}

/* K of "<prefix>/K", or NULL when name is the prefix followed by anything but '/'. */
static const char *directive_target(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    return name[n] == '/' ? name + n + 1 : NULL;
}

/* Files list under name K in *holder (created on first use), as a reference: not copied. */
static void add_reference(cJSON **holder, const char *k, const cJSON *list)
{
    if (!*holder)
        *holder = cJSON_CreateObject();
    cJSON_AddItemReferenceToObject(*holder, k, (cJSON *)list);
}

/* Sorts out one "$..." member of a patch object. */
static int read_directive_member(smp_ctx *c, patch_object *po, const cJSON *m)
{
    const char *name = m->string;
    if (strcmp(name, DIRECTIVE_PATCH) == 0)
        return 0; /* read first, by read_patch_object */
    if (strcmp(name, DIRECTIVE_RETAIN_KEYS) == 0) {
        po->retain_keys = m;
        return 0;
    }
    if (strncmp(name, PREFIX_SET_ELEMENT_ORDER, strlen(PREFIX_SET_ELEMENT_ORDER)) == 0) {
        if (!cJSON_IsArray(m))
            return bad_arg_type(c, GO_SLICE_TYPE, m);
        const char *k = directive_target(name, PREFIX_SET_ELEMENT_ORDER);
        if (!k)
            return bad_request(c, MSG_BAD_SET_ELEMENT_ORDER);
        add_reference(&po->orders, k, m);
        return 0;
    }
    if (strncmp(name, PREFIX_DELETE_FROM_PRIMITIVE, strlen(PREFIX_DELETE_FROM_PRIMITIVE)) == 0) {
        const char *k = directive_target(name, PREFIX_DELETE_FROM_PRIMITIVE);
        if (!k || !cJSON_IsArray(m))
            return bad_request(c, MSG_BAD_PRIMITIVE_LIST);
        add_reference(&po->deletions, k, m);
        return 0;
    }
    apierr_bad_request(c->err, "unknown strategic merge patch directive %s", name);
    return -EINVAL;
}

static int read_patch_object(smp_ctx *c, const cJSON *patch, patch_object *po)
{
    memset(po, 0, sizeof *po);
    po->ix = jk_index_of(patch);
    int rc = read_directive(c, patch, jk_index_get(po->ix, DIRECTIVE_PATCH), &po->patch);
    const cJSON *m;
    cJSON_ArrayForEach(m, patch)
    {
        if (rc)
            break;
        if (is_indexed(po->ix, m) && m->string[0] == '$' &&
            (rc = read_directive_member(c, po, m)) != 0)
            break;
    }
    if (po->orders)
        po->order_ix = jk_index_of(po->orders);
    if (po->deletions)
        po->deletion_ix = jk_index_of(po->deletions);
    return rc;
}

/*
 * $retainKeys (kube's applyRetainKeysDirective): a list naming every non-null member of the
 * patch; the original's members it does not name are dropped. Fills `retained`.
 */
static int read_retain_keys(smp_ctx *c, const patch_object *po, const cJSON *patch,
                            keymap *retained)
{
    if (!cJSON_IsArray(po->retain_keys))
        return bad_request(c, MSG_BAD_RETAIN_KEYS);
    const cJSON *k;
    cJSON_ArrayForEach(k, po->retain_keys)
    {
        if (cJSON_IsString(k))
            keymap_add(retained, k->valuestring, 0);
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, patch)
    {
        if (is_indexed(po->ix, m) && m->string[0] != '$' && !cJSON_IsNull(m) &&
            keymap_get(retained, m->string) < 0)
            return bad_request(c, MSG_BAD_RETAIN_KEYS);
    }
    return 0;
}

static const smp_field *field_of(const smp_schema *s, const char *name)
{
    for (size_t i = 0; s && i < s->nfields; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return &s->fields[i];
    return NULL;
}

/*
 * A patch value merged into nothing: what a member becomes when the original lacks it or holds
 * another type. Directives apply (a "$patch": "delete" object yields *out NULL), nulls inside
 * objects vanish.
 */
static int fresh_value(smp_ctx *c, const cJSON *p, const smp_field *f, cJSON **out)
{
    if (cJSON_IsObject(p))
        return merge_object(c, NULL, p, f ? f->schema : NULL, out);
    if (cJSON_IsArray(p))
        return merge_list(c, NULL, p, NULL, NULL, f, out);
    *out = cJSON_Duplicate(p, 1);
    return 0;
}

/*
 * What member K becomes: orig (the original's member, or NULL) patched by p (the patch's member,
 * not null, or NULL), `order` ($setElementOrder/K, or NULL) and `dels`
 * ($deleteFromPrimitiveList/K, or NULL). *out NULL: the member goes.
 */
static int merge_member(smp_ctx *c, const cJSON *orig, const cJSON *p, const cJSON *order,
                        const cJSON *dels, const smp_field *f, cJSON **out)
{
    *out = NULL;
    if (order && orig && !cJSON_IsArray(orig))
        return bad_arg_type(c, GO_SLICE_TYPE, orig);
    if (order && p && !cJSON_IsArray(p))
        return bad_arg_type(c, GO_SLICE_TYPE, p);
    if (p && !cJSON_IsArray(p)) {
        if (cJSON_IsObject(p) && cJSON_IsObject(orig))
            return merge_object(c, orig, p, f ? f->schema : NULL, out);
        return fresh_value(c, p, f, out);
    }
    if (orig && !cJSON_IsArray(orig)) {
        if (!p) { /* only a deletion list, for a member that is no list: nothing to do */
            *out = cJSON_Duplicate(orig, 1);
            return 0;
        }
        orig = NULL; /* a list replaces another type */
    }
    if (!orig && !p)
        return 0; /* directives for a list nobody has */
    return merge_list(c, orig, p, order, dels, f, out);
}

/* Adds v (may be NULL: nothing) to obj as member name. */
static void add_member(cJSON *obj, const char *name, cJSON *v)
{
    if (v)
        cJSON_AddItemToObject(obj, name, v);
}

/*
 * The object orig (NULL: none) patched by po: the original's members in their order, merged with
 * the patch's, then the patch's new members in the patch's order.
 */
static int build_object(smp_ctx *c, const cJSON *orig, const cJSON *patch, const patch_object *po,
                        const keymap *retained, const smp_schema *schema, cJSON **out)
{
    cJSON *res = cJSON_CreateObject();
    jk_index *oix = jk_index_of(orig);
    int rc = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, orig)
    {
        const char *k = m->string;
        if (!is_indexed(oix, m) || (retained && keymap_get(retained, k) < 0))
            continue;
        const cJSON *p = k[0] != '$' ? jk_index_get(po->ix, k) : NULL;
        const cJSON *order = lookup(po->order_ix, k);
        const cJSON *dels = lookup(po->deletion_ix, k);
        if (cJSON_IsNull(p))
            continue;
        cJSON *v = NULL;
        if (!p && !order && !dels)
            v = cJSON_Duplicate(m, 1);
        else if ((rc = merge_member(c, m, p, order, dels, field_of(schema, k), &v)) != 0)
            break;
        add_member(res, k, v);
    }
    cJSON_ArrayForEach(m, patch)
    {
        if (rc)
            break;
        const char *k = m->string;
        if (!is_indexed(po->ix, m) || k[0] == '$' || cJSON_IsNull(m) || jk_index_get(oix, k))
            continue;
        cJSON *v = NULL;
        rc = merge_member(c, NULL, m, lookup(po->order_ix, k), lookup(po->deletion_ix, k),
                          field_of(schema, k), &v);
        if (rc)
            break;
        add_member(res, k, v);
    }
    jk_index_free(oix);
    if (rc) {
        cJSON_Delete(res);
        res = NULL;
    }
    *out = res;
    return rc;
}

/*
 * kube's mergeMap: orig (an object, or NULL) patched by the object patch under schema. *out is
 * the new object, or NULL when the patch says "$patch": "delete".
 */
static int merge_object(smp_ctx *c, const cJSON *orig, const cJSON *patch, const smp_schema *schema,
                        cJSON **out)
{
    *out = NULL;
    if (!cJSON_IsObject(orig))
        orig = NULL;
    patch_object po;
    int rc = read_patch_object(c, patch, &po);
    if (!rc && po.patch == D_DELETE) {
        patch_object_free(&po);
        return 0;
    }
    if (po.patch == D_REPLACE)
        orig = NULL;
    keymap retained;
    keymap_init(&retained);
    if (!rc && po.retain_keys)
        rc = read_retain_keys(c, &po, patch, &retained);
    if (!rc)
        rc = build_object(c, orig, patch, &po, po.retain_keys ? &retained : NULL, schema, out);
    keymap_free(&retained);
    patch_object_free(&po);
    return rc;
}

/* ---- entry point ---------------------------------------------------------------------------- */

/* True when v holds more than limit containers on some path; recurses at most limit+1 deep. */
static bool nested_deeper(const cJSON *v, int limit)
{
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return false;
    if (limit == 0)
        return true;
    for (const cJSON *e = v->child; e; e = e->next)
        if (nested_deeper(e, limit - 1))
            return true;
    return false;
}

/* The JSON type Go's decoder names when a patch is not an object. */
static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return "number";
    return "bool";
}

int smp_apply(const cJSON *original, const cJSON *patch, const smp_schema *schema, cJSON **out,
              api_error *err)
{
    *out = NULL;
    if (!cJSON_IsObject(original))
        original = NULL;
    if (!patch || cJSON_IsNull(patch)) {
        *out = original ? cJSON_Duplicate(original, 1) : cJSON_CreateObject();
        return 0;
    }
    if (!cJSON_IsObject(patch)) {
        apierr_bad_request(
            err, "json: cannot unmarshal %s into Go value of type map[string]interface {}",
            json_type_name(patch));
        return -EINVAL;
    }
    if (nested_deeper(patch, SMP_MAX_DEPTH)) {
        apierr_bad_request(err, "the patch is nested deeper than %d levels", SMP_MAX_DEPTH);
        return -EINVAL;
    }
    if (nested_deeper(original, SMP_MAX_DEPTH)) {
        apierr_internal(err, "the object is nested deeper than %d levels", SMP_MAX_DEPTH);
        return -EINVAL;
    }
    smp_ctx c = {err, SBUF_INIT, SBUF_INIT};
    cJSON *res = NULL;
    int rc = merge_object(&c, original, patch, schema, &res);
    if (!rc && !res)
        res = cJSON_CreateObject(); /* "$patch": "delete" of the whole object: kube's {} */
    sbuf_free(&c.other);
    sbuf_free(&c.key);
    *out = res;
    return rc;
}
