#include "apiserver/selector.h"
#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

static bool parse_fields(as_req *req, as_selector *sel, const char *s)
{
    if (!s || !*s)
        return true;
    sel->storage = xstrdup(s);
    char *save = NULL;
    for (char *term = strtok_r(sel->storage, ",", &save); term; term = strtok_r(NULL, ",", &save)) {
        char *op = strstr(term, "!=");
        int oplen = 2;
        bool neg = op != NULL;
        if (!op && !(op = strstr(term, "==")))
            op = strchr(term, '='), oplen = 1;
        if (!op) {
            as_respond_status(req, 400, "BadRequest",
                              "invalid selector: '%s'; can't understand '%s'", s, term);
            return false;
        }
        *op = '\0';
        const char *field = term, *value = op + oplen;
        if (strcmp(field, "metadata.name") == 0) {
            if (neg)
                sel->name_ne = value;
            else
                sel->name_eq = value;
        } else if (strcmp(field, "metadata.namespace") != 0) {
            as_respond_status(req, 400, "BadRequest", "field label not supported: %s", field);
            return false;
        }
    }
    return true;
}

bool as_selector_parse(as_req *req, as_selector *sel)
{
    memset(sel, 0, sizeof *sel);
    if (!parse_fields(req, sel, as_param_get(req, "fieldSelector")))
        return false;
    const char *labels = as_param_get(req, "labelSelector");
    if (!labels || !*labels)
        return true;
    api_error e = API_ERROR_INIT;
    sel->labels = labels_parse(labels, &e);
    if (!sel->labels) {
        as_respond_error(req, &e);
        apierr_clear(&e);
        return false;
    }
    if (labels_is_empty(sel->labels)) {
        labels_free(sel->labels);
        sel->labels = NULL;
    }
    return true;
}

bool as_selector_matches(const as_selector *sel, const char *name, wc_blob *b)
{
    if (sel->name_eq && strcmp(name, sel->name_eq) != 0)
        return false;
    if (sel->name_ne && strcmp(name, sel->name_ne) == 0)
        return false;
    return !sel->labels || labels_match(sel->labels, wc_blob_labels(b));
}

void as_selector_free(as_selector *sel)
{
    free(sel->storage);
    labels_free(sel->labels);
    memset(sel, 0, sizeof *sel);
}
