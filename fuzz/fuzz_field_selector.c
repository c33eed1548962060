/*
 * fuzz_field_selector.c - field selectors (apiserver/resource/selector.h, as_selector_parse): the
 * fieldSelector query parameter of list, watch and deletecollection, where selecting too much
 * deletes too much.
 *
 * The input is the selector text. A rejected selector carries a 400 BadRequest. A parsed one is
 * matched against objects named after every value of its terms (so equalities can hold) and a
 * few fixed names, and must select exactly the objects for which every term holds (terms are
 * ANDed); when it names one object (as_selector_only_name), nothing else may match.
 */
#include "apiserver/resource/selector.h"
#include "apiserver/resource/watchcache.h"
#include "common/apierr.h"
#include "fuzz/fuzz.h"

/* A stored object as the watch cache holds it: labels {"app":"web"}. Free with wc_blob_unref. */
static wc_blob *blob_of(const char *ns, const char *name)
{
    static const char json[] = "{\"metadata\":{\"labels\":{\"app\":\"web\"}}}";
    size_t len = sizeof json - 1, klen = strlen(ns) + strlen(name) + 2;
    wc_blob *b = malloc(sizeof *b + len + 1 + klen);
    FUZZ_CHECK(b != NULL);
    atomic_init(&b->refs, 1);
    atomic_init(&b->labels, NULL);
    b->rev = 1;
    b->len = len;
    memcpy(b->data, json, len + 1);
    b->key = b->data + len + 1;
    snprintf(b->key, klen, "%s/%s", ns, name);
    return b;
}

/* What the selector must answer for (ns, name), from its parsed terms. */
static bool expected(const as_selector *sel, const char *ns, const char *name)
{
    for (size_t i = 0; i < sel->nterms; i++) {
        const as_field_term *t = &sel->terms[i];
        const char *actual = t->field == AS_FIELD_NAME ? name : ns;
        if ((strcmp(actual, t->value) == 0) == t->negated)
            return false;
    }
    return true;
}

static void check_object(const as_selector *sel, const char *ns, const char *name)
{
    wc_blob *b = blob_of(ns, name);
    bool got = as_selector_matches(sel, ns, name, b);
    FUZZ_CHECK(got == expected(sel, ns, name));
    const char *only = as_selector_only_name(sel);
    if (got && only)
        FUZZ_CHECK(strcmp(only, name) == 0);
    wc_blob_unref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    as_selector sel;
    api_error err = API_ERROR_INIT;
    if (!as_selector_parse(text, NULL, &sel, &err)) {
        FUZZ_CHECK(err.code == 400 && err.reason && strcmp(err.reason, "BadRequest") == 0);
        FUZZ_CHECK(err.message != NULL);
    } else {
        FUZZ_CHECK(!apierr_is_set(&err));
        for (size_t i = 0; i < sel.nterms; i++) {
            FUZZ_CHECK(sel.terms[i].field == AS_FIELD_NAME ||
                       sel.terms[i].field == AS_FIELD_NAMESPACE);
            FUZZ_CHECK(sel.terms[i].value != NULL);
        }
        const char *fixed[] = {"", "default", "web", "a"};
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
                check_object(&sel, fixed[i], fixed[k]);
        for (size_t i = 0; i < sel.nterms && i < 8; i++) {
            check_object(&sel, "default", sel.terms[i].value);
            check_object(&sel, sel.terms[i].value, "web");
            for (size_t k = 0; k < sel.nterms && k < 8; k++)
                check_object(&sel, sel.terms[k].value, sel.terms[i].value);
        }
    }
    as_selector_free(&sel);
    apierr_clear(&err);
    free(text);
    return 0;
}
