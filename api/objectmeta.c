/*
 * objectmeta.c - validation of generic ObjectMeta and of Kubernetes' name syntaxes, with the
 * messages of apimachinery's util/validation and api/validation/objectmeta.go.
 */
#include "api/fielderr.h"
#include "api/foo.h"

#include "common/alloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define DNS1123_LABEL_MAX     63
#define DNS1123_SUBDOMAIN_MAX 253
#define QUALIFIED_NAME_MAX    63
#define LABEL_VALUE_MAX       63

/* Messages, word for word as apimachinery builds them (RegexError puts two spaces before "or"). */
#define MSG_LABEL_TOO_LONG     "must be no more than 63 characters"
#define MSG_SUBDOMAIN_TOO_LONG "must be no more than 253 characters"
#define MSG_DNS1123_LABEL                                                                          \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "   \
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "     \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define MSG_DNS1123_SUBDOMAIN_BODY                                                                 \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "       \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define MSG_QNAME_BODY                                                                             \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define MSG_LABEL_VALUE                                                                            \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

#define FINALIZER_ORPHAN     "orphan"
#define FINALIZER_FOREGROUND "foregroundDeletion"

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
    return isalnum((unsigned char)c) != 0;
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over s[0..n), no length limit. */
static bool label_syntax(const char *s, size_t n)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

/* Dot-separated labels, no length limit. */
static bool subdomain_syntax(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!label_syntax(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n). */
static bool qname_syntax(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    }
    return true;
}

const char *dns1123_label_error(const char *s)
{
    size_t n = strlen(s);
    if (n > DNS1123_LABEL_MAX)
        return MSG_LABEL_TOO_LONG;
    return label_syntax(s, n) ? NULL : MSG_DNS1123_LABEL;
}

const char *dns1123_subdomain_error(const char *s)
{
    size_t n = strlen(s);
    if (n > DNS1123_SUBDOMAIN_MAX)
        return MSG_SUBDOMAIN_TOO_LONG;
    return subdomain_syntax(s, n) ? NULL : MSG_DNS1123_SUBDOMAIN_BODY;
}

bool dns1123_label(const char *s)
{
    return s && dns1123_label_error(s) == NULL;
}

bool dns1123_subdomain(const char *s)
{
    return s && dns1123_subdomain_error(s) == NULL;
}

/* The prefix of a qualified name: a DNS-1123 subdomain, messages prefixed "prefix part ". */
static const char *qname_prefix_error(const char *s, size_t n)
{
    if (n == 0)
        return "prefix part must be non-empty";
    if (n > DNS1123_SUBDOMAIN_MAX)
        return "prefix part " MSG_SUBDOMAIN_TOO_LONG;
    return subdomain_syntax(s, n) ? NULL : "prefix part " MSG_DNS1123_SUBDOMAIN_BODY;
}

const char *meta_qualified_name_error(const char *s)
{
    const char *slash = strchr(s, '/');
    const char *name = s;
    if (slash) {
        if (strchr(slash + 1, '/'))
            return "a qualified name " MSG_QNAME_BODY " with an optional DNS subdomain prefix and "
                   "'/' (e.g. 'example.com/MyName')";
        const char *perr = qname_prefix_error(s, (size_t)(slash - s));
        if (perr)
            return perr;
        name = slash + 1;
    }
    size_t n = strlen(name);
    if (n == 0)
        return "name part must be non-empty";
    if (n > QUALIFIED_NAME_MAX)
        return "name part must be no more than 63 characters";
    return qname_syntax(name, n) ? NULL : "name part " MSG_QNAME_BODY;
}

const char *meta_label_value_error(const char *s)
{
    size_t n = strlen(s);
    if (n > LABEL_VALUE_MAX)
        return MSG_LABEL_TOO_LONG;
    if (n == 0)
        return NULL;
    return qname_syntax(s, n) ? NULL : MSG_LABEL_VALUE;
}

/* A child that is absent or JSON null counts as unset everywhere in ObjectMeta. */
static const cJSON *child(const cJSON *obj, const char *key)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(c) ? NULL : c;
}

/*
 * generateName is a prefix: kube validates it as a subdomain after masking one trailing '-'
 * (which a full name could not end with).
 */
static void validate_generate_name(const cJSON *meta, api_error *err)
{
    const cJSON *gn = child(meta, "generateName");
    if (!gn)
        return;
    if (!cJSON_IsString(gn)) {
        fe_type_invalid(err, "metadata.generateName", gn, "string");
        return;
    }
    size_t n = strlen(gn->valuestring);
    if (n == 0)
        return;
    char *masked = xstrdup(gn->valuestring);
    if (n > 1 && masked[n - 1] == '-')
        masked[n - 1] = 'a';
    const char *msg = dns1123_subdomain_error(masked);
    if (msg)
        fe_invalid_string(err, "metadata.generateName", gn->valuestring, msg);
    free(masked);
}

static void validate_name(const cJSON *meta, bool require_name, api_error *err)
{
    const cJSON *name = child(meta, "name");
    if (name && !cJSON_IsString(name)) {
        fe_type_invalid(err, "metadata.name", name, "string");
        return;
    }
    if (!name || !*name->valuestring) {
        if (require_name)
            fe_required(err, "metadata.name", "name or generateName is required");
        return;
    }
    const char *msg = dns1123_subdomain_error(name->valuestring);
    if (msg)
        fe_invalid_string(err, "metadata.name", name->valuestring, msg);
}

