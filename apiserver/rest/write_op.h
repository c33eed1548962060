/*
 * write_op.h - the state of one write request, shared by the files of the write verbs (private
 * to apiserver/rest/, never included outside write*.c, delete.c, subresources.c; the rules
 * that compute the next object are resource/rules.h).
 *
 *   write_op.c      the op itself, and reading the request (body, dryRun, type meta, patch type)
 *   write.c         attempt / on_done / resume, answering, create/update/patch entry points
 *   delete.c        DELETE and deletecollection
 *   subresources.c  /scale and /bar
 *
 * Everything here runs on the service thread only, except where a comment says otherwise.
 */
#ifndef FOO_APISERVER_WRITE_OP_H
#define FOO_APISERVER_WRITE_OP_H

#include "apiserver/resource/rules.h"
#include "apiserver/rest/write.h"
#include "common/apierr.h"
#include "storage/storage.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* ?fieldValidation (docs/api.md §3.3): what unknown and repeated fields of a body cause. */
typedef enum field_validation {
    FV_WARN,   /* the default: a Warning header per field; the field is dropped (or, repeated,
                  its last value kept) */
    FV_STRICT, /* 400 BadRequest naming every such field */
    FV_IGNORE, /* dropped (or last value kept) without a word: the client asked for it */
} field_validation;

typedef struct write_op {
    as_req *req;
    as_write_intent in;          /* what the rules compute from (resource/rules.h) */
    field_validation validation; /* read by wo_parse_body */
    bool dry_run;
    int attempts;
    st_write *w; /* the write in flight */
} write_op;

/* ---- write_op.c ------------------------------------------------------------------------- */

/*
 * A new op for req on target t (ns and name copied; the /status flag taken from t->sub).
 * The caller owns it and frees it with wo_free, unless wo_attempt took it over.
 */
write_op *wo_new(as_req *req, const as_target *t, op_kind kind);
/* Frees op with its copies, body and write. NULL is not allowed. */
void wo_free(write_op *op);

/* Answers e as a Status, then clears e. */
void wo_respond_error(as_req *req, api_error *e);

/*
 * Reads ?fieldValidation into op->validation (DELETE has none: Warn), then parses the body by
 * its Content-Type (docs/api.md §5.8): JSON (also when absent) with json_parse_body
 * (common/json.h), YAML with yaml_to_json (an apply patch: JSON, else YAML), or, for the
 * built-in kinds, protobuf with k8s_proto_decode (api/k8s_proto.h). Where the body repeats a
 * field the last value is kept, and each repeated field is reported per op->validation (Strict:
 * 400 naming them; Warn: a Warning header each). Returns the owned tree, or NULL after
 * answering: 422 for an unsupported fieldValidation, 400 for an empty body or one that does not
 * parse, 415 for another Content-Type or a protobuf body of a kind (or field) without a protobuf
 * form, 400 for repeated fields under Strict.
 */
cJSON *wo_parse_body(write_op *op);

/*
 * Reports `total` problem fields of a body per op->validation, naming each path of `paths` (a
 * string array, possibly fewer than total) as `<what> "<path>"` ("unknown field", "duplicate
 * field") and the rest as one "and N more <what>s". Strict: answers 400 with kube's strict
 * decoding message and returns false. Warn: a Warning header each; Ignore: nothing; both true.
 */
bool wo_report_fields(write_op *op, const char *what, const cJSON *paths, size_t total);

/*
 * Reads ?dryRun (only "All" is allowed) into op->dry_run. Returns false after answering 422 on
 * the options kind of op's verb ("CreateOptions", "PatchOptions", ...).
 */
bool wo_parse_dry_run(write_op *op);

/*
 * apiVersion/kind of a body, when given, must be the resource's group-version and `kind`
 * (docs/api.md §5.3). Returns false after answering 400.
 */
bool wo_check_type_meta(write_op *op, const cJSON *obj, const char *kind);

/*
 * Reads the patch type from the Content-Type into op->ptype. Returns false after answering 415.
 */
bool wo_parse_patch_type(write_op *op);

/* ---- write.c ---------------------------------------------------------------------------- */

/*
 * Computes the next state from the watch cache and either answers at once (errors, no-ops, dry
 * runs) and frees op, or submits the storage write and parks the request; op is then freed when
 * the request resumes. Either way op belongs to the cycle after this call.
 */
void wo_attempt(write_op *op);

/*
 * The current object at op's key, parsed (owned by the caller), with its revision in *rev; NULL
 * when the cache holds no such object (nothing is answered).
 */
cJSON *wo_load_current(write_op *op, uint64_t *rev);

#endif
