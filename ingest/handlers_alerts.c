/*  handlers_alerts — POST /alerts: validate, hand the valid alerts to correlate, report.

    The valid alerts of a request travel to correlate as one alert_batch (split into chunks
    of HANDLER_ALERT_CHUNK when a deployment allows bigger requests), and the request is
    answered only after correlate confirms that the store committed what they changed. Bad
    elements do not hold the good ones back: they are listed in the reply, which is then a
    400 instead of a 202.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_parse.h"
#include "handlers.h"
#include "intake_guard.h"
#include "ingest_metrics.h"
#include "lk_log.h"
#include "lk_time.h"

/* Most alerts sent to correlate in one alert_batch. */
#define HANDLER_ALERT_CHUNK 1000

/* Sends alerts[0..count) as one alert_batch and copies the per-alert results into
   results[0..count). Returns 0, or -1 with reply filled (503 on timeout, the mapped status
   when correlate refused, 500 on a reply that does not fit the request). */
static int s_send_chunk(const handler_context_t *context, const char *tenant_id,
                        const lk_alert_t *alerts, size_t count, lk_alert_result_t *results,
                        http_reply_t *reply)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_ALERT_BATCH);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant_id);
    for (size_t i = 0; i < count; i++) {
        if (lk_msg_add_alert(&request, &alerts[i]) != 0) {
            lk_msg_clear(&request);
            http_reply_error(reply, 500, "internal error", json_string("out of memory"));
            return -1;
        }
    }
    lk_msg_t answer;
    char detail[256];
    int rc = pipeline_request(context->pipeline, PIPELINE_CORRELATE, &request, &answer, detail,
                              sizeof detail);
    lk_msg_clear(&request);
    if (rc != 0) {
        http_reply_error(reply, 503, "pipeline unavailable", json_string(detail));
        return -1;
    }
    rc = -1;
    if (answer.type != LK_MSG_ALERT_REPLY)
        http_reply_errorf(reply, 500, "internal error", "correlate answered with %s",
                          lk_msg_type_name(answer.type));
    else if (answer.status != LK_STATUS_OK)
        http_reply_status(reply, answer.status, answer.error);
    else if (answer.result_count != count)
        http_reply_errorf(reply, 500, "internal error",
                          "correlate answered %zu results for %zu alerts", answer.result_count,
                          count);
    else {
        memcpy(results, answer.results, count * sizeof *results);
        rc = 0;
    }
    lk_msg_clear(&answer);
    return rc;
}

void handle_post_alerts(const handler_context_t *context, const auth_identity_t *caller,
                        const http_request_t *request, http_reply_t *reply)
{
    const ingest_config_t *config = context->config;
    json_t *doc = http_json_parse(request->body, request->body_size, reply);
    if (!doc)
        return;
    /* Counted here because alert_parse_native reports an oversized batch like any other
       unusable body, and the API answers it with its own status. */
    if (json_is_array(doc) && json_array_size(doc) > config->max_batch) {
        http_reply_errorf(reply, 413, "too many alerts", "at most %zu alerts per request",
                          config->max_batch);
        ingest_alert_counts_t counts = {.received = json_array_size(doc),
                                        .too_large = json_array_size(doc)};
        ingest_metrics_alerts(INGEST_FORMAT_NATIVE, caller->tenant_id, &counts);
        json_decref(doc);
        return;
    }
    size_t element_count = json_is_array(doc) ? json_array_size(doc) : 1;

    alert_parse_result_t parsed;
    memset(&parsed, 0, sizeof parsed);
    const char *reason = NULL;
    int rc = alert_parse_native(doc, caller->tenant_id, lk_now_ms(), config->max_batch, &parsed,
                                &reason);
    json_decref(doc);
    if (rc != 0) {
        http_reply_error(reply, 400, "invalid JSON",
                         json_string(reason ? reason : "not an alert or an array of alerts"));
        return;
    }
    /* the tenant's intake rate, charged per valid alert (intake_guard.h) */
    if (!intake_guard_rate(context, caller->tenant_id, parsed.alert_count, reply)) {
        alert_parse_result_clear(&parsed);
        return;
    }

    lk_alert_result_t *results = NULL;
    if (parsed.alert_count > 0) {
        results = calloc(parsed.alert_count, sizeof *results);
        if (!results) {
            http_reply_error(reply, 500, "internal error", json_string("out of memory"));
            alert_parse_result_clear(&parsed);
            return;
        }
    }
    ingest_alert_counts_t counts = {.received = element_count,
                                    .invalid = element_count - parsed.alert_count,
                                    .accepted = parsed.alert_count};
    /* Nothing valid: correlate has nothing to do, so it is not asked. */
    for (size_t start = 0; start < parsed.alert_count; start += HANDLER_ALERT_CHUNK) {
        size_t count = parsed.alert_count - start;
        if (count > HANDLER_ALERT_CHUNK)
            count = HANDLER_ALERT_CHUNK;
        if (s_send_chunk(context, caller->tenant_id, parsed.alerts + start, count, results + start,
                         reply) != 0) {
            counts.failed = counts.accepted;
            counts.accepted = 0;
            ingest_metrics_alerts(INGEST_FORMAT_NATIVE, caller->tenant_id, &counts);
            free(results);
            alert_parse_result_clear(&parsed);
            return;
        }
    }

    ingest_metrics_alerts(INGEST_FORMAT_NATIVE, caller->tenant_id, &counts);
    json_t *alerts = alert_parse_results_json(&parsed, results);
    json_t *errors = alert_parse_errors_json(&parsed);
    json_int_t accepted = (json_int_t)parsed.alert_count;
    json_int_t rejected = (json_int_t)(element_count - parsed.alert_count);
    if (parsed.error_count == 0)
        http_reply_json(reply, 202,
                        json_pack("{s:I, s:I, s:o, s:o}", "accepted", accepted, "rejected",
                                  rejected, "alerts", alerts, "errors", errors));
    else
        /* The errors appear twice on purpose: "detail" keeps the shape every error reply
           has, "errors" keeps the shape of a 202 for clients that read the counts. */
        http_reply_json(reply, 400,
                        json_pack("{s:s, s:O, s:I, s:I, s:o, s:o}", "error",
                                  "some alerts are invalid", "detail", errors, "accepted", accepted,
                                  "rejected", rejected, "alerts", alerts, "errors", errors));
    free(results);
    alert_parse_result_clear(&parsed);
}
