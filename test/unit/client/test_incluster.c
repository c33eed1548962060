/*
 * In-cluster configuration from a temp service-account directory, and the loading rule that
 * chooses between --kubeconfig, $KUBECONFIG, in-cluster and ~/.kube/config.
 */
#include "client/config.h"
#include "common/alloc.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *tmp;
static char *sa; /* the fake service-account directory */
static clk_t *clock_;

static void setup(void)
{
    alloc_install_cjson_hooks();
    tmp = tu_tmpdir();
    sa = xasprintf("%s/serviceaccount", tmp);
    clock_ = clk_fake_new(TU_WALL_START_MS);
    unsetenv("KUBECONFIG");
    unsetenv("POD_NAMESPACE");
    setenv("HOME", tmp, 1);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    free(tu_write(sa, "token", "sa-token-1\n"));
    free(tu_write(sa, "ca.crt", "CLUSTER CA\n"));
    free(tu_write(sa, "namespace", "foo-system\n"));
}

static void teardown(void)
{
    tu_rmtree(tmp);
    free(tmp);
    free(sa);
    clk_fake_free(clock_);
}

TestSuite(incluster, .init = setup, .fini = teardown);

static kc_config *incluster_ok(void)
{
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_incluster_load(sa, &cfg, &err), 0, "%s", err.message ? err.message : "");
    cr_assert(!apierr_is_set(&err));
    return cfg;
}

static char *incluster_err(void)
{
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_lt(kc_incluster_load(sa, &cfg, &err), 0);
    cr_assert_null(cfg);
    return tu_take_message(&err);
}

static void expect_auth(kc_config *cfg, const char *want)
{
    char *value = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_credentials_authorization(cfg->creds, clock_, &value, &err), 0, "%s",
                 err.message);
    cr_assert_str_eq(value, want);
    free(value);
}

Test(incluster, config_comes_from_the_environment_and_the_service_account_files)
{
    kc_config *cfg = incluster_ok();
    cr_assert_str_eq(cfg->server, "https://10.96.0.1:443");
    cr_assert_eq(cfg->ca_pem_len, strlen("CLUSTER CA\n"));
    cr_assert_eq(memcmp(cfg->ca_pem, "CLUSTER CA\n", cfg->ca_pem_len), 0);
    char *ca = xasprintf("%s/ca.crt", sa);
    cr_assert_str_eq(cfg->ca_file, ca);
    free(ca);
    cr_assert_str_eq(cfg->namespace, "foo-system");
    cr_assert_str_eq(cfg->source, "in-cluster");
    cr_assert_null(cfg->context);
    cr_assert_not(cfg->insecure_skip_tls_verify);
    expect_auth(cfg, "Bearer sa-token-1");
    kc_config_free(cfg);
}

Test(incluster, ipv6_service_host_is_bracketed)
{
    setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
    kc_config *cfg = incluster_ok();
    cr_assert_str_eq(cfg->server, "https://[fd00:10:96::1]:6443");
    kc_config_free(cfg);
}

Test(incluster, token_is_reread_after_60_seconds)
{
    kc_config *cfg = incluster_ok();
    expect_auth(cfg, "Bearer sa-token-1");
    free(tu_write(sa, "token", "sa-token-2\n")); /* the kubelet rotated it */
    clk_fake_advance_ms(clock_, 59999);
    expect_auth(cfg, "Bearer sa-token-1");
    clk_fake_advance_ms(clock_, 1);
    expect_auth(cfg, "Bearer sa-token-2");
    kc_config_free(cfg);
}

Test(incluster, token_is_reread_after_a_401)
{
    kc_config *cfg = incluster_ok();
    expect_auth(cfg, "Bearer sa-token-1");
    free(tu_write(sa, "token", "sa-token-2\n"));
    kc_credentials_invalidate(cfg->creds, "Bearer sa-token-1");
    expect_auth(cfg, "Bearer sa-token-2");
    kc_config_free(cfg);
}

