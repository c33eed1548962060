/* Leader election on a Lease: acquire, renew, takeover by observed time, races, the fence at the
 * renew deadline, release; stepped with le_tick on a fake clock, and once on its own thread. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/json.h"
#include "controllers/leader.h"
#include "fake_kapi.h"

#define LEASES     "/apis/coordination.k8s.io/v1/namespaces/default/leases"
#define LEASE_PATH LEASES "/foo-controller-manager"

static clk_t *clk;
static fake_kapi *fake;

static void setup(void)
{
    alarm(120);                        /* hang guard: SIGALRM kills a stuck test process */
    clk = clk_fake_new(1767225600000); /* 2026-01-01T00:00:00Z */
    fake = fake_kapi_new();
}

static void teardown(void)
{
    fake_kapi_free(fake);
    clk_fake_free(clk);
}

TestSuite(leader, .init = setup, .fini = teardown);

typedef struct counts {
    atomic_int started, stopped;
} counts;

static void on_started(void *ctx)
{
    atomic_fetch_add(&((counts *)ctx)->started, 1);
}

static void on_stopped(void *ctx)
{
    atomic_fetch_add(&((counts *)ctx)->stopped, 1);
}

static le_options options(const char *id, counts *c)
{
    le_options o = le_options_defaults();
    o.identity = id;
    o.clock = clk;
    o.seed = 42;
    o.callbacks = (le_callbacks){on_started, on_stopped, c};
    return o;
}

static le_elector *elector(const char *id, counts *c)
{
    le_options o = options(id, c);
    le_elector *le = NULL;
    cr_assert_eq(le_new(fake_kapi_seam(fake), &o, &le), 0);
    return le;
}

/* A lease held by holder, with timestamps far in the past (they must not matter). */
static void seed_lease(const char *holder, int transitions)
{
    cJSON *l = cJSON_Parse("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                           "\"metadata\":{\"name\":\"foo-controller-manager\","
                           "\"namespace\":\"default\"},"
                           "\"spec\":{\"leaseDurationSeconds\":15,"
                           "\"acquireTime\":\"2000-01-01T00:00:00.000000Z\","
                           "\"renewTime\":\"2000-01-01T00:00:00.000000Z\"}}");
    cJSON *spec = cJSON_GetObjectItem(l, "spec");
    json_set_string(spec, "holderIdentity", holder);
    json_set_number(spec, "leaderTransitions", transitions);
    fake_kapi_seed(fake, LEASE_PATH, l);
    cJSON_Delete(l);
}

/* Another holder renews: its spec changes, so observers restart their expiry clock. */
static void other_renews(const char *renew_time)
{
    cJSON *l = fake_kapi_get_copy(fake, LEASE_PATH);
    json_set_string(cJSON_GetObjectItem(l, "spec"), "renewTime", renew_time);
    fake_kapi_seed(fake, LEASE_PATH, l);
    cJSON_Delete(l);
}

static cJSON *lease(void)
{
    cJSON *l = fake_kapi_get_copy(fake, LEASE_PATH);
    cr_assert_not_null(l, "no lease stored");
    return l;
}

static const char *spec_str(const cJSON *l, const char *key)
{
    const char *v = json_path_string(cJSON_GetObjectItem(l, "spec"), key);
    return v ? v : "";
}

static int spec_num(const cJSON *l, const char *key)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(l, "spec"), key)->valueint;
}

static bool is_micro_time(const char *s)
{
    regex_t re;
    cr_assert_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
                         REG_EXTENDED | REG_NOSUB),
                 0);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

Test(leader, defaults_are_controller_runtimes)
{
    le_options o = le_options_defaults();
    cr_assert_eq(o.lease_duration_ms, 15000);
    cr_assert_eq(o.renew_deadline_ms, 10000);
    cr_assert_eq(o.retry_period_ms, 2000);
    cr_assert_str_eq(o.lease_name, "foo-controller-manager");
}

