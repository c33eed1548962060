/*
 * Kubeconfig loading: merge rules, context selection, YAML/JSON forms, key material, relative
 * paths, booleans, and one clear message per kind of broken file.
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
static clk_t *clock_;

static void setup(void)
{
    alloc_install_cjson_hooks();
    tmp = tu_tmpdir();
    clock_ = clk_fake_new(TU_WALL_START_MS);
    /* Each Criterion test runs in its own process: the environment is ours to shape. */
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    unsetenv("POD_NAMESPACE");
    setenv("HOME", tmp, 1);
}

static void teardown(void)
{
    tu_rmtree(tmp);
    free(tmp);
    clk_fake_free(clock_);
}

TestSuite(kubeconfig, .init = setup, .fini = teardown);

/* Loads with the given options and asserts success. */
static kc_config *load_ok(const char *kubeconfig, const char *context)
{
    kc_load_options opt = {.kubeconfig = kubeconfig, .context = context};
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    int rc = kc_load(&opt, &cfg, &err);
    cr_assert_eq(rc, 0, "kc_load failed: %s", err.message ? err.message : "(no message)");
    cr_assert(!apierr_is_set(&err));
    cr_assert_not_null(cfg);
    return cfg;
}

/* Loads with the given options, asserts failure, returns the message. */
static char *load_err(const char *kubeconfig, const char *context)
{
    kc_load_options opt = {.kubeconfig = kubeconfig, .context = context};
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    int rc = kc_load(&opt, &cfg, &err);
    cr_assert_lt(rc, 0, "kc_load succeeded unexpectedly");
    cr_assert_null(cfg);
    return tu_take_message(&err);
}

static char *fixture_err(const char *name, const char *context)
{
    char *path = tu_fixture(name);
    char *err = load_err(path, context);
    free(path);
    return err;
}

static void assert_token(kc_config *cfg, const char *expected_header)
{
    char *auth = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_credentials_authorization(cfg->creds, clock_, &auth, &err), 0, "%s",
                 err.message);
    if (expected_header)
        cr_assert_str_eq(auth, expected_header);
    else
        cr_assert_null(auth);
    free(auth);
}

static void set_kubeconfig_env(const char *first, const char *second)
{
    char *a = tu_fixture(first), *b = tu_fixture(second);
    char *list = xasprintf("%s:%s", a, b);
    setenv("KUBECONFIG", list, 1);
    free(list);
    free(a);
    free(b);
}

Test(kubeconfig, merge_takes_current_context_from_the_first_file)
{
    set_kubeconfig_env("merge-a.yaml", "merge-b.yaml");
    kc_config *cfg = load_ok(NULL, NULL);
    cr_assert_str_eq(cfg->context, "ctx-a");
    cr_assert_str_eq(cfg->server, "https://a.example:6443");
    cr_assert_str_eq(cfg->namespace, "team-a");
    cr_assert(cfg->insecure_skip_tls_verify);
    assert_token(cfg, "Bearer token-from-a");
    kc_config_free(cfg);
}

Test(kubeconfig, merge_keeps_the_first_definition_of_a_cluster_whole)
{
    set_kubeconfig_env("merge-a.yaml", "merge-b.yaml");
    kc_config *cfg = load_ok(NULL, "ctx-a");
    /* b's "shared" cluster sets tls-server-name; client-go drops b's entry whole, no field merge */
    cr_assert_str_eq(cfg->server, "https://a.example:6443");
    cr_assert_null(cfg->tls_server_name);
    kc_config_free(cfg);
}

Test(kubeconfig, merge_keeps_the_first_definition_of_users_and_contexts)
{
    set_kubeconfig_env("merge-a.yaml", "merge-b.yaml");
    kc_config *cfg = load_ok(NULL, "shared-ctx");
    cr_assert_str_eq(cfg->namespace, "from-a");
    cr_assert_str_eq(cfg->server, "https://only-a.example:6443");
    assert_token(cfg, "Bearer token-from-a");
    kc_config_free(cfg);
}

Test(kubeconfig, merge_adds_entries_only_a_later_file_defines)
{
    set_kubeconfig_env("merge-a.yaml", "merge-b.yaml");
    kc_config *cfg = load_ok(NULL, "ctx-b");
    cr_assert_str_eq(cfg->server, "https://only-b.example:7443"); /* default scheme added */
    cr_assert_str_eq(cfg->proxy_url, "http://proxy.example:3128");
    cr_assert_str_eq(cfg->namespace, "default");
    assert_token(cfg, "Bearer token-only-b");
    kc_config_free(cfg);
}

