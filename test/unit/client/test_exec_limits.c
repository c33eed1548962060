/*
 * Exec credential plugins that misbehave (issue 6 item 7): a plugin that hangs is killed with
 * its process group at the timeout, one that writes too much is cut off, no inherited descriptor
 * reaches a plugin, and a hung refresh never blocks a caller that still has a valid token.
 *
 * Time moves only through the fake clock. The hanging plugin (fixtures/exec-hang.sh) reports
 * that it is running by writing into a FIFO the test reads, and waits on a FIFO the test
 * writes, so no test sleeps or polls to learn where the plugin is.
 */
#include "client/config.h"
#include "common/alloc.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The one timeout value of unit_client's suites (see test_rest_retry.c). */
#define TEST_TIMEOUT_S 180

static char *tmp;
static clk_t *clock_;

static void setup(void)
{
    alloc_install_cjson_hooks();
    tmp = tu_tmpdir();
    clock_ = clk_fake_new(TU_WALL_START_MS);
    unsetenv("KUBECONFIG");
}

/*
 * After a failed assertion a hung plugin may still run, holding the runner's stderr open: kill
 * its process group, but only when that pid still is our plugin.
 */
static void kill_leftover_plugin(void)
{
    char *pid_path = xasprintf("%s/pid", tmp);
    int pid = tu_read_int(pid_path);
    free(pid_path);
    if (pid <= 0)
        return;
    char *cmd_path = xasprintf("/proc/%d/cmdline", pid);
    FILE *f = fopen(cmd_path, "r");
    free(cmd_path);
    if (!f)
        return;
    char cmd[512] = "";
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        cmd[i] = cmd[i] ? cmd[i] : ' ';
    if (strstr(cmd, tmp) && strstr(cmd, "exec-hang.sh"))
        kill(-pid, SIGKILL);
}

static void teardown(void)
{
    kill_leftover_plugin();
    tu_rmtree(tmp);
    free(tmp);
    clk_fake_free(clock_);
}

TestSuite(exec_limits, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);

/* A kubeconfig whose user runs `command` (a path) with the given extra env YAML lines. */
static char *kubeconfig_running(const char *command, const char *env)
{
    char *text = xasprintf("current-context: c\n"
                           "clusters:\n- name: c\n  cluster: {server: https://s.example}\n"
                           "users:\n- name: u\n  user:\n    exec:\n"
                           "      apiVersion: client.authentication.k8s.io/v1\n"
                           "      command: %s\n"
                           "      interactiveMode: Never\n"
                           "      env:\n"
                           "      - {name: DIR, value: \"%s\"}\n"
                           "%s"
                           "contexts:\n- name: c\n  context: {cluster: c, user: u}\n",
                           command, tmp, env ? env : "");
    char *path = tu_write(tmp, "kubeconfig", text);
    free(text);
    return path;
}

/* The hanging plugin with its FIFOs; returns the kubeconfig path. */
static char *hang_kubeconfig(const char *env)
{
    char *plugin = tu_copy_fixture(tmp, "exec-hang.sh", "exec-hang.sh", 0755);
    char *fifo = xasprintf("%s/started", tmp);
    cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
    free(fifo);
    fifo = xasprintf("%s/release", tmp);
    cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
    free(fifo);
    char *kc = kubeconfig_running(plugin, env);
    free(plugin);
    return kc;
}

static kc_config *load_with_timeout(const char *kc, int timeout_ms)
{
    kc_load_options opt = {.kubeconfig = kc, .exec_timeout_ms = timeout_ms};
    kc_config *cfg = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_load(&opt, &cfg, &err), 0, "kc_load: %s", err.message ? err.message : "");
    return cfg;
}

/* Blocks until the plugin writes into the "started" FIFO: it is running and about to hang. */
static void wait_plugin_started(void)
{
    char *fifo = xasprintf("%s/started", tmp);
    FILE *f = fopen(fifo, "r"); /* opening a FIFO for reading waits for its writer */
    cr_assert_not_null(f, "open %s: %s", fifo, strerror(errno));
    char line[32] = "";
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert_str_eq(line, "started\n");
    fclose(f);
    free(fifo);
}

/* Lets a plugin blocked on the "release" FIFO answer. */
static void release_plugin(void)
{
    char *fifo = xasprintf("%s/release", tmp);
    FILE *f = fopen(fifo, "w");
    cr_assert_not_null(f, "open %s: %s", fifo, strerror(errno));
    cr_assert(fputs("go\n", f) >= 0);
    cr_assert_eq(fclose(f), 0);
    free(fifo);
}

static int pid_in(const char *name)
{
    char *path = xasprintf("%s/%s", tmp, name);
    int pid = tu_read_int(path);
    free(path);
    cr_assert_gt(pid, 0, "the plugin did not record %s", name);
    return pid;
}