Test(leader, durations_that_break_client_gos_rule_are_refused)
{
    le_elector *le = NULL;
    le_options o = options("a", NULL);
    o.renew_deadline_ms = 15000; /* not below the lease duration */
    cr_assert_eq(le_new(fake_kapi_seam(fake), &o, &le), -EINVAL);
    o = options("a", NULL);
    o.retry_period_ms = 9000; /* renew deadline not above 1.2 x retry */
    cr_assert_eq(le_new(fake_kapi_seam(fake), &o, &le), -EINVAL);
    o = options("a", NULL);
    o.lease_name = "";
    cr_assert_eq(le_new(fake_kapi_seam(fake), &o, &le), -EINVAL);
    cr_assert_null(le);
}

Test(leader, default_identity_is_hostname_and_a_random_suffix)
{
    char host[256] = "";
    gethostname(host, sizeof host);
    char *a = le_default_identity(), *b = le_default_identity();
    char *prefix = xasprintf("%s_", host);
    cr_assert_eq(strncmp(a, prefix, strlen(prefix)), 0, "%s", a);
    cr_assert_gt(strlen(a), strlen(prefix) + 30, "%s", a);
    cr_assert_str_neq(a, b, "two managers on one host must differ");
    free(a);
    free(b);
    free(prefix);
}

Test(leader, an_absent_lease_is_created_and_held)
{
    counts c = {0};
    le_elector *le = elector("me", &c);
    cr_assert_not(le_is_leader(le));
    cr_assert_eq(le_tick(le), 2000 * CLK_NS_PER_MS, "a leader retries every retry period");
    cr_assert(le_is_leader(le));
    cr_assert_eq(atomic_load(&c.started), 1);
    cr_assert_eq(fake_kapi_count(fake, "POST", NULL), 1);
    cr_assert_str_eq(fake_kapi_call_of(fake, "POST", 0)->path, LEASES);
    cJSON *l = lease();
    cr_assert_str_eq(spec_str(l, "holderIdentity"), "me");
    cr_assert_eq(spec_num(l, "leaseDurationSeconds"), 15);
    cr_assert_eq(spec_num(l, "leaderTransitions"), 0);
    cr_assert_str_eq(spec_str(l, "acquireTime"), "2026-01-01T00:00:00.000000Z");
    cr_assert(is_micro_time(spec_str(l, "renewTime")));
    cJSON_Delete(l);
    le_free(le);
}

Test(leader, renew_updates_renew_time_with_the_resource_version_and_keeps_the_rest)
{
    counts c = {0};
    le_elector *le = elector("me", &c);
    le_tick(le);
    cJSON *before = lease();
    clk_fake_advance_ms(clk, 2000);
    le_tick(le);
    cJSON *after = lease();
    cr_assert_eq(fake_kapi_count(fake, "PUT", NULL), 1);
    const fake_call *put = fake_kapi_call_of(fake, "PUT", 0);
    cr_assert_str_eq(put->path, LEASE_PATH);
    cr_assert_str_eq(json_path_string(put->body, "metadata.resourceVersion"),
                     json_path_string(before, "metadata.resourceVersion"));
    cr_assert_str_eq(spec_str(after, "renewTime"), "2026-01-01T00:00:02.000000Z");
    cr_assert_str_eq(spec_str(after, "acquireTime"), spec_str(before, "acquireTime"));
    cr_assert_eq(spec_num(after, "leaderTransitions"), 0);
    cr_assert(le_is_leader(le));
    cr_assert_eq(atomic_load(&c.started), 1, "a renew is not a new term");
    cJSON_Delete(before);
    cJSON_Delete(after);
    le_free(le);
}

