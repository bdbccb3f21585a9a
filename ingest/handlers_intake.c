/*  handlers_intake — the ecosystem endpoints: what Prometheus, Alertmanager and PagerDuty
    senders already speak, answered the way the real services answer.

      POST /api/v2/alerts          Alertmanager API v2 (Prometheus `alerting.alertmanagers`):
                                   200 with an empty body; 400 with Alertmanager's error (a
                                   JSON string) after the valid alerts were committed.
      POST /webhooks/alertmanager  Alertmanager webhook notifications (payload version 4):
                                   200 with the native per-alert results.
      POST /v2/enqueue             PagerDuty Events API v2: 202 {"status":"success",...}, 400
                                   {"status":"invalid event",...}.

    Authentication: the first two take the usual tenant credentials (Prometheus can send a
    tenant JWT as `authorization: credentials`) or an integration key from the YAML file's
    `integrations:` as the Bearer token; /v2/enqueue takes the integration key as PagerDuty
    does, in the body's routing_key. Keys are compared in constant time and never logged.

    As for POST /alerts, every 2xx means the store committed what the request changed; a
    re-send that changes nothing is answered from correlate's memory.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alert_parse.h"
#include "alert_parse_fast.h"
#include "handlers.h"
#include "ingest_metrics.h"
#include "intake_guard.h"
#include "intake_keys.h"
#include "intake_util.h"
#include "lk_fingerprint.h"
#include "lk_log.h"
#include "lk_time.h"

/* Most alerts sent to correlate in one alert_batch. */
#define INTAKE_CHUNK 1000
/* Alertmanager's default global.resolve_timeout, when the configuration leaves it at 0. */
#define INTAKE_RESOLVE_TIMEOUT_MS (300 * 1000)

/* ---- shared ---------------------------------------------------------------------------- */

/* Sends alerts[0..count) of tenant_id as one alert_batch and copies the per-alert results.
   Returns 0, or -1 with *status (HTTP) and detail set. */
static int s_send_chunk(const handler_context_t *context, const char *tenant_id,
                        const lk_alert_t *alerts, size_t count, lk_alert_result_t *results,
                        int *status, char *detail, size_t detail_size)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_ALERT_BATCH);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant_id);
    /* the request borrows the alerts for encoding instead of deep-copying each one; they
       are handed back before the message is cleared */
    request.alerts = (lk_alert_t *)alerts;
    request.alert_count = count;
    lk_msg_t answer;
    int rc = pipeline_request(context->pipeline, PIPELINE_CORRELATE, &request, &answer, detail,
                              detail_size);
    request.alerts = NULL;
    request.alert_count = 0;
    lk_msg_clear(&request);
    if (rc != 0) {
        *status = 503;
        return -1;
    }
    rc = -1;
    *status = 500;
    if (answer.type != LK_MSG_ALERT_REPLY)
        snprintf(detail, detail_size, "correlate answered with %s", lk_msg_type_name(answer.type));
    else if (answer.status != LK_STATUS_OK) {
        *status = answer.status == LK_STATUS_UNAVAILABLE ? 503
                  : answer.status == LK_STATUS_INVALID   ? 400
                                                         : 500;
        snprintf(detail, detail_size, "%s", answer.error ? answer.error : "correlate refused");
    } else if (answer.result_count != count)
        snprintf(detail, detail_size, "correlate answered %zu results for %zu alerts",
                 answer.result_count, count);
    else {
        memcpy(results, answer.results, count * sizeof *results);
        rc = 0;
    }
    lk_msg_clear(&answer);
    return rc;
}

/* Sends every parsed alert, in chunks, and fills *results_p (caller frees; NULL when there
   is nothing). Returns 0, or -1 with *status and detail set. */
