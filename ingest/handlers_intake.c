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
    re-send that changes nothing is answered from correlate's memory. The handlers do not
    wait for correlate on their thread: they defer (handler_defer) and finish the answer in
    a continuation (s_on_chunk, s_on_acknowledge, then the endpoint's s_*_finish).
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

typedef struct s_intake_t s_intake_t;

/* What an endpoint answers once its alerts are committed (rc 0), or could not be (rc -1,
   with the HTTP status and a one-line detail). */
typedef void (*s_finish_fn)(s_intake_t *intake, int rc, int status, const char *detail,
                            http_reply_t *reply);

/* A request on its way through correlate (handler_defer): its alerts, sent chunk by chunk,
   and what its answer needs. */
struct s_intake_t {
    char tenant_id[LK_UUID_STR_LEN + 1];
    const lk_alert_t *alerts; /* parsed.alerts, or &event.alert */
    size_t alert_count;
    lk_alert_result_t *results;
    size_t start, count; /* the chunk in flight */
    s_finish_fn finish;
    alert_parse_result_t parsed;
    size_t element_count;
    ingest_alert_counts_t counts;
    pagerduty_event_t event; /* /v2/enqueue */
    bool has_event;
};

static s_intake_t *s_intake_new(void)
{
    return calloc(1, sizeof(s_intake_t));
}

static void s_intake_free(void *state)
{
    s_intake_t *intake = state;
    free(intake->results);
    alert_parse_result_clear(&intake->parsed);
    if (intake->has_event)
        pagerduty_event_clear(&intake->event);
    free(intake);
}

static void s_on_chunk(const handler_context_t *context, const http_request_t *request, void *state,
                       lk_msg_t *answer, const char *detail, http_reply_t *reply);

/* Sends the chunk of intake's alerts from intake->start as one alert_batch; s_on_chunk goes
   on when correlate answered. */
static void s_send_chunk(const handler_context_t *context, const http_request_t *request,
                         s_intake_t *intake)
{
    intake->count = intake->alert_count - intake->start;
    if (intake->count > INTAKE_CHUNK)
        intake->count = INTAKE_CHUNK;
    handler_defer_alerts(context, request, intake->tenant_id,
                         (lk_alert_t *)intake->alerts + intake->start, intake->count, s_on_chunk,
                         intake, s_intake_free);
}

/* correlate's answer to a chunk: copies the per-alert results and sends the next chunk, or
   finishes. */
static void s_on_chunk(const handler_context_t *context, const http_request_t *request, void *state,
                       lk_msg_t *answer, const char *detail, http_reply_t *reply)
{
    s_intake_t *intake = state;
    char problem[256];
    int status = 500;
    if (!answer) {
        status = 503;
        snprintf(problem, sizeof problem, "%s", detail);
    } else if (answer->type != LK_MSG_ALERT_REPLY)
        snprintf(problem, sizeof problem, "correlate answered with %s",
                 lk_msg_type_name(answer->type));
    else if (answer->status != LK_STATUS_OK) {
        status = answer->status == LK_STATUS_UNAVAILABLE ? 503
                 : answer->status == LK_STATUS_INVALID   ? 400
                                                         : 500;
        snprintf(problem, sizeof problem, "%s",
                 answer->error ? answer->error : "correlate refused");
    } else if (answer->result_count != intake->count)
        snprintf(problem, sizeof problem, "correlate answered %zu results for %zu alerts",
                 answer->result_count, intake->count);
    else {
        memcpy(intake->results + intake->start, answer->results,
               intake->count * sizeof *intake->results);
        intake->start += intake->count;
        if (intake->start < intake->alert_count)
            s_send_chunk(context, request, intake);
        else
            intake->finish(intake, 0, 0, "", reply);
        return;
    }
    intake->finish(intake, -1, status, problem, reply);
}

/* Commits intake's alerts through correlate, chunk by chunk, then calls intake->finish;
   takes intake over. With nothing valid correlate is not asked. */
static void s_commit(const handler_context_t *context, const http_request_t *request,
                     s_intake_t *intake, http_reply_t *reply)
{
    if (intake->alert_count > 0)
        intake->results = calloc(intake->alert_count, sizeof *intake->results);
    if (intake->alert_count == 0 || !intake->results) {
        if (intake->alert_count == 0)
            intake->finish(intake, 0, 0, "", reply);
        else
            intake->finish(intake, -1, 500, "out of memory", reply);
        s_intake_free(intake);
        return;
    }
    s_send_chunk(context, request, intake);
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

/* What every parsed-batch answer starts with once correlate answered: the batch counted as
   accepted or failed in the metrics of format, and on failure the answer (503 "pipeline
   unavailable", which senders retry, or 500). Returns true when reply is that answer. */
static bool s_batch_failed(s_intake_t *intake, const char *format, int rc, int status,
                           const char *detail, http_reply_t *reply)
{
    *(rc == 0 ? &intake->counts.accepted : &intake->counts.failed) = intake->parsed.alert_count;
    ingest_metrics_alerts(format, intake->tenant_id, &intake->counts);
    if (rc == 0)
        return false;
    http_reply_error(reply, status, status == 503 ? "pipeline unavailable" : "internal error",
                     json_string(detail));
    return true;
}

/* The answer to /api/v2/alerts once correlate answered. */
static void s_prometheus_finish(s_intake_t *intake, int rc, int status, const char *detail,
                                http_reply_t *reply)
{
    /* 503 with Retry-After: Prometheus logs it and sends again at its next resend */
    if (s_batch_failed(intake, INGEST_FORMAT_PROMETHEUS, rc, status, detail, reply))
        return;
    const alert_parse_result_t *parsed = &intake->parsed;
    if (parsed->error_count) {
        lk_debug("ingest: /api/v2/alerts for tenant %s: %zu alerts kept, %zu problems found",
                 intake->tenant_id, parsed->alert_count, parsed->error_count);
        /* a bare JSON string, which the JSON reply path does not render */
        json_t *message = s_alertmanager_validation(parsed);
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
    s_intake_t *intake = s_intake_new();
    if (!intake) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        return;
    }
    alert_parse_result_t *parsed = &intake->parsed;
    /* what Prometheus sends is read straight from the bytes; anything else, and every
       error, goes the general way (alert_parse_fast.h) */
    int fast = alert_parse_prometheus_fast(request->body, request->body_size, caller.tenant_id,
                                           now_ms, resolve_timeout_ms, config->max_batch, parsed);
    if (fast < 0) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        s_intake_free(intake);
        return;
    }
    size_t element_count = parsed->alert_count; /* the fast path keeps every element */
    if ((fast == 0 &&
         !s_parse_prometheus_general(config, request, caller.tenant_id, now_ms, resolve_timeout_ms,
                                     parsed, &element_count, reply)) ||
        !intake_guard_rate(context, caller.tenant_id, parsed->alert_count, reply)) {
        s_intake_free(intake);
        return;
    }
    memcpy(intake->tenant_id, caller.tenant_id, sizeof intake->tenant_id);
    intake->alerts = parsed->alerts;
    intake->alert_count = parsed->alert_count;
    intake->element_count = element_count;
    intake->counts = (ingest_alert_counts_t){.received = element_count,
                                             .invalid = element_count - parsed->alert_count};
    intake->finish = s_prometheus_finish;
    s_commit(context, request, intake, reply);
}

/* ---- POST /webhooks/alertmanager ------------------------------------------------------- */

/* The answer to an Alertmanager webhook once correlate answered. */
static void s_webhook_finish(s_intake_t *intake, int rc, int status, const char *detail,
                             http_reply_t *reply)
{
    if (!s_batch_failed(intake, INGEST_FORMAT_ALERTMANAGER, rc, status, detail, reply))
        handler_alerts_answer(reply, 200, &intake->parsed, intake->results, intake->element_count);
}

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
    s_intake_t *intake = s_intake_new();
    if (!intake) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        alert_parse_result_clear(&parsed);
        return;
    }
    memcpy(intake->tenant_id, caller.tenant_id, sizeof intake->tenant_id);
    intake->parsed = parsed; /* taken over */
    intake->alerts = intake->parsed.alerts;
    intake->alert_count = intake->parsed.alert_count;
    intake->element_count = element_count;
    intake->counts = (ingest_alert_counts_t){.received = element_count,
                                             .invalid = element_count - parsed.alert_count};
    intake->finish = s_webhook_finish;
    s_commit(context, request, intake, reply);
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

