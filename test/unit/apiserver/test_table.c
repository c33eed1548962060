/*
 * test_table.c - the server-side transforms of apiserver/table.c (docs/api.md §7.3): the
 * meta.k8s.io Table kubectl get asks for (columns, cells, Age, Ready, includeObject, headers, list
 * metadata) and PartialObjectMetadata[List]. Every output is parsed back with cJSON and checked
 * field by field.
 */
#include "apiserver/resource/registry.h"
#include "apiserver/resource/table.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/timefmt.h"

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CREATED "2025-05-01T10:00:00Z"

/* A Foo with every column filled: Ready is the second condition, so the lookup is by type. */
#define FOO_A                                                                                      \
    "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\",\"metadata\":{\"name\":\"foo-"  \
    "a\",\"uid\":\"u-1\",\"resourceVersion\":\"7\",\"generation\":2,\"creationTimestamp\":"        \
    "\"" CREATED                                                                                   \
    "\",\"labels\":{\"app\":\"a\"}},\"spec\":{\"deploymentName\":\"dep-a\",\"namespace\":"         \
    "\"default\",\"replicas\":3,\"image\":\"nginx:1.27\"},\"status\":{\"availableReplicas\":2,"    \
    "\"conditions\":[{\"type\":\"Progressing\",\"status\":\"True\"},{\"type\":\"Ready\","          \
    "\"status\":\"False\",\"reason\":\"Progressing\"}]}}"

/* A Foo with no status and no creationTimestamp. */
#define FOO_BARE                                                                                   \
    "{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\",\"metadata\":{\"name\":\"foo-"  \
    "b\"},\"spec\":{\"deploymentName\":\"dep-b\",\"replicas\":1}}"

static as_registry *registry;
static const as_resource *foos;
static int64_t created_s; /* CREATED in unix seconds */

static void setup(void)
{
    alloc_install_cjson_hooks();
    registry = as_registry_new(true);
    foos = as_registry_find(registry, "demo.example.com", "v1beta1", "foos");
    cr_assert_not_null(foos);
    cr_assert(time_parse_rfc3339(CREATED, &created_s));
}

static void teardown(void)
{
    as_registry_free(registry);
}

TestSuite(table, .init = setup, .fini = teardown);

/* A blob as the watch cache would hold it (refs 1, rev 0, no key); free with free(). */
static wc_blob *blob_new(const char *json)
{
    size_t len = strlen(json);
    wc_blob *b = xcalloc(1, sizeof *b + len + 1);
    atomic_init(&b->refs, 1);
    b->len = len;
    memcpy(b->data, json, len + 1);
    return b;
}

/* Renders the given objects as a Table and parses it; the caller frees with cJSON_Delete. */
static cJSON *render_table(const as_resource *r, const char *version, const char *const *objs,
                           size_t n, const as_list_meta *meta, as_include_object include,
                           bool headers, int64_t now_s)
{
    wc_blob *blobs[8];
    cr_assert_leq(n, 8);
    for (size_t i = 0; i < n; i++)
        blobs[i] = blob_new(objs[i]);
    sbuf out = SBUF_INIT;
    as_table_render(&out, r, version, (const wc_blob *const *)blobs, n, meta, include, headers,
                    now_s);
    for (size_t i = 0; i < n; i++)
        free(blobs[i]);
    cJSON *t = cJSON_ParseWithLength(out.data, out.len);
    cr_assert_not_null(t, "not JSON: %s", out.data ? out.data : "");
    sbuf_free(&out);
    return t;
}

/* The Table of one Foo, v1, Metadata, headers, rev 42, Age 5m30s. */
static cJSON *render_one(const char *obj, as_include_object include)
{
    as_list_meta meta = {.rev = 42};
    const char *objs[] = {obj};
    return render_table(foos, "v1", objs, 1, &meta, include, true, created_s + 330);
}

static cJSON *row_cells(const cJSON *t, int row)
{
    cJSON *rows = cJSON_GetObjectItemCaseSensitive(t, "rows");
    cJSON *r = cJSON_GetArrayItem(rows, row);
    cr_assert_not_null(r, "no row %d", row);
    cJSON *cells = cJSON_GetObjectItemCaseSensitive(r, "cells");
    cr_assert(cJSON_IsArray(cells));
    return cells;
}

