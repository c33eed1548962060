/*
 * server_fixture.h - runs the real foo-apiserver for integration tests (client, informer, TSan
 * drivers): `foo-apiserver --standalone --data-dir <mkdtemp> --secure-port <free port>
 * --bind-address 127.0.0.1 [extra flags]`, waiting for /readyz.
 *
 * The binary is $FOO_APISERVER when set, else ./foo-apiserver (ctest runs the tests from the
 * build directory, where CMake puts foo-apiserver), else foo-apiserver in the directory of the
 * test executable itself (for runners that start BUILD/unit_* from elsewhere).
 * The server's stdout and stderr go to DATA/apiserver.log (printed when it fails to start).
 * The child gets PR_SET_PDEATHSIG(SIGKILL), so a crashed test leaves no server behind; start it
 * from the thread that will outlive it (the test's main thread).
 *
 * Reuse: another test folder includes "../client/server_fixture.h" and compiles the fixture
 * through a one-line source of its own (`#include "../client/server_fixture.c"`, since CMake
 * globs each test folder); a TSan driver may #include the .c file directly. It needs only
 * libc, libcurl (for the readiness probe) and common/alloc. Errors are returned, not asserted,
 * so it works outside Criterion. Not thread-safe: one owner per sf_server.
 */
#ifndef FOO_TEST_CLIENT_SERVER_FIXTURE_H
#define FOO_TEST_CLIENT_SERVER_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

/* How long sf_start/sf_restart wait for /readyz, and sf_stop for the exit after SIGTERM. */
#define SF_READY_TIMEOUT_MS 20000
#define SF_STOP_TIMEOUT_MS  10000

typedef struct sf_server {
    pid_t pid;        /* 0 when not running */
    int port;         /* the secure port on 127.0.0.1 */
    char *data_dir;   /* the mkdtemp'd --data-dir; removed by sf_stop */
    char *kubeconfig; /* DATA/kubeconfig written by the server (admin client certificate) */
    char *url;        /* "https://127.0.0.1:PORT" */
    char *binary;
    char **extra; /* copies of the extra flags, NULL-terminated */
} sf_server;

/*
 * Starts a server with a fresh data directory and a free port (retried on a few ports if the
 * server exits early, e.g. because another test took the port). extra_args: more flags,
 * NULL-terminated, or NULL. Returns 0 once /readyz answers 200, else -1 with a message on
 * stderr and everything cleaned up.
 */
int sf_start(sf_server *s, const char *const *extra_args);

/* SIGTERM, waits for the exit (SIGKILL after SF_STOP_TIMEOUT_MS), removes the data directory,
 * frees. Returns the exit status (0 = clean), or -1 if it had to be killed. NULL-safe. */
int sf_stop(sf_server *s);

/* kill -9 and reap; the data directory and port are kept for sf_restart. Returns 0 or -1. */
int sf_kill(sf_server *s);

/* Starts the server again on the same data directory and port; waits for /readyz. 0 or -1. */
int sf_restart(sf_server *s);

#endif
