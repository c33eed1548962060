/*
 * test_strlist.c - separated lists split into items (common/strlist.h).
 */
#include "common/strlist.h"

#include <criterion/criterion.h>
#include <string.h>

Test(strlist, items_are_split_trimmed_and_empty_ones_dropped)
{
    strlist l = strlist_split(" /healthz, /readyz ,,/livez,", ',');
    cr_assert_eq(l.n, 3);
    cr_assert_str_eq(l.items[0], "/healthz");
    cr_assert_str_eq(l.items[1], "/readyz");
    cr_assert_str_eq(l.items[2], "/livez");
    strlist_free(&l);
    cr_assert_null(l.items);
    cr_assert_eq(l.n, 0);
}

Test(strlist, nothing_gives_no_items)
{
    const char *nothing[] = {NULL, "", ",", " , ,"};
    for (size_t i = 0; i < sizeof nothing / sizeof nothing[0]; i++) {
        strlist l = strlist_split(nothing[i], ',');
        cr_assert_eq(l.n, 0, "case %zu", i);
        cr_assert_null(l.items, "case %zu", i);
    }
}

Test(strlist, one_item_without_a_separator)
{
    strlist l = strlist_split("https://127.0.0.1:2379", ',');
    cr_assert_eq(l.n, 1);
    cr_assert_str_eq(l.items[0], "https://127.0.0.1:2379");
    strlist_free(&l);
}
