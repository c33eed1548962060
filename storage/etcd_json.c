/*
 * etcd_json.c - building and decoding etcd gateway messages (see etcd_json.h).
 */
#include "storage/etcd_json.h"

#include "common/alloc.h"
#include "common/base64.h"
#include "common/json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- requests ---------------------------------------------------------------------------- */

static void ej_put_b64_field(sbuf *sb, const char *name, const void *data, size_t n)
{
    sbuf_printf(sb, "\"%s\":\"", name);
    b64_append(sb, data, n);
    sbuf_putc(sb, '"');
}

/*
 * The end of the range of keys starting with prefix: prefix with its last byte below 0xff
 * incremented (etcd's GetPrefixRangeEnd); "\0" (every key) when there is none. *n = its length.
 */
static char *ej_prefix_end(const char *prefix, size_t *n)
{
    size_t len = strlen(prefix);
    char *end = xstrndup(prefix, len);
    while (len > 0) {
        unsigned char c = (unsigned char)end[len - 1];
        if (c < 0xff) {
            end[len - 1] = (char)(c + 1);
            *n = len;
            return end;
        }
        len--;
    }
    end[0] = '\0';
    *n = 1;
    return end;
}

char *ej_range_request(const char *key, bool prefix_end, const char *after_key, uint64_t rev,
                       long limit, bool count_only)
{
    sbuf sb = SBUF_INIT;
    sbuf_putc(&sb, '{');
    if (after_key) {
        /* The key right after after_key: after_key followed by a NUL byte. */
        size_t n = strlen(after_key);
        char *next = xmalloc(n + 1);
        memcpy(next, after_key, n + 1);
        ej_put_b64_field(&sb, "key", next, n + 1);
        free(next);
    } else {
        ej_put_b64_field(&sb, "key", key, strlen(key));
    }
    if (prefix_end) {
        size_t n = 0;
        char *end = ej_prefix_end(key, &n);
        sbuf_putc(&sb, ',');
        ej_put_b64_field(&sb, "range_end", end, n);
        free(end);
    }
    if (rev)
        sbuf_printf(&sb, ",\"revision\":\"%" PRIu64 "\"", rev);
    if (limit > 0)
        sbuf_printf(&sb, ",\"limit\":\"%ld\"", limit);
    if (count_only)
        sbuf_puts(&sb, ",\"count_only\":true");
    sbuf_putc(&sb, '}');
    return sbuf_detach(&sb, NULL);
}

char *ej_txn_request(char op, const char *key, const char *value, size_t value_len,
                     uint64_t expect_rev, const char *marker)
{
    sbuf sb = SBUF_INIT;
    size_t klen = strlen(key);
    sbuf_puts(&sb, "{\"compare\":[{");
    ej_put_b64_field(&sb, "key", key, klen);
    if (op == 'c')
        sbuf_puts(&sb, ",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"");
    else if (expect_rev == 0)
        sbuf_puts(&sb, ",\"target\":\"CREATE\",\"result\":\"GREATER\",\"create_revision\":\"0\"");
    else
        sbuf_printf(&sb,
                    ",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"%" PRIu64 "\"",
                    expect_rev);
    sbuf_puts(&sb, "}],\"success\":[{");
    if (op == 'd') {
        sbuf_puts(&sb, "\"request_delete_range\":{");
        ej_put_b64_field(&sb, "key", key, klen);
        sbuf_puts(&sb, ",\"prev_kv\":true}");
    } else {
        sbuf_puts(&sb, "\"request_put\":{");
        ej_put_b64_field(&sb, "key", key, klen);
        sbuf_putc(&sb, ',');
        ej_put_b64_field(&sb, "value", value, value_len);
        sbuf_putc(&sb, '}');
    }
    sbuf_puts(&sb, "},{\"request_put\":{");
    ej_put_b64_field(&sb, "key", marker, strlen(marker));
    sbuf_puts(&sb, "}}]}");
    return sbuf_detach(&sb, NULL);
}

char *ej_conflict_request(const char *key, const char *marker)
{
    sbuf sb = SBUF_INIT;
    sbuf_puts(&sb, "{\"success\":[{\"request_range\":{");
    ej_put_b64_field(&sb, "key", key, strlen(key));
    sbuf_puts(&sb, ",\"keys_only\":true}},{\"request_range\":{");
    ej_put_b64_field(&sb, "key", marker, strlen(marker));
    sbuf_puts(&sb, ",\"keys_only\":true}}]}");
    return sbuf_detach(&sb, NULL);
}

char *ej_watch_request(const char *prefix, uint64_t start_rev)
{
    sbuf sb = SBUF_INIT;
    size_t n = 0;
    char *end = ej_prefix_end(prefix, &n);
    sbuf_puts(&sb, "{\"create_request\":{");
    ej_put_b64_field(&sb, "key", prefix, strlen(prefix));
    sbuf_putc(&sb, ',');
    ej_put_b64_field(&sb, "range_end", end, n);
    sbuf_printf(&sb,
                ",\"start_revision\":\"%" PRIu64 "\",\"prev_kv\":true,\"progress_notify\":true}}",
                start_rev);
    free(end);
    return sbuf_detach(&sb, NULL);
}

/* ---- decoding helpers -------------------------------------------------------------------- */

/*
 * A revision-like int64 field sent as a decimal string. Absent = 0 (the gateway omits zeros).
 * Returns 0, or -EPROTO for another type, a non-digit, or a value past EJ_MAX_REV.
 */
static int ej_uint_field(const cJSON *obj, const char *name, uint64_t *out)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = 0;
    if (!f)
        return 0;
    const char *s = cJSON_IsString(f) ? f->valuestring : NULL;
    if (!s || !*s || strlen(s) > 19)
        return -EPROTO;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EPROTO;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > EJ_MAX_REV)
        return -EPROTO;
    *out = v;
    return 0;
}