static int s_commit(const handler_context_t *context, const char *tenant_id,
                    const alert_parse_result_t *parsed, lk_alert_result_t **results_p, int *status,
                    char *detail, size_t detail_size)
{
    *results_p = NULL;
    if (parsed->alert_count == 0)
        return 0; /* nothing valid: correlate is not asked */
    lk_alert_result_t *results = calloc(parsed->alert_count, sizeof *results);
    if (!results) {
        *status = 500;
        snprintf(detail, detail_size, "out of memory");
        return -1;
    }
    for (size_t start = 0; start < parsed->alert_count; start += INTAKE_CHUNK) {
        size_t count = parsed->alert_count - start;
        if (count > INTAKE_CHUNK)
            count = INTAKE_CHUNK;
        if (s_send_chunk(context, tenant_id, parsed->alerts + start, count, results + start, status,
                         detail, detail_size) != 0) {
            free(results);
            return -1;
        }
    }
    *results_p = results;
    return 0;
}

/* Parses a JSON body (any top-level value, bounded depth). Returns the document, or NULL
   with a one-line reason in reason[]. */
static json_t *s_parse_json(const http_request_t *request, char *reason, size_t reason_size)
{
    if (!http_json_depth_ok(request->body, request->body_size, HTTP_JSON_MAX_DEPTH)) {
        snprintf(reason, reason_size, "nested deeper than %d levels", HTTP_JSON_MAX_DEPTH);
        return NULL;
    }
    json_error_t error;
    json_t *doc = json_loadb(request->body, request->body_size, JSON_DECODE_ANY, &error);
    if (!doc)
        snprintf(reason, reason_size, "line %d, column %d: %s", error.line, error.column,
                 error.text);
    return doc;
}

/* Who sends to /api/v2/alerts and /webhooks/alertmanager: an integration key as the Bearer
   token, else the tenant credentials every endpoint takes. Returns true with *caller set,
   or false with reply filled (401/400/403). */
static bool s_authenticate(const handler_context_t *context, const http_request_t *request,
                           auth_identity_t *caller, http_reply_t *reply)
{
    memset(caller, 0, sizeof *caller);
    const char *authorization = http_request_header(request, "Authorization");
    /* a per-tenant ingest token (Bearer lk_…) with the alerts:write scope */
    int by_token =
        intake_guard_token(context, authorization, http_request_header(request, "X-Tenant-ID"),
                           INGEST_SCOPE_ALERTS_WRITE, caller, reply);
    if (by_token != 0)
        return by_token > 0;
    if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0) {
        const char *token = authorization + 7;
        while (*token == ' ')
            token++;
        size_t length = strlen(token);
        while (length > 0 && token[length - 1] == ' ')
            length--;
        intake_key_match_t integration;
        if (intake_keys_find(context->integrations, token, length, &integration)) {
            /* as with a JWT: a tenant header, if sent, must name the key's tenant */
            const char *header = http_request_header(request, "X-Tenant-ID");
            if (header && strcasecmp(header, integration.tenant_id) != 0) {
                http_reply_error(reply, 403, "X-Tenant-ID is not the integration key's tenant",
                                 NULL);
                return false;
            }
            memcpy(caller->tenant_id, integration.tenant_id, sizeof caller->tenant_id);
            snprintf(caller->actor, sizeof caller->actor, "integration:%s", integration.name);
            return true;
        }
    }
    const ingest_config_t *config = context->config;
    auth_config_t auth = {.service_token = config->service_token,
                          .jwt_secret = config->jwt_secret,
                          .dev_mode = config->dev_mode};
    const char *reason = NULL;
    auth_result_t result =
        auth_check(&auth, authorization, http_request_header(request, "X-Tenant-ID"),
                   (int64_t)time(NULL), caller, &reason);
    if (result == AUTH_OK)
        return true;
    http_reply_error(reply, auth_http_status(result), reason ? reason : "not authorized", NULL);
    return false;
}

/* ---- POST /api/v2/alerts --------------------------------------------------------------- */

/* Alertmanager's error shapes: go-swagger's {"code", "message"} for a body it cannot
   read, and a bare JSON string for alerts that fail validation. */
