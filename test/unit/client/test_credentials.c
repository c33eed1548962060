/*
 * Credential sources: static token, tokenFile refresh, exec plugins (caching, expiry, 401
 * invalidation, v1 and v1beta1, environment, argv, errors). Time moves only through the fake
 * clock; the exec plugin is a shell-script fixture that counts its runs in a file.
 */
#include "client/config.h"
#include "common/alloc.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *tmp;
static clk_t *clock_;
static char *count_file; /* the exec plugin's run counter */

static void setup(void)
{
    alloc_install_cjson_hooks();
    tmp = tu_tmpdir();
    clock_ = clk_fake_new(TU_WALL_START_MS);
    unsetenv("KUBECONFIG");
    unsetenv("PLUGIN_SECRET");
}

static void teardown(void)
{
    tu_rmtree(tmp);
    free(tmp);
    free(count_file);
    count_file = NULL;
    clk_fake_free(clock_);
}

TestSuite(credentials, .init = setup, .fini = teardown);

static kc_config *load_ok(const char *path)
{
    kc_load_options opt = {.kubeconfig = path};
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_load(&opt, &cfg, &err), 0, "kc_load: %s", err.message ? err.message : "");
    return cfg;
}

static char *load_err(const char *path)
{
    kc_load_options opt = {.kubeconfig = path};
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_lt(kc_load(&opt, &cfg, &err), 0);
    return tu_take_message(&err);
}

/* The Authorization value now; asserts success. Caller frees. */
static char *auth(kc_config *cfg)
{
    char *value = NULL;
    api_error err = API_ERROR_INIT;
    int rc = kc_credentials_authorization(cfg->creds, clock_, &value, &err);
    cr_assert_eq(rc, 0, "authorization: %s", err.message ? err.message : "");
    cr_assert(!apierr_is_set(&err));
    return value;
}

static void expect_auth(kc_config *cfg, const char *want)
{
    char *got = auth(cfg);
    cr_assert_str_eq(got, want);
    free(got);
}

/* The error message of a failing authorization call. Caller frees. */
static char *auth_err(kc_config *cfg)
{
    char *value = NULL;
    api_error err = API_ERROR_INIT;
    int rc = kc_credentials_authorization(cfg->creds, clock_, &value, &err);
    cr_assert_lt(rc, 0);
    cr_assert_null(value);
    return tu_take_message(&err);
}

/* ---- static token and tokenFile ---- */

Test(credentials, static_token_gives_a_bearer_header)
{
    kc_credentials *c = kc_credentials_new_static("abc");
    char *value = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_credentials_authorization(c, clock_, &value, &err), 0);
    cr_assert_str_eq(value, "Bearer abc");
    free(value);
    kc_credentials_invalidate(c, NULL); /* a static token is never forgotten */
    cr_assert_eq(kc_credentials_authorization(c, clock_, &value, &err), 0);
    cr_assert_str_eq(value, "Bearer abc");
    free(value);
    kc_credentials_free(c);
}

Test(credentials, no_token_gives_no_authorization)
{
    kc_credentials *c = kc_credentials_new_static(NULL);
    char *value = (char *)"x";
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_credentials_authorization(c, clock_, &value, &err), 0);
    cr_assert_null(value);
    unsigned char *cert = (unsigned char *)"x", *key = (unsigned char *)"x";
    size_t cl = 1, kl = 1;
    cr_assert_eq(kc_credentials_client_cert(c, clock_, &cert, &cl, &key, &kl, &err), 0);
    cr_assert_null(cert);
    cr_assert_null(key);
    cr_assert_eq(cl + kl, 0);
    kc_credentials_free(c);
}

static char *token_file_kubeconfig(void)
{
    return tu_write(tmp, "kubeconfig",
                    "current-context: c\n"
                    "clusters:\n- name: c\n  cluster: {server: https://s.example}\n"
                    "users:\n- name: u\n  user: {tokenFile: token, token: ignored-static}\n"
                    "contexts:\n- name: c\n  context: {cluster: c, user: u}\n");
}

