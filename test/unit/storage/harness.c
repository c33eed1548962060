/*
 * harness.c - shared fixtures of the storage unit tests (see harness.h).
 */
#include "harness.h"

#include "storage/etcd.h"

#include "common/alloc.h"
#include "common/json.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

char h_path[256];
static char h_dir[128];
static char h_prefix[96];
static uint64_t h_base; /* the store's revision when the test began */
static int h_lock_fd = -1;

int h_is_etcd(void)
{
    const char *b = getenv("FOO_TEST_STORAGE");
    return b && strcmp(b, "etcd") == 0;
}

const char *h_etcd_url(void)
{
    const char *u = getenv("FOO_TEST_ETCD");
    cr_assert(u && *u, "FOO_TEST_STORAGE=etcd needs FOO_TEST_ETCD=http://host:port");
    return u;
}

const char *h_etcd_prefix(void)
{
    return h_prefix;
}

void h_skip_on_etcd(const char *why)
{
    if (h_is_etcd())
        cr_skip_test("SQLite only: %s", why);
}

uint64_t h_rev(uint64_t n)
{
    return h_base + n;
}

const char *h_rvs(uint64_t n)
{
    static char bufs[8][24];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof(bufs[0]), "%" PRIu64, h_rev(n));
    return b;
}

/* Tests on one etcd take turns: its revision is shared, and tests count revisions. */
static void h_etcd_lock(void)
{
    char path[128];
    snprintf(path, sizeof(path), "/tmp/foo-storage-test-etcd-%u.lock", (unsigned)getuid());
    h_lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    cr_assert_geq(h_lock_fd, 0, "open %s", path);
    cr_assert_eq(flock(h_lock_fd, LOCK_EX), 0);
}

static void h_etcd_setup(void)
{
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(h_prefix, sizeof(h_prefix), "/foo-storage-test/%ld.%09ld-%d-%u", (long)ts.tv_sec,
             ts.tv_nsec, (int)getpid(), counter++);
    h_etcd_lock();
    st_store *s = h_open();
    h_base = st_current_rev(s);
    st_close(s);
}

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    st_write *done[H_MAX];
    int ndone;
    int ndone_total; /* also counts writes beyond H_MAX */
    h_event ev[H_MAX];
    int nev;
    char order[2 * H_MAX][96];
    int norder;
} h_rec = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

void h_setup(void)
{
    alloc_install_cjson_hooks();
    snprintf(h_dir, sizeof(h_dir), "/tmp/foo-storage-test-XXXXXX");
    cr_assert_not_null(mkdtemp(h_dir));
    snprintf(h_path, sizeof(h_path), "%s/store.db", h_dir);
    h_base = 0;
    if (h_is_etcd())
        h_etcd_setup();
}

