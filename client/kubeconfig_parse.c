/*
 * kubeconfig_parse.c - one kubeconfig file (YAML, or JSON which is YAML's flow style) into the
 * kcf_doc model, with libyaml's document loader.
 *
 * Scalars are read the way client-go reads them through sigs.k8s.io/yaml: string fields take any
 * scalar text; booleans follow YAML 1.1 as Go's yaml does (plain true/yes/on/y and
 * false/no/off/n in their usual capitalisations); a quoted "true" is a string, which client-go
 * refuses for a bool field, and so do we. null, ~ and empty plain scalars mean "absent".
 * Structural mistakes (a list where a mapping belongs, a duplicate name) fail the whole file, as
 * decoding does in client-go; semantic problems of a user (an unsupported exec apiVersion, an
 * auth-provider) are kept in kcf_user.problem and reported only if that user is selected.
 */
#include "client/config_internal.h"
#include "common/alloc.h"
#include "common/sbuf.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Parse state of one file. */
typedef struct kp {
    const char *path;
    char *dir; /* for relative paths; NULL = relative to the working directory */
    yaml_document_t *doc;
    char *err;
} kp;

static bool kp_fail(kp *k, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool kp_fail(kp *k, const yaml_node_t *n, const char *fmt, ...)
{
    sbuf sb = SBUF_INIT;
    sbuf_printf(&sb, "kubeconfig %s: ", k->path);
    if (n)
        sbuf_printf(&sb, "line %lu: ", (unsigned long)n->start_mark.line + 1);
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&sb, fmt, ap);
    va_end(ap);
    free(k->err);
    k->err = sbuf_detach(&sb, NULL);
    return false;
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
    return n->data.scalar.length == strlen(s) &&
           memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* True for an absent node and for a plain null ("", "~", "null", "Null", "NULL"). */
static bool kp_null(const yaml_node_t *n)
{
    if (!n)
        return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    return scalar_is(n, "") || scalar_is(n, "~") || scalar_is(n, "null") || scalar_is(n, "Null") ||
           scalar_is(n, "NULL");
}

/* The value under `key` of a mapping; the last one when a key repeats (Go's decoders agree). */
static yaml_node_t *kp_get(kp *k, const yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    yaml_node_t *found = NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(k->doc, p->key);
        if (kn && kn->type == YAML_SCALAR_NODE && scalar_is(kn, key))
            found = yaml_document_get_node(k->doc, p->value);
    }
    return found;
}

static char *scalar_dup(const yaml_node_t *n)
{
    return xstrndup((const char *)n->data.scalar.value, n->data.scalar.length);
}

/* A string field: *out NULL when absent, null or empty. */
static bool kp_str(kp *k, const yaml_node_t *map, const char *key, const char *where, char **out)
{
    *out = NULL;
    yaml_node_t *v = kp_get(k, map, key);
    if (kp_null(v))
        return true;
    if (v->type != YAML_SCALAR_NODE)
        return kp_fail(k, v, "%s: %s: expected a string", where, key);
    if (v->data.scalar.length > 0)
        *out = scalar_dup(v);
    return true;
}

static bool kp_bool(kp *k, const yaml_node_t *map, const char *key, const char *where, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                      "on",   "On",   "ON",   "y",   "Y"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
                                     "off",   "Off",   "OFF",   "n",  "N"};
    *out = false;
    yaml_node_t *v = kp_get(k, map, key);
    if (kp_null(v))
        return true;
    if (v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
            if (scalar_is(v, yes[i])) {
                *out = true;
                return true;
            }
            if (scalar_is(v, no[i]))
                return true;
        }
    }
    if (v->type != YAML_SCALAR_NODE)
        return kp_fail(k, v, "%s: %s: expected a boolean (true or false)", where, key);
    return kp_fail(k, v, "%s: %s: expected a boolean (true or false), got %s\"%.*s\"", where, key,
                   v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? "" : "the quoted string ",
                   (int)v->data.scalar.length, (const char *)v->data.scalar.value);
}

