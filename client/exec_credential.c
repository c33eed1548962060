/*
 * exec_credential.c - client.authentication.k8s.io exec plugins (v1 and v1beta1).
 *
 * The plugin is started with posix_spawnp: an argv array (no shell, so arguments are never
 * re-split or interpreted) and an envp array built before the spawn, so the plugin's env entries
 * and KUBERNETES_EXEC_INFO exist in the child only; nothing calls setenv() in our process.
 * posix_spawnp is fork+execvp in the form that is safe in a threaded process (glibc uses
 * clone(CLONE_VFORK): no allocation or locking between fork and exec, and exec failures such as
 * ENOENT come back as the return value).
 *
 * The child gets stdin /dev/null (plugins never run interactively here), stdout on a pipe, our
 * stderr (passed through, as kubectl does, so the plugin's messages reach the user; it never
 * passes through our memory, so it needs no cap) and no other descriptor: closefrom(3) in the
 * spawn's file actions (glibc 2.34+), so a plugin cannot hold our sockets, database or pipes
 * open. It runs in its own process group, so a timeout can kill it with everything it started.
 *
 * Bounds: the run has a deadline (spec->timeout_ms, on the caller's clock; kubectl has none, but
 * one hung plugin must not stall the process) and stdout a cap (KC_EXEC_MAX_OUTPUT); passing
 * either kills the process group and reaps the child. The wait polls the stdout pipe and a
 * pidfd of the child (Linux 5.3+; without one the exit is polled every KC_EXEC_POLL_MS), waking
 * at least every KC_EXEC_POLL_MS to check the deadline, so a fake clock moved by a test ends a
 * run promptly. Output is collected in a secret buffer and wiped once parsed.
 */
#include "client/config_internal.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "common/timefmt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void kc_exec_spec_free(kc_exec_spec *spec)
{
    if (!spec)
        return;
    free(spec->api_version);
    free(spec->command);
    for (size_t i = 0; i < spec->nargs; i++)
        free(spec->args[i]);
    free(spec->args);
    for (size_t i = 0; i < spec->nenv; i++) {
        free(spec->env[i].name);
        kc_free_secret_str(spec->env[i].value); /* plugins are often given secrets this way */
    }
    free(spec->env);
    free(spec->install_hint);
    free(spec->interactive_mode);
    free(spec->exec_info);
    free(spec->where);
    free(spec);
}

void kc_exec_result_clear(kc_exec_result *r)
{
    kc_free_secret_str(r->token);
    kc_free_secret(r->cert, r->cert_len);
    kc_free_secret(r->key, r->key_len);
    memset(r, 0, sizeof *r);
}

/* Fills *err (apierr_local) with the "<where>: exec plugin \"cmd\": " prefix of every message, and
   returns rc. */
static int fail(api_error *err, int rc, const kc_exec_spec *spec, bool with_hint, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

static int fail(api_error *err, int rc, const kc_exec_spec *spec, bool with_hint, const char *fmt,
                ...)
{
    sbuf sb = SBUF_INIT;
    if (spec->where)
        sbuf_printf(&sb, "%s: ", spec->where);
    sbuf_printf(&sb, "exec plugin \"%s\": ", spec->command);
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&sb, fmt, ap);
    va_end(ap);
    if (with_hint && spec->install_hint)
        sbuf_printf(&sb, "; install hint: %s", spec->install_hint);
    char *msg = sbuf_detach(&sb, NULL);
    apierr_local(err, rc, "%s", msg);
    free(msg);
    return rc;
}

static char **build_argv(const kc_exec_spec *spec)
{
    char **argv = xcalloc(spec->nargs + 2, sizeof *argv);
    argv[0] = spec->command;
    for (size_t i = 0; i < spec->nargs; i++)
        argv[i + 1] = spec->args[i];
    return argv;
}

/* True when the environment entry "NAME=..." is replaced by the plugin's env or by ours. */
static bool env_overridden(const kc_exec_spec *spec, const char *entry)
{
    size_t n = strcspn(entry, "=");
    static const char info[] = "KUBERNETES_EXEC_INFO";
    if (n == sizeof info - 1 && memcmp(entry, info, n) == 0)
        return true;
    for (size_t i = 0; i < spec->nenv; i++) {
        if (strlen(spec->env[i].name) == n && memcmp(entry, spec->env[i].name, n) == 0)
            return true;
    }
    return false;
}