static void s_alertmanager_error(http_reply_t *reply, int status, const char *message)
{
    http_reply_json(reply, status,
                    json_pack("{s:i, s:s}", "code", status, "message", message ? message : ""));
}

/* "alerts[2].labels.x-y: name must match ...; alerts[5]: must be an object" */
static json_t *s_alertmanager_validation(const alert_parse_result_t *parsed)
{
    size_t capacity = 256, used = 0;
    char *text = malloc(capacity);
    if (!text)
        return NULL;
    text[0] = '\0';
    for (size_t i = 0; i < parsed->error_count; i++) {
        const alert_error_t *error = &parsed->errors[i];
        char line[512];
        int length =
            snprintf(line, sizeof line, "%salerts[%zu]%s%s: %s", i ? "; " : "", error->index,
                     error->field[0] ? "." : "", error->field, error->message);
        if (length < 0)
            continue;
        size_t size = (size_t)length < sizeof line ? (size_t)length : sizeof line - 1;
        if (used + size + 1 > capacity) {
            while (used + size + 1 > capacity)
                capacity *= 2;
            char *grown = realloc(text, capacity);
            if (!grown) {
                free(text);
                return NULL;
            }
            text = grown;
        }
        memcpy(text + used, line, size + 1);
        used += size;
    }
    json_t *string = json_string(text);
    free(text);
    return string;
}

/* The general path of /api/v2/alerts: a jansson document, then alert_parse_prometheus.
   Returns true with *parsed filled, or false with reply filled (400, 413). */
static bool s_parse_prometheus_general(const ingest_config_t *config, const http_request_t *request,
                                       const char *tenant_id, int64_t now_ms,
                                       int64_t resolve_timeout_ms, alert_parse_result_t *parsed,
                                       size_t *element_count, http_reply_t *reply)
{
    char reason[256];
    json_t *doc = s_parse_json(request, reason, sizeof reason);
    if (!doc) {
        char message[320];
        snprintf(message, sizeof message, "parsing alerts body from \"\" failed, because %s",
                 reason);
        s_alertmanager_error(reply, 400, message);
        return false;
    }
    if (json_is_array(doc) && json_array_size(doc) > config->max_batch) {
        ingest_alert_counts_t counts = {.received = json_array_size(doc),
                                        .too_large = json_array_size(doc)};
        ingest_metrics_alerts(INGEST_FORMAT_PROMETHEUS, tenant_id, &counts);
        json_decref(doc);
        snprintf(reason, sizeof reason, "at most %zu alerts per request", config->max_batch);
        s_alertmanager_error(reply, 413, reason);
        return false;
    }
    const char *whole = NULL;
    int rc = alert_parse_prometheus(doc, tenant_id, now_ms, resolve_timeout_ms, config->max_batch,
                                    parsed, &whole);
    *element_count = rc == 0 ? json_array_size(doc) : 0;
    json_decref(doc);
    if (rc != 0) {
        char message[320];
        snprintf(message, sizeof message, "parsing alerts body from \"\" failed, because %s",
                 whole);
        s_alertmanager_error(reply, 400, message);
        return false;
    }
    return true;
}

