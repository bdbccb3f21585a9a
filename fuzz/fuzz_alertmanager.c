/*  fuzz_alertmanager — the two Alertmanager formats (alert_parse_prometheus.c).

    The first byte picks the format, the rest is the body: even → API v2
    (POST /api/v2/alerts, what Prometheus sends), odd → webhook payload version 4
    (POST /webhooks/alertmanager). Accepted alerts must survive the alert_batch codec.
    API v2 bodies also go through the byte-level fast path (alert_parse_fast.h), which must
    either decline or produce exactly what the general parser produces.
*/
#include "alert_parse.h"
#include "alert_parse_fast.h"
#include "fuzz.h"
#include "fuzz_support.h"

#define FUZZ_RESOLVE_TIMEOUT_MS (300 * 1000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size < 1)
        return 0;
    bool webhook = data[0] & 1;
    alert_parse_result_t fast;
    memset(&fast, 0, sizeof fast);
    int fast_rc = webhook
                      ? 0
                      : alert_parse_prometheus_fast((const char *)data + 1, size - 1, FUZZ_TENANT,
                                                    FUZZ_NOW_MS, FUZZ_RESOLVE_TIMEOUT_MS,
                                                    FUZZ_MAX_BATCH, &fast);
    FUZZ_CHECK(fast_rc >= 0);
    if (fast_rc == 0)
        FUZZ_CHECK(fast.alert_count == 0 && fast.error_count == 0);
    json_t *body = fuzz_json_body(data + 1, size - 1);
    if (!body) {
        /* the fast path must not take what the general path refuses */
        FUZZ_CHECK(fast_rc == 0);
        return 0;
    }
    alert_parse_result_t result;
    memset(&result, 0, sizeof result);
    const char *reason = NULL;
    int rc;
    size_t element_count;
    if (webhook) {
        alertmanager_webhook_info_t info;
        memset(&info, 0, sizeof info);
        rc = alert_parse_alertmanager_webhook(body, FUZZ_TENANT, FUZZ_NOW_MS, FUZZ_MAX_BATCH,
                                              &result, &info, &reason);
        element_count = json_array_size(json_object_get(body, "alerts"));
        if (rc == 0)
            FUZZ_CHECK(info.fingerprint_mismatches <= element_count);
    } else {
        rc = alert_parse_prometheus(body, FUZZ_TENANT, FUZZ_NOW_MS, FUZZ_RESOLVE_TIMEOUT_MS,
                                    FUZZ_MAX_BATCH, &result, &reason);
        element_count = json_array_size(body);
    }
    if (rc == 0)
        fuzz_check_result(&result, element_count);
    else
        FUZZ_CHECK(reason != NULL);
    if (fast_rc == 1) {
        FUZZ_CHECK(rc == 0 && result.error_count == 0);
        fuzz_check_same_result(&fast, &result);
    }
    alert_parse_result_clear(&fast);
    alert_parse_result_clear(&result);
    json_decref(body);
    return 0;
}
