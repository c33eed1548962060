/* The event recorder: fields, names, dedup PATCH, aggregation and spam-filter numbers, the
 * bounded queue, retries; on a fake clock whose time passes in the recorder's wait hook. */
#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/json.h"
#include "controllers/events.h"
#include "fake_kapi.h"

#define EVENTS "/api/v1/namespaces/default/events"

static clk_t *clk;
static fake_kapi *fake;
static uint64_t pauses[16]; /* the recorder's waits, in ns */
static int npauses;

static void setup(void)
{
    alarm(120);                        /* hang guard: SIGALRM kills a stuck test process */
    clk = clk_fake_new(1767225600000); /* 2026-01-01T00:00:00Z */
    fake = fake_kapi_new();
    npauses = 0;
}

static void teardown(void)
{
    fake_kapi_free(fake);
    clk_fake_free(clk);
}

TestSuite(events, .init = setup, .fini = teardown);

/* The recorder's wait hook: time passes at once. Runs on the sender thread; the test reads
 * pauses only after ev_flush, which orders the accesses. */
static bool fast_wait(void *ctx, uint64_t ns)
{
    if (npauses < 16)
        pauses[npauses++] = ns;
    clk_fake_advance_ms(clk, (int64_t)(ns / CLK_NS_PER_MS));
    return true;
}

static ev_recorder *recorder_with(ev_options o)
{
    o.wait = fast_wait;
    o.seed = 7;
    ev_recorder *r = ev_recorder_new(fake_kapi_seam(fake), clk, &o);
    cr_assert_not_null(r);
    return r;
}

static ev_recorder *recorder(void)
{
    return recorder_with(ev_options_defaults());
}

static cJSON *foo(const char *name)
{
    cJSON *o = cJSON_CreateObject();
    json_set_string(o, "apiVersion", "demo.example.com/v1beta1");
    json_set_string(o, "kind", "Foo");
    cJSON *m = json_ensure_object(o, "metadata");
    json_set_string(m, "name", name);
    json_set_string(m, "uid", "uid-1");
    json_set_string(m, "resourceVersion", "7");
    return o;
}

static void flush(ev_recorder *r)
{
    cr_assert_eq(ev_flush(r, -1), 0);
}

static const cJSON *post_body(size_t i)
{
    const fake_call *c = fake_kapi_call_of(fake, "POST", i);
    cr_assert_not_null(c, "no POST #%zu", i);
    return c->body;
}

static const char *str(const cJSON *o, const char *path)
{
    const char *v = json_path_string(o, path);
    return v ? v : "(absent)";
}

static int num(const cJSON *o, const char *key)
{
    const cJSON *n = cJSON_GetObjectItem(o, key);
    cr_assert(cJSON_IsNumber(n), "%s is not a number", key);
    return n->valueint;
}

