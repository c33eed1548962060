/* The controller-manager's metrics: text format, controller-runtime's families, promtool. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "controllers/metrics.h"

static void setup(void)
{
    alarm(120); /* hang guard: SIGALRM kills a stuck test process */
}

TestSuite(metrics, .init = setup);

static char *render(metrics_registry *r)
{
    sbuf out = SBUF_INIT;
    metrics_write(r, &out);
    return sbuf_detach(&out, NULL);
}

static void assert_line(const char *text, const char *line)
{
    char *needle = xasprintf("\n%s\n", line);
    bool first = strncmp(text, line, strlen(line)) == 0 && text[strlen(line)] == '\n';
    cr_assert(first || strstr(text, needle), "missing line: %s\n--- output ---\n%s", line, text);
    free(needle);
}

/* Pipes text through `promtool check metrics` (format and lint); its messages go to stderr. */
static int promtool_check(const char *text)
{
    FILE *p = popen("/usr/bin/promtool check metrics 1>&2", "w");
    cr_assert_not_null(p, "cannot run promtool");
    size_t len = strlen(text);
    cr_assert_eq(fwrite(text, 1, len, p), len);
    int status = pclose(p);
    cr_assert_neq(status, -1);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(metrics, counter_and_gauge_series_are_written_with_help_type_and_labels)
{
    metrics_registry *r = metrics_registry_new();
    const char *labels[] = {"controller", "result"};
    metrics_family *c =
        metrics_family_new(r, METRICS_COUNTER, "x_total", "Things.", labels, 2, NULL, 0);
    metrics_family *g = metrics_family_new(r, METRICS_GAUGE, "y", "Level.", NULL, 0, NULL, 0);
    cr_assert_not_null(c);
    cr_assert_not_null(g);
    const char *v[] = {"foo", "success"};
    metrics_counter_add(c, v, 1);
    metrics_counter_add(c, v, 2);
    metrics_gauge_set(g, NULL, 2.5);
    char *text = render(r);
    cr_assert_str_eq(text, "# HELP x_total Things.\n"
                           "# TYPE x_total counter\n"
                           "x_total{controller=\"foo\",result=\"success\"} 3\n"
                           "# HELP y Level.\n"
                           "# TYPE y gauge\n"
                           "y 2.5\n");
    free(text);
    metrics_registry_free(r);
}

Test(metrics, label_values_and_help_are_escaped_per_the_exposition_format)
{
    metrics_registry *r = metrics_registry_new();
    const char *labels[] = {"host"};
    metrics_family *c =
        metrics_family_new(r, METRICS_COUNTER, "z_total", "a\\b\nc", labels, 1, NULL, 0);
    const char *v[] = {"q\"uote\\back\nline"};
    metrics_counter_add(c, v, 1);
    char *text = render(r);
    assert_line(text, "# HELP z_total a\\\\b\\nc");
    assert_line(text, "z_total{host=\"q\\\"uote\\\\back\\nline\"} 1");
    cr_assert_eq(promtool_check(text), 0, "promtool rejected:\n%s", text);
    free(text);
    metrics_registry_free(r);
}

Test(metrics, histogram_buckets_are_cumulative_with_inf_sum_and_count)
{
    metrics_registry *r = metrics_registry_new();
    const double b[] = {0.5, 1, 10};
    metrics_family *h =
        metrics_family_new(r, METRICS_HISTOGRAM, "h_seconds", "Time.", NULL, 0, b, 3);
    cr_assert_not_null(h);
    metrics_histogram_observe(h, NULL, 0.25);
    metrics_histogram_observe(h, NULL, 0.5); /* le is inclusive */
    metrics_histogram_observe(h, NULL, 5);
    metrics_histogram_observe(h, NULL, 100);
    char *text = render(r);
    assert_line(text, "h_seconds_bucket{le=\"0.5\"} 2");
    assert_line(text, "h_seconds_bucket{le=\"1\"} 2");
    assert_line(text, "h_seconds_bucket{le=\"10\"} 3");
    assert_line(text, "h_seconds_bucket{le=\"+Inf\"} 4");
    assert_line(text, "h_seconds_sum 105.75");
    assert_line(text, "h_seconds_count 4");
    cr_assert_eq(metrics_value(h, NULL), 4);
    free(text);
    metrics_registry_free(r);
}

Test(metrics, invalid_or_duplicate_families_are_refused)
{
    metrics_registry *r = metrics_registry_new();
    const char *bad_label[] = {"1abc"};
    const char *reserved[] = {"__x"};
    const char *le[] = {"le"};
    const char *twice[] = {"a", "a"};
    const double unsorted[] = {1, 0.5};
    cr_assert_null(metrics_family_new(r, METRICS_COUNTER, "9x", "", NULL, 0, NULL, 0));
    cr_assert_null(metrics_family_new(r, METRICS_COUNTER, "a-b", "", NULL, 0, NULL, 0));
    cr_assert_null(metrics_family_new(r, METRICS_COUNTER, "a", "", bad_label, 1, NULL, 0));
    cr_assert_null(metrics_family_new(r, METRICS_COUNTER, "a", "", reserved, 1, NULL, 0));
    cr_assert_null(metrics_family_new(r, METRICS_COUNTER, "a", "", twice, 2, NULL, 0));
    cr_assert_null(metrics_family_new(r, METRICS_HISTOGRAM, "a", "", le, 1, unsorted, 0));
    cr_assert_null(metrics_family_new(r, METRICS_HISTOGRAM, "a", "", NULL, 0, unsorted, 2));
    cr_assert_null(metrics_family_new(r, METRICS_GAUGE, "a", "", NULL, 0, unsorted, 1));
    cr_assert_not_null(metrics_family_new(r, METRICS_GAUGE, "a:b_c", "", NULL, 0, NULL, 0));
    cr_assert_null(metrics_family_new(r, METRICS_COUNTER, "a:b_c", "", NULL, 0, NULL, 0));
    metrics_registry_free(r);
}

Test(metrics, a_counter_never_decreases_and_a_wrong_type_call_does_nothing)
{
    metrics_registry *r = metrics_registry_new();
    metrics_family *c = metrics_family_new(r, METRICS_COUNTER, "c_total", "", NULL, 0, NULL, 0);
    metrics_counter_add(c, NULL, 2);
    metrics_counter_add(c, NULL, -1);
    metrics_gauge_set(c, NULL, 100);
    metrics_histogram_observe(c, NULL, 1);
    cr_assert_eq(metrics_value(c, NULL), 2);
    metrics_registry_free(r);
}

Test(metrics, controller_init_shows_every_result_at_zero)
{
    metrics_registry *r = metrics_registry_new_manager();
    metrics_controller_init(r, "foo", 2);
    char *text = render(r);
    assert_line(text,
                "controller_runtime_reconcile_total{controller=\"foo\",result=\"success\"} 0");
    assert_line(text, "controller_runtime_reconcile_total{controller=\"foo\",result=\"error\"} 0");
    assert_line(text,
                "controller_runtime_reconcile_total{controller=\"foo\",result=\"requeue\"} 0");
    assert_line(
        text, "controller_runtime_reconcile_total{controller=\"foo\",result=\"requeue_after\"} 0");
    assert_line(text, "controller_runtime_reconcile_errors_total{controller=\"foo\"} 0");
    assert_line(text, "controller_runtime_max_concurrent_reconciles{controller=\"foo\"} 2");
    assert_line(text, "controller_runtime_active_workers{controller=\"foo\"} 0");
    free(text);
    metrics_registry_free(r);
}

Test(metrics, reconcile_outcomes_count_per_result_and_errors_separately)
{
    metrics_registry *r = metrics_registry_new_manager();
    metrics_controller_init(r, "foo", 2);
    metrics_reconcile_done(r, "foo", METRICS_RESULT_SUCCESS, 0.003);
    metrics_reconcile_done(r, "foo", METRICS_RESULT_ERROR, 0.2);
    metrics_reconcile_done(r, "foo", METRICS_RESULT_ERROR, 0.2);
    metrics_reconcile_done(r, "foo", METRICS_RESULT_REQUEUE, 0.01);
    metrics_reconcile_done(r, "foo", METRICS_RESULT_REQUEUE_AFTER, 61);
    metrics_active_workers_add(r, "foo", 1);
    metrics_active_workers_add(r, "foo", 1);
    metrics_active_workers_add(r, "foo", -1);
    char *text = render(r);
    assert_line(text,
                "controller_runtime_reconcile_total{controller=\"foo\",result=\"success\"} 1");
    assert_line(text, "controller_runtime_reconcile_total{controller=\"foo\",result=\"error\"} 2");
    assert_line(text,
                "controller_runtime_reconcile_total{controller=\"foo\",result=\"requeue\"} 1");
    assert_line(
        text, "controller_runtime_reconcile_total{controller=\"foo\",result=\"requeue_after\"} 1");
    assert_line(text, "controller_runtime_reconcile_errors_total{controller=\"foo\"} 2");
    assert_line(text, "controller_runtime_active_workers{controller=\"foo\"} 1");
    /* controller-runtime's buckets: 5 ms first, 60 s last */
    assert_line(
        text,
        "controller_runtime_reconcile_time_seconds_bucket{controller=\"foo\",le=\"0.005\"} 1");
    assert_line(
        text, "controller_runtime_reconcile_time_seconds_bucket{controller=\"foo\",le=\"0.2\"} 4");
    assert_line(text,
                "controller_runtime_reconcile_time_seconds_bucket{controller=\"foo\",le=\"60\"} 4");
    assert_line(
        text, "controller_runtime_reconcile_time_seconds_bucket{controller=\"foo\",le=\"+Inf\"} 5");
    assert_line(text, "controller_runtime_reconcile_time_seconds_count{controller=\"foo\"} 5");
    free(text);
    metrics_registry_free(r);
}

Test(metrics, leader_status_and_rest_client_requests)
{
    metrics_registry *r = metrics_registry_new_manager();
    metrics_leader_status(r, "foo-controller-manager", true);
    metrics_observe_request(r, 200, "GET", "127.0.0.1:9443");
    metrics_observe_request(r, 200, "GET", "127.0.0.1:9443");
    metrics_observe_request(r, 409, "PUT", "127.0.0.1:9443");
    metrics_observe_request(r, 0, "GET", "127.0.0.1:9443");
    char *text = render(r);
    assert_line(text, "leader_election_master_status{name=\"foo-controller-manager\"} 1");
    assert_line(
        text, "rest_client_requests_total{code=\"200\",method=\"GET\",host=\"127.0.0.1:9443\"} 2");
    assert_line(
        text, "rest_client_requests_total{code=\"409\",method=\"PUT\",host=\"127.0.0.1:9443\"} 1");
    assert_line(
        text,
        "rest_client_requests_total{code=\"<error>\",method=\"GET\",host=\"127.0.0.1:9443\"} 1");
    metrics_leader_status(r, "foo-controller-manager", false);
    free(text);
    text = render(r);
    assert_line(text, "leader_election_master_status{name=\"foo-controller-manager\"} 0");
    free(text);
    metrics_registry_free(r);
}

Test(metrics, the_whole_page_with_a_workqueue_passes_promtool)
{
    metrics_registry *r = metrics_registry_new_manager();
    wq *q = wq_new(NULL);
    metrics_add_queue(r, q);
    metrics_controller_init(r, "foo", 2);
    metrics_reconcile_done(r, "foo", METRICS_RESULT_SUCCESS, 0.02);
    metrics_leader_status(r, "foo-controller-manager", true);
    metrics_observe_request(r, 201, "POST", "[::1]:9443");
    wq_add(q, "a");
    char *text = render(r);
    cr_assert_not_null(strstr(text, "\n# TYPE workqueue_depth gauge\n"), "%s", text);
    cr_assert_eq(promtool_check(text), 0, "promtool rejected:\n%s", text);
    free(text);
    wq_shutdown(q);
    wq_free(q);
    metrics_registry_free(r);
}

static metrics_family *shared_counter;

static void *add_many(void *arg)
{
    const char *v[] = {arg};
    for (int i = 0; i < 10000; i++)
        metrics_counter_add(shared_counter, v, 1);
    return NULL;
}

Test(metrics, concurrent_updates_are_all_counted)
{
    metrics_registry *r = metrics_registry_new();
    const char *labels[] = {"worker"};
    shared_counter = metrics_family_new(r, METRICS_COUNTER, "n_total", "", labels, 1, NULL, 0);
    pthread_t t[4];
    char *names[] = {"a", "b", "a", "b"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, add_many, names[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    const char *a[] = {"a"}, *b[] = {"b"};
    cr_assert_eq(metrics_value(shared_counter, a), 20000);
    cr_assert_eq(metrics_value(shared_counter, b), 20000);
    metrics_registry_free(r);
}
