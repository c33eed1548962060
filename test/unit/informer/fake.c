/* fake.c - scripted transport, fake wait, recording sink and JSON builders (see fake.h). */
#include "fake.h"

#include "common/alloc.h"
#include "common/sbuf.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- string pool for the builders ---- */

static char **pool;
static size_t npool;

static char *pooled(char *s)
{
    pool = xrealloc(pool, (npool + 1) * sizeof *pool);
    pool[npool++] = s;
    return s;
}

void mk_free_all(void)
{
    for (size_t i = 0; i < npool; i++)
        free(pool[i]);
    free(pool);
    pool = NULL;
    npool = 0;
}

char *mk_obj(const char *name, const char *rv)
{
    return pooled(xasprintf("{\"apiVersion\":\"demo.example.com/v1beta1\",\"kind\":\"Foo\","
                            "\"metadata\":{\"name\":\"%s\",\"uid\":\"uid-%s\","
                            "\"resourceVersion\":\"%s\"},\"spec\":{\"replicas\":1}}",
                            name, name, rv));
}

char *mk_list(const char *rv, const char *cont, int n, const char *names[], const char *rvs[])
{
    sbuf sb = SBUF_INIT;
    sbuf_printf(&sb, "{\"kind\":\"FooList\",\"metadata\":{\"resourceVersion\":\"%s\"", rv);
    if (cont)
        sbuf_printf(&sb, ",\"continue\":\"%s\"", cont);
    sbuf_puts(&sb, "},\"items\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            sbuf_putc(&sb, ',');
        sbuf_puts(&sb, mk_obj(names[i], rvs[i]));
    }
    sbuf_puts(&sb, "]}");
    return pooled(sbuf_detach(&sb, NULL));
}

char *mk_event(const char *type, const char *name, const char *rv)
{
    return pooled(xasprintf("{\"type\":\"%s\",\"object\":%s}\n", type, mk_obj(name, rv)));
}

char *mk_bookmark(const char *rv, bool initial_end)
{
    return pooled(xasprintf(
        "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Foo\",\"metadata\":{"
        "\"resourceVersion\":\"%s\"%s}}}\n",
        rv, initial_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}" : ""));
}

char *mk_error_event(int code, const char *reason)
{
    return pooled(xasprintf("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":"
                            "\"v1\",\"status\":\"Failure\",\"message\":\"m\",\"reason\":\"%s\","
                            "\"code\":%d}}\n",
                            reason, code));
}

/* ---- the fake ---- */

fake *fake_new(const fk_step *steps, size_t n, clk_t *c)
{
    fake *f = xcalloc(1, sizeof *f);
    f->clock = c;
    for (size_t i = 0; i < n; i++)
        fake_push(f, steps[i]);
    return f;
}

void fake_push(fake *f, fk_step step)
{
    f->steps = xrealloc(f->steps, (f->nsteps + 1) * sizeof *f->steps);
    f->steps[f->nsteps++] = step;
}

void fake_free(fake *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->ncalls && i < FK_MAX_CALLS; i++)
        free(f->paths[i]);
    free(f->steps);
    free(f);
}

static void end_script(fake *f)
{
    if (f->refl)
        inf_reflector_stop(f->refl);
    if (f->stop_flag)
        atomic_store(f->stop_flag, true);
    if (f->on_end)
        f->on_end(f->on_end_ctx);
}

/* The next step if it has kind k; else ends the script and returns NULL. */
static const fk_step *take(fake *f, fk_kind k, const char *path, int idle_ms)
{
    if (f->ncalls < FK_MAX_CALLS) {
        f->paths[f->ncalls] = xstrdup(path);
        f->idle_ms[f->ncalls] = idle_ms;
    }
    f->ncalls++;
    if (f->next >= f->nsteps || f->steps[f->next].kind != k) {
        end_script(f);
        return NULL;
    }
    return &f->steps[f->next++];
}

static void set_error(const fk_step *s, api_error *err)
{
    if (s->code == FK_TRANSPORT) {
        apierr_set(err, 0, "Transport", "connection refused");
        return;
    }
    apierr_set(err, s->code, s->code == 410 ? "Expired" : "Failure", "%s",
               s->message ? s->message : "scripted failure");
    if (s->cause)
        apierr_add_cause(err, s->cause, "", "scripted cause");
}

static int fake_get(void *ctx, const char *path, char **body, size_t *len, api_error *err)
{
    fake *f = ctx;
    const fk_step *s = take(f, FK_GET, path, 0);
    if (!s) {
        apierr_set(err, 0, "Transport", "script ended");
        return -ECONNREFUSED;
    }
    if (s->advance_ms)
        clk_fake_advance_ms(f->clock, s->advance_ms);
    if (s->code != 0) {
        set_error(s, err);
        return s->code == FK_TRANSPORT ? -ECONNREFUSED : -EIO;
    }
    *body = xstrdup(s->body);
    *len = strlen(s->body);
    return 0;
}

static kc_event_type type_of(const char *s)
{
    if (strcmp(s, "ADDED") == 0)
        return KC_ADDED;
    if (strcmp(s, "MODIFIED") == 0)
        return KC_MODIFIED;
    if (strcmp(s, "DELETED") == 0)
        return KC_DELETED;
    if (strcmp(s, "BOOKMARK") == 0)
        return KC_BOOKMARK;
    return KC_ERROR;
}

