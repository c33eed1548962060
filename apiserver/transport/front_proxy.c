/*
 * front_proxy.c - front-proxy (request-header) authentication (front_proxy.h).
 */
#include "apiserver/transport/front_proxy.h"

#include "common/alloc.h"
#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A list of owned strings. */
typedef struct name_list {
    char **names;
    int n;
} name_list;

struct front_proxy {
    ca_bundle cas;
    name_list allowed; /* empty: any CN */
    name_list user_headers, group_headers, extra_prefixes, uid_headers;
};

static void list_copy(name_list *dst, authn_names src, const char *fallback)
{
    int n = src.n > 0 ? src.n : (fallback ? 1 : 0);
    dst->names = n ? xcalloc((size_t)n, sizeof(char *)) : NULL;
    dst->n = n;
    for (int i = 0; i < n; i++)
        dst->names[i] = xstrdup(src.n > 0 ? src.names[i] : fallback);
}

static void list_free(name_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

int front_proxy_new(const authn_front_proxy_options *o, front_proxy **out, api_error *err)
{
    *out = NULL;
    if (!o || (!o->ca_file && !o->ca_pem))
        return 0;
    front_proxy *fp = xcalloc(1, sizeof *fp);
    int rc = o->ca_file
                 ? ca_bundle_load_file(&fp->cas, "request-header CA file", o->ca_file, err)
                 : ca_bundle_load_pem(&fp->cas, o->ca_pem, 0,
                                      "request-header CA (requestheader-client-ca-file)", err);
    if (rc != 0) {
        free(fp);
        return rc;
    }
    list_copy(&fp->allowed, o->allowed_names, NULL);
    list_copy(&fp->user_headers, o->username_headers, "X-Remote-User");
    list_copy(&fp->group_headers, o->group_headers, "X-Remote-Group");
    list_copy(&fp->extra_prefixes, o->extra_prefixes, "X-Remote-Extra-");
    list_copy(&fp->uid_headers, o->uid_headers, NULL);
    *out = fp;
    return 0;
}

void front_proxy_free(front_proxy *fp)
{
    if (!fp)
        return;
    ca_bundle_clear(&fp->cas);
    list_free(&fp->allowed);
    list_free(&fp->user_headers);
    list_free(&fp->group_headers);
    list_free(&fp->extra_prefixes);
    list_free(&fp->uid_headers);
    free(fp);
}

const ca_bundle *front_proxy_cas(const front_proxy *fp)
{
    return &fp->cas;
}

int front_proxy_check_cert(const front_proxy *fp, clk_t *clock, X509 *leaf, STACK_OF(X509) * chain)
{
    if (!leaf || ca_bundle_verify(&fp->cas, clock, leaf, chain) != NULL)
        return 0;
    if (fp->allowed.n == 0)
        return 1;
    char *cn = NULL;
    authn_cert_common_name(leaf, &cn); /* none or not text: no allowed name matches NULL */
    bool allowed = false;
    for (int i = 0; cn && i < fp->allowed.n && !allowed; i++)
        allowed = strcmp(cn, fp->allowed.names[i]) == 0;
    if (!allowed)
        log_v(2, "front-proxy certificate rejected: subject with cn=%s is not in the allowed list",
              cn ? cn : "");
    free(cn);
    return allowed ? 1 : -EACCES;
}

static bool name_is(const headrec_field *f, const char *name)
{
    return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}

/* The first non-empty value among the headers of l, each header's first line only (Go's
   Header.Get), as a new string; NULL when none. */
static char *first_value(const headrec_head *h, const name_list *l)
{
    for (int i = 0; i < l->n; i++)
        for (size_t j = 0; j < h->nfields; j++) {
            const headrec_field *f = &h->fields[j];
            if (!name_is(f, l->names[i]))
                continue;
            if (f->value_len > 0)
                return xstrndup(f->value, f->value_len);
            break; /* the first line of this header is empty */
        }
    return NULL;
}

static int hex_digit(char c)
{
    if (isdigit((unsigned char)c))
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* An extra key: lower-cased, then %XX-unescaped (Go's url.PathUnescape); kept as lower-cased
   when an escape is malformed. Caller frees. */
static char *extra_key(const char *s, size_t len)
{
    char *lower = xstrndup(s, len);
    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    char *out = xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (lower[i] != '%') {
            out[o++] = lower[i];
            continue;
        }
        int hi = i + 2 < len ? hex_digit(lower[i + 1]) : -1;
        int lo = hi >= 0 ? hex_digit(lower[i + 2]) : -1;
        if (lo < 0) {
            free(out);
            return lower;
        }
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    free(lower);
    return out;
}

static void add_groups(const front_proxy *fp, const headrec_head *h, authn_user *u)
{
    for (int i = 0; i < fp->group_headers.n; i++)
        for (size_t j = 0; j < h->nfields; j++) {
            const headrec_field *f = &h->fields[j];
            if (f->value_len == 0 || !name_is(f, fp->group_headers.names[i]))
                continue;
            char *g = xstrndup(f->value, f->value_len);
            authn_user_add_group(u, g);
            free(g);
        }
}

static void add_extra(const front_proxy *fp, const headrec_head *h, authn_user *u)
{
    for (size_t j = 0; j < h->nfields; j++) {
        const headrec_field *f = &h->fields[j];
        for (int i = 0; i < fp->extra_prefixes.n; i++) {
            size_t plen = strlen(fp->extra_prefixes.names[i]);
            if (f->name_len <= plen || strncasecmp(f->name, fp->extra_prefixes.names[i], plen) != 0)
                continue;
            char *key = extra_key(f->name + plen, f->name_len - plen);
            char *value = xstrndup(f->value, f->value_len);
            authn_user_add_extra(u, key, value);
            free(key);
            free(value);
            break;
        }
    }
}

int front_proxy_user(const front_proxy *fp, const headrec_head *head, authn_user **out)
{
    *out = NULL;
    char *name = first_value(head, &fp->user_headers);
    if (!name)
        return -ENOENT;
    char *uid = first_value(head, &fp->uid_headers);
    authn_user *u = authn_user_new(name, uid);
    add_groups(fp, head, u);
    add_extra(fp, head, u);
    authn_user_add_authenticated(u);
    *out = u;
    free(name);
    free(uid);
    return 0;
}
