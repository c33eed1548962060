/*
 * yamljson.c - YAML to cJSON over libyaml's event parser.
 *
 * Events rather than libyaml's document loader, for three reasons: the loader builds its own
 * node graph for the whole input first (memory we do not need, and unbounded nesting before we
 * could check it); it resolves an alias to the very node of its anchor, so converting the graph
 * naively expands aliases without any bound; and events let us stop the parser at the first
 * problem. A stack of open containers (at most YAMLJSON_MAX_DEPTH) receives the values.
 *
 * Every value built stays alive until the conversion ends, even one a repeated mapping key
 * replaces (it moves to a "replaced" list): anchors point at built values, and must never point
 * at freed memory.
 */
#include "common/yamljson.h"

#include "common/alloc.h"
#include "common/jsonkeys.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/*
 * A defined anchor: what an alias to it stands for. Anchors are found by name through a
 * jsonkeys index (its hash is seeded: the names come from the client, who must not be able to
 * make them all collide), which files cJSON items by their name; so an anchor starts with one.
 */
typedef struct yj_anchor {
    cJSON entry;            /* first member; entry.string is the anchor's name */
    const cJSON *value;     /* borrowed from the tree being built (or the replaced list) */
    char *text;             /* a scalar's text, so that an alias can also be a mapping key */
    bool plain;             /* text was a plain scalar (for an anchored key used as a value) */
    size_t nodes;           /* values an alias to it produces */
    struct yj_anchor *next; /* every anchor defined, to free them */
} yj_anchor;

/* An open sequence or mapping. */
typedef struct yj_frame {
    cJSON *container;
    jk_index *keys;     /* mappings: members by key, so a repeated key costs O(1) */
    char *pending_key;  /* mappings: the key read, its value awaited */
    char *anchor;       /* registered when the container ends */
    size_t nodes_start; /* conv.nodes when it started */
} yj_frame;

typedef struct yj_conv {
    yj_frame stack[YAMLJSON_MAX_DEPTH];
    int depth;
    cJSON *root;            /* the document's value, once complete */
    cJSON *replaced;        /* values replaced by a repeated key, kept alive for anchors */
    jk_index *anchor_names; /* yj_anchor entries by name */
    yj_anchor *anchors;     /* all of them, linked by next */
    size_t nodes;           /* values produced so far, aliases expanded */
    size_t budget;          /* yaml_node_budget of the input */
    char *error;            /* first problem; stops the conversion */
} yj_conv;

size_t yaml_node_budget(size_t len)
{
    size_t half = len / 2;
    if (half > YAMLJSON_MAX_NODES - YAMLJSON_MIN_NODES)
        return YAMLJSON_MAX_NODES;
    return YAMLJSON_MIN_NODES + half;
}

static cJSON *plain_scalar(const char *v, size_t len)
{
    if (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
        strcmp(v, "NULL") == 0)
        return cJSON_CreateNull();
    static const char *yes[] = {"true", "True", "TRUE"};
    static const char *no[] = {"false", "False", "FALSE"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(v, yes[i]) == 0)
            return cJSON_CreateTrue();
        if (strcmp(v, no[i]) == 0)
            return cJSON_CreateFalse();
    }
    char *end;
    double d = strtod(v, &end);
    bool numeric = *v && *end == '\0' && strspn(v, "+-0123456789.eE") == len;
    return numeric ? cJSON_CreateNumber(d) : cJSON_CreateString(v);
}

/* Records the first problem only; later ones are consequences. Takes ownership of msg. */
static void fail(yj_conv *cv, char *msg)
{
    if (cv->error)
        free(msg);
    else
        cv->error = msg;
}

/* Counts n more values against the budget; false (and fails) when it is exceeded. */
static bool count_nodes(yj_conv *cv, size_t n)
{
    if (n > cv->budget - cv->nodes) {
        fail(cv, xasprintf("document contains excessive aliasing: it would expand to more than "
                           "%zu values",
                           cv->budget));
        return false;
    }
    cv->nodes += n;
    return true;
}

static yj_anchor *find_anchor(yj_conv *cv, const char *name)
{
    return (yj_anchor *)jk_index_get(cv->anchor_names, name); /* entry is the first member */
}

/* Defines (or redefines) anchor name for value; text is a scalar's text or NULL. */
static void define_anchor(yj_conv *cv, const char *name, const cJSON *value, const char *text,
                          bool plain, size_t nodes)
{
    yj_anchor *a = find_anchor(cv, name);
    if (!a) {
        a = xcalloc(1, sizeof *a);
        a->entry.string = xstrdup(name);
        a->next = cv->anchors;
        cv->anchors = a;
        jk_index_put(cv->anchor_names, &a->entry);
    }
    free(a->text);
    a->value = value;
    a->text = text ? xstrdup(text) : NULL;
    a->plain = plain;
    a->nodes = nodes;
}

static yj_frame *top(yj_conv *cv)
{
    return cv->depth > 0 ? &cv->stack[cv->depth - 1] : NULL;
}

/* True when the innermost container is a mapping waiting for a key. */
static bool expecting_key(yj_conv *cv)
{
    yj_frame *f = top(cv);
    return f && cJSON_IsObject(f->container) && !f->pending_key;
}

