/*
 * test_strategicpatch.c - strategic merge patch (common/strategicpatch.h): merging by key, sets,
 * replaced lists, every directive, kube's element order, errors and bounds. JSON in these tests
 * is written with single quotes for readability; tr() turns them into double quotes.
 */
#include "common/strategicpatch.h"
#include "json_expect.h"

#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(strategicpatch, .init = setup);

/* A pod-like schema: containers by name (env by name, ports by containerPort), finalizers as a
 * set, args replaced, strategy and volumes with retainKeys. */
static const smp_field container_fields[] = {
    {"env", SMP_MERGE, "name", NULL},
    {"ports", SMP_MERGE, "containerPort", NULL},
};
static const smp_schema container_schema = SMP_SCHEMA(container_fields);
static const smp_field root_fields[] = {
    {"containers", SMP_MERGE, "name", &container_schema},
    {"finalizers", SMP_MERGE, NULL, NULL},
    {"args", SMP_DEFAULT, NULL, NULL},
    {"strategy", SMP_RETAIN_KEYS, NULL, NULL},
    {"volumes", SMP_MERGE_RETAIN_KEYS, "name", NULL},
};
static const smp_schema root_schema = SMP_SCHEMA(root_fields);

/* s with every ' turned into " (the tests' JSON). Caller frees. */
static char *tr(const char *s)
{
    char *d = xstrdup(s);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

static cJSON *parse(const char *json)
{
    char *text = tr(json);
    cJSON *j = tj_parse(text);
    free(text);
    return j;
}

static void expect_json(const cJSON *got, const char *want_json, const char *what)
{
    char *want = tr(want_json);
    tj_expect(got, want, what);
    free(want);
}

/* Applies patch to orig under the test schema; checks both inputs stay as they were. */
static int apply(const char *orig_json, const char *patch_json, cJSON **out, api_error *err)
{
    cJSON *orig = parse(orig_json);
    cJSON *patch = parse(patch_json);
    cJSON *orig_copy = cJSON_Duplicate(orig, 1);
    cJSON *patch_copy = cJSON_Duplicate(patch, 1);
    int rc = smp_apply(orig, patch, &root_schema, out, err);
    cr_expect(json_equal(orig, orig_copy), "the original was modified");
    cr_expect(json_equal(patch, patch_copy), "the patch was modified");
    cJSON_Delete(patch_copy);
    cJSON_Delete(orig_copy);
    cJSON_Delete(patch);
    cJSON_Delete(orig);
    return rc;
}

static void expect_smp(const char *orig_json, const char *patch_json, const char *want_json)
{
    api_error err = API_ERROR_INIT;
    cJSON *out = NULL;
    int rc = apply(orig_json, patch_json, &out, &err);
    cr_assert_eq(rc, 0, "%s: rc %d: %s", patch_json, rc, err.message ? err.message : "");
    cr_assert_not_null(out);
    expect_json(out, want_json, patch_json);
    cJSON_Delete(out);
    apierr_clear(&err);
}

/* The patch fails with code/reason and, when message is not NULL, exactly that message. */
static void expect_error(const char *orig_json, const char *patch_json, int code,
                         const char *reason, const char *message)
{
    api_error err = API_ERROR_INIT;
    cJSON *out = NULL;
    int rc = apply(orig_json, patch_json, &out, &err);
    cr_assert_lt(rc, 0, "%s: accepted", patch_json);
    cr_expect_null(out);
    cr_expect_eq(err.code, code, "%s: code %d", patch_json, err.code);
    cr_expect_str_eq(err.reason, reason);
    if (message)
        cr_expect_str_eq(err.message, message);
    apierr_clear(&err);
}

/* True when some member name in the tree starts with '$'. */
static bool has_dollar_key(const cJSON *v)
{
    for (const cJSON *c = v->child; c; c = c->next) {
        if (cJSON_IsObject(v) && c->string[0] == '$')
            return true;
        if (has_dollar_key(c))
            return true;
    }
    return false;
}

/* ---- maps ---------------------------------------------------------------------------------- */

Test(strategicpatch, maps_merge_key_by_key_and_null_deletes)
{
    expect_smp("{'a':1,'m':{'x':1,'y':2},'gone':true}", "{'a':2,'m':{'y':null,'z':3},'gone':null}",
               "{'a':2,'m':{'x':1,'z':3}}");
}

Test(strategicpatch, new_member_is_added_without_its_nulls)
{
    expect_smp("{'a':1}", "{'b':{'c':null,'d':1},'e':null}", "{'a':1,'b':{'d':1}}");
}

Test(strategicpatch, value_of_another_type_replaces_the_original)
{
    expect_smp("{'m':{'x':1},'l':[1,2],'s':'x'}", "{'m':[1],'l':{'a':1},'s':{'b':2}}",
               "{'m':[1],'l':{'a':1},'s':{'b':2}}");
}

Test(strategicpatch, null_patch_changes_nothing)
{
    expect_smp("{'a':1}", "null", "{'a':1}");
}

/* ---- lists --------------------------------------------------------------------------------- */

Test(strategicpatch, keyed_list_merges_the_element_of_the_same_key)
{
    expect_smp("{'containers':[{'name':'a','image':'x','args':['1']},{'name':'b','image':'y'}]}",
               "{'containers':[{'name':'a','image':'z'}]}",
               "{'containers':[{'name':'a','image':'z','args':['1']},{'name':'b','image':'y'}]}");
}

Test(strategicpatch, keyed_lists_nest_by_their_own_keys)
{
    expect_smp(
        "{'containers':[{'name':'a','env':[{'name':'A','value':'1'},{'name':'B','value':'2'}],"
        "'ports':[{'containerPort':80,'name':'http'}]}]}",
        "{'containers':[{'name':'a','env':[{'name':'B','value':'3'}],"
        "'ports':[{'containerPort':80,'protocol':'TCP'}]}]}",
        "{'containers':[{'name':'a','env':[{'name':'A','value':'1'},{'name':'B','value':'3'}],"
        "'ports':[{'containerPort':80,'name':'http','protocol':'TCP'}]}]}");
}

Test(strategicpatch, new_keyed_element_comes_first_without_an_order)
{
    /* kube's order: patch items interleave with the original's only by original positions, and a
     * new element has none, so it goes before the original elements that follow. */
    expect_smp("{'containers':[{'name':'a'},{'name':'b'}]}", "{'containers':[{'name':'c'}]}",
               "{'containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}");
    expect_smp("{'containers':[{'name':'a'},{'name':'b'}]}",
               "{'containers':[{'name':'b','x':1},{'name':'c'}]}",
               "{'containers':[{'name':'a'},{'name':'b','x':1},{'name':'c'}]}");
}

Test(strategicpatch, duplicate_keys_in_the_original_merge_into_the_first)
{
    expect_smp("{'containers':[{'name':'a','v':1},{'name':'a','v':2}]}",
               "{'containers':[{'name':'a','v':3}]}",
               "{'containers':[{'name':'a','v':3},{'name':'a','v':2}]}");
}

Test(strategicpatch, empty_patch_list_leaves_a_merged_list_alone)
{
    expect_smp("{'containers':[{'name':'a'}],'finalizers':['x']}",
               "{'containers':[],'finalizers':[]}",
               "{'containers':[{'name':'a'}],'finalizers':['x']}");
}

Test(strategicpatch, merged_scalar_list_is_a_set_union)
{
    expect_smp("{'finalizers':['a','b']}", "{'finalizers':['b','c','c']}",
               "{'finalizers':['a','b','c']}");
    expect_smp("{'finalizers':['a','b']}", "{'finalizers':['c']}", "{'finalizers':['c','a','b']}");
}

Test(strategicpatch, other_lists_are_replaced_whole)
{
    expect_smp("{'args':['1','2'],'misc':[{'name':'a','x':1}]}",
               "{'args':['3'],'misc':[{'name':'a','y':null,'z':2}]}",
               "{'args':['3'],'misc':[{'name':'a','z':2}]}");
}

Test(strategicpatch, list_for_an_absent_member_is_merged_into_nothing)
{
    expect_smp("{}",
               "{'containers':[{'name':'a'},{'name':'b','$patch':'delete'}],"
               "'$setElementOrder/finalizers':['y','x'],'finalizers':['y','x']}",
               "{'containers':[{'name':'a'}],'finalizers':['y','x']}");
}

/* ---- $patch ---------------------------------------------------------------------------------- */

Test(strategicpatch, patch_delete_removes_every_element_of_its_key)
{
    expect_smp("{'containers':[{'name':'a'},{'name':'b'},{'name':'a','x':1}]}",
               "{'containers':[{'name':'a','$patch':'delete'}]}", "{'containers':[{'name':'b'}]}");
}

Test(strategicpatch, patch_delete_removes_a_map)
{
    expect_smp("{'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxSurge':1}}}",
               "{'strategy':{'rollingUpdate':{'$patch':'delete'}}}",
               "{'strategy':{'type':'RollingUpdate'}}");
}

Test(strategicpatch, patch_delete_of_the_root_leaves_an_empty_object)
{
    expect_smp("{'a':1}", "{'$patch':'delete'}", "{}");
}

Test(strategicpatch, patch_replace_replaces_a_map)
{
    expect_smp("{'m':{'x':1,'y':{'z':1}}}", "{'m':{'$patch':'replace','y':{'w':2}}}",
               "{'m':{'y':{'w':2}}}");
}

Test(strategicpatch, patch_replace_element_replaces_a_merged_list)
{
    expect_smp("{'containers':[{'name':'a','x':1},{'name':'b'}]}",
               "{'containers':[{'name':'c'},{'$patch':'replace'},{'name':'a','y':2}]}",
               "{'containers':[{'name':'c'},{'name':'a','y':2}]}");
}

Test(strategicpatch, patch_merge_is_the_default_behaviour)
{
    expect_smp("{'m':{'x':1},'containers':[{'name':'a','x':1}]}",
               "{'m':{'$patch':'merge','y':2},'containers':[{'name':'a','$patch':'merge','y':2}]}",
               "{'m':{'x':1,'y':2},'containers':[{'name':'a','x':1,'y':2}]}");
}

Test(strategicpatch, patch_directives_apply_inside_replaced_lists)
{
    expect_smp("{'misc':[1]}",
               "{'misc':[{'a':1,'$patch':'delete'},{'b':{'$patch':'replace','c':1}}]}",
               "{'misc':[{'b':{'c':1}}]}");
}

/* ---- $setElementOrder ------------------------------------------------------------------------ */

Test(strategicpatch, set_element_order_orders_a_keyed_list)
{
    expect_smp("{'containers':[{'name':'a'},{'name':'b'},{'name':'c'}]}",
               "{'$setElementOrder/containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}",
               "{'containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}");
}

Test(strategicpatch, set_element_order_keeps_unnamed_elements_in_their_places)
{
    /* C, D and E are not named: each stays before the named element that followed it. */
    expect_smp("{'containers':[{'name':'C'},{'name':'B'},{'name':'D'},{'name':'A'},{'name':'E'}]}",
               "{'$setElementOrder/containers':[{'name':'A'},{'name':'B'}],"
               "'containers':[{'name':'A','v':1},{'name':'B','v':2}]}",
               "{'containers':[{'name':'C'},{'name':'D'},{'name':'A','v':1},{'name':'B','v':2},"
               "{'name':'E'}]}");
}

Test(strategicpatch, set_element_order_ignores_names_the_list_lacks)
{
    expect_smp("{'containers':[{'name':'A'},{'name':'B'}]}",
               "{'$setElementOrder/containers':[{'name':'C'},{'name':'B'},{'name':'A'}]}",
               "{'containers':[{'name':'B'},{'name':'A'}]}");
}

Test(strategicpatch, set_element_order_orders_a_set)
{
    expect_smp("{'finalizers':['a','b','c']}",
               "{'$setElementOrder/finalizers':['c','a','d','b'],'finalizers':['d']}",
               "{'finalizers':['c','a','d','b']}");
}

Test(strategicpatch, set_element_order_out_of_the_patch_order_is_400)
{
    expect_error("{'containers':[{'name':'a'},{'name':'b'}]}",
                 "{'$setElementOrder/containers':[{'name':'a'},{'name':'b'}],"
                 "'containers':[{'name':'b'},{'name':'a'}]}",
                 400, "BadRequest",
                 "The order in patch list:\n[map[name:b] map[name:a]]\n doesn't match "
                 "$setElementOrder list:\n[map[name:a] map[name:b]]\n");
}

Test(strategicpatch, set_element_order_without_merge_key_is_refused)
{
    expect_error("{'containers':[{'name':'a'}]}", "{'$setElementOrder/containers':[{'image':'x'}]}",
                 400, "BadRequest", "map: map[image:x] does not contain declared merge key: name");
    expect_error("{'containers':[{'name':'a'}]}", "{'$setElementOrder/containers':{'name':'a'}}",
                 400, "BadRequest",
                 "expected a []interface {}, but received a map[string]interface {}");
}

/* ---- $deleteFromPrimitiveList, $retainKeys -----------------------------------------------------
 */

Test(strategicpatch, delete_from_primitive_list_removes_those_values)
{
    expect_smp("{'finalizers':['a','b','c','b']}",
               "{'$deleteFromPrimitiveList/finalizers':['b','z'],'finalizers':['d']}",
               "{'finalizers':['d','a','c']}");
}

Test(strategicpatch, retain_keys_drops_the_members_it_does_not_name)
{
    expect_smp("{'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxSurge':'25%'}}}",
               "{'strategy':{'$retainKeys':['type'],'type':'Recreate'}}",
               "{'strategy':{'type':'Recreate'}}");
}

Test(strategicpatch, retain_keys_applies_in_merged_list_elements)
{
    expect_smp(
        "{'volumes':[{'name':'v','emptyDir':{}}]}",
        "{'volumes':[{'name':'v','$retainKeys':['name','hostPath'],'hostPath':{'path':'/x'}}]}",
        "{'volumes':[{'name':'v','hostPath':{'path':'/x'}}]}");
}

Test(strategicpatch, retain_keys_must_name_every_patch_member)
{
    expect_error("{'strategy':{}}", "{'strategy':{'$retainKeys':['type'],'type':'R','x':1}}", 400,
                 "BadRequest", "invalid patch format of retainKeys");
    expect_error("{'strategy':{}}", "{'strategy':{'$retainKeys':'type'}}", 400, "BadRequest",
                 "invalid patch format of retainKeys");
}

/* ---- errors ---------------------------------------------------------------------------------- */

Test(strategicpatch, element_without_its_merge_key_is_400)
{
    expect_error("{'containers':[{'name':'a'}]}", "{'containers':[{'image':'x','args':['a',1]}]}",
                 400, "BadRequest",
                 "map: map[args:[a 1] image:x] does not contain declared merge key: name");
    expect_error("{'containers':[{'name':'a','ports':[{'containerPort':80}]}]}",
                 "{'containers':[{'name':'a','ports':[{'protocol':'TCP'}]}]}", 400, "BadRequest",
                 "map: map[protocol:TCP] does not contain declared merge key: containerPort");
}

Test(strategicpatch, unknown_patch_value_is_400)
{
    expect_error("{'m':{}}", "{'m':{'$patch':'foo','a':1.5}}", 400, "BadRequest",
                 "unknown patch type: foo in map: map[$patch:foo a:1.5]");
    expect_error("{}", "{'containers':[{'name':'a','$patch':7}]}", 400, "BadRequest",
                 "unknown patch type: 7 in map: map[$patch:7 name:a]");
}

Test(strategicpatch, wrong_element_types_are_refused)
{
    expect_error("{'containers':[{'name':'a'}]}", "{'containers':['a']}", 400, "BadRequest",
                 "expected a map[string]interface {}, but received a string");
    expect_error("{'containers':[{'name':'a'}]}", "{'containers':[{'name':{'x':1}}]}", 400,
                 "BadRequest", NULL);
    expect_error("{}", "{'finalizers':[{'a':1}]}", 400, "BadRequest",
                 "cannot merge lists without merge key for type map");
}

Test(strategicpatch, list_of_lists_in_a_set_is_422)
{
    api_error err = API_ERROR_INIT;
    cJSON *out = NULL;
    cr_assert_lt(apply("{'finalizers':['a']}", "{'finalizers':[['b']]}", &out, &err), 0);
    cr_expect_eq(err.code, 422);
    cr_expect_str_eq(err.reason, "Invalid");
    cr_expect_str_eq(err.message, "the server rejected our request due to an error in our request");
    char *status = apierr_to_status_json(&err);
    cr_expect(strstr(status, "\"message\":\"lists of lists are not supported\"") != NULL, "%s",
              status);
    free(status);
    apierr_clear(&err);
}

Test(strategicpatch, unknown_and_malformed_directives_are_400)
{
    expect_error("{}", "{'$foo':1}", 400, "BadRequest",
                 "unknown strategic merge patch directive $foo");
    expect_error("{}", "{'m':{'$setElementOrderX':[]}}", 400, "BadRequest",
                 "invalid patch format of setElementOrder list");
    expect_error("{}", "{'$deleteFromPrimitiveList':['a']}", 400, "BadRequest",
                 "invalid patch format of primitive list");
    expect_error("{}", "{'$deleteFromPrimitiveList/finalizers':'a'}", 400, "BadRequest",
                 "invalid patch format of primitive list");
}

Test(strategicpatch, patch_that_is_not_an_object_is_400)
{
    expect_error("{}", "[1]", 400, "BadRequest",
                 "json: cannot unmarshal array into Go value of type map[string]interface {}");
}

Test(strategicpatch, long_values_are_cut_in_messages)
{
    sbuf sb = SBUF_INIT;
    sbuf_puts(&sb, "{'containers':[{'image':'");
    for (int i = 0; i < 5000; i++)
        sbuf_putc(&sb, 'x');
    sbuf_puts(&sb, "'}]}");
    api_error err = API_ERROR_INIT;
    cJSON *out = NULL;
    cr_assert_lt(apply("{}", sb.data, &out, &err), 0);
    cr_expect_lt(strlen(err.message), 1200);
    cr_expect(strstr(err.message, "...") != NULL);
    apierr_clear(&err);
    sbuf_free(&sb);
}

/* ---- whole patches and bounds ------------------------------------------------------------- */

Test(strategicpatch, kubectl_apply_changing_one_image_keeps_every_other_field)
{
    expect_smp(
        "{'containers':[{'name':'a','image':'nginx:1.25','ports':[{'containerPort':80}],"
        "'env':[{'name':'E','value':'1'}]},{'name':'b','image':'busybox','args':['sleep']}]}",
        "{'$setElementOrder/containers':[{'name':'a'},{'name':'b'}],"
        "'containers':[{'image':'nginx:1.27','name':'a'}]}",
        "{'containers':[{'name':'a','image':'nginx:1.27','ports':[{'containerPort':80}],"
        "'env':[{'name':'E','value':'1'}]},{'name':'b','image':'busybox','args':['sleep']}]}");
}

Test(strategicpatch, no_directive_survives_into_the_result)
{
    api_error err = API_ERROR_INIT;
    cJSON *out = NULL;
    int rc =
        apply("{'containers':[{'name':'a','env':[{'name':'X'}]}],'finalizers':['f'],"
              "'strategy':{'type':'A','x':1}}",
              "{'$setElementOrder/containers':[{'name':'b'},{'name':'a'}],"
              "'containers':[{'name':'b','env':[{'name':'Y','$patch':'delete'}],"
              "'m':{'$patch':'replace','q':1}},{'name':'a','$setElementOrder/env':[{'name':'X'}],"
              "'$deleteFromPrimitiveList/args':['z']}],"
              "'$deleteFromPrimitiveList/finalizers':['f'],"
              "'strategy':{'$retainKeys':['type'],'type':'B'},'new':{'$patch':'merge','k':1}}",
              &out, &err);
    cr_assert_eq(rc, 0, "%s", err.message ? err.message : "");
    cr_expect_not(has_dollar_key(out));
    expect_json(
        out,
        "{'containers':[{'name':'b','env':[],'m':{'q':1}},{'name':'a','env':[{'name':'X'}]}],"
        "'finalizers':[],'strategy':{'type':'B'},'new':{'k':1}}",
        "directives applied");
    cJSON_Delete(out);
    apierr_clear(&err);
}

/* A patch of `levels` nested objects {"a":{"a":...}}. */
static cJSON *nested(int levels)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *cur = root;
    for (int i = 1; i < levels; i++)
        cur = cJSON_AddObjectToObject(cur, "a");
    return root;
}

