/*  alert_parse — turns an alert intake body (parsed JSON) into validated lk_alert_t values.

    One function per intake format: the native `POST /alerts` format (alert_parse.c), the
    Alertmanager API v2 and webhook formats (alert_parse_prometheus.c), PagerDuty Events v2
    (alert_parse_pagerduty.c). Validation never stops at the first problem: every
    element is checked, every bad field is reported with its index and JSON path, and the
    valid elements are returned so the rest of the batch still goes through.
*/
#ifndef INGEST_ALERT_PARSE_H
#define INGEST_ALERT_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_model.h"
#include "lk_msg.h"

typedef struct {
    size_t index;      /* position in the request's array (0 for a single object) */
    char field[128];   /* JSON path of the bad field, e.g. "labels.bad-name", or "" */
    char message[256]; /* what is wrong, e.g. "must be one of firing, resolved" */
} alert_error_t;

typedef struct {
    lk_alert_t *alerts; /* the valid alerts, tenant_id set, fingerprint left "" */
    size_t *indexes;    /* indexes[i] = request position of alerts[i] */
    size_t alert_count;
    alert_error_t *errors;
    size_t error_count;
} alert_parse_result_t;

/* Parses a native body: one alert object or an array of them. tenant_id goes into every
   alert; now_ms fills a missing starts_at. Returns 0 (see result for per-alert errors), or
   -1 when the body as a whole is unusable (not an object/array, or more than max_batch
   elements) with *reason set to a static sentence; -1 leaves result empty. */
int alert_parse_native(const json_t *body, const char *tenant_id, int64_t now_ms, size_t max_batch,
                       alert_parse_result_t *result, const char **reason);

void alert_parse_result_clear(alert_parse_result_t *result);

/* The native answer's "alerts" array: for each valid alert, in request order, {index,
   fingerprint, incident_id (null when held), outcome} from correlate's results[i]. New
   reference; NULL on OOM. */
json_t *alert_parse_results_json(const alert_parse_result_t *parsed,
                                 const lk_alert_result_t *results);
/* The native answer's "errors" array: {index, field (null for the element itself),
   message} per problem found. New reference; NULL on OOM. */
json_t *alert_parse_errors_json(const alert_parse_result_t *parsed);

/* ---- Alertmanager API v2 and webhook (alert_parse_prometheus.c) ------------------------ */

/* Parses an Alertmanager API v2 `POST /api/v2/alerts` body (what Prometheus sends): an array
   of {labels, annotations?, startsAt?, endsAt?, generatorURL?}, with Alertmanager's rules:
   empty label values are dropped, at least one label must remain; a missing startsAt is
   endsAt when given, else now; a missing endsAt is now + resolve_timeout_ms; an alert whose
   endsAt is not after now is resolved; endsAt before startsAt is an error. Alerts get
   source "prometheus", name = labels.alertname (or "" without one), severity from
   labels.severity. Returns 0 (per-alert errors in result), or -1 when the body is not an
   array or has more than max_batch elements, with *reason set. */
int alert_parse_prometheus(const json_t *body, const char *tenant_id, int64_t now_ms,
                           int64_t resolve_timeout_ms, size_t max_batch,
                           alert_parse_result_t *result, const char **reason);

/* What a webhook notification said besides its alerts, for the handler's log lines. */
typedef struct {
    size_t fingerprint_mismatches; /* alerts whose `fingerprint` is not ours for their labels */
    size_t first_mismatch_index;
    char first_mismatch_sent[LK_FINGERPRINT_STR_LEN + 1];
    char first_mismatch_ours[LK_FINGERPRINT_STR_LEN + 1];
    int64_t truncated_alerts; /* `truncatedAlerts`: alerts Alertmanager left out (max_alerts) */
} alertmanager_webhook_info_t;

/* Parses an Alertmanager webhook notification (payload version 4): {version "4", groupKey,
   status, receiver, alerts[] of {status, labels, annotations, startsAt, endsAt,
   generatorURL, fingerprint}}. Each alert's own status decides firing or resolved; endsAt
   "0001-01-01T00:00:00Z" means none. An alert's identity is the fingerprint of its labels,
   computed here exactly as Alertmanager does; a `fingerprint` that disagrees is counted in
   info (ours is kept). Alerts get source "alertmanager". Returns 0, or -1 with *reason when
   the body is not an object, its version is not "4", `alerts` is not an array or has more
   than max_batch elements. */
int alert_parse_alertmanager_webhook(const json_t *body, const char *tenant_id, int64_t now_ms,
                                     size_t max_batch, alert_parse_result_t *result,
                                     alertmanager_webhook_info_t *info, const char **reason);

/* ---- PagerDuty Events API v2 (alert_parse_pagerduty.c) --------------------------------- */

typedef enum {
    PAGERDUTY_TRIGGER = 0,
    PAGERDUTY_ACKNOWLEDGE,
    PAGERDUTY_RESOLVE,
} pagerduty_action_t;

#define PAGERDUTY_ERRORS_MAX 32

/* One `POST /v2/enqueue` event. */
typedef struct {
    pagerduty_action_t action;
    const char *routing_key; /* points into the parsed body: valid while it lives */
    size_t routing_key_len;
    char dedup_key[256]; /* as sent, or generated for a trigger without one */
    bool dedup_key_generated;
    /* trigger and resolve: the alert to send (tenant_id left ""); acknowledge: identity
       only (dedup_key set, for its fingerprint) */
    lk_alert_t alert;
    char *errors[PAGERDUTY_ERRORS_MAX]; /* PagerDuty-style messages, heap strings */
    size_t error_count;
} pagerduty_event_t;

/* Parses and validates an event as PagerDuty does: routing_key (32 letters/digits),
   event_action, dedup_key (at most 255; required for acknowledge and resolve; generated
   for a trigger without one: 32 hex digits), and for a trigger payload.summary (cut to
   1024 characters), payload.source, payload.severity (critical|error|warning|info), and
   optional payload.timestamp, component, group, class, custom_details, client,
   client_url; links and images are accepted and ignored. Every problem is listed. The
   alert of a trigger has labels alertname = dedup_key, severity, source and, when given,
   component, group and class; annotations summary, custom_details (compact JSON),
   client, client_url. Returns 0 when valid, -1 when event->errors lists problems. */
int alert_parse_pagerduty(const json_t *body, int64_t now_ms, pagerduty_event_t *event);

/* Frees what the event owns and zeroes it. */
void pagerduty_event_clear(pagerduty_event_t *event);

#endif
