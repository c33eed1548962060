/*
 * criterion/criterion.h (TSan shim) - the part of Criterion 2.4's API that the unit tests use,
 * so that the unchanged test sources of the threaded parts run under ThreadSanitizer.
 *
 * Why: Criterion 2.4.1 cannot start under TSan (Snaipe/Criterion#274): its BoxFort arena probes
 * random addresses in 0x2000_0000_0000..0x7f00_0000_0000, TSan maps or protects that whole range,
 * and the runner aborts with "Could not initialize inheritable arena". CMake builds
 * tsan_unit_<part> from the .c files of test/unit/<part>/ with this directory BEFORE the system
 * include path (-DFOO_TSAN=ON only); the normal build never sees this header.
 *
 * Semantics (runner.c implements them):
 * - Tests run one after another in one process, sorted by suite then name like Criterion; no fork,
 *   so TSan sees every thread. A suite's .init runs before each of its tests, then the test's
 *   .init; .fini in the reverse order after it.
 * - A failed cr_assert* prints where and why, the synthesis line, and ends the process with
 *   status 1 from whichever thread it fails in (a longjmp out of a thread or out of a test that
 *   holds locks would hide the failure behind a hang). A failed cr_expect* marks the test failed
 *   and lets it go on.
 * - A passing check touches no shared state and takes no lock, so the shim adds no
 *   happens-before edges between the threads of a test and cannot hide a data race.
 * - .timeout (of the test, else of its suite, else --timeout) is honoured, multiplied by
 *   SHIM_TIMEOUT_SCALE in runner.c because TSan slows code down 5-15x.
 * - .disabled, tests expecting a .signal or an .exit_code (they need a process per test), and the
 *   tests named in runner.c's skip list are reported as [SKIP] and not counted as tested.
 * Not provided (a test using them fails to compile here): ParameterizedTest, Theory, the wide
 * string and throw assertions, cr_redirect_*, the "new" assertion API (criterion/new/assert.h).
 */
#ifndef FOO_TSAN_CRITERION_SHIM_H
#define FOO_TSAN_CRITERION_SHIM_H

/* What Criterion's criterion.h brings in and tests may rely on. */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Options of TestSuite(); the field names are Criterion's, so `.init = f` etc. work unchanged. */
struct shim_suite {
    const char *name;
    void (*init)(void);
    void (*fini)(void);
    int signal;
    int exit_code;
    bool disabled;
    const char *description;
    double timeout;
    struct shim_suite *next;
};

/* One Test(); same option fields as the suite, plus where it comes from. */
struct shim_test {
    const char *suite;
    const char *name;
    void (*fn)(void);
    const char *file;
    void (*init)(void);
    void (*fini)(void);
    int signal;
    int exit_code;
    bool disabled;
    const char *description;
    double timeout;
    struct shim_test *next;
};

enum criterion_logging_level {
    CR_LOG_INFO = 1,
    CR_LOG_WARNING,
    CR_LOG_ERROR,
};

/* Registration, from the constructors the macros below emit; before main, single-threaded. */
void shim_register_suite(struct shim_suite *s);
void shim_register_test(struct shim_test *t);

/*
 * A failed check at file:line. expr is the check as text (NULL for cr_assert_fail), actual and
 * expected the string operands of a string check (else NULL); fmt is the user's message behind
 * one leading space (the macros prepend " " so that a missing message is still a valid format).
 * shim_assert_failed ends the process; shim_expect_failed marks the current test failed and
 * returns. Both are safe from any thread.
 */
