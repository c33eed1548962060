/*
 * Unit tests of the watch cache (apiserver/watchcache.c): objects, list ranges, event ring,
 * history trimming with a fake clock, replay at startup, blob lifetimes and a concurrency check.
 */
#include "apiserver/resource/watchcache.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define HOUR_MS (3600 * 1000)

static clk_t *fake;

static void setup(void)
{
    fake = clk_fake_new(1700000000000);
}

static void teardown(void)
{
    clk_fake_free(fake);
}

TestSuite(watchcache, .init = setup, .fini = teardown);

/* A cache on the fake clock with the given history bounds. */
static wc_cache *cache_new(int min_events, int64_t min_age_ms, int max_events)
{
    wc_options o = wc_defaults();
    o.min_events = min_events;
    o.min_age_ms = min_age_ms;
    o.max_events = max_events;
    o.clock = fake;
    wc_cache *c = wc_new(&o);
    cr_assert_not_null(c);
    return c;
}

static void load(wc_cache *c, const char *key, uint64_t rev)
{
    char json[128];
    int n = snprintf(json, sizeof json, "{\"key\":\"%s\",\"rev\":%" PRIu64 "}", key, rev);
    wc_load(c, key, json, (size_t)n, rev);
}

static void apply(wc_cache *c, st_event_type type, const char *key, uint64_t rev)
{
    char json[128];
    int n = snprintf(json, sizeof json, "{\"key\":\"%s\",\"rev\":%" PRIu64 "}", key, rev);
    wc_apply(c, type, key, json, (size_t)n, rev);
}

/* True when b holds exactly what load()/apply() wrote for its key and revision. */
static bool blob_consistent(const wc_blob *b)
{
    char json[128];
    int n = snprintf(json, sizeof json, "{\"key\":\"%s\",\"rev\":%" PRIu64 "}", b->key, b->rev);
    return (size_t)n == b->len && memcmp(json, b->data, b->len) == 0 && b->data[b->len] == '\0';
}

/* Revisions of the events returned by wc_events_since(after), as a count; fills revs. */
static int event_revs(wc_cache *c, uint64_t after, uint64_t *revs, int max)
{
    wc_event evs[256];
    cr_assert_leq(max, 256);
    int n = wc_events_since(c, after, evs, max);
    for (int i = 0; i < n; i++) {
        revs[i] = evs[i].rev;
        wc_event_release(&evs[i]);
    }
    return n;
}

Test(watchcache, defaults_keep_1000_events_5_minutes_at_most_20000)
{
    wc_options o = wc_defaults();
    cr_assert_eq(o.min_events, 1000);
    cr_assert_eq(o.min_age_ms, 5 * 60 * 1000);
    cr_assert_eq(o.max_events, 20000);
    cr_assert_eq(o.clock, clk_system());
}

Test(watchcache, new_cache_is_empty_at_revision_zero)
{
    wc_cache *c = wc_new(NULL);
    cr_assert_not_null(c);
    cr_assert_eq(wc_rev(c), 0);
    cr_assert_eq(wc_oldest_rev(c), 0);
    cr_assert_eq(wc_count(c, ""), 0);
    wc_blob **items = (wc_blob **)1;
    cr_assert_eq(wc_list(c, "", NULL, 0, &items, NULL, NULL), 0);
    cr_assert_null(items);
    wc_event ev;
    cr_assert_eq(wc_events_since(c, 0, &ev, 1), 0);
    wc_free(c);
}

Test(watchcache, get_returns_loaded_object_with_key_and_terminated_json)
{
    wc_cache *c = cache_new(3, 1000, 100);
    load(c, "/a/x/one", 7);
    wc_blob *b = wc_get(c, "/a/x/one");
    cr_assert_not_null(b);
    cr_assert_str_eq(b->key, "/a/x/one");
    cr_assert_eq(b->rev, 7);
    cr_assert_str_eq(b->data, "{\"key\":\"/a/x/one\",\"rev\":7}");
    cr_assert_eq(b->len, strlen(b->data));
    wc_blob_unref(b);
    wc_free(c);
}

Test(watchcache, get_of_missing_key_returns_null)
{
    wc_cache *c = cache_new(3, 1000, 100);
    load(c, "/a/x/one", 1);
    cr_assert_null(wc_get(c, "/a/x/two"));
    cr_assert_null(wc_get(c, "/a/x/on"));
    cr_assert_null(wc_get(c, ""));
    wc_free(c);
}

Test(watchcache, list_returns_objects_in_key_order)
{
    wc_cache *c = cache_new(3, 1000, 100);
    const char *keys[] = {"/a/x/m", "/a/x/b", "/a/x/z", "/a/x/a", "/a/x/q"};
    for (int i = 0; i < 5; i++)
        load(c, keys[i], (uint64_t)i + 1);
    wc_set_rev(c, 5);

    wc_blob **items;
    uint64_t rev = 0;
    size_t remaining = 99;
    size_t n = wc_list(c, "/a/x/", NULL, 0, &items, &rev, &remaining);
    cr_assert_eq(n, 5);
    cr_assert_eq(rev, 5);
    cr_assert_eq(remaining, 0);
    const char *want[] = {"/a/x/a", "/a/x/b", "/a/x/m", "/a/x/q", "/a/x/z"};
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(items[i]->key, want[i]);
    wc_snapshot_free(items, n);
    wc_free(c);
}