/* A boolean field; absent = false. */
static int ej_bool_field(const cJSON *obj, const char *name, bool *out)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = false;
    if (!f)
        return 0;
    if (!cJSON_IsBool(f))
        return -EPROTO;
    *out = cJSON_IsTrue(f);
    return 0;
}

/* An object field; absent = NULL with 0, another type = -EPROTO. */
static int ej_object_field(const cJSON *obj, const char *name, const cJSON **out)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!f)
        return 0;
    if (!cJSON_IsObject(f))
        return -EPROTO;
    *out = f;
    return 0;
}

/* An array field; absent = NULL with 0. */
static int ej_array_field(const cJSON *obj, const char *name, const cJSON **out)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!f)
        return 0;
    if (!cJSON_IsArray(f))
        return -EPROTO;
    *out = f;
    return 0;
}

/* The header's revision; required and >= 1 when required is set. */
static int ej_header(const cJSON *msg, bool required, uint64_t *rev)
{
    const cJSON *h = NULL;
    *rev = 0;
    if (ej_object_field(msg, "header", &h) != 0)
        return -EPROTO;
    if (!h)
        return required ? -EPROTO : 0;
    if (ej_uint_field(h, "revision", rev) != 0)
        return -EPROTO;
    return required && *rev == 0 ? -EPROTO : 0;
}

static cJSON *ej_parse_object(const char *body, size_t len)
{
    if (!body || len == 0 || len > EJ_MAX_MESSAGE_BYTES)
        return NULL;
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (root && !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

void ej_kv_free(ej_kv *kv)
{
    free(kv->key);
    free(kv->value);
    memset(kv, 0, sizeof(*kv));
}

/* Decodes a base64 string field (absent = empty) into a NUL-terminated buffer. */
static int ej_bytes_field(const cJSON *obj, const char *name, size_t max, char **out, size_t *len)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!f) {
        *out = xstrdup("");
        *len = 0;
        return 0;
    }
    if (!cJSON_IsString(f))
        return -EPROTO;
    return b64_decode(f->valuestring, strlen(f->valuestring), max, out, len) == 0 ? 0 : -EPROTO;
}

/* Decodes one mvccpb.KeyValue. The key must be non-empty and hold no NUL byte. */
static int ej_kv_decode(const cJSON *o, ej_kv *kv)
{
    memset(kv, 0, sizeof(*kv));
    size_t klen = 0;
    if (!cJSON_IsObject(o) || ej_bytes_field(o, "key", EJ_MAX_KEY_BYTES, &kv->key, &klen) != 0)
        return -EPROTO;
    int rc = 0;
    if (klen == 0 || strlen(kv->key) != klen)
        rc = -EPROTO;
    if (rc == 0)
        rc = ej_bytes_field(o, "value", EJ_MAX_VALUE_BYTES, &kv->value, &kv->value_len);
    if (rc == 0)
        rc = ej_uint_field(o, "create_revision", &kv->create_rev);
    if (rc == 0)
        rc = ej_uint_field(o, "mod_revision", &kv->mod_rev);
    if (rc == 0 && kv->mod_rev == 0)
        rc = -EPROTO;
    if (rc != 0)
        ej_kv_free(kv);
    return rc != 0 ? -EPROTO : 0;
}

