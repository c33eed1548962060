/*
 * metrics.c - the workqueue metric families in Prometheus text format 0.0.4.
 *
 * Names, types, labels and histogram buckets are those of client-go / controller-runtime, so
 * existing dashboards and alerts work unchanged (docs/design.md §6 and
 * docs/controller-machinery.md §6). Values are snapshotted under each queue's lock, then formatted
 * without any lock held.
 */
#include "workqueue/wq_internal.h"

#include "common/promtext.h"

#include <stdio.h>

/* Upper bounds of the finite buckets, in ns (for exact integer comparison) and as the `le`
 * label text (as %g prints the decimal values 1e-8 ... 1e3). */
static const uint64_t bucket_ns[WQ_HIST_BUCKETS] = {
    10ull,       100ull,       1000ull,       10000ull,       100000ull,       1000000ull,
    10000000ull, 100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
};
static const char *const bucket_le[WQ_HIST_BUCKETS] = {
    "1e-08", "1e-07", "1e-06", "1e-05", "0.0001", "0.001", "0.01", "0.1", "1", "10", "100", "1000",
};

void wq__hist_observe(wq_hist *h, uint64_t ns)
{
    for (size_t i = 0; i < WQ_HIST_BUCKETS; i++) {
        if (ns <= bucket_ns[i]) {
            h->counts[i]++;
            break;
        }
    }
    h->count++;
    h->sum_ns += ns;
}

/* The values of one queue at one instant. */
typedef struct snapshot {
    const char *name; /* q->name is immutable after wq_new, so it can be read unlocked */
    size_t depth;
    uint64_t adds, retries;
    wq_hist queue_duration, work_duration;
    uint64_t unfinished_ns, longest_ns;
} snapshot;

static void take_snapshot(wq *q, snapshot *s)
{
    s->name = q->name;
    pthread_mutex_lock(&q->mu);
    uint64_t now = clk_mono_ns(q->clock);
    wq__promote_ready_locked(q, now);
    s->depth = q->dirty_count;
    s->adds = q->adds_total;
    s->retries = q->retries_total;
    s->queue_duration = q->queue_duration;
    s->work_duration = q->work_duration;
    s->unfinished_ns = s->longest_ns = 0;
    /* Computed at scrape time rather than by a 500 ms ticker as client-go does: exact, and no
     * extra thread. The walk covers every live key; a scrape every few seconds affords it. */
    wq_item *it, *tmp;
    HASH_ITER(hh, q->items, it, tmp)
    {
        if (!it->processing)
            continue;
        uint64_t age = now > it->start_ns ? now - it->start_ns : 0;
        s->unfinished_ns += age;
        if (age > s->longest_ns)
            s->longest_ns = age;
    }
    pthread_mutex_unlock(&q->mu);
}

static void put_seconds(sbuf *out, uint64_t ns)
{
    sbuf_put_double(out, (double)ns / (double)CLK_NS_PER_S);
}

/* `name{controller="Q",name="Q"` plus an optional extra label, then `} `. */
static void put_series(sbuf *out, const char *metric, const char *queue, const char *le)
{
    sbuf_printf(out, "%s{controller=\"", metric);
    prom_put_label_value(out, queue);
    sbuf_puts(out, "\",name=\"");
    prom_put_label_value(out, queue);
    sbuf_putc(out, '"');
    if (le)
        sbuf_printf(out, ",le=\"%s\"", le);
    sbuf_puts(out, "} ");
}

static void put_header(sbuf *out, const char *metric, const char *type, const char *help)
{
    sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
}

static void put_hist(sbuf *out, const char *metric, const char *queue, const wq_hist *h)
{
    char series[128];
    uint64_t cumulative = 0;
    snprintf(series, sizeof series, "%s_bucket", metric);
    for (size_t i = 0; i < WQ_HIST_BUCKETS; i++) {
        cumulative += h->counts[i];
        put_series(out, series, queue, bucket_le[i]);
        sbuf_printf(out, "%llu\n", (unsigned long long)cumulative);
    }
    put_series(out, series, queue, "+Inf");
    sbuf_printf(out, "%llu\n", (unsigned long long)h->count);
    snprintf(series, sizeof series, "%s_sum", metric);
    put_series(out, series, queue, NULL);
    put_seconds(out, h->sum_ns);
    sbuf_putc(out, '\n');
    snprintf(series, sizeof series, "%s_count", metric);
    put_series(out, series, queue, NULL);
    sbuf_printf(out, "%llu\n", (unsigned long long)h->count);
}

static void put_count(sbuf *out, const char *metric, const char *queue, uint64_t v)
{
    put_series(out, metric, queue, NULL);
    sbuf_printf(out, "%llu\n", (unsigned long long)v);
}

static void put_gauge_seconds(sbuf *out, const char *metric, const char *queue, uint64_t ns)
{
    put_series(out, metric, queue, NULL);
    put_seconds(out, ns);
    sbuf_putc(out, '\n');
}

static void write_snapshots(const snapshot *s, size_t n, sbuf *out)
{
    put_header(out, "workqueue_depth", "gauge", "Current number of keys waiting in the workqueue.");
    for (size_t i = 0; i < n; i++)
        put_count(out, "workqueue_depth", s[i].name, s[i].depth);

    put_header(out, "workqueue_adds_total", "counter", "Total number of adds to the workqueue.");
    for (size_t i = 0; i < n; i++)
        put_count(out, "workqueue_adds_total", s[i].name, s[i].adds);

    put_header(out, "workqueue_queue_duration_seconds", "histogram",
               "Seconds a key waits in the workqueue before a worker takes it.");
    for (size_t i = 0; i < n; i++)
        put_hist(out, "workqueue_queue_duration_seconds", s[i].name, &s[i].queue_duration);

    put_header(out, "workqueue_work_duration_seconds", "histogram",
               "Seconds a worker spends processing a key taken from the workqueue.");
    for (size_t i = 0; i < n; i++)
        put_hist(out, "workqueue_work_duration_seconds", s[i].name, &s[i].work_duration);

    put_header(out, "workqueue_unfinished_work_seconds", "gauge",
               "Seconds of work in progress not yet observed by work_duration; a steady rise "
               "points at stuck workers.");
    for (size_t i = 0; i < n; i++)
        put_gauge_seconds(out, "workqueue_unfinished_work_seconds", s[i].name, s[i].unfinished_ns);

    put_header(out, "workqueue_longest_running_processor_seconds", "gauge",
               "Seconds the longest-running key of the workqueue has been processing.");
    for (size_t i = 0; i < n; i++)
        put_gauge_seconds(out, "workqueue_longest_running_processor_seconds", s[i].name,
                          s[i].longest_ns);

    put_header(out, "workqueue_retries_total", "counter",
               "Total number of delayed and rate-limited retries added to the workqueue.");
    for (size_t i = 0; i < n; i++)
        put_count(out, "workqueue_retries_total", s[i].name, s[i].retries);
}

void wq_metrics_write_many(wq *const *qs, size_t n, sbuf *out)
{
    snapshot *s = xcalloc(n ? n : 1, sizeof *s);
    for (size_t i = 0; i < n; i++)
        take_snapshot(qs[i], &s[i]);
    write_snapshots(s, n, out);
    free(s);
}

void wq_metrics_write(wq *q, sbuf *out)
{
    wq_metrics_write_many(&q, 1, out);
}
