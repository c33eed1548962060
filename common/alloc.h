/*
 * alloc.h - allocation wrappers.
 *
 * Policy (as in git's xmalloc and redis' zmalloc): running out of memory is fatal. These wrappers
 * log one JSON line and abort() instead of returning NULL, so callers never test their result.
 * Every other failure in the project is returned to the caller. cJSON is routed through the same
 * wrappers by alloc_install_cjson_hooks(), so cJSON_Create*()/cJSON_Print*() never return NULL
 * for lack of memory (they still return NULL on bad input, which callers must check).
 */
#ifndef FOO_COMMON_ALLOC_H
#define FOO_COMMON_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Copies n bytes of s and NUL-terminates the copy. */
char *xstrndup(const char *s, size_t n);
/* asprintf() that aborts on out-of-memory. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Makes cJSON allocate through xmalloc/free. Call once in main() before any thread starts. */
void alloc_install_cjson_hooks(void);

#endif
