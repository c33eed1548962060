/* json_expect.c - the shared JSON checks of json_expect.h. */
#include "json_expect.h"

#include "common/json.h"

#include <criterion/criterion.h>
#include <stdlib.h>

cJSON *tj_parse(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    cr_assert_not_null(j, "bad test JSON: %s", json);
    return j;
}

void tj_expect(const cJSON *got, const char *want_json, const char *what)
{
    cJSON *want = tj_parse(want_json);
    char *text = json_print(got);
    cr_expect(json_equal(got, want), "%s: got %s, want %s", what, text, want_json);
    free(text);
    cJSON_Delete(want);
}