/* Index of the column named name in the Foo columns. */
static int column_index(const char *name)
{
    for (int i = 0; i < foos->ncolumns; i++)
        if (strcmp(foos->columns[i].name, name) == 0)
            return i;
    cr_assert_fail("no column %s", name);
    return -1;
}

static const char *cell_string(const cJSON *t, int row, const char *column)
{
    cJSON *c = cJSON_GetArrayItem(row_cells(t, row), column_index(column));
    cr_assert(cJSON_IsString(c), "cell %s of row %d is not a string", column, row);
    return c->valuestring;
}

static bool cell_is_null(const cJSON *t, int row, const char *column)
{
    return cJSON_IsNull(cJSON_GetArrayItem(row_cells(t, row), column_index(column)));
}

static const char *str(const cJSON *obj, const char *path)
{
    return json_path_string(obj, path);
}

Test(table, table_has_kind_and_requested_api_version)
{
    as_list_meta meta = {.rev = 1};
    const char *objs[] = {FOO_A};
    cJSON *v1 = render_table(foos, "v1", objs, 1, &meta, AS_INCLUDE_METADATA, true, created_s);
    cr_assert_str_eq(str(v1, "kind"), "Table");
    cr_assert_str_eq(str(v1, "apiVersion"), "meta.k8s.io/v1");
    cJSON *b1 = render_table(foos, "v1beta1", objs, 1, &meta, AS_INCLUDE_METADATA, true, created_s);
    cr_assert_str_eq(str(b1, "kind"), "Table");
    cr_assert_str_eq(str(b1, "apiVersion"), "meta.k8s.io/v1beta1");
    cJSON_Delete(v1);
    cJSON_Delete(b1);
}

Test(table, column_definitions_follow_the_foo_columns_in_order)
{
    static const char *names[] = {"Name",  "Deployment", "Replicas",  "Available",
                                  "Ready", "Age",        "Namespace", "Image"};
    static const char *types[] = {"string", "string", "integer", "integer",
                                  "string", "date",   "string",  "string"};
    static const int priorities[] = {0, 0, 0, 0, 0, 0, 1, 1};
    cJSON *t = render_one(FOO_A, AS_INCLUDE_METADATA);
    cJSON *defs = cJSON_GetObjectItemCaseSensitive(t, "columnDefinitions");
    cr_assert(cJSON_IsArray(defs));
    cr_assert_eq(cJSON_GetArraySize(defs), 8);
    for (int i = 0; i < 8; i++) {
        cJSON *d = cJSON_GetArrayItem(defs, i);
        cr_assert_str_eq(str(d, "name"), names[i]);
        cr_assert_str_eq(str(d, "type"), types[i], "column %s", names[i]);
        cr_assert_str_eq(str(d, "format"), i == 0 ? "name" : "", "column %s", names[i]);
        cr_assert_str_not_empty(str(d, "description"), "column %s", names[i]);
        cJSON *p = cJSON_GetObjectItemCaseSensitive(d, "priority");
        cr_assert(cJSON_IsNumber(p), "column %s", names[i]);
        cr_assert_eq(p->valueint, priorities[i], "column %s", names[i]);
        cr_assert_eq(cJSON_GetArraySize(d), 5, "column %s has extra fields", names[i]);
    }
    cJSON_Delete(t);
}

Test(table, cells_follow_the_columns)
{
    cJSON *t = render_one(FOO_A, AS_INCLUDE_METADATA);
    cJSON *cells = row_cells(t, 0);
    cr_assert_eq(cJSON_GetArraySize(cells), 8);
    cr_assert_str_eq(cJSON_GetArrayItem(cells, 0)->valuestring, "foo-a");
    cr_assert_str_eq(cJSON_GetArrayItem(cells, 1)->valuestring, "dep-a");
    cr_assert(cJSON_IsNumber(cJSON_GetArrayItem(cells, 2)));
    cr_assert_eq(cJSON_GetArrayItem(cells, 2)->valueint, 3);
    cr_assert(cJSON_IsNumber(cJSON_GetArrayItem(cells, 3)));
    cr_assert_eq(cJSON_GetArrayItem(cells, 3)->valueint, 2);
    cr_assert_str_eq(cJSON_GetArrayItem(cells, 4)->valuestring, "False");
    cr_assert_str_eq(cJSON_GetArrayItem(cells, 5)->valuestring, "5m30s");
    cr_assert_str_eq(cJSON_GetArrayItem(cells, 6)->valuestring, "default");
    cr_assert_str_eq(cJSON_GetArrayItem(cells, 7)->valuestring, "nginx:1.27");
    cJSON_Delete(t);
}