void handle_prometheus_alerts(const handler_context_t *context, const auth_identity_t *unused,
                              const http_request_t *request, http_reply_t *reply)
{
    (void)unused;
    auth_identity_t caller;
    if (!s_authenticate(context, request, &caller, reply))
        return;
    const ingest_config_t *config = context->config;
    int64_t resolve_timeout_ms =
        config->resolve_timeout_ms > 0 ? config->resolve_timeout_ms : INTAKE_RESOLVE_TIMEOUT_MS;
    int64_t now_ms = lk_now_ms();
    alert_parse_result_t parsed;
    /* what Prometheus sends is read straight from the bytes; anything else, and every
       error, goes the general way (alert_parse_fast.h) */
    int fast = alert_parse_prometheus_fast(request->body, request->body_size, caller.tenant_id,
                                           now_ms, resolve_timeout_ms, config->max_batch, &parsed);
    if (fast < 0) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return;
    }
    size_t element_count = parsed.alert_count; /* the fast path keeps every element */
    if (fast == 0 &&
        !s_parse_prometheus_general(config, request, caller.tenant_id, now_ms, resolve_timeout_ms,
                                    &parsed, &element_count, reply))
        return;
    if (!intake_guard_rate(context, caller.tenant_id, parsed.alert_count, reply)) {
        alert_parse_result_clear(&parsed);
        return;
    }
    lk_alert_result_t *results = NULL;
    int status = 0;
    char detail[256];
    ingest_alert_counts_t counts = {.received = element_count,
                                    .invalid = element_count - parsed.alert_count};
    int committed =
        s_commit(context, caller.tenant_id, &parsed, &results, &status, detail, sizeof detail);
    *(committed == 0 ? &counts.accepted : &counts.failed) = parsed.alert_count;
    ingest_metrics_alerts(INGEST_FORMAT_PROMETHEUS, caller.tenant_id, &counts);
    if (committed != 0) {
        /* 503 with Retry-After: Prometheus logs it and sends again at its next resend */
        http_reply_error(reply, status, status == 503 ? "pipeline unavailable" : "internal error",
                         json_string(detail));
        alert_parse_result_clear(&parsed);
        return;
    }
    if (parsed.error_count) {
        lk_debug("ingest: /api/v2/alerts for tenant %s: %zu alerts kept, %zu problems found",
                 caller.tenant_id, parsed.alert_count, parsed.error_count);
        /* a bare JSON string, which the JSON reply path does not render */
        json_t *message = s_alertmanager_validation(&parsed);
        char *text = message ? json_dumps(message, JSON_ENCODE_ANY) : NULL;
        json_decref(message);
        if (text)
            http_reply_text(reply, 400, "application/json", text, strlen(text));
        else
            http_reply_error(reply, 500, "internal error", json_string("out of memory"));
    } else {
        /* Alertmanager answers 200 with no body at all */
        char *empty = malloc(1);
        if (empty)
            http_reply_text(reply, 200, "application/json", empty, 0);
        else
            http_reply_error(reply, 500, "internal error", json_string("out of memory"));
    }
    free(results);
    alert_parse_result_clear(&parsed);
}

/* ---- POST /webhooks/alertmanager ------------------------------------------------------- */

