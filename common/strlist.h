/*
 * strlist.h - a separated list, such as a comma-separated flag value (--etcd-servers,
 * --requestheader-allowed-names, --authorization-always-allow-paths), split into its items.
 */
#ifndef FOO_COMMON_STRLIST_H
#define FOO_COMMON_STRLIST_H

typedef struct strlist {
    const char **items; /* n items, each trimmed of blanks, none empty; NULL when n == 0 */
    int n;
} strlist;

/*
 * Splits list (NULL or "" = no items) at every sep; blanks around an item are dropped, and so
 * are empty items. The items and their text live in one allocation owned by the result: free
 * it with strlist_free. Never fails (allocation failure aborts, as everywhere). Thread-safe.
 */
strlist strlist_split(const char *list, char sep);

/* Frees what l holds and zeroes it. */
void strlist_free(strlist *l);

#endif
