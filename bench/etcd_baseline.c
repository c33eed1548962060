/*
 * etcd_baseline.c - the baseline of the durable-create benchmark on etcd (issue 10): raw puts to
 * etcd's JSON gateway, the same concurrency as foo's clients, so foo's creates on etcd read as a
 * fraction of what etcd itself takes.
 *
 * Each thread keeps one libcurl handle (one kept-alive HTTP/1.1 connection) and writes a
 * ~ROW_BYTES value under PREFIX/bench-<thread>-<n>, as fast as etcd answers, for SECONDS.
 * MODE "put": POST /v3/kv/put, the put alone, the upper bound. MODE "cas": POST /v3/kv/txn with
 * the compare every correct create needs (the key's create revision is 0) and the put, as kube
 * and foo create: the ceiling of any create that cannot overwrite an object. A create by foo
 * costs that txn (plus a put of its prefix's marker key in the same txn) and the watch
 * delivering it.
 *
 * Usage: etcd_baseline URL PREFIX THREADS SECONDS ROW_BYTES MODE
 * Prints one line: "puts N seconds S rate R" (R = writes per second). Exit 1 on any error.
 * Built by bench/run.sh with cc (libcurl, OpenSSL's base64); not part of the CMake build.
 */
#include "baseline_common.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench {
    const char *url, *prefix;
    bool cas; /* MODE "cas": a compare-and-put txn instead of a put */
    int seconds;
    int row_bytes;
    double start;
    atomic_long puts;
    atomic_int failed;
} bench;

/* Standard base64 of len bytes, as the gateway wants keys and values; caller frees. */
static char *b64(const char *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        abort();
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
    return out;
}

/* Discards the answer's body (its status is checked). */
static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p, (void)ctx;
    return size * n;
}

static void *run(void *arg)
{
    baseline_worker *w = arg;
    bench *b = w->bench;
    CURL *c = curl_easy_init();
    if (!c) {
        atomic_store(&b->failed, 1);
        return NULL;
    }
    char *url = malloc(strlen(b->url) + 16);
    char *value = malloc((size_t)b->row_bytes + 1);
    if (!url || !value)
        abort();
    sprintf(url, "%s/v3/kv/%s", b->url, b->cas ? "txn" : "put");
    memset(value, 'x', (size_t)b->row_bytes);
    value[b->row_bytes] = '\0';
    char *value64 = b64(value, (size_t)b->row_bytes);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    for (long i = 0; baseline_now_s() - b->start < b->seconds && !atomic_load(&b->failed); i++) {
        char key[256];
        int klen = snprintf(key, sizeof key, "%s/bench-%d-%ld", b->prefix, w->id, i);
        char *key64 = b64(key, (size_t)klen);
        size_t blen = 2 * strlen(key64) + strlen(value64) + 256;
        char *body = malloc(blen);
        if (!body)
            abort();
        if (b->cas)
            snprintf(body, blen,
                     "{\"compare\":[{\"key\":\"%s\",\"target\":\"CREATE\",\"result\":\"EQUAL\","
                     "\"create_revision\":\"0\"}],\"success\":[{\"request_put\":{\"key\":\"%s\","
                     "\"value\":\"%s\"}}]}",
                     key64, key64, value64);
        else
            snprintf(body, blen, "{\"key\":\"%s\",\"value\":\"%s\"}", key64, value64);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        long status = 0;
        CURLcode rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        free(body);
        free(key64);
        if (rc != CURLE_OK || status != 200) {
            fprintf(stderr, "etcd_baseline: put: %s (HTTP %ld)\n", curl_easy_strerror(rc), status);
            atomic_store(&b->failed, 1);
            break;
        }
        atomic_fetch_add(&b->puts, 1);
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    free(value64);
    free(value);
    free(url);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 7 || (strcmp(argv[6], "put") != 0 && strcmp(argv[6], "cas") != 0)) {
        fprintf(stderr, "usage: %s URL PREFIX THREADS SECONDS ROW_BYTES put|cas\n", argv[0]);
        return 1;
    }
    bench b = {.url = argv[1],
               .prefix = argv[2],
               .seconds = atoi(argv[4]),
               .row_bytes = atoi(argv[5]),
               .cas = strcmp(argv[6], "cas") == 0};
    int threads = atoi(argv[3]);
    if (threads < 1 || threads > BASELINE_MAX_THREADS || b.seconds < 1 || b.row_bytes < 1) {
        fprintf(stderr, "etcd_baseline: bad arguments\n");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    atomic_init(&b.puts, 0);
    atomic_init(&b.failed, 0);
    b.start = baseline_now_s();
    int rc = baseline_run_threads("etcd_baseline", threads, run, &b, &b.failed);
    double elapsed = baseline_now_s() - b.start;
    curl_global_cleanup();
    if (rc || atomic_load(&b.failed))
        return 1;
    long n = atomic_load(&b.puts);
    printf("puts %ld seconds %.2f rate %.1f\n", n, elapsed, (double)n / elapsed);
    return 0;
}
