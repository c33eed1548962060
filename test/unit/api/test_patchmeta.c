/*
 * test_patchmeta.c - the strategic merge patches kubectl sends for the built-in kinds, applied
 * under their patch meta (api/patchmeta.h): set image, a second apply with a changed image, env
 * merged by name, a container deleted, the strategy switched with $retainKeys, and the metadata
 * and status lists every kind shares. JSON is written with single quotes; tr() makes it JSON.
 */
#include "api/patchmeta.h"

#include "common/alloc.h"
#include "common/json.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static void setup(void)
{
    alloc_install_cjson_hooks();
}

TestSuite(patchmeta, .init = setup);

/* A Deployment as the server stores it after defaulting: two containers, web and sidecar. */
static const char STORED[] =
    "{'apiVersion':'apps/v1','kind':'Deployment',"
    "'metadata':{'name':'web','namespace':'default','uid':'u1','resourceVersion':'7',"
    "'generation':2,'labels':{'app':'web'},'finalizers':['example.com/a'],"
    "'ownerReferences':[{'apiVersion':'demo.example.com/v1beta1','kind':'Foo','name':'f',"
    "'uid':'foo-uid','controller':true}]},"
    "'spec':{'replicas':2,'selector':{'matchLabels':{'app':'web'}},"
    "'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxUnavailable':'25%','maxSurge':'25%'}},"
    "'revisionHistoryLimit':10,'progressDeadlineSeconds':600,"
    "'template':{'metadata':{'labels':{'app':'web'}},'spec':{"
    "'containers':[{'name':'web','image':'nginx:1.25','imagePullPolicy':'IfNotPresent',"
    "'ports':[{'containerPort':80,'protocol':'TCP'}],"
    "'env':[{'name':'A','value':'1'},{'name':'B','value':'2'}],"
    "'volumeMounts':[{'name':'data','mountPath':'/data'}],"
    "'terminationMessagePath':'/dev/termination-log','terminationMessagePolicy':'File'},"
    "{'name':'sidecar','image':'busybox:1.36','args':['sleep','infinity'],"
    "'imagePullPolicy':'IfNotPresent','terminationMessagePath':'/dev/termination-log',"
    "'terminationMessagePolicy':'File'}],"
    "'volumes':[{'name':'data','emptyDir':{}}],"
    "'restartPolicy':'Always','terminationGracePeriodSeconds':30,'dnsPolicy':'ClusterFirst',"
    "'schedulerName':'default-scheduler','securityContext':{}}}},"
    "'status':{'observedGeneration':2,'replicas':2,'conditions':["
    "{'type':'Available','status':'True','reason':'MinimumReplicasAvailable'},"
    "{'type':'Progressing','status':'True','reason':'NewReplicaSetAvailable'}]}}";

static cJSON *parse(const char *json)
{
    char *text = xstrdup(json);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "bad test JSON: %s", text);
    free(text);
    return j;
}

/* STORED patched by patch_json under schema; fails the test on an error. */
static cJSON *patched(const smp_schema *schema, const char *orig_json, const char *patch_json)
{
    cJSON *orig = parse(orig_json);
    cJSON *patch = parse(patch_json);
    api_error err = API_ERROR_INIT;
    cJSON *out = NULL;
    int rc = smp_apply(orig, patch, schema, &out, &err);
    cr_assert_eq(rc, 0, "%s: %s", patch_json, err.message ? err.message : "");
    apierr_clear(&err);
    cJSON_Delete(patch);
    cJSON_Delete(orig);
    return out;
}

static void expect_equal(const cJSON *got, const cJSON *want)
{
    char *g = json_print(got);
    char *w = json_print(want);
    cr_expect(json_equal(got, want), "got  %s\nwant %s", g, w);
    free(w);
    free(g);
}

/* The container list of a Deployment. */
static cJSON *containers(cJSON *deploy)
{
    return json_path(deploy, "spec.template.spec.containers");
}