Test(credentials, token_file_is_read_on_first_use_and_trimmed)
{
    char *kc = token_file_kubeconfig();
    kc_config *cfg = load_ok(kc); /* the file need not exist yet: read lazily */
    free(tu_write(tmp, "token", "  first-token\n"));
    expect_auth(cfg, "Bearer first-token");
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, token_file_is_not_reread_before_60_seconds)
{
    char *kc = token_file_kubeconfig();
    free(tu_write(tmp, "token", "first-token\n"));
    kc_config *cfg = load_ok(kc);
    expect_auth(cfg, "Bearer first-token");
    free(tu_write(tmp, "token", "second-token\n"));
    clk_fake_advance_ms(clock_, KC_TOKEN_FILE_REFRESH_MS - 1);
    expect_auth(cfg, "Bearer first-token");
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, token_file_is_reread_after_60_seconds)
{
    char *kc = token_file_kubeconfig();
    free(tu_write(tmp, "token", "first-token\n"));
    kc_config *cfg = load_ok(kc);
    expect_auth(cfg, "Bearer first-token");
    free(tu_write(tmp, "token", "second-token\n"));
    clk_fake_advance_ms(clock_, 60000);
    expect_auth(cfg, "Bearer second-token");
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, token_file_is_reread_after_invalidate)
{
    char *kc = token_file_kubeconfig();
    free(tu_write(tmp, "token", "first-token\n"));
    kc_config *cfg = load_ok(kc);
    char *used = auth(cfg);
    free(tu_write(tmp, "token", "second-token\n"));
    kc_credentials_invalidate(cfg->creds, used);
    expect_auth(cfg, "Bearer second-token");
    free(used);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, token_file_keeps_the_last_token_when_a_reread_fails)
{
    char *kc = token_file_kubeconfig();
    char *token = tu_write(tmp, "token", "first-token\n");
    kc_config *cfg = load_ok(kc);
    expect_auth(cfg, "Bearer first-token");
    cr_assert_eq(unlink(token), 0);
    clk_fake_advance_ms(clock_, 60000);
    expect_auth(cfg, "Bearer first-token");
    free(tu_write(tmp, "token", "back-again\n"));
    expect_auth(cfg, "Bearer back-again"); /* retried on the next call, not 60 s later */
    kc_config_free(cfg);
    free(token);
    free(kc);
}

Test(credentials, missing_token_file_is_an_error_naming_it)
{
    char *kc = token_file_kubeconfig();
    kc_config *cfg = load_ok(kc);
    char *err = auth_err(cfg);
    char *want = xasprintf("kubeconfig %s: user \"u\": tokenFile %s/token: cannot read: No such "
                           "file or directory",
                           kc, tmp);
    cr_assert_str_eq(err, want);
    free(want);
    free(err);
    kc_config_free(cfg);
    free(kc);
}

/* ---- exec plugins ---- */

/*
 * Writes a kubeconfig running the plugin fixture (copied next to it and named by a relative
 * path) with the given API version suffix ("v1"/"v1beta1") and extra YAML lines in its env list.
 */
static char *exec_kubeconfig(const char *version, const char *extra_env)
{
    free(tu_copy_fixture(tmp, "exec-plugin.sh", "bin/exec-plugin.sh", 0755));
    free(count_file);
    count_file = xasprintf("%s/count", tmp);
    char *text =
        xasprintf("current-context: c\n"
                  "clusters:\n- name: c\n  cluster:\n    server: https://exec.example:6443/\n"
                  "    certificate-authority-data: Q0EgZGF0YQ==\n"
                  "    tls-server-name: api.exec.example\n"
                  "users:\n- name: u\n  user:\n    exec:\n"
                  "      apiVersion: client.authentication.k8s.io/%s\n"
                  "      command: bin/exec-plugin.sh\n"
                  "      args: [\"two words\", \"$HOME\", \"*\"]\n"
                  "      env:\n"
                  "      - {name: COUNT_FILE, value: \"%s\"}\n"
                  "      - {name: PLUGIN_API_VERSION, value: client.authentication.k8s.io/%s}\n"
                  "      - {name: PLUGIN_SECRET, value: s3cret}\n"
                  "%s"
                  "      installHint: Install the test plugin from the fixtures folder.\n"
                  "      provideClusterInfo: true\n"
                  "      interactiveMode: IfAvailable\n"
                  "contexts:\n- name: c\n  context: {cluster: c, user: u}\n",
                  version, count_file, version, extra_env ? extra_env : "");
    char *path = tu_write(tmp, "kubeconfig", text);
    free(text);
    return path;
}

static int runs(void)
{
    return tu_read_int(count_file);
}

static char *plugin_saw(const char *suffix)
{
    char *path = xasprintf("%s.%s", count_file, suffix);
    char *text = tu_read(path);
    free(path);
    cr_assert_not_null(text, "the plugin did not record %s", suffix);
    return text;
}

#define EXPIRY_ENV "      - {name: PLUGIN_EXPIRY, value: \"2030-01-01T01:00:00Z\"}\n"

