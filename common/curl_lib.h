/*
 * curl_lib.h - libcurl, loaded on first use.
 *
 * Why: linking libcurl makes every program map it and its dependency tree (gnutls through
 * librtmp, p11-kit, krb5, ldap, nettle, gmp, ssh2, unistring, ...) at start: about 4 MiB of
 * resident memory in a standalone SQLite server that never makes an HTTP request (docs/design.md
 * §8, idle RSS). So no program links libcurl. The first libcurl call in a process dlopen()s
 * libcurl.so.4 and looks up every function listed in curllib_fns; only the parts that need
 * HTTP (etcd storage, the delegated authentication and authorization webhooks, the client)
 * ever make that first call. Loading does nothing else: curl_global_init() stays with the
 * callers (client/transport.c, storage/etcd_http.c), each under its own pthread_once.
 *
 * How to use it: include this header instead of <curl/curl.h> and call libcurl exactly as its
 * documentation says. Each curl_* function the project uses is a macro below that calls through
 * the table curllib() returns; a file that includes <curl/curl.h> directly and calls libcurl no
 * longer links, which is how a forgotten include shows up. To use another libcurl function: add
 * a member to curllib_fns, its stub and its look-up in curl_lib.c, and a macro here.
 *
 * Why not functions named curl_* of our own that forward to libcurl: Debian's libcurl calls its
 * own exported functions through the PLT (curl_easy_init from inside curl_easy_perform, ...), so
 * a program defining those names would receive libcurl's internal calls. So no function or
 * variable of ours is named curl_* (only the macros below are), hence the curllib prefix.
 *
 * When libcurl cannot be loaded (missing, or one of the functions absent): the reason is logged
 * once (dlerror) and every entry returns what libcurl itself returns on failure: NULL from the
 * constructors (curl_easy_init, curl_url, curl_slist_append, ...), CURLE_FAILED_INIT,
 * CURLM_BAD_HANDLE, CURLSHE_INVALID, CURLUE_BAD_HANDLE, CURLHE_NOT_BUILT_IN from the others, and
 * the *_strerror functions say that libcurl could not be loaded. Callers need no extra check.
 *
 * Lost on the way: libcurl's compile-time checks of the argument types of curl_easy_setopt and
 * curl_easy_getinfo (curl/typecheck-gcc.h). Those are macros that end in a direct call of the
 * exported function, which is exactly the call this header replaces.
 */
#ifndef FOO_COMMON_CURL_LIB_H
#define FOO_COMMON_CURL_LIB_H

#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK /* see "Lost on the way" above */
#endif
#include <curl/curl.h>

/* The libcurl functions the project calls, each named as in libcurl without its curl_ prefix. */
typedef struct curllib_fns {
    CURLcode (*global_init)(long flags);
    void (*free)(void *p);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *data);
    void (*slist_free_all)(struct curl_slist *list);

    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    CURLcode (*easy_perform)(CURL *h);
    void (*easy_reset)(CURL *h);
    void (*easy_cleanup)(CURL *h);
    CURLHcode (*easy_header)(CURL *h, const char *name, size_t index, unsigned int origin,
                             int request, struct curl_header **hout);
    const char *(*easy_strerror)(CURLcode code);

    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_perform)(CURLM *m, int *running);
    CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd extra_fds[], unsigned int extra_nfds,
                            int timeout_ms, int *ret);
    CURLMcode (*multi_wakeup)(CURLM *m);
    CURLMsg *(*multi_info_read)(CURLM *m, int *msgs_in_queue);
    CURLMcode (*multi_cleanup)(CURLM *m);
    const char *(*multi_strerror)(CURLMcode code);

    CURLSH *(*share_init)(void);
    CURLSHcode (*share_setopt)(CURLSH *s, CURLSHoption option, ...);
    CURLSHcode (*share_cleanup)(CURLSH *s);
    const char *(*share_strerror)(CURLSHcode code);

    CURLU *(*url)(void);
    CURLUcode (*url_set)(CURLU *u, CURLUPart what, const char *part, unsigned int flags);
    CURLUcode (*url_get)(CURLU *u, CURLUPart what, char **part, unsigned int flags);
    void (*url_cleanup)(CURLU *u);
    const char *(*url_strerror)(CURLUcode code);
} curllib_fns;