/* A list field: *out NULL when absent or null. */
static bool kp_seq(kp *k, const yaml_node_t *map, const char *key, const char *where,
                   yaml_node_t **out)
{
    *out = NULL;
    yaml_node_t *v = kp_get(k, map, key);
    if (kp_null(v))
        return true;
    if (v->type != YAML_SEQUENCE_NODE)
        return kp_fail(k, v, "%s%s%s: expected a list", where, *where ? ": " : "", key);
    *out = v;
    return true;
}

/* A mapping field: *out NULL when absent or null. */
static bool kp_map(kp *k, const yaml_node_t *map, const char *key, const char *where,
                   yaml_node_t **out)
{
    *out = NULL;
    yaml_node_t *v = kp_get(k, map, key);
    if (kp_null(v))
        return true;
    if (v->type != YAML_MAPPING_NODE)
        return kp_fail(k, v, "%s: %s: expected a mapping", where, key);
    *out = v;
    return true;
}

static size_t seq_len(const yaml_node_t *seq)
{
    return seq ? (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start) : 0;
}

static yaml_node_t *seq_at(kp *k, const yaml_node_t *seq, size_t i)
{
    return yaml_document_get_node(k->doc, seq->data.sequence.items.start[i]);
}

/* A path field, resolved against the file's directory. */
static bool kp_path(kp *k, const yaml_node_t *map, const char *key, const char *where, char **out)
{
    if (!kp_str(k, map, key, where, out))
        return false;
    if (*out) {
        char *abs = kc_resolve_path(k->dir, *out);
        free(*out);
        *out = abs;
    }
    return true;
}

/*
 * A list entry {name: N, <field>: {...}}: checks it is a mapping with a name, unique in this
 * file (`seen` holds the names so far), and returns the inner mapping (NULL when null).
 */
static bool kp_named(kp *k, const yaml_node_t *item, const char *list, size_t i, const char *field,
                     char **const seen, size_t nseen, char **name, yaml_node_t **inner)
{
    char where[64];
    snprintf(where, sizeof where, "%s[%zu]", list, i);
    *name = NULL;
    if (item->type != YAML_MAPPING_NODE)
        return kp_fail(k, item, "%s: expected a mapping with name and %s", where, field);
    if (!kp_str(k, item, "name", where, name))
        return false;
    if (!*name)
        return kp_fail(k, item, "%s: missing name", where);
    for (size_t j = 0; j < nseen; j++) {
        if (strcmp(seen[j], *name) == 0)
            return kp_fail(k, item, "%s: duplicate name \"%s\"", list, *name);
    }
    snprintf(where, sizeof where, "%s[%zu] (\"%.32s\")", list, i, *name);
    return kp_map(k, item, field, where, inner);
}

static void cluster_clear(kcf_cluster *c)
{
    free(c->name);
    free(c->origin);
    free(c->server);
    free(c->ca_file);
    free(c->ca_data);
    free(c->tls_server_name);
    free(c->proxy_url);
}

static void user_clear(kcf_user *u)
{
    free(u->name);
    free(u->origin);
    free(u->cert_file);
    free(u->cert_data);
    free(u->key_file);
    kc_free_secret_str(u->key_data);
    kc_free_secret_str(u->token);
    free(u->token_file);
    kc_exec_spec_free(u->exec);
    free(u->problem);
}

static void context_clear(kcf_context *c)
{
    free(c->name);
    free(c->origin);
    free(c->cluster);
    free(c->user);
    free(c->ns);
}

static bool parse_cluster(kp *k, const yaml_node_t *m, kcf_cluster *c)
{
    char where[128];
    snprintf(where, sizeof where, "cluster \"%.64s\"", c->name);
    return kp_str(k, m, "server", where, &c->server) &&
           kp_path(k, m, "certificate-authority", where, &c->ca_file) &&
           kp_str(k, m, "certificate-authority-data", where, &c->ca_data) &&
           kp_bool(k, m, "insecure-skip-tls-verify", where, &c->insecure) &&
           kp_str(k, m, "tls-server-name", where, &c->tls_server_name) &&
           kp_str(k, m, "proxy-url", where, &c->proxy_url);
}