Test(watchcache, list_pages_with_after_and_limit_and_reports_remaining)
{
    wc_cache *c = cache_new(3, 1000, 100);
    char key[32];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "/a/x/k%02d", i);
        load(c, key, (uint64_t)i + 1);
    }
    wc_blob **items;
    size_t remaining;
    size_t n = wc_list(c, "/a/x/", NULL, 4, &items, NULL, &remaining);
    cr_assert_eq(n, 4);
    cr_assert_eq(remaining, 6);
    cr_assert_str_eq(items[3]->key, "/a/x/k03");
    wc_snapshot_free(items, n);

    n = wc_list(c, "/a/x/", "/a/x/k03", 4, &items, NULL, &remaining);
    cr_assert_eq(n, 4);
    cr_assert_eq(remaining, 2);
    cr_assert_str_eq(items[0]->key, "/a/x/k04");
    cr_assert_str_eq(items[3]->key, "/a/x/k07");
    wc_snapshot_free(items, n);

    n = wc_list(c, "/a/x/", "/a/x/k07", 4, &items, NULL, &remaining);
    cr_assert_eq(n, 2);
    cr_assert_eq(remaining, 0);
    cr_assert_str_eq(items[1]->key, "/a/x/k09");
    wc_snapshot_free(items, n);

    /* `after` need not exist: continuing after a deleted key starts at the next one. */
    n = wc_list(c, "/a/x/", "/a/x/k045", 1, &items, NULL, &remaining);
    cr_assert_eq(n, 1);
    cr_assert_eq(remaining, 4);
    cr_assert_str_eq(items[0]->key, "/a/x/k05");
    wc_snapshot_free(items, n);

    n = wc_list(c, "/a/x/", "/a/x/k09", 4, &items, NULL, &remaining);
    cr_assert_eq(n, 0);
    cr_assert_eq(remaining, 0);
    wc_free(c);
}

Test(watchcache, list_and_count_isolate_prefixes)
{
    wc_cache *c = cache_new(3, 1000, 100);
    load(c, "/a/x/1", 1);
    load(c, "/a/x/2", 2);
    load(c, "/a/xy/1", 3); /* shares "/a/x" but not "/a/x/" */
    load(c, "/a/y/1", 4);
    load(c, "/a/y/2", 5);
    load(c, "/a/y/3", 6);
    load(c, "/b/x/1", 7);

    wc_blob **items;
    size_t remaining;
    size_t n = wc_list(c, "/a/y/", NULL, 0, &items, NULL, &remaining);
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < n; i++)
        cr_assert(strncmp(items[i]->key, "/a/y/", 5) == 0);
    wc_snapshot_free(items, n);

    /* An `after` from another prefix neither leaks nor loses objects. */
    n = wc_list(c, "/a/x/", "/a/w/9", 0, &items, NULL, &remaining);
    cr_assert_eq(n, 2);
    wc_snapshot_free(items, n);
    n = wc_list(c, "/a/x/", "/a/y/1", 0, &items, NULL, &remaining);
    cr_assert_eq(n, 0);
    cr_assert_eq(remaining, 0);

    cr_assert_eq(wc_count(c, "/a/x/"), 2);
    cr_assert_eq(wc_count(c, "/a/y/"), 3);
    cr_assert_eq(wc_count(c, "/a/"), 6);
    cr_assert_eq(wc_count(c, "/a/z/"), 0);
    cr_assert_eq(wc_count(c, ""), 7);
    cr_assert_eq(wc_count(c, NULL), 7);
    wc_free(c);
}

Test(watchcache, apply_added_inserts_object_and_records_event_without_prev)
{
    wc_cache *c = cache_new(3, 1000, 100);
    apply(c, ST_ADDED, "/a/x/one", 1);
    cr_assert_eq(wc_rev(c), 1);
    wc_blob *b = wc_get(c, "/a/x/one");
    cr_assert_not_null(b);
    cr_assert_eq(b->rev, 1);

    wc_event ev;
    cr_assert_eq(wc_events_since(c, 0, &ev, 1), 1);
    cr_assert_eq(ev.type, ST_ADDED);
    cr_assert_eq(ev.rev, 1);
    cr_assert_eq(ev.obj, b); /* the event shares the stored blob */
    cr_assert_null(ev.prev);
    wc_event_release(&ev);
    cr_assert_null(ev.obj);
    wc_blob_unref(b);
    wc_free(c);
}