/*
 * The process's libcurl table. The first call (from any thread; pthread_once) loads
 * libcurl.so.4 with curllib_open(); later calls only return the table. Never NULL: when libcurl
 * could not be loaded it is the table of failing stubs, and the first call has logged why.
 * The table is read-only and lives as long as the process (libcurl is never unloaded).
 */
const curllib_fns *curllib(void);

/*
 * The loader behind curllib(), public for its tests: dlopen()s soname and fills *fns with its
 * functions. Returns 0 when every function was found. Otherwise returns -ENOENT, fills *fns with
 * the failing stubs, closes the library again and, when why is not NULL, writes dlerror()'s text
 * into why (at most whylen bytes, NUL-terminated). A successful load is never closed.
 * Thread-safe (dlerror() is per thread); it does not log.
 */
int curllib_open(const char *soname, curllib_fns *fns, char *why, size_t whylen);

/* ---- the libcurl names, mapped onto the table (curl/curl.h may have made some macros) ---- */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_share_setopt
#undef curl_multi_setopt

#define curl_global_init(flags)       (curllib()->global_init(flags))
#define curl_free(p)                  (curllib()->free(p))
#define curl_slist_append(list, data) (curllib()->slist_append((list), (data)))
#define curl_slist_free_all(list)     (curllib()->slist_free_all(list))

#define curl_easy_init()                (curllib()->easy_init())
#define curl_easy_setopt(h, opt, param) (curllib()->easy_setopt((h), (opt), (param)))
#define curl_easy_getinfo(h, info, arg) (curllib()->easy_getinfo((h), (info), (arg)))
#define curl_easy_perform(h)            (curllib()->easy_perform(h))
#define curl_easy_reset(h)              (curllib()->easy_reset(h))
#define curl_easy_cleanup(h)            (curllib()->easy_cleanup(h))
#define curl_easy_header(h, name, index, origin, request, hout)                                    \
    (curllib()->easy_header((h), (name), (index), (origin), (request), (hout)))
#define curl_easy_strerror(code) (curllib()->easy_strerror(code))

#define curl_multi_init()              (curllib()->multi_init())
#define curl_multi_add_handle(m, h)    (curllib()->multi_add_handle((m), (h)))
#define curl_multi_remove_handle(m, h) (curllib()->multi_remove_handle((m), (h)))
#define curl_multi_perform(m, running) (curllib()->multi_perform((m), (running)))
#define curl_multi_poll(m, fds, nfds, timeout_ms, ret)                                             \
    (curllib()->multi_poll((m), (fds), (nfds), (timeout_ms), (ret)))
#define curl_multi_wakeup(m)              (curllib()->multi_wakeup(m))
#define curl_multi_info_read(m, in_queue) (curllib()->multi_info_read((m), (in_queue)))
#define curl_multi_cleanup(m)             (curllib()->multi_cleanup(m))
#define curl_multi_strerror(code)         (curllib()->multi_strerror(code))

#define curl_share_init()                (curllib()->share_init())
#define curl_share_setopt(s, opt, param) (curllib()->share_setopt((s), (opt), (param)))
#define curl_share_cleanup(s)            (curllib()->share_cleanup(s))
#define curl_share_strerror(code)        (curllib()->share_strerror(code))

#define curl_url()                         (curllib()->url())
#define curl_url_set(u, what, part, flags) (curllib()->url_set((u), (what), (part), (flags)))
#define curl_url_get(u, what, part, flags) (curllib()->url_get((u), (what), (part), (flags)))
#define curl_url_cleanup(u)                (curllib()->url_cleanup(u))
#define curl_url_strerror(code)            (curllib()->url_strerror(code))

#endif
