/*
 * curl_lib.c - libcurl, loaded on first use (see curl_lib.h): the failing stubs, the loader and
 * the process's table.
 */
#include "common/curl_lib.h"

#include "common/log.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The soname of libcurl's ABI 4, the one <curl/curl.h> describes (Debian's libcurl4). */
#define CURLLIB_SONAME "libcurl.so.4"

/* ---- the stubs: each returns what libcurl returns when it fails -------------------------- */

static const char stub_message[] = "libcurl could not be loaded (see the log)";

static CURLcode stub_global_init(long flags)
{
    (void)flags;
    return CURLE_FAILED_INIT;
}

static void stub_free(void *p)
{
    (void)p; /* nothing came from libcurl */
}

static struct curl_slist *stub_slist_append(struct curl_slist *list, const char *data)
{
    (void)list;
    (void)data;
    return NULL;
}

static void stub_slist_free_all(struct curl_slist *list)
{
    (void)list;
}

static CURL *stub_easy_init(void)
{
    return NULL;
}

static CURLcode stub_easy_setopt(CURL *h, CURLoption option, ...)
{
    (void)h;
    (void)option;
    return CURLE_FAILED_INIT;
}

static CURLcode stub_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    (void)h;
    (void)info;
    return CURLE_FAILED_INIT;
}

static CURLcode stub_easy_perform(CURL *h)
{
    (void)h;
    return CURLE_FAILED_INIT;
}

static void stub_easy_reset(CURL *h)
{
    (void)h;
}

static void stub_easy_cleanup(CURL *h)
{
    (void)h;
}

static CURLHcode stub_easy_header(CURL *h, const char *name, size_t index, unsigned int origin,
                                  int request, struct curl_header **hout)
{
    (void)h;
    (void)name;
    (void)index;
    (void)origin;
    (void)request;
    (void)hout;
    return CURLHE_NOT_BUILT_IN;
}

static const char *stub_easy_strerror(CURLcode code)
{
    (void)code;
    return stub_message;
}

static CURLM *stub_multi_init(void)
{
    return NULL;
}

static CURLMcode stub_multi_add_handle(CURLM *m, CURL *h)
{
    (void)m;
    (void)h;
    return CURLM_BAD_HANDLE;
}

static CURLMcode stub_multi_remove_handle(CURLM *m, CURL *h)
{
    (void)m;
    (void)h;
    return CURLM_BAD_HANDLE;
}

static CURLMcode stub_multi_perform(CURLM *m, int *running)
{
    (void)m;
    (void)running;
    return CURLM_BAD_HANDLE;
}

static CURLMcode stub_multi_poll(CURLM *m, struct curl_waitfd extra_fds[], unsigned int extra_nfds,
                                 int timeout_ms, int *ret)
{
    (void)m;
    (void)extra_fds;
    (void)extra_nfds;
    (void)timeout_ms;
    (void)ret;
    return CURLM_BAD_HANDLE;
}

static CURLMcode stub_multi_wakeup(CURLM *m)
{
    (void)m;
    return CURLM_BAD_HANDLE;
}

static CURLMsg *stub_multi_info_read(CURLM *m, int *msgs_in_queue)
{
    (void)m;
    if (msgs_in_queue)
        *msgs_in_queue = 0;
    return NULL;
}

static CURLMcode stub_multi_cleanup(CURLM *m)
{
    (void)m;
    return CURLM_BAD_HANDLE;
}

static const char *stub_multi_strerror(CURLMcode code)
{
    (void)code;
    return stub_message;
}

static CURLSH *stub_share_init(void)
{
    return NULL;
}

static CURLSHcode stub_share_setopt(CURLSH *s, CURLSHoption option, ...)
{
    (void)s;
    (void)option;
    return CURLSHE_INVALID;
}

static CURLSHcode stub_share_cleanup(CURLSH *s)
{
    (void)s;
    return CURLSHE_INVALID;
}

static const char *stub_share_strerror(CURLSHcode code)
{
    (void)code;
    return stub_message;
}

static CURLU *stub_url(void)
{
    return NULL;
}

static CURLUcode stub_url_set(CURLU *u, CURLUPart what, const char *part, unsigned int flags)
{
    (void)u;
    (void)what;
    (void)part;
    (void)flags;
    return CURLUE_BAD_HANDLE;
}

static CURLUcode stub_url_get(CURLU *u, CURLUPart what, char **part, unsigned int flags)
{
    (void)u;
    (void)what;
    (void)flags;
    if (part)
        *part = NULL;
    return CURLUE_BAD_HANDLE;
}

static void stub_url_cleanup(CURLU *u)
{
    (void)u;
}

static const char *stub_url_strerror(CURLUcode code)
{
    (void)code;
    return stub_message;
}

