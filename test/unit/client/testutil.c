#include "testutil.h"
#include "common/alloc.h"
#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *tu_tmpdir(void)
{
    char *dir = xstrdup("/tmp/foo-client-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    return dir;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

void tu_rmtree(const char *dir)
{
    if (dir)
        cr_expect_eq(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0, "removing %s", dir);
}

char *tu_fixture(const char *name)
{
    /* __FILE__ is absolute: CMake compiles sources by their full path. */
    char *self = xstrdup(__FILE__);
    char *path = xasprintf("%s/fixtures/%s", dirname(self), name);
    free(self);
    return path;
}

static void make_parents(const char *path)
{
    char *copy = xstrdup(path);
    for (char *p = strchr(copy + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        int rc = mkdir(copy, 0700);
        cr_assert(rc == 0 || errno == EEXIST, "mkdir %s: %s", copy, strerror(errno));
        *p = '/';
    }
    free(copy);
}

char *tu_write(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    make_parents(path);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    cr_assert_eq(fputs(text, f) >= 0, true);
    cr_assert_eq(fclose(f), 0);
    return path;
}

char *tu_copy_fixture(const char *dir, const char *name, const char *as, int mode)
{
    char *src = tu_fixture(name);
    char *text = tu_read(src);
    cr_assert_not_null(text, "fixture %s missing", src);
    char *path = tu_write(dir, as, text);
    cr_assert_eq(chmod(path, (mode_t)mode), 0);
    free(text);
    free(src);
    return path;
}

char *tu_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    sbuf sb = SBUF_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sbuf_append(&sb, buf, n);
    fclose(f);
    return sbuf_detach(&sb, NULL);
}

int tu_read_int(const char *path)
{
    char *text = tu_read(path);
    int n = text ? atoi(text) : 0;
    free(text);
    return n;
}

bool tu_contains(const char *haystack, const char *needle)
{
    return haystack && strstr(haystack, needle) != NULL;
}

char *tu_take_message(api_error *e)
{
    cr_assert(apierr_is_set(e), "no error was filled");
    cr_assert((e->code == 400 && strcmp(e->reason, "BadRequest") == 0) ||
                  (e->code == 500 && strcmp(e->reason, "InternalError") == 0),
              "unexpected error %d %s", e->code, e->reason ? e->reason : "");
    cr_assert_not_null(e->message);
    char *msg = e->message;
    e->message = NULL;
    apierr_clear(e);
    return msg;
}
