/*
 * kc_util.c - small helpers of the configuration part: whole-file reads, base64 through OpenSSL,
 * path resolution, trimming.
 */
#include "client/config_internal.h"
#include "common/alloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

int kc_read_file(const char *path, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    kc_secret_buf sb = {0};
    char buf[8192];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        if (!kc_secret_buf_append(&sb, buf, (size_t)n, SIZE_MAX - 1)) {
            rc = -EFBIG;
            break;
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
    close(fd);
    if (rc < 0) {
        kc_secret_buf_free(&sb);
        return rc;
    }
    *data = kc_secret_buf_detach(&sb, len);
    return 0;
}

static bool b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

bool kc_base64_decode(const char *text, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    /* Go's decoder ignores CR and LF; we also skip spaces and tabs of folded YAML scalars. */
    size_t n = strlen(text);
    char *clean = xmalloc(n + 1);
    size_t m = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (isspace(c))
            continue;
        if (c == '=') {
            pad++;
        } else if (!b64_char(c) || pad > 0) {
            kc_free_secret(clean, n + 1); /* a bad character, or data after padding */
            return false;
        }
        clean[m++] = (char)c;
    }
    if (m % 4 != 0 || pad > 2 || m / 4 * 3 > INT_MAX) {
        kc_free_secret(clean, n + 1);
        return false;
    }
    unsigned char *out = xmalloc(m / 4 * 3 + 1);
    int got = m ? EVP_DecodeBlock(out, (unsigned char *)clean, (int)m) : 0;
    /* The input may be a private key (client-key-data): wipe the scratch copy. */
    kc_free_secret(clean, n + 1);
    if (got < 0) {
        kc_free_secret(out, m / 4 * 3 + 1);
        return false;
    }
    /* EVP_DecodeBlock counts the bytes the padding stands for; drop them. */
    *len = (size_t)got - pad;
    out[*len] = '\0';
    *data = out;
    return true;
}

char *kc_base64_encode(const unsigned char *data, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    out[n] = '\0';
    return out;
}

char *kc_resolve_path(const char *dir, const char *path)
{
    if (!dir || path[0] == '/')
        return xstrdup(path);
    return xasprintf("%s/%s", dir, path);
}

char *kc_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return NULL;
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

char *kc_trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t start = 0;
    while (isspace((unsigned char)s[start]))
        start++;
    if (start)
        memmove(s, s + start, n - start + 1);
    return s;
}
