/*
 * fuzz_exec_credential.c - the output of exec credential plugins (client/config_internal.h,
 * kc_exec_parse): whatever a configured program prints on stdout.
 *
 * The input is the plugin's output; the parity of its length picks the apiVersion the kubeconfig
 * asked for. Checked: success fills a token or a certificate with its key (never one of the pair
 * alone), failure gives -EINVAL and a 400 BadRequest with a message, and leaves nothing to free.
 */
#include "client/config_internal.h"
#include "fuzz/fuzz.h"

#include <errno.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kc_exec_spec spec = {
        .api_version = (char *)((size & 1) ? KC_EXEC_V1BETA1 : KC_EXEC_V1),
        .command = (char *)"fuzz-plugin",
        .interactive_mode = (char *)"Never",
        .install_hint = (char *)"install fuzz-plugin",
        .where = (char *)"kubeconfig fuzz: user \"fuzz\"",
    };
    kc_exec_result out;
    api_error err = API_ERROR_INIT;
    int rc = kc_exec_parse(&spec, (const char *)data, size, &out, &err);
    if (rc == 0) {
        FUZZ_CHECK(!apierr_is_set(&err));
        FUZZ_CHECK(out.token || out.cert);
        FUZZ_CHECK(!out.cert == !out.key);
        FUZZ_CHECK(!out.cert || (out.cert_len > 0 && out.key_len > 0));
        FUZZ_CHECK(!out.token || out.token[0] != '\0');
        kc_exec_result_clear(&out);
    } else {
        FUZZ_CHECK(rc == -EINVAL);
        FUZZ_CHECK(err.code == 400 && err.message != NULL);
        FUZZ_CHECK(!out.token && !out.cert && !out.key);
        apierr_clear(&err);
    }
    return 0;
}
