/*  alert_parse_prometheus — the Alertmanager formats: the API v2 alert post (what Prometheus's
    `alerting.alertmanagers` sends to /api/v2/alerts) and the webhook notification, payload
    version 4 (what an Alertmanager webhook receiver sends).

    Both follow Alertmanager exactly where it decides identity: empty label values are
    dropped before anything else, so the label set, and with it the fingerprint (FNV-1a over
    the sorted labels, lk_fingerprint.h), is the one Alertmanager computes and reports.

    API v2 timing, as Alertmanager's postAlertsHandler: a missing startsAt is endsAt when
    given, else now; a missing endsAt is now + resolve timeout (so an alert its sender stops
    re-sending would end); endsAt not after now means resolved. Prometheus re-sends firing
    alerts with endsAt moved forward each time; correlate treats that as no change but moves
    the alert's end timer, and resolves the alert when its endsAt passes (engine.h).

    Webhook: each alert carries its own status; Alertmanager writes Go's zero time
    ("0001-01-01T00:00:00Z") as the endsAt of firing alerts, which means "none".

    Limits beyond Alertmanager's (the native intake's): at most 64 labels with values up to
    4096 bytes, 64 annotations up to 16384 bytes, generatorURL up to 4096 bytes.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_parse.h"
#include "intake_util.h"
#include "lk_fingerprint.h"

/* The fields both formats share: labels, annotations, generatorURL, name and severity. */
static void s_parse_common(intake_parser_t *parser, size_t index, const json_t *element,
                           const char *tenant_id, const char *source, lk_alert_t *alert)
{
    snprintf(alert->tenant_id, sizeof alert->tenant_id, "%s", tenant_id);
    intake_string_map(parser, index, element, "labels", true, true, INTAKE_LABELS_MAX,
                      INTAKE_LABEL_VALUE_MAX, &alert->labels);
    if (!parser->element_bad && alert->labels.count == 0 && json_is_object(element) &&
        json_is_object(json_object_get(element, "labels")))
        intake_error(parser, index, "labels", "at least one label pair required");
    intake_string_map(parser, index, element, "annotations", false, false, INTAKE_ANNOTATIONS_MAX,
                      INTAKE_ANNOTATION_VALUE_MAX, &alert->annotations);
    const char *url = NULL;
    if (intake_optional_string(parser, index, element, "generatorURL", INTAKE_URL_MAX, &url))
        intake_dup(parser, &alert->generator_url, url);
    /* Alertmanager does not require an alertname; the name is then empty. */
    const char *name = lk_labels_get(&alert->labels, "alertname");
    intake_dup(parser, &alert->name, name ? name : "");
    intake_dup(parser, &alert->source, source);
    alert->severity = intake_label_severity(&alert->labels);
}

/* ---- API v2 ---------------------------------------------------------------------------- */

static void s_parse_postable(intake_parser_t *parser, size_t index, const json_t *element,
                             const char *tenant_id, int64_t now_ms, int64_t resolve_timeout_ms,
                             lk_alert_t *alert)
{
    if (!json_is_object(element)) {
        intake_error(parser, index, "", "must be an object");
        return;
    }
    s_parse_common(parser, index, element, tenant_id, "prometheus", alert);
    int64_t starts_at = 0, ends_at = 0;
    bool times_ok = intake_optional_time(parser, index, element, "startsAt", &starts_at);
    times_ok = intake_optional_time(parser, index, element, "endsAt", &ends_at) && times_ok;
    if (!times_ok)
        return;
    if (!starts_at)
        starts_at = ends_at ? ends_at : now_ms;
    if (!ends_at)
        ends_at = now_ms + resolve_timeout_ms;
    if (ends_at < starts_at) {
        intake_error(parser, index, "endsAt", "start time must be before end time");
        return;
    }
    alert->starts_at_ms = starts_at;
    alert->ends_at_ms = ends_at;
    alert->status = ends_at > now_ms ? LK_ALERT_FIRING : LK_ALERT_RESOLVED;
}

int alert_parse_prometheus(const json_t *body, const char *tenant_id, int64_t now_ms,
                           int64_t resolve_timeout_ms, size_t max_batch,
                           alert_parse_result_t *result, const char **reason)
{
    memset(result, 0, sizeof *result);
    *reason = NULL;
    if (!json_is_array(body)) {
        *reason = "body must be an array of alerts";
        return -1;
    }
    size_t count = json_array_size(body);
    if (count > max_batch) {
        *reason = "too many alerts in one request";
        return -1;
    }
    intake_parser_t parser;
    if (intake_parser_begin(&parser, result, count) != 0) {
        *reason = "out of memory";
        return -1;
    }
    for (size_t index = 0; index < count && !parser.oom; index++) {
        lk_alert_t *alert = intake_element_begin(&parser);
        s_parse_postable(&parser, index, json_array_get(body, index), tenant_id, now_ms,
                         resolve_timeout_ms, alert);
        intake_element_end(&parser, index);
    }
    return intake_parser_end(&parser, reason);
}

