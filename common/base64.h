/*
 * base64.h - RFC 4648 base64, the two forms the system meets: the standard alphabet with padding
 * (etcd's JSON gateway encodes keys and values so) and base64url without padding (Go's
 * RawURLEncoding: the bearer token a WebSocket client sends as a subprotocol).
 *
 * Every function is pure and thread-safe. Decoders never read past the given length, refuse
 * every character outside their alphabet (NUL, whitespace and the other alphabet's 62/63
 * included), and return a NUL-terminated buffer so text results can be used as strings.
 */
#ifndef FOO_COMMON_BASE64_H
#define FOO_COMMON_BASE64_H

#include "common/sbuf.h"

#include <stddef.h>

/* Appends the padded standard encoding of n bytes to sb. */
void b64_append(sbuf *sb, const void *data, size_t n);
/* The padded standard encoding of n bytes, NUL-terminated (caller frees). Never NULL. */
char *b64_encode(const void *data, size_t n);

/*
 * Decodes s[0..n), padded standard base64, strictly: only the canonical encoding (b64_encode's)
 * is accepted: n a multiple of 4, '=' only as the last one or two characters, the bits below
 * the last byte zero, so each byte string has exactly one encoding. At most max decoded bytes.
 * Returns 0 with *out (NUL-terminated, caller frees) and *out_len, or -EINVAL (nothing
 * allocated).
 */
int b64_decode(const char *s, size_t n, size_t max, char **out, size_t *out_len);

/*
 * Decodes s[0..n), base64url without padding, as Go's RawURLEncoding.DecodeString does (the
 * bits below the last byte are not checked). Returns 0 with *out (NUL-terminated, caller frees)
 * and *out_len, or -EINVAL (nothing allocated) for a character outside the URL alphabet, '='
 * padding, or a length that cannot be base64 (n % 4 == 1: one character is never a whole byte).
 */
int b64url_raw_decode(const char *s, size_t n, char **out, size_t *out_len);

#endif
