/*
 * jsonkeys.h - an index of JSON object members by key, so that looking a key up, or finding
 * that a key repeats, costs O(1) on average instead of a walk of the member list (cJSON keeps
 * members in a linked list; a body with 250 000 keys must not cost 250 000^2 steps).
 *
 * The index borrows the items it holds: it never frees or detaches them, and they must outlive
 * it (or be removed from it first). Keys are compared case-sensitively, as JSON and Kubernetes
 * do. Not thread-safe: one owner at a time. Allocation failure aborts (common/alloc.h).
 */
#ifndef FOO_COMMON_JSONKEYS_H
#define FOO_COMMON_JSONKEYS_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct jk_index jk_index;

/* An empty index. Free with jk_index_free. */
jk_index *jk_index_new(void);

/*
 * An index of obj's members (obj not an object: an empty index). Where a key repeats, the last
 * member of that key is the one indexed, as Go's encoding/json keeps the last value.
 */
jk_index *jk_index_of(const cJSON *obj);

/*
 * Indexes item under item->string (which must be set: a member of an object). Returns the item
 * previously indexed under that key, which the index no longer holds, or NULL.
 */
cJSON *jk_index_put(jk_index *ix, cJSON *item);

/* The item indexed under key, or NULL. */
cJSON *jk_index_get(const jk_index *ix, const char *key);

/* Removes key from the index (the item itself is untouched). No-op when absent. */
void jk_index_remove(jk_index *ix, const char *key);

/* Number of keys indexed. */
size_t jk_index_count(const jk_index *ix);

/* Frees the index (not the items). NULL is allowed. */
void jk_index_free(jk_index *ix);

#endif