static bool matches(const char *s, const char *pattern)
{
    regex_t re;
    cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

Test(events, defaults_are_client_gos_numbers)
{
    ev_options o = ev_options_defaults();
    cr_assert_str_eq(o.component, "foo-controller-manager");
    cr_assert_eq(o.queue_size, 1000);
    cr_assert_eq(o.spam_burst, 25);
    cr_assert_eq(o.spam_refill_ms, 300000);
    cr_assert_eq(o.aggregate_max_events, 10);
    cr_assert_eq(o.aggregate_window_ms, 600000);
    cr_assert_eq(o.cache_size, 4096);
    cr_assert_eq(o.max_tries, 12);
    cr_assert_eq(o.retry_sleep_ms, 10000);
}

Test(events, an_event_about_a_cluster_scoped_object_goes_to_default_with_every_field)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    ev_record(r, f, EV_WARNING, "ResourceExists", "Deployment %s/%s exists", "default", "foo-a");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, NULL, NULL), 1);
    cr_assert_str_eq(fake_kapi_call_of(fake, "POST", 0)->path, EVENTS);
    const cJSON *e = post_body(0);
    cr_assert_str_eq(str(e, "apiVersion"), "v1");
    cr_assert_str_eq(str(e, "kind"), "Event");
    cr_assert(matches(str(e, "metadata.name"), "^foo-a\\.[0-9a-f]{16}$"), "%s",
              str(e, "metadata.name"));
    cr_assert_str_eq(str(e, "metadata.namespace"), "default");
    cr_assert_str_eq(str(e, "involvedObject.kind"), "Foo");
    cr_assert_str_eq(str(e, "involvedObject.apiVersion"), "demo.example.com/v1beta1");
    cr_assert_str_eq(str(e, "involvedObject.name"), "foo-a");
    cr_assert_str_eq(str(e, "involvedObject.uid"), "uid-1");
    cr_assert_str_eq(str(e, "involvedObject.resourceVersion"), "7");
    cr_assert_null(json_path(e, "involvedObject.namespace"), "a cluster-scoped object has none");
    cr_assert_str_eq(str(e, "reason"), "ResourceExists");
    cr_assert_str_eq(str(e, "message"), "Deployment default/foo-a exists");
    cr_assert_str_eq(str(e, "type"), "Warning");
    cr_assert_str_eq(str(e, "source.component"), "foo-controller-manager");
    cr_assert_str_eq(str(e, "reportingComponent"), "foo-controller-manager");
    cr_assert_str_eq(str(e, "firstTimestamp"), "2026-01-01T00:00:00Z");
    cr_assert_str_eq(str(e, "lastTimestamp"), "2026-01-01T00:00:00Z");
    cr_assert_eq(num(e, "count"), 1);
    ev_stats s;
    ev_stats_get(r, &s);
    cr_assert_eq(s.recorded, 1);
    cr_assert_eq(s.created, 1);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, a_namespaced_objects_events_go_to_its_namespace)
{
    ev_recorder *r = recorder();
    cJSON *d = foo("web");
    json_set_string(json_ensure_object(d, "metadata"), "namespace", "shop");
    ev_record(r, d, EV_NORMAL, "Created", "created");
    flush(r);
    cr_assert_str_eq(fake_kapi_call_of(fake, "POST", 0)->path, "/api/v1/namespaces/shop/events");
    cr_assert_str_eq(str(post_body(0), "involvedObject.namespace"), "shop");
    cJSON_Delete(d);
    ev_recorder_free(r);
}

Test(events, event_names_are_unique_even_at_the_same_instant)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    ev_record(r, f, EV_NORMAL, "A", "one");
    ev_record(r, f, EV_NORMAL, "B", "two");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 2);
    cr_assert_str_neq(str(post_body(0), "metadata.name"), str(post_body(1), "metadata.name"));
    cr_assert_eq(fake_kapi_count_objects(fake, EVENTS "/"), 2);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, the_same_event_again_patches_count_and_last_timestamp)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    ev_record(r, f, EV_NORMAL, "Synced", "synced");
    flush(r);
    clk_fake_advance_ms(clk, 1000);
    ev_record(r, f, EV_NORMAL, "Synced", "synced");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 1);
    cr_assert_eq(fake_kapi_count(fake, "PATCH", NULL), 1);
    const char *name = str(post_body(0), "metadata.name");
    const fake_call *p = fake_kapi_call_of(fake, "PATCH", 0);
    char *path = xasprintf(EVENTS "/%s", name);
    cr_assert_str_eq(p->path, path);
    cr_assert_str_eq(p->content_type, "application/merge-patch+json");
    cr_assert_eq(num(p->body, "count"), 2);
    cr_assert_str_eq(str(p->body, "lastTimestamp"), "2026-01-01T00:00:01Z");
    cJSON *stored = fake_kapi_get_copy(fake, path);
    cr_assert_eq(num(stored, "count"), 2);
    cr_assert_str_eq(str(stored, "firstTimestamp"), "2026-01-01T00:00:00Z");
    cr_assert_str_eq(str(stored, "lastTimestamp"), "2026-01-01T00:00:01Z");
    cr_assert_eq(fake_kapi_count_objects(fake, EVENTS "/"), 1);
    cJSON_Delete(stored);
    free(path);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, ten_similar_events_within_ten_minutes_become_one_combined_event)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    for (int i = 1; i <= 9; i++) {
        ev_record(r, f, EV_WARNING, "Failed", "attempt %d failed", i);
        clk_fake_advance_ms(clk, 1000);
    }
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 9);
    ev_record(r, f, EV_WARNING, "Failed", "attempt 10 failed");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 10);
    const cJSON *combined = post_body(9);
    cr_assert_str_eq(str(combined, "message"), "(combined from similar events): attempt 10 failed");
    cr_assert_eq(num(combined, "count"), 1);
    cr_assert_str_eq(str(combined, "reason"), "Failed");
    ev_record(r, f, EV_WARNING, "Failed", "attempt 11 failed");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 10,
                 "later similar events land on the combined");
    const fake_call *p = fake_kapi_call_of(fake, "PATCH", 0);
    char *path = xasprintf(EVENTS "/%s", str(combined, "metadata.name"));
    cr_assert_str_eq(p->path, path);
    cr_assert_eq(num(p->body, "count"), 2);
    cr_assert_str_eq(str(p->body, "message"), "(combined from similar events): attempt 11 failed");
    free(path);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, similar_events_more_than_ten_minutes_apart_are_not_combined)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    for (int i = 1; i <= 9; i++)
        ev_record(r, f, EV_WARNING, "Failed", "attempt %d failed", i);
    flush(r);
    clk_fake_advance_ms(clk, 600001);
    ev_record(r, f, EV_WARNING, "Failed", "attempt 10 failed");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 10);
    cr_assert_str_eq(str(post_body(9), "message"), "attempt 10 failed");
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, events_differing_in_reason_are_not_combined)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    for (int i = 1; i <= 12; i++)
        ev_record(r, f, EV_NORMAL, i % 2 ? "Odd" : "Even", "step %d", i);
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 12);
    cr_assert_eq(fake_kapi_count(fake, "PATCH", NULL), 0);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, spam_filter_allows_a_burst_of_25_then_one_per_five_minutes)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    for (int i = 0; i < 26; i++)
        ev_record(r, f, EV_WARNING, "Failed", "same");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, NULL, NULL), 25, "1 POST and 24 PATCHes, the 26th skipped");
    ev_stats s;
    ev_stats_get(r, &s);
    cr_assert_eq(s.spam_skipped, 1);
    clk_fake_advance_ms(clk, 299999);
    ev_record(r, f, EV_WARNING, "Failed", "same");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, NULL, NULL), 25, "no token yet");
    clk_fake_advance_ms(clk, 1);
    ev_record(r, f, EV_WARNING, "Failed", "same");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, NULL, NULL), 26, "one token after five minutes");
    const fake_call *p = fake_kapi_call_of(fake, "PATCH", 24);
    cr_assert_eq(num(p->body, "count"), 28, "skipped occurrences still count, as client-go");
    ev_stats_get(r, &s);
    cr_assert_eq(s.spam_skipped, 2);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, each_object_has_its_own_spam_budget)
{
    ev_recorder *r = recorder();
    cJSON *a = foo("foo-a"), *b = foo("foo-b");
    json_set_string(json_ensure_object(b, "metadata"), "uid", "uid-2");
    for (int i = 0; i < 30; i++)
        ev_record(r, a, EV_NORMAL, "Tick", "tick");
    ev_record(r, b, EV_NORMAL, "Tick", "tick");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, NULL, NULL), 26);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 2);
    cJSON_Delete(a);
    cJSON_Delete(b);
    ev_recorder_free(r);
}