static const curllib_fns curllib_stubs = {
    .global_init = stub_global_init,
    .free = stub_free,
    .slist_append = stub_slist_append,
    .slist_free_all = stub_slist_free_all,
    .easy_init = stub_easy_init,
    .easy_setopt = stub_easy_setopt,
    .easy_getinfo = stub_easy_getinfo,
    .easy_perform = stub_easy_perform,
    .easy_reset = stub_easy_reset,
    .easy_cleanup = stub_easy_cleanup,
    .easy_header = stub_easy_header,
    .easy_strerror = stub_easy_strerror,
    .multi_init = stub_multi_init,
    .multi_add_handle = stub_multi_add_handle,
    .multi_remove_handle = stub_multi_remove_handle,
    .multi_perform = stub_multi_perform,
    .multi_poll = stub_multi_poll,
    .multi_wakeup = stub_multi_wakeup,
    .multi_info_read = stub_multi_info_read,
    .multi_cleanup = stub_multi_cleanup,
    .multi_strerror = stub_multi_strerror,
    .share_init = stub_share_init,
    .share_setopt = stub_share_setopt,
    .share_cleanup = stub_share_cleanup,
    .share_strerror = stub_share_strerror,
    .url = stub_url,
    .url_set = stub_url_set,
    .url_get = stub_url_get,
    .url_cleanup = stub_url_cleanup,
    .url_strerror = stub_url_strerror,
};

/* ---- the loader --------------------------------------------------------------------------- */

/* ISO C has no conversion from void * to a function pointer; POSIX (dlsym) guarantees that the
   two have one representation, so the address is copied into the member as bytes. */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
               "dlsym needs data and code pointers alike");

/* Stores the address of name in the function pointer at slot; false when lib has no such name. */
static bool curllib_sym(void *lib, const char *name, void *slot)
{
    void *p = dlsym(lib, name);
    if (!p)
        return false;
    memcpy(slot, &p, sizeof p);
    return true;
}

/* Every member of fns, looked up as "curl_" + its name; false at the first one missing. */
static bool curllib_resolve(void *lib, curllib_fns *fns)
{
#define CURLLIB_SYM(member) curllib_sym(lib, "curl_" #member, &fns->member)
    return CURLLIB_SYM(global_init) && CURLLIB_SYM(free) && CURLLIB_SYM(slist_append) &&
           CURLLIB_SYM(slist_free_all) && CURLLIB_SYM(easy_init) && CURLLIB_SYM(easy_setopt) &&
           CURLLIB_SYM(easy_getinfo) && CURLLIB_SYM(easy_perform) && CURLLIB_SYM(easy_reset) &&
           CURLLIB_SYM(easy_cleanup) && CURLLIB_SYM(easy_header) && CURLLIB_SYM(easy_strerror) &&
           CURLLIB_SYM(multi_init) && CURLLIB_SYM(multi_add_handle) &&
           CURLLIB_SYM(multi_remove_handle) && CURLLIB_SYM(multi_perform) &&
           CURLLIB_SYM(multi_poll) && CURLLIB_SYM(multi_wakeup) && CURLLIB_SYM(multi_info_read) &&
           CURLLIB_SYM(multi_cleanup) && CURLLIB_SYM(multi_strerror) && CURLLIB_SYM(share_init) &&
           CURLLIB_SYM(share_setopt) && CURLLIB_SYM(share_cleanup) && CURLLIB_SYM(share_strerror) &&
           CURLLIB_SYM(url) && CURLLIB_SYM(url_set) && CURLLIB_SYM(url_get) &&
           CURLLIB_SYM(url_cleanup) && CURLLIB_SYM(url_strerror);
#undef CURLLIB_SYM
}

static void curllib_why(char *why, size_t whylen)
{
    const char *e = dlerror();
    if (why && whylen > 0)
        snprintf(why, whylen, "%s", e ? e : "unknown dlopen error");
}

int curllib_open(const char *soname, curllib_fns *fns, char *why, size_t whylen)
{
    *fns = curllib_stubs;
    (void)dlerror(); /* no stale message from an earlier dl* call */
    /* RTLD_NOW: a library whose own dependencies are missing fails here, not in a request. */
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        curllib_why(why, whylen);
        return -ENOENT;
    }
    curllib_fns got;
    if (!curllib_resolve(lib, &got)) {
        curllib_why(why, whylen); /* before dlclose, which may reset dlerror() */
        dlclose(lib);
        return -ENOENT;
    }
    *fns = got;
    return 0;
}

/* ---- the process's table ------------------------------------------------------------------ */

static pthread_once_t curllib_once = PTHREAD_ONCE_INIT;
static curllib_fns curllib_table;

static void curllib_load(void)
{
    char why[512];
    if (curllib_open(CURLLIB_SONAME, &curllib_table, why, sizeof why) < 0)
        log_kv(LOG_ERROR,
               "libcurl could not be loaded: every HTTP client call will fail (etcd, "
               "webhooks, kubeconfig clients)",
               "library", CURLLIB_SONAME, "error", why, NULL);
}

const curllib_fns *curllib(void)
{
    pthread_once(&curllib_once, curllib_load);
    return &curllib_table;
}
