/*
 * runner.c (TSan shim) - main() and the failure paths behind the Criterion shim in
 * criterion/criterion.h (its header comment states the semantics).
 *
 * Usage: tsan_unit_<part> [--filter PATTERN] [--timeout SECONDS] [-f|--fail-fast] [-l|--list]
 *   PATTERN is a glob over "suite/test", like Criterion's --filter.
 * Output (stderr), Criterion's words: [RUN ], [PASS], [FAIL], [SKIP], [----] lines, and last
 *   "[====] Synthesis: Tested: N | Passing: N | Failing: N | Crashing: N ".
 * Exit status: 0 when every test run passed; 1 on a failure or a timeout; 2 on a usage error.
 *   ThreadSanitizer ends the process itself on a report (exitcode 66 by default; with
 *   halt_on_error=1 at the first report, so there is no synthesis line then).
 */
#include "criterion/criterion.h"

#include <fnmatch.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/*
 * Declared .timeout values are for the uninstrumented build; TSan runs code 5-15x slower, so a
 * test gets SHIM_TIMEOUT_SCALE times its declared time before the watchdog ends the run.
 */
#define SHIM_TIMEOUT_SCALE 10.0

/*
 * Tests that cannot run under the shim, by suite and name ("*" for a whole suite), each with the
 * reason. Prefer fixing the cause over adding a line; never skip a test that merely fails.
 */
static const struct {
    const char *suite;
    const char *name;
    const char *why;
} skip_list[] = {
    {NULL, NULL, NULL}, /* sentinel; keeps the array non-empty */
};

static struct shim_suite *suites;
static struct shim_test *tests;
static size_t ntests;

static struct {
    const char *filter;
    double timeout;
    bool fail_fast;
    bool list;
} opts;

/*
 * State of the run. The main thread writes it between tests; the failure paths, which may run on
 * any thread of a test, read and count into it, hence atomics (relaxed: the shim must add no
 * happens-before edge between the threads of a test, see the header).
 */
static pthread_t main_thread;
static _Atomic(const struct shim_test *) current;
static atomic_int n_tested, n_passed, n_failed, n_crashed, n_skipped;
static atomic_int soft_failures; /* cr_expect failures in the current test */
static struct timespec test_start;
static jmp_buf skip_jmp;

/* Serializes failure reports, so that two threads failing at once do not interleave. */
static pthread_mutex_t report_mu = PTHREAD_MUTEX_INITIALIZER;

void shim_register_suite(struct shim_suite *s)
{
    s->next = suites;
    suites = s;
}

void shim_register_test(struct shim_test *t)
{
    t->next = tests;
    tests = t;
    ntests++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double elapsed_s(void)
{
    return now_s() - ((double)test_start.tv_sec + (double)test_start.tv_nsec / 1e9);
}

static void print_synthesis(void)
{
    fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: %d \n",
            atomic_load_explicit(&n_tested, memory_order_relaxed),
            atomic_load_explicit(&n_passed, memory_order_relaxed),
            atomic_load_explicit(&n_failed, memory_order_relaxed),
            atomic_load_explicit(&n_crashed, memory_order_relaxed));
}

/* Prints "[----] file:line: Assertion Failed" and the details of a failed check. */
static void report_check(const char *file, int line, const char *expr, const char *actual,
                         const char *expected, const char *fmt, va_list ap)
{
    fprintf(stderr, "[----] %s:%d: Assertion Failed\n", file, line);
    if (fmt[1] != '\0') { /* skip the space the macros prepend */
        fputs("[----]   ", stderr);
        vfprintf(stderr, fmt + 1, ap);
        fputc('\n', stderr);
    }
    if (expr)
        fprintf(stderr, "[----]   The expression %s is false", expr);
    if (expr && actual)
        fprintf(stderr, ": actual=`%s`", actual);
    if (expr && expected)
        fprintf(stderr, " expected=`%s`", expected);
    if (expr)
        fputs(".\n", stderr);
}

/* Ends the whole run from any thread: the current test counts as failed (or crashed). */
static _Noreturn void end_run_with_failure(const char *why, bool crashed)
{
    const struct shim_test *t = atomic_load_explicit(&current, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_tested, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_failed, 1, memory_order_relaxed);
    if (crashed)
        atomic_fetch_add_explicit(&n_crashed, 1, memory_order_relaxed);
    if (t)
        fprintf(stderr, "[FAIL] %s::%s: %s(%.2fs)\n", t->suite, t->name, why, elapsed_s());
    print_synthesis();
    fflush(NULL);
    /* _exit: other threads of the test may still run; exit() would tear down under them. */
    _exit(1);
}

void shim_assert_failed(const char *file, int line, const char *expr, const char *actual,
                        const char *expected, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&report_mu); /* never unlocked: the process ends below */
    report_check(file, line, expr, actual, expected, fmt, ap);
    va_end(ap);
    end_run_with_failure("", false);
}