Test(events, a_full_queue_drops_and_counts_without_blocking_the_caller)
{
    ev_options o = ev_options_defaults();
    o.queue_size = 4;
    ev_recorder *r = recorder_with(o);
    cJSON *f = foo("foo-a");
    fake_kapi_gate(fake, false);
    ev_record(r, f, EV_NORMAL, "R0", "in flight");
    fake_kapi_wait_blocked(fake, 1); /* the sender holds it, the queue is empty again */
    for (int i = 1; i <= 6; i++)
        ev_record(r, f, EV_NORMAL, "R", "queued %d", i); /* 4 fit, 2 do not */
    ev_stats s;
    ev_stats_get(r, &s);
    cr_assert_eq(s.recorded, 5);
    cr_assert_eq(s.dropped, 2);
    fake_kapi_gate(fake, true);
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 5);
    cr_assert_str_eq(str(post_body(4), "message"), "queued 4");
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, flush_with_a_timeout_returns_while_the_server_hangs)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    fake_kapi_gate(fake, false);
    ev_record(r, f, EV_NORMAL, "R", "m");
    fake_kapi_wait_blocked(fake, 1);
    cr_assert_eq(ev_flush(r, 10), -ETIMEDOUT);
    fake_kapi_gate(fake, true);
    flush(r);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, failures_without_an_answer_are_retried_ten_seconds_apart)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    fake_kapi_fail_times(fake, "POST", 2, 0, NULL);
    ev_record(r, f, EV_NORMAL, "R", "m");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 3);
    cr_assert_eq(npauses, 2);
    cr_assert_leq(pauses[0], 10000 * CLK_NS_PER_MS, "the first pause is random in 0..10 s");
    cr_assert_eq(pauses[1], 10000 * CLK_NS_PER_MS);
    ev_stats s;
    ev_stats_get(r, &s);
    cr_assert_eq(s.created, 1);
    cr_assert_eq(s.failed, 0);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, an_event_is_given_up_after_twelve_tries)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    fake_kapi_fail_times(fake, "POST", 100, 0, NULL);
    ev_record(r, f, EV_NORMAL, "R", "m");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 12);
    ev_stats s;
    ev_stats_get(r, &s);
    cr_assert_eq(s.failed, 1);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, an_event_the_server_refuses_is_not_retried)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    fake_kapi_fail_times(fake, "POST", 1, 422, "Invalid");
    ev_record(r, f, EV_NORMAL, "R", "m");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 1);
    cr_assert_eq(npauses, 0);
    ev_stats s;
    ev_stats_get(r, &s);
    cr_assert_eq(s.failed, 1);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, a_patch_of_an_expired_event_creates_it_anew)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    ev_record(r, f, EV_NORMAL, "R", "m");
    flush(r);
    char *path = xasprintf(EVENTS "/%s", str(post_body(0), "metadata.name"));
    ctl_kapi api = fake_kapi_seam(fake);
    cr_assert_eq(api.call(api.ctx, "DELETE", path, NULL, NULL, NULL, NULL), 0);
    ev_record(r, f, EV_NORMAL, "R", "m");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "PATCH", NULL), 1);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 2);
    cr_assert_eq(num(post_body(1), "count"), 2);
    cJSON *stored = fake_kapi_get_copy(fake, path);
    cr_assert_not_null(stored);
    cJSON_Delete(stored);
    free(path);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, a_bad_type_or_an_object_without_name_is_refused)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    cJSON *nameless = cJSON_Parse("{\"kind\":\"Foo\",\"metadata\":{}}");
    ev_record(r, f, "Error", "R", "m");
    ev_record(r, nameless, EV_NORMAL, "R", "m");
    ev_record(r, NULL, EV_NORMAL, "R", "m");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, NULL, NULL), 0);
    ev_stats s;
    ev_stats_get(r, &s);
    cr_assert_eq(s.invalid, 3);
    cr_assert_eq(s.recorded, 0);
    cJSON_Delete(nameless);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, a_long_message_is_cut_at_a_character_boundary)
{
    ev_recorder *r = recorder();
    cJSON *f = foo("foo-a");
    char *longmsg = xmalloc(EV_MAX_MESSAGE + 8);
    memset(longmsg, 'a', EV_MAX_MESSAGE - 1);
    strcpy(longmsg + EV_MAX_MESSAGE - 1, "\xc3\xa9tail"); /* "é" straddles the limit */
    ev_record(r, f, EV_NORMAL, "R", "%s", longmsg);
    flush(r);
    cr_assert_eq(strlen(str(post_body(0), "message")), EV_MAX_MESSAGE - 1);
    free(longmsg);
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, out_of_range_options_are_refused)
{
    ev_options o = ev_options_defaults();
    o.queue_size = 0;
    cr_assert_null(ev_recorder_new(fake_kapi_seam(fake), clk, &o));
    o = ev_options_defaults();
    o.max_tries = 0;
    cr_assert_null(ev_recorder_new(fake_kapi_seam(fake), clk, &o));
}