Test(leader, a_held_lease_is_taken_over_only_after_it_went_unchanged_for_its_duration)
{
    seed_lease("other", 3); /* its renewTime is years old: only our observation counts */
    counts c = {0};
    le_elector *le = elector("me", &c);
    uint64_t wait = le_tick(le);
    cr_assert_not(le_is_leader(le));
    cr_assert(wait >= 2000 * CLK_NS_PER_MS && wait <= 4400 * CLK_NS_PER_MS,
              "a candidate waits retry x (1 + 1.2 x jitter): %llu", (unsigned long long)wait);
    clk_fake_advance_ms(clk, 14999);
    le_tick(le);
    cr_assert_not(le_is_leader(le), "15 s have not passed since we first saw the record");
    cr_assert_eq(fake_kapi_count(fake, "PUT", NULL), 0);
    clk_fake_advance_ms(clk, 1);
    le_tick(le);
    cr_assert(le_is_leader(le));
    cJSON *l = lease();
    cr_assert_str_eq(spec_str(l, "holderIdentity"), "me");
    cr_assert_eq(spec_num(l, "leaderTransitions"), 4, "a takeover counts one more transition");
    cr_assert_str_eq(spec_str(l, "acquireTime"), "2026-01-01T00:00:15.000000Z");
    cJSON_Delete(l);
    le_free(le);
}

Test(leader, a_lease_its_holder_keeps_renewing_is_never_taken)
{
    seed_lease("other", 0);
    counts c = {0};
    le_elector *le = elector("me", &c);
    char ts[40];
    for (int i = 1; i <= 10; i++) {
        le_tick(le);
        clk_fake_advance_ms(clk, 10000);
        snprintf(ts, sizeof ts, "2026-01-01T00:%02d:%02d.000000Z", i * 10 / 60, i * 10 % 60);
        other_renews(ts);
    }
    le_tick(le);
    cr_assert_not(le_is_leader(le));
    cr_assert_eq(fake_kapi_count(fake, "PUT", NULL), 0);
    cr_assert_eq(atomic_load(&c.started), 0);
    le_free(le);
}

Test(leader, losing_the_update_race_with_409_is_not_leadership)
{
    seed_lease("other", 0);
    counts c = {0};
    le_elector *le = elector("me", &c);
    le_tick(le);
    clk_fake_advance_ms(clk, 15000);
    fake_kapi_fail_times(fake, "PUT", 1, 409, "Conflict");
    le_tick(le);
    cr_assert_not(le_is_leader(le));
    cr_assert_eq(atomic_load(&c.started), 0);
    cJSON *l = lease();
    cr_assert_str_eq(spec_str(l, "holderIdentity"), "other");
    cJSON_Delete(l);
    le_free(le);
}

Test(leader, losing_the_create_race_is_not_leadership)
{
    counts c = {0};
    le_elector *le = elector("me", &c);
    fake_kapi_fail_times(fake, "POST", 1, 409, "AlreadyExists");
    le_tick(le);
    cr_assert_not(le_is_leader(le));
    cr_assert_eq(atomic_load(&c.started), 0);
    le_free(le);
}

Test(leader, two_candidates_one_leader)
{
    counts ca = {0}, cb = {0};
    le_elector *a = elector("a", &ca), *b = elector("b", &cb);
    for (int i = 0; i < 20; i++) {
        le_tick(a);
        le_tick(b);
        cr_assert(le_is_leader(a) != le_is_leader(b), "round %d", i);
        clk_fake_advance_ms(clk, 2000);
    }
    cr_assert(le_is_leader(a), "the first to create it keeps it while it renews");
    le_free(a);
    le_free(b);
}

Test(leader, failed_renews_keep_leadership_until_the_renew_deadline_only)
{
    counts c = {0};
    le_elector *le = elector("me", &c);
    le_tick(le);
    fake_kapi_fail_times(fake, NULL, 100, 500, "InternalError");
    for (int i = 0; i < 4; i++) {
        clk_fake_advance_ms(clk, 2000);
        le_tick(le);
        cr_assert(le_is_leader(le), "at %d s", (i + 1) * 2);
    }
    clk_fake_advance_ms(clk, 1999);
    cr_assert(le_is_leader(le), "9.999 s after the last renew was sent");
    clk_fake_advance_ms(clk, 1);
    cr_assert_not(le_is_leader(le), "the fence holds at the renew deadline, before any tick");
    le_tick(le);
    cr_assert_eq(atomic_load(&c.stopped), 1);
    le_free(le);
}

