/*
 * timefmt.h - time formats of the Kubernetes API. Pure functions, thread-safe.
 */
#ifndef FOO_COMMON_TIMEFMT_H
#define FOO_COMMON_TIMEFMT_H

#include <stdbool.h>
#include <stdint.h>

#define RFC3339_LEN 21 /* "2025-05-01T10:00:00Z" plus NUL */

/* Formats unix seconds as RFC 3339 UTC with second precision and a Z suffix. */
void time_format_rfc3339(int64_t unix_s, char out[RFC3339_LEN]);
/* Parses RFC 3339 (fractions and numeric offsets accepted). Returns false on bad input. */
bool time_parse_rfc3339(const char *s, int64_t *unix_s);
/*
 * Formats a duration like Kubernetes' HumanDuration (apimachinery util/duration): "45s",
 * "5m30s", "90m", "4h20m", "2d3h", "400d", "3y10d". Negative durations print as "<invalid>".
 */
void time_format_human(int64_t seconds, char *out, int outlen);
/* Parses a Go duration ("32s", "1m30s", "500ms", "1h"). Returns false on bad input. */
bool time_parse_go_duration(const char *s, int64_t *ms);

#endif