Test(kubeconfig, merge_order_decides_which_definition_wins)
{
    set_kubeconfig_env("merge-b.yaml", "merge-a.yaml");
    kc_config *cfg = load_ok(NULL, NULL);
    cr_assert_str_eq(cfg->context, "ctx-b");
    kc_config_free(cfg);
    cfg = load_ok(NULL, "ctx-a");
    cr_assert_str_eq(cfg->server, "https://b.example:6443");
    cr_assert_str_eq(cfg->tls_server_name, "from-b.example");
    assert_token(cfg, "Bearer token-from-b");
    kc_config_free(cfg);
}

Test(kubeconfig, kubeconfig_list_skips_missing_files)
{
    char *a = tu_fixture("merge-a.yaml");
    char *list = xasprintf("%s/absent.yaml::%s", tmp, a);
    setenv("KUBECONFIG", list, 1);
    kc_config *cfg = load_ok(NULL, NULL);
    cr_assert_str_eq(cfg->context, "ctx-a");
    kc_config_free(cfg);
    free(list);
    free(a);
}

Test(kubeconfig, kubeconfig_list_without_any_existing_file_is_an_error)
{
    char *list = xasprintf("%s/one.yaml:%s/two.yaml", tmp, tmp);
    setenv("KUBECONFIG", list, 1);
    char *err = load_err(NULL, NULL);
    cr_assert(tu_contains(err, "one.yaml"), "%s", err);
    cr_assert(tu_contains(err, "none of these files exists"), "%s", err);
    free(err);
    free(list);
}

Test(kubeconfig, explicit_kubeconfig_wins_over_the_environment)
{
    set_kubeconfig_env("merge-a.yaml", "merge-a.yaml");
    char *b = tu_fixture("merge-b.yaml");
    kc_config *cfg = load_ok(b, NULL);
    cr_assert_str_eq(cfg->context, "ctx-b");
    kc_config_free(cfg);
    free(b);
}

Test(kubeconfig, context_option_selects_a_context_other_than_current)
{
    char *b = tu_fixture("merge-b.yaml");
    kc_config *cfg = load_ok(b, "shared-ctx");
    cr_assert_str_eq(cfg->context, "shared-ctx");
    cr_assert_str_eq(cfg->namespace, "from-b");
    kc_config_free(cfg);
    free(b);
}

Test(kubeconfig, unknown_context_is_an_error_naming_it_and_the_file)
{
    char *path = tu_fixture("merge-a.yaml");
    char *err = load_err(path, "nope");
    cr_assert(tu_contains(err, "context \"nope\" not found"), "%s", err);
    cr_assert(tu_contains(err, path), "%s", err);
    free(err);
    free(path);
}

Test(kubeconfig, missing_current_context_without_context_option_is_an_error)
{
    char *path = tu_write(tmp, "k.yaml", "clusters: []\n");
    char *err = load_err(path, NULL);
    cr_assert(tu_contains(err, "current-context is not set"), "%s", err);
    free(err);
    free(path);
}

Test(kubeconfig, json_kubeconfig_is_parsed)
{
    char *path = tu_fixture("flow.json");
    kc_config *cfg = load_ok(path, NULL);
    cr_assert_str_eq(cfg->server, "https://json.example:443");
    cr_assert_str_eq(cfg->tls_server_name, "api.json.example");
    cr_assert_not(cfg->insecure_skip_tls_verify);
    cr_assert_str_eq(cfg->namespace, "json-ns");
    assert_token(cfg, "Bearer json-token");
    kc_config_free(cfg);
    free(path);
}

Test(kubeconfig, quoted_scalars_flow_style_and_aliases_are_parsed)
{
    char *path = tu_fixture("quoted.yaml");
    kc_config *cfg = load_ok(path, NULL);
    cr_assert_str_eq(cfg->context, "quoted ctx");
    cr_assert_str_eq(cfg->proxy_url, "socks5://127.0.0.1:1080");
    cr_assert_str_eq(cfg->namespace, "ns-quoted");
    assert_token(cfg, "Bearer tok\"with\"quotes");
    kc_config_free(cfg);
    cfg = load_ok(path, "alias-ctx");
    assert_token(cfg, "Bearer tok\"with\"quotes");
    kc_config_free(cfg);
    free(path);
}

