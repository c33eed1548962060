/*
 * utf8.h - UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates (U+D800..U+DFFF),
 * nothing past U+10FFFF. Pure functions, thread-safe; they never read past n bytes.
 */
#ifndef FOO_COMMON_UTF8_H
#define FOO_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length (1..4) of the valid UTF-8 sequence at s (at most n >= 1 bytes), with its code point in
 * *cp; 0 when s does not start with one (a bad lead or continuation byte, a sequence cut by n,
 * an overlong form, a surrogate, a code point past U+10FFFF).
 */
size_t utf8_sequence(const unsigned char *s, size_t n, unsigned *cp);

/* Whether s[0..n) is valid UTF-8 throughout (NUL bytes are valid characters). */
bool utf8_valid(const void *s, size_t n);

#endif
