/*
 * test_curl_lib.c - libcurl loaded on first use, and the stubs that stand in for it when it
 * cannot be loaded (common/curl_lib.h).
 */
#include "common/curl_lib.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

typedef void (*any_fn)(void);

/* How many members of *fns are NULL: the table holds function pointers only. */
static size_t null_members(const curllib_fns *fns)
{
    _Static_assert(sizeof(curllib_fns) % sizeof(any_fn) == 0, "function pointers only");
    size_t n = 0;
    for (size_t off = 0; off < sizeof *fns; off += sizeof(any_fn)) {
        any_fn f;
        memcpy(&f, (const char *)fns + off, sizeof f);
        n += f == NULL;
    }
    return n;
}

/* The stubs answer as libcurl answers a failure, so callers need no check of their own. */
static void assert_stubs(const curllib_fns *fns)
{
    cr_assert_eq(null_members(fns), 0);
    cr_assert_eq(fns->global_init(CURL_GLOBAL_DEFAULT), CURLE_FAILED_INIT);
    cr_assert_null(fns->slist_append(NULL, "Accept: */*"));
    cr_assert_null(fns->easy_init());
    cr_assert_eq(fns->easy_setopt(NULL, CURLOPT_URL, "http://127.0.0.1/"), CURLE_FAILED_INIT);
    long code = 7;
    cr_assert_eq(fns->easy_getinfo(NULL, CURLINFO_RESPONSE_CODE, &code), CURLE_FAILED_INIT);
    cr_assert_eq(fns->easy_perform(NULL), CURLE_FAILED_INIT);
    struct curl_header *hd = NULL;
    cr_assert_eq(fns->easy_header(NULL, "Retry-After", 0, CURLH_HEADER, -1, &hd),
                 CURLHE_NOT_BUILT_IN);
    cr_assert_str_eq(fns->easy_strerror(CURLE_FAILED_INIT),
                     "libcurl could not be loaded (see the log)");
    cr_assert_null(fns->multi_init());
    int running = 1;
    cr_assert_eq(fns->multi_perform(NULL, &running), CURLM_BAD_HANDLE);
    cr_assert_eq(fns->multi_poll(NULL, NULL, 0, 0, NULL), CURLM_BAD_HANDLE);
    cr_assert_eq(fns->multi_wakeup(NULL), CURLM_BAD_HANDLE);
    int left = 3;
    cr_assert_null(fns->multi_info_read(NULL, &left));
    cr_assert_eq(left, 0);
    cr_assert_eq(fns->multi_cleanup(NULL), CURLM_BAD_HANDLE);
    cr_assert_null(fns->share_init());
    cr_assert_eq(fns->share_setopt(NULL, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS), CURLSHE_INVALID);
    cr_assert_null(fns->url());
    char *part = (char *)"stale";
    cr_assert_eq(fns->url_get(NULL, CURLUPART_HOST, &part, 0), CURLUE_BAD_HANDLE);
    cr_assert_null(part);
    cr_assert_eq(fns->url_set(NULL, CURLUPART_URL, "http://x/", 0), CURLUE_BAD_HANDLE);
    /* The cleanups accept what the constructors returned. */
    fns->easy_cleanup(NULL);
    fns->url_cleanup(NULL);
    fns->slist_free_all(NULL);
    fns->free(NULL);
}

Test(curl_lib, the_process_table_is_libcurl_and_the_names_call_it)
{
    const curllib_fns *fns = curllib();
    cr_assert_eq(null_members(fns), 0);
    cr_assert_eq(curllib(), fns, "loaded once");
    cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    cr_assert_str_eq(curl_easy_strerror(CURLE_OK), "No error");

    CURLU *u = curl_url();
    cr_assert_not_null(u);
    cr_assert_eq(curl_url_set(u, CURLUPART_URL, "https://example.test:6443/api", 0), CURLUE_OK);
    char *host = NULL;
    cr_assert_eq(curl_url_get(u, CURLUPART_HOST, &host, 0), CURLUE_OK);
    cr_assert_str_eq(host, "example.test");
    curl_free(host);
    curl_url_cleanup(u);

    CURL *h = curl_easy_init();
    cr_assert_not_null(h);
    cr_assert_eq(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L), CURLE_OK);
    long code = -1;
    cr_assert_eq(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
    cr_assert_eq(code, 0, "no transfer yet");
    curl_easy_cleanup(h);
}

Test(curl_lib, opening_libcurl_again_gives_the_same_functions)
{
    curllib_fns fns;
    char why[256] = "";
    cr_assert_eq(curllib_open("libcurl.so.4", &fns, why, sizeof why), 0, "%s", why);
    cr_assert_eq(memcmp(&fns, curllib(), sizeof fns), 0);
}

Test(curl_lib, a_missing_library_gives_the_stubs_and_the_reason)
{
    curllib_fns fns;
    char why[256] = "";
    cr_assert_eq(curllib_open("libcurl-not-installed.so.4", &fns, why, sizeof why), -ENOENT);
    cr_assert_not_null(strstr(why, "libcurl-not-installed.so.4"), "%s", why);
    assert_stubs(&fns);
}

Test(curl_lib, a_library_without_every_function_is_not_loaded)
{
    /* libc is always there and has no curl_* function: the first look-up fails. */
    curllib_fns fns;
    char why[256] = "";
    cr_assert_eq(curllib_open("libc.so.6", &fns, why, sizeof why), -ENOENT);
    cr_assert_not_null(strstr(why, "curl_global_init"), "%s", why);
    assert_stubs(&fns);
}

Test(curl_lib, the_reason_may_be_left_out)
{
    curllib_fns fns;
    cr_assert_eq(curllib_open("libcurl-not-installed.so.4", &fns, NULL, 0), -ENOENT);
    cr_assert_null(fns.easy_init());
}
