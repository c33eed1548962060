/*
 * test_kindcaches.c - one watch cache per kind (apiserver/resource/kindcaches.c, docs/design.md
 * §4.4): the store's events are routed by key to their kind's cache, every other cache only
 * advances to the revision (no event, no wake-up), replay at startup touches only the owner,
 * keys of no served kind only advance, and counts are per namespace prefix.
 */
#include "apiserver/resource/kindcaches.h"

#include "common/clock.h"

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOO_KEY   "/demo.example.com/foos/web"
#define LEASE_KEY "/coordination.k8s.io/leases/kube-system/ctl"

static clk_t *fake;
static as_registry *standalone;
static as_caches *caches;
static const as_resource *foos, *deployments, *events, *namespaces, *leases;

static void setup(void)
{
    fake = clk_fake_new(1700000000000);
    standalone = as_registry_new(true);
    foos = as_registry_find(standalone, "demo.example.com", "v1beta1", "foos");
    deployments = as_registry_find(standalone, "apps", "v1", "deployments");
    events = as_registry_find(standalone, "", "v1", "events");
    namespaces = as_registry_find(standalone, "", "v1", "namespaces");
    leases = as_registry_find(standalone, "coordination.k8s.io", "v1", "leases");
    cr_assert(foos && deployments && events && namespaces && leases);
    wc_options o = wc_defaults();
    o.clock = fake;
    caches = as_caches_new(standalone, &o);
}

static void teardown(void)
{
    as_caches_free(caches);
    as_registry_free(standalone);
    clk_fake_free(fake);
}

TestSuite(kindcaches, .init = setup, .fini = teardown);

/* A committed event of the store, as its sink delivers it. */
static void commit(st_event_type type, const char *key, uint64_t rev)
{
    char json[160];
    int n =
        snprintf(json, sizeof json, "{\"key\":\"%s\",\"rev\":%llu}", key, (unsigned long long)rev);
    as_caches_apply(caches, type, key, json, (size_t)n, rev);
}

static void replay(st_event_type type, const char *key, uint64_t rev)
{
    char json[160];
    int n =
        snprintf(json, sizeof json, "{\"key\":\"%s\",\"rev\":%llu}", key, (unsigned long long)rev);
    as_caches_replay(caches, type, key, json, (size_t)n, rev);
}

static void load(const char *key, uint64_t rev)
{
    char json[160];
    int n =
        snprintf(json, sizeof json, "{\"key\":\"%s\",\"rev\":%llu}", key, (unsigned long long)rev);
    as_caches_load(caches, key, json, (size_t)n, rev);
}

static wc_cache *cache(const as_resource *r)
{
    wc_cache *c = as_caches_of(caches, r);
    cr_assert_not_null(c, "no cache for %s", r->resource);
    return c;
}

/* The revisions of the events of r's cache after `after`; returns their count (-1: expired). */
static int events_of(const as_resource *r, uint64_t after, uint64_t *revs, int max)
{
    wc_event evs[16];
    cr_assert_leq(max, 16);
    int n = wc_events_since(cache(r), after, evs, max);
    for (int i = 0; i < n; i++) {
        revs[i] = evs[i].rev;
        wc_event_release(&evs[i]);
    }
    return n;
}

/* Whether r's cache holds an object under key. */
static bool holds(const as_resource *r, const char *key)
{
    wc_blob *b = wc_get(cache(r), key);
    wc_blob_unref(b);
    return b != NULL;
}

Test(kindcaches, every_kind_has_its_own_cache)
{
    const as_resource *kinds[] = {foos, deployments, events, namespaces, leases};
    for (size_t i = 0; i < 5; i++)
        for (size_t j = i + 1; j < 5; j++)
            cr_expect_neq(cache(kinds[i]), cache(kinds[j]), "%s and %s share a cache",
                          kinds[i]->resource, kinds[j]->resource);
}

Test(kindcaches, a_resource_of_another_registry_has_no_cache)
{
    as_registry *other = as_registry_new(false);
    const as_resource *other_foos = as_registry_find(other, "demo.example.com", "v1beta1", "foos");
    /* The entries are the same static tables: a resource is known by its entry, not its name. */
    cr_expect_eq(as_caches_of(caches, other_foos), cache(foos));
    as_registry_free(other);

    static const as_resource stranger = {
        .group = "x.example.com", .version = "v1", .resource = "things", .kind = "Thing"};
    cr_expect_null(as_caches_of(caches, &stranger));
    cr_expect_eq(as_caches_count(caches, &stranger, "/x.example.com/things/"), 0);
}

Test(kindcaches, an_event_goes_to_its_kinds_cache_only)
{
    commit(ST_ADDED, LEASE_KEY, 5);
    uint64_t revs[16];
    cr_expect(holds(leases, LEASE_KEY));
    cr_assert_eq(events_of(leases, 0, revs, 16), 1);
    cr_expect_eq(revs[0], 5);

    const as_resource *others[] = {foos, deployments, events, namespaces};
    for (size_t i = 0; i < 4; i++) {
        cr_expect_eq(events_of(others[i], 0, revs, 16), 0, "%s got the event", others[i]->resource);
        cr_expect_not(holds(others[i], LEASE_KEY));
        cr_expect_eq(wc_count(cache(others[i]), ""), 0);
    }
}

