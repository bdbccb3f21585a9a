/*  status_model — what a public status page shows, computed from the store's status_page
    reply and the page's configuration (lk_config_status.h). Pure: no sockets, no clock (the
    caller passes now), so every rule below is unit-tested (test_status_model.c).

    Component status (Atlassian Statuspage's vocabulary), from the component's OPEN incidents
    (triggered or acknowledged) and the tenant's maintenance silences:
        critical incident → major_outage      error   → partial_outage
        warning           → degraded_performance
        info              → operational (shown as an incident, changes no status)
        an active silence that covers the component → under_maintenance
    Levels are ordered operational < under_maintenance < degraded_performance <
    partial_outage < major_outage and a component shows the highest that applies: an outage
    during maintenance still shows as the outage. An incident concerns a component when the
    component's matchers match the labels of at least one of the incident's alerts (its group
    labels when no alert is known).

    A silence covers a component when it would silence an alert that carries exactly the
    labels the component's equality matchers pin (match ['service="api"'] → {service="api"})
    and at least one of its matchers names one of those labels — so a silence of one
    instance, or one that pins nothing the component does, is no maintenance of it.

    Uptime, per component and UTC day over the last STATUS_WINDOW_DAYS days (today so far):
    an incident concerns the component from created_at to resolved_at (now while open); at
    each moment the component is at the highest level of its incidents then; major_outage
    time counts fully as downtime, partial_outage time at 30 % (Statuspage's weights),
    anything else as up. uptime = 100 × (1 − downtime / time measured).

    An incident is PUBLIC when it concerns at least one public component or carries a public
    update. Nothing else reaches the JSON: no private component, no private update (store
    only sends public ones, and they are filtered again here), no alert, label or internal
    title; an incident's public title is the title of its latest public update that gives
    one, else the names of the public components it concerns and its impact.
*/
#ifndef INGEST_STATUS_MODEL_H
#define INGEST_STATUS_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_config_status.h"
#include "lk_msg.h"

#define STATUS_WINDOW_DAYS    90
#define STATUS_DAY_MS         (24LL * 3600 * 1000)
#define STATUS_HISTORY_MAX    100 /* resolved incidents listed, newest first */
#define STATUS_UPDATES_SHOWN  25  /* public updates listed per incident, newest first */
#define STATUS_PARTIAL_WEIGHT 0.3 /* share of partial_outage time counted as downtime */

typedef enum {
    STATUS_OPERATIONAL = 0,
    STATUS_MAINTENANCE,
    STATUS_DEGRADED,
    STATUS_PARTIAL_OUTAGE,
    STATUS_MAJOR_OUTAGE,
    STATUS_LEVEL_COUNT
} status_level_t;

/* operational, under_maintenance, degraded_performance, partial_outage, major_outage. */
const char *status_level_name(status_level_t level);
/* The page-wide sentence for a level: "All Systems Operational", "Major System Outage"... */
const char *status_level_description(status_level_t level);
/* critical → major_outage, error → partial_outage, warning → degraded_performance,
   info → operational. */
status_level_t status_level_of_severity(lk_severity_t severity);
/* Share of time at level counted as downtime: 1 for major_outage, STATUS_PARTIAL_WEIGHT for
   partial_outage, 0 otherwise. */
double status_level_downtime(status_level_t level);

/* A stretch of time a component spent at a level (one incident). */
typedef struct {
    int64_t start_ms;
    int64_t end_ms;
    status_level_t level;
} status_interval_t;

/* One UTC day of a component's uptime. */
typedef struct {
    int64_t start_ms;     /* 00:00 UTC */
    int64_t measured_ms;  /* a whole day, or until now for today */
    double down_ms;       /* weighted downtime */
    double uptime;        /* percent, 0..100, floored to 2 decimals unless exactly 100 */
    status_level_t worst; /* highest level seen that day */
} status_day_t;

/* 00:00 UTC of the oldest of the `days` days that end with the day of now_ms. */
int64_t status_window_start(int64_t now_ms, size_t days);

/* Fills out[0..days) (oldest first; out[days-1] is today) from count intervals, which may
   overlap, start before the window or end after now (they are clipped). *overall gets the
   uptime percent of the whole window (may be NULL). */
void status_uptime(const status_interval_t *intervals, size_t count, int64_t now_ms, size_t days,
                   status_day_t *out, double *overall);

/* True when the silence covers the component (see the top of this file). */
bool status_silence_covers(const lk_silence_t *silence, const lk_status_component_t *component);

/* The page's public JSON document at now_ms (docs/http-api.md, GET /status/{slug}.json) from
   a status_page query reply for the page's tenant whose window started at
   status_window_start(now_ms, STATUS_WINDOW_DAYS). reply's alerts and updates are sorted in
   place. Returns a new reference, NULL on OOM. */
json_t *status_page_json(const lk_status_page_t *page, lk_msg_t *reply, int64_t now_ms);

#endif
