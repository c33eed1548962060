/* The compact object, the transform, and the indexed store with its atomic replace. */
#include "informer/internal.h"

#include "common/alloc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(obj, .init = setup);
TestSuite(store, .init = setup);

/* An object from JSON text, through the default transform. */
static inf_obj *obj_from(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "bad test JSON: %s", text);
    inf_obj *o = inf_obj_new(j, inf_transform_strip, NULL);
    cJSON_Delete(j);
    return o;
}

static inf_obj *pod(const char *ns, const char *name, const char *rv, const char *owner_uid)
{
    char owner[256] = "";
    if (owner_uid)
        snprintf(
            owner, sizeof owner,
            ",\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"name\":\"rs\",\"uid\":\"other\"},"
            "{\"kind\":\"Foo\",\"apiVersion\":\"demo.example.com/v1beta1\",\"name\":\"f\","
            "\"uid\":\"%s\",\"controller\":true}]",
            owner_uid);
    char text[1024];
    snprintf(text, sizeof text,
             "{\"metadata\":{\"name\":\"%s\"%s%s%s,\"uid\":\"u-%s\",\"resourceVersion\":\"%s\"%s}}",
             name, ns ? ",\"namespace\":\"" : "", ns ? ns : "", ns ? "\"" : "", name, rv, owner);
    inf_obj *o = obj_from(text);
    cr_assert_not_null(o);
    return o;
}

Test(obj, transform_drops_managed_fields_and_last_applied_only)
{
    inf_obj *o =
        obj_from("{\"metadata\":{\"name\":\"x\",\"managedFields\":[{\"manager\":\"kubectl\"}],"
                 "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{...}\","
                 "\"keep\":\"me\"}},\"spec\":{\"replicas\":2}}");
    cr_assert_not_null(o);
    cr_assert_str_eq(inf_obj_json(o, NULL),
                     "{\"metadata\":{\"name\":\"x\",\"annotations\":{\"keep\":\"me\"}},"
                     "\"spec\":{\"replicas\":2}}");
    inf_obj_unref(o);
}

Test(obj, transform_removes_annotations_left_empty)
{
    inf_obj *o = obj_from("{\"metadata\":{\"name\":\"x\",\"annotations\":{"
                          "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}}}");
    cr_assert_str_eq(inf_obj_json(o, NULL), "{\"metadata\":{\"name\":\"x\"}}");
    inf_obj_unref(o);
}

Test(obj, without_transform_the_object_is_kept_whole)
{
    cJSON *j = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"managedFields\":[]}}");
    inf_obj *o = inf_obj_new(j, NULL, NULL);
    cJSON_Delete(j);
    cr_assert_str_eq(inf_obj_json(o, NULL), "{\"metadata\":{\"name\":\"x\",\"managedFields\":[]}}");
    inf_obj_unref(o);
}

Test(obj, key_is_namespace_slash_name_or_name)
{
    inf_obj *a = pod("ns1", "a", "1", NULL);
    inf_obj *b = pod(NULL, "b", "1", NULL);
    cr_assert_str_eq(inf_obj_key(a), "ns1/a");
    cr_assert_str_eq(inf_obj_namespace(a), "ns1");
    cr_assert_str_eq(inf_obj_key(b), "b");
    cr_assert_str_eq(inf_obj_namespace(b), "");
    inf_obj_unref(a);
    inf_obj_unref(b);
}

Test(obj, extracts_metadata_and_the_controlling_owner)
{
    inf_obj *o = pod("ns", "d", "42", "foo-uid");
    cr_assert_str_eq(inf_obj_name(o), "d");
    cr_assert_str_eq(inf_obj_uid(o), "u-d");
    cr_assert_str_eq(inf_obj_resource_version(o), "42");
    cr_assert_str_eq(inf_obj_controller_uid(o), "foo-uid", "the controller: true reference");
    cr_assert_str_eq(inf_obj_controller_kind(o), "Foo");
    cr_assert_str_eq(inf_obj_controller_name(o), "f");
    cr_assert_str_eq(inf_obj_controller_api_version(o), "demo.example.com/v1beta1");
    cr_assert_eq(inf_obj_generation(o), 0);
    inf_obj_unref(o);
}