void handle_alertmanager_webhook(const handler_context_t *context, const auth_identity_t *unused,
                                 const http_request_t *request, http_reply_t *reply)
{
    (void)unused;
    auth_identity_t caller;
    if (!s_authenticate(context, request, &caller, reply))
        return;
    const ingest_config_t *config = context->config;
    char reason[256];
    json_t *doc = s_parse_json(request, reason, sizeof reason);
    if (!doc) {
        http_reply_error(reply, 400, "invalid JSON", json_string(reason));
        return;
    }
    const json_t *alerts = json_is_object(doc) ? json_object_get(doc, "alerts") : NULL;
    if (json_is_array(alerts) && json_array_size(alerts) > config->max_batch) {
        ingest_alert_counts_t counts = {.received = json_array_size(alerts),
                                        .too_large = json_array_size(alerts)};
        ingest_metrics_alerts(INGEST_FORMAT_ALERTMANAGER, caller.tenant_id, &counts);
        json_decref(doc);
        http_reply_errorf(reply, 413, "too many alerts", "at most %zu alerts per request",
                          config->max_batch);
        return;
    }
    alert_parse_result_t parsed;
    alertmanager_webhook_info_t info;
    const char *whole = NULL;
    int rc = alert_parse_alertmanager_webhook(doc, caller.tenant_id, lk_now_ms(), config->max_batch,
                                              &parsed, &info, &whole);
    size_t element_count = rc == 0 ? json_array_size(alerts) : 0;
    json_decref(doc);
    if (rc != 0) {
        http_reply_error(reply, 400, "invalid webhook payload", json_string(whole));
        return;
    }
    if (info.fingerprint_mismatches)
        lk_warn("ingest: alertmanager webhook for tenant %s: %zu alerts with a fingerprint that "
                "is not the one of their labels (first: alerts[%zu] sent %s, computed %s); "
                "the computed one is used",
                caller.tenant_id, info.fingerprint_mismatches, info.first_mismatch_index,
                info.first_mismatch_sent, info.first_mismatch_ours);
    if (info.truncated_alerts > 0)
        lk_warn("ingest: alertmanager webhook for tenant %s: Alertmanager left out %lld alerts "
                "(its max_alerts); they arrive with a later notification or not at all",
                caller.tenant_id, (long long)info.truncated_alerts);
    if (!intake_guard_rate(context, caller.tenant_id, parsed.alert_count, reply)) {
        alert_parse_result_clear(&parsed);
        return;
    }

    lk_alert_result_t *results = NULL;
    int status = 0;
    char detail[256];
    ingest_alert_counts_t counts = {.received = element_count,
                                    .invalid = element_count - parsed.alert_count};
    int committed =
        s_commit(context, caller.tenant_id, &parsed, &results, &status, detail, sizeof detail);
    *(committed == 0 ? &counts.accepted : &counts.failed) = parsed.alert_count;
    ingest_metrics_alerts(INGEST_FORMAT_ALERTMANAGER, caller.tenant_id, &counts);
    if (committed != 0) {
        http_reply_error(reply, status, status == 503 ? "pipeline unavailable" : "internal error",
                         json_string(detail));
        alert_parse_result_clear(&parsed);
        return;
    }
    json_t *list = alert_parse_results_json(&parsed, results);
    json_t *errors = alert_parse_errors_json(&parsed);
    json_int_t accepted = (json_int_t)parsed.alert_count;
    json_int_t rejected = (json_int_t)(element_count - parsed.alert_count);
    if (parsed.error_count == 0)
        http_reply_json(reply, 200,
                        json_pack("{s:I, s:I, s:o, s:o}", "accepted", accepted, "rejected",
                                  rejected, "alerts", list, "errors", errors));
    else
        http_reply_json(reply, 400,
                        json_pack("{s:s, s:O, s:I, s:I, s:o, s:o}", "error",
                                  "some alerts are invalid", "detail", errors, "accepted", accepted,
                                  "rejected", rejected, "alerts", list, "errors", errors));
    free(results);
    alert_parse_result_clear(&parsed);
}

/* ---- POST /v2/enqueue ------------------------------------------------------------------ */

/* PagerDuty's 400: {"status": "invalid event", "message": "Event object is invalid",
   "errors": [...]}. */
static void s_pagerduty_invalid(http_reply_t *reply, const char *const *errors, size_t count)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < count; i++)
        json_array_append_new(list, json_string(errors[i]));
    http_reply_json(reply, 400,
                    json_pack("{s:s, s:s, s:o}", "status", "invalid event", "message",
                              "Event object is invalid", "errors", list ? list : json_array()));
}

/* Acknowledges the incident of the event's alert. Not found or not acknowledgeable (no
   such open alert) is accepted and dropped, as PagerDuty drops it. Returns 0, or -1 with
   *status and detail set. */
