/*
 * criterion/criterion.h (TSan shim) - the subset of Criterion's API the workqueue tests use,
 * so the same test sources can run under ThreadSanitizer.
 *
 * Why: Criterion 2.4.1 cannot start under TSan (Snaipe/Criterion#274): its BoxFort arena probes
 * random addresses in 0x2000_0000_0000..0x7f00_0000_0000 and TSan maps or protects that whole
 * range, so it aborts with "Could not initialize inheritable arena". run.sh compiles the tests
 * with this directory first on the include path; the normal build never sees it.
 *
 * Semantics kept: suites with .init/.fini, tests run one after another in one process (no fork,
 * so TSan watches everything), a failed assertion prints its message and exits non-zero.
 */
#ifndef WQ_TSAN_CRITERION_SHIM_H
#define WQ_TSAN_CRITERION_SHIM_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct shim_suite {
    const char *name;
    void (*init)(void);
    void (*fini)(void);
    double timeout; /* accepted for compatibility, ignored */
    struct shim_suite *next;
};

struct shim_test {
    const char *suite;
    const char *name;
    void (*fn)(void);
    double timeout; /* accepted for compatibility, ignored */
    struct shim_test *next;
};

void shim_register_suite(struct shim_suite *s);
void shim_register_test(struct shim_test *t);
void shim_check(bool ok, const char *expr, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TestSuite(sname, ...)                                                                      \
    static struct shim_suite shim_suite_##sname = {.name = #sname, __VA_ARGS__};                   \
    __attribute__((constructor)) static void shim_reg_suite_##sname(void)                          \
    {                                                                                              \
        shim_register_suite(&shim_suite_##sname);                                                  \
    }

#define Test(sname, tname, ...)                                                                    \
    static void shim_fn_##sname##_##tname(void);                                                   \
    static struct shim_test shim_test_##sname##_##tname = {                                        \
        .suite = #sname, .name = #tname, .fn = shim_fn_##sname##_##tname, __VA_ARGS__};            \
    __attribute__((constructor)) static void shim_reg_##sname##_##tname(void)                      \
    {                                                                                              \
        shim_register_test(&shim_test_##sname##_##tname);                                          \
    }                                                                                              \
    static void shim_fn_##sname##_##tname(void)

/* The optional message is a printf format plus arguments; "" keeps the no-message form valid. */
#define cr_assert(cond, ...)                                                                       \
    shim_check((cond) ? true : false, #cond, __FILE__, __LINE__, "" __VA_ARGS__)
#define cr_assert_not(cond, ...)    cr_assert(!(cond), __VA_ARGS__)
#define cr_assert_eq(a, b, ...)     cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...)    cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...)     cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...)    cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...)     cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...)    cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_null(p, ...)      cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...)  cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0, __VA_ARGS__)
#define cr_log_info(...)            shim_log(__VA_ARGS__)

#endif