Test(watchcache, apply_modified_replaces_object_and_keeps_previous_state_in_event)
{
    wc_cache *c = cache_new(3, 1000, 100);
    apply(c, ST_ADDED, "/a/x/one", 1);
    apply(c, ST_MODIFIED, "/a/x/one", 2);
    cr_assert_eq(wc_rev(c), 2);
    cr_assert_eq(wc_count(c, ""), 1);
    wc_blob *b = wc_get(c, "/a/x/one");
    cr_assert_eq(b->rev, 2);
    cr_assert(blob_consistent(b));

    wc_event ev;
    cr_assert_eq(wc_events_since(c, 1, &ev, 1), 1);
    cr_assert_eq(ev.type, ST_MODIFIED);
    cr_assert_eq(ev.obj, b);
    cr_assert_not_null(ev.prev);
    cr_assert_eq(ev.prev->rev, 1);
    cr_assert_str_eq(ev.prev->key, "/a/x/one");
    cr_assert(blob_consistent(ev.prev));
    wc_event_release(&ev);
    wc_blob_unref(b);
    wc_free(c);
}

Test(watchcache, apply_deleted_removes_object_and_records_final_state_and_prev)
{
    wc_cache *c = cache_new(3, 1000, 100);
    apply(c, ST_ADDED, "/a/x/one", 1);
    apply(c, ST_ADDED, "/a/x/two", 2);
    apply(c, ST_DELETED, "/a/x/one", 3);
    cr_assert_eq(wc_rev(c), 3);
    cr_assert_null(wc_get(c, "/a/x/one"));
    cr_assert_eq(wc_count(c, "/a/x/"), 1);

    wc_event ev;
    cr_assert_eq(wc_events_since(c, 2, &ev, 1), 1);
    cr_assert_eq(ev.type, ST_DELETED);
    cr_assert_eq(ev.rev, 3);
    cr_assert_eq(ev.obj->rev, 3);
    cr_assert_str_eq(ev.obj->key, "/a/x/one");
    cr_assert(blob_consistent(ev.obj));
    cr_assert_not_null(ev.prev);
    cr_assert_eq(ev.prev->rev, 1);
    wc_event_release(&ev);
    wc_free(c);
}

Test(watchcache, apply_advances_revision_seen_by_list)
{
    wc_cache *c = cache_new(3, 1000, 100);
    load(c, "/a/x/one", 4);
    wc_set_rev(c, 10);
    apply(c, ST_ADDED, "/a/y/one", 11); /* another resource still moves the global revision */
    wc_blob **items;
    uint64_t rev = 0;
    size_t n = wc_list(c, "/a/x/", NULL, 0, &items, &rev, NULL);
    cr_assert_eq(n, 1);
    cr_assert_eq(rev, 11);
    cr_assert_eq(items[0]->rev, 4);
    wc_snapshot_free(items, n);
    wc_free(c);
}

Test(watchcache, events_since_returns_events_after_a_revision_in_order)
{
    wc_cache *c = cache_new(3, 1000, 100);
    for (uint64_t r = 1; r <= 6; r++)
        apply(c, r % 2 ? ST_ADDED : ST_MODIFIED, r % 2 ? "/a/x/odd" : "/a/x/even", r);
    uint64_t revs[16];
    cr_assert_eq(event_revs(c, 0, revs, 16), 6);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(revs[i], (uint64_t)i + 1);
    cr_assert_eq(event_revs(c, 3, revs, 16), 3);
    cr_assert_eq(revs[0], 4);
    cr_assert_eq(revs[2], 6);
    cr_assert_eq(event_revs(c, 5, revs, 16), 1);
    cr_assert_eq(revs[0], 6);
    cr_assert_eq(event_revs(c, 6, revs, 16), 0, "nothing new at the current revision");
    cr_assert_eq(event_revs(c, 99, revs, 16), 0, "a future revision has nothing yet");
    cr_assert_eq(event_revs(c, 1, revs, 2), 2, "max bounds the copy");
    cr_assert_eq(revs[0], 2);
    cr_assert_eq(revs[1], 3);
    cr_assert_eq(event_revs(c, 1, revs, 0), 0);
    wc_free(c);
}

Test(watchcache, old_events_are_dropped_only_beyond_min_events)
{
    wc_cache *c = cache_new(3, 1000, 100);
    for (uint64_t r = 1; r <= 5; r++)
        apply(c, ST_ADDED, "/a/x/k", r);
    clk_fake_advance_ms(fake, 1000);
    apply(c, ST_MODIFIED, "/a/x/k", 6); /* events 1-5 are exactly min_age old: kept */
    cr_assert_eq(wc_oldest_rev(c), 0);
    uint64_t revs[16];
    cr_assert_eq(event_revs(c, 0, revs, 16), 6);

    clk_fake_advance_ms(fake, 1);
    apply(c, ST_MODIFIED, "/a/x/k", 7); /* 1-5 are now older than min_age: keep the newest 3 */
    cr_assert_eq(wc_oldest_rev(c), 4);
    cr_assert_eq(event_revs(c, 4, revs, 16), 3);
    cr_assert_eq(revs[0], 5);
    cr_assert_eq(revs[2], 7);
    wc_free(c);
}

