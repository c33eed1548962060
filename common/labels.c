/*
 * labels.c - Kubernetes label selectors: a small lexer, a recursive-descent parser shaped like
 * apimachinery's (so errors read the same), matching and canonical printing.
 */
#include "common/labels.h"

#include "common/alloc.h"
#include "common/jsonkeys.h"
#include "common/sbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LB_NAME_MAX   63  /* label name part and label value */
#define LB_PREFIX_MAX 253 /* DNS-1123 subdomain */

/*
 * From this many requirements on, labels_match indexes the labels before looking keys up: a
 * selector of 100 000 requirements against 100 000 labels would otherwise cost 10^10 steps per
 * object. Below it, walking the few labels per requirement is cheaper than building an index.
 */
#define LB_INDEX_MIN_REQS 8

typedef enum {
    LB_EXISTS,
    LB_NOT_EXISTS,
    LB_EQUALS,
    LB_DOUBLE_EQUALS,
    LB_NOT_EQUALS,
    LB_IN,
    LB_NOT_IN,
    LB_GT,
    LB_LT,
} lb_op;

typedef struct lb_req {
    char *key;
    lb_op op;
    char **values; /* sorted and unique for in/notin; one value for =, ==, !=, >, < */
    size_t nvalues;
    size_t cap;       /* of values */
    size_t order;     /* position in the selector text, for a stable sort by key */
    long long number; /* >, < only */
} lb_req;

struct labels_selector {
    lb_req *reqs;
    size_t n;
    size_t cap;
};

/* ---- lexer ----------------------------------------------------------------------------------- */

typedef enum {
    TK_END,
    TK_IDENT,
    TK_OPEN,
    TK_CLOSE,
    TK_COMMA,
    TK_EQ,
    TK_DEQ,
    TK_NEQ,
    TK_NOT,
    TK_GT,
    TK_LT
} tk_kind;

typedef struct token {
    tk_kind kind;
    const char *text; /* into the selector string; len bytes */
    size_t len;
} token;

typedef struct lexer {
    const char *s;
    size_t pos;
} lexer;

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
    return c != '\0' && strchr("=!(),<>", c) != NULL;
}

static tk_kind special_kind(const char *p, size_t *len)
{
    *len = 2;
    if (p[0] == '=' && p[1] == '=')
        return TK_DEQ;
    if (p[0] == '!' && p[1] == '=')
        return TK_NEQ;
    *len = 1;
    switch (p[0]) {
    case '=':
        return TK_EQ;
    case '!':
        return TK_NOT;
    case '(':
        return TK_OPEN;
    case ')':
        return TK_CLOSE;
    case ',':
        return TK_COMMA;
    case '>':
        return TK_GT;
    default:
        return TK_LT;
    }
}

/* Reads the next token; an identifier is any run of non-blank, non-special characters. */
static token lex_next(lexer *lx)
{
    while (is_blank(lx->s[lx->pos]))
        lx->pos++;
    token t = {TK_END, lx->s + lx->pos, 0};
    char c = lx->s[lx->pos];
    if (c == '\0')
        return t;
    if (is_special(c)) {
        t.kind = special_kind(t.text, &t.len);
    } else {
        t.kind = TK_IDENT;
        while (t.text[t.len] && !is_blank(t.text[t.len]) && !is_special(t.text[t.len]))
            t.len++;
    }
    lx->pos += t.len;
    return t;
}

static token lex_peek(const lexer *lx)
{
    lexer copy = *lx;
    return lex_next(&copy);
}

static bool tok_is(const token *t, const char *word)
{
    return t->kind == TK_IDENT && strlen(word) == t->len && strncmp(t->text, word, t->len) == 0;
}

/* ---- key and value validation ---------------------------------------------------------------- */

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? over s[0..n). */
static bool is_label_token(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++) {
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    }
    return true;
}

/* One DNS-1123 label [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n). */
static bool is_dns_label(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool lower_alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
        bool inner = i > 0 && i + 1 < n;
        if (!lower_alnum && !(inner && s[i] == '-'))
            return false;
    }
    return true;
}

