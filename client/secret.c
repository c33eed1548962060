/*
 * secret.c - wiping secrets before their memory is given back (config_internal.h).
 *
 * Tokens, private keys, passwords and exec plugin output must not linger in freed heap blocks,
 * where a later allocation, a core dump or a memory-disclosure bug could read them. Every free of
 * such data in client/ goes through these helpers. OPENSSL_cleanse is used because a plain
 * memset before free() may be removed by the compiler as a dead store.
 *
 * The growable buffer exists because realloc() may move a block and leave the old copy behind
 * unwiped: growth here allocates, copies, wipes the old block, then frees it.
 */
#include "client/config_internal.h"
#include "common/alloc.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The smallest allocation of a secret buffer; it then doubles. */
#define KC_SECRET_BUF_MIN 1024

void kc_free_secret(void *p, size_t n)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, n);
    free(p);
}

void kc_free_secret_str(char *s)
{
    if (s)
        kc_free_secret(s, strlen(s) + 1);
}

/*
 * Wipes the strings of item and of everything below it (not its siblings). Recursion depth is
 * bounded by cJSON's nesting limit (CJSON_NESTING_LIMIT) for parsed documents.
 */
static void wipe_json(const cJSON *item)
{
    if (item->string)
        OPENSSL_cleanse(item->string, strlen(item->string));
    if (item->valuestring)
        OPENSSL_cleanse(item->valuestring, strlen(item->valuestring));
    for (const cJSON *c = item->child; c; c = c->next)
        wipe_json(c);
}

void kc_json_free_secret(cJSON *item)
{
    if (!item)
        return;
    wipe_json(item);
    cJSON_Delete(item);
}

bool kc_secret_buf_append(kc_secret_buf *b, const void *p, size_t n, size_t max)
{
    if (n > max || b->len > max - n)
        return false;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : KC_SECRET_BUF_MIN;
        while (cap < b->len + n + 1)
            cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
        unsigned char *data = xmalloc(cap);
        if (b->len)
            memcpy(data, b->data, b->len);
        kc_free_secret(b->data, b->cap);
        b->data = data;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

unsigned char *kc_secret_buf_detach(kc_secret_buf *b, size_t *len)
{
    if (!b->data)
        kc_secret_buf_append(b, "", 0, 0);
    unsigned char *data = b->data;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof *b);
    return data;
}

void kc_secret_buf_free(kc_secret_buf *b)
{
    kc_free_secret(b->data, b->cap);
    memset(b, 0, sizeof *b);
}
