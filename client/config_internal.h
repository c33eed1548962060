/*
 * config_internal.h - private pieces shared by the configuration files of client/: the parsed
 * kubeconfig model (kubeconfig_parse.c), exec plugins (exec_credential.c), credential
 * constructors (credentials.c) and small file/base64 helpers (kc_util.c).
 * Not for use outside client/.
 */
#ifndef FOO_CLIENT_CONFIG_INTERNAL_H
#define FOO_CLIENT_CONFIG_INTERNAL_H

#include "client/config.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- exec plugins (exec_credential.c) ---- */

#define KC_EXEC_V1      "client.authentication.k8s.io/v1"
#define KC_EXEC_V1BETA1 "client.authentication.k8s.io/v1beta1"

typedef struct kc_exec_env {
    char *name;
    char *value;
} kc_exec_env;

/* users[].user.exec of a kubeconfig. All strings owned. */
typedef struct kc_exec_spec {
    char *api_version; /* KC_EXEC_V1 or KC_EXEC_V1BETA1 (checked at parse) */
    char *command;     /* resolved against the kubeconfig's directory when it has a '/' */
    char **args;       /* nargs strings */
    size_t nargs;
    kc_exec_env *env; /* set in the child only */
    size_t nenv;
    char *install_hint; /* may be NULL */
    bool provide_cluster_info;
    char *interactive_mode; /* "Never" or "IfAvailable" ("Always" is refused at parse) */
    char *exec_info;        /* KUBERNETES_EXEC_INFO JSON; filled by kc_load; NULL = minimal */
    char *where;            /* message prefix: "kubeconfig PATH: user \"NAME\"" */
    int timeout_ms;         /* a run is killed after this long; <= 0 = KC_EXEC_TIMEOUT_MS */
} kc_exec_spec;

/* What one plugin run produced. All owned; free with kc_exec_result_clear. */
typedef struct kc_exec_result {
    char *token;         /* NULL when the plugin returned a certificate only */
    unsigned char *cert; /* PEM, with key, or both NULL */
    size_t cert_len;
    unsigned char *key;
    size_t key_len;
    int64_t expiry_ms; /* wall ms of expirationTimestamp; 0 = none */
} kc_exec_result;

/* Frees a spec (env values wiped: they may carry secrets). NULL is a no-op. */
void kc_exec_spec_free(kc_exec_spec *spec);
/* Wipes and frees what r holds, then zeroes r. */
void kc_exec_result_clear(kc_exec_result *r);
/*
 * Runs the plugin (posix_spawnp, argv array, no shell, stdin /dev/null, stderr inherited, no
 * other inherited descriptor, its own process group, child environment = ours + spec->env +
 * KUBERNETES_EXEC_INFO), reads stdout and parses it. Returns 0 and fills *out, or a negative
 * errno with *err filled as config.h says (the message names the plugin; it includes the install
 * hint when the plugin is missing or fails):
 *   -ETIMEDOUT  the plugin had not exited and closed stdout spec->timeout_ms after its start
 *               (measured on `clock`, checked at least every KC_EXEC_POLL_MS of real time):
 *               its process group is killed with SIGKILL and reaped;
 *   -EMSGSIZE   stdout passed KC_EXEC_MAX_OUTPUT bytes: the process group is killed and reaped;
 *   -ENOENT     the executable was not found; -EIO a non-zero exit or a signal; -EINVAL bad output.
 * The output buffer is wiped before it is freed. Blocks the calling thread at most about
 * timeout_ms; takes no lock. Thread-safe (spec is only read).
 */
int kc_exec_run(const kc_exec_spec *spec, clk_t *clock, kc_exec_result *out, api_error *err);
/*
 * Parses an ExecCredential JSON document produced by the plugin of spec: a pure function of its
 * input (no file, no process), the entry point for fuzzing the plugin output parser. spec needs
 * only api_version and command (where and install_hint may be NULL). Returns 0 and fills *out,
 * or -EINVAL with *err filled (a 400 BadRequest). The parsed tree is wiped before it is freed.
 * Thread-safe.
 */
int kc_exec_parse(const kc_exec_spec *spec, const char *json, size_t len, kc_exec_result *out,
                  api_error *err);

/* ---- credential sources (credentials.c) ---- */

/* Reads `path` (trimmed) every KC_TOKEN_FILE_REFRESH_MS; `what` names it in messages. */
kc_credentials *kc_credentials_new_token_file(const char *path, const char *what);
/* Runs the plugin on demand; takes ownership of spec. */
kc_credentials *kc_credentials_new_exec(kc_exec_spec *spec);
/*
 * Sets the run timeout of an exec source (timeout_ms <= 0 = KC_EXEC_TIMEOUT_MS); no-op for other
 * kinds. Only before the source is first used (kc_load calls it before returning the config).
 */
void kc_credentials_set_exec_timeout(kc_credentials *c, int timeout_ms);

/* ---- the parsed kubeconfig (kubeconfig_parse.c) ---- */

