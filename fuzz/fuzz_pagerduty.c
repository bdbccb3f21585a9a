/*  fuzz_pagerduty — PagerDuty Events API v2 bodies (POST /v2/enqueue).

    A valid trigger or resolve must carry an alert that survives the alert_batch codec; an
    invalid event must say why.
*/
#include "alert_parse.h"
#include "fuzz.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    json_t *body = fuzz_json_body(data, size);
    if (!body)
        return 0;
    pagerduty_event_t event;
    memset(&event, 0, sizeof event);
    if (alert_parse_pagerduty(body, FUZZ_NOW_MS, &event) == 0) {
        FUZZ_CHECK(event.error_count == 0);
        FUZZ_CHECK(event.routing_key && event.routing_key_len > 0);
        FUZZ_CHECK(memchr(event.dedup_key, '\0', sizeof event.dedup_key));
        if (event.action != PAGERDUTY_ACKNOWLEDGE) {
            memcpy(event.alert.tenant_id, FUZZ_TENANT, sizeof event.alert.tenant_id);
            fuzz_check_alerts(&event.alert, 1);
        }
    } else {
        FUZZ_CHECK(event.error_count > 0 && event.error_count <= PAGERDUTY_ERRORS_MAX);
        for (size_t i = 0; i < event.error_count; i++)
            FUZZ_CHECK(event.errors[i] != NULL);
    }
    pagerduty_event_clear(&event);
    json_decref(body);
    return 0;
}