static bool is_dns_subdomain(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!is_dns_label(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

static bool check_name_part(const char *name, size_t n, const char *key, sbuf *why)
{
    if (n == 0) {
        sbuf_printf(why, "key: Invalid value: \"%s\": name part must be non-empty", key);
    } else if (n > LB_NAME_MAX) {
        sbuf_printf(why, "key: Invalid value: \"%s\": name part must be no more than %d characters",
                    key, LB_NAME_MAX);
    } else if (!is_label_token(name, n)) {
        sbuf_printf(why,
                    "key: Invalid value: \"%s\": name part must consist of alphanumeric "
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                    "character",
                    key);
    } else {
        return true;
    }
    return false;
}

/* Validates a qualified name: [DNS-1123 subdomain '/'] name. */
static bool check_key(const char *key, sbuf *why)
{
    const char *slash = strchr(key, '/');
    if (!slash)
        return check_name_part(key, strlen(key), key, why);
    if (strchr(slash + 1, '/')) {
        sbuf_printf(why,
                    "key: Invalid value: \"%s\": a qualified name must be a name with an "
                    "optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                    key);
        return false;
    }
    size_t plen = (size_t)(slash - key);
    if (plen == 0) {
        sbuf_printf(why, "key: Invalid value: \"%s\": prefix part must be non-empty", key);
        return false;
    }
    if (plen > LB_PREFIX_MAX) {
        sbuf_printf(why,
                    "key: Invalid value: \"%s\": prefix part must be no more than %d characters",
                    key, LB_PREFIX_MAX);
        return false;
    }
    if (!is_dns_subdomain(key, plen)) {
        sbuf_printf(why,
                    "key: Invalid value: \"%s\": prefix part must be a lowercase RFC 1123 "
                    "subdomain: lowercase alphanumeric characters, '-' or '.', starting and "
                    "ending with an alphanumeric character",
                    key);
        return false;
    }
    return check_name_part(slash + 1, strlen(slash + 1), key, why);
}

static bool check_value(const char *v, size_t i, sbuf *why)
{
    size_t n = strlen(v);
    if (n > LB_NAME_MAX) {
        sbuf_printf(why, "values[%zu]: Invalid value: \"%s\": must be no more than %d characters",
                    i, v, LB_NAME_MAX);
        return false;
    }
    if (n > 0 && !is_label_token(v, n)) {
        sbuf_printf(why,
                    "values[%zu]: Invalid value: \"%s\": a valid label must be an empty string or "
                    "consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                    "with an alphanumeric character",
                    i, v);
        return false;
    }
    return true;
}

/* Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, no overflow. */
static bool parse_int64(const char *s, long long *out)
{
    const char *digits = (*s == '+' || *s == '-') ? s + 1 : s;
    if (*digits == '\0' || strspn(digits, "0123456789") != strlen(digits))
        return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return false;
    *out = v;
    return true;
}

/* ---- requirements ---------------------------------------------------------------------------- */

static void req_free(lb_req *r)
{
    free(r->key);
    for (size_t i = 0; i < r->nvalues; i++)
        free(r->values[i]);
    free(r->values);
    memset(r, 0, sizeof *r);
}

static void req_add_value(lb_req *r, const char *text, size_t len)
{
    if (r->nvalues == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1;
        r->values = xrealloc(r->values, r->cap * sizeof *r->values);
    }
    r->values[r->nvalues++] = xstrndup(text, len);
}

static int cmp_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and deduplicates the values of an in/notin requirement (kube keeps them in a set). */
static void req_normalize_values(lb_req *r)
{
    qsort(r->values, r->nvalues, sizeof *r->values, cmp_strings);
    size_t out = 0;
    for (size_t i = 0; i < r->nvalues; i++) {
        if (out > 0 && strcmp(r->values[out - 1], r->values[i]) == 0)
            free(r->values[i]);
        else
            r->values[out++] = r->values[i];
    }
    r->nvalues = out;
}

/* The checks of kube's NewRequirement, once key, operator and values are read. */
static bool req_validate(lb_req *r, sbuf *why)
{
    if (r->op == LB_GT || r->op == LB_LT) {
        if (!parse_int64(r->values[0], &r->number)) {
            sbuf_printf(why,
                        "values[0]: Invalid value: \"%s\": for 'Gt', 'Lt' operators, the "
                        "value must be an integer",
                        r->values[0]);
            return false;
        }
    }
    for (size_t i = 0; i < r->nvalues; i++) {
        if (!check_value(r->values[i], i, why))
            return false;
    }
    if (r->op == LB_IN || r->op == LB_NOT_IN)
        req_normalize_values(r);
    return true;
}

static void put_token(sbuf *why, const token *t)
{
    sbuf_printf(why, "found '%.*s'", (int)t->len, t->text);
}

/* `( [v] {, [v]} )`: empty members are empty strings, so "()" is {""} as in kube. */
static bool parse_value_set(lexer *lx, lb_req *r, sbuf *why)
{
    token t = lex_next(lx);
    if (t.kind != TK_OPEN) {
        put_token(why, &t);
        sbuf_puts(why, ", expected: '('");
        return false;
    }
    bool want_value = true;
    for (;;) {
        t = lex_next(lx);
        if (t.kind == TK_IDENT && want_value) {
            req_add_value(r, t.text, t.len);
            want_value = false;
        } else if (t.kind == TK_COMMA || t.kind == TK_CLOSE) {
            if (want_value)
                req_add_value(r, "", 0);
            if (t.kind == TK_CLOSE)
                return true;
            want_value = true;
        } else {
            put_token(why, &t);
            sbuf_puts(why,
                      want_value ? ", expected: ',', ')' or identifier" : ", expected: ',' or ')'");
            return false;
        }
    }
}

/* The value after =, ==, !=, >, <: an identifier, or "" at the end of the requirement. */
static bool parse_single_value(lexer *lx, lb_req *r, sbuf *why)
{
    token t = lex_peek(lx);
    if (t.kind == TK_END || t.kind == TK_COMMA) {
        req_add_value(r, "", 0);
        return true;
    }
    t = lex_next(lx);
    if (t.kind != TK_IDENT) {
        put_token(why, &t);
        sbuf_puts(why, ", expected: identifier");
        return false;
    }
    req_add_value(r, t.text, t.len);
    return true;
}

static bool parse_operator(lexer *lx, lb_op *op, sbuf *why)
{
    token t = lex_next(lx);
    static const struct {
        tk_kind kind;
        lb_op op;
    } simple[] = {{TK_EQ, LB_EQUALS},
                  {TK_DEQ, LB_DOUBLE_EQUALS},
                  {TK_NEQ, LB_NOT_EQUALS},
                  {TK_GT, LB_GT},
                  {TK_LT, LB_LT}};
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        if (t.kind == simple[i].kind) {
            *op = simple[i].op;
            return true;
        }
    }
    if (tok_is(&t, "in") || tok_is(&t, "notin")) {
        *op = tok_is(&t, "in") ? LB_IN : LB_NOT_IN;
        return true;
    }
    put_token(why, &t);
    sbuf_puts(why, ", expected: in, notin, =, ==, !=, gt, lt");
    return false;
}

/* One requirement; on error why holds the reason (without kube's prefix). */
static bool parse_requirement(lexer *lx, lb_req *r, sbuf *why)
{
    token t = lex_next(lx);
    bool negated = t.kind == TK_NOT;
    if (negated)
        t = lex_next(lx);
    if (t.kind != TK_IDENT) {
        put_token(why, &t);
        sbuf_puts(why, ", expected: identifier");
        return false;
    }
    r->key = xstrndup(t.text, t.len);
    if (!check_key(r->key, why))
        return false;
    token next = lex_peek(lx);
    if (negated || next.kind == TK_END || next.kind == TK_COMMA) {
        r->op = negated ? LB_NOT_EXISTS : LB_EXISTS;
        return true;
    }
    if (!parse_operator(lx, &r->op, why))
        return false;
    bool ok = (r->op == LB_IN || r->op == LB_NOT_IN) ? parse_value_set(lx, r, why)
                                                     : parse_single_value(lx, r, why);
    return ok && req_validate(r, why);
}

/* ---- selector -------------------------------------------------------------------------------- */

static void sel_append(labels_selector *sel, lb_req *r)
{
    if (sel->n == sel->cap) {
        sel->cap = sel->cap ? sel->cap * 2 : 4;
        sel->reqs = xrealloc(sel->reqs, sel->cap * sizeof *sel->reqs);
    }
    r->order = sel->n;
    sel->reqs[sel->n++] = *r;
}

static int cmp_reqs(const void *a, const void *b)
{
    const lb_req *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Stable sort by key, as kube's sort.Stable: O(n log n) even for a hostile selector. */
static void sel_sort(labels_selector *sel)
{
    if (sel->n > 1) /* reqs is NULL while empty, and qsort may not be given NULL */
        qsort(sel->reqs, sel->n, sizeof *sel->reqs, cmp_reqs);
}

/* The top level of kube's parser: requirements separated by commas, then the end. */
static bool parse_selector(lexer *lx, labels_selector *sel, api_error *err)
{
    sbuf why = SBUF_INIT;
    bool ok = false;
    for (;;) {
        token t = lex_peek(lx);
        if (t.kind == TK_END) {
            ok = true;
            break;
        }
        if (t.kind != TK_IDENT && t.kind != TK_NOT) {
            put_token(&why, &t);
            sbuf_puts(&why, ", expected: !, identifier, or 'end of string'");
            apierr_bad_request(err, "%s", why.data);
            break;
        }
        lb_req r = {0};
        if (!parse_requirement(lx, &r, &why)) {
            req_free(&r);
            apierr_bad_request(err, "unable to parse requirement: %s", why.data);
            break;
        }
        sel_append(sel, &r);
        t = lex_next(lx);
        if (t.kind == TK_END) {
            ok = true;
            break;
        }
        if (t.kind != TK_COMMA) {
            put_token(&why, &t);
            sbuf_puts(&why, ", expected: ',' or 'end of string'");
            apierr_bad_request(err, "%s", why.data);
            break;
        }
        t = lex_peek(lx);
        if (t.kind != TK_IDENT && t.kind != TK_NOT) {
            put_token(&why, &t);
            sbuf_puts(&why, ", expected: identifier after ','");
            apierr_bad_request(err, "%s", why.data);
            break;
        }
    }
    sbuf_free(&why);
    return ok;
}

labels_selector *labels_parse(const char *s, api_error *err)
{
    labels_selector *sel = xcalloc(1, sizeof *sel);
    lexer lx = {s ? s : "", 0};
    if (!parse_selector(&lx, sel, err)) {
        labels_free(sel);
        return NULL;
    }
    sel_sort(sel);
    return sel;
}

void labels_free(labels_selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++)
        req_free(&sel->reqs[i]);
    free(sel->reqs);
    free(sel);
}

bool labels_is_empty(const labels_selector *sel)
{
    return !sel || sel->n == 0;
}

/* ---- matching -------------------------------------------------------------------------------- */

/* True when v is one of r's values (sorted for in/notin, so a binary search). */
static bool has_value(const lb_req *r, const char *v)
{
    return bsearch(&v, r->values, r->nvalues, sizeof *r->values, cmp_strings) != NULL;
}

/*
 * kube's Requirement.Matches for the label value v of r's key (NULL: absent or not a string):
 * absent keys satisfy only !, != and notin.
 */
static bool req_match(const lb_req *r, const char *v)
{
    long long n;
    switch (r->op) {
    case LB_EXISTS:
        return v != NULL;
    case LB_NOT_EXISTS:
        return v == NULL;
    case LB_EQUALS:
    case LB_DOUBLE_EQUALS:
    case LB_IN:
        return v && has_value(r, v);
    case LB_NOT_EQUALS:
    case LB_NOT_IN:
        return !v || !has_value(r, v);
    case LB_GT:
        return v && parse_int64(v, &n) && n > r->number;
    case LB_LT:
        return v && parse_int64(v, &n) && n < r->number;
    }
    return false;
}

bool labels_match(const labels_selector *sel, const cJSON *labels)
{
    if (!sel)
        return true;
    if (!cJSON_IsObject(labels))
        labels = NULL;
    jk_index *ix = labels && sel->n >= LB_INDEX_MIN_REQS ? jk_index_of(labels) : NULL;
    bool match = true;
    for (size_t i = 0; i < sel->n && match; i++) {
        const char *key = sel->reqs[i].key;
        const cJSON *item = NULL;
        if (ix)
            item = jk_index_get(ix, key);
        else if (labels)
            item = cJSON_GetObjectItemCaseSensitive(labels, key);
        match = req_match(&sel->reqs[i], cJSON_GetStringValue(item));
    }
    jk_index_free(ix);
    return match;
}

/* ---- printing -------------------------------------------------------------------------------- */

static void format_req(sbuf *sb, const lb_req *r)
{
    static const char *const ops[] = {
        [LB_EQUALS] = "=", [LB_DOUBLE_EQUALS] = "==", [LB_NOT_EQUALS] = "!=", [LB_GT] = ">",
        [LB_LT] = "<",
    };
    switch (r->op) {
    case LB_EXISTS:
        sbuf_puts(sb, r->key);
        return;
    case LB_NOT_EXISTS:
        sbuf_printf(sb, "!%s", r->key);
        return;
    case LB_IN:
    case LB_NOT_IN:
        sbuf_printf(sb, "%s %s (", r->key, r->op == LB_IN ? "in" : "notin");
        for (size_t i = 0; i < r->nvalues; i++)
            sbuf_printf(sb, "%s%s", i ? "," : "", r->values[i]);
        sbuf_putc(sb, ')');
        return;
    default:
        sbuf_printf(sb, "%s%s%s", r->key, ops[r->op], r->values[0]);
        return;
    }
}

char *labels_format(const labels_selector *sel)
{
    sbuf sb = SBUF_INIT;
    for (size_t i = 0; sel && i < sel->n; i++) {
        if (i > 0)
            sbuf_putc(&sb, ',');
        format_req(&sb, &sel->reqs[i]);
    }
    return sbuf_detach(&sb, NULL);
}
