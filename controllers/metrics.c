/*
 * metrics.c - a Prometheus text-format registry and the controller-manager's families.
 *
 * Layout: a registry is a list of families under one mutex; a family keeps its series in a uthash
 * keyed by the label values joined with NUL separators (a value cannot contain NUL, so the key is
 * unambiguous), which also keeps them in creation order for output.
 */
#include "controllers/metrics.h"

#include "common/alloc.h"
#include "common/promtext.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef struct series {
    char *key; /* label values joined by NUL; hash key */
    size_t keylen;
    char **values;    /* one per label name */
    double value;     /* counter or gauge */
    uint64_t *counts; /* histogram: per finite bucket (not cumulative) */
    uint64_t count;   /* histogram: observations */
    double sum;       /* histogram: sum of observations */
    UT_hash_handle hh;
} series;

struct metrics_family {
    metrics_registry *reg; /* its mutex guards `series` and the values in it */
    metrics_type type;
    char *name, *help;
    char **labels;
    size_t nlabels;
    double *buckets;
    size_t nbuckets;
    series *series; /* uthash, in creation order */
};

/* The named families of metrics_registry_new_manager(); NULL in a plain registry. */
typedef struct manager_families {
    metrics_family *reconcile_total, *reconcile_errors, *reconcile_time;
    metrics_family *active_workers, *max_concurrent, *leader_status, *requests;
} manager_families;

struct metrics_registry {
    pthread_mutex_t mu; /* guards families, queues and every family's series */
    metrics_family **families;
    size_t nfamilies;
    wq **queues;
    size_t nqueues;
    manager_families m;
};

metrics_registry *metrics_registry_new(void)
{
    metrics_registry *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void series_free(series *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->values);
    free(s->counts);
    free(s->key);
    free(s);
}

static void family_free(metrics_family *f)
{
    series *s, *tmp;
    HASH_ITER(hh, f->series, s, tmp)
    {
        HASH_DEL(f->series, s);
        series_free(s, f->nlabels);
    }
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->labels);
    free(f->buckets);
    free(f->name);
    free(f->help);
    free(f);
}

void metrics_registry_free(metrics_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfamilies; i++)
        family_free(r->families[i]);
    free(r->families);
    free(r->queues);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ---- registration -------------------------------------------------------------------------- */

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; without ':' for label names. */
static bool valid_name(const char *s, bool colon_ok)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || *s == '_' || (colon_ok && *s == ':');
        if (!ok)
            return false;
    }
    return true;
}

static bool valid_labels(metrics_type type, const char *const *labels, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!valid_name(labels[i], false) || strncmp(labels[i], "__", 2) == 0)
            return false;
        if (type == METRICS_HISTOGRAM && strcmp(labels[i], "le") == 0)
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return false;
    }
    return true;
}

static bool valid_buckets(metrics_type type, const double *b, size_t n)
{
    if (type != METRICS_HISTOGRAM)
        return n == 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1]))
            return false;
    return true;
}

static metrics_family *find_family_locked(metrics_registry *r, const char *name)
{
    for (size_t i = 0; i < r->nfamilies; i++)
        if (strcmp(r->families[i]->name, name) == 0)
            return r->families[i];
    return NULL;
}

metrics_family *metrics_family_new(metrics_registry *r, metrics_type type, const char *name,
                                   const char *help, const char *const *label_names, size_t nlabels,
                                   const double *buckets, size_t nbuckets)
{
    if (!valid_name(name, true) || !valid_labels(type, label_names, nlabels) ||
        !valid_buckets(type, buckets, nbuckets))
        return NULL;
    metrics_family *f = xcalloc(1, sizeof *f);
    f->reg = r;
    f->type = type;
    f->name = xstrdup(name);
    f->help = xstrdup(help ? help : "");
    f->nlabels = nlabels;
    f->labels = xcalloc(nlabels ? nlabels : 1, sizeof *f->labels);
    for (size_t i = 0; i < nlabels; i++)
        f->labels[i] = xstrdup(label_names[i]);
    f->nbuckets = nbuckets;
    f->buckets = xcalloc(nbuckets ? nbuckets : 1, sizeof *f->buckets);
    if (nbuckets)
        memcpy(f->buckets, buckets, nbuckets * sizeof *buckets);

    pthread_mutex_lock(&r->mu);
    bool taken = find_family_locked(r, name) != NULL;
    if (!taken) {
        r->families = xrealloc(r->families, (r->nfamilies + 1) * sizeof *r->families);
        r->families[r->nfamilies++] = f;
    }
    pthread_mutex_unlock(&r->mu);
    if (taken) {
        family_free(f);
        return NULL;
    }
    return f;
}