static bool parse_clusters(kp *k, const yaml_node_t *root, kcf_doc *d)
{
    yaml_node_t *seq;
    if (!kp_seq(k, root, "clusters", "", &seq))
        return false;
    size_t n = seq_len(seq);
    d->clusters = xcalloc(n ? n : 1, sizeof *d->clusters);
    char **seen = xcalloc(n ? n : 1, sizeof *seen);
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        kcf_cluster *c = &d->clusters[i];
        yaml_node_t *inner;
        ok = kp_named(k, seq_at(k, seq, i), "clusters", i, "cluster", seen, i, &c->name, &inner);
        d->nclusters = i + 1;
        if (ok) {
            c->origin = xstrdup(k->path);
            seen[i] = c->name;
            ok = parse_cluster(k, inner, c);
        }
    }
    free(seen);
    return ok;
}

static bool parse_exec_args(kp *k, const yaml_node_t *m, const char *where, kc_exec_spec *e)
{
    yaml_node_t *seq;
    if (!kp_seq(k, m, "args", where, &seq))
        return false;
    size_t n = seq_len(seq);
    e->args = xcalloc(n ? n : 1, sizeof *e->args);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *v = seq_at(k, seq, i);
        if (v->type != YAML_SCALAR_NODE)
            return kp_fail(k, v, "%s: args[%zu]: expected a string", where, i);
        e->args[i] = scalar_dup(v);
        e->nargs = i + 1;
    }
    return true;
}

static bool parse_exec_env(kp *k, const yaml_node_t *m, const char *where, kc_exec_spec *e)
{
    yaml_node_t *seq;
    if (!kp_seq(k, m, "env", where, &seq))
        return false;
    size_t n = seq_len(seq);
    e->env = xcalloc(n ? n : 1, sizeof *e->env);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *v = seq_at(k, seq, i);
        char ewhere[320];
        snprintf(ewhere, sizeof ewhere, "%s: env[%zu]", where, i);
        if (v->type != YAML_MAPPING_NODE)
            return kp_fail(k, v, "%s: expected a mapping with name and value", ewhere);
        kc_exec_env *ev = &e->env[i];
        e->nenv = i + 1;
        if (!kp_str(k, v, "name", ewhere, &ev->name) || !kp_str(k, v, "value", ewhere, &ev->value))
            return false;
        if (!ev->name)
            return kp_fail(k, v, "%s: missing name", ewhere);
        if (strchr(ev->name, '='))
            return kp_fail(k, v, "%s: name \"%s\" contains '='", ewhere, ev->name);
        if (!ev->value)
            ev->value = xstrdup("");
    }
    return true;
}

/* Semantic checks of an exec block (client-go's validation); the message goes to u->problem. */
static void check_exec(kp *k, const yaml_node_t *m, kcf_user *u)
{
    kc_exec_spec *e = u->exec;
    const char *problem = NULL;
    char buf[256];
    if (!e->api_version) {
        problem = "exec: apiVersion is required";
    } else if (strcmp(e->api_version, KC_EXEC_V1) != 0 &&
               strcmp(e->api_version, KC_EXEC_V1BETA1) != 0) {
        snprintf(buf, sizeof buf, "exec: apiVersion \"%.100s\" is not supported (use %s or %s)",
                 e->api_version, KC_EXEC_V1, KC_EXEC_V1BETA1);
        problem = buf;
    } else if (!e->command) {
        problem = "exec: command is required";
    } else if (!e->interactive_mode && strcmp(e->api_version, KC_EXEC_V1) == 0) {
        problem = "exec: interactiveMode is required for " KC_EXEC_V1;
    } else if (e->interactive_mode && strcmp(e->interactive_mode, "Never") != 0 &&
               strcmp(e->interactive_mode, "IfAvailable") != 0) {
        if (strcmp(e->interactive_mode, "Always") == 0)
            problem = "exec: interactiveMode Always needs a terminal, and plugins never get one";
        else
            problem = "exec: interactiveMode must be Never, IfAvailable or Always";
    }
    if (!problem) {
        if (!e->interactive_mode)
            e->interactive_mode = xstrdup("IfAvailable");
        return;
    }
    u->problem = xasprintf("kubeconfig %s: line %lu: user \"%s\": %s", k->path,
                           (unsigned long)m->start_mark.line + 1, u->name, problem);
}

