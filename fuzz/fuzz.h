/*
 * fuzz.h - what every libFuzzer target of fuzz/ shares: the entry point's declaration and a
 * check that turns a broken invariant into a crash libFuzzer (and replay_main.c) reports.
 *
 * A target is one file fuzz/fuzz_<name>.c defining LLVMFuzzerTestOneInput for one kind of
 * outside input (fuzz/README.md). Targets are deterministic, keep no state between inputs and
 * free everything they allocate, so LeakSanitizer can run after every input.
 */
#ifndef FOO_FUZZ_FUZZ_H
#define FOO_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Runs the code under test on one input. Must return 0 (libFuzzer's contract); a bug shows up as
 * a sanitizer report or an abort. The input is only valid during the call.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Aborts with the failed condition and its place when cond is false: a logic bug found by a
 * round trip or an invariant counts as a crash, so it is minimized and kept like one.
 */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/*
 * A NUL-terminated copy of the input, for the entry points that take C strings (an embedded NUL
 * ends the string there, as it would for a header or a query parameter). Caller frees; aborts
 * on out-of-memory like the rest of the project.
 */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/*
 * The length of the piece that starts at data[i] when an input is fed in pieces whose sizes
 * come from the input itself (1..max bytes, chosen by data[i]), so that every way of splitting
 * a stream is explored: a decoder must give the same result however its bytes arrive.
 */
static inline size_t fuzz_piece(const uint8_t *data, size_t size, size_t i, size_t max)
{
    size_t piece = (size_t)(data[i] % max) + 1;
    return piece < size - i ? piece : size - i;
}

#endif