static void assert_bytes_equal_file(const unsigned char *data, size_t len, const char *fixture)
{
    char *path = tu_fixture(fixture);
    char *want = tu_read(path);
    cr_assert_not_null(want);
    cr_assert_eq(len, strlen(want));
    cr_assert_eq(memcmp(data, want, len), 0, "content differs from %s", fixture);
    free(want);
    free(path);
}

Test(kubeconfig, certificate_data_fields_are_base64_decoded_in_memory)
{
    char *path = tu_fixture("certs-data.yaml");
    kc_config *cfg = load_ok(path, NULL);
    assert_bytes_equal_file(cfg->ca_pem, cfg->ca_pem_len, "ca.pem");
    assert_bytes_equal_file(cfg->client_cert_pem, cfg->client_cert_pem_len, "certs/client.crt");
    assert_bytes_equal_file(cfg->client_key_pem, cfg->client_key_pem_len, "certs/client.key");
    cr_assert_null(cfg->ca_file);
    assert_token(cfg, NULL); /* client-certificate auth: no bearer token */
    kc_config_free(cfg);
    free(path);
}

Test(kubeconfig, relative_paths_resolve_against_the_kubeconfig_directory)
{
    char *kc = tu_copy_fixture(tmp, "certs-path.yaml", "conf/kubeconfig", 0600);
    free(tu_copy_fixture(tmp, "ca.pem", "conf/ca.pem", 0600));
    free(tu_copy_fixture(tmp, "certs/client.crt", "conf/certs/client.crt", 0600));
    free(tu_copy_fixture(tmp, "certs/client.key", "conf/certs/client.key", 0600));
    cr_assert_eq(chdir("/"), 0); /* the working directory must not matter */
    kc_config *cfg = load_ok(kc, NULL);
    assert_bytes_equal_file(cfg->ca_pem, cfg->ca_pem_len, "ca.pem");
    assert_bytes_equal_file(cfg->client_cert_pem, cfg->client_cert_pem_len, "certs/client.crt");
    assert_bytes_equal_file(cfg->client_key_pem, cfg->client_key_pem_len, "certs/client.key");
    char *ca = xasprintf("%s/conf/ca.pem", tmp);
    cr_assert_str_eq(cfg->ca_file, ca);
    free(ca);
    kc_config_free(cfg);
    free(kc);
}

static char *insecure_kubeconfig(const char *value)
{
    char *text = xasprintf("current-context: c\n"
                           "clusters:\n- name: c\n  cluster:\n    server: https://s.example\n"
                           "    insecure-skip-tls-verify: %s\n"
                           "contexts:\n- name: c\n  context: {cluster: c}\n",
                           value);
    char *path = tu_write(tmp, "insecure.yaml", text);
    free(text);
    return path;
}

Test(kubeconfig, insecure_flag_accepts_yaml_1_1_true_forms)
{
    const char *forms[] = {"true", "True", "TRUE", "yes", "Yes", "on", "ON", "y"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char *path = insecure_kubeconfig(forms[i]);
        kc_config *cfg = load_ok(path, NULL);
        cr_assert(cfg->insecure_skip_tls_verify, "%s should be true", forms[i]);
        kc_config_free(cfg);
        free(path);
    }
}

Test(kubeconfig, insecure_flag_accepts_yaml_1_1_false_forms)
{
    const char *forms[] = {"false", "False", "no", "NO", "off", "n", "null", "~"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char *path = insecure_kubeconfig(forms[i]);
        kc_config *cfg = load_ok(path, NULL);
        cr_assert_not(cfg->insecure_skip_tls_verify, "%s should be false", forms[i]);
        kc_config_free(cfg);
        free(path);
    }
}

Test(kubeconfig, insecure_flag_rejects_a_quoted_string_with_a_clear_message)
{
    char *path = insecure_kubeconfig("\"true\"");
    char *err = load_err(path, NULL);
    cr_assert(tu_contains(err, path), "%s", err);
    cr_assert(tu_contains(err, "line 6"), "%s", err);
    cr_assert(tu_contains(err, "insecure-skip-tls-verify: expected a boolean"), "%s", err);
    free(err);
    free(path);
}

