/*
 * cabundle.c - CA bundles and client chain verification (cabundle.h).
 */
#include "apiserver/transport/cabundle.h"

#include "common/alloc.h"
#include "common/sbuf.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void ca_bundle_clear(ca_bundle *b)
{
    X509_STORE_free(b->store);
    sk_X509_NAME_pop_free(b->names, X509_NAME_free);
    memset(b, 0, sizeof *b);
}

static int load_error(ca_bundle *b, api_error *err, const char *what, int count)
{
    char why[256] = "no certificate found";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, why, sizeof why);
    ERR_clear_error();
    if (err)
        apierr_set(err, 500, "InternalError", "%s: certificate %d: %s", what, count + 1, why);
    ca_bundle_clear(b);
    return -EINVAL;
}

int ca_bundle_load_pem(ca_bundle *b, const char *pem, size_t len, const char *what, api_error *err)
{
    memset(b, 0, sizeof *b);
    BIO *bio = BIO_new_mem_buf(pem, len ? (int)len : -1);
    b->store = X509_STORE_new();
    b->names = sk_X509_NAME_new_null();
    if (!bio || !b->store || !b->names) {
        BIO_free(bio);
        return load_error(b, err, what, 0);
    }
    X509_STORE_set_flags(b->store, X509_V_FLAG_PARTIAL_CHAIN);
    int count = 0;
    bool ok = true;
    X509 *x;
    while (ok && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        /* OpenSSL fills an X509's extension caches (key ids, usages) on first use, under the
           certificate's lock but read elsewhere without it: filled now, while one thread owns
           the bundle, verifications from several threads only read them. */
        X509_check_purpose(x, -1, 0);
        X509_NAME *name = X509_NAME_dup(X509_get_subject_name(x));
        ok = X509_STORE_add_cert(b->store, x) == 1 && name && sk_X509_NAME_push(b->names, name);
        if (!ok)
            X509_NAME_free(name);
        X509_free(x);
        count += ok;
    }
    BIO_free(bio);
    /* The loop ends at the end of input with "no start line"; anything else is a broken bundle. */
    unsigned long e = ERR_peek_last_error();
    bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    if (!ok || count == 0 || !at_end)
        return load_error(b, err, what, count);
    ERR_clear_error();
    return 0;
}

int ca_bundle_load_file(ca_bundle *b, const char *kind, const char *path, api_error *err)
{
    memset(b, 0, sizeof *b);
    sbuf sb = SBUF_INIT;
    int rc = sbuf_read_file(&sb, path);
    if (rc != 0) {
        if (err)
            apierr_set(err, 500, "InternalError", "%s %s: %s", kind, path, strerror(-rc));
        sbuf_free(&sb);
        return rc == -ENOENT ? -ENOENT : -EIO;
    }
    char what[512];
    snprintf(what, sizeof what, "%s %s", kind, path);
    rc = ca_bundle_load_pem(b, sb.data, sb.len, what, err);
    sbuf_free(&sb);
    return rc;
}

const char *ca_bundle_verify(const ca_bundle *b, clk_t *clock, X509 *leaf, STACK_OF(X509) * chain)
{
    if (!b->store)
        return "no CA bundle";
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx || X509_STORE_CTX_init(ctx, b->store, leaf, chain) != 1) {
        X509_STORE_CTX_free(ctx);
        ERR_clear_error();
        return "cannot set up certificate verification";
    }
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)(clk_wall_ms(clock) / 1000));
    const char *why = NULL;
    if (X509_verify_cert(ctx) != 1)
        why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return why;
}
