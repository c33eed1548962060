/*
 * fuzz_kubeconfig.c - kubeconfig files (client/config_internal.h, kcf_parse): YAML or JSON that
 * the user, a tool or $KUBECONFIG points the client at.
 *
 * The input is the file's text. A parse gives a document or a message. A document is then used
 * as the client would: every context's cluster and user looked up, base64 certificate data
 * decoded, and the document merged into a second parse of itself (client-go's rule keeps the
 * first of equal names, so the merge must change nothing in counts).
 */
#include "client/config_internal.h"
#include "fuzz/fuzz.h"

static void decode_base64(const char *text)
{
    if (!text)
        return;
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (kc_base64_decode(text, &bytes, &len)) {
        /* Re-encoding and decoding again gives the same bytes. */
        char *again = kc_base64_encode(bytes, len);
        unsigned char *bytes2 = NULL;
        size_t len2 = 0;
        FUZZ_CHECK(kc_base64_decode(again, &bytes2, &len2));
        FUZZ_CHECK(len2 == len && (len == 0 || memcmp(bytes, bytes2, len) == 0));
        free(bytes2);
        free(again);
    }
    free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = "/home/fuzz/.kube/config";
    kcf_doc *doc = NULL;
    api_error err = API_ERROR_INIT;
    int rc = kcf_parse(path, (const char *)data, size, &doc, &err);
    if (rc != 0) {
        FUZZ_CHECK(rc < 0 && doc == NULL && apierr_is_set(&err) && err.message != NULL);
        apierr_clear(&err);
        return 0;
    }
    FUZZ_CHECK(doc != NULL && !apierr_is_set(&err));

    for (size_t i = 0; i < doc->ncontexts; i++) {
        const kcf_context *ctx = &doc->contexts[i];
        FUZZ_CHECK(ctx->name != NULL);
        FUZZ_CHECK(kcf_find_context(doc, ctx->name) != NULL);
        if (ctx->cluster)
            (void)kcf_find_cluster(doc, ctx->cluster);
        if (ctx->user)
            (void)kcf_find_user(doc, ctx->user);
    }
    for (size_t i = 0; i < doc->nclusters; i++) {
        FUZZ_CHECK(doc->clusters[i].name != NULL);
        decode_base64(doc->clusters[i].ca_data);
    }
    for (size_t i = 0; i < doc->nusers; i++) {
        FUZZ_CHECK(doc->users[i].name != NULL);
        decode_base64(doc->users[i].cert_data);
        decode_base64(doc->users[i].key_data);
    }
    if (doc->current_context)
        (void)kcf_find_context(doc, doc->current_context);

    kcf_doc *again = NULL;
    FUZZ_CHECK(kcf_parse(path, (const char *)data, size, &again, &err) == 0);
    size_t nclusters = doc->nclusters, nusers = doc->nusers, ncontexts = doc->ncontexts;
    kcf_merge(doc, again); /* frees `again` */
    FUZZ_CHECK(doc->nclusters == nclusters && doc->nusers == nusers && doc->ncontexts == ncontexts);

    kcf_doc_free(doc);
    return 0;
}
