/*
 * rules.h - what a write does to an object (docs/api.md §4, §5.3-§5.6, docs/design.md §2): the
 * next state of an object for create, update, /status, patch, scale, bar and delete, computed
 * from the current state and a parsed request (an as_write_intent). Pure functions: no request,
 * no storage, no clock of their own (the intent carries the time), nothing answered; errors come
 * back as an api_error. Unit-tested without a server (test/unit/apiserver/test_rules.c).
 * Thread-safe on distinct intents.
 */
#ifndef FOO_APISERVER_RULES_H
#define FOO_APISERVER_RULES_H

#include "apiserver/resource/registry.h"
#include "common/apierr.h"

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

/* What computing the next state of an object decided. */
typedef enum outcome {
    OUT_ERROR,    /* the api_error says why; nothing answered yet */
    OUT_NOOP,     /* nothing to write: answer with the current object */
    OUT_WRITE,    /* *next is the object to store */
    OUT_ANSWERED, /* the request was already answered (e.g. a strict fieldValidation 400) */
} outcome;

/* One write request as the rules see it. The rest layer fills it from the request. */
typedef struct as_write_intent {
    const as_resource *res;
    char *ns, *name; /* owned copies (the name is replaced by a create's generated one) */
    op_kind kind;
    bool status; /* the /status subresource */
    cJSON *body; /* parsed body: object, patch, Scale, FooBar or DeleteOptions; owned */
    patch_type ptype;
    bool rv_pinned; /* the client named a resourceVersion: a lost race is a 409 (set by rules) */
    char *generate_prefix;          /* create with metadata.generateName; owned */
    bool removed;                   /* set by the rules: the write deletes the object */
    int64_t now_s;                  /* the server's wall clock for this request (timestamps, bar) */
    const char *propagation_policy; /* delete: ?propagationPolicy (borrowed), else the body's */
} as_write_intent;

/*
 * Create rules (docs/api.md §4, §5.3): the object from in->body with server fields set (uid,
 * creationTimestamp, generation, namespace, type meta, a generated name), defaulted and validated.
 * Replaces in->name with the object's name. OUT_WRITE with an owned *next, or OUT_ERROR with e set.
 */
outcome as_rules_create(as_write_intent *in, cJSON **next, api_error *e);

/*
 * Update rules for the main resource or /status (docs/api.md §4, §5.4, docs/design.md §2):
 * preconditions, what each may change, generation, validation. incoming stays the caller's.
 * OUT_WRITE with an owned *next (in->removed set when the last finalizer left a terminating
 * object), OUT_NOOP when nothing changes, or OUT_ERROR with e set.
 */
outcome as_rules_update(as_write_intent *in, cJSON *incoming, const cJSON *current, cJSON **next,
                        api_error *e);

/*
 * The object an update, patch, scale or bar request asks for, before the update rules: the body,
 * the patched object, the object with the Scale's replicas, or the object with a new restartedAt.
 * May set in->rv_pinned (scale). Returns an owned tree, or NULL with e set.
 */
cJSON *as_rules_incoming(as_write_intent *in, const cJSON *current, api_error *e);

/*
 * Delete rules (docs/api.md §5.6): preconditions, then either removal (in->removed, *next the
 * final state) or a deletionTimestamp plus the policy's finalizer. OUT_WRITE with an owned *next,
 * OUT_NOOP when the object is already terminating, or OUT_ERROR with e set. Sets in->rv_pinned
 * when the preconditions name a resourceVersion.
 */
outcome as_rules_delete(as_write_intent *in, const cJSON *current, cJSON **next, api_error *e);

/* The propagationPolicy of a delete: in->propagation_policy, else the DeleteOptions body's; or
   NULL. */
const char *as_rules_propagation_policy(const as_write_intent *in);

/* The autoscaling/v1 Scale view of obj, of kind r (docs/api.md §8.2): spec.replicas,
   status.replicas and the selector of the kind (its scale_selector, else status.selector).
   Returns an owned tree. */
cJSON *as_rules_scale_of(const as_resource *r, const cJSON *obj);

/* The storage key of an object: the resource's prefix (registry.h) and the name. */
void as_object_key(const as_resource *r, const char *ns, const char *name, sbuf *out);

#endif
