/*  fuzz_alert_native — POST /alerts bodies: JSON guard, then alert_parse_native.

    Every accepted alert must survive fingerprinting and the alert_batch codec unchanged;
    every error must point inside the request.
*/
#include "alert_parse.h"
#include "fuzz.h"
#include "fuzz_support.h"
#include "http_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    http_reply_t reply;
    http_reply_init(&reply);
    /* http_json_parse is the exact guard handle_post_alerts applies. */
    json_t *body = http_json_parse((const char *)data, size, &reply);
    if (!body) {
        FUZZ_CHECK(reply.status == 400);
        http_reply_clear(&reply);
        return 0;
    }
    http_reply_clear(&reply);
    size_t element_count = json_is_array(body) ? json_array_size(body) : 1;
    alert_parse_result_t result;
    memset(&result, 0, sizeof result);
    const char *reason = NULL;
    if (alert_parse_native(body, FUZZ_TENANT, FUZZ_NOW_MS, FUZZ_MAX_BATCH, &result, &reason) == 0) {
        FUZZ_CHECK(result.alert_count + (result.error_count ? 1 : 0) <= element_count + 1);
        fuzz_check_result(&result, element_count);
    } else {
        FUZZ_CHECK(reason != NULL);
        FUZZ_CHECK(result.alert_count == 0 && result.error_count == 0);
    }
    alert_parse_result_clear(&result);
    json_decref(body);
    return 0;
}