Test(patchmeta, kubectl_set_image_changes_only_that_image)
{
    cJSON *got = patched(patchmeta_deployment(), STORED,
                         "{'spec':{'template':{'spec':{'$setElementOrder/containers':"
                         "[{'name':'web'},{'name':'sidecar'}],"
                         "'containers':[{'image':'nginx:1.27','name':'web'}]}}}}");
    cJSON *want = parse(STORED);
    json_set_string(cJSON_GetArrayItem(containers(want), 0), "image", "nginx:1.27");
    expect_equal(got, want);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

Test(patchmeta, second_apply_with_a_changed_image_keeps_the_other_container_fields)
{
    /* What kubectl apply sends when only the image in the file changed: the new last-applied
     * annotation and the changed field, with the order of the containers in the file. */
    cJSON *got = patched(patchmeta_deployment(), STORED,
                         "{'metadata':{'annotations':{'kubectl.kubernetes.io/"
                         "last-applied-configuration':'{}\\n'}},"
                         "'spec':{'template':{'spec':{'$setElementOrder/containers':"
                         "[{'name':'web'},{'name':'sidecar'}],"
                         "'containers':[{'image':'nginx:1.27','name':'web'}]}}}}");
    cJSON *want = parse(STORED);
    json_set_string(cJSON_GetArrayItem(containers(want), 0), "image", "nginx:1.27");
    json_set_string(json_ensure_object(json_path(want, "metadata"), "annotations"),
                    "kubectl.kubernetes.io/last-applied-configuration", "{}\n");
    expect_equal(got, want);
    /* A second identical apply changes nothing more. */
    cJSON *again = NULL;
    api_error err = API_ERROR_INIT;
    cJSON *patch = parse("{'spec':{'template':{'spec':{'$setElementOrder/containers':"
                         "[{'name':'web'},{'name':'sidecar'}],"
                         "'containers':[{'image':'nginx:1.27','name':'web'}]}}}}");
    cr_assert_eq(smp_apply(got, patch, patchmeta_deployment(), &again, &err), 0);
    expect_equal(again, want);
    cJSON_Delete(patch);
    cJSON_Delete(again);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

Test(patchmeta, env_is_merged_by_name)
{
    cJSON *got = patched(patchmeta_deployment(), STORED,
                         "{'spec':{'template':{'spec':{'containers':[{'name':'web',"
                         "'$setElementOrder/env':[{'name':'A'},{'name':'B'},{'name':'C'}],"
                         "'env':[{'name':'B','value':'20'},{'name':'C','value':'3'}]}]}}}}");
    cJSON *want = parse(STORED);
    cJSON *env = cJSON_GetObjectItem(cJSON_GetArrayItem(containers(want), 0), "env");
    json_set_string(cJSON_GetArrayItem(env, 1), "value", "20");
    cJSON_AddItemToArray(env, parse("{'name':'C','value':'3'}"));
    expect_equal(got, want);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

Test(patchmeta, patch_delete_removes_one_container)
{
    cJSON *got =
        patched(patchmeta_deployment(), STORED,
                "{'spec':{'template':{'spec':{'$setElementOrder/containers':"
                "[{'name':'web'}],'containers':[{'$patch':'delete','name':'sidecar'}]}}}}");
    cJSON *want = parse(STORED);
    cJSON_DeleteItemFromArray(containers(want), 1);
    expect_equal(got, want);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

Test(patchmeta, retain_keys_switching_to_recreate_removes_rolling_update)
{
    cJSON *got = patched(patchmeta_deployment(), STORED,
                         "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate'}}}");
    cJSON *want = parse(STORED);
    cJSON_ReplaceItemInObject(json_path(want, "spec"), "strategy", parse("{'type':'Recreate'}"));
    expect_equal(got, want);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

Test(patchmeta, volumes_merge_by_name_and_retain_keys_switch_the_source)
{
    cJSON *got = patched(patchmeta_deployment(), STORED,
                         "{'spec':{'template':{'spec':{'volumes':[{'name':'data',"
                         "'$retainKeys':['configMap','name'],'configMap':{'name':'cm'}},"
                         "{'name':'tmp','emptyDir':{}}]}}}}");
    const cJSON *vols = json_path(got, "spec.template.spec.volumes");
    cJSON *want = parse("[{'name':'data','configMap':{'name':'cm'}},{'name':'tmp','emptyDir':{}}]");
    expect_equal(vols, want);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

Test(patchmeta, ports_merge_by_container_port_and_mounts_by_path)
{
    cJSON *got = patched(patchmeta_deployment(), STORED,
                         "{'spec':{'template':{'spec':{'containers':[{'name':'web',"
                         "'ports':[{'containerPort':80,'name':'http'},{'containerPort':443}],"
                         "'volumeMounts':[{'mountPath':'/data','readOnly':true}]}]}}}}");
    const cJSON *web = cJSON_GetArrayItem(containers(got), 0);
    cJSON *ports = parse("[{'containerPort':80,'protocol':'TCP','name':'http'},"
                         "{'containerPort':443}]");
    cJSON *mounts = parse("[{'name':'data','mountPath':'/data','readOnly':true}]");
    expect_equal(cJSON_GetObjectItem(web, "ports"), ports);
    expect_equal(cJSON_GetObjectItem(web, "volumeMounts"), mounts);
    cJSON_Delete(mounts);
    cJSON_Delete(ports);
    cJSON_Delete(got);
}

Test(patchmeta, other_container_lists_are_replaced)
{
    cJSON *got = patched(patchmeta_deployment(), STORED,
                         "{'spec':{'template':{'spec':{'containers':[{'name':'sidecar',"
                         "'args':['sleep','60']}]}}}}");
    cJSON *args = parse("['sleep','60']");
    expect_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(containers(got), 1), "args"), args);
    cJSON_Delete(args);
    cJSON_Delete(got);
}

Test(patchmeta, object_meta_merges_finalizers_and_owner_references)
{
    static const struct {
        const char *kind;
        const smp_schema *(*schema)(void);
    } kinds[] = {{"Deployment", patchmeta_deployment},
                 {"Event", patchmeta_event},
                 {"Lease", patchmeta_lease},
                 {"Namespace", patchmeta_namespace}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const smp_schema *s = kinds[i].schema();
        cr_assert_not_null(s, "%s", kinds[i].kind);
        cJSON *got = patched(s, STORED,
                             "{'metadata':{'finalizers':['example.com/b'],"
                             "'$deleteFromPrimitiveList/finalizers':['example.com/a'],"
                             "'ownerReferences':[{'uid':'foo-uid','blockOwnerDeletion':true},"
                             "{'uid':'other','kind':'X','name':'x','apiVersion':'v1'}]}}");
        cJSON *fin = parse("['example.com/b']");
        cJSON *owners = parse("[{'apiVersion':'demo.example.com/v1beta1','kind':'Foo','name':'f',"
                              "'uid':'foo-uid','controller':true,'blockOwnerDeletion':true},"
                              "{'uid':'other','kind':'X','name':'x','apiVersion':'v1'}]");
        expect_equal(json_path(got, "metadata.finalizers"), fin);
        expect_equal(json_path(got, "metadata.ownerReferences"), owners);
        cJSON_Delete(owners);
        cJSON_Delete(fin);
        cJSON_Delete(got);
    }
}

Test(patchmeta, status_conditions_merge_by_type)
{
    cJSON *got = patched(patchmeta_deployment(), STORED,
                         "{'status':{'conditions':[{'type':'Available','status':'False'}]}}");
    const cJSON *conds = json_path(got, "status.conditions");
    cr_assert_eq(cJSON_GetArraySize(conds), 2);
    cr_expect_str_eq(json_path_string(cJSON_GetArrayItem(conds, 0), "status"), "False");
    cr_expect_str_eq(json_path_string(cJSON_GetArrayItem(conds, 0), "reason"),
                     "MinimumReplicasAvailable");
    cJSON_Delete(got);
}

Test(patchmeta, namespace_spec_finalizers_are_replaced_whole)
{
    cJSON *got = patched(patchmeta_namespace(),
                         "{'metadata':{'name':'ns'},'spec':{'finalizers':['kubernetes']},"
                         "'status':{'phase':'Active'}}",
                         "{'spec':{'finalizers':['example.com/x']}}");
    cJSON *fin = parse("['example.com/x']");
    expect_equal(json_path(got, "spec.finalizers"), fin);
    cJSON_Delete(fin);
    cJSON_Delete(got);
}