/* The answer to /v2/enqueue once correlate answered. */
static void s_pagerduty_finish(s_intake_t *intake, int rc, int status, const char *detail,
                               http_reply_t *reply)
{
    ingest_alert_counts_t counts = {.received = 1, .accepted = rc == 0, .failed = rc != 0};
    ingest_metrics_alerts(INGEST_FORMAT_PAGERDUTY, intake->tenant_id, &counts);
    if (rc != 0)
        http_reply_error(reply, status, status == 503 ? "pipeline unavailable" : "internal error",
                         json_string(detail));
    else
        http_reply_json(reply, 202,
                        json_pack("{s:s, s:s, s:s}", "status", "success", "message",
                                  "Event processed", "dedup_key", intake->event.dedup_key));
}

/* correlate's answer to an acknowledge. Not found or not acknowledgeable (no such open
   alert) is accepted and dropped, as PagerDuty drops it. */
static void s_on_acknowledge(const handler_context_t *context, const http_request_t *request,
                             void *state, lk_msg_t *answer, const char *detail, http_reply_t *reply)
{
    (void)context;
    (void)request;
    s_intake_t *intake = state;
    if (!answer)
        intake->finish(intake, -1, 503, detail, reply);
    else if (answer->type != LK_MSG_COMMAND_REPLY) {
        char problem[128];
        snprintf(problem, sizeof problem, "correlate answered with %s",
                 lk_msg_type_name(answer->type));
        intake->finish(intake, -1, 500, problem, reply);
    } else if (answer->status == LK_STATUS_UNAVAILABLE || answer->status == LK_STATUS_ERROR ||
               answer->status == LK_STATUS_INVALID)
        intake->finish(intake, -1, answer->status == LK_STATUS_UNAVAILABLE ? 503 : 500,
                       answer->error ? answer->error : "correlate refused", reply);
    else
        intake->finish(intake, 0, 0, "", reply);
}