Test(kindcaches, other_caches_advance_to_the_stores_revision)
{
    commit(ST_ADDED, FOO_KEY, 3);
    commit(ST_ADDED, LEASE_KEY, 4);
    commit(ST_MODIFIED, LEASE_KEY, 5);
    const as_resource *kinds[] = {foos, deployments, events, namespaces, leases};
    for (size_t i = 0; i < 5; i++)
        cr_expect_eq(wc_rev(cache(kinds[i])), 5, "%s", kinds[i]->resource);

    /* A Foo watcher from the Foo's revision sees nothing of the Lease renewals. */
    uint64_t revs[16];
    cr_expect_eq(events_of(foos, 3, revs, 16), 0);
    cr_expect_eq(events_of(foos, 5, revs, 16), 0);
    cr_assert_eq(events_of(leases, 3, revs, 16), 2);
    cr_expect_eq(revs[0], 4);
    cr_expect_eq(revs[1], 5);
}

static int wakeups;

static void count_wakeup(void *ctx)
{
    (void)ctx;
    wakeups++;
}

Test(kindcaches, only_the_owners_watchers_are_woken)
{
    wakeups = 0;
    as_caches_set_notify(caches, count_wakeup, NULL);
    commit(ST_ADDED, LEASE_KEY, 1);
    commit(ST_MODIFIED, LEASE_KEY, 2);
    cr_expect_eq(wakeups, 2, "one wake-up per event, not one per cache");
}

Test(kindcaches, events_are_routed_by_the_whole_prefix)
{
    /* "/core/events/" and "/core/namespaces/" share "/core/"; a namespace named like a kind's
       prefix does not confuse the routing. */
    commit(ST_ADDED, "/core/namespaces/events", 1);
    commit(ST_ADDED, "/core/events/default/web.1", 2);
    cr_expect(holds(namespaces, "/core/namespaces/events"));
    cr_expect(holds(events, "/core/events/default/web.1"));
    cr_expect_eq(wc_count(cache(namespaces), ""), 1);
    cr_expect_eq(wc_count(cache(events), ""), 1);
}

Test(kindcaches, deletes_are_routed_like_the_rest)
{
    commit(ST_ADDED, "/apps/deployments/prod/web", 1);
    commit(ST_DELETED, "/apps/deployments/prod/web", 2);
    cr_expect_not(holds(deployments, "/apps/deployments/prod/web"));
    uint64_t revs[16];
    cr_expect_eq(events_of(deployments, 0, revs, 16), 2);
    cr_expect_eq(events_of(foos, 0, revs, 16), 0);
    cr_expect_eq(wc_rev(cache(foos)), 2);
}

Test(kindcaches, a_key_of_no_served_kind_only_advances)
{
    /* A store written by a --standalone run, served by the aggregated server (Foo only). */
    as_registry *foo_only = as_registry_new(false);
    as_caches *cs = as_caches_new(foo_only, NULL);
    const as_resource *foo = as_registry_find(foo_only, "demo.example.com", "v1beta1", "foos");
    const char *json = "{}";
    as_caches_apply(cs, ST_ADDED, "/apps/deployments/default/web", json, 2, 7);
    as_caches_apply(cs, ST_ADDED, "/unknown", json, 2, 8);
    wc_cache *c = as_caches_of(cs, foo);
    cr_expect_eq(wc_rev(c), 8);
    wc_event ev;
    cr_expect_eq(wc_events_since(c, 0, &ev, 1), 0);
    cr_expect_eq(wc_count(c, ""), 0);
    as_caches_free(cs);
    as_registry_free(foo_only);

    /* The same in the standalone registry. */
    commit(ST_ADDED, "/batch/jobs/default/x", 9);
    uint64_t revs[16];
    cr_expect_eq(events_of(foos, 0, revs, 16), 0);
    cr_expect_eq(wc_rev(cache(leases)), 9);
}