/* Delivers the lines of a step; returns false when fn asked to stop. */
static bool feed_lines(const char *lines, kc_watch_fn fn, void *fn_ctx)
{
    const char *p = lines ? lines : "";
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        cJSON *ev = cJSON_ParseWithLength(p, n);
        p += n + (nl ? 1 : 0);
        if (!ev)
            continue;
        kc_watch_event e = {
            .type = type_of(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "type"))),
            .object = cJSON_DetachItemFromObject(ev, "object"),
        };
        cJSON_Delete(ev);
        bool go_on = fn(fn_ctx, &e);
        cJSON_Delete(e.object);
        if (!go_on)
            return false;
    }
    return true;
}

static int fake_watch(void *ctx, const char *path, int idle_timeout_ms, kc_watch_fn fn,
                      void *fn_ctx, atomic_bool *cancel, api_error *err)
{
    fake *f = ctx;
    bool last = f->next + 1 == f->nsteps;
    const fk_step *s = take(f, FK_WATCH, path, idle_timeout_ms);
    if (!s) {
        apierr_set(err, 0, "Transport", "script ended");
        return -ECONNREFUSED;
    }
    if (s->code != 0) {
        if (s->advance_ms)
            clk_fake_advance_ms(f->clock, s->advance_ms);
        set_error(s, err);
        return s->code == FK_TRANSPORT ? -ECONNREFUSED : -EIO;
    }
    bool go_on = feed_lines(s->lines, fn, fn_ctx);
    if (s->advance_ms)
        clk_fake_advance_ms(f->clock, s->advance_ms);
    if (go_on && last && f->block_last_watch) {
        /* An idle, open stream: wait for the cancel flag like kc_watch does (no sleep; the
           test thread raises the flag). */
        atomic_store(&f->in_blocking_watch, true);
        while (!atomic_load(cancel))
            sched_yield();
        return 0;
    }
    if (!go_on || atomic_load(cancel))
        return 0;
    if (s->rc == -ETIMEDOUT)
        apierr_set(err, 0, "Timeout", "idle");
    else if (s->rc < 0)
        apierr_set(err, 0, "Transport", "connection reset");
    return s->rc;
}

inf_transport fake_transport(fake *f)
{
    return (inf_transport){.get = fake_get, .watch = fake_watch, .ctx = f};
}

bool fake_wait(void *ctx, uint64_t ns)
{
    fake *f = ctx;
    if (f->nwaits < FK_MAX_CALLS)
        f->waits[f->nwaits] = ns;
    f->nwaits++;
    clk_fake_advance_ms(f->clock, (int64_t)(ns / CLK_NS_PER_MS));
    if (f->refl)
        return !inf_reflector_stopping(f->refl);
    return !(f->stop_flag && atomic_load(f->stop_flag));
}

const char *fake_path(const fake *f, size_t i)
{
    return i < f->ncalls && i < FK_MAX_CALLS ? f->paths[i] : "";
}

char *query_param(const char *path, const char *name)
{
    const char *q = strchr(path, '?');
    size_t n = strlen(name);
    while (q) {
        q++;
        if (strncmp(q, name, n) == 0 && q[n] == '=') {
            const char *v = q + n + 1;
            return xstrndup(v, strcspn(v, "&"));
        }
        q = strchr(q, '&');
    }
    return NULL;
}

inf_options fake_options(fake *f, const char *path)
{
    inf_options o = inf_options_defaults();
    o.path = path;
    o.clock = f->clock;
    o.wait = fake_wait;
    o.wait_ctx = f;
    o.seed = 42;
    o.watch_list = false;
    return o;
}

/* ---- recording sink ---- */

static void rec(rec_sink *rs, char *line)
{
    if (rs->n < FK_MAX_CALLS)
        rs->log[rs->n++] = line;
    else
        free(line);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void rec_replace(void *ctx, inf_obj **objs, size_t n, const char *rv)
{
    const char **keys = xmalloc((n ? n : 1) * sizeof *keys);
    for (size_t i = 0; i < n; i++)
        keys[i] = inf_obj_key(objs[i]);
    qsort(keys, n, sizeof *keys, cmp_str);
    sbuf sb = SBUF_INIT;
    sbuf_printf(&sb, "replace %s ", rv);
    for (size_t i = 0; i < n; i++)
        sbuf_printf(&sb, "%s%s", i ? "," : "", keys[i]);
    free(keys);
    for (size_t i = 0; i < n; i++)
        inf_obj_unref(objs[i]);
    rec(ctx, sbuf_detach(&sb, NULL));
}

static void rec_event(void *ctx, kc_event_type type, inf_obj *obj)
{
    const char *t = type == KC_ADDED ? "ADDED" : type == KC_MODIFIED ? "MODIFIED" : "DELETED";
    rec(ctx, xasprintf("%s %s %s", t, inf_obj_key(obj), inf_obj_resource_version(obj)));
    inf_obj_unref(obj);
}

inf_sink rec_sink_make(rec_sink *rs)
{
    return (inf_sink){.replace = rec_replace, .event = rec_event, .ctx = rs};
}

void rec_sink_free(rec_sink *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->log[i]);
    rs->n = 0;
}