Test(watchcache, old_events_are_kept_while_at_most_min_events)
{
    wc_cache *c = cache_new(3, 1000, 100);
    for (uint64_t r = 1; r <= 3; r++)
        apply(c, ST_ADDED, "/a/x/k", r);
    clk_fake_advance_ms(fake, HOUR_MS);
    apply(c, ST_MODIFIED, "/a/x/k", 4); /* four events, three aged: only one may go */
    cr_assert_eq(wc_oldest_rev(c), 1);
    uint64_t revs[16];
    cr_assert_eq(event_revs(c, 1, revs, 16), 3);
    cr_assert_eq(revs[0], 2);
    wc_free(c);
}

Test(watchcache, events_since_below_oldest_returns_expired)
{
    wc_cache *c = cache_new(3, 1000, 100);
    for (uint64_t r = 1; r <= 5; r++)
        apply(c, ST_ADDED, "/a/x/k", r);
    clk_fake_advance_ms(fake, 2000);
    apply(c, ST_MODIFIED, "/a/x/k", 6); /* drops 1, 2, 3 */
    cr_assert_eq(wc_oldest_rev(c), 3);
    wc_event ev[8];
    cr_assert_eq(wc_events_since(c, 0, ev, 8), -1);
    cr_assert_eq(wc_events_since(c, 2, ev, 8), -1);
    cr_assert_eq(wc_events_since(c, 2, ev, 0), -1, "expiry is reported even with max 0");
    int n = wc_events_since(c, 3, ev, 8);
    cr_assert_eq(n, 3);
    cr_assert_eq(ev[0].rev, 4);
    for (int i = 0; i < n; i++)
        wc_event_release(&ev[i]);
    wc_free(c);
}

Test(watchcache, max_events_bounds_the_ring_whatever_the_age)
{
    wc_cache *c = cache_new(10, HOUR_MS, 100);
    for (uint64_t r = 1; r <= 250; r++) /* the ring grows 64 -> 100, then wraps */
        apply(c, ST_MODIFIED, "/a/x/k", r);
    cr_assert_eq(wc_oldest_rev(c), 150);
    uint64_t revs[256];
    cr_assert_eq(event_revs(c, 149, revs, 256), -1);
    cr_assert_eq(event_revs(c, 150, revs, 256), 100);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(revs[i], 151 + (uint64_t)i);
    cr_assert_eq(event_revs(c, 200, revs, 256), 50);
    cr_assert_eq(revs[0], 201);
    wc_free(c);
}

Test(watchcache, min_events_above_max_events_is_clamped)
{
    wc_cache *c = cache_new(50, 0, 5);
    for (uint64_t r = 1; r <= 8; r++)
        apply(c, ST_ADDED, "/a/x/k", r);
    cr_assert_eq(wc_oldest_rev(c), 3);
    wc_free(c);
}

Test(watchcache, blob_taken_by_reader_stays_valid_after_replace_and_delete)
{
    wc_cache *c = cache_new(0, 0, 1); /* keeps a single event so old states leave the ring */
    apply(c, ST_ADDED, "/a/x/one", 1);
    wc_blob *held = wc_get(c, "/a/x/one");
    wc_blob **items;
    size_t n = wc_list(c, "/a/x/", NULL, 0, &items, NULL, NULL);
    cr_assert_eq(n, 1);
    apply(c, ST_MODIFIED, "/a/x/one", 2);
    apply(c, ST_DELETED, "/a/x/one", 3);
    apply(c, ST_ADDED, "/a/x/two", 4);
    cr_assert_null(wc_get(c, "/a/x/one"));
    /* Only our references keep the first state alive (ASan would flag a use after free). */
    cr_assert_eq(atomic_load(&held->refs), 2);
    cr_assert_eq(held->rev, 1);
    cr_assert(blob_consistent(held));
    cr_assert(blob_consistent(items[0]));
    wc_snapshot_free(items, n);
    wc_free(c);
    cr_assert(blob_consistent(held), "a reference survives the cache itself");
    wc_blob_unref(held);
}

Test(watchcache, set_rev_makes_the_loaded_revision_the_oldest_servable)
{
    wc_cache *c = cache_new(3, 1000, 100);
    load(c, "/a/x/one", 40);
    wc_set_rev(c, 42);
    cr_assert_eq(wc_rev(c), 42);
    cr_assert_eq(wc_oldest_rev(c), 42);
    wc_event ev;
    cr_assert_eq(wc_events_since(c, 41, &ev, 1), -1);
    cr_assert_eq(wc_events_since(c, 42, &ev, 1), 0);
    apply(c, ST_MODIFIED, "/a/x/one", 43);
    cr_assert_eq(wc_events_since(c, 42, &ev, 1), 1);
    cr_assert_eq(ev.prev->rev, 40);
    wc_event_release(&ev);
    wc_free(c);
}