/* Hands a finished value to the innermost container, or makes it the document's value. */
static void deliver(yj_conv *cv, cJSON *value)
{
    yj_frame *f = top(cv);
    if (!f) {
        cv->root = value;
        return;
    }
    if (cJSON_IsArray(f->container)) {
        cJSON_AddItemToArray(f->container, value);
        return;
    }
    cJSON_AddItemToObject(f->container, f->pending_key, value);
    free(f->pending_key);
    f->pending_key = NULL;
    cJSON *previous = jk_index_put(f->keys, value);
    if (previous) /* the last of repeated keys wins */
        cJSON_AddItemToArray(cv->replaced, cJSON_DetachItemViaPointer(f->container, previous));
}

static void on_scalar(yj_conv *cv, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (strlen(text) != len) {
        fail(cv, xstrdup("YAML strings may not contain NUL characters"));
        return;
    }
    const char *anchor = (const char *)ev->data.scalar.anchor;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (expecting_key(cv)) {
        top(cv)->pending_key = xstrdup(text);
        if (anchor) /* a key is a value too, if an alias uses it as one */
            define_anchor(cv, anchor, NULL, text, plain, 1);
        return;
    }
    if (!count_nodes(cv, 1))
        return;
    cJSON *value = plain ? plain_scalar(text, len) : cJSON_CreateString(text);
    if (anchor)
        define_anchor(cv, anchor, value, text, plain, 1);
    deliver(cv, value);
}

static void on_alias(yj_conv *cv, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    yj_anchor *a = find_anchor(cv, name);
    if (!a) {
        fail(cv, xasprintf("unknown anchor '%s' referenced", name));
        return;
    }
    if (expecting_key(cv)) {
        if (!a->text) {
            fail(cv, xstrdup("YAML mapping keys must be scalars"));
            return;
        }
        top(cv)->pending_key = xstrdup(a->text);
        return;
    }
    if (!count_nodes(cv, a->nodes))
        return;
    cJSON *copy;
    if (a->value)
        copy = cJSON_Duplicate(a->value, 1);
    else
        copy = a->plain ? plain_scalar(a->text, strlen(a->text)) : cJSON_CreateString(a->text);
    deliver(cv, copy ? copy : cJSON_CreateNull());
}

static void on_start(yj_conv *cv, const yaml_event_t *ev, bool mapping)
{
    if (expecting_key(cv)) {
        fail(cv, xstrdup("YAML mapping keys must be scalars"));
        return;
    }
    if (cv->depth == YAMLJSON_MAX_DEPTH) {
        fail(cv, xasprintf("YAML nesting too deep (more than %d levels)", YAMLJSON_MAX_DEPTH));
        return;
    }
    if (!count_nodes(cv, 1))
        return;
    const yaml_char_t *anchor =
        mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    yj_frame *f = &cv->stack[cv->depth++];
    memset(f, 0, sizeof *f);
    f->container = mapping ? cJSON_CreateObject() : cJSON_CreateArray();
    f->keys = mapping ? jk_index_new() : NULL;
    f->anchor = anchor ? xstrdup((const char *)anchor) : NULL;
    f->nodes_start = cv->nodes - 1;
}

static void on_end(yj_conv *cv)
{
    yj_frame f = *top(cv);
    cv->depth--;
    if (f.anchor)
        define_anchor(cv, f.anchor, f.container, NULL, false, cv->nodes - f.nodes_start);
    free(f.anchor);
    free(f.pending_key);
    jk_index_free(f.keys);
    deliver(cv, f.container);
}

/* Frees everything but a completed root. */
static void conv_free(yj_conv *cv)
{
    while (cv->depth > 0) {
        yj_frame *f = &cv->stack[--cv->depth];
        cJSON_Delete(f->container);
        jk_index_free(f->keys);
        free(f->pending_key);
        free(f->anchor);
    }
    jk_index_free(cv->anchor_names);
    while (cv->anchors) {
        yj_anchor *a = cv->anchors;
        cv->anchors = a->next;
        free(a->entry.string);
        free(a->text);
        free(a);
    }
    cJSON_Delete(cv->replaced);
}

/* Feeds one event to the conversion; true when the first document is complete. */
static bool on_event(yj_conv *cv, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        on_scalar(cv, ev);
        break;
    case YAML_ALIAS_EVENT:
        on_alias(cv, ev);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        on_start(cv, ev, ev->type == YAML_MAPPING_START_EVENT);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        on_end(cv);
        break;
    case YAML_DOCUMENT_END_EVENT:
        return true;
    case YAML_STREAM_END_EVENT:
        fail(cv, xstrdup("empty YAML document"));
        break;
    default: /* stream and document start */
        break;
    }
    return false;
}

cJSON *yaml_to_json(const char *text, size_t len, api_error *err)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        apierr_set(err, 500, "InternalError", "cannot initialize the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yj_conv cv = {.replaced = cJSON_CreateArray(),
                  .anchor_names = jk_index_new(),
                  .budget = yaml_node_budget(len)};
    bool done = false;
    while (!done && !cv.error) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            fail(&cv, xasprintf("invalid YAML at line %zu: %s", parser.problem_mark.line + 1,
                                parser.problem ? parser.problem : "syntax error"));
            break;
        }
        done = on_event(&cv, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    conv_free(&cv);
    if (!cv.error && !cv.root) /* a document without content, e.g. "---\n...\n" */
        cv.error = xstrdup("empty YAML document");
    if (cv.error) {
        cJSON_Delete(cv.root);
        apierr_bad_request(err, "%s", cv.error);
        free(cv.error);
        return NULL;
    }
    return cv.root;
}