Test(credentials, exec_v1_token_is_cached_until_expiry)
{
    char *kc = exec_kubeconfig("v1", EXPIRY_ENV);
    kc_config *cfg = load_ok(kc);
    cr_assert_eq(runs(), 0, "plugins run on demand, not at load");
    expect_auth(cfg, "Bearer run-1");
    clk_fake_advance_ms(clock_, 3600000 - KC_EXEC_EXPIRY_MARGIN_MS - 1);
    expect_auth(cfg, "Bearer run-1");
    cr_assert_eq(runs(), 1);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_reruns_once_expiry_minus_margin_is_reached)
{
    char *kc = exec_kubeconfig("v1", EXPIRY_ENV);
    kc_config *cfg = load_ok(kc);
    expect_auth(cfg, "Bearer run-1");
    clk_fake_advance_ms(clock_, 3600000 - KC_EXEC_EXPIRY_MARGIN_MS);
    expect_auth(cfg, "Bearer run-2");
    cr_assert_eq(runs(), 2);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_reruns_after_invalidate)
{
    char *kc = exec_kubeconfig("v1", EXPIRY_ENV);
    kc_config *cfg = load_ok(kc);
    char *used = auth(cfg);
    kc_credentials_invalidate(cfg->creds, used);
    expect_auth(cfg, "Bearer run-2");
    cr_assert_eq(runs(), 2);
    free(used);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_invalidate_with_an_already_replaced_token_does_not_rerun)
{
    char *kc = exec_kubeconfig("v1", EXPIRY_ENV);
    kc_config *cfg = load_ok(kc);
    char *old = auth(cfg);
    kc_credentials_invalidate(cfg->creds, old); /* first 401 */
    expect_auth(cfg, "Bearer run-2");
    kc_credentials_invalidate(cfg->creds, old); /* a late 401 of a request that used run-1 */
    expect_auth(cfg, "Bearer run-2");
    cr_assert_eq(runs(), 2);
    free(old);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_without_expiry_is_cached_until_invalidated)
{
    char *kc = exec_kubeconfig("v1", NULL);
    kc_config *cfg = load_ok(kc);
    expect_auth(cfg, "Bearer run-1");
    clk_fake_advance_ms(clock_, 365LL * 24 * 3600 * 1000);
    expect_auth(cfg, "Bearer run-1");
    kc_credentials_invalidate(cfg->creds, NULL);
    expect_auth(cfg, "Bearer run-2");
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_v1beta1_is_supported)
{
    char *kc = exec_kubeconfig("v1beta1", EXPIRY_ENV);
    kc_config *cfg = load_ok(kc);
    expect_auth(cfg, "Bearer run-1");
    char *info = plugin_saw("info");
    cr_assert(tu_contains(info, "\"apiVersion\":\"client.authentication.k8s.io/v1beta1\""), "%s",
              info);
    free(info);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_env_is_set_in_the_child_only)
{
    char *kc = exec_kubeconfig("v1", NULL);
    kc_config *cfg = load_ok(kc);
    expect_auth(cfg, "Bearer run-1");
    char *secret = plugin_saw("secret");
    cr_assert_str_eq(secret, "s3cret");
    free(secret);
    cr_assert_null(getenv("PLUGIN_SECRET"));
    cr_assert_null(getenv("KUBERNETES_EXEC_INFO"));
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_plugin_env_overrides_the_parent_environment)
{
    setenv("PLUGIN_SECRET", "from-parent", 1);
    char *kc = exec_kubeconfig("v1", NULL);
    kc_config *cfg = load_ok(kc);
    expect_auth(cfg, "Bearer run-1");
    char *secret = plugin_saw("secret");
    cr_assert_str_eq(secret, "s3cret");
    free(secret);
    cr_assert_str_eq(getenv("PLUGIN_SECRET"), "from-parent");
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_args_are_passed_as_argv_without_a_shell)
{
    char *kc = exec_kubeconfig("v1", NULL);
    kc_config *cfg = load_ok(kc);
    expect_auth(cfg, "Bearer run-1");
    char *args = plugin_saw("args");
    cr_assert_str_eq(args, "3|two words|$HOME|*|");
    free(args);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_info_carries_the_cluster_when_provide_cluster_info_is_set)
{
    char *kc = exec_kubeconfig("v1", NULL);
    kc_config *cfg = load_ok(kc);
    expect_auth(cfg, "Bearer run-1");
    char *info = plugin_saw("info");
    cr_assert_str_eq(info, "{\"apiVersion\":\"client.authentication.k8s.io/v1\","
                           "\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false,"
                           "\"cluster\":{\"server\":\"https://exec.example:6443\","
                           "\"tls-server-name\":\"api.exec.example\","
                           "\"certificate-authority-data\":\"Q0EgZGF0YQ==\"}}}");
    free(info);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_nonzero_exit_is_an_error_with_the_install_hint)
{
    char *kc = exec_kubeconfig("v1", "      - {name: PLUGIN_EXIT, value: \"3\"}\n");
    kc_config *cfg = load_ok(kc);
    char *err = auth_err(cfg);
    char *want = xasprintf("kubeconfig %s: user \"u\": exec plugin \"%s/bin/exec-plugin.sh\": "
                           "exited with status 3; install hint: Install the test plugin from the "
                           "fixtures folder.",
                           kc, tmp);
    cr_assert_str_eq(err, want);
    free(want);
    free(err);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_missing_executable_is_an_error_with_the_install_hint)
{
    char *kc = tu_write(tmp, "kubeconfig",
                        "current-context: c\n"
                        "clusters:\n- name: c\n  cluster: {server: https://s.example}\n"
                        "users:\n- name: u\n  user:\n    exec:\n"
                        "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                        "      command: foo-no-such-plugin-anywhere\n"
                        "      installHint: apt install foo-login\n"
                        "contexts:\n- name: c\n  context: {cluster: c, user: u}\n");
    kc_config *cfg = load_ok(kc);
    char *err = auth_err(cfg);
    cr_assert(tu_contains(err, "exec plugin \"foo-no-such-plugin-anywhere\": executable not "
                               "found; install hint: apt install foo-login"),
              "%s", err);
    free(err);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_reply_with_another_api_version_is_rejected)
{
    char *kc = exec_kubeconfig(
        "v1", "      - {name: PLUGIN_API_VERSION, value: client.authentication.k8s.io/v1beta1}\n");
    /* A repeated env name: the last entry wins (as in Go's os/exec), so the plugin answers
     * v1beta1 to a v1 request. */
    kc_config *cfg = load_ok(kc);
    char *err = auth_err(cfg);
    cr_assert(tu_contains(err, "returned apiVersion \"client.authentication.k8s.io/v1beta1\", but "
                               "the kubeconfig asks for \"client.authentication.k8s.io/v1\""),
              "%s", err);
    free(err);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_large_output_is_read_whole)
{
    char *kc = exec_kubeconfig("v1", "      - {name: PLUGIN_BIG, value: \"300000\"}\n");
    kc_config *cfg = load_ok(kc);
    char *value = auth(cfg);
    cr_assert_eq(strlen(value), strlen("Bearer run-1-") + 300000);
    cr_assert_eq(value[strlen(value) - 1], 'x');
    free(value);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_client_certificate_is_returned_and_refreshed)
{
    char *kc = exec_kubeconfig("v1", "      - {name: PLUGIN_CERT, value: \"yes\"}\n" EXPIRY_ENV);
    kc_config *cfg = load_ok(kc);
    unsigned char *cert, *key;
    size_t cl, kl;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_credentials_client_cert(cfg->creds, clock_, &cert, &cl, &key, &kl, &err), 0);
    cr_assert_eq(cl, 6);
    cr_assert_eq(memcmp(cert, "CERT-1", 6), 0);
    cr_assert_eq(kl, 5);
    cr_assert_eq(memcmp(key, "KEY-1", 5), 0);
    free(cert);
    free(key);
    char *value = auth(cfg);
    cr_assert_null(value, "a certificate-only credential gives no bearer token");
    clk_fake_advance_ms(clock_, 3600000);
    cr_assert_eq(kc_credentials_client_cert(cfg->creds, clock_, &cert, &cl, &key, &kl, &err), 0);
    cr_assert_eq(memcmp(cert, "CERT-2", 6), 0);
    free(cert);
    free(key);
    kc_config_free(cfg);
    free(kc);
}