static bool parse_exec(kp *k, const yaml_node_t *m, const char *where, kcf_user *u)
{
    char ewhere[160];
    snprintf(ewhere, sizeof ewhere, "%s: exec", where);
    kc_exec_spec *e = xcalloc(1, sizeof *e);
    u->exec = e;
    e->where = xasprintf("kubeconfig %s: user \"%s\"", k->path, u->name);
    char *command = NULL;
    if (!kp_str(k, m, "apiVersion", ewhere, &e->api_version) ||
        !kp_str(k, m, "command", ewhere, &command) || !parse_exec_args(k, m, ewhere, e) ||
        !parse_exec_env(k, m, ewhere, e) ||
        !kp_str(k, m, "installHint", ewhere, &e->install_hint) ||
        !kp_bool(k, m, "provideClusterInfo", ewhere, &e->provide_cluster_info) ||
        !kp_str(k, m, "interactiveMode", ewhere, &e->interactive_mode)) {
        free(command);
        return false;
    }
    /* client-go resolves the command only when it is a path, not a name looked up in PATH. */
    if (command && strchr(command, '/')) {
        e->command = kc_resolve_path(k->dir, command);
        free(command);
    } else {
        e->command = command;
    }
    check_exec(k, m, u);
    return true;
}

/* Fields of a user we do not implement: refused when the user is selected, never ignored. */
static void check_unsupported(kp *k, const yaml_node_t *m, kcf_user *u)
{
    const char *what = NULL;
    bool has_method = u->token || u->token_file || u->exec || u->cert_file || u->cert_data;
    if (!kp_null(kp_get(k, m, "as")) || !kp_null(kp_get(k, m, "as-groups")) ||
        !kp_null(kp_get(k, m, "as-uid")))
        what = "impersonation (as, as-groups, as-uid) is not supported";
    else if (!has_method && !kp_null(kp_get(k, m, "auth-provider")))
        what = "auth-provider is not supported; use an exec plugin";
    else if (!has_method && !kp_null(kp_get(k, m, "username")))
        what = "basic authentication (username/password) is not supported";
    if (what && !u->problem)
        u->problem = xasprintf("kubeconfig %s: line %lu: user \"%s\": %s", k->path,
                               (unsigned long)m->start_mark.line + 1, u->name, what);
}

static bool parse_user(kp *k, const yaml_node_t *m, kcf_user *u)
{
    char where[128];
    snprintf(where, sizeof where, "user \"%.64s\"", u->name);
    yaml_node_t *exec;
    if (!kp_path(k, m, "client-certificate", where, &u->cert_file) ||
        !kp_str(k, m, "client-certificate-data", where, &u->cert_data) ||
        !kp_path(k, m, "client-key", where, &u->key_file) ||
        !kp_str(k, m, "client-key-data", where, &u->key_data) ||
        !kp_str(k, m, "token", where, &u->token) ||
        !kp_path(k, m, "tokenFile", where, &u->token_file) || !kp_map(k, m, "exec", where, &exec))
        return false;
    if (exec && !parse_exec(k, exec, where, u))
        return false;
    if (m)
        check_unsupported(k, m, u);
    return true;
}

