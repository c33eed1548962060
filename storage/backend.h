/*
 * backend.h - private: the vtable behind the st_* functions of storage.h.
 *
 * Each backend (sqlite.c, etcd.c) embeds `st_store` as the first member of its own store
 * struct and points `ops` at a static table; store.c forwards every st_* call through it. The
 * functions have exactly the contracts documented in storage.h.
 */
#ifndef FOO_STORAGE_BACKEND_H
#define FOO_STORAGE_BACKEND_H

#include "storage/storage.h"

typedef struct st_backend_ops {
    int (*load)(st_store *s, const char *prefix, st_kv_fn fn, void *ctx, uint64_t *rev);
    int (*history)(st_store *s, uint64_t after_rev, st_sink_fn fn, void *ctx, uint64_t *oldest);
    void (*set_sink)(st_store *s, st_sink_fn fn, void *ctx);
    void (*set_observer)(st_store *s, const st_observer *obs); /* NULL: never calls one */
    int (*sync_rev)(st_store *s, int timeout_ms, uint64_t *rev, api_error *err);
    int (*health)(st_store *s, const char **why); /* NULL: always healthy */
    int (*start)(st_store *s);
    void (*submit)(st_store *s, st_write *w);
    uint64_t (*current_rev)(st_store *s);
    void (*stats)(st_store *s, uint64_t *commits, uint64_t *writes);
    void (*close)(st_store *s);
} st_backend_ops;

/* Sets w->obj.metadata.resourceVersion to rev (creating metadata if absent) and w->value to
   obj's text: what a backend reports of a write it committed at rev (write.c). */
void st_write_stamp(st_write *w, uint64_t rev);

/* Forgets a write's outputs (result ST_OK, no revision, no value), so it can be judged afresh
   (write.c). */
void st_write_reset_outputs(st_write *w);

struct st_store {
    const st_backend_ops *ops;
};

#endif