Test(table, missing_values_are_null_cells)
{
    cJSON *t = render_one(FOO_BARE, AS_INCLUDE_METADATA);
    cr_assert_eq(cJSON_GetArraySize(row_cells(t, 0)), 8);
    cr_assert_str_eq(cell_string(t, 0, "Name"), "foo-b");
    cr_assert_str_eq(cell_string(t, 0, "Deployment"), "dep-b");
    cr_assert(cell_is_null(t, 0, "Available"));
    cr_assert(cell_is_null(t, 0, "Ready"));
    cr_assert(cell_is_null(t, 0, "Namespace"));
    cr_assert(cell_is_null(t, 0, "Image"));
    cJSON_Delete(t);
}

Test(table, age_without_creation_timestamp_is_unknown)
{
    cJSON *t = render_one(FOO_BARE, AS_INCLUDE_METADATA);
    cr_assert_str_eq(cell_string(t, 0, "Age"), "<unknown>");
    cJSON_Delete(t);
}

Test(table, age_is_a_human_duration_from_now)
{
    static const struct {
        int64_t seconds;
        const char *age;
    } cases[] = {
        {0, "0s"},
        {45, "45s"},
        {330, "5m30s"},
        {90 * 60, "90m"},
        {4 * 3600 + 1200, "4h20m"},
        {(2 * 24 + 3) * 3600, "2d3h"},
        {400 * 86400, "400d"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        as_list_meta meta = {.rev = 1};
        const char *objs[] = {FOO_A};
        cJSON *t = render_table(foos, "v1", objs, 1, &meta, AS_INCLUDE_NONE, true,
                                created_s + cases[i].seconds);
        cr_assert_str_eq(cell_string(t, 0, "Age"), cases[i].age, "after %lld s",
                         (long long)cases[i].seconds);
        cJSON_Delete(t);
    }
}

Test(table, ready_is_the_status_of_the_ready_condition)
{
    const char *ready =
        "{\"metadata\":{\"name\":\"r\"},\"status\":{\"conditions\":[{\"type\":\"Ready\","
        "\"status\":\"True\"}]}}";
    cJSON *t = render_one(ready, AS_INCLUDE_NONE);
    cr_assert_str_eq(cell_string(t, 0, "Ready"), "True");
    cJSON_Delete(t);
    t = render_one(FOO_A, AS_INCLUDE_NONE);
    cr_assert_str_eq(cell_string(t, 0, "Ready"), "False");
    cJSON_Delete(t);
}

Test(table, ready_is_null_without_a_ready_condition)
{
    const char *other = "{\"metadata\":{\"name\":\"r\"},\"status\":{\"conditions\":[{\"type\":"
                        "\"Progressing\",\"status\":\"True\"}]}}";
    cJSON *t = render_one(other, AS_INCLUDE_NONE);
    cr_assert(cell_is_null(t, 0, "Ready"));
    cJSON_Delete(t);
}

Test(table, include_metadata_embeds_partial_object_metadata)
{
    cJSON *t = render_one(FOO_A, AS_INCLUDE_METADATA);
    cJSON *obj = json_path(cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 0), "object");
    cr_assert_not_null(obj);
    cr_assert_str_eq(str(obj, "kind"), "PartialObjectMetadata");
    cr_assert_str_eq(str(obj, "apiVersion"), "meta.k8s.io/v1");
    cr_assert_null(json_path(obj, "spec"));
    cr_assert_null(json_path(obj, "status"));
    cJSON *foo = cJSON_Parse(FOO_A);
    cr_assert(json_equal(json_path(obj, "metadata"), json_path(foo, "metadata")));
    cJSON_Delete(foo);
    cJSON_Delete(t);
}

