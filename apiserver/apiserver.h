/*
 * apiserver.h - foo-apiserver as a library: options, start, run, stop (the public face of
 * apiserver/). cmd/foo-apiserver.c only parses flags into as_options and calls these.
 */
#ifndef FOO_APISERVER_APISERVER_H
#define FOO_APISERVER_APISERVER_H

#include "apiserver/transport/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct as_options {
    bool standalone;             /* generate PKI + kubeconfig, authn by client cert/token */
    const char *data_dir;        /* standalone state and the default SQLite file */
    int secure_port;             /* --secure-port */
    const char *bind_address;    /* --bind-address; "0.0.0.0" = all */
    const char *tls_cert_file;   /* --tls-cert-file (standalone: DATA/pki/serving.crt) */
    const char *tls_key_file;    /* --tls-private-key-file */
    const char *client_ca_file;  /* --client-ca-file (standalone: DATA/pki/ca.crt) */
    const char *token_auth_file; /* --token-auth-file: kube-apiserver's static token CSV */
    const char *storage;         /* --storage: "sqlite" (one replica) or "etcd" (several) */
    const char *sqlite_path;     /* --sqlite-path (default DATA/foo.db) */
    const char *etcd_servers;    /* --etcd-servers: comma-separated URLs (etcd only) */
    const char *etcd_prefix;     /* --etcd-prefix: where the objects live in etcd's key space */
    const char *etcd_cafile;     /* --etcd-cafile: CA bundle that verifies etcd (TLS) */
    const char *etcd_certfile;   /* --etcd-certfile, --etcd-keyfile: our client certificate */
    const char *etcd_keyfile;
    int etcd_compaction_interval_s; /* --etcd-compaction-interval; 0 = never compact */
    int watch_cache_min_events;     /* history kept for watches: at least this many events ... */
    int watch_cache_min_age_s;      /* ... and at least this many seconds of them */
    int shutdown_grace_s;           /* how long SIGTERM waits for in-flight work */
    as_limits_config limits;        /* --max-requests-inflight, --max-mutating-requests-inflight,
                                       --max-watches, --max-connections, --request-timeout */
    /* Delegated authentication and authorization (without --standalone; docs/api.md §9.7),
       kube's flags and meanings. Lists are comma-separated. */
    const char *authentication_kubeconfig; /* TokenReviews and the ConfigMap; NULL = in-cluster */
    const char *authorization_kubeconfig;  /* SubjectAccessReviews; NULL = in-cluster */
    bool authentication_skip_lookup;       /* never read extension-apiserver-authentication */
    const char *requestheader_client_ca_file;
    const char *requestheader_allowed_names;
    const char *requestheader_username_headers;
    const char *requestheader_group_headers;
    const char *requestheader_extra_headers_prefix;
    const char *authorization_always_allow_paths;
    int64_t token_webhook_cache_ttl_ms;      /* --authentication-token-webhook-cache-ttl */
    int64_t authz_cache_authorized_ttl_ms;   /* --authorization-webhook-cache-authorized-ttl */
    int64_t authz_cache_unauthorized_ttl_ms; /* --authorization-webhook-cache-unauthorized-ttl */
} as_options;

/* The defaults of every option, in one place (docs/design.md §3). */
as_options as_defaults(void);

/*
 * Checks what the flags alone can tell: a known --storage, and --etcd-servers with etcd.
 * Returns 0, or -EINVAL with why (size n) saying what is wrong, for the user.
 */
int as_options_check(const as_options *o, char *why, size_t n);

typedef struct as_server as_server;

/*
 * Prepares everything (PKI in standalone mode, storage, watch cache, TLS listener). Returns NULL
 * after logging the reason on failure. The caller keeps `opt`'s strings alive until as_free.
 */
as_server *as_new(const as_options *opt);

/*
 * Serves until as_stop() is called, then drains: /readyz fails, watch streams end cleanly,
 * in-flight writes complete and are answered (for at most shutdown_grace_s). Returns 0.
 */
int as_run(as_server *srv);

/*
 * Asks as_run to stop. Thread-safe, but NOT async-signal-safe (it takes the lock of the
 * completion queue to wake the service loop): call it from a thread that waits for signals
 * (sigwait), as cmd/foo-apiserver.c does, never from a signal handler.
 */
void as_stop(as_server *srv);

void as_free(as_server *srv);

#endif