Test(watchcache, replayed_history_fills_ring_without_rolling_objects_back)
{
    wc_cache *c = cache_new(3, 1000, 100);
    load(c, "/a/x/one", 9);
    load(c, "/a/x/three", 10);
    wc_set_rev(c, 10);
    /* st_history replays events 8..10, older than the loaded state. */
    apply(c, ST_ADDED, "/a/x/one", 8);
    apply(c, ST_MODIFIED, "/a/x/one", 9);
    apply(c, ST_ADDED, "/a/x/three", 10);
    wc_set_oldest(c, 7);
    cr_assert_eq(wc_rev(c), 10);
    cr_assert_eq(wc_oldest_rev(c), 7);

    wc_blob *b = wc_get(c, "/a/x/one");
    cr_assert_eq(b->rev, 9);
    wc_blob_unref(b);

    wc_event ev[4];
    cr_assert_eq(wc_events_since(c, 6, ev, 4), -1);
    cr_assert_eq(wc_events_since(c, 7, ev, 4), 3);
    cr_assert_null(ev[0].prev);
    cr_assert_eq(ev[1].type, ST_MODIFIED);
    cr_assert_not_null(ev[1].prev, "prev comes from the replayed ADDED");
    cr_assert_eq(ev[1].prev->rev, 8);
    cr_assert_eq(ev[2].obj->rev, 10);
    for (int i = 0; i < 3; i++)
        wc_event_release(&ev[i]);

    apply(c, ST_MODIFIED, "/a/x/one", 11); /* live again: objects move, prev is the loaded state */
    cr_assert_eq(wc_events_since(c, 10, ev, 4), 1);
    cr_assert_eq(ev[0].prev->rev, 9);
    wc_event_release(&ev[0]);
    wc_free(c);
}

Test(watchcache, set_oldest_never_goes_below_a_dropped_event)
{
    wc_cache *c = cache_new(0, 0, 2);
    for (uint64_t r = 1; r <= 5; r++)
        apply(c, ST_ADDED, "/a/x/k", r);
    cr_assert_eq(wc_oldest_rev(c), 3);
    wc_set_oldest(c, 1);
    cr_assert_eq(wc_oldest_rev(c), 3);
    wc_set_oldest(c, 4); /* raising is allowed */
    cr_assert_eq(wc_oldest_rev(c), 4);
    wc_event ev;
    cr_assert_eq(wc_events_since(c, 3, &ev, 1), -1);
    wc_free(c);
}

Test(watchcache, out_of_order_event_after_live_events_is_ignored)
{
    wc_cache *c = cache_new(3, 1000, 100);
    apply(c, ST_ADDED, "/a/x/one", 5);
    apply(c, ST_MODIFIED, "/a/x/one", 4);
    apply(c, ST_MODIFIED, "/a/x/one", 5);
    cr_assert_eq(wc_rev(c), 5);
    wc_blob *b = wc_get(c, "/a/x/one");
    cr_assert_eq(b->rev, 5);
    wc_blob_unref(b);
    uint64_t revs[4];
    cr_assert_eq(event_revs(c, 0, revs, 4), 1);
    wc_free(c);
}

struct notify_probe {
    wc_cache *c;
    int calls;
    uint64_t rev_seen;
};

static void on_notify(void *ctx)
{
    struct notify_probe *p = ctx;
    p->calls++;
    p->rev_seen = wc_rev(p->c); /* readers may be called from the hook */
}

Test(watchcache, notify_hook_runs_after_each_apply_with_the_event_visible)
{
    wc_cache *c = cache_new(3, 1000, 100);
    struct notify_probe p = {.c = c};
    wc_set_notify(c, on_notify, &p);
    apply(c, ST_ADDED, "/a/x/one", 1);
    cr_assert_eq(p.calls, 1);
    cr_assert_eq(p.rev_seen, 1);
    apply(c, ST_DELETED, "/a/x/one", 2);
    cr_assert_eq(p.calls, 2);
    cr_assert_eq(p.rev_seen, 2);
    apply(c, ST_ADDED, "/a/x/one", 1); /* ignored: no notification */
    cr_assert_eq(p.calls, 2);
    wc_set_notify(c, NULL, NULL);
    apply(c, ST_ADDED, "/a/x/one", 3);
    cr_assert_eq(p.calls, 2);
    wc_free(c);
}

/* ---- concurrency: one writer, four readers checking invariants ---------------------------- */

#define CONC_EVENTS  20000
#define CONC_KEYS    64
#define CONC_READERS 4

struct conc {
    wc_cache *c;
    atomic_bool done;
    atomic_int failures;
    atomic_long reads;
    char first_failure[160];
    pthread_mutex_t mu;
    size_t final_present;
};

