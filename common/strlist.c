/*
 * strlist.c - separated lists split into items (strlist.h).
 */
#include "common/strlist.h"

#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

strlist strlist_split(const char *list, char sep)
{
    strlist l = {0};
    if (!list || !*list)
        return l;
    size_t len = strlen(list), slots = 1;
    for (const char *p = list; *p; p++)
        slots += *p == sep;
    /* The item pointers first, then a copy of the text they point into. */
    l.items = xmalloc(slots * sizeof(char *) + len + 1);
    char *text = (char *)(l.items + slots);
    memcpy(text, list, len + 1);
    for (char *item = text;;) {
        char *end = strchr(item, sep);
        if (end)
            *end = '\0';
        while (is_blank(*item))
            item++;
        char *last = item + strlen(item);
        while (last > item && is_blank(last[-1]))
            *--last = '\0';
        if (*item)
            l.items[l.n++] = item;
        if (!end)
            break;
        item = end + 1;
    }
    if (l.n == 0)
        strlist_free(&l);
    return l;
}

void strlist_free(strlist *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}