typedef struct kcf_cluster {
    char *name;
    char *origin; /* the file that defined it */
    char *server;
    char *ca_file; /* resolved path */
    char *ca_data; /* base64 text, not yet decoded */
    bool insecure;
    char *tls_server_name;
    char *proxy_url;
} kcf_cluster;

typedef struct kcf_user {
    char *name;
    char *origin;
    char *cert_file;
    char *cert_data; /* base64 */
    char *key_file;
    char *key_data; /* base64 */
    char *token;
    char *token_file;
    kc_exec_spec *exec; /* NULL = none */
    char *problem;      /* why this user cannot be used (reported only when selected) */
} kcf_user;

typedef struct kcf_context {
    char *name;
    char *origin;
    char *cluster;
    char *user;
    char *ns;
} kcf_context;

typedef struct kcf_doc {
    char *current_context; /* NULL = unset */
    kcf_cluster *clusters;
    size_t nclusters;
    kcf_user *users;
    size_t nusers;
    kcf_context *contexts;
    size_t ncontexts;
} kcf_doc;

/*
 * Parses the kubeconfig text of file `path` (YAML or JSON): a pure function of the buffer (path
 * is only used in messages and to resolve relative paths, no file is read), the entry point for
 * fuzzing kubeconfig parsing. Returns 0 and a new *out, or -EINVAL with *err filled (a 400
 * BadRequest: "kubeconfig PATH: line N: ..."; -ENOMEM and a 500 InternalError when libyaml cannot
 * start). The parser's copies of the text and every parsed scalar are wiped before they are freed
 * (the text may hold tokens and keys). Thread-safe.
 */
int kcf_parse(const char *path, const char *text, size_t len, kcf_doc **out, api_error *err);
/* Reads and parses a file. -ENOENT (with *err, a 500 InternalError) when it does not exist. */
int kcf_load_file(const char *path, kcf_doc **out, api_error *err);
/*
 * Merges `from` into `into` with client-go's rule: entries whose name `into` already has are
 * dropped whole; current-context is taken only when `into` has none. Frees `from`.
 */
void kcf_merge(kcf_doc *into, kcf_doc *from);
kcf_doc *kcf_doc_new(void);
void kcf_doc_free(kcf_doc *doc);
const kcf_cluster *kcf_find_cluster(const kcf_doc *doc, const char *name);
kcf_user *kcf_find_user(kcf_doc *doc, const char *name);
const kcf_context *kcf_find_context(const kcf_doc *doc, const char *name);

/* ---- helpers (kc_util.c) ---- */

/*
 * Reads a whole file into a malloc'd, NUL-terminated buffer (the NUL is not counted in *len).
 * Returns 0 or -errno. The file may hold a secret: growth leaves no unwiped copy behind, and the
 * caller frees the result with kc_free_secret(data, len + 1) when it is one.
 */
int kc_read_file(const char *path, unsigned char **data, size_t *len);
/*
 * Decodes standard base64 (whitespace ignored). Returns false on any other bad character. Its
 * scratch copy is wiped (the input may be a private key); wipe *data yourself when it is one.
 */
bool kc_base64_decode(const char *text, unsigned char **data, size_t *len);
/* Standard base64 of data, malloc'd, no newlines. */
char *kc_base64_encode(const unsigned char *data, size_t len);
/* `path` made absolute against `dir` when relative; dir NULL = unchanged. malloc'd copy. */
char *kc_resolve_path(const char *dir, const char *path);
/* The directory part of `path`, malloc'd; NULL when path has no '/'. */
char *kc_dirname(const char *path);
/* Trims ASCII whitespace at both ends, in place; returns s. */
char *kc_trim(char *s);

/* ---- secrets (secret.c) ---- */

/*
 * Overwrites n bytes at p with OPENSSL_cleanse (never optimised away) and frees p. Use it for
 * every token, password, private key and exec plugin output. NULL is a no-op.
 */
void kc_free_secret(void *p, size_t n);
/* kc_free_secret of a NUL-terminated string (its length is read first). NULL is a no-op. */
void kc_free_secret_str(char *s);
/* Wipes every member name and string value of item and of its children, then cJSON_Delete()s it
 * (its siblings are untouched). NULL is a no-op. */
void kc_json_free_secret(cJSON *item);

/* A growable buffer for secret bytes: growth wipes the block it leaves. Zero-initialise it. */
typedef struct kc_secret_buf {
    unsigned char *data; /* NUL-terminated after any append; NULL before the first */
    size_t len;
    size_t cap;
} kc_secret_buf;

/*
 * Appends n bytes. Returns false, appending nothing, when the length would pass max (a cap on
 * what an outside source can make us hold). Out-of-memory aborts (xmalloc). Not thread-safe.
 */
bool kc_secret_buf_append(kc_secret_buf *b, const void *p, size_t n, size_t max);
/* Gives the data to the caller (never NULL; free with kc_free_secret(data, *len + 1)), empties b.
 */
unsigned char *kc_secret_buf_detach(kc_secret_buf *b, size_t *len);
/* Wipes and frees the data; b is empty afterwards. */
void kc_secret_buf_free(kc_secret_buf *b);

#endif