/* A repeated name in the plugin's env: the last entry wins, as with Go's os/exec. */
static bool env_repeated_later(const kc_exec_spec *spec, size_t i)
{
    for (size_t j = i + 1; j < spec->nenv; j++) {
        if (strcmp(spec->env[i].name, spec->env[j].name) == 0)
            return true;
    }
    return false;
}

/*
 * The child's environment: ours minus overridden names, then the plugin's env, then
 * KUBERNETES_EXEC_INFO. Every string is malloc'd (environ may change under other threads).
 */
static char **build_envp(const kc_exec_spec *spec)
{
    size_t nparent = 0;
    while (environ && environ[nparent])
        nparent++;
    char **envp = xcalloc(nparent + spec->nenv + 2, sizeof *envp);
    size_t n = 0;
    for (size_t i = 0; i < nparent; i++) {
        if (!env_overridden(spec, environ[i]))
            envp[n++] = xstrdup(environ[i]);
    }
    for (size_t i = 0; i < spec->nenv; i++) {
        if (!env_repeated_later(spec, i))
            envp[n++] = xasprintf("%s=%s", spec->env[i].name, spec->env[i].value);
    }
    if (spec->exec_info)
        envp[n++] = xasprintf("KUBERNETES_EXEC_INFO=%s", spec->exec_info);
    else
        envp[n++] = xasprintf("KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":"
                              "\"ExecCredential\",\"spec\":{\"interactive\":false}}",
                              spec->api_version);
    return envp;
}

/* Wiped: the environment may carry secrets (the plugin's env list, or ours). */
static void free_envp(char **envp)
{
    for (size_t i = 0; envp[i]; i++)
        kc_free_secret_str(envp[i]);
    free(envp);
}