Test(incluster, namespace_defaults_to_default_without_the_file)
{
    char *ns = xasprintf("%s/namespace", sa);
    cr_assert_eq(unlink(ns), 0);
    free(ns);
    kc_config *cfg = incluster_ok();
    cr_assert_str_eq(cfg->namespace, "default");
    kc_config_free(cfg);
}

Test(incluster, pod_namespace_variable_wins_over_the_file)
{
    setenv("POD_NAMESPACE", "from-env", 1);
    kc_config *cfg = incluster_ok();
    cr_assert_str_eq(cfg->namespace, "from-env");
    kc_config_free(cfg);
}

Test(incluster, missing_token_is_an_error_naming_the_file)
{
    char *token = xasprintf("%s/token", sa);
    cr_assert_eq(unlink(token), 0);
    char *err = incluster_err();
    char *want =
        xasprintf("in-cluster: token file %s: cannot read: No such file or directory", token);
    cr_assert_str_eq(err, want);
    free(want);
    free(err);
    free(token);
}

Test(incluster, empty_token_is_an_error)
{
    free(tu_write(sa, "token", "\n"));
    char *err = incluster_err();
    cr_assert(tu_contains(err, "/token is empty"), "%s", err);
    free(err);
}

Test(incluster, missing_ca_is_an_error_naming_the_file)
{
    char *ca = xasprintf("%s/ca.crt", sa);
    cr_assert_eq(unlink(ca), 0);
    char *err = incluster_err();
    cr_assert(tu_contains(err, ca), "%s", err);
    free(err);
    free(ca);
}

Test(incluster, unset_service_variables_are_an_error)
{
    unsetenv("KUBERNETES_SERVICE_PORT");
    char *err = incluster_err();
    cr_assert(tu_contains(err, "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"),
              "%s", err);
    free(err);
}

/* ---- the loading rule ---- */

static kc_config *load_ok(const char *context)
{
    kc_load_options opt = {.context = context, .incluster_dir = sa};
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_load(&opt, &cfg, &err), 0, "%s", err.message ? err.message : "");
    return cfg;
}

Test(incluster, load_uses_in_cluster_when_no_kubeconfig_is_named)
{
    free(tu_copy_fixture(tmp, "merge-a.yaml", ".kube/config", 0600)); /* must not be used */
    kc_config *cfg = load_ok(NULL);
    cr_assert_str_eq(cfg->source, "in-cluster");
    kc_config_free(cfg);
}

Test(incluster, load_prefers_the_kubeconfig_variable_over_in_cluster)
{
    char *a = tu_fixture("merge-a.yaml");
    setenv("KUBECONFIG", a, 1);
    kc_config *cfg = load_ok(NULL);
    cr_assert_str_eq(cfg->context, "ctx-a");
    kc_config_free(cfg);
    free(a);
}

Test(incluster, load_with_a_context_skips_in_cluster)
{
    free(tu_copy_fixture(tmp, "merge-b.yaml", ".kube/config", 0600));
    kc_config *cfg = load_ok("shared-ctx");
    cr_assert_str_eq(cfg->namespace, "from-b");
    kc_config_free(cfg);
}

Test(incluster, load_falls_back_to_home_when_in_cluster_fails)
{
    free(tu_copy_fixture(tmp, "merge-b.yaml", ".kube/config", 0600));
    char *token = xasprintf("%s/token", sa);
    cr_assert_eq(unlink(token), 0);
    free(token);
    kc_config *cfg = load_ok(NULL);
    cr_assert_str_eq(cfg->context, "ctx-b");
    kc_config_free(cfg);
}

Test(incluster, load_reports_both_failures_when_nothing_works)
{
    char *token = xasprintf("%s/token", sa);
    cr_assert_eq(unlink(token), 0);
    kc_load_options opt = {.incluster_dir = sa};
    kc_config *cfg = NULL;
    api_error e = API_ERROR_INIT;
    cr_assert_eq(kc_load(&opt, &cfg, &e), -ENOENT);
    char *err = tu_take_message(&e);
    cr_assert(tu_contains(err, "in-cluster: token file"), "%s", err);
    cr_assert(tu_contains(err, ".kube/config: cannot read"), "%s", err);
    free(err);
    free(token);
}