/* Decodes an array of KeyValues into a new array (*n entries). */
static int ej_kvs_decode(const cJSON *arr, ej_kv **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!arr)
        return 0;
    size_t count = (size_t)cJSON_GetArraySize(arr);
    if (count == 0)
        return 0;
    ej_kv *kvs = xcalloc(count, sizeof(*kvs));
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        if (ej_kv_decode(item, &kvs[i]) != 0) {
            for (size_t j = 0; j < i; j++)
                ej_kv_free(&kvs[j]);
            free(kvs);
            return -EPROTO;
        }
        i++;
    }
    *out = kvs;
    *n = i;
    return 0;
}

/* ---- responses --------------------------------------------------------------------------- */

/* Decodes a RangeResponse object (top level or inside a txn's responses). */
static int ej_range_decode(const cJSON *o, bool header_required, ej_range *out)
{
    const cJSON *kvs = NULL;
    memset(out, 0, sizeof(*out));
    if (ej_header(o, header_required, &out->rev) != 0 ||
        ej_bool_field(o, "more", &out->more) != 0 || ej_uint_field(o, "count", &out->count) != 0 ||
        ej_array_field(o, "kvs", &kvs) != 0 || ej_kvs_decode(kvs, &out->kvs, &out->n) != 0)
        return -EPROTO;
    return 0;
}

int ej_parse_range(const char *body, size_t len, ej_range *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *root = ej_parse_object(body, len);
    int rc = root ? ej_range_decode(root, true, out) : -EPROTO;
    cJSON_Delete(root);
    return rc;
}

int ej_parse_marker(const char *body, size_t len, uint64_t *rev, uint64_t *marker_rev)
{
    ej_range r;
    if (ej_parse_range(body, len, &r) != 0)
        return -EPROTO;
    int rc = r.n > 1 ? -EPROTO : 0;
    *rev = r.rev;
    *marker_rev = r.n == 1 ? r.kvs[0].mod_rev : 0;
    if (*marker_rev > *rev)
        rc = -EPROTO;
    ej_range_free(&r);
    return rc;
}

void ej_range_free(ej_range *r)
{
    for (size_t i = 0; i < r->n; i++)
        ej_kv_free(&r->kvs[i]);
    free(r->kvs);
    memset(r, 0, sizeof(*r));
}

/* The i-th of the two responses of the txn's taken branch: its only member's name and value. */
static int ej_txn_response(const cJSON *arr, int i, const char **name, const cJSON **value)
{
    const cJSON *r = cJSON_GetArrayItem(arr, i);
    if (!cJSON_IsObject(r) || !r->child || r->child->next || !cJSON_IsObject(r->child))
        return -EPROTO;
    *name = r->child->string;
    *value = r->child;
    return 0;
}

/* Success branch: a put (nothing to read) or a delete_range with its prev_kvs; then the
   marker's put. */
static int ej_txn_success(const cJSON *arr, ej_txn *out)
{
    const char *name = NULL, *marker = NULL;
    const cJSON *value = NULL, *mvalue = NULL;
    if (ej_txn_response(arr, 0, &name, &value) != 0 ||
        ej_txn_response(arr, 1, &marker, &mvalue) != 0 || strcmp(marker, "response_put") != 0)
        return -EPROTO;
    if (strcmp(name, "response_put") == 0)
        return 0;
    if (strcmp(name, "response_delete_range") != 0)
        return -EPROTO;
    const cJSON *prev = NULL;
    if (ej_array_field(value, "prev_kvs", &prev) != 0)
        return -EPROTO;
    int n = prev ? cJSON_GetArraySize(prev) : 0;
    if (n > 1)
        return -EPROTO;
    return n == 1 ? ej_kv_decode(cJSON_GetArrayItem(prev, 0), &out->prev) : 0;
}