Test(leader, a_frozen_leader_writes_nothing_after_it_wakes_and_the_other_takes_over)
{
    counts ca = {0}, cb = {0};
    le_elector *a = elector("a", &ca), *b = elector("b", &cb);
    le_tick(a);
    le_tick(b);
    cr_assert(le_is_leader(a));
    /* a is SIGSTOPped: only b runs, for longer than the lease duration */
    for (int t = 2; t <= 16; t += 2) {
        clk_fake_advance_ms(clk, 2000);
        le_tick(b);
    }
    cr_assert(le_is_leader(b));
    size_t puts_before = fake_kapi_count(fake, "PUT", NULL);
    /* SIGCONT: before a's loop runs again, a already knows it must not write */
    cr_assert_not(le_is_leader(a));
    le_tick(a);
    cr_assert_not(le_is_leader(a));
    cr_assert_eq(atomic_load(&ca.stopped), 1);
    cr_assert_eq(fake_kapi_count(fake, "PUT", NULL), puts_before, "a wrote nothing to the lease");
    cJSON *l = lease();
    cr_assert_str_eq(spec_str(l, "holderIdentity"), "b");
    cr_assert_eq(spec_num(l, "leaderTransitions"), 1);
    cJSON_Delete(l);
    le_free(a);
    le_free(b);
}

Test(leader, a_leader_stalled_past_its_deadline_resumes_only_after_it_renewed)
{
    counts c = {0};
    le_elector *le = elector("me", &c);
    le_tick(le);
    clk_fake_advance_ms(clk, 12000); /* stalled, but nobody took over */
    cr_assert_not(le_is_leader(le));
    le_tick(le);
    cr_assert(le_is_leader(le), "renewed: the lease was still ours");
    le_free(le);
}

Test(leader, release_clears_the_holder_so_another_takes_over_at_once)
{
    counts ca = {0}, cb = {0};
    le_elector *a = elector("a", &ca), *b = elector("b", &cb);
    le_tick(a);
    le_tick(b);
    cr_assert_eq(le_release(a, NULL), 0);
    cr_assert_not(le_is_leader(a));
    cr_assert_eq(atomic_load(&ca.stopped), 1);
    cJSON *l = lease();
    cr_assert_str_eq(spec_str(l, "holderIdentity"), "");
    cr_assert_eq(spec_num(l, "leaseDurationSeconds"), 1);
    cJSON_Delete(l);
    le_tick(b); /* no clock advance */
    cr_assert(le_is_leader(b));
    l = lease();
    cr_assert_str_eq(spec_str(l, "holderIdentity"), "b");
    cr_assert_eq(spec_num(l, "leaderTransitions"), 1);
    cJSON_Delete(l);
    le_free(a);
    le_free(b);
}

Test(leader, release_without_holding_the_lease_writes_nothing)
{
    seed_lease("other", 0);
    counts c = {0};
    le_elector *le = elector("me", &c);
    le_tick(le);
    cr_assert_eq(le_release(le, NULL), 0);
    cr_assert_eq(fake_kapi_count(fake, "PUT", NULL), 0);
    cr_assert_eq(atomic_load(&c.stopped), 0, "never started, so never stopped");
    le_free(le);
}

Test(leader, release_that_lost_a_race_reports_the_conflict)
{
    counts c = {0};
    le_elector *le = elector("me", &c);
    le_tick(le);
    other_renews("2026-01-01T00:00:01.000000Z"); /* the stored resourceVersion moves on */
    api_error err = API_ERROR_INIT;
    cr_assert_lt(le_release(le, &err), 0);
    cr_assert_eq(err.code, 409);
    apierr_clear(&err);
    le_free(le);
}

