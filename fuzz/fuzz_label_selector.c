/*
 * fuzz_label_selector.c - label selectors (common/labels.h), read from the labelSelector query
 * parameter of list, watch and deletecollection, and from Scale's status.selector.
 *
 * The input is the selector text. A parsed selector must print (labels_format) as text that
 * parses again to a selector printing the same (the canonical form is a fixed point) and that
 * matches exactly the same label sets; a rejected selector must carry a 400 BadRequest.
 */
#include "common/apierr.h"
#include "common/labels.h"
#include "fuzz/fuzz.h"

#include <cjson/cJSON.h>

/* Label sets every selector is matched against: empty, typical, and values that hit > and <. */
static const char *const label_sets[] = {
    "{}",
    "{\"app\":\"web\",\"tier\":\"frontend\"}",
    "{\"app\":\"db\",\"env\":\"prod\",\"demo.example.com/foo\":\"a\"}",
    "{\"n\":\"5\",\"m\":\"-3\",\"x\":\"\"}",
    "{\"a\":\"b\",\"c\":\"d\",\"e\":\"f\",\"k8s.io/name\":\"v-1.2_3\"}",
};
#define NSETS (sizeof label_sets / sizeof label_sets[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    api_error err = API_ERROR_INIT;
    labels_selector *sel = labels_parse(text, &err);
    if (!sel) {
        FUZZ_CHECK(err.code == 400);
        FUZZ_CHECK(err.reason && strcmp(err.reason, "BadRequest") == 0);
        FUZZ_CHECK(err.message != NULL);
        apierr_clear(&err);
        free(text);
        return 0;
    }
    FUZZ_CHECK(!apierr_is_set(&err));

    char *canon = labels_format(sel);
    FUZZ_CHECK(canon != NULL);
    labels_selector *again = labels_parse(canon, &err);
    if (!again)
        fprintf(stderr, "canonical form \"%s\" does not parse: %s\n", canon, err.message);
    FUZZ_CHECK(again != NULL);
    char *canon2 = labels_format(again);
    FUZZ_CHECK(strcmp(canon, canon2) == 0);
    FUZZ_CHECK(labels_is_empty(sel) == labels_is_empty(again));
    FUZZ_CHECK(labels_is_empty(sel) == (canon[0] == '\0'));

    for (size_t i = 0; i < NSETS; i++) {
        cJSON *labels = cJSON_Parse(label_sets[i]);
        FUZZ_CHECK(labels != NULL);
        FUZZ_CHECK(labels_match(sel, labels) == labels_match(again, labels));
        cJSON_Delete(labels);
    }
    FUZZ_CHECK(labels_match(sel, NULL) == labels_match(again, NULL));

    free(canon2);
    labels_free(again);
    free(canon);
    labels_free(sel);
    free(text);
    return 0;
}
