/*
 * sha256.c - SHA-256 with the algorithm fetched once per process (see sha256.h).
 */
#include "common/sha256.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
/* Fetched once and kept for the life of the process; NULL when no provider offers it. */
static EVP_MD *sha256_md;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha256_md)
        ERR_clear_error();
}

int sha256(const void *data, size_t len, unsigned char out[SHA256_LEN])
{
    pthread_once(&sha256_once, sha256_fetch);
    if (sha256_md && EVP_Digest(data, len, out, NULL, sha256_md, NULL) == 1)
        return 0;
    ERR_clear_error();
    memset(out, 0, SHA256_LEN);
    return -EIO;
}
