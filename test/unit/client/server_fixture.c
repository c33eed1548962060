/*
 * server_fixture.c - runs the real foo-apiserver for integration tests (server_fixture.h).
 */
#include "server_fixture.h"
#include "common/alloc.h"
#include "common/curl_lib.h" /* libcurl, loaded on first use */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SF_START_ATTEMPTS 5
#define SF_POLL_MS        20

static void sf_pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long sf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A port the kernel considers free right now (bind to 0, read it back, close). */
static int sf_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int sf_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

static void sf_rmtree(const char *dir)
{
    if (nftw(dir, sf_rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "server_fixture: cannot remove %s: %s\n", dir, strerror(errno));
}

static void sf_print_log(const sf_server *s)
{
    char *path = xasprintf("%s/apiserver.log", s->data_dir);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return;
    char line[1024];
    fprintf(stderr, "---- foo-apiserver log ----\n");
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

/* argv for the server; the strings are borrowed from s except the port. */
static char **sf_argv(const sf_server *s, char *port)
{
    size_t nextra = 0;
    while (s->extra && s->extra[nextra])
        nextra++;
    char **argv = xcalloc(10 + nextra, sizeof *argv);
    size_t i = 0;
    argv[i++] = s->binary;
    argv[i++] = "--standalone";
    argv[i++] = "--data-dir";
    argv[i++] = s->data_dir;
    argv[i++] = "--secure-port";
    argv[i++] = port;
    argv[i++] = "--bind-address";
    argv[i++] = "127.0.0.1";
    for (size_t k = 0; k < nextra; k++)
        argv[i++] = s->extra[k];
    argv[i] = NULL;
    return argv;
}

static int sf_spawn(sf_server *s)
{
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    char *log = xasprintf("%s/apiserver.log", s->data_dir);
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    free(log);
    if (logfd < 0) {
        fprintf(stderr, "server_fixture: cannot open the log: %s\n", strerror(errno));
        return -1;
    }
    char **argv = sf_argv(s, port);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(126);
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    int err = errno;
    free(argv);
    close(logfd);
    if (pid < 0) {
        fprintf(stderr, "server_fixture: fork: %s\n", strerror(err));
        return -1;
    }
    s->pid = pid;
    return 0;
}

static size_t sf_discard(char *p, size_t size, size_t n, void *userp)
{
    (void)p;
    (void)userp;
    return size * n;
}

/* One /readyz probe: true on a 200. */
static bool sf_probe(const sf_server *s)
{
    CURL *h = curl_easy_init();
    if (!h)
        return false;
    char *url = xasprintf("%s/readyz", s->url);
    long code = 0;
    /* Readiness only: the client under test verifies the certificate, the probe need not. */
    bool ok = curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sf_discard) == CURLE_OK &&
              curl_easy_perform(h) == CURLE_OK &&
              curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200;
    curl_easy_cleanup(h);
    free(url);
    return ok;
}

/* Waits for /readyz. 0 when ready; -1 when the server exited (reaped) or the deadline passed. */
static int sf_wait_ready(sf_server *s)
{
    long deadline = sf_now_ms() + SF_READY_TIMEOUT_MS;
    while (sf_now_ms() < deadline) {
        int status;
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid || (r < 0 && errno != EINTR)) {
            s->pid = 0;
            return -1;
        }
        if (sf_probe(s))
            return 0;
        sf_pause_ms(SF_POLL_MS);
    }
    fprintf(stderr, "server_fixture: /readyz not ready after %d ms\n", SF_READY_TIMEOUT_MS);
    sf_kill(s);
    return -1;
}

/* $FOO_APISERVER, else ./foo-apiserver, else foo-apiserver beside the test executable. */
static char *sf_binary(void)
{
    const char *env = getenv("FOO_APISERVER");
    if (env && *env)
        return xstrdup(env);
    char dir[4096];
    if (getcwd(dir, sizeof dir)) {
        char *path = xasprintf("%s/foo-apiserver", dir);
        if (access(path, X_OK) == 0)
            return path;
        free(path);
    }
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0)
        return NULL;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    return xasprintf("%s/foo-apiserver", dir);
}