Test(leader, master_status_metric_follows_leadership)
{
    metrics_registry *m = metrics_registry_new_manager();
    counts c = {0};
    le_options o = options("me", &c);
    o.metrics = m;
    le_elector *le = NULL;
    cr_assert_eq(le_new(fake_kapi_seam(fake), &o, &le), 0);
    sbuf out = SBUF_INIT;
    metrics_write(m, &out);
    cr_assert_not_null(strstr(out.data, "leader_election_master_status{name=\"foo-controller-"
                                        "manager\"} 0\n"));
    le_tick(le);
    sbuf_reset(&out);
    metrics_write(m, &out);
    cr_assert_not_null(strstr(out.data, "leader_election_master_status{name=\"foo-controller-"
                                        "manager\"} 1\n"));
    le_stop(le);
    sbuf_reset(&out);
    metrics_write(m, &out);
    cr_assert_not_null(strstr(out.data, "leader_election_master_status{name=\"foo-controller-"
                                        "manager\"} 0\n"));
    sbuf_free(&out);
    le_free(le);
    metrics_registry_free(m);
}

Test(leader, healthy_unless_leading_without_renewing_for_the_lease_duration)
{
    counts c = {0};
    le_elector *le = elector("me", &c);
    cr_assert(le_healthy(le, 20000));
    le_tick(le);
    clk_fake_advance_ms(clk, 35000);
    cr_assert(le_healthy(le, 20000));
    clk_fake_advance_ms(clk, 1);
    cr_assert_not(le_healthy(le, 20000), "the loop is stuck: 15 s + 20 s without a renew");
    le_free(le);
}

/* ---- on its own thread ------------------------------------------------------------------------
 */

typedef struct thread_counts {
    counts c;
    pthread_mutex_t mu;
    pthread_cond_t cond;
} thread_counts;

static void thread_started(void *ctx)
{
    thread_counts *t = ctx;
    pthread_mutex_lock(&t->mu);
    atomic_fetch_add(&t->c.started, 1);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

static void thread_stopped(void *ctx)
{
    atomic_fetch_add(&((thread_counts *)ctx)->c.stopped, 1);
}

/* The test's wait hook: time passes at once; yield so the test thread gets to run. */
static bool fast_wait(void *ctx, uint64_t ns)
{
    clk_fake_advance_ms(clk, (int64_t)(ns / CLK_NS_PER_MS));
    sched_yield();
    return true;
}

Test(leader, the_loop_thread_acquires_renews_and_stops)
{
    thread_counts t = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    le_options o = options("me", NULL);
    o.callbacks = (le_callbacks){thread_started, thread_stopped, &t};
    o.wait = fast_wait;
    le_elector *le = NULL;
    cr_assert_eq(le_new(fake_kapi_seam(fake), &o, &le), 0);
    cr_assert_eq(le_start(le), 0);
    cr_assert_eq(le_start(le), -EALREADY);
    pthread_mutex_lock(&t.mu);
    while (atomic_load(&t.c.started) == 0)
        pthread_cond_wait(&t.cond, &t.mu);
    pthread_mutex_unlock(&t.mu);
    le_stop(le);
    cr_assert_not(le_is_leader(le));
    cr_assert_eq(atomic_load(&t.c.started), 1);
    cr_assert_eq(atomic_load(&t.c.stopped), 1);
    cJSON *l = lease();
    cr_assert_str_eq(spec_str(l, "holderIdentity"), "me");
    cJSON_Delete(l);
    le_free(le);
}

Test(leader, the_default_wait_is_cut_short_by_stop)
{
    counts c = {0};
    le_options o = options("me", &c);
    o.clock = NULL; /* real time */
    /* The loop would sleep 1000 s between tries: only a wake-up by le_stop lets this test end
     * before the hang guard fires. */
    o.lease_duration_ms = 3600000;
    o.renew_deadline_ms = 1800000;
    o.retry_period_ms = 1000000;
    le_elector *le = NULL;
    cr_assert_eq(le_new(fake_kapi_seam(fake), &o, &le), 0);
    cr_assert_eq(le_start(le), 0);
    le_stop(le);
    cr_assert_not(le_is_leader(le));
    le_free(le);
}