Test(events, the_host_option_fills_source_host_and_reporting_instance)
{
    ev_options o = ev_options_defaults();
    o.host = "node-1";
    ev_recorder *r = recorder_with(o);
    cJSON *f = foo("foo-a");
    ev_record(r, f, EV_NORMAL, "R", "m");
    flush(r);
    cr_assert_str_eq(str(post_body(0), "source.host"), "node-1");
    cr_assert_str_eq(str(post_body(0), "reportingInstance"), "node-1");
    cJSON_Delete(f);
    ev_recorder_free(r);
}

Test(events, the_caches_keep_only_the_keys_used_last)
{
    ev_options o = ev_options_defaults();
    o.cache_size = 2;
    ev_recorder *r = recorder_with(o);
    cJSON *a = foo("foo-a"), *b = foo("foo-b"), *c = foo("foo-c");
    ev_record(r, a, EV_NORMAL, "R", "m");
    ev_record(r, b, EV_NORMAL, "R", "m");
    ev_record(r, a, EV_NORMAL, "R", "m"); /* a is now the most recent */
    ev_record(r, c, EV_NORMAL, "R", "m"); /* evicts b */
    ev_record(r, a, EV_NORMAL, "R", "m");
    ev_record(r, b, EV_NORMAL, "R", "m");
    flush(r);
    cr_assert_eq(fake_kapi_count(fake, "PATCH", NULL), 2, "a twice");
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 4, "a, b, c, and b again once forgotten");
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    ev_recorder_free(r);
}