/* ---- webhook --------------------------------------------------------------------------- */

/* Compares the sender's fingerprint with ours and notes a disagreement in info. A
   fingerprint of the wrong JSON type is an error of the element. */
static void s_check_fingerprint(intake_parser_t *parser, size_t index, const json_t *element,
                                const lk_alert_t *alert, alertmanager_webhook_info_t *info)
{
    const char *sent = NULL;
    if (!intake_optional_string(parser, index, element, "fingerprint", 64, &sent) || !sent ||
        parser->element_bad)
        return;
    char ours[LK_FINGERPRINT_STR_LEN + 1];
    lk_fingerprint_format(lk_fingerprint_labels(&alert->labels), ours);
    if (strcmp(sent, ours) == 0)
        return;
    if (info->fingerprint_mismatches++ == 0) {
        info->first_mismatch_index = index;
        snprintf(info->first_mismatch_sent, sizeof info->first_mismatch_sent, "%s", sent);
        memcpy(info->first_mismatch_ours, ours, sizeof ours);
    }
}

static void s_parse_webhook_alert(intake_parser_t *parser, size_t index, const json_t *element,
                                  const char *tenant_id, int64_t now_ms, lk_alert_t *alert,
                                  alertmanager_webhook_info_t *info)
{
    if (!json_is_object(element)) {
        intake_error(parser, index, "", "must be an object");
        return;
    }
    s_parse_common(parser, index, element, tenant_id, "alertmanager", alert);
    const char *status = NULL;
    if (intake_optional_string(parser, index, element, "status", 64, &status)) {
        if (!status)
            intake_error(parser, index, "status", "is required (firing or resolved)");
        else if (!lk_alert_status_parse(status, &alert->status))
            intake_error(parser, index, "status", "must be one of firing, resolved");
    }
    int64_t starts_at = 0, ends_at = 0;
    bool times_ok = intake_optional_time(parser, index, element, "startsAt", &starts_at);
    times_ok = intake_optional_time(parser, index, element, "endsAt", &ends_at) && times_ok;
    if (times_ok) {
        alert->starts_at_ms = starts_at ? starts_at : now_ms;
        if (alert->status == LK_ALERT_RESOLVED)
            alert->ends_at_ms = ends_at ? ends_at : now_ms;
        if (alert->ends_at_ms && alert->ends_at_ms < alert->starts_at_ms)
            intake_error(parser, index, "endsAt", "start time must be before end time");
    }
    s_check_fingerprint(parser, index, element, alert, info);
}

int alert_parse_alertmanager_webhook(const json_t *body, const char *tenant_id, int64_t now_ms,
                                     size_t max_batch, alert_parse_result_t *result,
                                     alertmanager_webhook_info_t *info, const char **reason)
{
    memset(result, 0, sizeof *result);
    memset(info, 0, sizeof *info);
    *reason = NULL;
    if (!json_is_object(body)) {
        *reason = "body must be an Alertmanager webhook notification (a JSON object)";
        return -1;
    }
    const json_t *version = json_object_get(body, "version");
    if (version && !json_is_null(version) &&
        !(json_is_string(version) && strcmp(json_string_value(version), "4") == 0)) {
        *reason = "version: only webhook payload version \"4\" is understood";
        return -1;
    }
    const json_t *alerts = json_object_get(body, "alerts");
    if (!json_is_array(alerts)) {
        *reason = "alerts: must be an array";
        return -1;
    }
    size_t count = json_array_size(alerts);
    if (count > max_batch) {
        *reason = "too many alerts in one request";
        return -1;
    }
    const json_t *truncated = json_object_get(body, "truncatedAlerts");
    if (json_is_integer(truncated))
        info->truncated_alerts = (int64_t)json_integer_value(truncated);

    intake_parser_t parser;
    if (intake_parser_begin(&parser, result, count) != 0) {
        *reason = "out of memory";
        return -1;
    }
    for (size_t index = 0; index < count && !parser.oom; index++) {
        lk_alert_t *alert = intake_element_begin(&parser);
        s_parse_webhook_alert(&parser, index, json_array_get(alerts, index), tenant_id, now_ms,
                              alert, info);
        intake_element_end(&parser, index);
    }
    return intake_parser_end(&parser, reason);
}