Test(table, include_metadata_uses_the_requested_meta_version)
{
    as_list_meta meta = {.rev = 1};
    const char *objs[] = {FOO_A};
    cJSON *t = render_table(foos, "v1beta1", objs, 1, &meta, AS_INCLUDE_METADATA, true, created_s);
    cJSON *obj = json_path(cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 0), "object");
    cr_assert_str_eq(str(obj, "apiVersion"), "meta.k8s.io/v1beta1");
    cJSON_Delete(t);
}

Test(table, include_object_embeds_the_full_object)
{
    cJSON *t = render_one(FOO_A, AS_INCLUDE_OBJECT);
    cJSON *obj = json_path(cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 0), "object");
    cJSON *foo = cJSON_Parse(FOO_A);
    cr_assert(json_equal(obj, foo));
    cJSON_Delete(foo);
    cJSON_Delete(t);
}

Test(table, include_none_omits_the_object)
{
    cJSON *t = render_one(FOO_A, AS_INCLUDE_NONE);
    cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 0);
    cr_assert_not_null(row);
    cr_assert_null(cJSON_GetObjectItem(row, "object"));
    cr_assert_not_null(cJSON_GetObjectItem(row, "cells"));
    cJSON_Delete(t);
}

Test(table, headers_false_leaves_column_definitions_null)
{
    as_list_meta meta = {.rev = 1};
    const char *objs[] = {FOO_A};
    cJSON *t = render_table(foos, "v1", objs, 1, &meta, AS_INCLUDE_METADATA, false, created_s);
    cJSON *defs = cJSON_GetObjectItemCaseSensitive(t, "columnDefinitions");
    cr_assert_not_null(defs);
    cr_assert(cJSON_IsNull(defs));
    cr_assert_eq(cJSON_GetArraySize(row_cells(t, 0)), 8);
    cJSON_Delete(t);
}

Test(table, list_metadata_has_the_resource_version_only_without_continue)
{
    cJSON *t = render_one(FOO_A, AS_INCLUDE_NONE);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(t, "metadata");
    cr_assert_str_eq(str(m, "resourceVersion"), "42");
    cr_assert_null(cJSON_GetObjectItem(m, "continue"));
    cr_assert_null(cJSON_GetObjectItem(m, "remainingItemCount"));
    cJSON_Delete(t);
}

Test(table, list_metadata_copies_continue_and_remaining_item_count)
{
    as_list_meta meta = {.rev = 18446744073709551615ULL, .cont = "MTA6L2Zvby1h", .remaining = 3};
    const char *objs[] = {FOO_A, FOO_BARE};
    cJSON *t = render_table(foos, "v1", objs, 2, &meta, AS_INCLUDE_NONE, true, created_s);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(t, "metadata");
    cr_assert_str_eq(str(m, "resourceVersion"), "18446744073709551615");
    cr_assert_str_eq(str(m, "continue"), "MTA6L2Zvby1h");
    cJSON *rem = cJSON_GetObjectItem(m, "remainingItemCount");
    cr_assert(cJSON_IsNumber(rem));
    cr_assert_eq(rem->valueint, 3);
    cJSON_Delete(t);
}

Test(table, rows_follow_the_items_in_order)
{
    as_list_meta meta = {.rev = 5};
    const char *objs[] = {FOO_BARE, FOO_A};
    cJSON *t = render_table(foos, "v1", objs, 2, &meta, AS_INCLUDE_METADATA, true, created_s);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(t, "rows")), 2);
    cr_assert_str_eq(cell_string(t, 0, "Name"), "foo-b");
    cr_assert_str_eq(cell_string(t, 1, "Name"), "foo-a");
    cJSON_Delete(t);
}

Test(table, empty_list_has_an_empty_rows_array)
{
    as_list_meta meta = {.rev = 9};
    cJSON *t = render_table(foos, "v1", NULL, 0, &meta, AS_INCLUDE_METADATA, true, created_s);
    cJSON *rows = cJSON_GetObjectItemCaseSensitive(t, "rows");
    cr_assert(cJSON_IsArray(rows));
    cr_assert_eq(cJSON_GetArraySize(rows), 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(t, "columnDefinitions")), 8);
    cJSON_Delete(t);
}

