/* test_utf8.c - common/utf8: RFC 3629's rules at their edges. */
#include "common/utf8.h"

#include <criterion/criterion.h>
#include <string.h>

#define VALID(lit)   cr_expect(utf8_valid(lit, sizeof(lit) - 1), "%s should be valid", #lit)
#define INVALID(lit) cr_expect(!utf8_valid(lit, sizeof(lit) - 1), "%s should be refused", #lit)

Test(utf8, accepts_every_length_up_to_u10ffff)
{
    VALID("");
    VALID("plain ascii");
    VALID("\xc3\xa9");         /* é, 2 bytes */
    VALID("\xe2\x82\xac");     /* €, 3 bytes */
    VALID("\xf0\x9f\x98\x80"); /* U+1F600, 4 bytes */
    VALID("\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last */
    VALID("a\0b");             /* NUL is a character */
}

Test(utf8, refuses_overlongs_surrogates_and_cut_sequences)
{
    INVALID("\xc0\xaf");         /* overlong '/' */
    INVALID("\xe0\x80\xaf");     /* overlong, 3 bytes */
    INVALID("\xed\xa0\x80");     /* U+D800, a surrogate */
    INVALID("\xf4\x90\x80\x80"); /* U+110000 */
    INVALID("\xe2\x82");         /* cut */
    INVALID("\x80");             /* a lone continuation byte */
    INVALID("\xff");
}

Test(utf8, sequence_reports_length_and_code_point)
{
    unsigned cp = 0;
    cr_expect_eq(utf8_sequence((const unsigned char *)"\xe2\x82\xac!", 4, &cp), 3);
    cr_expect_eq(cp, 0x20ac);
    cr_expect_eq(utf8_sequence((const unsigned char *)"\xe2\x82\xac", 2, &cp), 0, "cut by n");
}