static void conc_fail(struct conc *s, const char *what, uint64_t a, uint64_t b)
{
    if (atomic_fetch_add(&s->failures, 1) == 0) {
        pthread_mutex_lock(&s->mu);
        snprintf(s->first_failure, sizeof s->first_failure, "%s (%" PRIu64 ", %" PRIu64 ")", what,
                 a, b);
        pthread_mutex_unlock(&s->mu);
    }
}

static void conc_key(char *buf, size_t size, unsigned k)
{
    snprintf(buf, size, "/r/k%03u", k);
}

static void *conc_writer(void *arg)
{
    struct conc *s = arg;
    bool present[CONC_KEYS] = {false};
    char key[32];
    for (uint64_t r = 1; r <= CONC_EVENTS; r++) {
        unsigned k = (unsigned)((r * 7) % CONC_KEYS);
        conc_key(key, sizeof key, k);
        st_event_type t = ST_ADDED;
        if (present[k])
            t = r % 5 == 0 ? ST_DELETED : ST_MODIFIED;
        present[k] = t != ST_DELETED;
        apply(s->c, t, key, r);
        clk_fake_advance_ms(fake, 1);
    }
    s->final_present = 0;
    for (int k = 0; k < CONC_KEYS; k++)
        s->final_present += present[k];
    atomic_store(&s->done, true);
    return NULL;
}

static void conc_check_list(struct conc *s, uint64_t *last_rev)
{
    wc_blob **items;
    uint64_t rev;
    size_t n = wc_list(s->c, "/r/", NULL, 0, &items, &rev, NULL);
    if (rev < *last_rev)
        conc_fail(s, "list revision went back", rev, *last_rev);
    *last_rev = rev;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(items[i - 1]->key, items[i]->key) >= 0)
            conc_fail(s, "list out of key order", i, n);
        if (items[i]->rev > rev)
            conc_fail(s, "object newer than its snapshot", items[i]->rev, rev);
        if (!blob_consistent(items[i]))
            conc_fail(s, "torn object in list", items[i]->rev, rev);
    }
    wc_snapshot_free(items, n);
}

static void conc_check_get(struct conc *s, unsigned k)
{
    char key[32];
    conc_key(key, sizeof key, k);
    wc_blob *b = wc_get(s->c, key);
    if (b && (strcmp(b->key, key) != 0 || !blob_consistent(b)))
        conc_fail(s, "torn object in get", b->rev, k);
    wc_blob_unref(b);
}

static void conc_check_event(struct conc *s, const wc_event *ev, uint64_t want_rev)
{
    if (ev->rev != want_rev)
        conc_fail(s, "event revisions not consecutive", ev->rev, want_rev);
    if (ev->obj->rev != ev->rev || !blob_consistent(ev->obj))
        conc_fail(s, "torn event object", ev->obj->rev, ev->rev);
    if ((ev->type == ST_ADDED) != (ev->prev == NULL))
        conc_fail(s, "prev does not match event type", ev->type, ev->rev);
    if (ev->prev && (ev->prev->rev >= ev->rev || strcmp(ev->prev->key, ev->obj->key) != 0 ||
                     !blob_consistent(ev->prev)))
        conc_fail(s, "inconsistent prev", ev->prev->rev, ev->rev);
}

static void conc_check_events(struct conc *s, uint64_t after)
{
    wc_event evs[32];
    int n = wc_events_since(s->c, after, evs, 32);
    if (n < 0) {
        /* oldest only grows in this test, so it must still be above `after` */
        if (after >= wc_oldest_rev(s->c))
            conc_fail(s, "expired answer for a servable revision", after, wc_oldest_rev(s->c));
        return;
    }
    for (int i = 0; i < n; i++) {
        conc_check_event(s, &evs[i], after + 1 + (uint64_t)i);
        wc_event_release(&evs[i]);
    }
}

static void *conc_reader(void *arg)
{
    struct conc *s = arg;
    uint64_t last_rev = 0;
    unsigned seed = (unsigned)(uintptr_t)&last_rev;
    bool last_round = false;
    while (!last_round) {
        last_round = atomic_load(&s->done);
        conc_check_list(s, &last_rev);
        conc_check_get(s, (unsigned)rand_r(&seed) % CONC_KEYS);
        uint64_t rev = wc_rev(s->c);
        uint64_t back = (uint64_t)rand_r(&seed) % 600; /* sometimes beyond the retained history */
        conc_check_events(s, rev > back ? rev - back : 0);
        if (rev < last_rev)
            conc_fail(s, "wc_rev went back", rev, last_rev);
        atomic_fetch_add(&s->reads, 1);
    }
    return NULL;
}

