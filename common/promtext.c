/* promtext.c - the exposition-format escaping of promtext.h. */
#include "common/promtext.h"

#include <stdbool.h>

static void put_escaped(sbuf *out, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            sbuf_puts(out, "\\\\");
        else if (*s == '\n')
            sbuf_puts(out, "\\n");
        else if (quote && *s == '"')
            sbuf_puts(out, "\\\"");
        else
            sbuf_putc(out, *s);
    }
}

void prom_put_label_value(sbuf *out, const char *v)
{
    put_escaped(out, v, true);
}

void prom_put_help(sbuf *out, const char *text)
{
    put_escaped(out, text, false);
}