Test(obj, rejects_objects_without_a_name)
{
    cr_assert_null(obj_from("{\"metadata\":{\"namespace\":\"x\"}}"));
    cr_assert_null(obj_from("[1,2]"));
    cr_assert_null(obj_from("{\"metadata\":{\"name\":\"\"}}"));
}

Test(obj, parse_returns_an_independent_tree)
{
    inf_obj *o = obj_from("{\"metadata\":{\"name\":\"x\",\"generation\":3},\"spec\":{\"a\":1}}");
    cJSON *j = inf_obj_parse(o);
    cr_assert_not_null(j);
    cr_assert_eq(inf_obj_generation(o), 3);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "spec"), "a")->valueint, 1);
    cJSON_Delete(j);
    size_t len;
    inf_obj_json(o, &len);
    cr_assert_gt(inf_obj_size(o), len, "the size counts the header and strings too");
    inf_obj_unref(o);
}

/* ---- store ---- */

static size_t keys_of(inf_obj **objs, size_t n, char *out, size_t cap)
{
    /* Sorted "k1,k2" for stable assertions. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(inf_obj_key(objs[j - 1]), inf_obj_key(objs[j])) > 0;
             j--) {
            inf_obj *t = objs[j];
            objs[j] = objs[j - 1];
            objs[j - 1] = t;
        }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(out, i ? "," : "", cap - strlen(out) - 1);
        strncat(out, inf_obj_key(objs[i]), cap - strlen(out) - 1);
    }
    return n;
}

static void assert_index(inf_store *s, const char *index, const char *value, const char *want)
{
    inf_obj **objs;
    size_t n = inf_store_by_index(s, index, value, &objs);
    char got[512];
    keys_of(objs, n, got, sizeof got);
    cr_assert_str_eq(got, want, "index %s[%s]", index, value);
    inf_objs_free(objs, n);
}

Test(store, upsert_get_and_remove_return_the_previous_object)
{
    inf_store *s = inf_store_new();
    cr_assert_null(inf_store_upsert(s, pod("ns", "a", "1", NULL)));
    inf_obj *old = inf_store_upsert(s, pod("ns", "a", "2", NULL));
    cr_assert_str_eq(inf_obj_resource_version(old), "1");
    inf_obj_unref(old);
    inf_obj *got = inf_store_get(s, "ns/a");
    cr_assert_str_eq(inf_obj_resource_version(got), "2");
    inf_obj_unref(got);
    cr_assert_null(inf_store_get(s, "ns/b"));
    inf_obj *gone = inf_store_remove(s, "ns/a");
    cr_assert_str_eq(inf_obj_resource_version(gone), "2");
    inf_obj_unref(gone);
    cr_assert_null(inf_store_remove(s, "ns/a"));
    cr_assert_eq(inf_store_count(s), 0);
    inf_store_free(s);
}

Test(store, namespace_index_lists_the_objects_of_a_namespace)
{
    inf_store *s = inf_store_new();
    inf_store_upsert(s, pod("ns1", "a", "1", NULL));
    inf_store_upsert(s, pod("ns1", "b", "1", NULL));
    inf_store_upsert(s, pod("ns2", "c", "1", NULL));
    inf_store_upsert(s, pod(NULL, "cluster", "1", NULL));
    assert_index(s, INF_INDEX_NAMESPACE, "ns1", "ns1/a,ns1/b");
    assert_index(s, INF_INDEX_NAMESPACE, "ns2", "ns2/c");
    assert_index(s, INF_INDEX_NAMESPACE, "", "");
    inf_obj_unref(inf_store_remove(s, "ns1/a"));
    assert_index(s, INF_INDEX_NAMESPACE, "ns1", "ns1/b");
    inf_store_free(s);
}

Test(store, controller_index_follows_owner_changes)
{
    inf_store *s = inf_store_new();
    inf_store_upsert(s, pod("ns", "d1", "1", "foo-1"));
    inf_store_upsert(s, pod("ns", "d2", "1", "foo-1"));
    inf_store_upsert(s, pod("ns", "d3", "1", NULL));
    assert_index(s, INF_INDEX_CONTROLLER, "foo-1", "ns/d1,ns/d2");
    assert_index(s, INF_INDEX_CONTROLLER, "other", "");
    inf_obj_unref(inf_store_upsert(s, pod("ns", "d2", "2", "foo-2")));
    assert_index(s, INF_INDEX_CONTROLLER, "foo-1", "ns/d1");
    assert_index(s, INF_INDEX_CONTROLLER, "foo-2", "ns/d2");
    inf_obj_unref(inf_store_upsert(s, pod("ns", "d1", "2", NULL)));
    assert_index(s, INF_INDEX_CONTROLLER, "foo-1", "");
    inf_store_free(s);
}

/* The number of objects index[value] lists. */
static size_t index_count(inf_store *s, const char *index, const char *value)
{
    inf_obj **objs;
    size_t n = inf_store_by_index(s, index, value, &objs);
    inf_objs_free(objs, n);
    return n;
}

/*
 * An index bucket keeps a single key inline and a table from the second key on (store.c): one
 * namespace bucket grows to 1000 members and shrinks back to one, then two, beside 1000 buckets
 * of one member each, and lookups stay exact throughout.
 */
Test(store, index_buckets_grow_from_one_member_to_many_and_shrink)
{
    inf_store *s = inf_store_new();
    char name[32], uid[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "d%d", i);
        snprintf(uid, sizeof uid, "foo-%d", i);
        cr_assert_null(inf_store_upsert(s, pod("big", name, "1", uid)));
    }
    cr_assert_eq(index_count(s, INF_INDEX_NAMESPACE, "big"), 1000);
    for (int i = 0; i < 1000; i += 2) {
        snprintf(name, sizeof name, "big/d%d", i);
        inf_obj_unref(inf_store_remove(s, name));
    }
    cr_assert_eq(index_count(s, INF_INDEX_NAMESPACE, "big"), 500);
    for (int i = 0; i < 1000; i++) {
        snprintf(uid, sizeof uid, "foo-%d", i);
        cr_assert_eq(index_count(s, INF_INDEX_CONTROLLER, uid), (size_t)(i % 2), "%s", uid);
    }
    assert_index(s, INF_INDEX_CONTROLLER, "foo-7", "big/d7");
    for (int i = 3; i < 1000; i += 2) {
        snprintf(name, sizeof name, "big/d%d", i);
        inf_obj_unref(inf_store_remove(s, name));
    }
    assert_index(s, INF_INDEX_NAMESPACE, "big", "big/d1");
    cr_assert_null(inf_store_upsert(s, pod("big", "d2", "2", NULL)));
    assert_index(s, INF_INDEX_NAMESPACE, "big", "big/d1,big/d2");
    inf_store_free(s);
}