Test(kubeconfig, insecure_flag_rejects_a_non_boolean_word)
{
    char *path = insecure_kubeconfig("maybe");
    char *err = load_err(path, NULL);
    cr_assert(tu_contains(err, "got \"maybe\""), "%s", err);
    free(err);
    free(path);
}

Test(kubeconfig, insecure_flag_with_a_certificate_authority_is_an_error)
{
    char *path = tu_write(tmp, "k.yaml",
                          "current-context: c\n"
                          "clusters:\n- name: c\n  cluster:\n    server: https://s.example\n"
                          "    insecure-skip-tls-verify: true\n"
                          "    certificate-authority-data: Q0E=\n"
                          "contexts:\n- name: c\n  context: {cluster: c}\n");
    char *err = load_err(path, NULL);
    cr_assert(tu_contains(err, "cluster \"c\": insecure-skip-tls-verify cannot be combined"), "%s",
              err);
    free(err);
    free(path);
}

Test(kubeconfig, missing_file_is_an_error_naming_it)
{
    char *path = xasprintf("%s/does-not-exist.yaml", tmp);
    char *err = load_err(path, NULL);
    char *want = xasprintf("kubeconfig %s: cannot read: No such file or directory", path);
    cr_assert_str_eq(err, want);
    free(want);
    free(err);
    free(path);
}

Test(kubeconfig, bad_yaml_is_an_error_with_file_and_line)
{
    char *path = tu_fixture("bad-yaml.yaml");
    char *err = load_err(path, NULL);
    char *want = xasprintf("kubeconfig %s: invalid YAML at line", path);
    cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
    cr_assert(tu_contains(err, "while scanning a quoted scalar (started at line 5)"), "%s", err);
    free(want);
    free(err);
    free(path);
}

Test(kubeconfig, wrong_shape_is_an_error_with_file_and_line)
{
    char *err = fixture_err("wrong-shape.yaml", NULL);
    cr_assert(tu_contains(err, "wrong-shape.yaml: line 3: clusters: expected a list"), "%s", err);
    free(err);
}

Test(kubeconfig, bad_base64_is_an_error_naming_cluster_and_field)
{
    char *err = fixture_err("bad-base64.yaml", NULL);
    cr_assert(tu_contains(err, "bad-base64.yaml: cluster \"b64\": "
                               "certificate-authority-data is not valid base64"),
              "%s", err);
    free(err);
}

Test(kubeconfig, context_naming_a_missing_cluster_is_an_error)
{
    char *err = fixture_err("missing-cluster.yaml", NULL);
    cr_assert(
        tu_contains(err, "context \"dangling\" names cluster \"ghost\", which is not defined"),
        "%s", err);
    cr_assert(tu_contains(err, "missing-cluster.yaml"), "%s", err);
    free(err);
}

Test(kubeconfig, context_naming_a_missing_user_is_an_error)
{
    char *err = fixture_err("missing-user.yaml", NULL);
    cr_assert(tu_contains(err, "context \"dangling\" names user \"nobody\", which is not defined"),
              "%s", err);
    free(err);
}

Test(kubeconfig, missing_certificate_authority_file_is_an_error_naming_it)
{
    char *path = tu_write(tmp, "k.yaml",
                          "current-context: c\n"
                          "clusters:\n- name: c\n  cluster:\n    server: https://s.example\n"
                          "    certificate-authority: missing-ca.pem\n"
                          "contexts:\n- name: c\n  context: {cluster: c}\n");
    char *err = load_err(path, NULL);
    char *want = xasprintf("certificate-authority %s/missing-ca.pem: cannot read", tmp);
    cr_assert(tu_contains(err, want), "%s", err);
    free(want);
    free(err);
    free(path);
}

Test(kubeconfig, client_certificate_without_key_is_an_error)
{
    char *path = tu_write(tmp, "k.yaml",
                          "current-context: c\n"
                          "clusters:\n- name: c\n  cluster: {server: https://s.example}\n"
                          "users:\n- name: u\n  user: {client-certificate-data: Q0VSVA==}\n"
                          "contexts:\n- name: c\n  context: {cluster: c, user: u}\n");
    char *err = load_err(path, NULL);
    cr_assert(tu_contains(err, "user \"u\": client-certificate is set without client-key"), "%s",
              err);
    free(err);
    free(path);
}

