/*
 * runner.c (TSan shim) - registry and main() for the Criterion shim in criterion/criterion.h.
 * Runs every registered test in registration order and prints a Criterion-style summary line.
 */
#include "criterion/criterion.h"

#include <stdarg.h>
#include <stdio.h>

static struct shim_suite *suites;
static struct shim_test *tests_head, **tests_tail = &tests_head;

void shim_register_suite(struct shim_suite *s)
{
    s->next = suites;
    suites = s;
}

void shim_register_test(struct shim_test *t)
{
    t->next = NULL;
    *tests_tail = t;
    tests_tail = &t->next;
}

static const struct shim_test *current;

void shim_check(bool ok, const char *expr, const char *file, int line, const char *fmt, ...)
{
    if (ok)
        return;
    fprintf(stderr, "[FAIL] %s::%s: %s:%d: assertion failed: %s\n", current->suite, current->name,
            file, line, expr);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    exit(1);
}

void shim_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("[----] ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const struct shim_suite *find_suite(const char *name)
{
    for (const struct shim_suite *s = suites; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

int main(int argc, char **argv)
{
    /* Optional argument: run only the tests of that suite. */
    const char *only = argc > 1 ? argv[1] : NULL;
    int n = 0;
    for (const struct shim_test *t = tests_head; t; t = t->next) {
        if (only && strcmp(only, t->suite) != 0)
            continue;
        const struct shim_suite *s = find_suite(t->suite);
        current = t;
        if (s && s->init)
            s->init();
        t->fn();
        if (s && s->fini)
            s->fini();
        fprintf(stderr, "[PASS] %s::%s\n", t->suite, t->name);
        n++;
    }
    fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: 0 | Crashing: 0 \n", n,
            n);
    return 0;
}