static void sf_free_fields(sf_server *s)
{
    for (size_t i = 0; s->extra && s->extra[i]; i++)
        free(s->extra[i]);
    free(s->extra);
    free(s->data_dir);
    free(s->kubeconfig);
    free(s->url);
    free(s->binary);
    memset(s, 0, sizeof *s);
}

static void sf_set_port(sf_server *s, int port)
{
    s->port = port;
    free(s->url);
    s->url = xasprintf("https://127.0.0.1:%d", port);
}

int sf_start(sf_server *s, const char *const *extra_args)
{
    memset(s, 0, sizeof *s);
    s->binary = sf_binary();
    if (!s->binary || access(s->binary, X_OK) != 0) {
        fprintf(stderr,
                "server_fixture: no foo-apiserver at %s (set FOO_APISERVER or run from "
                "the build directory)\n",
                s->binary ? s->binary : "(cwd unknown)");
        sf_free_fields(s);
        return -1;
    }
    size_t n = 0;
    while (extra_args && extra_args[n])
        n++;
    s->extra = xcalloc(n + 1, sizeof *s->extra);
    for (size_t i = 0; i < n; i++)
        s->extra[i] = xstrdup(extra_args[i]);
    s->data_dir = xstrdup("/tmp/foo-apiserver-test-XXXXXX");
    if (!mkdtemp(s->data_dir)) {
        fprintf(stderr, "server_fixture: mkdtemp: %s\n", strerror(errno));
        sf_free_fields(s);
        return -1;
    }
    s->kubeconfig = xasprintf("%s/kubeconfig", s->data_dir);
    for (int attempt = 0; attempt < SF_START_ATTEMPTS; attempt++) {
        int port = sf_free_port();
        if (port <= 0)
            continue;
        sf_set_port(s, port);
        if (sf_spawn(s) == 0 && sf_wait_ready(s) == 0)
            return 0;
    }
    fprintf(stderr, "server_fixture: foo-apiserver did not start\n");
    sf_print_log(s);
    sf_rmtree(s->data_dir);
    sf_free_fields(s);
    return -1;
}

int sf_restart(sf_server *s)
{
    if (s->pid != 0 || !s->data_dir)
        return -1;
    /* The old socket may linger briefly after kill -9; retry on the same port. */
    for (int attempt = 0; attempt < SF_START_ATTEMPTS; attempt++) {
        if (sf_spawn(s) == 0 && sf_wait_ready(s) == 0)
            return 0;
        sf_pause_ms(200);
    }
    sf_print_log(s);
    return -1;
}

int sf_kill(sf_server *s)
{
    if (s->pid <= 0)
        return -1;
    int status;
    kill(s->pid, SIGKILL);
    pid_t r;
    while ((r = waitpid(s->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    s->pid = 0;
    return r < 0 ? -1 : 0;
}

/* SIGTERM, then wait with a deadline. The exit status, or -1 when it had to be killed. */
static int sf_terminate(sf_server *s)
{
    kill(s->pid, SIGTERM);
    long deadline = sf_now_ms() + SF_STOP_TIMEOUT_MS;
    while (sf_now_ms() < deadline) {
        int status;
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid) {
            s->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        if (r < 0 && errno != EINTR) {
            s->pid = 0;
            return -1;
        }
        sf_pause_ms(10);
    }
    fprintf(stderr, "server_fixture: foo-apiserver ignored SIGTERM; killing it\n");
    sf_kill(s);
    return -1;
}

int sf_stop(sf_server *s)
{
    if (!s || !s->data_dir)
        return -1;
    int rc = s->pid > 0 ? sf_terminate(s) : 0;
    if (rc != 0)
        sf_print_log(s);
    sf_rmtree(s->data_dir);
    sf_free_fields(s);
    return rc;
}
