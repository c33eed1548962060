#include "common/ids.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>

static void random_bytes(unsigned char *b, int n)
{
    if (RAND_bytes(b, n) != 1) {
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"RAND_bytes failed\"}\n");
        abort();
    }
}

void id_uuid4(char out[UUID_STR_LEN])
{
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, UUID_STR_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

void id_name_suffix(char *out, int n)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    for (int i = 0; i < n; i++) {
        unsigned char r;
        do
            random_bytes(&r, 1);
        while (r >= 27 * 9); /* unbiased: 243 is the largest multiple of 27 below 256 */
        out[i] = alphabet[r % 27];
    }
    out[n] = '\0';
}
