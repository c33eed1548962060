/* test_base64.c - common/base64: RFC 4648 test vectors, strictness and limits. */
#include "common/base64.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Decodes s (padded, standard) and expects want, or expects -EINVAL when want is NULL. */
static void expect_std(const char *s, size_t max, const char *want)
{
    char *out = NULL;
    size_t len = 0;
    int rc = b64_decode(s, strlen(s), max, &out, &len);
    if (!want) {
        cr_expect_eq(rc, -EINVAL, "\"%s\" should be refused", s);
        return;
    }
    cr_assert_eq(rc, 0, "\"%s\" should decode", s);
    cr_expect_eq(len, strlen(want), "\"%s\": length", s);
    cr_expect_str_eq(out, want, "\"%s\"", s);
    free(out);
}

Test(base64, encodes_and_decodes_the_rfc_4648_vectors)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        char *enc = b64_encode(plain[i], strlen(plain[i]));
        cr_expect_str_eq(enc, coded[i]);
        free(enc);
        expect_std(coded[i], 64, plain[i]);
    }
}

Test(base64, the_standard_decoder_takes_only_the_canonical_encoding)
{
    expect_std("Zh==", 64, NULL);     /* non-zero bits below the last byte */
    expect_std("Zm9=", 64, NULL);     /* same, one pad */
    expect_std("Zg", 64, NULL);       /* padding missing */
    expect_std("Zg=", 64, NULL);      /* length not a multiple of 4 */
    expect_std("Z===", 64, NULL);     /* three pads */
    expect_std("Zg==Zg==", 64, NULL); /* padding inside */
    expect_std("Zm9v-_==", 64, NULL); /* URL alphabet */
    expect_std("Zm 9", 64, NULL);     /* whitespace */
    expect_std("Zm9vYmFy", 5, NULL);  /* past max */
    expect_std("Zm9vYmE=", 5, "fooba");
}

Test(base64, raw_url_decoding_as_go_does)
{
    char *out = NULL;
    size_t len = 0;
    cr_assert_eq(b64url_raw_decode("-_8", 3, &out, &len), 0);
    cr_expect_eq(len, 2);
    cr_expect_eq((unsigned char)out[0], 0xfb);
    cr_expect_eq((unsigned char)out[1], 0xff);
    free(out);
    cr_expect_eq(b64url_raw_decode("Zg==", 4, &out, &len), -EINVAL, "padding");
    cr_expect_eq(b64url_raw_decode("Zm+v", 4, &out, &len), -EINVAL, "standard alphabet");
    cr_expect_eq(b64url_raw_decode("Zm9vY", 5, &out, &len), -EINVAL, "length 4k+1");
    cr_assert_eq(b64url_raw_decode("Zh", 2, &out, &len), 0, "bits below the byte not checked");
    cr_expect_eq(len, 1);
    free(out);
}
