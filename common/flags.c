#include "common/flags.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(const flag_def *defs, int n, const char *program)
{
    printf("Usage: %s [flags]\n\nFlags:\n", program);
    for (int i = 0; i < n; i++)
        printf("  %s%s%s\n      %s\n", strlen(defs[i].name) == 1 ? "-" : "--", defs[i].name,
               defs[i].type == FLAG_BOOL ? "" : " value", defs[i].help);
}

static const flag_def *find(const flag_def *defs, int n, const char *name, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strlen(defs[i].name) == len && strncmp(defs[i].name, name, len) == 0)
            return &defs[i];
    return NULL;
}

static int set_value(const flag_def *d, const char *value)
{
    char *end;
    switch (d->type) {
    case FLAG_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
            *(bool *)d->target = true;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
            *(bool *)d->target = false;
        else
            return -1;
        return 0;
    case FLAG_INT: {
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || isspace((unsigned char)*value) || *end || errno == ERANGE || v < INT_MIN ||
            v > INT_MAX)
            return -1; /* 4294967296 must not become 0 */
        *(int *)d->target = (int)v;
        return 0;
    }
    case FLAG_STRING:
        *(const char **)d->target = value;
        return 0;
    }
    return -1;
}

int flags_parse(int argc, char **argv, const flag_def *defs, int n, const char *program)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(defs, n, program);
            return 1;
        }
        if (arg[0] != '-') {
            fprintf(stderr, "%s: unexpected argument %s\n", program, arg);
            return -1;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const flag_def *d = find(defs, n, name, len);
        if (!d) {
            fprintf(stderr, "%s: unknown flag %s\n", program, arg);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && d->type == FLAG_BOOL)
            value = "true";
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: flag %s needs a value\n", program, arg);
                return -1;
            }
            value = argv[++i];
        }
        if (set_value(d, value) != 0) {
            fprintf(stderr, "%s: bad value %s for flag --%s\n", program, value, d->name);
            return -1;
        }
    }
    return 0;
}
