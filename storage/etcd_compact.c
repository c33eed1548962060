/*
 * etcd_compact.c - the etcd store's compactor thread: history does not grow forever.
 *
 * kube's rule: every interval, compact at the revision seen one interval earlier, so a watcher
 * that is at most one interval behind can still resume. Every replica runs one; compacting at a
 * revision already compacted is refused by etcd and ignored here, so several are harmless.
 * Time is read through the store's clock (tests drive it), checked once a second.
 */
#include "storage/etcd_store.h"

#include "common/alloc.h"
#include "common/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define EC_CHECK_MS 1000

/* Compacts etcd's history before rev. */
static void ec_compact(ex_store *s, eh_conn *c, uint64_t rev)
{
    char *body = xasprintf("{\"revision\":\"%" PRIu64 "\"}", rev);
    sbuf resp = SBUF_INIT;
    const char *why = NULL;
    int rc = ex_call(c, "/v3/kv/compaction", body, 0, &resp, &why);
    char rb[24];
    snprintf(rb, sizeof(rb), "%" PRIu64, rev);
    if (rc == 0)
        log_kv(LOG_INFO, "etcd compacted", "revision", rb, NULL);
    else if (rc != -ERANGE) /* -ERANGE: another replica compacted there or later already */
        log_kv(LOG_WARN, "etcd compaction failed", "revision", rb, "error", why, NULL);
    free(body);
    sbuf_free(&resp);
}

void *ex_compact_main(void *arg)
{
    ex_store *s = arg;
    eh_conn *c = eh_new(&s->target);
    uint64_t interval_ns = (uint64_t)s->compaction_interval_s * CLK_NS_PER_S;
    uint64_t due = clk_mono_ns(s->clock) + interval_ns;
    uint64_t seen = 0; /* the revision read one interval ago; 0 = none yet */
    while (ex_sleep(s, EC_CHECK_MS)) {
        uint64_t now = clk_mono_ns(s->clock);
        if (now < due)
            continue;
        due = now + interval_ns;
        uint64_t cur = 0;
        const char *why = NULL;
        if (ex_current(s, c, 0, &cur, NULL, &why) != 0)
            continue; /* logged; try again next interval */
        if (seen)
            ec_compact(s, c, seen);
        seen = cur;
    }
    eh_free(c);
    return NULL;
}
