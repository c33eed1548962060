/*
 * foo-apiserver: flags, signals and wiring only; the server lives in apiserver/.
 */
#include "apiserver/apiserver.h"
#include "common/alloc.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/timefmt.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void stop_server(void *srv)
{
    as_stop(srv);
}

/*
 * --etcd-compaction-interval: a Go duration as kube takes it ("5m", "1h30m", "0"); a non-zero
 * interval under a second counts as one second (etcd compacts by revision, not finer than that).
 * Returns 0, or -1 after telling the user what is wrong.
 */
static int parse_compaction(const char *text, int *seconds)
{
    int64_t ms = 0;
    if (!time_parse_go_duration(text, &ms) || ms / 1000 > INT_MAX) {
        fprintf(stderr,
                "foo-apiserver: invalid --etcd-compaction-interval \"%s\": want a duration "
                "such as 5m, 1h or 0 (off)\n",
                text);
        return -1;
    }
    *seconds = (int)((ms + 999) / 1000);
    return 0;
}

/*
 * --request-timeout: a Go duration ("60s", "1m"), at least a millisecond. Returns 0, or -1 after
 * telling the user what is wrong.
 */
static int parse_request_timeout(const char *text, int64_t *ms)
{
    if (!time_parse_go_duration(text, ms) || *ms <= 0) {
        fprintf(stderr,
                "foo-apiserver: invalid --request-timeout \"%s\": want a positive duration such "
                "as 60s or 1m\n",
                text);
        return -1;
    }
    return 0;
}

/* The cache TTL flags of delegated authentication: Go durations, 0 allowed (no caching).
   Returns 0, or -1 after telling the user what is wrong. */