Test(watchcache, concurrent_readers_see_consistent_state_while_writer_applies)
{
    struct conc s = {.c = cache_new(100, 200, 500)};
    atomic_init(&s.done, false);
    atomic_init(&s.failures, 0);
    atomic_init(&s.reads, 0);
    pthread_mutex_init(&s.mu, NULL);

    pthread_t w, r[CONC_READERS];
    for (int i = 0; i < CONC_READERS; i++)
        cr_assert_eq(pthread_create(&r[i], NULL, conc_reader, &s), 0);
    cr_assert_eq(pthread_create(&w, NULL, conc_writer, &s), 0);
    cr_assert_eq(pthread_join(w, NULL), 0);
    for (int i = 0; i < CONC_READERS; i++)
        cr_assert_eq(pthread_join(r[i], NULL), 0);

    cr_assert_eq(atomic_load(&s.failures), 0, "%d failures, first: %s", atomic_load(&s.failures),
                 s.first_failure);
    cr_assert_geq(atomic_load(&s.reads), CONC_READERS);
    cr_assert_eq(wc_rev(s.c), CONC_EVENTS);
    cr_assert_eq(wc_count(s.c, "/r/"), s.final_present);
    /* one event per fake ms: the ring keeps the last min_age + 1 = 201 events */
    cr_assert_eq(wc_oldest_rev(s.c), CONC_EVENTS - 201);
    pthread_mutex_destroy(&s.mu);
    wc_free(s.c);
}

/* ---- wc_list_at: consistent pages of a paginated list ---------------------------------------- */

static wc_cache *cache_with_history(void)
{
    wc_cache *c = cache_new(100, 0, 1000);
    load(c, "/g/r/a", 1);
    load(c, "/g/r/b", 2);
    load(c, "/g/r/c", 3);
    wc_set_rev(c, 3);
    apply(c, ST_MODIFIED, "/g/r/b", 4); /* b changed after revision 3 */
    apply(c, ST_DELETED, "/g/r/c", 5);  /* c deleted */
    apply(c, ST_ADDED, "/g/r/d", 6);    /* d created */
    apply(c, ST_ADDED, "/g/x/e", 7);    /* another resource */
    return c;
}

Test(watchcache, list_at_past_revision_undoes_later_changes)
{
    wc_cache *c = cache_with_history();
    wc_blob **items;
    size_t remaining;
    ptrdiff_t n = wc_list_at(c, "/g/r/", "/g/r/a", 0, 3, &items, &remaining);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(items[0]->key, "/g/r/b");
    cr_assert_eq(items[0]->rev, 2, "b as it was at revision 3");
    cr_assert_str_eq(items[1]->key, "/g/r/c");
    cr_assert_eq(items[1]->rev, 3, "c still existed at revision 3");
    cr_assert_eq(remaining, 0);
    wc_snapshot_free(items, (size_t)n);
    wc_free(c);
}

Test(watchcache, list_at_respects_limit_and_counts_remaining)
{
    wc_cache *c = cache_with_history();
    wc_blob **items;
    size_t remaining;
    ptrdiff_t n = wc_list_at(c, "/g/r/", NULL, 1, 3, &items, &remaining);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(items[0]->key, "/g/r/a");
    cr_assert_eq(remaining, 2);
    wc_snapshot_free(items, (size_t)n);
    wc_free(c);
}

Test(watchcache, list_at_current_revision_equals_list)
{
    wc_cache *c = cache_with_history();
    wc_blob **items;
    size_t remaining;
    ptrdiff_t n = wc_list_at(c, "/g/r/", NULL, 0, wc_rev(c), &items, &remaining);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(items[0]->key, "/g/r/a");
    cr_assert_str_eq(items[1]->key, "/g/r/b");
    cr_assert_eq(items[1]->rev, 4);
    cr_assert_str_eq(items[2]->key, "/g/r/d");
    wc_snapshot_free(items, (size_t)n);
    wc_free(c);
}

Test(watchcache, list_at_before_retained_history_is_expired)
{
    wc_cache *c = cache_with_history();
    wc_set_oldest(c, 5);
    wc_blob **items = NULL;
    size_t remaining;
    cr_assert_eq(wc_list_at(c, "/g/r/", NULL, 0, 3, &items, &remaining), -1);
    wc_free(c);
}

/* ---- wc_blob_labels: parsed once per blob, for label selectors ------------------------------- */

Test(watchcache, blob_labels_are_parsed_once_and_kept)
{
    wc_cache *c = cache_new(10, 0, 100);
    const char *json = "{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"x\"}}}";
    wc_load(c, "/g/r/a", json, strlen(json), 1);
    wc_blob *b = wc_get(c, "/g/r/a");
    const cJSON *labels = wc_blob_labels(b);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(labels, "app")), "x");
    cr_assert_eq(wc_blob_labels(b), labels, "the second call returns the kept parse");
    wc_blob_unref(b);
    wc_free(c);
}

