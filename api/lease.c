/*
 * lease.c - the coordination.k8s.io/v1 Lease strategy (see builtin.h): kube's validation of
 * LeaseSpec and the HOLDER column. kube applies no defaults to Leases.
 */
#include "api/builtin.h"
#include "api/fielderr.h"
#include "api/foo.h"
#include "api/kindutil.h"

#include <string.h>

/* The one coordinated-lease strategy kube defines; others must be "domain/name". */
#define LEASE_STRATEGY_OLDEST "OldestEmulationVersion"

static void check_strategy(const cJSON *spec, api_error *err)
{
    static const char *const known[] = {LEASE_STRATEGY_OLDEST};
    const char *s = ku_check_string(ku_member(spec, "strategy"), "spec.strategy", err);
    const char *msg;
    if (!s || !*s)
        return;
    if (!strchr(s, '/')) {
        if (strcmp(s, LEASE_STRATEGY_OLDEST) != 0)
            fe_not_supported(err, "spec.strategy", s, known, 1);
    } else if ((msg = meta_qualified_name_error(s)) != NULL) {
        fe_invalid_string(err, "spec.strategy", s, msg);
    }
}

static void check_spec(const cJSON *spec, api_error *err)
{
    ku_check_string(ku_member(spec, "holderIdentity"), "spec.holderIdentity", err);
    ku_check_int(ku_member(spec, "leaseDurationSeconds"), "spec.leaseDurationSeconds", 1,
                 "must be greater than 0", KU_INT32_MAX, err, NULL);
    ku_check_int(ku_member(spec, "leaseTransitions"), "spec.leaseTransitions", 0, KU_MSG_NEGATIVE,
                 KU_INT32_MAX, err, NULL);
    ku_check_time(ku_member(spec, "acquireTime"), "spec.acquireTime", err);
    ku_check_time(ku_member(spec, "renewTime"), "spec.renewTime", err);
    check_strategy(spec, err);
    const char *preferred =
        ku_check_string(ku_member(spec, "preferredHolder"), "spec.preferredHolder", err);
    const char *strategy = ku_string(spec, "strategy");
    if (preferred && *preferred && (!strategy || !*strategy))
        fe_forbidden(err, "spec.preferredHolder", "may only be specified if `strategy` is defined");
}

void lease_validate(const cJSON *obj, const cJSON *old, api_error *err)
{
    ku_validate_meta(obj, old, dns1123_subdomain_error, err);
    const cJSON *spec = ku_member(obj, "spec");
    if (spec && ku_check_object(spec, "spec", err))
        check_spec(spec, err);
}

cJSON *lease_cell_holder(const cJSON *obj, int64_t now_s)
{
    (void)now_s;
    return api_cell_string(obj, "spec.holderIdentity");
}

const api_column lease_columns[LEASE_NCOLUMNS] = {
    API_COLUMN_NAME,
    {"Holder", "string", "", "The identity of the lease's current holder", 0, NULL,
     lease_cell_holder},
    API_COLUMN_AGE,
};

const api_kind_strategy lease_strategy = {
    .defaults = NULL,
    .validate = lease_validate,
    .validate_status = NULL,
    .columns = lease_columns,
    .ncolumns = LEASE_NCOLUMNS,
    .generation = API_GENERATION_NONE,
};
