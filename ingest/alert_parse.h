/*  alert_parse — turns an alert intake body (parsed JSON) into validated lk_alert_t values.

    One function per intake format (the native `POST /alerts` format here; Alertmanager,
    PagerDuty and others join later). Validation never stops at the first problem: every
    element is checked, every bad field is reported with its index and JSON path, and the
    valid elements are returned so the rest of the batch still goes through.
*/
#ifndef INGEST_ALERT_PARSE_H
#define INGEST_ALERT_PARSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_model.h"

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

#endif