/* ---- series ---------------------------------------------------------------------------------- */

static char *join_values(const metrics_family *f, const char *const *values, size_t *len)
{
    sbuf key = SBUF_INIT;
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = values && values[i] ? values[i] : "";
        sbuf_append(&key, v, strlen(v) + 1); /* the NUL is the separator */
    }
    return sbuf_detach(&key, len);
}

/* The series of values, created at zero when missing. Called with the registry's mutex held. */
static series *series_get_locked(metrics_family *f, const char *const *values)
{
    size_t len;
    char *key = join_values(f, values, &len);
    series *s;
    HASH_FIND(hh, f->series, key, len, s);
    if (s) {
        free(key);
        return s;
    }
    s = xcalloc(1, sizeof *s);
    s->key = key;
    s->keylen = len;
    s->values = xcalloc(f->nlabels ? f->nlabels : 1, sizeof *s->values);
    for (size_t i = 0; i < f->nlabels; i++)
        s->values[i] = xstrdup(values && values[i] ? values[i] : "");
    if (f->type == METRICS_HISTOGRAM)
        s->counts = xcalloc(f->nbuckets ? f->nbuckets : 1, sizeof *s->counts);
    HASH_ADD_KEYPTR(hh, f->series, s->key, s->keylen, s);
    return s;
}

/* Runs one update of a series under the registry's lock, if f has the expected type. */
typedef void (*series_update_fn)(metrics_family *f, series *s, double v);

static void update(metrics_family *f, metrics_type want, const char *const *values, double v,
                   series_update_fn fn)
{
    if (!f || f->type != want)
        return;
    pthread_mutex_lock(&f->reg->mu);
    fn(f, series_get_locked(f, values), v);
    pthread_mutex_unlock(&f->reg->mu);
}

static void do_add(metrics_family *f, series *s, double v)
{
    s->value += v;
}

static void do_set(metrics_family *f, series *s, double v)
{
    s->value = v;
}

static void do_observe(metrics_family *f, series *s, double v)
{
    for (size_t i = 0; i < f->nbuckets; i++) {
        if (v <= f->buckets[i]) {
            s->counts[i]++;
            break;
        }
    }
    s->count++;
    s->sum += v;
}

static void do_nothing(metrics_family *f, series *s, double v) {}

void metrics_counter_add(metrics_family *f, const char *const *label_values, double delta)
{
    if (delta >= 0)
        update(f, METRICS_COUNTER, label_values, delta, do_add);
}

void metrics_gauge_set(metrics_family *f, const char *const *label_values, double v)
{
    update(f, METRICS_GAUGE, label_values, v, do_set);
}

void metrics_gauge_add(metrics_family *f, const char *const *label_values, double delta)
{
    update(f, METRICS_GAUGE, label_values, delta, do_add);
}

void metrics_histogram_observe(metrics_family *f, const char *const *label_values, double v)
{
    update(f, METRICS_HISTOGRAM, label_values, v, do_observe);
}

void metrics_touch(metrics_family *f, const char *const *label_values)
{
    if (f)
        update(f, f->type, label_values, 0, do_nothing);
}

double metrics_value(metrics_family *f, const char *const *label_values)
{
    if (!f)
        return 0;
    size_t len;
    char *key = join_values(f, label_values, &len);
    pthread_mutex_lock(&f->reg->mu);
    series *s;
    HASH_FIND(hh, f->series, key, len, s);
    double v = !s ? 0 : f->type == METRICS_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&f->reg->mu);
    free(key);
    return v;
}