/* A user index: the first letter of the name, plus "all". */
static void by_initial(void *ctx, const inf_obj *obj, inf_values *vals)
{
    (*(int *)ctx)++;
    char first[2] = {inf_obj_name(obj)[0], 0};
    inf_values_add(vals, first);
    inf_values_add(vals, "all");
    inf_values_add(vals, "all"); /* duplicates are ignored */
}

Test(store, user_defined_index_with_several_values)
{
    inf_store *s = inf_store_new();
    int calls = 0;
    cr_assert_eq(inf_store_add_index(s, "initial", by_initial, &calls), 0);
    cr_assert_eq(inf_store_add_index(s, "initial", by_initial, &calls), -EEXIST);
    inf_store_upsert(s, pod("ns", "apple", "1", NULL));
    inf_store_upsert(s, pod("ns", "avocado", "1", NULL));
    inf_store_upsert(s, pod("ns", "banana", "1", NULL));
    assert_index(s, "initial", "a", "ns/apple,ns/avocado");
    assert_index(s, "initial", "all", "ns/apple,ns/avocado,ns/banana");
    assert_index(s, "unknown-index", "a", "");
    cr_assert_eq(inf_store_add_index(s, "late", by_initial, &calls), -EBUSY);
    inf_store_free(s);
}

static char diff_log[4096];

