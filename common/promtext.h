/*
 * promtext.h - the escaping rules of Prometheus' text exposition format 0.0.4, shared by the
 * writers of /metrics pages (controllers/metrics.c, workqueue/metrics.c): label values escape
 * backslash, double quote and newline; HELP text escapes backslash and newline only.
 * Appends never fail (sbuf aborts on OOM by policy). Pure functions; thread-safe.
 */
#ifndef FOO_COMMON_PROMTEXT_H
#define FOO_COMMON_PROMTEXT_H

#include "common/sbuf.h"

/* Appends v as it goes between the quotes of `name="..."`. */
void prom_put_label_value(sbuf *out, const char *v);
/* Appends text as it goes after `# HELP name `. */
void prom_put_help(sbuf *out, const char *text);

#endif