void metrics_add_queue(metrics_registry *r, wq *q)
{
    pthread_mutex_lock(&r->mu);
    r->queues = xrealloc(r->queues, (r->nqueues + 1) * sizeof *r->queues);
    r->queues[r->nqueues++] = q;
    pthread_mutex_unlock(&r->mu);
}

/* ---- text format ------------------------------------------------------------------------------
 * Exposition format 0.0.4: `# HELP name text` (text escapes \ and newline), `# TYPE name type`,
 * then `name{label="value",...} number` lines (values escape \, " and newline). */

/* Integers print as integers (counters read naturally); other values in the shortest form that
 * reads back as the same double, as Go's FormatFloat(v, 'g', -1) does. */
static void put_number(sbuf *out, double v)
{
    if (isnan(v)) {
        sbuf_puts(out, "NaN");
        return;
    }
    if (isinf(v)) {
        sbuf_puts(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        sbuf_printf(out, "%.0f", v);
        return;
    }
    sbuf_put_double(out, v);
}

/* `name{l1="v1",...,le="x"} ` (no braces when there is no label at all). */
static void put_series_name(sbuf *out, const metrics_family *f, const char *suffix, const series *s,
                            const char *le)
{
    sbuf_puts(out, f->name);
    sbuf_puts(out, suffix);
    if (f->nlabels == 0 && !le) {
        sbuf_putc(out, ' ');
        return;
    }
    sbuf_putc(out, '{');
    for (size_t i = 0; i < f->nlabels; i++) {
        sbuf_printf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
        prom_put_label_value(out, s->values[i]);
        sbuf_putc(out, '"');
    }
    if (le)
        sbuf_printf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    sbuf_puts(out, "} ");
}

static void put_histogram(sbuf *out, const metrics_family *f, const series *s)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i < f->nbuckets; i++) {
        sbuf le = SBUF_INIT;
        put_number(&le, f->buckets[i]);
        cumulative += s->counts[i];
        put_series_name(out, f, "_bucket", s, le.data);
        sbuf_printf(out, "%llu\n", (unsigned long long)cumulative);
        sbuf_free(&le);
    }
    put_series_name(out, f, "_bucket", s, "+Inf");
    sbuf_printf(out, "%llu\n", (unsigned long long)s->count);
    put_series_name(out, f, "_sum", s, NULL);
    put_number(out, s->sum);
    sbuf_putc(out, '\n');
    put_series_name(out, f, "_count", s, NULL);
    sbuf_printf(out, "%llu\n", (unsigned long long)s->count);
}

static const char *type_name(metrics_type t)
{
    return t == METRICS_COUNTER ? "counter" : t == METRICS_GAUGE ? "gauge" : "histogram";
}

static void put_family(sbuf *out, const metrics_family *f)
{
    sbuf_printf(out, "# HELP %s ", f->name);
    prom_put_help(out, f->help);
    sbuf_printf(out, "\n# TYPE %s %s\n", f->name, type_name(f->type));
    for (const series *s = f->series; s; s = s->hh.next) {
        if (f->type == METRICS_HISTOGRAM) {
            put_histogram(out, f, s);
            continue;
        }
        put_series_name(out, f, "", s, NULL);
        put_number(out, s->value);
        sbuf_putc(out, '\n');
    }
}

void metrics_write(metrics_registry *r, sbuf *out)
{
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->nfamilies; i++)
        put_family(out, r->families[i]);
    size_t nq = r->nqueues;
    wq **qs = xcalloc(nq ? nq : 1, sizeof *qs);
    if (nq)
        memcpy(qs, r->queues, nq * sizeof *qs);
    pthread_mutex_unlock(&r->mu);
    /* The queues lock themselves; ours is released first so the two locks never nest. */
    if (nq)
        wq_metrics_write_many(qs, nq, out);
    free(qs);
}

/* ---- the controller-manager's families ------------------------------------------------------ */

static const char *const result_names[] = {"success", "error", "requeue", "requeue_after"};