static void record_diff(void *ctx, const inf_obj *old, const inf_obj *new_obj)
{
    (void)ctx;
    char line[256];
    if (old && new_obj)
        snprintf(line, sizeof line, "update %s %s->%s;", inf_obj_key(new_obj),
                 inf_obj_resource_version(old), inf_obj_resource_version(new_obj));
    else if (new_obj)
        snprintf(line, sizeof line, "add %s;", inf_obj_key(new_obj));
    else
        snprintf(line, sizeof line, "gone %s@%s;", inf_obj_key(old), inf_obj_resource_version(old));
    strncat(diff_log, line, sizeof diff_log - strlen(diff_log) - 1);
}

Test(store, replace_reports_updates_adds_then_vanished_keys_with_their_last_state)
{
    inf_store *s = inf_store_new();
    inf_store_upsert(s, pod("ns", "a", "1", "o1"));
    inf_store_upsert(s, pod("ns", "b", "1", "o1"));
    inf_obj *objs[] = {pod("ns", "a", "5", "o2"), pod("ns", "c", "5", "o1")};
    diff_log[0] = '\0';
    inf_store_replace(s, objs, 2, record_diff, NULL);
    cr_assert_str_eq(diff_log, "update ns/a 1->5;add ns/c;gone ns/b@1;");
    cr_assert_eq(inf_store_count(s), 2);
    assert_index(s, INF_INDEX_CONTROLLER, "o1", "ns/c");
    assert_index(s, INF_INDEX_CONTROLLER, "o2", "ns/a");
    assert_index(s, INF_INDEX_NAMESPACE, "ns", "ns/a,ns/c");
    inf_store_free(s);
}

Test(store, replace_with_a_key_twice_keeps_and_reports_the_later)
{
    inf_store *s = inf_store_new();
    inf_obj *objs[] = {pod(NULL, "a", "1", NULL), pod(NULL, "a", "2", NULL)};
    diff_log[0] = '\0';
    inf_store_replace(s, objs, 2, record_diff, NULL);
    cr_assert_str_eq(diff_log, "add a;");
    inf_obj *got = inf_store_get(s, "a");
    cr_assert_str_eq(inf_obj_resource_version(got), "2");
    inf_obj_unref(got);
    inf_store_free(s);
}

Test(store, replace_with_nothing_empties_the_store)
{
    inf_store *s = inf_store_new();
    inf_store_upsert(s, pod(NULL, "a", "1", NULL));
    diff_log[0] = '\0';
    inf_store_replace(s, NULL, 0, record_diff, NULL);
    cr_assert_str_eq(diff_log, "gone a@1;");
    cr_assert_eq(inf_store_count(s), 0);
    cr_assert_eq(inf_store_bytes(s), 0);
    inf_store_free(s);
}

Test(store, bytes_sum_the_compact_object_sizes)
{
    inf_store *s = inf_store_new();
    inf_obj *a = pod(NULL, "a", "1", NULL), *b = pod(NULL, "bb", "1", NULL);
    size_t want = inf_obj_size(a) + inf_obj_size(b);
    inf_store_upsert(s, a);
    inf_store_upsert(s, b);
    cr_assert_eq(inf_store_bytes(s), want);
    inf_obj *c = pod(NULL, "a", "22222", NULL);
    want += inf_obj_size(c) - inf_obj_size(a);
    inf_obj_unref(inf_store_upsert(s, c));
    cr_assert_eq(inf_store_bytes(s), want);
    inf_obj **all;
    size_t n = inf_store_list(s, &all);
    cr_assert_eq(n, 2);
    inf_objs_free(all, n);
    inf_store_free(s);
}

Test(store, objects_outlive_the_store_while_referenced)
{
    inf_store *s = inf_store_new();
    inf_store_upsert(s, pod(NULL, "a", "1", NULL));
    inf_obj *kept = inf_store_get(s, "a");
    inf_store_free(s);
    cr_assert_str_eq(inf_obj_key(kept), "a");
    inf_obj_unref(kept);
}