void shim_expect_failed(const char *file, int line, const char *expr, const char *actual,
                        const char *expected, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&report_mu);
    report_check(file, line, expr, actual, expected, fmt, ap);
    pthread_mutex_unlock(&report_mu);
    va_end(ap);
    atomic_fetch_add_explicit(&soft_failures, 1, memory_order_relaxed);
}

void shim_skip(const char *file, int line, const char *fmt, ...)
{
    const struct shim_test *t = atomic_load_explicit(&current, memory_order_relaxed);
    va_list ap;
    va_start(ap, fmt);
    if (!pthread_equal(pthread_self(), main_thread)) {
        /* A longjmp cannot cross threads; a skip from a helper thread is a test bug. */
        report_check(file, line, NULL, NULL, NULL, " cr_skip_test called outside the test thread",
                     ap);
        end_run_with_failure("", false);
    }
    fprintf(stderr, "[SKIP] %s::%s: ", t ? t->suite : "?", t ? t->name : "?");
    vfprintf(stderr, fmt + 1, ap);
    fputc('\n', stderr);
    va_end(ap);
    longjmp(skip_jmp, 1);
}

void shim_log(enum criterion_logging_level level, const char *fmt, ...)
{
    const char *prefix = level == CR_LOG_ERROR     ? "[ERR ] "
                         : level == CR_LOG_WARNING ? "[WARN] "
                                                   : "[----] ";
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s%s\n", prefix, line);
}

/* ---- watchdog: enforces timeouts without signals (tests may use alarm() themselves) ---- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started;
    double deadline; /* CLOCK_MONOTONIC seconds; 0: no test is timed */
    double limit;    /* the scaled timeout of the timed test, for the message */
} wd = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&wd.mu);
    for (;;) {
        if (wd.deadline == 0) {
            pthread_cond_wait(&wd.cv, &wd.mu);
            continue;
        }
        if (now_s() >= wd.deadline)
            break;
        struct timespec until = {.tv_sec = (time_t)wd.deadline};
        until.tv_nsec = (long)((wd.deadline - (double)until.tv_sec) * 1e9);
        pthread_cond_timedwait(&wd.cv, &wd.mu, &until);
    }
    char why[64];
    snprintf(why, sizeof(why), "Timed out after %.3gs. ", wd.limit);
    end_run_with_failure(why, true);
}

static int watchdog_start(void)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&wd.cv, &ca) != 0)
        return -1;
    pthread_condattr_destroy(&ca);
    pthread_t th;
    if (pthread_create(&th, NULL, watchdog_main, NULL) != 0)
        return -1;
    pthread_detach(th);
    wd.started = true;
    return 0;
}

/* Arms (limit > 0) or disarms (limit == 0) the watchdog for the test about to run. */
static void watchdog_arm(double limit)
{
    if (limit > 0 && !wd.started && watchdog_start() != 0) {
        fputs("[WARN] cannot start the timeout watchdog; timeouts are not enforced\n", stderr);
        return;
    }
    if (!wd.started)
        return;
    pthread_mutex_lock(&wd.mu);
    wd.limit = limit;
    wd.deadline = limit > 0 ? now_s() + limit : 0;
    pthread_cond_signal(&wd.cv);
    pthread_mutex_unlock(&wd.mu);
}

/* ---- running ---- */

