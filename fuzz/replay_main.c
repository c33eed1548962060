/*
 * replay_main.c - a main() for the fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput
 * once on every regular file of the files and directories named on the command line (not
 * recursive), in name order so runs are reproducible. Linked with each fuzz/fuzz_<name>.c into
 * replay_<name> in the ASan build, so `make test` replays every corpus and every regression under
 * ASan+UBSan with gcc, no clang needed.
 *
 * Usage: replay_<name> DIR_OR_FILE...   (a missing argument is skipped: regressions/<name>/
 * exists only once something was found). A sanitizer report aborts the process (non-zero exit).
 * On success prints one line "replay: <N> inputs, ok" on stdout and exits 0; exits 1 when an
 * argument cannot be read or no input at all was found.
 */
#include "fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Reads the whole file and runs the target on it. Returns 0, or -1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        abort();
    size_t n;
    while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
    }
    int rc = ferror(f) ? -1 : 0;
    fclose(f);
    if (rc == 0) {
        /* Exactly `len` bytes: a copy, so ASan sees reads past the input's end. */
        uint8_t *input = malloc(len ? len : 1);
        if (!input)
            abort();
        memcpy(input, buf, len);
        LLVMFuzzerTestOneInput(input, len);
        free(input);
    } else {
        fprintf(stderr, "replay: %s: read error\n", path);
    }
    free(buf);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir in name order; adds the count to *count. Returns 0 or -1. */
static int replay_dir(const char *dir, long *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ".", ".." and hidden files such as .gitkeep */
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                abort();
        }
        size_t plen = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(plen);
        if (!names[n])
            abort();
        snprintf(names[n], plen, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]) != 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    long count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            continue; /* an absent regressions/ folder: nothing to replay */
        if (S_ISDIR(st.st_mode))
            rc |= replay_dir(argv[i], &count);
        else if (replay_file(argv[i]) == 0)
            count++;
        else
            rc = -1;
    }
    if (rc != 0 || count == 0) {
        fprintf(stderr, "replay: %ld inputs, failed%s\n", count, count ? "" : " (no input found)");
        return 1;
    }
    printf("replay: %ld inputs, ok\n", count);
    return 0;
}
