#include "common/log.h"
#include "common/sbuf.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_int verbosity;

void log_set_verbosity(int v)
{
    atomic_store(&verbosity, v);
}

int log_verbosity(void)
{
    return atomic_load(&verbosity);
}

static const char *level_name(enum log_level level)
{
    switch (level) {
    case LOG_ERROR:
        return "error";
    case LOG_WARN:
        return "warn";
    case LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

static void begin_line(sbuf *sb, enum log_level level, const char *msg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    sbuf_printf(sb, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":", when, ts.tv_nsec / 1000000,
                level_name(level));
    sbuf_json_string(sb, msg);
}

static void end_line(sbuf *sb)
{
    sbuf_puts(sb, "}\n");
    fwrite(sb->data, 1, sb->len, stderr);
    sbuf_free(sb);
}

void log_kv(enum log_level level, const char *msg, ...)
{
    sbuf sb = SBUF_INIT;
    begin_line(&sb, level, msg);
    va_list ap;
    va_start(ap, msg);
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        sbuf_putc(&sb, ',');
        sbuf_json_string(&sb, k);
        sbuf_putc(&sb, ':');
        sbuf_json_string(&sb, v ? v : "");
    }
    va_end(ap);
    end_line(&sb);
}

void log_printf(enum log_level level, const char *fmt, ...)
{
    sbuf msg = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    sbuf sb = SBUF_INIT;
    begin_line(&sb, level, msg.data ? msg.data : "");
    sbuf_free(&msg);
    end_line(&sb);
}
