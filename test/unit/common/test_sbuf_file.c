/*
 * test_sbuf_file.c - sbuf_read_file (common/sbuf.h): a whole file appended, a C string even
 * when empty, -errno when it cannot be read.
 */
#include "common/sbuf.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[] = "/tmp/foo-sbuf-file-XXXXXX";

static void write_temp(const char *data, size_t len)
{
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

Test(sbuf_file, a_file_larger_than_one_read_is_appended_whole)
{
    size_t len = 3 * 4096 + 17;
    char *data = malloc(len);
    cr_assert_not_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)('a' + i % 26);
    write_temp(data, len);
    sbuf sb = SBUF_INIT;
    sbuf_puts(&sb, ">");
    cr_assert_eq(sbuf_read_file(&sb, path), 0);
    cr_assert_eq(sb.len, len + 1);
    cr_assert_eq(memcmp(sb.data + 1, data, len), 0);
    cr_assert_eq(sb.data[sb.len], '\0');
    sbuf_free(&sb);
    free(data);
    unlink(path);
}

Test(sbuf_file, an_empty_file_is_an_empty_string)
{
    write_temp("", 0);
    sbuf sb = SBUF_INIT;
    cr_assert_eq(sbuf_read_file(&sb, path), 0);
    cr_assert_not_null(sb.data);
    cr_assert_str_eq(sb.data, "");
    sbuf_free(&sb);
    unlink(path);
}

Test(sbuf_file, a_missing_file_is_enoent)
{
    sbuf sb = SBUF_INIT;
    cr_assert_eq(sbuf_read_file(&sb, "/nonexistent/foo-sbuf-file"), -ENOENT);
    cr_assert_eq(sb.len, 0);
    sbuf_free(&sb);
}
