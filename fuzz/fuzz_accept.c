/*
 * fuzz_accept.c - Accept header negotiation (apiserver/transport/negotiate.h) and the Content-Type
 * reduction used to pick a body decoder, both fed raw header values by any client.
 *
 * The input is the header value. Every response shape is negotiated; the answers must be known
 * enum values, shapes that never offer a transform must get plain JSON or nothing, and the
 * media type must come back NUL-terminated within the buffer, lower-cased, without parameters.
 */
#include "apiserver/transport/negotiate.h"
#include "fuzz/fuzz.h"

#include <ctype.h>
#include <strings.h>

static const as_response_shape shapes[] = {
    AS_SHAPE_DISCOVERY, AS_SHAPE_PLAIN, AS_SHAPE_OBJECT, AS_SHAPE_LIST, AS_SHAPE_WATCH,
};

static void check_negotiated(as_negotiated n, as_response_shape shape)
{
    FUZZ_CHECK(n.media >= AS_MEDIA_NONE && n.media <= AS_MEDIA_PARTIAL_LIST);
    switch (n.media) {
    case AS_MEDIA_DISCOVERY_V2:
    case AS_MEDIA_DISCOVERY_V2BETA1:
        FUZZ_CHECK(shape == AS_SHAPE_DISCOVERY);
        break;
    case AS_MEDIA_TABLE:
    case AS_MEDIA_PARTIAL:
    case AS_MEDIA_PARTIAL_LIST:
        FUZZ_CHECK(shape == AS_SHAPE_OBJECT || shape == AS_SHAPE_LIST || shape == AS_SHAPE_WATCH);
        FUZZ_CHECK(n.meta_version != NULL);
        FUZZ_CHECK(strcmp(n.meta_version, "v1") == 0 || strcmp(n.meta_version, "v1beta1") == 0);
        break;
    default:
        break;
    }
    if (n.media == AS_MEDIA_PARTIAL_LIST)
        FUZZ_CHECK(shape == AS_SHAPE_LIST);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *accept = fuzz_cstring(data, size);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        check_negotiated(as_negotiate_for(accept, shapes[i]), shapes[i]);
    as_media m = as_negotiate(accept, true);
    FUZZ_CHECK(m >= AS_MEDIA_NONE && m <= AS_MEDIA_PARTIAL_LIST);
    m = as_negotiate(accept, false);
    FUZZ_CHECK(m != AS_MEDIA_DISCOVERY_V2 && m != AS_MEDIA_DISCOVERY_V2BETA1);

    /* The text as a Content-Type: it is application/json exactly when the part before the
       first ';', blanks around it aside, is that type in any case. */
    const char *semi = strchr(accept, ';');
    const char *b = accept, *e = semi ? semi : accept + strlen(accept);
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    bool want = e - b == 16 && strncasecmp(b, "application/json", 16) == 0;
    FUZZ_CHECK(as_media_type_is(accept, "application/json") == want);
    free(accept);
    return 0;
}