Test(table, strings_needing_escapes_stay_valid_json)
{
    const char *odd = "{\"metadata\":{\"name\":\"a\\\"b\\\\c\\u00e9\"},\"spec\":{\"image\":"
                      "\"x\\\"y\\n\"}}";
    cJSON *t = render_one(odd, AS_INCLUDE_NONE);
    cr_assert_str_eq(cell_string(t, 0, "Name"), "a\"b\\c\xc3\xa9");
    cr_assert_str_eq(cell_string(t, 0, "Image"), "x\"y\n");
    cJSON_Delete(t);
}

Test(table, default_columns_are_name_and_age)
{
    as_resource plain = {.group = "coordination.k8s.io",
                         .version = "v1",
                         .resource = "leases",
                         .singular = "lease",
                         .kind = "Lease",
                         .list_kind = "LeaseList",
                         .namespaced = true};
    as_list_meta meta = {.rev = 3};
    const char *objs[] = {FOO_A};
    cJSON *t = render_table(&plain, "v1", objs, 1, &meta, AS_INCLUDE_NONE, true, created_s + 45);
    cJSON *defs = cJSON_GetObjectItemCaseSensitive(t, "columnDefinitions");
    cr_assert_eq(cJSON_GetArraySize(defs), 2);
    cr_assert_str_eq(str(cJSON_GetArrayItem(defs, 0), "name"), "Name");
    cr_assert_str_eq(str(cJSON_GetArrayItem(defs, 0), "format"), "name");
    cr_assert_str_eq(str(cJSON_GetArrayItem(defs, 1), "name"), "Age");
    cr_assert_str_eq(str(cJSON_GetArrayItem(defs, 1), "type"), "date");
    cJSON *cells = row_cells(t, 0);
    cr_assert_eq(cJSON_GetArraySize(cells), 2);
    cr_assert_str_eq(cJSON_GetArrayItem(cells, 0)->valuestring, "foo-a");
    cr_assert_str_eq(cJSON_GetArrayItem(cells, 1)->valuestring, "45s");
    cJSON_Delete(t);
}

Test(table, include_object_parse_accepts_the_three_values)
{
    as_include_object inc = AS_INCLUDE_NONE;
    cr_assert(as_include_object_parse("Metadata", &inc));
    cr_assert_eq(inc, AS_INCLUDE_METADATA);
    cr_assert(as_include_object_parse("Object", &inc));
    cr_assert_eq(inc, AS_INCLUDE_OBJECT);
    cr_assert(as_include_object_parse("None", &inc));
    cr_assert_eq(inc, AS_INCLUDE_NONE);
}

Test(table, include_object_parse_defaults_to_metadata)
{
    as_include_object inc = AS_INCLUDE_NONE;
    cr_assert(as_include_object_parse(NULL, &inc));
    cr_assert_eq(inc, AS_INCLUDE_METADATA);
    inc = AS_INCLUDE_NONE;
    cr_assert(as_include_object_parse("", &inc));
    cr_assert_eq(inc, AS_INCLUDE_METADATA);
}

Test(table, include_object_parse_rejects_unknown_values)
{
    as_include_object inc = AS_INCLUDE_OBJECT;
    cr_assert_not(as_include_object_parse("x", &inc));
    cr_assert_not(as_include_object_parse("object", &inc));
    cr_assert_eq(inc, AS_INCLUDE_OBJECT);
}

/* ---- PartialObjectMetadata ------------------------------------------------------------- */

static cJSON *render_partial(const char *version, const char *json)
{
    sbuf out = SBUF_INIT;
    as_partial_render(&out, version, json, strlen(json));
    cJSON *p = cJSON_ParseWithLength(out.data, out.len);
    cr_assert_not_null(p, "not JSON: %s", out.data ? out.data : "");
    sbuf_free(&out);
    return p;
}

