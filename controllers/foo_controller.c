/*
 * foo_controller.c - the Foo controller object, its worker loop and its informer event handlers
 * (foo_controller.h). The reconcile itself is in foo_reconcile.c.
 */
#include "controllers/foo_internal.h"

#include "api/foo.h"
#include "api/foo_deployment.h"
#include "common/alloc.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

fc_controller *fc_controller_new(const fc_options *opt)
{
    if (!opt || !opt->foos || !opt->deployments || !opt->queue || !opt->api.call)
        return NULL;
    fc_controller *c = xcalloc(1, sizeof *c);
    c->foos = opt->foos;
    c->deployments = opt->deployments;
    c->queue = opt->queue;
    c->api = opt->api;
    c->record = opt->record;
    c->record_ctx = opt->record_ctx;
    c->clock = opt->clock ? opt->clock : clk_system();
    c->hooks = opt->hooks;
    c->name = xstrdup(opt->name ? opt->name : FC_DEFAULT_NAME);
    return c;
}

void fc_controller_free(fc_controller *c)
{
    if (!c)
        return;
    free(c->name);
    free(c);
}

/* ---- the worker ---------------------------------------------------------------------------- */

void fc_apply_result(wq *q, const char *key, fc_result result)
{
    switch (result.action) {
    case FC_DONE:
        wq_forget(q, key);
        return;
    case FC_REQUEUE:
        wq_add(q, key);
        return;
    case FC_REQUEUE_RATE_LIMITED:
        wq_add_rate_limited(q, key);
        return;
    case FC_REQUEUE_AFTER:
        /* controller-runtime's rule: an explicit delay replaces the backoff, which restarts */
        wq_forget(q, key);
        wq_add_after(q, key, result.after_ms);
        return;
    }
}

fc_result fc_result_of_error(const api_error *err)
{
    if (err->code == 409)
        return (fc_result){.action = FC_REQUEUE};
    if (err->code == 429 && err->retry_after > 0)
        return (fc_result){.action = FC_REQUEUE_AFTER,
                           .after_ms = (int64_t)err->retry_after * 1000};
    return (fc_result){.action = FC_REQUEUE_RATE_LIMITED};
}

static bool stop_asked(const fc_worker *w)
{
    return w->stop && atomic_load(w->stop);
}

static void work_one(const fc_worker *w, clk_t *clock, const char *key)
{
    if (w->hooks.started)
        w->hooks.started(w->hooks.ctx);
    uint64_t start = clk_mono_ns(clock);
    fc_result result = w->reconcile(w->impl, key);
    if (w->hooks.finished)
        w->hooks.finished(w->hooks.ctx, result, clk_mono_ns(clock) - start);
    fc_apply_result(w->queue, key, result);
}

void fc_worker_run(const fc_worker *w)
{
    clk_t *clock = w->clock ? w->clock : clk_system();
    char *key;
    while (!stop_asked(w) && wq_get(w->queue, &key)) {
        bool drop = stop_asked(w); /* asked while we waited: the key is not worked */
        if (!drop)
            work_one(w, clock, key);
        wq_done(w->queue, key);
        free(key);
        if (drop)
            break;
    }
}

static fc_result reconcile_impl(void *impl, const char *key)
{
    return fc_reconcile(impl, key);
}

void fc_run_worker(fc_controller *c, const atomic_bool *stop)
{
    fc_worker w = {.queue = c->queue,
                   .reconcile = reconcile_impl,
                   .impl = c,
                   .hooks = c->hooks,
                   .clock = c->clock,
                   .stop = stop};
    fc_worker_run(&w);
}

/* ---- the index of Foos by the Deployment they want ----------------------------------------- */

static void deployment_index(void *ctx, const inf_obj *obj, inf_values *vals)
{
    (void)ctx;
    cJSON *foo = inf_obj_parse(obj);
    if (!foo)
        return;
    char *key = xasprintf("%s/%s", foo_deployment_namespace(foo), foo_deployment_name(foo));
    inf_values_add(vals, key);
    free(key);
    cJSON_Delete(foo);
}

int fc_add_indexes(inf_store *foos)
{
    return inf_store_add_index(foos, FC_INDEX_DEPLOYMENT, deployment_index, NULL);
}