/* True when pid no longer runs: gone, or a zombie left for init to reap (as killed orphans are). */
static bool not_running(int pid)
{
    char *path = xasprintf("/proc/%d/stat", pid);
    char *stat = tu_read(path);
    free(path);
    if (!stat)
        return true;
    const char *paren = strrchr(stat, ')'); /* "pid (comm) S ..." */
    bool zombie = paren && (paren[2] == 'Z' || paren[2] == 'X');
    free(stat);
    return zombie;
}

/* Waits (at most 10 s) for pid to stop running: SIGKILL to a process group is delivered
   asynchronously, so the killed child may still be on its way out right after the kill. */
static bool stops_running(int pid)
{
    for (int i = 0; i < 1000; i++) {
        if (not_running(pid))
            return true;
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }
    return not_running(pid);
}

typedef struct call_result {
    kc_config *cfg;
    int rc;
    char *value;
    api_error err;
} call_result;

static void *authorize_in_thread(void *arg)
{
    call_result *r = arg;
    r->rc = kc_credentials_authorization(r->cfg->creds, clock_, &r->value, &r->err);
    return NULL;
}

/* ---- (a) timeout ---- */

static void expect_killed_at_timeout(int timeout_ms, int advance_ms)
{
    char *kc = hang_kubeconfig(NULL);
    kc_config *cfg = load_with_timeout(kc, timeout_ms);
    call_result r = {.cfg = cfg};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, authorize_in_thread, &r), 0);
    wait_plugin_started();
    clk_fake_advance_ms(clock_, advance_ms);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(r.rc, -ETIMEDOUT, "rc %d: %s", r.rc, r.err.message ? r.err.message : "");
    cr_assert_null(r.value);
    char *want = xasprintf("kubeconfig %s: user \"u\": exec plugin \"%s/exec-hang.sh\": did not "
                           "finish within %d ms (the timeout); killed",
                           kc, tmp, advance_ms);
    cr_assert_eq(r.err.code, 500);
    cr_assert_str_eq(r.err.message, want);
    /* The plugin was reaped and the child it started was killed with its process group. */
    int pid = pid_in("pid");
    cr_assert_eq(kill(pid, 0), -1, "the plugin %d is still there", pid);
    cr_assert_eq(errno, ESRCH);
    int grandchild = pid_in("grandchild");
    cr_assert(stops_running(grandchild), "the plugin's child %d still runs", grandchild);
    free(want);
    apierr_clear(&r.err);
    kc_config_free(cfg);
    free(kc);
}

Test(exec_limits, hung_plugin_is_killed_with_its_children_at_the_default_timeout)
{
    expect_killed_at_timeout(0, KC_EXEC_TIMEOUT_MS);
}

Test(exec_limits, exec_timeout_ms_overrides_the_default)
{
    expect_killed_at_timeout(1500, 1500);
}

Test(exec_limits, a_timed_out_refresh_is_retried_by_the_next_call)
{
    char *kc = hang_kubeconfig(NULL);
    kc_config *cfg = load_with_timeout(kc, 1000);
    call_result r = {.cfg = cfg};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, authorize_in_thread, &r), 0);
    wait_plugin_started();
    clk_fake_advance_ms(clock_, 1000);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(r.rc, -ETIMEDOUT);
    apierr_clear(&r.err);
    /* The next caller starts a new run: a failure is shared with waiters, never cached. */
    call_result r2 = {.cfg = cfg};
    cr_assert_eq(pthread_create(&t, NULL, authorize_in_thread, &r2), 0);
    wait_plugin_started();
    clk_fake_advance_ms(clock_, 1000);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(r2.rc, -ETIMEDOUT);
    apierr_clear(&r2.err);
    char *count = xasprintf("%s/count", tmp);
    cr_assert_eq(tu_read_int(count), 2);
    free(count);
    kc_config_free(cfg);
    free(kc);
}

/* ---- (b) output cap ---- */

Test(exec_limits, output_over_one_mebibyte_fails_and_the_plugin_is_killed)
{
    char *plugin = tu_copy_fixture(tmp, "exec-plugin.sh", "exec-plugin.sh", 0755);
    char *env = xasprintf("      - {name: COUNT_FILE, value: \"%s/count\"}\n"
                          "      - {name: PLUGIN_API_VERSION, value: "
                          "client.authentication.k8s.io/v1}\n"
                          "      - {name: PLUGIN_BIG, value: \"2097152\"}\n",
                          tmp);
    char *kc = kubeconfig_running(plugin, env);
    kc_config *cfg = load_with_timeout(kc, 0);
    char *value = NULL;
    api_error err = API_ERROR_INIT;
    int rc = kc_credentials_authorization(cfg->creds, clock_, &value, &err);
    cr_assert_eq(rc, -EMSGSIZE, "rc %d: %s", rc, err.message ? err.message : "");
    cr_assert_null(value);
    char *want = xasprintf("kubeconfig %s: user \"u\": exec plugin \"%s\": wrote more than "
                           "1048576 bytes on stdout (the limit); killed",
                           kc, plugin);
    cr_assert_str_eq(err.message, want);
    free(want);
    apierr_clear(&err);
    free(env);
    free(plugin);
    kc_config_free(cfg);
    free(kc);
}

