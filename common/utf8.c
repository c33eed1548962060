/*
 * utf8.c - RFC 3629 UTF-8 (see utf8.h).
 */
#include "common/utf8.h"

size_t utf8_sequence(const unsigned char *s, size_t n, unsigned *cp)
{
    size_t len;
    unsigned min;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2, min = 0x80, *cp = s[0] & 0x1fu;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, min = 0x800, *cp = s[0] & 0x0fu;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, *cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3fu);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return len;
}

bool utf8_valid(const void *s, size_t n)
{
    const unsigned char *p = s;
    unsigned cp;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_sequence(p + i, n - i, &cp);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}