/* Asks correlate to acknowledge the incident of the event's alert; s_on_acknowledge goes on. */
static void s_pagerduty_acknowledge(const handler_context_t *context, const http_request_t *request,
                                    s_intake_t *intake, char *actor)
{
    lk_fingerprint_alert(&intake->event.alert);
    lk_msg_t message;
    lk_msg_init(&message, LK_MSG_COMMAND);
    snprintf(message.tenant_id, sizeof message.tenant_id, "%s", intake->tenant_id);
    message.action = LK_ACTION_ACKNOWLEDGE;
    memcpy(message.fingerprint, intake->event.alert.fingerprint, sizeof message.fingerprint);
    message.actor = actor; /* borrowed for encoding, handed back before the clear */
    handler_defer(context, request, PIPELINE_CORRELATE, &message, s_on_acknowledge, intake,
                  s_intake_free);
    message.actor = NULL;
    lk_msg_clear(&message);
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

    s_intake_t *intake = s_intake_new();
    if (!intake) {
        http_reply_error(reply, 500, "internal error", json_string("out of memory"));
        pagerduty_event_clear(&event);
        return;
    }
    snprintf(intake->tenant_id, sizeof intake->tenant_id, "%s", integration->tenant_id);
    intake->event = event; /* taken over */
    intake->has_event = true;
    intake->finish = s_pagerduty_finish;
    if (intake->event.action == PAGERDUTY_ACKNOWLEDGE) {
        s_pagerduty_acknowledge(context, request, intake, actor);
        return;
    }
    /* trigger and resolve travel as the alert's new state; an unknown key's resolve comes
       back "ignored" */
    snprintf(intake->event.alert.tenant_id, sizeof intake->event.alert.tenant_id, "%s",
             integration->tenant_id);
    intake->alerts = &intake->event.alert;
    intake->alert_count = 1;
    s_commit(context, request, intake, reply);
}
