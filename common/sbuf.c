#include "common/sbuf.h"
#include "common/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sbuf_init(sbuf *sb)
{
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

void sbuf_reserve(sbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    sb->data = xrealloc(sb->data, cap);
    sb->cap = cap;
}

int sbuf_read_file(sbuf *sb, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t n;
    do {
        sbuf_reserve(sb, 4096);
        n = fread(sb->data + sb->len, 1, sb->cap - sb->len - 1, f);
        sb->len += n;
        sb->data[sb->len] = '\0';
    } while (n > 0);
    int rc = ferror(f) ? -EIO : 0;
    fclose(f);
    return rc;
}

void sbuf_append(sbuf *sb, const void *p, size_t n)
{
    sbuf_reserve(sb, n);
    if (n)
        memcpy(sb->data + sb->len, p, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void sbuf_puts(sbuf *sb, const char *s)
{
    sbuf_append(sb, s, strlen(s));
}

void sbuf_putc(sbuf *sb, char c)
{
    sbuf_append(sb, &c, 1);
}

void sbuf_vprintf(sbuf *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n <= 0)
        return;
    sbuf_reserve(sb, (size_t)n);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void sbuf_printf(sbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(sb, fmt, ap);
    va_end(ap);
}

void sbuf_put_double(sbuf *sb, double v)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    sbuf_puts(sb, buf);
}

void sbuf_json_string(sbuf *sb, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    sbuf_putc(sb, '"');
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;
    for (; *p; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\')
            continue;
        sbuf_append(sb, run, (size_t)(p - run));
        run = p + 1;
        switch (*p) {
        case '"':
            sbuf_puts(sb, "\\\"");
            break;
        case '\\':
            sbuf_puts(sb, "\\\\");
            break;
        case '\n':
            sbuf_puts(sb, "\\n");
            break;
        case '\r':
            sbuf_puts(sb, "\\r");
            break;
        case '\t':
            sbuf_puts(sb, "\\t");
            break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            sbuf_append(sb, esc, 6);
        }
        }
    }
    sbuf_append(sb, run, (size_t)(p - run));
    sbuf_putc(sb, '"');
}

void sbuf_reset(sbuf *sb)
{
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

char *sbuf_detach(sbuf *sb, size_t *len)
{
    if (!sb->data)
        sbuf_reserve(sb, 0), sb->data[0] = '\0';
    char *d = sb->data;
    if (len)
        *len = sb->len;
    sbuf_init(sb);
    return d;
}

void sbuf_free(sbuf *sb)
{
    free(sb->data);
    sbuf_init(sb);
}
