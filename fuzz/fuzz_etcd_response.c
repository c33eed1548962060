/*
 * fuzz_etcd_response.c - the etcd backend's decoding of what etcd's JSON gateway sends
 * (storage/etcd_json.h): range, txn and error answers, lines of the watch stream, base64 and the
 * stamping of resourceVersion into stored values. All of it is outside input.
 *
 * The first byte picks the decoder, the rest is its input. Invariants: a decoder either fails
 * with -EPROTO and leaves nothing to free, or gives values within the documented bounds (keys
 * non-empty and NUL-free, revisions in 1..INT64_MAX, values NUL-terminated at their length,
 * watch events in revision order and not past the answer's revision); base64 round-trips both
 * ways (decoding accepts only the canonical encoding); a stamped value is a JSON object whose
 * metadata.resourceVersion is the revision given.
 */
#include "storage/etcd_json.h"
#include "common/base64.h"

#include "common/json.h"
#include "fuzz/fuzz.h"

#include <errno.h>
#include <inttypes.h>

static void check_kv(const ej_kv *kv)
{
    FUZZ_CHECK(kv->key && kv->key[0] && strlen(kv->key) <= EJ_MAX_KEY_BYTES);
    FUZZ_CHECK(kv->value && kv->value[kv->value_len] == '\0');
    FUZZ_CHECK(kv->mod_rev >= 1 && kv->mod_rev <= EJ_MAX_REV);
    FUZZ_CHECK(kv->create_rev <= EJ_MAX_REV);
}

static void fuzz_range(const char *in, size_t n)
{
    ej_range r;
    if (ej_parse_range(in, n, &r) != 0)
        return;
    FUZZ_CHECK(r.rev >= 1 && r.rev <= EJ_MAX_REV);
    for (size_t i = 0; i < r.n; i++)
        check_kv(&r.kvs[i]);
    ej_range_free(&r);
    uint64_t rev = 0, marker = 0;
    if (ej_parse_marker(in, n, &rev, &marker) == 0)
        FUZZ_CHECK(marker <= rev);
}

static void check_txn(ej_txn *t)
{
    FUZZ_CHECK(t->rev >= 1 && t->rev <= EJ_MAX_REV);
    FUZZ_CHECK(t->marker_rev <= t->rev);
    FUZZ_CHECK(t->succeeded || !t->prev.key);
    if (t->prev.key)
        check_kv(&t->prev);
    ej_txn_free(t);
}

/* The same bytes as a write's answer and as the answer of the read after a failed compare. */
static void fuzz_txn(const char *in, size_t n)
{
    ej_txn t;
    if (ej_parse_txn(in, n, &t) == 0) {
        FUZZ_CHECK(!t.key_exists && t.marker_rev == 0);
        check_txn(&t);
    }
    if (ej_parse_conflict(in, n, &t) == 0) {
        FUZZ_CHECK(!t.succeeded && !t.prev.key);
        check_txn(&t);
    }
}

static void fuzz_watch(const char *in, size_t n)
{
    ej_watch w;
    if (ej_parse_watch(in, n, &w) != 0)
        return;
    FUZZ_CHECK((w.kind == EJ_WATCH_EVENTS) == (w.n > 0));
    for (size_t i = 0; i < w.n; i++) {
        check_kv(&w.events[i].kv);
        FUZZ_CHECK(w.events[i].kv.mod_rev <= w.rev);
        FUZZ_CHECK(i == 0 || w.events[i - 1].kv.mod_rev <= w.events[i].kv.mod_rev);
        if (w.events[i].prev.key) {
            check_kv(&w.events[i].prev);
            FUZZ_CHECK(w.events[i].prev.mod_rev < w.events[i].kv.mod_rev);
        }
    }
    FUZZ_CHECK(w.kind != EJ_WATCH_PROGRESS || w.rev >= 1);
    FUZZ_CHECK(w.kind != EJ_WATCH_COMPACTED || w.compact_rev >= 1);
    ej_watch_free(&w);
}

static void fuzz_base64(const char *in, size_t n)
{
    char *s = fuzz_cstring((const uint8_t *)in, n);
    char *dec = NULL;
    size_t len = 0;
    if (b64_decode(s, strlen(s), 1 << 20, &dec, &len) == 0) {
        char *again = b64_encode(dec, len);
        FUZZ_CHECK(strcmp(again, s) == 0);
        free(again);
        free(dec);
    }
    char *enc = b64_encode(in, n);
    FUZZ_CHECK(b64_decode(enc, strlen(enc), n, &dec, &len) == 0);
    FUZZ_CHECK(len == n && (n == 0 || memcmp(dec, in, n) == 0));
    free(dec);
    free(enc);
    free(s);
}

static void fuzz_stamp(const char *in, size_t n)
{
    uint64_t rev = n * 7919 + 1;
    size_t len = 0;
    char *out = ej_stamp_rv(in, n, rev, &len);
    if (!out)
        return;
    FUZZ_CHECK(strlen(out) == len);
    cJSON *obj = cJSON_ParseWithLength(out, len);
    FUZZ_CHECK(cJSON_IsObject(obj));
    char want[24];
    snprintf(want, sizeof(want), "%" PRIu64, rev);
    const char *rv = json_path_string(obj, "metadata.resourceVersion");
    FUZZ_CHECK(rv && strcmp(rv, want) == 0);
    cJSON_Delete(obj);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 6) {
    case 0:
        fuzz_range(in, n);
        break;
    case 1:
        fuzz_txn(in, n);
        break;
    case 2:
        fuzz_watch(in, n);
        break;
    case 3:
        fuzz_base64(in, n);
        break;
    case 4:
        fuzz_stamp(in, n);
        break;
    default: {
        uint64_t rev = 0;
        (void)ej_parse_header_rev(in, n, &rev);
        free(ej_parse_error(in, n));
    }
    }
    return 0;
}