/* Starts the plugin with stdout on a pipe; returns 0 with *pid and *out_fd, or a -errno. */
static int spawn(const kc_exec_spec *spec, pid_t *pid, int *out_fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0 && (rc = posix_spawnattr_init(&attr)) != 0)
        posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        close(fds[0]);
        close(fds[1]);
        return -rc;
    }
    /* The child starts with no blocked signals and default dispositions (we may ignore
     * SIGPIPE or block SIGTERM in a signal-handling thread; the plugin must not inherit that),
     * in a new process group (pgid = its pid) that a timeout kills whole. */
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP;
    if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&fa, fds[1], 1)) == 0 &&
        (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
        (rc = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
        (rc = posix_spawnattr_setsigdefault(&attr, &all)) == 0 &&
        (rc = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
        (rc = posix_spawnattr_setflags(&attr, flags)) == 0) {
        char **argv = build_argv(spec);
        char **envp = build_envp(spec);
        rc = posix_spawnp(pid, spec->command, &fa, &attr, argv, envp);
        free(argv);
        free_envp(envp);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -rc;
    }
    *out_fd = fds[0];
    return 0;
}

/* One plugin run in progress. */
typedef struct exec_run {
    pid_t pid;
    int out_fd;  /* stdout pipe; -1 once at EOF */
    int pid_fd;  /* readable when the child exits; -1 when pidfds are unavailable */
    bool reaped; /* waitpid() collected the child; status is valid */
    int status;
    kc_secret_buf out;
} exec_run;

/* Collects the child if it has exited (block = wait for it). Returns 0 or -errno. */
static int reap(exec_run *r, bool block)
{
    if (r->reaped)
        return 0;
    for (;;) {
        pid_t got = waitpid(r->pid, &r->status, block ? 0 : WNOHANG);
        if (got == r->pid) {
            r->reaped = true;
            return 0;
        }
        if (got == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

/* Kills the plugin's process group (it and whatever it started) and reaps the plugin. */
static void kill_and_reap(exec_run *r)
{
    /* The group outlives a reaped leader while a member lives, so this still reaches a
     * grandchild that holds stdout open; ESRCH (nobody left) is fine. */
    kill(-r->pid, SIGKILL);
    if (reap(r, true) < 0)
        log_error("exec plugin: waitpid(%d): %s", (int)r->pid, strerror(errno));
}

/* Reads what stdout has (poll said it is readable). Returns 0, or -EMSGSIZE past the cap. */
static int read_some(exec_run *r)
{
    char buf[8192];
    ssize_t n;
    do {
        n = read(r->out_fd, buf, sizeof buf);
    } while (n < 0 && errno == EINTR);
    int rc = 0;
    if (n < 0)
        rc = -errno;
    else if (n > 0 && !kc_secret_buf_append(&r->out, buf, (size_t)n, KC_EXEC_MAX_OUTPUT))
        rc = -EMSGSIZE;
    OPENSSL_cleanse(buf, sizeof buf);
    if (n == 0) {
        close(r->out_fd);
        r->out_fd = -1;
    }
    return rc;
}

/* Milliseconds to wait in poll(): until the deadline, at most KC_EXEC_POLL_MS. */
static int poll_ms(clk_t *clock, uint64_t deadline_ns)
{
    uint64_t now = clk_mono_ns(clock);
    uint64_t left_ms =
        now >= deadline_ns ? 0 : (deadline_ns - now + CLK_NS_PER_MS - 1) / CLK_NS_PER_MS;
    return left_ms < KC_EXEC_POLL_MS ? (int)left_ms : KC_EXEC_POLL_MS;
}

/*
 * Waits until the child has exited and stdout is at EOF, reading stdout as it comes.
 * Returns 0, -ETIMEDOUT (deadline), -EMSGSIZE (cap) or another -errno; on any failure the
 * process group has been killed and the child reaped.
 */
static int wait_run(exec_run *r, clk_t *clock, uint64_t deadline_ns)
{
    int rc = 0;
    while (rc == 0 && !(r->reaped && r->out_fd < 0)) {
        if (clk_mono_ns(clock) >= deadline_ns) {
            rc = -ETIMEDOUT;
            break;
        }
        struct pollfd p[2];
        nfds_t n = 0;
        if (r->out_fd >= 0)
            p[n++] = (struct pollfd){.fd = r->out_fd, .events = POLLIN};
        if (r->pid_fd >= 0 && !r->reaped)
            p[n++] = (struct pollfd){.fd = r->pid_fd, .events = POLLIN};
        int ready = poll(p, n, poll_ms(clock, deadline_ns));
        if (ready < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        if (ready > 0 && r->out_fd >= 0 && p[0].revents)
            rc = read_some(r);
        /* With a pidfd, waitpid only once it says so; without, at every wake-up. */
        bool exited = r->pid_fd < 0;
        for (nfds_t i = 0; i < n; i++)
            exited = exited || (p[i].fd == r->pid_fd && p[i].revents);
        if (rc == 0 && exited)
            rc = reap(r, false);
    }
    if (rc != 0)
        kill_and_reap(r);
    return rc;
}

/* Fills *err for a run that ended without output to parse (rc 0: it failed) and returns the
   run's code (-EIO for a failed exit or a signal). */
static int run_failure(const kc_exec_spec *spec, int rc, const exec_run *r, int timeout_ms,
                       api_error *err)
{
    switch (rc) {
    case -ETIMEDOUT:
        return fail(err, rc, spec, false, "did not finish within %d ms (the timeout); killed",
                    timeout_ms);
    case -EMSGSIZE:
        return fail(err, rc, spec, false, "wrote more than %d bytes on stdout (the limit); killed",
                    KC_EXEC_MAX_OUTPUT);
    case 0:
        break;
    default:
        return fail(err, rc, spec, false, "reading its output: %s", strerror(-rc));
    }
    if (WIFSIGNALED(r->status))
        return fail(err, -EIO, spec, true, "killed by signal %d", WTERMSIG(r->status));
    return fail(err, -EIO, spec, true, "exited with status %d", WEXITSTATUS(r->status));
}

int kc_exec_run(const kc_exec_spec *spec, clk_t *clock, kc_exec_result *out, api_error *err)
{
    memset(out, 0, sizeof *out);
    int timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : KC_EXEC_TIMEOUT_MS;
    uint64_t deadline_ns = clk_mono_ns(clock) + (uint64_t)timeout_ms * CLK_NS_PER_MS;
    exec_run r = {.pid_fd = -1};
    int rc = spawn(spec, &r.pid, &r.out_fd);
    if (rc == -ENOENT)
        return fail(err, rc, spec, true, "executable not found");
    if (rc < 0)
        return fail(err, rc, spec, true, "cannot start: %s", strerror(-rc));
    r.pid_fd = pidfd_open(r.pid, 0); /* O_CLOEXEC by definition; -1: poll waitpid instead */
    rc = wait_run(&r, clock, deadline_ns);
    if (r.out_fd >= 0)
        close(r.out_fd);
    if (r.pid_fd >= 0)
        close(r.pid_fd);
    if (rc == 0 && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) {
        const char *text = r.out.data ? (const char *)r.out.data : "";
        rc = kc_exec_parse(spec, text, r.out.len, out, err);
    } else {
        rc = run_failure(spec, rc, &r, timeout_ms, err);
    }
    kc_secret_buf_free(&r.out);
    return rc;
}

/* The string member `key` of obj; NULL when absent, null or empty; -1 via *bad if not a string. */
static const char *member_string(const cJSON *obj, const char *key, bool *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v)) {
        *bad = true;
        return NULL;
    }
    return v->valuestring[0] ? v->valuestring : NULL;
}

static int parse_status(const kc_exec_spec *spec, const cJSON *status, kc_exec_result *out,
                        api_error *err)
{
    bool bad = false;
    const char *token = member_string(status, "token", &bad);
    const char *cert = member_string(status, "clientCertificateData", &bad);
    const char *key = member_string(status, "clientKeyData", &bad);
    const char *expiry = member_string(status, "expirationTimestamp", &bad);
    int64_t expiry_s = 0;
    if (bad)
        return fail(err, -EINVAL, spec, false, "status fields must be strings");
    if (!!cert != !!key)
        return fail(err, -EINVAL, spec, false,
                    "returned only one of clientCertificateData and clientKeyData");
    if (!token && !cert)
        return fail(err, -EINVAL, spec, false,
                    "returned neither a token nor a client certificate and key");
    if (expiry && !time_parse_rfc3339(expiry, &expiry_s))
        return fail(err, -EINVAL, spec, false, "expirationTimestamp \"%s\" is not an RFC 3339 time",
                    expiry);
    /* Copies, because the parsed tree is wiped on return. */
    out->token = token ? xstrdup(token) : NULL;
    if (cert) {
        out->cert_len = strlen(cert);
        out->cert = (unsigned char *)xstrdup(cert);
        out->key_len = strlen(key);
        out->key = (unsigned char *)xstrdup(key);
    }
    out->expiry_ms = expiry ? expiry_s * 1000 : 0;
    return 0;
}

int kc_exec_parse(const kc_exec_spec *spec, const char *json, size_t len, kc_exec_result *out,
                  api_error *err)
{
    memset(out, 0, sizeof *out);
    cJSON *root = json_parse_body(json, len, NULL, NULL);
    if (!root || !cJSON_IsObject(root)) {
        kc_json_free_secret(root);
        return fail(err, -EINVAL, spec, false, "output is not an ExecCredential JSON object");
    }
    int rc;
    const char *api_version = json_path_string(root, "apiVersion");
    const char *kind = json_path_string(root, "kind");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (!api_version || strcmp(api_version, spec->api_version) != 0)
        rc = fail(err, -EINVAL, spec, false,
                  "returned apiVersion \"%s\", but the kubeconfig asks for \"%s\"",
                  api_version ? api_version : "", spec->api_version);
    else if (!kind || strcmp(kind, "ExecCredential") != 0)
        rc = fail(err, -EINVAL, spec, false, "returned kind \"%s\", expected ExecCredential",
                  kind ? kind : "");
    else if (!cJSON_IsObject(status))
        rc = fail(err, -EINVAL, spec, false, "returned no status");
    else
        rc = parse_status(spec, status, out, err);
    kc_json_free_secret(root);
    return rc;
}