Test(credentials, exec_v1_without_interactive_mode_is_refused_at_load)
{
    char *kc = tu_write(tmp, "kubeconfig",
                        "current-context: c\n"
                        "clusters:\n- name: c\n  cluster: {server: https://s.example}\n"
                        "users:\n- name: u\n  user:\n    exec:\n"
                        "      apiVersion: client.authentication.k8s.io/v1\n"
                        "      command: aws\n"
                        "contexts:\n- name: c\n  context: {cluster: c, user: u}\n");
    char *err = load_err(kc);
    cr_assert(tu_contains(err, "user \"u\": exec: interactiveMode is required for "
                               "client.authentication.k8s.io/v1"),
              "%s", err);
    free(err);
    free(kc);
}

static void *fetch_in_thread(void *arg)
{
    kc_config *cfg = arg;
    char *value = NULL;
    api_error err = API_ERROR_INIT;
    int rc = kc_credentials_authorization(cfg->creds, clock_, &value, &err);
    apierr_clear(&err);
    return rc == 0 ? value : NULL;
}

Test(credentials, concurrent_callers_share_one_plugin_run)
{
    char *kc = exec_kubeconfig("v1", EXPIRY_ENV);
    kc_config *cfg = load_ok(kc);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, fetch_in_thread, cfg), 0);
    for (int i = 0; i < 4; i++) {
        void *value;
        cr_assert_eq(pthread_join(t[i], &value), 0);
        cr_assert_str_eq(value, "Bearer run-1");
        free(value);
    }
    cr_assert_eq(runs(), 1);
    kc_config_free(cfg);
    free(kc);
}