/* Removes every file of the temporary directory (the db, its -wal and -shm), then the dir. */
static void h_remove_dir(void)
{
    DIR *d = opendir(h_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", h_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(h_dir);
}

void h_teardown(void)
{
    for (int i = 0; i < h_rec.ndone; i++)
        st_write_free(h_rec.done[i]);
    for (int i = 0; i < h_rec.nev; i++) {
        free(h_rec.ev[i].key);
        free(h_rec.ev[i].value);
    }
    h_rec.ndone = h_rec.ndone_total = h_rec.nev = h_rec.norder = 0;
    h_remove_dir();
    if (h_lock_fd >= 0) {
        close(h_lock_fd); /* releases the flock */
        h_lock_fd = -1;
    }
}

st_store *h_open_opts(st_sqlite_options opt)
{
    api_error err = API_ERROR_INIT;
    st_store *s = st_sqlite_open(&opt, &err);
    cr_assert_not_null(s, "st_sqlite_open(%s): %s", opt.path, err.message ? err.message : "");
    return s;
}

static st_store *h_open_etcd(int max_inflight)
{
    const char *url = h_etcd_url();
    st_etcd_options opt = st_etcd_defaults();
    opt.endpoints = &url;
    opt.n_endpoints = 1;
    opt.prefix = h_prefix;
    opt.max_inflight = max_inflight;
    opt.compaction_interval_s = 0;
    api_error err = API_ERROR_INIT;
    st_store *s = st_etcd_open(&opt, &err);
    cr_assert_not_null(s, "st_etcd_open(%s): %s", url, err.message ? err.message : "");
    return s;
}

st_store *h_open(void)
{
    if (h_is_etcd())
        return h_open_etcd(1);
    return h_open_opts(st_sqlite_defaults(h_path));
}

st_store *h_open_parallel(void)
{
    if (h_is_etcd())
        return h_open_etcd(st_etcd_defaults().max_inflight);
    return h_open_opts(st_sqlite_defaults(h_path));
}

st_store *h_open_recorded(void)
{
    st_store *s = h_open();
    st_set_sink(s, h_sink, NULL);
    return s;
}

static void h_add_order(const char *fmt, const char *key, long long n)
{
    if (h_rec.norder < 2 * H_MAX) {
        snprintf(h_rec.order[h_rec.norder], sizeof(h_rec.order[0]), fmt, key ? key : "(null)", n);
        h_rec.norder++;
    }
}

void h_sink(void *ctx, st_event_type type, const char *key, const char *value, size_t len,
            uint64_t rev)
{
    (void)ctx;
    pthread_mutex_lock(&h_rec.mu);
    if (h_rec.nev < H_MAX) {
        h_event *e = &h_rec.ev[h_rec.nev++];
        e->type = type;
        e->key = xstrdup(key);
        e->value = xstrndup(value, len);
        e->rev = rev;
    }
    h_add_order("S %s %lld", key, (long long)rev);
    pthread_mutex_unlock(&h_rec.mu);
}

static void h_on_done(st_write *w)
{
    pthread_mutex_lock(&h_rec.mu);
    h_add_order("D %s %lld", w->key, (long long)w->result);
    if (h_rec.ndone < H_MAX)
        h_rec.done[h_rec.ndone++] = w;
    else
        st_write_free(w); /* past what the recorder keeps: only counted */
    h_rec.ndone_total++;
    pthread_cond_broadcast(&h_rec.cv);
    pthread_mutex_unlock(&h_rec.mu);
}

st_write *h_write(st_op op, const char *key, const char *json, uint64_t expect_rev)
{
    cJSON *obj = NULL;
    if (json) {
        obj = cJSON_Parse(json);
        cr_assert_not_null(obj, "bad test JSON %s", json);
    }
    st_write *w = st_write_new(op, key, obj, expect_rev);
    w->done = h_on_done;
    return w;
}

void h_wait_done(int n)
{
    pthread_mutex_lock(&h_rec.mu);
    while (h_rec.ndone_total < n)
        pthread_cond_wait(&h_rec.cv, &h_rec.mu);
    pthread_mutex_unlock(&h_rec.mu);
}

int h_ndone(void)
{
    return h_rec.ndone;
}

st_write *h_done(int i)
{
    cr_assert_lt(i, h_rec.ndone);
    return h_rec.done[i];
}

int h_nevents(void)
{
    return h_rec.nev;
}

const h_event *h_event_at(int i)
{
    cr_assert_lt(i, h_rec.nev);
    return &h_rec.ev[i];
}

int h_norder(void)
{
    return h_rec.norder;
}

const char *h_order(int i)
{
    cr_assert_lt(i, h_rec.norder);
    return h_rec.order[i];
}

static void h_collect(void *ctx, const char *key, const char *value, size_t len, uint64_t mod_rev)
{
    h_kvs *kvs = ctx;
    cr_assert_lt(kvs->n, H_MAX);
    cr_assert_eq(value[len], '\0', "st_load values are NUL-terminated");
    kvs->kv[kvs->n].key = xstrdup(key);
    kvs->kv[kvs->n].value = xstrndup(value, len);
    kvs->kv[kvs->n].mod_rev = mod_rev;
    kvs->n++;
}

uint64_t h_load(st_store *s, const char *prefix, h_kvs *kvs)
{
    uint64_t rev = 0;
    kvs->n = 0;
    cr_assert_eq(st_load(s, prefix, h_collect, kvs, &rev), ST_OK);
    return rev;
}

void h_kvs_free(h_kvs *kvs)
{
    for (int i = 0; i < kvs->n; i++) {
        free(kvs->kv[i].key);
        free(kvs->kv[i].value);
    }
    kvs->n = 0;
}

uint64_t h_history(st_store *s, uint64_t after_rev)
{
    uint64_t oldest = UINT64_MAX;
    cr_assert_eq(st_history(s, after_rev, h_sink, NULL, &oldest), ST_OK);
    return oldest;
}

const char *h_rv_of(const char *json)
{
    static char buf[32];
    buf[0] = '\0';
    cJSON *obj = cJSON_Parse(json);
    const char *rv = json_path_string(obj, "metadata.resourceVersion");
    if (rv)
        snprintf(buf, sizeof(buf), "%s", rv);
    cJSON_Delete(obj);
    return buf;
}
