/*
 * namespace.c - the core v1 Namespace strategy (see builtin.h): kube's defaults (the name label,
 * the "kubernetes" finalizer, phase Active), validation and the STATUS column.
 */
#include "api/builtin.h"
#include "api/fielderr.h"
#include "api/foo.h"
#include "api/kindutil.h"

#include "common/alloc.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

/* ---- defaults ------------------------------------------------------------------------------ */

static void default_name_label(cJSON *obj)
{
    const char *name = json_path_string(obj, "metadata.name");
    if (!name || !*name)
        return; /* generateName: the server names the object first */
    cJSON *labels = ku_object_member(ku_member_mut(obj, "metadata"), "labels");
    if (labels)
        json_set_string(labels, NAMESPACE_NAME_LABEL, name);
}

static void default_finalizer(cJSON *obj)
{
    cJSON *spec = ku_object_member(obj, "spec");
    if (!spec)
        return;
    cJSON *fins = ku_member_mut(spec, "finalizers");
    if (!fins) {
        fins = cJSON_CreateArray();
        json_set_item(spec, "finalizers", fins);
    }
    if (cJSON_IsArray(fins) && !json_has_string(fins, NAMESPACE_FINALIZER))
        cJSON_AddItemToArray(fins, cJSON_CreateString(NAMESPACE_FINALIZER));
}

void namespace_default(cJSON *obj)
{
    if (!cJSON_IsObject(obj))
        return;
    default_name_label(obj);
    default_finalizer(obj);
    cJSON *status = ku_object_member(obj, "status");
    if (status && ku_string_unset(cJSON_GetObjectItemCaseSensitive(status, "phase")))
        json_set_string(status, "phase", NAMESPACE_PHASE_ACTIVE);
}

/* ---- validation ---------------------------------------------------------------------------- */

/* kube's standard finalizer names, which need no "domain/" prefix. */
static bool standard_finalizer(const char *s)
{
    return strcmp(s, NAMESPACE_FINALIZER) == 0 || strcmp(s, "orphan") == 0 ||
           strcmp(s, "foregroundDeletion") == 0;
}

static void check_finalizers(const cJSON *spec, api_error *err)
{
    const cJSON *fins = ku_member(spec, "finalizers");
    if (!ku_check_array(fins, "spec.finalizers", err))
        return;
    int i = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, fins)
    {
        const char *msg;
        if (!cJSON_IsString(f)) {
            char *path = xasprintf("spec.finalizers[%d]", i);
            fe_type_invalid(err, path, f, "string");
            free(path);
        } else if ((msg = meta_qualified_name_error(f->valuestring)) != NULL) {
            fe_invalid_string(err, "spec.finalizers", f->valuestring, msg);
        } else if (!strchr(f->valuestring, '/') && !standard_finalizer(f->valuestring)) {
            fe_invalid_string(err, "spec.finalizers", f->valuestring,
                              "name is neither a standard finalizer name nor is it fully "
                              "qualified");
        }
        i++;
    }
}

void namespace_validate(const cJSON *obj, const cJSON *old, api_error *err)
{
    ku_validate_meta(obj, old, dns1123_label_error, err);
    const cJSON *spec = ku_member(obj, "spec");
    if (ku_check_object(spec, "spec", err))
        check_finalizers(spec, err);
    const cJSON *status = ku_member(obj, "status");
    if (ku_check_object(status, "status", err))
        ku_check_string(ku_member(status, "phase"), "status.phase", err);
}

/* ---- columns ------------------------------------------------------------------------------- */

cJSON *namespace_cell_status(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    return api_cell_string(obj, "status.phase");
}

const api_column namespace_columns[NAMESPACE_NCOLUMNS] = {
    API_COLUMN_NAME,
    {"Status", "string", "", "The phase of the namespace (Active or Terminating)", 0, NULL,
     namespace_cell_status},
    API_COLUMN_AGE,
};

const api_kind_strategy namespace_strategy = {
    .defaults = namespace_default,
    .validate = namespace_validate,
    .validate_status = NULL,
    .columns = namespace_columns,
    .ncolumns = NAMESPACE_NCOLUMNS,
    .generation = API_GENERATION_NONE,
};