Test(strategicpatch, nesting_deeper_than_the_limit_is_refused)
{
    api_error err = API_ERROR_INIT;
    cJSON *out = NULL;
    cJSON *ok = nested(SMP_MAX_DEPTH);
    cr_expect_eq(smp_apply(ok, ok, NULL, &out, &err), 0);
    cr_expect(json_equal(out, ok));
    cJSON_Delete(out);
    cJSON *deep = nested(SMP_MAX_DEPTH + 1);
    cr_expect_lt(smp_apply(NULL, deep, NULL, &out, &err), 0);
    cr_expect_null(out);
    cr_expect_eq(err.code, 400);
    apierr_clear(&err);
    cr_expect_lt(smp_apply(deep, ok, NULL, &out, &err), 0);
    cr_expect_eq(err.code, 500);
    apierr_clear(&err);
    cJSON_Delete(deep);
    cJSON_Delete(ok);
}

Test(strategicpatch, fifty_thousand_elements_merge_by_key)
{
    enum { N = 50000 };
    cJSON *orig = cJSON_CreateObject();
    cJSON *patch = cJSON_CreateObject();
    cJSON *olist = cJSON_AddArrayToObject(orig, "containers");
    cJSON *order = cJSON_AddArrayToObject(patch, "$setElementOrder/containers");
    cJSON *plist = cJSON_AddArrayToObject(patch, "containers");
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "c%d", i);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", name);
        cJSON_AddStringToObject(e, "image", "old");
        cJSON_AddItemToArray(olist, e);
    }
    /* The patch reverses the list and changes the image of every other element. */
    for (int i = N - 1; i >= 0; i--) {
        snprintf(name, sizeof name, "c%d", i);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddItemToArray(order, o);
        if (i % 2 == 0) {
            cJSON *p = cJSON_Duplicate(o, 1);
            cJSON_AddStringToObject(p, "image", "new");
            cJSON_AddItemToArray(plist, p);
        }
    }
    api_error err = API_ERROR_INIT;
    cJSON *out = NULL;
    cr_assert_eq(smp_apply(orig, patch, &root_schema, &out, &err), 0);
    const cJSON *list = cJSON_GetObjectItem(out, "containers");
    cr_assert_eq(cJSON_GetArraySize(list), N);
    int i = N - 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        snprintf(name, sizeof name, "c%d", i);
        cr_assert_str_eq(json_path_string(e, "name"), name);
        cr_assert_str_eq(json_path_string(e, "image"), i % 2 == 0 ? "new" : "old");
        i--;
    }
    cJSON_Delete(out);
    cJSON_Delete(patch);
    cJSON_Delete(orig);
}
