/*
 * test_flags.c - command-line flags (common/flags.c): every flag given is read in full or is an
 * error at start-up; an unknown flag (such as one of a feature not built) is never ignored.
 */
#include "common/flags.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdbool.h>

static int port;
static bool standalone;
static const char *dir;

static const flag_def defs[] = {
    {"secure-port", FLAG_INT, &port, "port"},
    {"standalone", FLAG_BOOL, &standalone, "standalone"},
    {"data-dir", FLAG_STRING, &dir, "dir"},
};

static int parse(int argc, char **argv)
{
    port = 0;
    standalone = false;
    dir = NULL;
    return flags_parse(argc, argv, defs, 3, "test");
}

TestSuite(flags, .init = cr_redirect_stderr);

Test(flags, known_flags_are_read_in_both_forms)
{
    char *argv[] = {"test", "--secure-port", "9443", "--standalone", "--data-dir=/tmp/x", NULL};
    cr_assert_eq(parse(5, argv), 0);
    cr_expect_eq(port, 9443);
    cr_expect(standalone);
    cr_expect_str_eq(dir, "/tmp/x");
}

Test(flags, unknown_flag_is_an_error_not_ignored)
{
    char *argv[] = {"test", "--etcd-servers", "http://127.0.0.1:2379", NULL};
    cr_expect_eq(parse(3, argv), -1);
}

Test(flags, integers_are_read_in_full_and_within_range)
{
    const char *bad[] = {"9443x", "", " 1", "4294967296", "99999999999999999999", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {"test", "--secure-port", (char *)bad[i], NULL};
        cr_expect_eq(parse(3, argv), -1, "%s", bad[i]);
    }
    char *argv[] = {"test", "--secure-port=-1", NULL};
    cr_expect_eq(parse(2, argv), 0);
    cr_expect_eq(port, -1);
}