static int parse_ttl(const char *flag, const char *text, int64_t *ms)
{
    if (!text)
        return 0;
    if (!time_parse_go_duration(text, ms) || *ms < 0) {
        fprintf(stderr, "foo-apiserver: invalid --%s \"%s\": want a duration such as 10s or 2m\n",
                flag, text);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* Everything this process creates (SQLite file and journals, keys, kubeconfig) is its
       own: 0600 files and 0700 directories unless a file asks for more. */
    umask(077);
    alloc_install_cjson_hooks();
    as_options o = as_defaults();
    int verbosity = 0;
    const char *compaction = NULL;
    const char *request_timeout = NULL;
    const char *token_ttl = NULL, *authorized_ttl = NULL, *unauthorized_ttl = NULL;
    const flag_def flags[] = {
        {"standalone", FLAG_BOOL, &o.standalone,
         "run without kube-apiserver: own CA, client-certificate users, DATA/kubeconfig"},
        {"data-dir", FLAG_STRING, &o.data_dir, "standalone state and the SQLite file"},
        {"secure-port", FLAG_INT, &o.secure_port, "HTTPS port"},
        {"bind-address", FLAG_STRING, &o.bind_address, "IP address to listen on"},
        {"tls-cert-file", FLAG_STRING, &o.tls_cert_file, "serving certificate (PEM)"},
        {"tls-private-key-file", FLAG_STRING, &o.tls_key_file, "serving key (PEM)"},
        {"client-ca-file", FLAG_STRING, &o.client_ca_file, "CA bundle for client certificates"},
        {"token-auth-file", FLAG_STRING, &o.token_auth_file,
         "static bearer tokens, CSV: token,user,uid,\"group1,group2\""},
        {"storage", FLAG_STRING, &o.storage,
         "storage backend: sqlite (one replica) or etcd (any number of replicas)"},
        {"sqlite-path", FLAG_STRING, &o.sqlite_path, "SQLite file (default DATA/foo.db)"},
        {"etcd-servers", FLAG_STRING, &o.etcd_servers,
         "etcd URLs, comma-separated (https://HOST:PORT or http://HOST:PORT)"},
        {"etcd-prefix", FLAG_STRING, &o.etcd_prefix, "prefix of every key in etcd"},
        {"etcd-cafile", FLAG_STRING, &o.etcd_cafile, "CA bundle that verifies etcd's certificate"},
        {"etcd-certfile", FLAG_STRING, &o.etcd_certfile, "client certificate for etcd (PEM)"},
        {"etcd-keyfile", FLAG_STRING, &o.etcd_keyfile, "client key for etcd (PEM)"},
        {"etcd-compaction-interval", FLAG_STRING, &compaction,
         "how often etcd's history is compacted, a Go duration (default 5m; 0 = never)"},
        {"watch-cache-min-events", FLAG_INT, &o.watch_cache_min_events,
         "events kept for watch resumption: at least this many ..."},
        {"watch-cache-min-age-seconds", FLAG_INT, &o.watch_cache_min_age_s,
         "... and at least this many seconds of them"},
        {"shutdown-grace-seconds", FLAG_INT, &o.shutdown_grace_s,
         "how long SIGTERM waits for watches and writes to finish"},
        {"max-requests-inflight", FLAG_INT, &o.limits.max_requests_inflight,
         "read-only requests served at once; past it 429 (0 = no limit)"},
        {"max-mutating-requests-inflight", FLAG_INT, &o.limits.max_mutating_requests_inflight,
         "mutating requests served at once; past it 429 (0 = no limit)"},
        {"max-watches", FLAG_INT, &o.limits.max_watches,
         "watches open at once; past it 429 (0 = no limit)"},
        {"max-connections", FLAG_INT, &o.limits.max_connections,
         "client connections open at once; past it new ones are closed"},
        {"request-timeout", FLAG_STRING, &request_timeout,
         "deadline of a whole request body, a Go duration (default 60s)"},
        {"authentication-kubeconfig", FLAG_STRING, &o.authentication_kubeconfig,
         "kubeconfig of the kube-apiserver that reviews tokens and publishes the client CAs "
         "(default: in-cluster)"},
        {"authorization-kubeconfig", FLAG_STRING, &o.authorization_kubeconfig,
         "kubeconfig of the kube-apiserver that answers SubjectAccessReviews (default: "
         "in-cluster)"},
        {"authentication-skip-lookup", FLAG_BOOL, &o.authentication_skip_lookup,
         "do not read kube-system/extension-apiserver-authentication"},
        {"requestheader-client-ca-file", FLAG_STRING, &o.requestheader_client_ca_file,
         "CA bundle of the front proxy's client certificate (default: from the ConfigMap)"},
        {"requestheader-allowed-names", FLAG_STRING, &o.requestheader_allowed_names,
         "front-proxy certificate CNs allowed, comma-separated (empty: any)"},
        {"requestheader-username-headers", FLAG_STRING, &o.requestheader_username_headers,
         "headers that name the user (default X-Remote-User)"},
        {"requestheader-group-headers", FLAG_STRING, &o.requestheader_group_headers,
         "headers that name the groups (default X-Remote-Group)"},
        {"requestheader-extra-headers-prefix", FLAG_STRING, &o.requestheader_extra_headers_prefix,
         "prefixes of the headers that carry extra attributes (default X-Remote-Extra-)"},
        {"authorization-always-allow-paths", FLAG_STRING, &o.authorization_always_allow_paths,
         "paths anyone may read without a SubjectAccessReview (default /healthz,/readyz,/livez)"},
        {"authentication-token-webhook-cache-ttl", FLAG_STRING, &token_ttl,
         "how long TokenReview answers are cached (default 10s)"},
        {"authorization-webhook-cache-authorized-ttl", FLAG_STRING, &authorized_ttl,
         "how long allowed SubjectAccessReview answers are cached (default 10s)"},
        {"authorization-webhook-cache-unauthorized-ttl", FLAG_STRING, &unauthorized_ttl,
         "how long denied SubjectAccessReview answers are cached (default 10s)"},
        {"v", FLAG_INT, &verbosity, "log verbosity"},
    };
    int rc = flags_parse(argc, argv, flags, (int)(sizeof flags / sizeof flags[0]), "foo-apiserver");
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    log_set_verbosity(verbosity);
    if (compaction && parse_compaction(compaction, &o.etcd_compaction_interval_s) != 0)
        return 2;
    if (request_timeout &&
        parse_request_timeout(request_timeout, &o.limits.request_timeout_ms) != 0)
        return 2;
    if (parse_ttl("authentication-token-webhook-cache-ttl", token_ttl,
                  &o.token_webhook_cache_ttl_ms) != 0 ||
        parse_ttl("authorization-webhook-cache-authorized-ttl", authorized_ttl,
                  &o.authz_cache_authorized_ttl_ms) != 0 ||
        parse_ttl("authorization-webhook-cache-unauthorized-ttl", unauthorized_ttl,
                  &o.authz_cache_unauthorized_ttl_ms) != 0)
        return 2;
    char why[160];
    if (as_options_check(&o, why, sizeof why) != 0) {
        fprintf(stderr, "foo-apiserver: %s\n", why);
        return 2;
    }

    sig_block_stop_signals(); /* before any thread starts: every thread inherits the mask */
    as_server *srv = as_new(&o);
    if (!srv)
        return 1;
    api_error err = API_ERROR_INIT;
    sig_waiter *waiter = NULL;
    if (sig_waiter_start(stop_server, srv, &waiter, &err) != 0) {
        log_kv(LOG_ERROR, err.message, NULL);
        apierr_clear(&err);
        as_free(srv);
        return 1;
    }
    rc = as_run(srv);
    sig_waiter_stop(waiter);
    as_free(srv);
    return rc == 0 ? 0 : 1;
}
