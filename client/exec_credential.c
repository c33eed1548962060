/*
 * exec_credential.c - client.authentication.k8s.io exec plugins (v1 and v1beta1).
 *
 * The plugin is started with posix_spawnp: an argv array (no shell, so arguments are never
 * re-split or interpreted) and an envp array built before the spawn, so the plugin's env entries
 * and KUBERNETES_EXEC_INFO exist in the child only; nothing calls setenv() in our process.
 * posix_spawnp is fork+execvp in the form that is safe in a threaded process (glibc uses
 * clone(CLONE_VFORK): no allocation or locking between fork and exec, and exec failures such as
 * ENOENT come back as the return value). stdout is read to EOF into a growable buffer (no cap),
 * stderr is inherited so the plugin's messages reach the user, stdin is /dev/null because we
 * never run plugins interactively.
 */
#include "client/config_internal.h"
#include "common/alloc.h"
#include "common/json.h"
#include "common/sbuf.h"
#include "common/timefmt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
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
        free(spec->env[i].value);
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
    free(r->token);
    free(r->cert);
    free(r->key);
    memset(r, 0, sizeof *r);
}

/* "<where>: exec plugin \"cmd\": " prefix of every message. */
static char *fail(const kc_exec_spec *spec, bool with_hint, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static char *fail(const kc_exec_spec *spec, bool with_hint, const char *fmt, ...)
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
    return sbuf_detach(&sb, NULL);
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

static void free_envp(char **envp)
{
    for (size_t i = 0; envp[i]; i++)
        free(envp[i]);
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
     * SIGPIPE or block SIGTERM in a signal-handling thread; the plugin must not inherit that). */
    if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&fa, fds[1], 1)) == 0 &&
        (rc = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
        (rc = posix_spawnattr_setsigdefault(&attr, &all)) == 0 &&
        (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) ==
            0) {
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

/* Reads fd to EOF. Returns 0 or -errno. */
static int read_all(int fd, sbuf *out)
{
    char buf[8192];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        sbuf_append(out, buf, (size_t)n);
    }
}

static int wait_child(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

int kc_exec_run(const kc_exec_spec *spec, kc_exec_result *out, char **errmsg)
{
    memset(out, 0, sizeof *out);
    *errmsg = NULL;
    pid_t pid;
    int fd;
    int rc = spawn(spec, &pid, &fd);
    if (rc == -ENOENT) {
        *errmsg = fail(spec, true, "executable not found");
        return rc;
    }
    if (rc < 0) {
        *errmsg = fail(spec, true, "cannot start: %s", strerror(-rc));
        return rc;
    }
    sbuf sb = SBUF_INIT;
    int read_rc = read_all(fd, &sb);
    close(fd);
    int status = 0;
    rc = wait_child(pid, &status);
    if (rc == 0 && read_rc < 0)
        rc = read_rc;
    if (rc < 0) {
        *errmsg = fail(spec, false, "reading its output: %s", strerror(-rc));
    } else if (WIFSIGNALED(status)) {
        *errmsg = fail(spec, true, "killed by signal %d", WTERMSIG(status));
        rc = -EIO;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        *errmsg = fail(spec, true, "exited with status %d", WEXITSTATUS(status));
        rc = -EIO;
    } else {
        rc = kc_exec_parse(spec, sb.data ? sb.data : "", sb.len, out, errmsg);
    }
    sbuf_free(&sb);
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
                        char **errmsg)
{
    bool bad = false;
    const char *token = member_string(status, "token", &bad);
    const char *cert = member_string(status, "clientCertificateData", &bad);
    const char *key = member_string(status, "clientKeyData", &bad);
    const char *expiry = member_string(status, "expirationTimestamp", &bad);
    int64_t expiry_s = 0;
    if (bad) {
        *errmsg = fail(spec, false, "status fields must be strings");
        return -EINVAL;
    }
    if (!!cert != !!key) {
        *errmsg = fail(spec, false, "returned only one of clientCertificateData and clientKeyData");
        return -EINVAL;
    }
    if (!token && !cert) {
        *errmsg = fail(spec, false, "returned neither a token nor a client certificate and key");
        return -EINVAL;
    }
    if (expiry && !time_parse_rfc3339(expiry, &expiry_s)) {
        *errmsg = fail(spec, false, "expirationTimestamp \"%s\" is not an RFC 3339 time", expiry);
        return -EINVAL;
    }
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
                  char **errmsg)
{
    memset(out, 0, sizeof *out);
    *errmsg = NULL;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *errmsg = fail(spec, false, "output is not an ExecCredential JSON object");
        return -EINVAL;
    }
    int rc = -EINVAL;
    const char *api_version = json_path_string(root, "apiVersion");
    const char *kind = json_path_string(root, "kind");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (!api_version || strcmp(api_version, spec->api_version) != 0)
        *errmsg =
            fail(spec, false, "returned apiVersion \"%s\", but the kubeconfig asks for \"%s\"",
                 api_version ? api_version : "", spec->api_version);
    else if (!kind || strcmp(kind, "ExecCredential") != 0)
        *errmsg =
            fail(spec, false, "returned kind \"%s\", expected ExecCredential", kind ? kind : "");
    else if (!cJSON_IsObject(status))
        *errmsg = fail(spec, false, "returned no status");
    else
        rc = parse_status(spec, status, out, errmsg);
    cJSON_Delete(root);
    return rc;
}
