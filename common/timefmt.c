#include "common/timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void time_format_rfc3339(int64_t unix_s, char out[RFC3339_LEN])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

bool time_parse_rfc3339(const char *s, int64_t *unix_s)
{
    int Y, M, D, h, m, sec;
    if (!s || strlen(s) < 20)
        return false;
    if (!digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
        !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return false;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    int offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
            return false;
        offset = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
                    .tm_hour = h, .tm_min = m, .tm_sec = sec};
    *unix_s = (int64_t)timegm(&tm) - offset;
    return true;
}

void time_format_human(int64_t d, char *out, int outlen)
{
    /* Same thresholds as apimachinery's HumanDuration. */
    if (d < 0) {
        snprintf(out, (size_t)outlen, "<invalid>");
    } else if (d < 60 * 2) {
        snprintf(out, (size_t)outlen, "%llds", (long long)d);
    } else if (d < 60 * 10) {
        int64_t s = d % 60;
        if (s == 0)
            snprintf(out, (size_t)outlen, "%lldm", (long long)(d / 60));
        else
            snprintf(out, (size_t)outlen, "%lldm%llds", (long long)(d / 60), (long long)s);
    } else if (d < 60 * 60 * 3) {
        snprintf(out, (size_t)outlen, "%lldm", (long long)(d / 60));
    } else if (d < 60 * 60 * 8) {
        int64_t h = d / 3600, m = (d / 60) % 60;
        if (m == 0)
            snprintf(out, (size_t)outlen, "%lldh", (long long)h);
        else
            snprintf(out, (size_t)outlen, "%lldh%lldm", (long long)h, (long long)m);
    } else if (d < 60 * 60 * 48) {
        snprintf(out, (size_t)outlen, "%lldh", (long long)(d / 3600));
    } else if (d < 60 * 60 * 24 * 8) {
        int64_t h = (d / 3600) % 24;
        if (h == 0)
            snprintf(out, (size_t)outlen, "%lldd", (long long)(d / 86400));
        else
            snprintf(out, (size_t)outlen, "%lldd%lldh", (long long)(d / 86400), (long long)h);
    } else if (d < 60 * 60 * 24 * 365 * 2) {
        snprintf(out, (size_t)outlen, "%lldd", (long long)(d / 86400));
    } else if (d < 60 * 60 * 24 * 365 * 8) {
        int64_t dy = (d / 86400) % 365;
        if (dy == 0)
            snprintf(out, (size_t)outlen, "%lldy", (long long)(d / (86400 * 365)));
        else
            snprintf(out, (size_t)outlen, "%lldy%lldd", (long long)(d / (86400 * 365)),
                     (long long)dy);
    } else {
        snprintf(out, (size_t)outlen, "%lldy", (long long)(d / (86400 * 365)));
    }
}

bool time_parse_go_duration(const char *s, int64_t *ms)
{
    if (!s || !*s)
        return false;
    double total = 0;
    const char *p = s;
    if (strcmp(p, "0") == 0) {
        *ms = 0;
        return true;
    }
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || v < 0)
            return false;
        p = end;
        double unit;
        if (strncmp(p, "ms", 2) == 0)
            unit = 1, p += 2;
        else if (strncmp(p, "us", 2) == 0)
            unit = 0.001, p += 2;
        else if (strncmp(p, "ns", 2) == 0)
            unit = 0.000001, p += 2;
        else if (*p == 'h')
            unit = 3600000, p++;
        else if (*p == 'm')
            unit = 60000, p++;
        else if (*p == 's')
            unit = 1000, p++;
        else
            return false;
        total += v * unit;
    }
    *ms = (int64_t)total;
    return true;
}
