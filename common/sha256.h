/*
 * sha256.h - SHA-256 of a buffer, for hashes computed per request (bearer tokens, the review
 * caches' keys).
 *
 * Why not OpenSSL's SHA256() or EVP_sha256(): in OpenSSL 3 each of those looks the algorithm up
 * in the provider again on every call, which costs more than hashing a short token (2.5 % of
 * the apiserver's CPU on a GET of one Foo). This fetches it once per process.
 */
#ifndef FOO_COMMON_SHA256_H
#define FOO_COMMON_SHA256_H

#include <stddef.h>

#define SHA256_LEN 32

/*
 * out = SHA-256 of data[0, len). Returns 0, or -EIO when OpenSSL cannot hash (no provider offers
 * SHA-256: out is then zeroed). Thread-safe.
 */
int sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);

#endif
