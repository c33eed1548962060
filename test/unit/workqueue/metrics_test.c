/* The Prometheus text of the workqueue metrics: values, and validity per promtool. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "wq_test_util.h"

static clk_t *clk;

static void setup(void)
{
    arm_watchdog();
    clk = clk_fake_new(0);
}

static void teardown(void)
{
    clk_fake_free(clk);
}

TestSuite(metrics, .init = setup, .fini = teardown);

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

static void assert_line(const char *text, const char *line)
{
    char *needle = xasprintf("\n%s\n", line);
    cr_assert_not_null(strstr(text, needle), "missing line: %s\n--- output ---\n%s", line, text);
    free(needle);
}

/* A known history: 3 adds (one deduped), two takes, one done, one delayed and one
 * rate-limited retry, and a key processing for 5 ms at scrape time. */
static wq *queue_with_history(void)
{
    wq *q = new_fake_queue(clk, "foo");
    wq_add(q, "a");
    wq_add(q, "b");
    wq_add(q, "a");
    clk_fake_advance_ms(clk, 1);
    expect_get(q, "a"); /* waited 1 ms */
    clk_fake_advance_ms(clk, 2);
    wq_done(q, "a");    /* worked 2 ms */
    expect_get(q, "b"); /* waited 3 ms */
    clk_fake_advance_ms(clk, 5);
    wq_add_after(q, "c", 10);
    wq_add_rate_limited(q, "d");
    wq_add(q, "e");
    return q;
}

Test(metrics, text_has_the_values_of_the_queue_history)
{
    wq *q = queue_with_history();
    sbuf out = SBUF_INIT;
    sbuf_putc(&out, '\n'); /* so assert_line can anchor the first line too */
    wq_metrics_write(q, &out);
    const char *t = out.data;
    assert_line(t, "# TYPE workqueue_depth gauge");
    assert_line(t, "workqueue_depth{controller=\"foo\",name=\"foo\"} 1");
    assert_line(t, "# TYPE workqueue_adds_total counter");
    assert_line(t, "workqueue_adds_total{controller=\"foo\",name=\"foo\"} 3");
    assert_line(t, "# TYPE workqueue_queue_duration_seconds histogram");
    assert_line(t, "workqueue_queue_duration_seconds_bucket{controller=\"foo\",name=\"foo\","
                   "le=\"1e-08\"} 0");
    assert_line(t, "workqueue_queue_duration_seconds_bucket{controller=\"foo\",name=\"foo\","
                   "le=\"0.0001\"} 0");
    assert_line(t, "workqueue_queue_duration_seconds_bucket{controller=\"foo\",name=\"foo\","
                   "le=\"0.001\"} 1");
    assert_line(t, "workqueue_queue_duration_seconds_bucket{controller=\"foo\",name=\"foo\","
                   "le=\"0.01\"} 2");
    assert_line(t, "workqueue_queue_duration_seconds_bucket{controller=\"foo\",name=\"foo\","
                   "le=\"1000\"} 2");
    assert_line(t, "workqueue_queue_duration_seconds_bucket{controller=\"foo\",name=\"foo\","
                   "le=\"+Inf\"} 2");
    assert_line(t, "workqueue_queue_duration_seconds_sum{controller=\"foo\",name=\"foo\"} 0.004");
    assert_line(t, "workqueue_queue_duration_seconds_count{controller=\"foo\",name=\"foo\"} 2");
    assert_line(t, "workqueue_work_duration_seconds_bucket{controller=\"foo\",name=\"foo\","
                   "le=\"0.001\"} 0");
    assert_line(t, "workqueue_work_duration_seconds_bucket{controller=\"foo\",name=\"foo\","
                   "le=\"0.01\"} 1");
    assert_line(t, "workqueue_work_duration_seconds_sum{controller=\"foo\",name=\"foo\"} 0.002");
    assert_line(t, "workqueue_work_duration_seconds_count{controller=\"foo\",name=\"foo\"} 1");
    assert_line(t, "workqueue_unfinished_work_seconds{controller=\"foo\",name=\"foo\"} 0.005");
    assert_line(
        t, "workqueue_longest_running_processor_seconds{controller=\"foo\",name=\"foo\"} 0.005");
    assert_line(t, "workqueue_retries_total{controller=\"foo\",name=\"foo\"} 2");
    sbuf_free(&out);
    wq_free(q);
}

Test(metrics, text_passes_promtool_check_metrics)
{
    wq *q = queue_with_history();
    sbuf out = SBUF_INIT;
    wq_metrics_write(q, &out);
    cr_assert_eq(promtool_check(out.data), 0, "promtool rejected:\n%s", out.data);
    sbuf_free(&out);
    wq_free(q);
}

Test(metrics, several_queues_share_one_family_header_and_pass_promtool)
{
    wq *qs[2] = {queue_with_history(), new_fake_queue(clk, "quote\"back\\slash\nnewline")};
    wq_add(qs[1], "x");
    sbuf out = SBUF_INIT;
    wq_metrics_write_many(qs, 2, &out);
    const char *first = strstr(out.data, "# TYPE workqueue_depth gauge");
    cr_assert_not_null(first);
    cr_assert_null(strstr(first + 1, "# TYPE workqueue_depth gauge"), "family written twice");
    cr_assert_not_null(strstr(out.data,
                              "workqueue_depth{controller=\"quote\\\"back\\\\slash\\n"
                              "newline\",name=\"quote\\\"back\\\\slash\\nnewline\"} 1\n"));
    cr_assert_eq(promtool_check(out.data), 0, "promtool rejected:\n%s", out.data);
    sbuf_free(&out);
    wq_free(qs[0]);
    wq_free(qs[1]);
}

Test(metrics, fresh_queue_reports_zeros)
{
    wq *q = new_fake_queue(clk, "idle");
    sbuf out = SBUF_INIT;
    sbuf_putc(&out, '\n');
    wq_metrics_write(q, &out);
    assert_line(out.data, "workqueue_depth{controller=\"idle\",name=\"idle\"} 0");
    assert_line(out.data,
                "workqueue_work_duration_seconds_sum{controller=\"idle\",name=\"idle\"} 0");
    assert_line(out.data,
                "workqueue_longest_running_processor_seconds{controller=\"idle\",name=\"idle\"} 0");
    sbuf_free(&out);
    wq_free(q);
}
