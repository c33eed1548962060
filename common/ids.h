/*
 * ids.h - random identifiers from OpenSSL's CSPRNG. Thread-safe.
 */
#ifndef FOO_COMMON_IDS_H
#define FOO_COMMON_IDS_H

#define UUID_STR_LEN 37

/* A random RFC 4122 version 4 UUID in lower-case text form. */
void id_uuid4(char out[UUID_STR_LEN]);
/*
 * n random characters from Kubernetes' generateName alphabet "bcdfghjklmnpqrstvwxz2456789"
 * followed by NUL (out must hold n + 1 bytes).
 */
void id_name_suffix(char *out, int n);

#endif