/* ---- event handlers ------------------------------------------------------------------------ */

static void enqueue(fc_controller *c, const char *key)
{
    if (key && *key)
        wq_add(c->queue, key);
}

/* The object without what the controller's own writes and the server's bookkeeping change. */
static cJSON *without_status(const inf_obj *obj)
{
    cJSON *j = inf_obj_parse(obj);
    json_remove(j, "status");
    json_remove(json_path(j, "metadata"), "resourceVersion");
    return j;
}

/*
 * Whether a Foo update may need work. A status-only change is most often the controller's own
 * status write coming back through the watch: reconciling on it would only find nothing to do
 * (docs/controller.md §5). Same resourceVersion = a resync, which is meant to reconcile.
 */
static bool foo_changed(const inf_obj *old_obj, const inf_obj *new_obj)
{
    if (!strcmp(inf_obj_resource_version(old_obj), inf_obj_resource_version(new_obj)))
        return true;
    if (inf_obj_generation(old_obj) != inf_obj_generation(new_obj) ||
        strcmp(inf_obj_uid(old_obj), inf_obj_uid(new_obj)))
        return true;
    cJSON *a = without_status(old_obj);
    cJSON *b = without_status(new_obj);
    bool changed = !json_equal(a, b);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return changed;
}

void fc_on_foo_add(void *ctx, const inf_obj *obj)
{
    enqueue(ctx, inf_obj_key(obj));
}

void fc_on_foo_update(void *ctx, const inf_obj *old_obj, const inf_obj *new_obj)
{
    if (foo_changed(old_obj, new_obj))
        enqueue(ctx, inf_obj_key(new_obj));
}

void fc_on_foo_delete(void *ctx, const inf_obj *obj, bool final_state_unknown)
{
    (void)final_state_unknown;
    enqueue(ctx, inf_obj_key(obj));
}

char *fc_deployment_owner_key(const inf_obj *deployment)
{
    /* The controller owner's fields are extracted once per object by the informer: no parse. */
    const char *name = inf_obj_controller_name(deployment);
    if (!foo_owner_is_foo(inf_obj_controller_kind(deployment),
                          inf_obj_controller_api_version(deployment)) ||
        !*name)
        return NULL;
    return xstrdup(name); /* Foos are cluster-scoped: the key is the name */
}

/* Queues the Foo controlling d and every Foo that wants a Deployment of d's namespace/name. */
static void enqueue_for_deployment(fc_controller *c, const inf_obj *d)
{
    char *owner = fc_deployment_owner_key(d);
    enqueue(c, owner);
    inf_obj **wanting = NULL;
    size_t n = inf_store_by_index(c->foos, FC_INDEX_DEPLOYMENT, inf_obj_key(d), &wanting);
    for (size_t i = 0; i < n; i++)
        if (!owner || strcmp(owner, inf_obj_key(wanting[i])))
            enqueue(c, inf_obj_key(wanting[i]));
    inf_objs_free(wanting, n);
    free(owner);
}

void fc_on_deployment_add(void *ctx, const inf_obj *obj)
{
    enqueue_for_deployment(ctx, obj);
}

void fc_on_deployment_update(void *ctx, const inf_obj *old_obj, const inf_obj *new_obj)
{
    /* a Deployment handed from one Foo to another wakes both */
    if (strcmp(inf_obj_controller_uid(old_obj), inf_obj_controller_uid(new_obj)))
        enqueue_for_deployment(ctx, old_obj);
    enqueue_for_deployment(ctx, new_obj);
}

void fc_on_deployment_delete(void *ctx, const inf_obj *obj, bool final_state_unknown)
{
    (void)final_state_unknown;
    enqueue_for_deployment(ctx, obj);
}

inf_handlers fc_foo_handlers(fc_controller *c)
{
    return (inf_handlers){.on_add = fc_on_foo_add,
                          .on_update = fc_on_foo_update,
                          .on_delete = fc_on_foo_delete,
                          .ctx = c};
}

inf_handlers fc_deployment_handlers(fc_controller *c)
{
    return (inf_handlers){.on_add = fc_on_deployment_add,
                          .on_update = fc_on_deployment_update,
                          .on_delete = fc_on_deployment_delete,
                          .ctx = c};
}