/* ---- (c) descriptors ---- */

Test(exec_limits, plugin_inherits_no_descriptor_but_stdin_stdout_stderr)
{
    /* A descriptor of ours without close-on-exec, as a library might leave one. */
    char *marker = tu_write(tmp, "leak-marker", "secret state\n");
    int fd = open(marker, O_RDONLY);
    cr_assert_geq(fd, 0);
    int high = fcntl(fd, F_DUPFD, 40); /* also one far above the usual range */
    cr_assert_geq(high, 40);
    char *plugin = tu_write(tmp, "list-fds.sh",
                            "#!/bin/sh\n"
                            "ls -l /proc/$$/fd > \"$DIR/fds\"\n"
                            "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
                            "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}'\n");
    cr_assert_eq(chmod(plugin, 0755), 0);
    char *kc = kubeconfig_running(plugin, NULL);
    kc_config *cfg = load_with_timeout(kc, 0);
    char *value = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_credentials_authorization(cfg->creds, clock_, &value, &err), 0, "%s",
                 err.message ? err.message : "");
    cr_assert_str_eq(value, "Bearer t");
    char *fds_path = xasprintf("%s/fds", tmp);
    char *fds = tu_read(fds_path);
    cr_assert_not_null(fds);
    cr_assert(!tu_contains(fds, "leak-marker"), "the plugin inherited our descriptor:\n%s", fds);
    cr_assert(tu_contains(fds, " 0 -> /dev/null"), "stdin is /dev/null:\n%s", fds);
    cr_assert(tu_contains(fds, "-> pipe:"), "stdout is our pipe (the shell moves it):\n%s", fds);
    free(fds);
    free(fds_path);
    free(value);
    close(fd);
    close(high);
    free(marker);
    free(plugin);
    kc_config_free(cfg);
    free(kc);
}

/* ---- (d) no lock held while a plugin runs ---- */

Test(exec_limits, valid_cached_token_is_served_while_a_refresh_hangs)
{
    char *kc = hang_kubeconfig("      - {name: HANG_FROM, value: \"2\"}\n"
                               "      - {name: HANG_MODE, value: release}\n");
    kc_config *cfg = load_with_timeout(kc, 0);
    char *value = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_credentials_authorization(cfg->creds, clock_, &value, &err), 0, "%s",
                 err.message ? err.message : "");
    cr_assert_str_eq(value, "Bearer run-1");
    free(value);
    /* Inside the expiry margin: due for a refresh, but run-1 has not expired yet. */
    clk_fake_advance_ms(clock_, 3600000 - KC_EXEC_EXPIRY_MARGIN_MS);
    call_result refresher = {.cfg = cfg};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, authorize_in_thread, &refresher), 0);
    wait_plugin_started();
    /* The refresh hangs in the plugin; this caller must not wait for it. */
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(kc_credentials_authorization(cfg->creds, clock_, &value, &err), 0);
        cr_assert_str_eq(value, "Bearer run-1");
        free(value);
    }
    release_plugin();
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(refresher.rc, 0, "%s", refresher.err.message ? refresher.err.message : "");
    cr_assert_str_eq(refresher.value, "Bearer run-2");
    free(refresher.value);
    cr_assert_eq(kc_credentials_authorization(cfg->creds, clock_, &value, &err), 0);
    cr_assert_str_eq(value, "Bearer run-2");
    free(value);
    char *count = xasprintf("%s/count", tmp);
    cr_assert_eq(tu_read_int(count), 2, "one refresh for every caller");
    free(count);
    kc_config_free(cfg);
    free(kc);
}

Test(exec_limits, invalidated_token_waits_for_the_one_refresh_and_shares_it)
{
    char *kc = hang_kubeconfig("      - {name: HANG_FROM, value: \"2\"}\n"
                               "      - {name: HANG_MODE, value: release}\n");
    kc_config *cfg = load_with_timeout(kc, 0);
    char *used = NULL;
    api_error err = API_ERROR_INIT;
    cr_assert_eq(kc_credentials_authorization(cfg->creds, clock_, &used, &err), 0);
    kc_credentials_invalidate(cfg->creds, used); /* a 401: run-1 must not be sent again */
    call_result first = {.cfg = cfg}, second = {.cfg = cfg};
    pthread_t t1, t2;
    cr_assert_eq(pthread_create(&t1, NULL, authorize_in_thread, &first), 0);
    wait_plugin_started();
    cr_assert_eq(pthread_create(&t2, NULL, authorize_in_thread, &second), 0);
    release_plugin();
    cr_assert_eq(pthread_join(t1, NULL), 0);
    cr_assert_eq(pthread_join(t2, NULL), 0);
    cr_assert_str_eq(first.value, "Bearer run-2");
    cr_assert_str_eq(second.value, "Bearer run-2", "never the invalidated run-1");
    char *count = xasprintf("%s/count", tmp);
    cr_assert_eq(tu_read_int(count), 2);
    free(count);
    free(first.value);
    free(second.value);
    free(used);
    kc_config_free(cfg);
    free(kc);
}