static bool parse_users(kp *k, const yaml_node_t *root, kcf_doc *d)
{
    yaml_node_t *seq;
    if (!kp_seq(k, root, "users", "", &seq))
        return false;
    size_t n = seq_len(seq);
    d->users = xcalloc(n ? n : 1, sizeof *d->users);
    char **seen = xcalloc(n ? n : 1, sizeof *seen);
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        kcf_user *u = &d->users[i];
        yaml_node_t *inner;
        ok = kp_named(k, seq_at(k, seq, i), "users", i, "user", seen, i, &u->name, &inner);
        d->nusers = i + 1;
        if (ok) {
            u->origin = xstrdup(k->path);
            seen[i] = u->name;
            ok = parse_user(k, inner, u);
        }
    }
    free(seen);
    return ok;
}

static bool parse_contexts(kp *k, const yaml_node_t *root, kcf_doc *d)
{
    yaml_node_t *seq;
    if (!kp_seq(k, root, "contexts", "", &seq))
        return false;
    size_t n = seq_len(seq);
    d->contexts = xcalloc(n ? n : 1, sizeof *d->contexts);
    char **seen = xcalloc(n ? n : 1, sizeof *seen);
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        kcf_context *c = &d->contexts[i];
        yaml_node_t *inner;
        ok = kp_named(k, seq_at(k, seq, i), "contexts", i, "context", seen, i, &c->name, &inner);
        d->ncontexts = i + 1;
        if (ok) {
            char where[128];
            snprintf(where, sizeof where, "context \"%.64s\"", c->name);
            c->origin = xstrdup(k->path);
            seen[i] = c->name;
            ok = kp_str(k, inner, "cluster", where, &c->cluster) &&
                 kp_str(k, inner, "user", where, &c->user) &&
                 kp_str(k, inner, "namespace", where, &c->ns);
        }
    }
    free(seen);
    return ok;
}

static bool parse_root(kp *k, const yaml_node_t *root, kcf_doc *d)
{
    if (!root || kp_null(root))
        return true; /* an empty file is an empty configuration, as in client-go */
    if (root->type != YAML_MAPPING_NODE)
        return kp_fail(k, root, "the top level is not a mapping");
    return kp_str(k, root, "current-context", "top level", &d->current_context) &&
           parse_clusters(k, root, d) && parse_users(k, root, d) && parse_contexts(k, root, d);
}

/* Wipes every scalar of a loaded document (tokens, keys) before it is freed. */
static void wipe_document(yaml_document_t *doc)
{
    for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
        if (n->type == YAML_SCALAR_NODE && n->data.scalar.value)
            OPENSSL_cleanse(n->data.scalar.value, n->data.scalar.length);
    }
}

/*
 * Wipes the parser's input buffers (raw and decoded copies of the text). libyaml's transient
 * scalar buffers are freed inside the library as it scans and cannot be reached from here.
 */