Test(kindcaches, startup_loads_and_replays_into_the_owner_only)
{
    /* The store holds a Foo (rev 8) and a Lease (rev 9) at revision 10; its history from 7 on. */
    load(FOO_KEY, 8);
    load(LEASE_KEY, 9);
    as_caches_set_rev(caches, 10);
    replay(ST_ADDED, FOO_KEY, 8);
    replay(ST_ADDED, LEASE_KEY, 9);
    replay(ST_DELETED, "/apps/deployments/prod/old", 10);
    as_caches_set_oldest(caches, 7);

    const as_resource *kinds[] = {foos, deployments, events, namespaces, leases};
    for (size_t i = 0; i < 5; i++) {
        cr_expect_eq(wc_rev(cache(kinds[i])), 10, "%s", kinds[i]->resource);
        cr_expect_eq(wc_oldest_rev(cache(kinds[i])), 7, "%s", kinds[i]->resource);
    }
    cr_expect(holds(foos, FOO_KEY));
    cr_expect(holds(leases, LEASE_KEY));
    cr_expect_not(holds(foos, LEASE_KEY));

    uint64_t revs[16];
    cr_assert_eq(events_of(foos, 7, revs, 16), 1);
    cr_expect_eq(revs[0], 8);
    cr_assert_eq(events_of(leases, 7, revs, 16), 1);
    cr_expect_eq(revs[0], 9);
    cr_assert_eq(events_of(deployments, 7, revs, 16), 1);
    cr_expect_eq(revs[0], 10);
    cr_expect_eq(events_of(events, 7, revs, 16), 0);
    cr_expect_eq(events_of(namespaces, 7, revs, 16), 0);
    cr_expect_eq(events_of(namespaces, 6, revs, 16), -1, "older than the history: expired");

    /* Live events continue from there, in every cache. */
    commit(ST_MODIFIED, LEASE_KEY, 11);
    cr_expect_eq(wc_rev(cache(foos)), 11);
    cr_expect_eq(events_of(foos, 10, revs, 16), 0);
    cr_assert_eq(events_of(leases, 10, revs, 16), 1);
    cr_expect_eq(revs[0], 11);
}

Test(kindcaches, load_skips_keys_of_no_served_kind)
{
    load("/batch/jobs/default/x", 3);
    load(FOO_KEY, 4);
    const as_resource *kinds[] = {foos, deployments, events, namespaces, leases};
    size_t total = 0;
    for (size_t i = 0; i < 5; i++)
        total += wc_count(cache(kinds[i]), "");
    cr_expect_eq(total, 1);
}

Test(kindcaches, counts_per_namespace_prefix)
{
    commit(ST_ADDED, "/apps/deployments/a/web", 1);
    commit(ST_ADDED, "/apps/deployments/a/api", 2);
    commit(ST_ADDED, "/apps/deployments/ab/web", 3);
    commit(ST_ADDED, "/apps/deployments/b/web", 4);
    commit(ST_ADDED, "/core/events/a/web.1", 5);
    commit(ST_ADDED, FOO_KEY, 6);

    sbuf p = SBUF_INIT;
    as_resource_prefix(deployments, "a", &p);
    cr_expect_eq(as_caches_count(caches, deployments, p.data), 2, "not ab's");
    sbuf_free(&p);
    as_resource_prefix(deployments, NULL, &p);
    cr_expect_eq(as_caches_count(caches, deployments, p.data), 4);
    sbuf_free(&p);
    as_resource_prefix(events, "a", &p);
    cr_expect_eq(as_caches_count(caches, events, p.data), 1);
    sbuf_free(&p);
    as_resource_prefix(leases, "a", &p);
    cr_expect_eq(as_caches_count(caches, leases, p.data), 0);
    sbuf_free(&p);
    cr_expect_eq(as_caches_count(caches, foos, "/demo.example.com/foos/"), 1);
}

/* ---- the store's observer (a remote backend: progress and replacement) ------------------- */

Test(kindcaches, progress_advances_every_cache)
{
    st_observer obs = as_caches_observer(caches);
    commit(ST_ADDED, FOO_KEY, 3);
    obs.progress(obs.ctx, 9);
    const as_resource *kinds[] = {foos, deployments, events, namespaces, leases};
    for (size_t i = 0; i < 5; i++) {
        cr_expect_eq(wc_rev(cache(kinds[i])), 9, "%s", kinds[i]->resource);
        cr_expect(wc_wait_rev(cache(kinds[i]), 9, 0));
    }
}

Test(kindcaches, replace_routes_the_snapshot_and_expires_every_kinds_watchers)
{
    st_observer obs = as_caches_observer(caches);
    commit(ST_ADDED, FOO_KEY, 3);
    commit(ST_ADDED, LEASE_KEY, 4);
    obs.replace_begin(obs.ctx, 20);
    char json[] = "{\"lease\":1}";
    obs.replace_kv(obs.ctx, LEASE_KEY, json, sizeof json - 1, 12);
    obs.replace_kv(obs.ctx, "/unknown.example.com/things/x", json, sizeof json - 1, 13);
    obs.replace_end(obs.ctx, 20);

    cr_expect_not(holds(foos, FOO_KEY), "the Foo was deleted while the stream was broken");
    cr_expect(holds(leases, LEASE_KEY));
    uint64_t revs[16];
    const as_resource *kinds[] = {foos, deployments, events, namespaces, leases};
    for (size_t i = 0; i < 5; i++) {
        cr_expect_eq(wc_rev(cache(kinds[i])), 20, "%s", kinds[i]->resource);
        cr_expect_eq(events_of(kinds[i], 4, revs, 16), -1, "%s", kinds[i]->resource);
        cr_expect_eq(events_of(kinds[i], 20, revs, 16), 0, "%s", kinds[i]->resource);
    }
    commit(ST_MODIFIED, LEASE_KEY, 21);
    cr_assert_eq(events_of(leases, 20, revs, 16), 1);
    cr_expect_eq(revs[0], 21);
}
