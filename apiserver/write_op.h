/*
 * write_op.h - the state of one write request, shared by the files of the write verbs (private
 * to apiserver/, never included outside write*.c, object_rules.c, delete.c, subresources.c).
 *
 *   write_op.c      the op itself, and reading the request (body, dryRun, type meta, patch type)
 *   write.c         attempt / on_done / resume, answering, create/update/patch entry points
 *   object_rules.c  computing the next object (create, update, /status, patch, scale, bar, delete)
 *   delete.c        DELETE and deletecollection
 *   subresources.c  /scale and /bar
 *
 * Everything here runs on the service thread only, except where a comment says otherwise.
 */
#ifndef FOO_APISERVER_WRITE_OP_H
#define FOO_APISERVER_WRITE_OP_H

#include "apiserver/write.h"
#include "common/apierr.h"
#include "storage/storage.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum op_kind {
    OP_CREATE,
    OP_UPDATE,       /* PUT item or /status */
    OP_PATCH,        /* PATCH item or /status */
    OP_SCALE_UPDATE, /* PUT /scale */
    OP_SCALE_PATCH,  /* PATCH /scale */
    OP_BAR,          /* POST /bar */
    OP_DELETE,
} op_kind;

/* The PATCH types (docs/api.md §5.5; D4 and D5 are the decisions of its §0). */
typedef enum patch_type {
    PATCH_MERGE,     /* RFC 7386 */
    PATCH_STRATEGIC, /* applied as a merge patch once its directives are removed (D4) */
    PATCH_APPLY,     /* server-side apply, minimum form: create, or merge into the object (D5) */
    PATCH_JSON,      /* RFC 6902 */
} patch_type;

/* ?fieldValidation (docs/api.md §3.3): what unknown and repeated fields of a body cause. */
typedef enum field_validation {
    FV_WARN,   /* the default: a Warning header per field; the field is dropped (or, repeated,
                  its last value kept) */
    FV_STRICT, /* 400 BadRequest naming every such field */
    FV_IGNORE, /* dropped (or last value kept) without a word: the client asked for it */
} field_validation;

/* What computing the next state of an object decided. */
typedef enum outcome {
    OUT_ERROR,    /* the api_error says why; nothing answered yet */
    OUT_NOOP,     /* nothing to write: answer with the current object */
    OUT_WRITE,    /* *next is the object to store */
    OUT_ANSWERED, /* the request was already answered (e.g. a strict fieldValidation 400) */
} outcome;

typedef struct write_op {
    as_req *req;
    const as_resource *res;
    char *ns, *name; /* owned copies: the router's path segments die with the request turn */
    op_kind kind;
    bool status; /* the /status subresource */
    cJSON *body; /* parsed body: object, patch, Scale, FooBar or DeleteOptions */
    patch_type ptype;
    field_validation validation; /* read by wo_parse_body */
    bool rv_pinned;              /* the client named a resourceVersion: a lost race is a 409 */
    bool dry_run;
    int attempts;
    char *generate_prefix;
    st_write *w;  /* the write in flight */
    bool removed; /* the write deletes the object */
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
 * Reads ?fieldValidation into op->validation (DELETE has none: Warn), then parses the JSON body
 * (for an apply patch: JSON, else YAML) with json_parse_body (common/json.h): where an object
 * repeats a key the last value is kept, and each repeated field is reported per op->validation
 * (Strict: 400 naming them; Warn: a Warning header each). Returns the owned tree, or NULL after
 * answering: 422 for an unsupported fieldValidation, 400 for an empty body, invalid JSON (or YAML),
 * or repeated fields under Strict.
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

/* ---- object_rules.c --------------------------------------------------------------------- */

/*
 * Create rules (docs/api.md §4, §5.3): the object from op->body with server fields set (uid,
 * creationTimestamp, generation, namespace, type meta, a generated name), defaulted and validated.
 * Replaces op->name with the object's name. OUT_WRITE with an owned *next, or OUT_ERROR with e set.
 */
outcome wo_compute_create(write_op *op, cJSON **next, api_error *e);

/*
 * Update rules for the main resource or /status (docs/api.md §4, §5.4, docs/design.md §2):
 * preconditions, what each may change, generation, validation. incoming stays the caller's.
 * OUT_WRITE with an owned *next (op->removed set when the last finalizer left a terminating
 * object), OUT_NOOP when nothing changes, or OUT_ERROR with e set.
 */
outcome wo_compute_update(write_op *op, cJSON *incoming, const cJSON *current, cJSON **next,
                          api_error *e);

/*
 * The object an update, patch, scale or bar request asks for, before the update rules: the body,
 * the patched object, the object with the Scale's replicas, or the object with a new restartedAt.
 * May set op->rv_pinned (scale). Returns an owned tree, or NULL with e set.
 */
cJSON *wo_incoming_for(write_op *op, const cJSON *current, api_error *e);

/*
 * Delete rules (docs/api.md §5.6): preconditions, then either removal (op->removed, *next the
 * final state) or a deletionTimestamp plus the policy's finalizer. OUT_WRITE with an owned *next,
 * OUT_NOOP when the object is already terminating, or OUT_ERROR with e set. Sets op->rv_pinned
 * when the preconditions name a resourceVersion.
 */
outcome wo_compute_delete(write_op *op, const cJSON *current, cJSON **next, api_error *e);

/* The propagationPolicy of a delete: the query parameter, else the DeleteOptions body's; or NULL.
 */
const char *wo_propagation_policy(write_op *op);

/* The autoscaling/v1 Scale view of obj (docs/api.md §8.2). Returns an owned tree. */
cJSON *wo_scale_of(const cJSON *obj);

#endif