/* Checks that a map-valued field is an object whose values are strings; false otherwise. */
static bool string_map(const cJSON *map, const char *field, api_error *err)
{
    if (!cJSON_IsObject(map)) {
        fe_type_invalid(err, field, map, "object");
        return false;
    }
    bool ok = true;
    const cJSON *it;
    cJSON_ArrayForEach(it, map)
    {
        if (!cJSON_IsString(it)) {
            char *path = xasprintf("%s.%s", field, it->string);
            fe_type_invalid(err, path, it, "string");
            free(path);
            ok = false;
        }
    }
    return ok;
}

static void validate_labels(const cJSON *meta, api_error *err)
{
    const cJSON *labels = child(meta, "labels");
    if (!labels || !string_map(labels, "metadata.labels", err))
        return;
    const cJSON *it;
    cJSON_ArrayForEach(it, labels)
    {
        const char *msg = meta_qualified_name_error(it->string);
        if (msg)
            fe_invalid_string(err, "metadata.labels", it->string, msg);
        msg = meta_label_value_error(it->valuestring);
        if (msg)
            fe_invalid_string(err, "metadata.labels", it->valuestring, msg);
    }
}

static void validate_annotations(const cJSON *meta, api_error *err)
{
    const cJSON *ann = child(meta, "annotations");
    if (!ann || !string_map(ann, "metadata.annotations", err))
        return;
    size_t total = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, ann)
    {
        /* Annotation keys are qualified names in which case does not matter. */
        char *lower = xstrdup(it->string);
        for (char *p = lower; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        const char *msg = meta_qualified_name_error(lower);
        if (msg)
            fe_invalid_string(err, "metadata.annotations", it->string, msg);
        free(lower);
        total += strlen(it->string) + strlen(it->valuestring);
    }
    if (total > META_MAX_ANNOTATIONS_BYTES)
        fe_too_long(err, "metadata.annotations", META_MAX_ANNOTATIONS_BYTES);
}

static void validate_finalizers(const cJSON *meta, api_error *err)
{
    const cJSON *fins = child(meta, "finalizers");
    if (!fins)
        return;
    if (!cJSON_IsArray(fins)) {
        fe_type_invalid(err, "metadata.finalizers", fins, "array");
        return;
    }
    bool orphan = false, foreground = false;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, fins)
    {
        if (!cJSON_IsString(it)) {
            char *path = xasprintf("metadata.finalizers[%d]", i);
            fe_type_invalid(err, path, it, "string");
            free(path);
        } else {
            const char *msg = meta_qualified_name_error(it->valuestring);
            if (msg)
                fe_invalid_string(err, "metadata.finalizers", it->valuestring, msg);
            orphan |= strcmp(it->valuestring, FINALIZER_ORPHAN) == 0;
            foreground |= strcmp(it->valuestring, FINALIZER_FOREGROUND) == 0;
        }
        i++;
    }
    if (orphan && foreground)
        fe_invalid(err, "metadata.finalizers", fins,
                   "finalizer " FINALIZER_ORPHAN " and " FINALIZER_FOREGROUND
                   " cannot be both set");
}

void meta_validate(const cJSON *meta, bool require_name, api_error *err)
{
    if (meta && !cJSON_IsNull(meta) && !cJSON_IsObject(meta)) {
        fe_type_invalid(err, "metadata", meta, "object");
        return;
    }
    validate_generate_name(meta, err);
    validate_name(meta, require_name, err);
    validate_labels(meta, err);
    validate_annotations(meta, err);
    validate_finalizers(meta, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The string members of arr (NULL or not an array: none), borrowed, sorted; *n receives their
 * number. Sorting makes set operations O(n log n) where pairwise search would be O(n^2) for a
 * hostile list of 250 000 finalizers. The caller frees the array.
 */
static const char **sorted_strings(const cJSON *arr, size_t *n)
{
    *n = 0;
    size_t cap = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : 0;
    const char **out = xcalloc(cap + 1, sizeof *out);
    const cJSON *it;
    if (cap > 0) {
        cJSON_ArrayForEach(it, arr)
        {
            if (cJSON_IsString(it))
                out[(*n)++] = it->valuestring;
        }
    }
    qsort(out, *n, sizeof *out, cmp_str);
    return out;
}

void meta_validate_update(const cJSON *meta, const cJSON *old_meta, api_error *err)
{
    const cJSON *deleting = child(old_meta, "deletionTimestamp");
    const cJSON *fins = child(meta, "finalizers");
    if (!deleting || !cJSON_IsArray(fins))
        return;
    /* A set difference, as kube computes it: each new name once, sorted. */
    size_t nnew = 0, nold = 0, nadded = 0;
    const char **added = sorted_strings(fins, &nnew);
    const char **old = sorted_strings(child(old_meta, "finalizers"), &nold);
    for (size_t i = 0; i < nnew; i++) {
        bool repeated = nadded > 0 && strcmp(added[nadded - 1], added[i]) == 0;
        if (!repeated && !bsearch(&added[i], old, nold, sizeof *old, cmp_str))
            added[nadded++] = added[i]; /* in place: nadded <= i */
    }
    free(old);
    if (nadded > 0) {
        sbuf msg = SBUF_INIT;
        sbuf_puts(&msg, "no new finalizers can be added if the object is being deleted, found new "
                        "finalizers []string{");
        for (size_t j = 0; j < nadded; j++) {
            if (j)
                sbuf_puts(&msg, ", ");
            fe_render_quoted(&msg, added[j]);
        }
        sbuf_putc(&msg, '}');
        fe_forbidden(err, "metadata.finalizers", msg.data);
        sbuf_free(&msg);
    }
    free(added);
}