static int s_pagerduty_acknowledge(const handler_context_t *context, const char *tenant_id,
                                   const char *actor, pagerduty_event_t *event, int *status,
                                   char *detail, size_t detail_size)
{
    lk_fingerprint_alert(&event->alert);
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_COMMAND);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant_id);
    request.action = LK_ACTION_ACKNOWLEDGE;
    memcpy(request.fingerprint, event->alert.fingerprint, sizeof request.fingerprint);
    request.actor = strdup(actor);
    if (!request.actor) {
        lk_msg_clear(&request);
        *status = 500;
        snprintf(detail, detail_size, "out of memory");
        return -1;
    }
    lk_msg_t answer;
    int rc = pipeline_request(context->pipeline, PIPELINE_CORRELATE, &request, &answer, detail,
                              detail_size);
    lk_msg_clear(&request);
    if (rc != 0) {
        *status = 503;
        return -1;
    }
    rc = 0;
    if (answer.type != LK_MSG_COMMAND_REPLY) {
        *status = 500;
        snprintf(detail, detail_size, "correlate answered with %s", lk_msg_type_name(answer.type));
        rc = -1;
    } else if (answer.status == LK_STATUS_UNAVAILABLE || answer.status == LK_STATUS_ERROR ||
               answer.status == LK_STATUS_INVALID) {
        *status = answer.status == LK_STATUS_UNAVAILABLE ? 503 : 500;
        snprintf(detail, detail_size, "%s", answer.error ? answer.error : "correlate refused");
        rc = -1;
    }
    lk_msg_clear(&answer);
    return rc;
}

void handle_pagerduty_enqueue(const handler_context_t *context, const auth_identity_t *unused,
                              const http_request_t *request, http_reply_t *reply)
{
    (void)unused;
    char reason[256];
    json_t *doc = s_parse_json(request, reason, sizeof reason);
    if (!doc) {
        char message[300];
        snprintf(message, sizeof message, "Malformed JSON: %s", reason);
        const char *errors[] = {message};
        s_pagerduty_invalid(reply, errors, 1);
        return;
    }
    pagerduty_event_t event;
    int64_t now_ms = lk_now_ms();
    if (alert_parse_pagerduty(doc, now_ms, &event) != 0) {
        ingest_alert_counts_t invalid = {.received = 1, .invalid = 1};
        ingest_metrics_alerts(INGEST_FORMAT_PAGERDUTY, NULL, &invalid);
        s_pagerduty_invalid(reply, (const char *const *)event.errors, event.error_count);
        pagerduty_event_clear(&event);
        json_decref(doc);
        return;
    }
    intake_key_match_t found;
    const intake_key_match_t *integration =
        intake_keys_find(context->integrations, event.routing_key, event.routing_key_len, &found)
            ? &found
            : NULL;
    json_decref(doc); /* event.routing_key pointed into it: not used past here */
    event.routing_key = NULL;
    if (!integration) {
        const char *errors[] = {"Invalid routing key"};
        s_pagerduty_invalid(reply, errors, 1);
        pagerduty_event_clear(&event);
        return;
    }
    char actor[LK_INTEGRATION_NAME_MAX + 16];
    snprintf(actor, sizeof actor, "pagerduty:%s", integration->name);
    if (!intake_guard_rate(context, integration->tenant_id, 1, reply)) {
        pagerduty_event_clear(&event);
        return;
    }

    int status = 0;
    char detail[256];
    int rc;
    if (event.action == PAGERDUTY_ACKNOWLEDGE)
        rc = s_pagerduty_acknowledge(context, integration->tenant_id, actor, &event, &status,
                                     detail, sizeof detail);
    else {
        /* trigger and resolve travel as the alert's new state; an unknown key's resolve
           comes back "ignored" */
        snprintf(event.alert.tenant_id, sizeof event.alert.tenant_id, "%s", integration->tenant_id);
        lk_alert_result_t result;
        rc = s_send_chunk(context, integration->tenant_id, &event.alert, 1, &result, &status,
                          detail, sizeof detail);
    }
    ingest_alert_counts_t counts = {.received = 1, .accepted = rc == 0, .failed = rc != 0};
    ingest_metrics_alerts(INGEST_FORMAT_PAGERDUTY, integration->tenant_id, &counts);
    if (rc != 0)
        http_reply_error(reply, status, status == 503 ? "pipeline unavailable" : "internal error",
                         json_string(detail));
    else
        http_reply_json(reply, 202,
                        json_pack("{s:s, s:s, s:s}", "status", "success", "message",
                                  "Event processed", "dedup_key", event.dedup_key));
    pagerduty_event_clear(&event);
}
