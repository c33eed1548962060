/*
 * manager_options.c - the controller-manager's options: defaults, flags (docs/design.md §3) and
 * their checks (manager.h).
 */
#include "controllers/manager.h"

#include "client/config.h"
#include "common/alloc.h"
#include "common/flags.h"
#include "controllers/httpd.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRAM "foo-controller-manager"

mgr_options mgr_options_defaults(void)
{
    return (mgr_options){
        .workers = MGR_DEFAULT_WORKERS,
        .leader_elect = false,
        .metrics_bind_address = MGR_DEFAULT_METRICS_ADDRESS,
        .health_probe_bind_address = MGR_DEFAULT_PROBE_ADDRESS,
        .qps = 0, /* no client-side limit, as controller-runtime (the server's fairness rules) */
        .burst = 0,
        .watch_transport = MGR_DEFAULT_WATCH_TRANSPORT,
        .shutdown_timeout_ms = MGR_DEFAULT_SHUTDOWN_TIMEOUT_MS,
    };
}

static bool valid_address(const char *address)
{
    char *host = NULL, *port = NULL;
    int rc = httpd_split_address(address, &host, &port);
    free(host);
    free(port);
    return rc >= 0;
}

/* Each bad value is a 400 BadRequest naming the flag (docs/design.md §4.8). */
int mgr_options_check(const mgr_options *o, api_error *err)
{
    if (o->workers < 1 || o->workers > MGR_MAX_WORKERS) {
        apierr_bad_request(err, "--workers %d: must be between 1 and %d", o->workers,
                           MGR_MAX_WORKERS);
        return -EINVAL;
    }
    if (!isfinite(o->qps) || o->qps < 0) {
        apierr_bad_request(err, "--qps %g: must be 0 (no limit) or more", o->qps);
        return -EINVAL;
    }
    if (o->burst < 0) {
        apierr_bad_request(err, "--burst %d: must be 0 or more", o->burst);
        return -EINVAL;
    }
    if (!valid_address(o->metrics_bind_address)) {
        apierr_bad_request(err,
                           "--metrics-bind-address \"%s\": want [HOST]:PORT, or 0 to turn it off",
                           o->metrics_bind_address ? o->metrics_bind_address : "");
        return -EINVAL;
    }
    if (!valid_address(o->health_probe_bind_address)) {
        apierr_bad_request(
            err, "--health-probe-bind-address \"%s\": want [HOST]:PORT, or 0 to turn it off",
            o->health_probe_bind_address ? o->health_probe_bind_address : "");
        return -EINVAL;
    }
    if (o->leader_elect_namespace && !*o->leader_elect_namespace) {
        apierr_bad_request(err, "--leader-elect-namespace: must not be empty");
        return -EINVAL;
    }
    const char *t = o->watch_transport ? o->watch_transport : "";
    if (strcmp(t, "http") && strcmp(t, "websocket")) {
        apierr_bad_request(err, "--watch-transport \"%s\": unknown (want http or websocket)", t);
        return -EINVAL;
    }
    return 0;
}

/* A whole decimal number, nothing before or after it ("1e3" and "2.5" are fine, "" and "5x" not).
 */
static bool parse_double(const char *s, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

int mgr_parse_flags(int argc, char **argv, mgr_options *o)
{
    const char *qps = NULL;
    const flag_def flags[] = {
        {"kubeconfig", FLAG_STRING, &o->kubeconfig,
         "kubeconfig file (default: $KUBECONFIG, else in-cluster, else ~/.kube/config)"},
        {"context", FLAG_STRING, &o->context, "kubeconfig context (default: the current one)"},
        {"workers", FLAG_INT, &o->workers, "reconciles run at once, per controller (default 2)"},
        {"leader-elect", FLAG_BOOL, &o->leader_elect,
         "elect one active manager on the Lease foo-controller-manager (15 s / 10 s / 2 s)"},
        {"leader-elect-namespace", FLAG_STRING, &o->leader_elect_namespace,
         "namespace of the Lease (default: the pod's namespace, else default)"},
        {"metrics-bind-address", FLAG_STRING, &o->metrics_bind_address,
         "address of /metrics, [HOST]:PORT, 0 = off (default :8080)"},
        {"health-probe-bind-address", FLAG_STRING, &o->health_probe_bind_address,
         "address of /healthz and /readyz, [HOST]:PORT, 0 = off (default :8081)"},
        {"qps", FLAG_STRING, &qps, "client-side requests per second (default 0: no limit)"},
        {"burst", FLAG_INT, &o->burst, "client-side burst with --qps (default 0)"},
        {"watch-transport", FLAG_STRING, &o->watch_transport,
         "how watches are read: http (chunked, one transfer each) or websocket (all on one "
         "event loop); LISTs use HTTP either way (default http)"},
        {"simulate-deployments", FLAG_BOOL, &o->simulate_deployments,
         "play the cluster's part for Deployment status (for the standalone server; like kwok)"},
        {"v", FLAG_INT, &o->verbosity, "log verbosity"},
    };
    int rc = flags_parse(argc, argv, flags, (int)(sizeof flags / sizeof flags[0]), PROGRAM);
    if (rc != 0)
        return rc;
    if (qps && !parse_double(qps, &o->qps)) {
        fprintf(stderr, "%s: bad value %s for flag --qps\n", PROGRAM, qps);
        return -1;
    }
    api_error err = API_ERROR_INIT;
    if (mgr_options_check(o, &err) != 0) {
        fprintf(stderr, "%s: %s\n", PROGRAM, err.message);
        apierr_clear(&err);
        return -1;
    }
    return 0;
}

char *mgr_default_lease_namespace(const char *incluster_dir)
{
    char *path = xasprintf("%s/namespace", incluster_dir ? incluster_dir : KC_INCLUSTER_DIR);
    FILE *f = fopen(path, "r");
    free(path);
    char buf[256] = "";
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    char *s = buf;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return xstrdup(n ? s : KC_DEFAULT_NAMESPACE);
}
