/*
 * test_sha256.c - common/sha256.h: FIPS 180-2's test vectors, and the same digests from several
 * threads at once (the algorithm is fetched once, by whichever thread comes first).
 */
#include "common/sha256.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void hex(const unsigned char md[SHA256_LEN], char out[2 * SHA256_LEN + 1])
{
    for (int i = 0; i < SHA256_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void expect_digest(const char *in, const char *want)
{
    unsigned char md[SHA256_LEN];
    char got[2 * SHA256_LEN + 1];
    cr_assert_eq(sha256(in, strlen(in), md), 0);
    hex(md, got);
    cr_expect_str_eq(got, want, "SHA-256 of \"%s\"", in);
}

Test(sha256, matches_the_standards_vectors)
{
    expect_digest("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect_digest("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

#define THREADS 4
#define ROUNDS  2000

static void *hash_many(void *arg)
{
    int *mismatches = arg;
    unsigned char want[SHA256_LEN], md[SHA256_LEN];
    if (sha256("abc", 3, want) != 0) {
        (*mismatches)++;
        return NULL;
    }
    for (int i = 0; i < ROUNDS; i++)
        if (sha256("abc", 3, md) != 0 || memcmp(md, want, SHA256_LEN) != 0)
            (*mismatches)++;
    return NULL;
}

Test(sha256, several_threads_get_the_same_digests)
{
    pthread_t t[THREADS];
    int mismatches[THREADS] = {0};
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, hash_many, &mismatches[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_expect_eq(mismatches[i], 0, "thread %d", i);
    }
}