Test(table, partial_object_metadata_carries_the_whole_object_meta)
{
    cJSON *p = render_partial("v1", FOO_A);
    cr_assert_str_eq(str(p, "kind"), "PartialObjectMetadata");
    cr_assert_str_eq(str(p, "apiVersion"), "meta.k8s.io/v1");
    cr_assert_eq(cJSON_GetArraySize(p), 3, "only kind, apiVersion and metadata");
    cJSON *foo = cJSON_Parse(FOO_A);
    cr_assert(json_equal(cJSON_GetObjectItem(p, "metadata"), cJSON_GetObjectItem(foo, "metadata")));
    cJSON_Delete(foo);
    cJSON_Delete(p);
}

Test(table, partial_object_metadata_uses_the_requested_version)
{
    cJSON *p = render_partial("v1beta1", FOO_A);
    cr_assert_str_eq(str(p, "apiVersion"), "meta.k8s.io/v1beta1");
    cJSON_Delete(p);
}

Test(table, partial_object_metadata_without_metadata_is_empty)
{
    cJSON *p = render_partial("v1", "{\"kind\":\"Foo\"}");
    cJSON *m = cJSON_GetObjectItem(p, "metadata");
    cr_assert(cJSON_IsObject(m));
    cr_assert_eq(cJSON_GetArraySize(m), 0);
    cJSON_Delete(p);
}

static cJSON *render_partial_list(const char *const *objs, size_t n, const as_list_meta *meta)
{
    wc_blob *blobs[4];
    cr_assert_leq(n, 4);
    for (size_t i = 0; i < n; i++)
        blobs[i] = blob_new(objs[i]);
    sbuf out = SBUF_INIT;
    as_partial_list_render(&out, "v1", (const wc_blob *const *)blobs, n, meta);
    for (size_t i = 0; i < n; i++)
        free(blobs[i]);
    cJSON *l = cJSON_ParseWithLength(out.data, out.len);
    cr_assert_not_null(l, "not JSON: %s", out.data ? out.data : "");
    sbuf_free(&out);
    return l;
}

Test(table, partial_list_holds_partial_items_in_order)
{
    as_list_meta meta = {.rev = 77};
    const char *objs[] = {FOO_A, FOO_BARE};
    cJSON *l = render_partial_list(objs, 2, &meta);
    cr_assert_str_eq(str(l, "kind"), "PartialObjectMetadataList");
    cr_assert_str_eq(str(l, "apiVersion"), "meta.k8s.io/v1");
    cr_assert_str_eq(str(l, "metadata.resourceVersion"), "77");
    cr_assert_null(json_path(l, "metadata.continue"));
    cJSON *items = cJSON_GetObjectItem(l, "items");
    cr_assert_eq(cJSON_GetArraySize(items), 2);
    cr_assert_str_eq(str(cJSON_GetArrayItem(items, 0), "kind"), "PartialObjectMetadata");
    cr_assert_str_eq(str(cJSON_GetArrayItem(items, 0), "apiVersion"), "meta.k8s.io/v1");
    cr_assert_str_eq(str(cJSON_GetArrayItem(items, 0), "metadata.name"), "foo-a");
    cr_assert_str_eq(str(cJSON_GetArrayItem(items, 0), "metadata.uid"), "u-1");
    cr_assert_null(json_path(cJSON_GetArrayItem(items, 0), "spec"));
    cr_assert_str_eq(str(cJSON_GetArrayItem(items, 1), "metadata.name"), "foo-b");
    cJSON_Delete(l);
}

Test(table, partial_list_copies_continue_and_remaining_item_count)
{
    as_list_meta meta = {.rev = 8, .cont = "dG9rZW4=", .remaining = 12};
    const char *objs[] = {FOO_A};
    cJSON *l = render_partial_list(objs, 1, &meta);
    cr_assert_str_eq(str(l, "metadata.continue"), "dG9rZW4=");
    cJSON *rem = json_path(l, "metadata.remainingItemCount");
    cr_assert(cJSON_IsNumber(rem));
    cr_assert_eq(rem->valueint, 12);
    cJSON_Delete(l);
}

Test(table, partial_list_of_nothing_has_empty_items)
{
    as_list_meta meta = {.rev = 1};
    cJSON *l = render_partial_list(NULL, 0, &meta);
    cJSON *items = cJSON_GetObjectItem(l, "items");
    cr_assert(cJSON_IsArray(items));
    cr_assert_eq(cJSON_GetArraySize(items), 0);
    cJSON_Delete(l);
}
