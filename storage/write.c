/*
 * write.c - allocation of st_write, the unit of work submitted to a store, and the stamp every
 * backend puts on a write it commits.
 */
#include "storage/backend.h"

#include "common/alloc.h"
#include "common/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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

void st_write_reset_outputs(st_write *w)
{
    w->result = ST_OK;
    w->rev = 0;
    free(w->value);
    w->value = NULL;
    w->value_len = 0;
}

void st_write_stamp(st_write *w, uint64_t rev)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, rev);
    json_set_string(json_ensure_object(w->obj, "metadata"), "resourceVersion", buf);
    w->value = json_print(w->obj);
    w->value_len = strlen(w->value);
}
