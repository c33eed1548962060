#include "apiserver/resource/list_select.h"
#include "apiserver/resource/registry.h"
#include "common/alloc.h"
#include "common/sbuf.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* The continue token: base64 of "<rv>:<last key>". Opaque to clients. */
static char *encode_continue(uint64_t rv, const char *last_key)
{
    sbuf raw = SBUF_INIT;
    sbuf_printf(&raw, "%llu:%s", (unsigned long long)rv, last_key);
    char *out = xmalloc(4 * (raw.len / 3 + 1) + 1);
    EVP_EncodeBlock((unsigned char *)out, (unsigned char *)raw.data, (int)raw.len);
    sbuf_free(&raw);
    return out;
}

/* Reads "<rv>:<key>" (the key under prefix). Returns the key (caller frees), or NULL. */
static char *decode_continue(const char *token, const char *prefix, uint64_t *rev)
{
    size_t n = strlen(token);
    if (n == 0 || n % 4 != 0 || n > INT32_MAX)
        return NULL;
    unsigned char *raw = xmalloc(n);
    int len = EVP_DecodeBlock(raw, (const unsigned char *)token, (int)n);
    char *key = NULL;
    if (len > 0) {
        while (len > 0 && raw[len - 1] == '\0')
            len--; /* EVP_DecodeBlock keeps the padding as NULs */
        char *s = xstrndup((char *)raw, (size_t)len);
        char *colon = strchr(s, ':');
        char *end = NULL;
        errno = 0;
        unsigned long long v = colon && s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
        if (end == colon && errno == 0 && v > 0 && strlen(s) == (size_t)len &&
            strncmp(colon + 1, prefix, strlen(prefix)) == 0) {
            key = xstrdup(colon + 1);
            *rev = v;
        }
        free(s);
    }
    free(raw);
    return key;
}

/* resourceVersion semantics of a list served from the cache (docs/api.md §5.2). */
static bool check_rv(const as_list_options *o, uint64_t current, api_error *e)
{
    if (o->resource_version && o->rv > current) {
        apierr_set(e, 504, "Timeout", "Too large resource version: %s, current: %llu",
                   o->resource_version, (unsigned long long)current);
        apierr_add_cause(e, "ResourceVersionTooLarge", "", "Too large resource version");
        e->retry_after = 1;
        return false;
    }
    if (o->rv_match && strcmp(o->rv_match, "Exact") == 0 && o->rv != current) {
        apierr_set(e, 410, "Expired", "The resourceVersion for the provided list is too old.");
        return false;
    }
    if (o->cont && o->resource_version && strcmp(o->resource_version, "0") != 0) {
        apierr_bad_request(e, "specifying resource version is not allowed when using continue");
        return false;
    }
    return true;
}

/* Keeps the selected items (in place); drops the references of the others. */
static void filter(as_page *page, const as_selector *sel)
{
    size_t kept = 0;
    for (size_t i = 0; i < page->n; i++) {
        wc_blob *b = page->items[i];
        char ns[AS_MAX_NAMESPACE + 1];
        const char *name;
        if (b && as_key_split(b->key, ns, sizeof ns, &name) &&
            as_selector_matches(sel, ns, name, b))
            page->items[kept++] = b;
        else
            wc_blob_unref(b);
    }
    page->n = kept;
}

/* A metadata.name= term: at most one object can match, so it is looked up, not scanned for. */
static void select_one(wc_cache *cache, const char *prefix, const char *name, as_page *page)
{
    sbuf key = SBUF_INIT;
    sbuf_printf(&key, "%s%s", prefix, name);
    page->items = xmalloc(sizeof *page->items);
    page->items[0] = wc_get(cache, key.data);
    page->n = 1;
    page->rev = wc_rev(cache);
    sbuf_free(&key);
}

static void set_continue_expired(api_error *e)
{
    apierr_set(e, 410, "Expired",
               "The provided continue parameter is too old to display a consistent list result. "
               "You can start a new list without the continue parameter.");
}

static bool select_range(wc_cache *cache, const char *prefix, const as_list_options *o,
                         as_page *page, api_error *e)
{
    char *after = NULL;
    uint64_t cont_rev = 0;
    if (o->cont && !(after = decode_continue(o->cont, prefix, &cont_rev))) {
        apierr_bad_request(e, "invalid continue token");
        return false;
    }
    if (after && cont_rev < wc_rev(cache)) {
        /* Later pages show the list as it was at the first page's revision. */
        ptrdiff_t got =
            wc_list_at(cache, prefix, after, o->limit, cont_rev, &page->items, &page->remaining);
        if (got < 0) {
            free(after);
            set_continue_expired(e);
            return false;
        }
        page->n = (size_t)got;
        page->rev = cont_rev;
    } else {
        page->n =
            wc_list(cache, prefix, after, o->limit, &page->items, &page->rev, &page->remaining);
    }
    free(after);
    if (page->remaining && page->n)
        page->cont = encode_continue(page->rev, page->items[page->n - 1]->key);
    else
        page->remaining = 0;
    return true;
}

/*
 * A selector filters after the keys are scanned, so a page of `limit` keys may keep fewer
 * objects. As kube fills a selected page up to its limit, the next keys are scanned (at the
 * page's revision) and filtered until the page is full or the keys run out; the continue token
 * then names the last key scanned, so the next page starts after it. Returns false (e set: 410)
 * only when the history no longer reaches the page's revision.
 */
static bool fill_page(wc_cache *cache, const char *prefix, const as_list_options *o,
                      const as_selector *sel, as_page *page, api_error *e)
{
    if (!page->cont)
        return true;
    uint64_t rev = 0;
    char *after = decode_continue(page->cont, prefix, &rev); /* the last key scanned */
    bool more_keys = true;
    while (more_keys && page->n < o->limit) {
        as_page more = {0};
        ptrdiff_t got = wc_list_at(cache, prefix, after, o->limit - page->n, page->rev, &more.items,
                                   &more.remaining);
        if (got < 0) {
            free(after);
            set_continue_expired(e);
            return false;
        }
        more.n = (size_t)got;
        more_keys = more.remaining && more.n;
        if (more.n) {
            free(after);
            after = xstrdup(more.items[more.n - 1]->key);
        }
        filter(&more, sel);
        page->items = xrealloc(page->items, (page->n + more.n + 1) * sizeof *page->items);
        memcpy(page->items + page->n, more.items, more.n * sizeof *more.items);
        page->n += more.n;
        free(more.items);
    }
    free(page->cont);
    page->cont = more_keys ? encode_continue(page->rev, after) : NULL;
    free(after);
    return true;
}

bool as_list_select(wc_cache *cache, const char *prefix, bool all_namespaces,
                    const as_list_options *o, const as_selector *sel, as_page *page, api_error *e)
{
    memset(page, 0, sizeof *page);
    if (!check_rv(o, wc_rev(cache), e))
        return false;
    /* Across namespaces a name may be in any of them: scanned, not looked up. */
    const char *name = all_namespaces ? NULL : as_selector_only_name(sel);
    if (name)
        select_one(cache, prefix, name, page);
    else if (!select_range(cache, prefix, o, page, e))
        return false;
    filter(page, sel);
    if (sel->labels || sel->nterms) {
        page->remaining = 0; /* kube counts what remains only when no selector filters it */
        if (o->limit && !fill_page(cache, prefix, o, sel, page, e)) {
            as_page_free(page); /* empty on failure, as the contract says */
            return false;
        }
    }
    return true;
}

void as_page_free(as_page *page)
{
    wc_snapshot_free(page->items, page->n);
    free(page->cont);
    memset(page, 0, sizeof *page);
}
