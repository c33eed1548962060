/*
 * etcd_json.h - private: the messages of etcd 3.4's JSON gateway, built and decoded without I/O.
 *
 * Every answer from etcd is outside input: the decoders check shapes, sizes, base64 and revision
 * ranges, and return -EPROTO (never crash, never trust) for anything unexpected, so the caller can
 * log it and treat it as a failed request (ST_EIO). Gateway quirks handled here: int64 fields are
 * JSON strings, zero values (false, 0, empty lists, the PUT event type) are omitted.
 * Pure functions, thread-safe; fuzzed by fuzz/fuzz_etcd_response.c.
 */
#ifndef FOO_STORAGE_ETCD_JSON_H
#define FOO_STORAGE_ETCD_JSON_H

#include "common/sbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest decoded key; kube's keys are far below it. */
#define EJ_MAX_KEY_BYTES 4096
/* Largest decoded value: etcd refuses larger requests (--max-request-bytes, 1.5 MiB) anyway;
   the margin covers a foreign writer with a raised limit. */
#define EJ_MAX_VALUE_BYTES (8 * 1024 * 1024)
/* Largest gateway message (one line of the watch stream, one range page) we accept. */
#define EJ_MAX_MESSAGE_BYTES (256 * 1024 * 1024)
/* Revisions are int64 in etcd. */
#define EJ_MAX_REV ((uint64_t)INT64_MAX)

/* One key-value from etcd. key and value are NUL-terminated (value may hold NULs: use len). */
typedef struct ej_kv {
    char *key;
    char *value;
    size_t value_len;
    uint64_t create_rev;
    uint64_t mod_rev;
} ej_kv;

void ej_kv_free(ej_kv *kv);

/* ---- requests (JSON texts; caller frees) ---- */

/* {"key":K,"range_end":E,...}: the range [key, prefix end of key) when prefix_end, else one key. */
char *ej_range_request(const char *key, bool prefix_end, const char *after_key, uint64_t rev,
                       long limit, bool count_only);
/*
 * A txn for one write. op: 'c' create (compare CREATE == 0), 'u' update or 'd' delete (compare
 * MOD == expect_rev, or CREATE > 0 when expect_rev is 0). Success: put value / delete with
 * prev_kv, and a put of the (empty) marker key, so the marker's mod_revision is the revision of
 * the prefix's last write. No failure branch: etcd decodes every branch of every txn it is
 * sent, and the failure branch cost ~15 % of etcd's CPU per write while compares rarely fail;
 * a failed write asks with ej_conflict_request instead.
 */
char *ej_txn_request(char op, const char *key, const char *value, size_t value_len,
                     uint64_t expect_rev, const char *marker);
/*
 * After a failed compare: a read-only (linearizable) txn ranging key (missing or conflicting?)
 * and the marker (the revision a reader must reach to see why the write failed). Both in one
 * txn, so they describe one revision.
 */
char *ej_conflict_request(const char *key, const char *marker);
/* {"create_request":{...}} for a watch of the prefix from start_rev, with prev_kv and progress. */
char *ej_watch_request(const char *prefix, uint64_t start_rev);

/* ---- responses ---- */

/* A range answer (/v3/kv/range): header revision, kvs in key order, more, count. A range of the
   marker key alone tells the revision of the prefix's last write (marker_rev below). */
typedef struct ej_range {
    uint64_t rev;
    ej_kv *kvs;
    size_t n;
    bool more;
    uint64_t count;
} ej_range;

int ej_parse_range(const char *body, size_t len, ej_range *out);
/* The header revision and the one key's mod_revision (0 when absent) of a one-key range. */
int ej_parse_marker(const char *body, size_t len, uint64_t *rev, uint64_t *marker_rev);
void ej_range_free(ej_range *r);

/* A txn answer: of ej_txn_request (ej_parse_txn) or of ej_conflict_request (ej_parse_conflict). */
typedef struct ej_txn {
    uint64_t rev;        /* header revision: the write's, the one it failed at, or the read's */
    bool succeeded;      /* the compare held and the write happened */
    bool key_exists;     /* ej_parse_conflict: the range found the key */
    uint64_t marker_rev; /* ej_parse_conflict: the marker's mod_revision (0: never written) */
    ej_kv prev; /* success of a delete: the deleted key-value (prev_kv), key NULL if absent */
} ej_txn;

/* Each: 0, or -EPROTO for anything but such an answer (*out then empty); ej_txn_free frees. */
int ej_parse_txn(const char *body, size_t len, ej_txn *out);
int ej_parse_conflict(const char *body, size_t len, ej_txn *out);
void ej_txn_free(ej_txn *t);

/* One watch event: a put (kv) or a delete (kv holds key and revision, prev the last state). */
typedef struct ej_event {
    bool is_delete;
    ej_kv kv;
    ej_kv prev; /* key NULL when etcd sent no prev_kv */
} ej_event;

typedef enum ej_watch_kind {
    EJ_WATCH_CREATED,   /* the watch is set up (its header revision is NOT a progress mark) */
    EJ_WATCH_EVENTS,    /* one or more events, in revision order */
    EJ_WATCH_PROGRESS,  /* no events: everything up to rev has been sent */
    EJ_WATCH_COMPACTED, /* canceled: start revision compacted; compact_rev says where to go */
    EJ_WATCH_CANCELED,  /* canceled for another reason (reason holds etcd's text, may be NULL) */
} ej_watch_kind;

typedef struct ej_watch {
    ej_watch_kind kind;
    uint64_t rev; /* header revision (0 when absent, as in a canceled answer) */
    uint64_t compact_rev;
    ej_event *events;
    size_t n;
    char *reason;
} ej_watch;

/* Decodes one line of the /v3/watch stream ({"result":{...}} or {"error":{...}}). */
int ej_parse_watch(const char *line, size_t len, ej_watch *out);
void ej_watch_free(ej_watch *w);

/*
 * A stored value as handed out: the JSON object with metadata.resourceVersion set to rev (kube
 * stores objects without one). Returns the new text (caller frees, *out_len its length), or NULL
 * when value is not a JSON object.
 */
char *ej_stamp_rv(const char *value, size_t len, uint64_t rev, size_t *out_len);

/* The header revision of any answer (status, compaction); -EPROTO when absent or invalid. */
int ej_parse_header_rev(const char *body, size_t len, uint64_t *rev);
/* etcd's error text of an error answer ({"error":"...","code":N}), or NULL. Caller frees. */
char *ej_parse_error(const char *body, size_t len);

#endif