_Noreturn void shim_assert_failed(const char *file, int line, const char *expr, const char *actual,
                                  const char *expected, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void shim_expect_failed(const char *file, int line, const char *expr, const char *actual,
                        const char *expected, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* cr_skip_test: ends the current test as skipped. Only from the thread that runs the tests. */
_Noreturn void shim_skip(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cr_log: one line on stderr, prefixed like Criterion's. Safe from any thread. */
void shim_log(enum criterion_logging_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* NULL-safe strcmp for the string checks: a NULL operand never satisfies one. */
static inline bool shim_str_ok(const char *a, const char *b, int want_sign_mask)
{
    if (!a || !b)
        return false;
    int c = strcmp(a, b);
    int sign = c < 0 ? 1 : c == 0 ? 2 : 4;
    return (sign & want_sign_mask) != 0;
}
/* Masks of the accepted strcmp signs: 1 less, 2 equal, 4 greater. */
#define SHIM_LT_ 1
#define SHIM_EQ_ 2
#define SHIM_GT_ 4
#define SHIM_NE_ (SHIM_LT_ | SHIM_GT_)
#define SHIM_LE_ (SHIM_LT_ | SHIM_EQ_)
#define SHIM_GE_ (SHIM_GT_ | SHIM_EQ_)

#define TestSuite(sname, ...)                                                                      \
    static struct shim_suite shim_suite_##sname = {.name = #sname, __VA_ARGS__};                   \
    __attribute__((constructor)) static void shim_reg_suite_##sname(void)                          \
    {                                                                                              \
        shim_register_suite(&shim_suite_##sname);                                                  \
    }

#define Test(sname, tname, ...)                                                                    \
    static void shim_fn_##sname##_##tname(void);                                                   \
    static struct shim_test shim_test_##sname##_##tname = {.suite = #sname,                        \
                                                           .name = #tname,                         \
                                                           .fn = shim_fn_##sname##_##tname,        \
                                                           .file = __FILE__,                       \
                                                           __VA_ARGS__};                           \
    __attribute__((constructor)) static void shim_reg_##sname##_##tname(void)                      \
    {                                                                                              \
        shim_register_test(&shim_test_##sname##_##tname);                                          \
    }                                                                                              \
    static void shim_fn_##sname##_##tname(void)

/* A string operand as the failure message shows it. */
#define SHIM_SHOW_(str) ((str) ? (str) : "(null)")

/* kind is assert or expect; the optional message is a printf format plus arguments. */
#define SHIM_CHECK_(kind, ok, expr, ...)                                                           \
    do {                                                                                           \
        if (!(ok))                                                                                 \
            shim_##kind##_failed(__FILE__, __LINE__, expr, NULL, NULL, " " __VA_ARGS__);           \
    } while (0)
#define SHIM_STR_(kind, a, mask, opname, b, ...)                                                   \
    do {                                                                                           \
        const char *shim_a_ = (a), *shim_b_ = (b);                                                 \
        if (!shim_str_ok(shim_a_, shim_b_, mask))                                                  \
            shim_##kind##_failed(__FILE__, __LINE__, "(as strings) (" #a ") " opname " (" #b ")",  \
                                 SHIM_SHOW_(shim_a_), SHIM_SHOW_(shim_b_), " " __VA_ARGS__);       \
    } while (0)
#define SHIM_STR_EMPTY_(kind, s, want_empty, text, ...)                                            \
    do {                                                                                           \
        const char *shim_s_ = (s);                                                                 \
        if (!shim_s_ || (shim_s_[0] == '\0') != (want_empty))                                      \
            shim_##kind##_failed(__FILE__, __LINE__, "(" #s ") " text, SHIM_SHOW_(shim_s_), NULL,  \
                                 " " __VA_ARGS__);                                                 \
    } while (0)

#define cr_assert(c, ...)     SHIM_CHECK_(assert, c, "(" #c ")", __VA_ARGS__)
#define cr_expect(c, ...)     SHIM_CHECK_(expect, c, "(" #c ")", __VA_ARGS__)
#define cr_assert_not(c, ...) SHIM_CHECK_(assert, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_expect_not(c, ...) SHIM_CHECK_(expect, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_assert_fail(...)                                                                        \
    shim_assert_failed(__FILE__, __LINE__, NULL, NULL, NULL, " " __VA_ARGS__)
#define cr_expect_fail(...)                                                                        \
    shim_expect_failed(__FILE__, __LINE__, NULL, NULL, NULL, " " __VA_ARGS__)
#define cr_skip_test(...) shim_skip(__FILE__, __LINE__, " " __VA_ARGS__)

#define SHIM_OP_(kind, a, op, b, ...)                                                              \
    SHIM_CHECK_(kind, (a)op(b), "(" #a ") " #op " (" #b ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...)    SHIM_OP_(assert, a, ==, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...)    SHIM_OP_(expect, a, ==, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...)   SHIM_OP_(assert, a, !=, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...)   SHIM_OP_(expect, a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...)    SHIM_OP_(assert, a, <, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...)    SHIM_OP_(expect, a, <, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...)   SHIM_OP_(assert, a, <=, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...)   SHIM_OP_(expect, a, <=, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...)    SHIM_OP_(assert, a, >, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...)    SHIM_OP_(expect, a, >, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...)   SHIM_OP_(assert, a, >=, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...)   SHIM_OP_(expect, a, >=, b, __VA_ARGS__)
#define cr_assert_null(p, ...)     SHIM_CHECK_(assert, (p) == NULL, "(" #p ") == NULL", __VA_ARGS__)
#define cr_expect_null(p, ...)     SHIM_CHECK_(expect, (p) == NULL, "(" #p ") == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) SHIM_CHECK_(assert, (p) != NULL, "(" #p ") != NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) SHIM_CHECK_(expect, (p) != NULL, "(" #p ") != NULL", __VA_ARGS__)

/* Criterion's definition, |a - b| <= eps, without fabs so that any arithmetic type works. */
#define SHIM_FLOAT_EQ_(a, b, eps) ((a) - (b) <= (eps) && (b) - (a) <= (eps))
#define cr_assert_float_eq(a, b, eps, ...)                                                         \
    SHIM_CHECK_(assert, SHIM_FLOAT_EQ_(a, b, eps), "(" #a ") == (" #b ") +/- " #eps, __VA_ARGS__)
#define cr_expect_float_eq(a, b, eps, ...)                                                         \
    SHIM_CHECK_(expect, SHIM_FLOAT_EQ_(a, b, eps), "(" #a ") == (" #b ") +/- " #eps, __VA_ARGS__)
#define cr_assert_float_neq(a, b, eps, ...)                                                        \
    SHIM_CHECK_(assert, !SHIM_FLOAT_EQ_(a, b, eps), "(" #a ") != (" #b ") +/- " #eps, __VA_ARGS__)
#define cr_expect_float_neq(a, b, eps, ...)                                                        \
    SHIM_CHECK_(expect, !SHIM_FLOAT_EQ_(a, b, eps), "(" #a ") != (" #b ") +/- " #eps, __VA_ARGS__)

#define cr_assert_str_eq(a, b, ...)  SHIM_STR_(assert, a, SHIM_EQ_, "==", b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...)  SHIM_STR_(expect, a, SHIM_EQ_, "==", b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) SHIM_STR_(assert, a, SHIM_NE_, "!=", b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...) SHIM_STR_(expect, a, SHIM_NE_, "!=", b, __VA_ARGS__)
#define cr_assert_str_lt(a, b, ...)  SHIM_STR_(assert, a, SHIM_LT_, "<", b, __VA_ARGS__)
#define cr_expect_str_lt(a, b, ...)  SHIM_STR_(expect, a, SHIM_LT_, "<", b, __VA_ARGS__)
#define cr_assert_str_leq(a, b, ...) SHIM_STR_(assert, a, SHIM_LE_, "<=", b, __VA_ARGS__)
#define cr_expect_str_leq(a, b, ...) SHIM_STR_(expect, a, SHIM_LE_, "<=", b, __VA_ARGS__)
#define cr_assert_str_gt(a, b, ...)  SHIM_STR_(assert, a, SHIM_GT_, ">", b, __VA_ARGS__)
#define cr_expect_str_gt(a, b, ...)  SHIM_STR_(expect, a, SHIM_GT_, ">", b, __VA_ARGS__)
#define cr_assert_str_geq(a, b, ...) SHIM_STR_(assert, a, SHIM_GE_, ">=", b, __VA_ARGS__)
#define cr_expect_str_geq(a, b, ...) SHIM_STR_(expect, a, SHIM_GE_, ">=", b, __VA_ARGS__)
#define cr_assert_str_empty(s, ...)  SHIM_STR_EMPTY_(assert, s, true, "is empty", __VA_ARGS__)
#define cr_expect_str_empty(s, ...)  SHIM_STR_EMPTY_(expect, s, true, "is empty", __VA_ARGS__)
#define cr_assert_str_not_empty(s, ...)                                                            \
    SHIM_STR_EMPTY_(assert, s, false, "is not empty", __VA_ARGS__)
#define cr_expect_str_not_empty(s, ...)                                                            \
    SHIM_STR_EMPTY_(expect, s, false, "is not empty", __VA_ARGS__)

/* Arrays compared bytewise over size bytes, as Criterion does. */
#define cr_assert_arr_eq(a, b, size, ...)                                                          \
    SHIM_CHECK_(assert, memcmp((a), (b), (size)) == 0, "(" #a ")[0.." #size "] == (" #b ")",       \
                __VA_ARGS__)
#define cr_expect_arr_eq(a, b, size, ...)                                                          \
    SHIM_CHECK_(expect, memcmp((a), (b), (size)) == 0, "(" #a ")[0.." #size "] == (" #b ")",       \
                __VA_ARGS__)
#define cr_assert_arr_neq(a, b, size, ...)                                                         \
    SHIM_CHECK_(assert, memcmp((a), (b), (size)) != 0, "(" #a ")[0.." #size "] != (" #b ")",       \
                __VA_ARGS__)
#define cr_expect_arr_neq(a, b, size, ...)                                                         \
    SHIM_CHECK_(expect, memcmp((a), (b), (size)) != 0, "(" #a ")[0.." #size "] != (" #b ")",       \
                __VA_ARGS__)

#define cr_log(level, ...) shim_log(level, __VA_ARGS__)
#define cr_log_info(...)   shim_log(CR_LOG_INFO, __VA_ARGS__)
#define cr_log_warn(...)   shim_log(CR_LOG_WARNING, __VA_ARGS__)
#define cr_log_error(...)  shim_log(CR_LOG_ERROR, __VA_ARGS__)

#endif