const char *metrics_result_name(metrics_result r)
{
    return (unsigned)r < sizeof result_names / sizeof *result_names ? result_names[r] : "error";
}

/* controller-runtime's reconcile_time_seconds buckets, 5 ms to 60 s. */
static const double reconcile_buckets[] = {
    0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
    0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
    6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60,
};

metrics_registry *metrics_registry_new_manager(void)
{
    metrics_registry *r = metrics_registry_new();
    static const char *const ctl[] = {"controller"};
    static const char *const ctl_result[] = {"controller", "result"};
    static const char *const lease[] = {"name"};
    static const char *const req[] = {"code", "method", "host"};
    manager_families *m = &r->m;
    m->reconcile_total =
        metrics_family_new(r, METRICS_COUNTER, "controller_runtime_reconcile_total",
                           "Reconciles per controller and result.", ctl_result, 2, NULL, 0);
    m->reconcile_errors =
        metrics_family_new(r, METRICS_COUNTER, "controller_runtime_reconcile_errors_total",
                           "Reconciles per controller that ended in an error.", ctl, 1, NULL, 0);
    m->reconcile_time =
        metrics_family_new(r, METRICS_HISTOGRAM, "controller_runtime_reconcile_time_seconds",
                           "Seconds one reconcile took, per controller.", ctl, 1, reconcile_buckets,
                           sizeof reconcile_buckets / sizeof *reconcile_buckets);
    m->max_concurrent =
        metrics_family_new(r, METRICS_GAUGE, "controller_runtime_max_concurrent_reconciles",
                           "Workers of each controller.", ctl, 1, NULL, 0);
    m->active_workers =
        metrics_family_new(r, METRICS_GAUGE, "controller_runtime_active_workers",
                           "Workers of each controller running a reconcile now.", ctl, 1, NULL, 0);
    m->leader_status = metrics_family_new(
        r, METRICS_GAUGE, "leader_election_master_status",
        "1 while this process leads the lease named by `name`, else 0.", lease, 1, NULL, 0);
    m->requests = metrics_family_new(r, METRICS_COUNTER, "rest_client_requests_total",
                                     "HTTP requests of the REST client by status code (<error> "
                                     "when no answer came), method and host.",
                                     req, 3, NULL, 0);
    return r;
}

void metrics_controller_init(metrics_registry *r, const char *controller, int workers)
{
    const char *ctl[] = {controller};
    for (size_t i = 0; i < sizeof result_names / sizeof *result_names; i++) {
        const char *v[] = {controller, result_names[i]};
        metrics_touch(r->m.reconcile_total, v);
    }
    metrics_touch(r->m.reconcile_errors, ctl);
    metrics_touch(r->m.reconcile_time, ctl);
    metrics_gauge_set(r->m.max_concurrent, ctl, workers);
    metrics_gauge_set(r->m.active_workers, ctl, 0);
}

void metrics_reconcile_done(metrics_registry *r, const char *controller, metrics_result result,
                            double seconds)
{
    const char *ctl[] = {controller};
    const char *v[] = {controller, metrics_result_name(result)};
    metrics_counter_add(r->m.reconcile_total, v, 1);
    if (result == METRICS_RESULT_ERROR)
        metrics_counter_add(r->m.reconcile_errors, ctl, 1);
    metrics_histogram_observe(r->m.reconcile_time, ctl, seconds);
}

void metrics_active_workers_add(metrics_registry *r, const char *controller, int delta)
{
    const char *ctl[] = {controller};
    metrics_gauge_add(r->m.active_workers, ctl, delta);
}

void metrics_leader_status(metrics_registry *r, const char *lease, bool leading)
{
    const char *v[] = {lease};
    metrics_gauge_set(r->m.leader_status, v, leading ? 1 : 0);
}

void metrics_observe_request(metrics_registry *r, int code, const char *method, const char *host)
{
    char codebuf[16];
    if (code > 0)
        snprintf(codebuf, sizeof codebuf, "%d", code);
    else
        snprintf(codebuf, sizeof codebuf, "<error>");
    const char *v[] = {codebuf, method, host};
    metrics_counter_add(r->m.requests, v, 1);
}
