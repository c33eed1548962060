/*
 * sbuf.h - growable byte/string buffer (like curl's dynbuf).
 *
 * The buffer is always NUL-terminated after any append, so sb.data can be used as a C string
 * when no NUL bytes were appended. Growth goes through xrealloc (out-of-memory aborts).
 * Not thread-safe; one owner at a time.
 */
#ifndef FOO_COMMON_SBUF_H
#define FOO_COMMON_SBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct sbuf {
    char *data; /* NULL until the first append */
    size_t len; /* bytes used, excluding the terminating NUL */
    size_t cap; /* bytes allocated */
} sbuf;

#define SBUF_INIT                                                                                  \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void sbuf_init(sbuf *sb);
/* Ensures room for `extra` more bytes plus the NUL. */
void sbuf_reserve(sbuf *sb, size_t extra);
void sbuf_append(sbuf *sb, const void *p, size_t n);
void sbuf_puts(sbuf *sb, const char *s);
void sbuf_putc(sbuf *sb, char c);
void sbuf_printf(sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vprintf(sbuf *sb, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included, escaping as RFC 8259 requires. */
void sbuf_json_string(sbuf *sb, const char *s);
/*
 * Appends v in the shortest %g form (1 to 17 significant digits) that strtod reads back as
 * exactly v: 0.1 stays "0.1", not "0.10000000000000001" (the digits Go's FormatFloat(v, 'g',
 * -1, 64) picks, for metrics and kube-worded messages). NaN and infinities print as printf's %g
 * does; callers with their own words for them check first.
 */
void sbuf_put_double(sbuf *sb, double v);
/*
 * Appends the whole file at path, read straight into the buffer (no intermediate copy to wipe
 * when it holds secrets); the buffer stays NUL-terminated, data non-NULL even for an empty file.
 * Returns 0 or -errno (what was read before a read error stays appended).
 */
int sbuf_read_file(sbuf *sb, const char *path);
/* Forgets the content, keeps the allocation. */
void sbuf_reset(sbuf *sb);
/* Returns the data (never NULL; "" for an empty buffer) and gives ownership to the caller. */
char *sbuf_detach(sbuf *sb, size_t *len);
void sbuf_free(sbuf *sb);

#endif