Test(watchcache, blob_without_labels_has_an_empty_label_object)
{
    wc_cache *c = cache_new(10, 0, 100);
    const char *json = "{\"metadata\":{\"name\":\"a\"}}";
    wc_load(c, "/g/r/a", json, strlen(json), 1);
    wc_blob *b = wc_get(c, "/g/r/a");
    const cJSON *labels = wc_blob_labels(b);
    cr_assert(cJSON_IsObject(labels));
    cr_assert_null(labels->child);
    wc_blob_unref(b);
    wc_free(c);
}

/* ---- replacement after a broken event stream, and revision waits ------------------------- */

Test(watchcache, replace_swaps_in_the_snapshot_and_expires_older_positions)
{
    wc_cache *c = cache_new(10, 0, 100);
    apply(c, ST_ADDED, "/a/x/gone", 1);
    apply(c, ST_ADDED, "/a/x/kept", 2);
    wc_replace_begin(c);
    char json[] = "{\"key\":\"/a/x/kept\",\"rev\":7}";
    wc_replace_load(c, "/a/x/kept", json, sizeof json - 1, 7);
    char json2[] = "{\"key\":\"/a/x/new\",\"rev\":9}";
    wc_replace_load(c, "/a/x/new", json2, sizeof json2 - 1, 9);
    /* Until the end, readers still see the old state. */
    wc_blob *b = wc_get(c, "/a/x/gone");
    cr_assert_not_null(b);
    wc_blob_unref(b);
    wc_replace_end(c, 10);

    cr_expect_null(wc_get(c, "/a/x/gone"));
    b = wc_get(c, "/a/x/kept");
    cr_assert_not_null(b);
    cr_expect_eq(b->rev, 7);
    cr_expect(blob_consistent(b));
    wc_blob_unref(b);
    cr_expect_eq(wc_count(c, ""), 2);
    cr_expect_eq(wc_rev(c), 10);
    cr_expect_eq(wc_oldest_rev(c), 10);
    wc_event ev[4];
    cr_expect_eq(wc_events_since(c, 2, ev, 4), -1, "a watcher at 2 must relist");
    cr_expect_eq(wc_events_since(c, 10, ev, 4), 0);

    /* Events continue after the snapshot's revision. */
    uint64_t revs[4];
    apply(c, ST_MODIFIED, "/a/x/new", 11);
    cr_assert_eq(event_revs(c, 10, revs, 4), 1);
    cr_expect_eq(revs[0], 11);
    wc_free(c);
}

Test(watchcache, replace_begun_twice_keeps_only_the_second_snapshot)
{
    wc_cache *c = cache_new(10, 0, 100);
    wc_replace_begin(c);
    char a[] = "{\"key\":\"/a/x/first\",\"rev\":3}";
    wc_replace_load(c, "/a/x/first", a, sizeof a - 1, 3);
    wc_replace_begin(c);
    char b[] = "{\"key\":\"/a/x/second\",\"rev\":4}";
    wc_replace_load(c, "/a/x/second", b, sizeof b - 1, 4);
    wc_replace_end(c, 5);
    cr_expect_eq(wc_count(c, ""), 1);
    cr_expect_null(wc_get(c, "/a/x/first"));
    wc_free(c);
}

static int replace_wakeups;

static void count_replace_wakeup(void *ctx)
{
    (void)ctx;
    replace_wakeups++;
}

Test(watchcache, replace_wakes_the_watchers)
{
    wc_cache *c = cache_new(10, 0, 100);
    replace_wakeups = 0;
    wc_set_notify(c, count_replace_wakeup, NULL);
    wc_replace_begin(c);
    wc_replace_end(c, 3);
    cr_expect_eq(replace_wakeups, 1);
    wc_free(c);
}

Test(watchcache, wait_rev_returns_at_once_when_reached)
{
    wc_cache *c = cache_new(10, 0, 100);
    apply(c, ST_ADDED, "/a/x/k", 4);
    cr_expect(wc_wait_rev(c, 4, 0));
    cr_expect(wc_wait_rev(c, 3, 0));
    cr_expect_not(wc_wait_rev(c, 5, 0), "a revision not reached times out");
    wc_advance(c, 5);
    cr_expect(wc_wait_rev(c, 5, 0), "another kind's write counts too");
    wc_free(c);
}

typedef struct waiter_arg {
    wc_cache *c;
    atomic_bool started;
    bool reached;
} waiter_arg;

static void *wait_for_rev_7(void *p)
{
    waiter_arg *a = p;
    atomic_store(&a->started, true);
    a->reached = wc_wait_rev(a->c, 7, 30000);
    return NULL;
}

Test(watchcache, wait_rev_is_woken_by_the_writer)
{
    wc_cache *c = cache_new(10, 0, 100);
    waiter_arg a = {.c = c};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, wait_for_rev_7, &a), 0);
    /* Whether the writer runs before or after the waiter sleeps, the waiter must see rev 7. */
    while (!atomic_load(&a.started))
        sched_yield();
    apply(c, ST_ADDED, "/a/x/k", 6);
    wc_advance(c, 7);
    pthread_join(t, NULL);
    cr_expect(a.reached);
    wc_free(c);
}