static void wipe_parser(yaml_parser_t *p)
{
    if (p->raw_buffer.start)
        OPENSSL_cleanse(p->raw_buffer.start, (size_t)(p->raw_buffer.end - p->raw_buffer.start));
    if (p->buffer.start)
        OPENSSL_cleanse(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
}

int kcf_parse(const char *path, const char *text, size_t len, kcf_doc **out, api_error *err)
{
    *out = NULL;
    kp k = {.path = path, .dir = kc_dirname(path)};
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(k.dir);
        return apierr_local(err, -ENOMEM, "kubeconfig %s: cannot initialise the YAML parser", path);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yaml_document_t doc;
    if (!yaml_parser_load(&parser, &doc)) {
        char *started = parser.context ? xasprintf(" (started at line %lu)",
                                                   (unsigned long)parser.context_mark.line + 1)
                                       : NULL;
        apierr_local(err, -EINVAL, "kubeconfig %s: invalid YAML at line %lu, column %lu: %s%s%s%s",
                     path, (unsigned long)parser.problem_mark.line + 1,
                     (unsigned long)parser.problem_mark.column + 1,
                     parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                     parser.context ? parser.context : "", started ? started : "");
        free(started);
        wipe_parser(&parser);
        yaml_parser_delete(&parser);
        free(k.dir);
        return -EINVAL;
    }
    k.doc = &doc;
    kcf_doc *d = kcf_doc_new();
    bool ok = parse_root(&k, yaml_document_get_root_node(&doc), d);
    wipe_document(&doc);
    yaml_document_delete(&doc);
    wipe_parser(&parser);
    yaml_parser_delete(&parser);
    free(k.dir);
    if (!ok) {
        kcf_doc_free(d);
        apierr_local(err, -EINVAL, "%s", k.err);
        free(k.err);
        return -EINVAL;
    }
    *out = d;
    return 0;
}

int kcf_load_file(const char *path, kcf_doc **out, api_error *err)
{
    *out = NULL;
    unsigned char *text;
    size_t len;
    int rc = kc_read_file(path, &text, &len);
    if (rc < 0)
        return apierr_local(err, rc, "kubeconfig %s: cannot read: %s", path, strerror(-rc));
    rc = kcf_parse(path, (const char *)text, len, out, err);
    kc_free_secret(text, len + 1); /* tokens and keys may be written inline */
    return rc;
}

kcf_doc *kcf_doc_new(void)
{
    return xcalloc(1, sizeof(kcf_doc));
}

void kcf_doc_free(kcf_doc *doc)
{
    if (!doc)
        return;
    free(doc->current_context);
    for (size_t i = 0; i < doc->nclusters; i++)
        cluster_clear(&doc->clusters[i]);
    for (size_t i = 0; i < doc->nusers; i++)
        user_clear(&doc->users[i]);
    for (size_t i = 0; i < doc->ncontexts; i++)
        context_clear(&doc->contexts[i]);
    free(doc->clusters);
    free(doc->users);
    free(doc->contexts);
    free(doc);
}

const kcf_cluster *kcf_find_cluster(const kcf_doc *doc, const char *name)
{
    for (size_t i = 0; i < doc->nclusters; i++) {
        if (strcmp(doc->clusters[i].name, name) == 0)
            return &doc->clusters[i];
    }
    return NULL;
}

kcf_user *kcf_find_user(kcf_doc *doc, const char *name)
{
    for (size_t i = 0; i < doc->nusers; i++) {
        if (strcmp(doc->users[i].name, name) == 0)
            return &doc->users[i];
    }
    return NULL;
}

const kcf_context *kcf_find_context(const kcf_doc *doc, const char *name)
{
    for (size_t i = 0; i < doc->ncontexts; i++) {
        if (strcmp(doc->contexts[i].name, name) == 0)
            return &doc->contexts[i];
    }
    return NULL;
}

/*
 * client-go's merge: an entry whose name is already present is dropped whole (no field-by-field
 * merge). One loop per entry type: clearer than a generic helper over void pointers.
 */
void kcf_merge(kcf_doc *into, kcf_doc *from)
{
    if (!into->current_context) {
        into->current_context = from->current_context;
        from->current_context = NULL;
    }
    into->clusters =
        xrealloc(into->clusters, (into->nclusters + from->nclusters + 1) * sizeof *into->clusters);
    for (size_t i = 0; i < from->nclusters; i++) {
        if (kcf_find_cluster(into, from->clusters[i].name))
            cluster_clear(&from->clusters[i]);
        else
            into->clusters[into->nclusters++] = from->clusters[i];
    }
    into->users = xrealloc(into->users, (into->nusers + from->nusers + 1) * sizeof *into->users);
    for (size_t i = 0; i < from->nusers; i++) {
        if (kcf_find_user(into, from->users[i].name))
            user_clear(&from->users[i]);
        else
            into->users[into->nusers++] = from->users[i];
    }
    into->contexts =
        xrealloc(into->contexts, (into->ncontexts + from->ncontexts + 1) * sizeof *into->contexts);
    for (size_t i = 0; i < from->ncontexts; i++) {
        if (kcf_find_context(into, from->contexts[i].name))
            context_clear(&from->contexts[i]);
        else
            into->contexts[into->ncontexts++] = from->contexts[i];
    }
    from->nclusters = from->nusers = from->ncontexts = 0;
    kcf_doc_free(from);
}