Test(kubeconfig, cluster_without_server_is_an_error)
{
    char *path = tu_write(tmp, "k.yaml",
                          "current-context: c\n"
                          "clusters:\n- name: c\n  cluster: {proxy-url: http://p}\n"
                          "contexts:\n- name: c\n  context: {cluster: c}\n");
    char *err = load_err(path, NULL);
    cr_assert(tu_contains(err, "cluster \"c\": server is not set"), "%s", err);
    free(err);
    free(path);
}

Test(kubeconfig, duplicate_name_in_one_file_is_an_error)
{
    char *path = tu_write(tmp, "k.yaml",
                          "clusters:\n- name: c\n  cluster: {server: https://a}\n"
                          "- name: c\n  cluster: {server: https://b}\n");
    char *err = load_err(path, "c");
    cr_assert(tu_contains(err, "line 4: clusters: duplicate name \"c\""), "%s", err);
    free(err);
    free(path);
}

static const char broken_users[] =
    "current-context: good\n"
    "clusters:\n- name: c\n  cluster: {server: https://s.example}\n"
    "users:\n"
    "- name: good\n  user: {token: fine}\n"
    "- name: old-exec\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1alpha1, "
    "command: x}\n"
    "- name: gcp\n  user:\n    auth-provider: {name: gcp}\n"
    "contexts:\n"
    "- name: good\n  context: {cluster: c, user: good}\n"
    "- name: old-exec\n  context: {cluster: c, user: old-exec}\n"
    "- name: gcp\n  context: {cluster: c, user: gcp}\n";

Test(kubeconfig, a_broken_user_that_is_not_selected_does_not_stop_loading)
{
    char *path = tu_write(tmp, "k.yaml", broken_users);
    kc_config *cfg = load_ok(path, NULL);
    assert_token(cfg, "Bearer fine");
    kc_config_free(cfg);
    free(path);
}

Test(kubeconfig, unsupported_exec_api_version_is_an_error_when_selected)
{
    char *path = tu_write(tmp, "k.yaml", broken_users);
    char *err = load_err(path, "old-exec");
    cr_assert(tu_contains(err, "line 10: user \"old-exec\": exec: apiVersion "
                               "\"client.authentication.k8s.io/v1alpha1\" is not supported"),
              "%s", err);
    free(err);
    free(path);
}

Test(kubeconfig, auth_provider_is_refused_with_a_hint_when_selected)
{
    char *path = tu_write(tmp, "k.yaml", broken_users);
    char *err = load_err(path, "gcp");
    cr_assert(tu_contains(err, "user \"gcp\": auth-provider is not supported; use an exec plugin"),
              "%s", err);
    free(err);
    free(path);
}

Test(kubeconfig, home_kube_config_is_the_last_resort)
{
    free(tu_copy_fixture(tmp, "merge-b.yaml", ".kube/config", 0600));
    kc_config *cfg = load_ok(NULL, NULL);
    cr_assert_str_eq(cfg->context, "ctx-b");
    char *want = xasprintf("kubeconfig %s/.kube/config", tmp);
    cr_assert_str_eq(cfg->source, want);
    free(want);
    kc_config_free(cfg);
}

Test(kubeconfig, no_configuration_at_all_is_an_error)
{
    char *err = load_err(NULL, NULL);
    cr_assert(tu_contains(err, ".kube/config: cannot read: No such file or directory"), "%s", err);
    free(err);
}

/* docs/design.md §4.8: bad content is a 400 BadRequest, a file that cannot be read a 500. */
Test(kubeconfig, bad_content_is_a_bad_request_and_a_missing_file_an_internal_error)
{
    char *path = tu_write(tmp, "k.yaml",
                          "current-context: c\n"
                          "clusters:\n- name: c\n  cluster: {proxy-url: http://p}\n"
                          "contexts:\n- name: c\n  context: {cluster: c}\n");
    kc_load_options opt = {.kubeconfig = path};
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_load(&opt, &cfg, &err), -EINVAL);
    cr_assert_eq(err.code, 400);
    cr_assert_str_eq(err.reason, "BadRequest");
    apierr_clear(&err);
    free(path);

    opt.kubeconfig = "/nonexistent/kubeconfig";
    cr_assert_eq(kc_load(&opt, &cfg, &err), -ENOENT);
    cr_assert_eq(err.code, 500);
    cr_assert_str_eq(err.reason, "InternalError");
    cr_assert_str_eq(err.message,
                     "kubeconfig /nonexistent/kubeconfig: cannot read: No such file or directory");
    apierr_clear(&err);
}
