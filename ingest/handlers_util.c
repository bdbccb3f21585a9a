/*  handlers_util — what several handlers share: request headers and asking the pipeline. */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

const char *http_request_header(const http_request_t *request, const char *name)
{
    return request->header ? request->header(request->connection, name) : NULL;
}

int handler_ask(const handler_context_t *context, pipeline_peer_t peer, lk_msg_t *request,
                lk_msg_type_t expected, bool ok_only, lk_msg_t *answer, http_reply_t *reply)
{
    char detail[256];
    if (pipeline_request(context->pipeline, peer, request, answer, detail, sizeof detail) != 0) {
        http_reply_error(reply, 503, "pipeline unavailable", json_string(detail));
        return -1;
    }
    if (answer->type != expected) {
        http_reply_errorf(reply, 500, "internal error", "%s answered with %s",
                          peer == PIPELINE_CORRELATE ? "correlate" : "store",
                          lk_msg_type_name(answer->type));
        lk_msg_clear(answer);
        return -1;
    }
    if (ok_only && answer->status != LK_STATUS_OK) {
        http_reply_status(reply, answer->status, answer->error);
        lk_msg_clear(answer);
        return -1;
    }
    return 0;
}

void handler_defer(const handler_context_t *context, const http_request_t *request,
                   pipeline_peer_t peer, lk_msg_t *message, handler_then_t then, void *state,
                   void (*state_free)(void *state))
{
    handler_pending_t *pending = request->pending;
    assert(pending && then && !pending->call && !pending->then);
    if (pending->state != state) {
        if (pending->state && pending->state_free)
            pending->state_free(pending->state);
        pending->state = state;
        pending->state_free = state_free;
    }
    pending->then = then;
    pending->detail[0] = '\0';
    pending->call = pipeline_call_new(context->pipeline, peer, message, pending->detail,
                                      sizeof pending->detail);
}

void handler_defer_alerts(const handler_context_t *context, const http_request_t *request,
                          const char *tenant_id, lk_alert_t *alerts, size_t count,
                          handler_then_t then, void *state, void (*state_free)(void *state))
{
    lk_msg_t message;
    lk_msg_init(&message, LK_MSG_ALERT_BATCH);
    snprintf(message.tenant_id, sizeof message.tenant_id, "%s", tenant_id);
    message.alerts = alerts;
    message.alert_count = count;
    handler_defer(context, request, PIPELINE_CORRELATE, &message, then, state, state_free);
    /* handed back before the message is cleared */
    message.alerts = NULL;
    message.alert_count = 0;
    lk_msg_clear(&message);
}

int handler_bad_parameter(http_reply_t *reply, const char *name, const char *message)
{
    /* A name decoded from %-escapes need not be UTF-8, which JSON cannot carry. */
    json_t *parameter = json_string(name);
    if (!parameter)
        parameter = json_string("(not UTF-8)");
    http_reply_error(reply, 400, "invalid query parameter",
                     json_pack("{s:o, s:s}", "parameter", parameter, "message", message));
    return -1;
}

int handler_parse_limit(const char *value, uint32_t max, uint32_t *limit, http_reply_t *reply)
{
    size_t length = strlen(value);
    bool digits = length > 0 && length <= 5;
    for (size_t i = 0; digits && i < length; i++)
        digits = isdigit((unsigned char)value[i]);
    long number = digits ? strtol(value, NULL, 10) : 0;
    if (number < 1 || number > (long)max) {
        char message[64];
        snprintf(message, sizeof message, "expected an integer from 1 to %u", max);
        return handler_bad_parameter(reply, "limit", message);
    }
    *limit = (uint32_t)number;
    return 0;
}

void handler_alerts_answer(http_reply_t *reply, int ok_status, const alert_parse_result_t *parsed,
                           const lk_alert_result_t *results, size_t element_count)
{
    json_t *alerts = alert_parse_results_json(parsed, results);
    json_t *errors = alert_parse_errors_json(parsed);
    json_int_t accepted = (json_int_t)parsed->alert_count;
    json_int_t rejected = (json_int_t)(element_count - parsed->alert_count);
    if (parsed->error_count == 0)
        http_reply_json(reply, ok_status,
                        json_pack("{s:I, s:I, s:o, s:o}", "accepted", accepted, "rejected",
                                  rejected, "alerts", alerts, "errors", errors));
    else
        http_reply_json(reply, 400,
                        json_pack("{s:s, s:O, s:I, s:I, s:o, s:o}", "error",
                                  "some alerts are invalid", "detail", errors, "accepted", accepted,
                                  "rejected", rejected, "alerts", alerts, "errors", errors));
}
