#include "apiserver/resource/selector.h"
#include "common/alloc.h"
#include "common/sbuf.h"

#include <stdlib.h>
#include <string.h>

/* One term of a field selector as written: field, operator, unescaped value. */
typedef struct raw_term {
    sbuf field, value;
    bool negated;
} raw_term;

/* Reads the field name up to its operator; *p is left after the operator. */
static bool read_field(const char **p, raw_term *t)
{
    for (const char *c = *p; *c && *c != ','; c++) {
        if (c[0] == '!' && c[1] == '=') {
            t->negated = true;
            *p = c + 2;
            return true;
        }
        if (c[0] == '=') {
            *p = c + (c[1] == '=' ? 2 : 1);
            return true;
        }
        sbuf_putc(&t->field, *c);
    }
    return false;
}

/*
 * Reads the value up to an unescaped ','; *p is left on the ',' or the end. As in kube, ',', '=',
 * '!' and '\\' must be escaped with '\\' inside a value; anything else is a bad term.
 */
static bool read_value(const char **p, raw_term *t)
{
    const char *c = *p;
    for (; *c && *c != ','; c++) {
        if (*c == '\\') {
            if (!c[1] || !strchr(",=!\\", c[1]))
                return false;
            c++;
        } else if (*c == '=' || *c == '!') {
            return false;
        }
        sbuf_putc(&t->value, *c);
    }
    *p = c;
    return true;
}

static bool add_term(as_selector *sel, raw_term *t, api_error *e)
{
    const char *f = t->field.data ? t->field.data : "";
    as_field field;
    if (strcmp(f, "metadata.name") == 0)
        field = AS_FIELD_NAME;
    else if (strcmp(f, "metadata.namespace") == 0)
        field = AS_FIELD_NAMESPACE;
    else {
        apierr_bad_request(e, "field label not supported: %s", f);
        return false;
    }
    sel->terms = xrealloc(sel->terms, (sel->nterms + 1) * sizeof *sel->terms);
    sel->terms[sel->nterms++] =
        (as_field_term){field, t->negated, xstrdup(t->value.data ? t->value.data : "")};
    return true;
}

static bool parse_fields(as_selector *sel, const char *s, api_error *e)
{
    const char *p = s;
    while (*p) {
        if (*p == ',') { /* an empty term selects everything: skipped, as kube does */
            p++;
            continue;
        }
        raw_term t = {SBUF_INIT, SBUF_INIT, false};
        const char *start = p;
        bool ok = read_field(&p, &t) && read_value(&p, &t);
        if (!ok) {
            size_t n = strcspn(start, ",");
            char *term = xstrndup(start, n);
            apierr_bad_request(e, "invalid selector: '%s'; can't understand '%s'", s, term);
            free(term);
        } else {
            ok = add_term(sel, &t, e);
        }
        sbuf_free(&t.field);
        sbuf_free(&t.value);
        if (!ok)
            return false;
    }
    return true;
}

bool as_selector_parse(const char *field_selector, const char *label_selector, as_selector *sel,
                       api_error *e)
{
    memset(sel, 0, sizeof *sel);
    if (field_selector && !parse_fields(sel, field_selector, e))
        return false;
    if (!label_selector || !*label_selector)
        return true;
    sel->labels = labels_parse(label_selector, e);
    if (!sel->labels)
        return false;
    if (labels_is_empty(sel->labels)) {
        labels_free(sel->labels);
        sel->labels = NULL;
    }
    return true;
}

bool as_selector_matches(const as_selector *sel, const char *ns, const char *name, wc_blob *b)
{
    for (size_t i = 0; i < sel->nterms; i++) {
        const as_field_term *t = &sel->terms[i];
        const char *have = t->field == AS_FIELD_NAME ? name : ns ? ns : "";
        if ((strcmp(have, t->value) == 0) == t->negated)
            return false;
    }
    return !sel->labels || labels_match(sel->labels, wc_blob_labels(b));
}

const char *as_selector_only_name(const as_selector *sel)
{
    for (size_t i = 0; i < sel->nterms; i++)
        if (sel->terms[i].field == AS_FIELD_NAME && !sel->terms[i].negated)
            return sel->terms[i].value;
    return NULL;
}

void as_selector_free(as_selector *sel)
{
    for (size_t i = 0; i < sel->nterms; i++)
        free(sel->terms[i].value);
    free(sel->terms);
    labels_free(sel->labels);
    memset(sel, 0, sizeof *sel);
}
