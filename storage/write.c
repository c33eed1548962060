/*
 * write.c - allocation of st_write, the unit of work submitted to a store.
 */
#include "storage/storage.h"

#include "common/alloc.h"

#include <stdlib.h>

st_write *st_write_new(st_op op, const char *key, cJSON *obj, uint64_t expect_rev)
{
    st_write *w = xcalloc(1, sizeof(*w));
    w->op = op;
    w->key = key ? xstrdup(key) : NULL;
    w->obj = obj;
    w->expect_rev = expect_rev;
    return w;
}

void st_write_free(st_write *w)
{
    if (!w)
        return;
    free(w->key);
    cJSON_Delete(w->obj);
    free(w->value);
    free(w);
}
