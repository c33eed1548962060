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

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
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
    /* Go's time.Parse (what kube uses) rejects out-of-range fields, including second 60. */
    if (M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || m > 59 || sec > 59)
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
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        offset = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    struct tm tm = {.tm_year = Y - 1900,
                    .tm_mon = M - 1,
                    .tm_mday = D,
                    .tm_hour = h,
                    .tm_min = m,
                    .tm_sec = sec};
    *unix_s = (int64_t)timegm(&tm) - offset;
    return true;
}

void time_format_human(int64_t d, char *out, int outlen)
{
    /*
     * Same thresholds as apimachinery's HumanDuration, which tolerates one second of clock skew
     * between machines: -1s still reads "0s", only earlier is "<invalid>".
     */
    if (d < -1) {
        snprintf(out, (size_t)outlen, "<invalid>");
    } else if (d < 0) {
        snprintf(out, (size_t)outlen, "0s");
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

/*
 * Go's duration units in nanoseconds, longest first where one is a prefix of another ("ms"
 * before "m"). Microseconds may be written "us", with U+00B5 (micro sign) or U+03BC (mu).
 */
static const struct {
    const char *name;
    uint64_t ns;
} DURATION_UNITS[] = {
    {"ns", 1ull},       {"us", 1000ull},      {"\xc2\xb5s", 1000ull}, {"\xce\xbcs", 1000ull},
    {"ms", 1000000ull}, {"s", 1000000000ull}, {"m", 60000000000ull},  {"h", 3600000000000ull},
};

/* Largest total we accept: Go's maximum duration (int64 nanoseconds). */
#define DURATION_MAX_NS 9223372036854775807ull
/* Fraction digits kept; further ones are below a nanosecond for every unit. */
#define DURATION_MAX_FRAC_DIGITS 18

/*
 * Reads one "<digits>[.<digits>]" number at *p (at least one digit): the whole part, and the
 * fraction as frac / scale. Advances *p. False on no digit or an overflowing whole part.
 */
static bool duration_number(const char **p, uint64_t *whole, uint64_t *frac, uint64_t *scale)
{
    const char *s = *p;
    bool any = false;
    *whole = *frac = 0;
    *scale = 1;
    for (; isdigit((unsigned char)*s); s++, any = true) {
        if (*whole > DURATION_MAX_NS / 10)
            return false;
        *whole = *whole * 10 + (uint64_t)(*s - '0');
    }
    if (*s == '.') {
        s++;
        for (int n = 0; isdigit((unsigned char)*s); s++, n++, any = true) {
            if (n < DURATION_MAX_FRAC_DIGITS) {
                *frac = *frac * 10 + (uint64_t)(*s - '0');
                *scale *= 10;
            }
        }
    }
    *p = s;
    return any;
}

/* Reads a unit at *p and advances *p; false when none is there. */
static bool duration_unit(const char **p, uint64_t *ns)
{
    for (size_t i = 0; i < sizeof DURATION_UNITS / sizeof DURATION_UNITS[0]; i++) {
        size_t n = strlen(DURATION_UNITS[i].name);
        if (strncmp(*p, DURATION_UNITS[i].name, n) == 0) {
            *ns = DURATION_UNITS[i].ns;
            *p += n;
            return true;
        }
    }
    return false;
}

bool time_parse_go_duration(const char *s, int64_t *ms)
{
    /*
     * Go's grammar: [+]("0" | (number unit)+), summed in integer nanoseconds as Go does (the
     * fraction times unit/scale, so "0.29s" is exactly 290ms). Negative durations are refused:
     * none of our uses (timeouts, intervals) gives them a meaning.
     */
    if (!s)
        return false;
    if (*s == '+')
        s++;
    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return true;
    }
    if (!*s)
        return false;
    uint64_t total = 0;
    while (*s) {
        uint64_t whole, frac, scale, unit;
        if (!duration_number(&s, &whole, &frac, &scale) || !duration_unit(&s, &unit))
            return false;
        if (whole > DURATION_MAX_NS / unit)
            return false;
        uint64_t v = whole * unit + (uint64_t)((double)frac * ((double)unit / (double)scale));
        if (v > DURATION_MAX_NS - total)
            return false;
        total += v;
    }
    *ms = (int64_t)(total / 1000000ull);
    return true;
}
