/*
 * factory.c - shares one informer per (collection path, label selector, field selector), as
 * client-go's SharedInformerFactory and controller-runtime's cache do, so two controllers
 * watching Deployments cost one list+watch and one copy of the cache.
 */
#include "informer/internal.h"

#include "common/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct fentry {
    char *path, *label, *field;
    inf_informer *inf;
} fentry;

struct inf_factory {
    inf_transport transport; /* shared by every informer; its ctx is borrowed */
    inf_options defaults;
    pthread_mutex_t mu;
    fentry *v;
    size_t n;
};

inf_factory *inf_factory_new(kc_client *c, const inf_options *defaults)
{
    inf_transport t = inf_transport_kc(c);
    return inf_factory_new_transport(&t, defaults);
}

inf_factory *inf_factory_new_transport(const inf_transport *t, const inf_options *defaults)
{
    inf_factory *f = xcalloc(1, sizeof *f);
    f->transport = *t;
    f->defaults = defaults ? *defaults : inf_options_defaults();
    f->defaults.path = f->defaults.label_selector = f->defaults.field_selector = NULL;
    f->defaults.name = NULL;
    if (pthread_mutex_init(&f->mu, NULL) != 0)
        abort();
    return f;
}

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

inf_informer *inf_factory_informer(inf_factory *f, const char *path, const char *label_selector,
                                   const char *field_selector, api_error *err)
{
    pthread_mutex_lock(&f->mu);
    inf_informer *inf = NULL;
    for (size_t i = 0; i < f->n && !inf; i++)
        if (same(f->v[i].path, path) && same(f->v[i].label, label_selector) &&
            same(f->v[i].field, field_selector))
            inf = f->v[i].inf;
    if (!inf) {
        inf_options opt = f->defaults;
        opt.path = path;
        opt.label_selector = label_selector;
        opt.field_selector = field_selector;
        inf = inf_informer_new_transport(&f->transport, &opt, err);
        if (inf) {
            f->v = xrealloc(f->v, (f->n + 1) * sizeof *f->v);
            f->v[f->n++] = (fentry){
                .path = xstrdup(path),
                .label = label_selector ? xstrdup(label_selector) : NULL,
                .field = field_selector ? xstrdup(field_selector) : NULL,
                .inf = inf,
            };
        }
    }
    pthread_mutex_unlock(&f->mu);
    return inf;
}

int inf_factory_start(inf_factory *f)
{
    pthread_mutex_lock(&f->mu);
    int rc = 0;
    for (size_t i = 0; i < f->n && rc == 0; i++) {
        int r = inf_start(f->v[i].inf);
        if (r < 0 && r != -EALREADY)
            rc = r;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

bool inf_factory_wait_for_sync(inf_factory *f, int timeout_ms)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->n;
    inf_informer **infs = xmalloc((n ? n : 1) * sizeof *infs);
    for (size_t i = 0; i < n; i++)
        infs[i] = f->v[i].inf;
    pthread_mutex_unlock(&f->mu);
    /* Sequential waits share one budget: each informer syncs in parallel meanwhile. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        int left = timeout_ms;
        if (timeout_ms >= 0) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
            left = spent >= timeout_ms ? 0 : timeout_ms - (int)spent;
        }
        ok = inf_wait_for_sync(infs[i], left);
    }
    free(infs);
    return ok;
}

void inf_factory_stop(inf_factory *f)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n; i++)
        inf_stop(f->v[i].inf);
    pthread_mutex_unlock(&f->mu);
}

void inf_factory_free(inf_factory *f)
{
    if (!f)
        return;
    inf_factory_stop(f);
    for (size_t i = 0; i < f->n; i++) {
        inf_informer_free(f->v[i].inf);
        free(f->v[i].path);
        free(f->v[i].label);
        free(f->v[i].field);
    }
    free(f->v);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
