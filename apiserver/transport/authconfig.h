/*
 * authconfig.h - the kube-system/extension-apiserver-authentication ConfigMap that kube-apiserver
 * publishes for extension servers (docs/api.md §9.6): the CA of client certificates, the CA of
 * the front proxy and its allowed names, and the names of the X-Remote-* headers.
 *
 * Two parts: ac_parse(), a pure function from the ConfigMap's JSON to an ac_config, and the
 * watcher, one thread that lists the ConfigMap, watches it, and hands every new state to a
 * callback (kube-apiserver rotates its CAs; the server reloads without a restart).
 */
#ifndef FOO_APISERVER_AUTHCONFIG_H
#define FOO_APISERVER_AUTHCONFIG_H

#include "client/rest.h"
#include "common/apierr.h"
#include "common/clock.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define AC_NAMESPACE "kube-system"
#define AC_NAME      "extension-apiserver-authentication"

/* A list of strings, all owned. */
typedef struct ac_strings {
    char **v;
    int n;
} ac_strings;

/*
 * The ConfigMap's content. Strings owned. A CA is NULL when its key is absent. Header names are
 * kept as written (HTTP compares them case-insensitively).
 */
typedef struct ac_config {
    char *client_ca;             /* client-ca-file: PEM bundle */
    char *requestheader_ca;      /* requestheader-client-ca-file: PEM bundle */
    ac_strings allowed_names;    /* requestheader-allowed-names; empty = any CN */
    ac_strings username_headers; /* requestheader-username-headers; default [x-remote-user] */
    ac_strings group_headers;    /* requestheader-group-headers; default [x-remote-group] */
    ac_strings extra_prefixes;   /* requestheader-extra-headers-prefix; default [x-remote-extra-] */
    ac_strings uid_headers;      /* requestheader-uid-headers; default none */
} ac_config;

/*
 * Reads a ConfigMap object (its "data"; a missing "data" means every key absent). Each
 * requestheader-* list is a JSON array of strings written as a string; a key that is absent or
 * holds "" takes the default above. Each CA, when present, must be a PEM bundle of at least one
 * certificate (blocks of other types are skipped, a certificate block that does not parse is an
 * error, as kube's cert.ParseCertsPEM). Returns 0 with *out filled (caller clears it), or -EINVAL
 * with *out zeroed and err (may be NULL) a 400 BadRequest whose message names the key and what is
 * wrong. Pure; thread-safe.
 */
int ac_parse(const cJSON *configmap, ac_config *out, api_error *err);

/* Frees what c holds and zeroes it. */
void ac_config_clear(ac_config *c);

/* Whether a and b hold the same content. */
bool ac_config_equal(const ac_config *a, const ac_config *b);

/* Called on the watcher's thread with each new state; cfg is valid during the call only. */
typedef void (*ac_on_change_fn)(void *ctx, const ac_config *cfg);

typedef struct ac_watcher_options {
    kc_client *client;         /* required; borrowed, must outlive the watcher */
    ac_on_change_fn on_change; /* required */
    void *ctx;
    uint64_t backoff_initial_ms; /* first wait before a relist after a failure; 0 = 1000 */
    uint64_t backoff_max_ms;     /* cap of the doubling waits; 0 = 30000 */
} ac_watcher_options;

typedef struct ac_watcher ac_watcher;

/*
 * Starts the watcher thread: it GETs
 *   /api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Dextension-apiserver-authentication
 * then watches from the list's resourceVersion (allowWatchBookmarks). on_change is called for the
 * first state and for every ADDED or MODIFIED whose content differs from the last one delivered.
 * A DELETED keeps the last state (warning logged); so does a content that does not parse (error
 * logged). A missing ConfigMap, a list whose content does not parse, a failed call, an ERROR
 * event (410 Gone included) or the end of the watch stream leads to a relist after a wait that
 * doubles from backoff_initial_ms to backoff_max_ms (reset by each successful list); every
 * failure is logged.
 * Waits are real time (a fake clock cannot wake a thread); the watch's idle deadline (5 minutes
 * without a byte, bookmarks included) is on the client's clock. Returns 0 with *out, or -EINVAL
 * (missing client or on_change) or -EAGAIN (thread not started) with err (may be NULL) set.
 */
int ac_watcher_start(const ac_watcher_options *opt, ac_watcher **out, api_error *err);

/* Whether a first on_change call has returned: a configuration is in use (for /readyz). Never
   blocks. */
bool ac_watcher_loaded(ac_watcher *w);

/*
 * Stops and joins the thread, then frees w. Returns within about 100 ms, except while a list GET
 * is in flight (bounded by the client's request timeout). on_change is not called after this
 * returns. NULL is a no-op.
 */
void ac_watcher_stop(ac_watcher *w);

#endif