static const struct shim_suite *find_suite(const char *name)
{
    for (const struct shim_suite *s = suites; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* Why t must not run here, or NULL. */
static const char *skip_reason(const struct shim_test *t, const struct shim_suite *s)
{
    if (t->disabled || (s && s->disabled))
        return "Test is disabled";
    if (t->signal || t->exit_code || (s && (s->signal || s->exit_code)))
        return "expects its process to die, which needs Criterion's process per test";
    for (size_t i = 0; skip_list[i].suite; i++)
        if (strcmp(skip_list[i].suite, t->suite) == 0 &&
            (strcmp(skip_list[i].name, "*") == 0 || strcmp(skip_list[i].name, t->name) == 0))
            return skip_list[i].why;
    return NULL;
}

static bool selected(const struct shim_test *t)
{
    if (!opts.filter)
        return true;
    char id[512];
    snprintf(id, sizeof(id), "%s/%s", t->suite, t->name);
    return fnmatch(opts.filter, id, 0) == 0;
}

static double timeout_of(const struct shim_test *t, const struct shim_suite *s)
{
    double secs = t->timeout > 0 ? t->timeout : s && s->timeout > 0 ? s->timeout : opts.timeout;
    return secs * SHIM_TIMEOUT_SCALE;
}

/*
 * Runs one test with its fixtures. volatile: inits_done is read after a longjmp from
 * cr_skip_test, which only the fixtures that completed may be undone for.
 */
static void run_test(const struct shim_test *t, const struct shim_suite *s)
{
    volatile int inits_done = 0;
    if (setjmp(skip_jmp) == 0) {
        if (s && s->init)
            s->init();
        inits_done = 1;
        if (t->init)
            t->init();
        inits_done = 2;
        t->fn();
    } else {
        atomic_fetch_add_explicit(&n_skipped, 1, memory_order_relaxed);
    }
    if (inits_done >= 2 && t->fini)
        t->fini();
    if (inits_done >= 1 && s && s->fini)
        s->fini();
}

/* Returns false when the run must stop (fail-fast). */
static bool run_one(const struct shim_test *t)
{
    const struct shim_suite *s = find_suite(t->suite);
    const char *why = skip_reason(t, s);
    if (why) {
        fprintf(stderr, "[SKIP] %s::%s: %s\n", t->suite, t->name, why);
        atomic_fetch_add_explicit(&n_skipped, 1, memory_order_relaxed);
        return true;
    }
    fprintf(stderr, "[RUN ] %s::%s\n", t->suite, t->name);
    atomic_store_explicit(&current, t, memory_order_relaxed);
    atomic_store_explicit(&soft_failures, 0, memory_order_relaxed);
    clock_gettime(CLOCK_MONOTONIC, &test_start);
    int skipped_before = atomic_load_explicit(&n_skipped, memory_order_relaxed);

    watchdog_arm(timeout_of(t, s));
    run_test(t, s);
    watchdog_arm(0);
    /* Criterion gives each test its own process; an alarm() a test armed dies with it there. */
    alarm(0);

    if (atomic_load_explicit(&n_skipped, memory_order_relaxed) != skipped_before)
        return true;
    atomic_fetch_add_explicit(&n_tested, 1, memory_order_relaxed);
    if (atomic_load_explicit(&soft_failures, memory_order_relaxed) > 0) {
        atomic_fetch_add_explicit(&n_failed, 1, memory_order_relaxed);
        fprintf(stderr, "[FAIL] %s::%s: (%.2fs)\n", t->suite, t->name, elapsed_s());
        return !opts.fail_fast;
    }
    atomic_fetch_add_explicit(&n_passed, 1, memory_order_relaxed);
    fprintf(stderr, "[PASS] %s::%s: (%.2fs)\n", t->suite, t->name, elapsed_s());
    return true;
}

static int by_suite_then_name(const void *a, const void *b)
{
    const struct shim_test *x = *(const struct shim_test *const *)a;
    const struct shim_test *y = *(const struct shim_test *const *)b;
    int c = strcmp(x->suite, y->suite);
    return c != 0 ? c : strcmp(x->name, y->name);
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--filter PATTERN] [--timeout SECONDS] [-f|--fail-fast] [-l|--list]\n"
            "  Criterion shim for ThreadSanitizer builds (test/tsan/shim); PATTERN is a glob\n"
            "  over suite/test.\n",
            argv0);
    return 2;
}

/* Accepts "--name VALUE" and "--name=VALUE"; advances *i past what it used. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = option_value(argc, argv, &i, "--filter")) != NULL) {
            opts.filter = v;
        } else if ((v = option_value(argc, argv, &i, "--timeout")) != NULL) {
            char *end;
            opts.timeout = strtod(v, &end);
            if (*end != '\0' || opts.timeout < 0)
                return -1;
        } else if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--fail-fast") == 0) {
            opts.fail_fast = true;
        } else if (strcmp(argv[i], "-l") == 0 || strcmp(argv[i], "--list") == 0) {
            opts.list = true;
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) != 0)
        return usage(argv[0]);
    main_thread = pthread_self();

    struct shim_test **order = calloc(ntests ? ntests : 1, sizeof(*order));
    if (!order)
        abort();
    size_t n = 0;
    for (struct shim_test *t = tests; t; t = t->next)
        order[n++] = t;
    qsort(order, n, sizeof(*order), by_suite_then_name);

    for (size_t i = 0; i < n; i++) {
        if (!selected(order[i]))
            continue;
        if (opts.list) {
            const char *why = skip_reason(order[i], find_suite(order[i]->suite));
            fprintf(stdout, "%s::%s%s%s%s\n", order[i]->suite, order[i]->name,
                    why ? " (skipped: " : "", why ? why : "", why ? ")" : "");
            continue;
        }
        if (!run_one(order[i]))
            break;
    }
    free(order);
    if (opts.list)
        return 0;

    int skipped = atomic_load(&n_skipped);
    if (skipped)
        fprintf(stderr, "[====] Skipped: %d (see the [SKIP] lines)\n", skipped);
    print_synthesis();
    return atomic_load(&n_failed) + atomic_load(&n_crashed) > 0 ? 1 : 0;
}