/* A one-key range inside a txn: *found and the key's mod_revision. */
static int ej_txn_range(const cJSON *arr, int i, bool *found, uint64_t *mod_rev)
{
    const char *name = NULL;
    const cJSON *value = NULL;
    if (ej_txn_response(arr, i, &name, &value) != 0 || strcmp(name, "response_range") != 0)
        return -EPROTO;
    ej_range r;
    if (ej_range_decode(value, false, &r) != 0)
        return -EPROTO;
    int rc = r.n > 1 ? -EPROTO : 0;
    *found = r.n == 1;
    *mod_rev = r.n == 1 ? r.kvs[0].mod_rev : 0;
    ej_range_free(&r);
    return rc;
}

/* The two ranges of ej_conflict_request: the key's, then the marker's. */
static int ej_txn_ranges(const cJSON *arr, ej_txn *out)
{
    bool marker_found = false;
    uint64_t key_rev = 0;
    if (ej_txn_range(arr, 0, &out->key_exists, &key_rev) != 0 ||
        ej_txn_range(arr, 1, &marker_found, &out->marker_rev) != 0)
        return -EPROTO;
    /* The marker is written with every write, so it is at least as new as any key. */
    return key_rev <= out->marker_rev && out->marker_rev <= out->rev ? 0 : -EPROTO;
}

/*
 * The parts every txn answer has: the header's revision, "succeeded", and the responses of the
 * branch taken (*n of them; *arr NULL when none, as the gateway leaves an empty list out). The
 * caller deletes *root, even on failure.
 */
static int ej_txn_head(const char *body, size_t len, cJSON **root, ej_txn *out, const cJSON **arr,
                       int *n)
{
    memset(out, 0, sizeof(*out));
    *arr = NULL;
    *root = ej_parse_object(body, len);
    if (!*root || ej_header(*root, true, &out->rev) != 0 ||
        ej_bool_field(*root, "succeeded", &out->succeeded) != 0 ||
        ej_array_field(*root, "responses", arr) != 0)
        return -EPROTO;
    *n = *arr ? cJSON_GetArraySize(*arr) : 0;
    return 0;
}

int ej_parse_txn(const char *body, size_t len, ej_txn *out)
{
    cJSON *root = NULL;
    const cJSON *arr = NULL;
    int n = 0;
    int rc = ej_txn_head(body, len, &root, out, &arr, &n);
    if (rc == 0 && out->succeeded)
        rc = n == 2 ? ej_txn_success(arr, out) : -EPROTO;
    else if (rc == 0)
        rc = n == 0 ? 0 : -EPROTO; /* the txn has no failure branch */
    cJSON_Delete(root);
    if (rc != 0)
        ej_txn_free(out);
    return rc;
}

int ej_parse_conflict(const char *body, size_t len, ej_txn *out)
{
    cJSON *root = NULL;
    const cJSON *arr = NULL;
    int n = 0;
    int rc = ej_txn_head(body, len, &root, out, &arr, &n);
    if (rc == 0)
        rc = out->succeeded && n == 2 ? ej_txn_ranges(arr, out) : -EPROTO;
    out->succeeded = false; /* it describes the write that failed, not itself */
    cJSON_Delete(root);
    if (rc != 0)
        ej_txn_free(out);
    return rc;
}

void ej_txn_free(ej_txn *t)
{
    ej_kv_free(&t->prev);
}

/* Decodes one mvccpb.Event. */
static int ej_event_decode(const cJSON *o, ej_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (!cJSON_IsObject(o))
        return -EPROTO;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (type && !(cJSON_IsString(type) && (strcmp(type->valuestring, "PUT") == 0 ||
                                           strcmp(type->valuestring, "DELETE") == 0)))
        return -EPROTO;
    ev->is_delete = type && strcmp(type->valuestring, "DELETE") == 0;
    const cJSON *prev = cJSON_GetObjectItemCaseSensitive(o, "prev_kv");
    if (ej_kv_decode(cJSON_GetObjectItemCaseSensitive(o, "kv"), &ev->kv) != 0)
        return -EPROTO;
    if (prev && (ej_kv_decode(prev, &ev->prev) != 0 || strcmp(ev->prev.key, ev->kv.key) != 0 ||
                 ev->prev.mod_rev >= ev->kv.mod_rev)) {
        ej_kv_free(&ev->kv);
        ej_kv_free(&ev->prev);
        return -EPROTO;
    }
    return 0;
}

