/*
 * flags.h - command-line flags in Kubernetes' style: "--name value", "--name=value", booleans as
 * "--name" or "--name=false", and "-v N". Used by both programs' main(). Not thread-safe (call
 * from main before starting threads).
 */
#ifndef FOO_COMMON_FLAGS_H
#define FOO_COMMON_FLAGS_H

typedef enum flag_type { FLAG_BOOL, FLAG_INT, FLAG_STRING } flag_type;

typedef struct flag_def {
    const char *name; /* without dashes; "v" is accepted as -v too */
    flag_type type;
    void *target; /* bool *, int * or const char ** (points into argv) */
    const char *help;
} flag_def;

/*
 * Parses argv into the targets. Returns 0 on success, 1 when --help was given (usage printed to
 * stdout), -1 on a bad flag (message printed to stderr).
 */
int flags_parse(int argc, char **argv, const flag_def *defs, int n, const char *program);

#endif
