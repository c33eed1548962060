/*
 * fuzz_token_file.c - the static token file (apiserver/transport/authn.h, --token-auth-file CSV)
 * and the bearer tokens checked against it.
 *
 * The input is the file's content. authn_new reads a path, so the input is put in an anonymous
 * in-memory file (memfd) and named through /proc/self/fd: no disk, nothing left behind. A load
 * either succeeds or fails with a 500 InternalError naming the line. After a load, the first
 * column of each simple (unquoted) line is presented as a bearer token: the answer must be a
 * known result, and an authenticated user has a name and the group system:authenticated.
 */
#include "apiserver/transport/authn.h"
#include "common/apierr.h"
#include "common/log.h"
#include "fuzz/fuzz.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

/* Presents "Bearer <token>" (token = bytes [p, p+len)) and checks the answer. */
static void try_token(const authn *a, const char *p, size_t len)
{
    char *header = malloc(len + sizeof "Bearer ");
    FUZZ_CHECK(header != NULL);
    memcpy(header, "Bearer ", 7);
    memcpy(header + 7, p, len);
    header[7 + len] = '\0';
    authn_user *u = NULL;
    int rc = authn_bearer(a, header, &u);
    FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EACCES);
    if (rc == 0) {
        FUZZ_CHECK(u && u->name && u->name[0] != '\0' && u->uid);
        FUZZ_CHECK(authn_user_has_group(u, AUTHN_GROUP_AUTHENTICATED));
    } else {
        FUZZ_CHECK(u == NULL);
    }
    authn_user_free(u);
    free(header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-token-file", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        FUZZ_CHECK(n > 0);
        off += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    authn_options opts = {.token_auth_file = path};
    api_error err = API_ERROR_INIT;
    authn *a = authn_new(&opts, &err);
    close(fd);
    if (!a) {
        FUZZ_CHECK(err.code == 500 && err.message != NULL);
        apierr_clear(&err);
        return 0;
    }
    FUZZ_CHECK(!apierr_is_set(&err));

    const char *s = (const char *)data, *end = s + size;
    for (int lines = 0; s < end && lines < 16; lines++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *eol = nl ? nl : end;
        const char *comma = memchr(s, ',', (size_t)(eol - s));
        if (comma && !memchr(s, '\0', (size_t)(comma - s)))
            try_token(a, s, (size_t)(comma - s));
        s = nl ? nl + 1 : end;
    }
    try_token(a, "", 0);

    authn_free(a);
    return 0;
}