/* Decodes the events array: revisions must not decrease. */
static int ej_events_decode(const cJSON *arr, ej_watch *out)
{
    size_t count = (size_t)cJSON_GetArraySize(arr);
    out->events = xcalloc(count, sizeof(*out->events));
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        ej_event *ev = &out->events[out->n];
        if (ej_event_decode(item, ev) != 0)
            return -EPROTO;
        out->n++;
        if (out->n > 1 && ev->kv.mod_rev < out->events[out->n - 2].kv.mod_rev)
            return -EPROTO;
    }
    return 0;
}

/* Classifies a decoded "result" object. */
static int ej_watch_result(const cJSON *res, ej_watch *out)
{
    bool created = false, canceled = false;
    const cJSON *events = NULL, *reason = NULL;
    if (!cJSON_IsObject(res) || ej_header(res, false, &out->rev) != 0 ||
        ej_bool_field(res, "created", &created) != 0 ||
        ej_bool_field(res, "canceled", &canceled) != 0 ||
        ej_uint_field(res, "compact_revision", &out->compact_rev) != 0 ||
        ej_array_field(res, "events", &events) != 0)
        return -EPROTO;
    reason = cJSON_GetObjectItemCaseSensitive(res, "cancel_reason");
    if (canceled) {
        out->kind = out->compact_rev ? EJ_WATCH_COMPACTED : EJ_WATCH_CANCELED;
        if (cJSON_IsString(reason))
            out->reason = xstrdup(reason->valuestring);
        return 0;
    }
    if (created) {
        out->kind = EJ_WATCH_CREATED;
        return 0;
    }
    if (events && cJSON_GetArraySize(events) > 0) {
        out->kind = EJ_WATCH_EVENTS;
        if (ej_events_decode(events, out) != 0)
            return -EPROTO;
        /* Every event was committed at or before the revision the answer was sent at. */
        return out->events[out->n - 1].kv.mod_rev <= out->rev ? 0 : -EPROTO;
    }
    out->kind = EJ_WATCH_PROGRESS;
    return out->rev ? 0 : -EPROTO;
}

int ej_parse_watch(const char *line, size_t len, ej_watch *out)
{
    memset(out, 0, sizeof(*out));
    cJSON *root = ej_parse_object(line, len);
    int rc = -EPROTO;
    if (root) {
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(root, "result");
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
        if (res) {
            rc = ej_watch_result(res, out);
        } else if (cJSON_IsObject(err)) {
            /* A stream error from the gateway: {"error":{"grpc_code":..,"message":..}}. */
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
            out->kind = EJ_WATCH_CANCELED;
            out->reason = xstrdup(cJSON_IsString(msg) ? msg->valuestring : "watch stream error");
            rc = 0;
        }
    }
    cJSON_Delete(root);
    if (rc != 0)
        ej_watch_free(out);
    return rc;
}

void ej_watch_free(ej_watch *w)
{
    for (size_t i = 0; i < w->n; i++) {
        ej_kv_free(&w->events[i].kv);
        ej_kv_free(&w->events[i].prev);
    }
    free(w->events);
    free(w->reason);
    memset(w, 0, sizeof(*w));
}

int ej_parse_header_rev(const char *body, size_t len, uint64_t *rev)
{
    cJSON *root = ej_parse_object(body, len);
    int rc = root ? ej_header(root, true, rev) : -EPROTO;
    cJSON_Delete(root);
    return rc;
}

char *ej_parse_error(const char *body, size_t len)
{
    cJSON *root = ej_parse_object(body, len);
    const cJSON *e = root ? cJSON_GetObjectItemCaseSensitive(root, "error") : NULL;
    if (cJSON_IsObject(e))
        e = cJSON_GetObjectItemCaseSensitive(e, "message");
    char *msg = NULL;
    if (cJSON_IsString(e)) /* bounded: it goes into logs */
        msg = xstrndup(e->valuestring, strnlen(e->valuestring, 512));
    cJSON_Delete(root);
    return msg;
}

char *ej_stamp_rv(const char *value, size_t len, uint64_t rev, size_t *out_len)
{
    cJSON *obj = ej_parse_object(value, len);
    if (!obj)
        return NULL;
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, rev);
    json_set_string(json_ensure_object(obj, "metadata"), "resourceVersion", buf);
    char *out = json_print(obj);
    cJSON_Delete(obj);
    *out_len = strlen(out);
    return out;
}
