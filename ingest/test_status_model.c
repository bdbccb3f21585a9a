/*  test_status_model — the status page's rules (status_model.h): levels, uptime per day,
    maintenance silences, what the public JSON shows and hides; and the pure parts of
    status_service.h (ETag matching, the "changed" stream filter).
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_config.h"
#include "lk_time.h"
#include "status_model.h"
#include "status_service.h"

#define TENANT  "2f0c6d7e-1111-4222-8333-444455556666"
#define HOUR_MS (3600LL * 1000)

/* 2025-06-15T12:00:00Z */
static int64_t s_now(void)
{
    int64_t now;
    assert_true(lk_time_parse("2025-06-15T12:00:00Z", &now));
    return now;
}

static int64_t s_at(const char *text)
{
    int64_t at;
    assert_true(lk_time_parse(text, &at));
    return at;
}

/* ---- levels and uptime ---------------------------------------------------------------------- */

static void test_levels(void **state)
{
    (void)state;
    assert_int_equal(status_level_of_severity(LK_SEV_CRITICAL), STATUS_MAJOR_OUTAGE);
    assert_int_equal(status_level_of_severity(LK_SEV_ERROR), STATUS_PARTIAL_OUTAGE);
    assert_int_equal(status_level_of_severity(LK_SEV_WARNING), STATUS_DEGRADED);
    assert_int_equal(status_level_of_severity(LK_SEV_INFO), STATUS_OPERATIONAL);
    assert_string_equal(status_level_name(STATUS_MAINTENANCE), "under_maintenance");
    assert_string_equal(status_level_name(STATUS_DEGRADED), "degraded_performance");
    assert_string_equal(status_level_description(STATUS_MAJOR_OUTAGE), "Major System Outage");
    assert_true(status_level_downtime(STATUS_MAJOR_OUTAGE) == 1.0);
    assert_true(status_level_downtime(STATUS_PARTIAL_OUTAGE) == STATUS_PARTIAL_WEIGHT);
    assert_true(status_level_downtime(STATUS_DEGRADED) == 0.0);
    assert_true(status_level_downtime(STATUS_MAINTENANCE) == 0.0);
    /* the order a component's status is chosen by */
    assert_true(STATUS_OPERATIONAL < STATUS_MAINTENANCE && STATUS_MAINTENANCE < STATUS_DEGRADED &&
                STATUS_DEGRADED < STATUS_PARTIAL_OUTAGE &&
                STATUS_PARTIAL_OUTAGE < STATUS_MAJOR_OUTAGE);
}

static void test_window(void **state)
{
    (void)state;
    assert_true(status_window_start(s_now(), 90) == s_at("2025-03-18T00:00:00Z"));
    assert_true(status_window_start(s_now(), 1) == s_at("2025-06-15T00:00:00Z"));
    assert_true(status_window_start(s_at("2025-06-15T00:00:00Z"), 2) ==
                s_at("2025-06-14T00:00:00Z"));
}

static void test_uptime_no_incident(void **state)
{
    (void)state;
    status_day_t days[90];
    double overall = -1;
    status_uptime(NULL, 0, s_now(), 90, days, &overall);
    assert_true(overall == 100.0);
    for (int i = 0; i < 90; i++) {
        assert_true(days[i].uptime == 100.0);
        assert_int_equal(days[i].worst, STATUS_OPERATIONAL);
        assert_true(days[i].measured_ms == (i < 89 ? STATUS_DAY_MS : 12 * HOUR_MS));
    }
    assert_true(days[89].start_ms == s_at("2025-06-15T00:00:00Z"));
}

static void test_uptime_weights(void **state)
{
    (void)state;
    int64_t now = s_now();
    status_interval_t intervals[] = {
        /* 1 h major outage on 06-10 */
        {s_at("2025-06-10T10:00:00Z"), s_at("2025-06-10T11:00:00Z"), STATUS_MAJOR_OUTAGE},
        /* 2 h partial outage on 06-11 */
        {s_at("2025-06-11T10:00:00Z"), s_at("2025-06-11T12:00:00Z"), STATUS_PARTIAL_OUTAGE},
        /* degraded all day on 06-12: up */
        {s_at("2025-06-12T00:00:00Z"), s_at("2025-06-13T00:00:00Z"), STATUS_DEGRADED},
        /* across midnight 06-13 → 06-14: 30 min each side */
        {s_at("2025-06-13T23:30:00Z"), s_at("2025-06-14T00:30:00Z"), STATUS_MAJOR_OUTAGE},
        /* open since 06-15 09:00 (ends after now: clipped at now) */
        {s_at("2025-06-15T09:00:00Z"), now + 10 * HOUR_MS, STATUS_MAJOR_OUTAGE},
        /* started long before the window, ended on its first day at 06:00 */
        {s_at("2024-01-01T00:00:00Z"), s_at("2025-03-18T06:00:00Z"), STATUS_PARTIAL_OUTAGE},
        /* empty and backwards intervals count for nothing */
        {s_at("2025-06-01T10:00:00Z"), s_at("2025-06-01T10:00:00Z"), STATUS_MAJOR_OUTAGE},
        {s_at("2025-06-02T10:00:00Z"), s_at("2025-06-02T09:00:00Z"), STATUS_MAJOR_OUTAGE},
    };
    status_day_t days[90];
    double overall;
    status_uptime(intervals, sizeof intervals / sizeof *intervals, now, 90, days, &overall);
    /* day index of a date: 06-15 is 89 */
    assert_true(days[84].start_ms == s_at("2025-06-10T00:00:00Z"));
    assert_true(fabs(days[84].uptime - 95.83) < 1e-9); /* 1 - 1/24 = 95.833.. floored */
    assert_int_equal(days[84].worst, STATUS_MAJOR_OUTAGE);
    assert_true(fabs(days[85].uptime - 97.5) < 1e-9); /* 1 - 0.3 * 2/24 */
    assert_int_equal(days[85].worst, STATUS_PARTIAL_OUTAGE);
    assert_true(days[86].uptime == 100.0);
    assert_int_equal(days[86].worst, STATUS_DEGRADED);
    assert_true(fabs(days[87].uptime - 97.91) < 1e-9); /* 1 - 0.5/24 = 97.916.. */
    assert_true(fabs(days[88].uptime - 97.91) < 1e-9);
    assert_true(fabs(days[89].uptime - 75.0) < 1e-9); /* 3 h of the 12 h measured */
    assert_true(fabs(days[0].uptime - 92.5) < 1e-9);  /* 1 - 0.3 * 6/24 */
    assert_true(days[3].uptime == 100.0);
    assert_int_equal(days[3].worst, STATUS_OPERATIONAL);
    /* overall: weighted downtime over the window's measured time */
    double down = 1.0 + 0.6 + 1.0 + 3.0 + 1.8; /* hours */
    double measured = 89 * 24.0 + 12.0;
    double expected = floor(100.0 * (1.0 - down / measured) * 100.0) / 100.0;
    assert_true(fabs(overall - expected) < 1e-9);
}

static void test_uptime_overlaps(void **state)
{
    (void)state;
    int64_t now = s_now();
    /* a partial outage 10:00-14:00 with a major one inside it 11:00-12:00, and a second
       major one overlapping the first 11:30-12:30: the worst level at each moment counts */
    status_interval_t intervals[] = {
        {s_at("2025-06-14T10:00:00Z"), s_at("2025-06-14T14:00:00Z"), STATUS_PARTIAL_OUTAGE},
        {s_at("2025-06-14T11:00:00Z"), s_at("2025-06-14T12:00:00Z"), STATUS_MAJOR_OUTAGE},
        {s_at("2025-06-14T11:30:00Z"), s_at("2025-06-14T12:30:00Z"), STATUS_MAJOR_OUTAGE},
    };
    status_day_t days[90];
    status_uptime(intervals, 3, now, 90, days, NULL);
    /* major 11:00-12:30 (1.5 h), partial 10:00-11:00 and 12:30-14:00 (2.5 h × 0.3) */
    double down_h = 1.5 + 0.75;
    assert_true(fabs(days[88].down_ms - down_h * HOUR_MS) < 1.0);
    assert_true(fabs(days[88].uptime - floor(10000.0 * (1 - down_h / 24)) / 100.0) < 1e-9);
}

/* ---- maintenance ---------------------------------------------------------------------------- */

static lk_config_t *s_config(void)
{
    const char *yaml = "status_pages:\n"
                       "  - slug: acme\n"
                       "    tenant: " TENANT "\n"
                       "    title: Acme status\n"
                       "    components:\n"
                       "      - name: API\n"
                       "        description: The REST API\n"
                       "        match: ['service=\"api\"']\n"
                       "      - name: Web\n"
                       "        match: ['service=\"web\"', 'env=\"prod\"']\n"
                       "      - name: Secret DB\n"
                       "        match: ['service=\"db\"']\n"
                       "        public: false\n"
                       "      - name: Batch\n"
                       "        match: ['service=~\"batch-.*\"']\n";
    lk_config_t *config = NULL;
    char err[512];
    if (lk_config_load_string("t.yaml", yaml, strlen(yaml), &config, err, sizeof err) != 0)
        fail_msg("%s", err);
    return config;
}

static void s_silence(lk_silence_t *silence, const char *matchers, int64_t starts, int64_t ends)
{
    memset(silence, 0, sizeof *silence);
    lk_uuid7(silence->id);
    snprintf(silence->tenant_id, sizeof silence->tenant_id, "%s", TENANT);
    char err[128];
    if (lk_matchers_parse(matchers, &silence->matchers, &silence->matcher_count, err, sizeof err))
        fail_msg("%s", err);
    silence->starts_at_ms = starts;
    silence->ends_at_ms = ends;
    silence->created_by = strdup("alice");
    silence->comment = strdup("db migration on db-7.internal");
}

static void test_silence_covers(void **state)
{
    (void)state;
    lk_config_t *config = s_config();
    const lk_status_page_t *page = &config->status.pages[0];
    const lk_status_component_t *api = &page->components[0], *web = &page->components[1],
                                *batch = &page->components[3];
    const struct {
        const char *matchers;
        bool api, web;
    } cases[] = {
        {"service=\"api\"", true, false},
        {"service=~\"api|web\"", true, true},               /* web in every env, prod included */
        {"service=~\"api|web\",env=\"prod\"", false, true}, /* api has no env: "" != prod */
        {"service=\"web\"", false, true},
        {"service=\"api\",instance=\"i-1\"", false, false}, /* one instance is no maintenance */
        {"alertname=\"DiskFull\"", false, false},
        {"team!=\"x\"", false, false}, /* pins nothing the component pins */
        {"service!=\"db\"", true, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lk_silence_t silence;
        s_silence(&silence, cases[i].matchers, 0, 1);
        if (status_silence_covers(&silence, api) != cases[i].api ||
            status_silence_covers(&silence, web) != cases[i].web)
            fail_msg("silence %s: expected api %d web %d", cases[i].matchers, cases[i].api,
                     cases[i].web);
        assert_false(status_silence_covers(&silence, batch)); /* regex-only pins nothing */
        lk_silence_clear(&silence);
    }
    lk_config_destroy(&config);
}

/* ---- the page ------------------------------------------------------------------------------- */

/* Adds an incident and returns its index (the array moves as it grows: keep no pointer). */
static size_t s_add_incident(lk_msg_t *reply, lk_severity_t severity, lk_incident_status_t status,
                             int64_t created, int64_t resolved, const char *title)
{
    lk_incident_t incident;
    memset(&incident, 0, sizeof incident);
    lk_uuid7(incident.id);
    snprintf(incident.tenant_id, sizeof incident.tenant_id, "%s", TENANT);
    incident.group_key = strdup("{}");
    incident.title = strdup(title);
    incident.summary = strdup(title);
    assert_int_equal(lk_labels_set(&incident.group_labels, "alertname", title), 0);
    incident.severity = severity;
    incident.status = status;
    incident.created_at_ms = created;
    incident.updated_at_ms = resolved ? resolved : created;
    incident.resolved_at_ms = resolved;
    assert_int_equal(lk_msg_add_incident(reply, &incident), 0);
    lk_incident_clear(&incident);
    return reply->incident_count - 1;
}

static void s_add_alert(lk_msg_t *reply, size_t index, const char *service)
{
    const lk_incident_t *incident = &reply->incidents[index];
    lk_alert_t alert;
    memset(&alert, 0, sizeof alert);
    snprintf(alert.incident_id, sizeof alert.incident_id, "%s", incident->id);
    assert_int_equal(lk_labels_set(&alert.labels, "service", service), 0);
    assert_int_equal(lk_labels_set(&alert.labels, "instance", "db-7.internal"), 0);
    if (strcmp(service, "web") == 0)
        assert_int_equal(lk_labels_set(&alert.labels, "env", "prod"), 0);
    assert_int_equal(lk_msg_add_alert(reply, &alert), 0);
    lk_alert_clear(&alert);
}

static void s_add_update(lk_msg_t *reply, size_t index, const char *message,
                         lk_update_visibility_t visibility, lk_incident_stage_t stage,
                         const char *title, int64_t at)
{
    const lk_incident_t *incident = &reply->incidents[index];
    lk_incident_update_t update;
    memset(&update, 0, sizeof update);
    lk_uuid7(update.id);
    snprintf(update.tenant_id, sizeof update.tenant_id, "%s", TENANT);
    snprintf(update.incident_id, sizeof update.incident_id, "%s", incident->id);
    update.message = strdup(message);
    update.visibility = visibility;
    update.stage = stage;
    update.title = title ? strdup(title) : NULL;
    update.author = strdup("alice@internal");
    update.created_at_ms = at;
    assert_int_equal(lk_msg_add_update(reply, &update), 0);
    lk_incident_update_clear(&update);
}

static json_t *s_find(json_t *array, const char *key, const char *value)
{
    size_t index;
    json_t *item;
    json_array_foreach(array, index, item)
    {
        const char *text = json_string_value(json_object_get(item, key));
        if (text && strcmp(text, value) == 0)
            return item;
    }
    return NULL;
}

static void test_page_json(void **state)
{
    (void)state;
    lk_config_t *config = s_config();
    const lk_status_page_t *page = &config->status.pages[0];
    int64_t now = s_now();
    lk_msg_t reply;
    lk_msg_init(&reply, LK_MSG_QUERY_REPLY);
    /* newest first, as store answers */
    size_t api_down = s_add_incident(&reply, LK_SEV_CRITICAL, LK_INCIDENT_ACKNOWLEDGED,
                                     now - HOUR_MS, 0, "HighErrorRate");
    char api_down_id[LK_UUID_STR_LEN + 1];
    snprintf(api_down_id, sizeof api_down_id, "%s", reply.incidents[api_down].id);
    s_add_alert(&reply, api_down, "api");
    s_add_alert(&reply, api_down, "db"); /* it concerns the private component too */
    size_t db_only = s_add_incident(&reply, LK_SEV_CRITICAL, LK_INCIDENT_TRIGGERED,
                                    now - 2 * HOUR_MS, 0, "DbReplicaLag");
    s_add_alert(&reply, db_only, "db");
    size_t announced = s_add_incident(&reply, LK_SEV_WARNING, LK_INCIDENT_TRIGGERED,
                                      now - 3 * HOUR_MS, 0, "QueueBacklog");
    s_add_alert(&reply, announced, "queue");
    size_t resolved = s_add_incident(&reply, LK_SEV_ERROR, LK_INCIDENT_RESOLVED, now - 48 * HOUR_MS,
                                     now - 47 * HOUR_MS, "WebLatency");
    s_add_alert(&reply, resolved, "web");
    size_t internal = s_add_incident(&reply, LK_SEV_CRITICAL, LK_INCIDENT_CLOSED,
                                     now - 72 * HOUR_MS, now - 71 * HOUR_MS, "Backups");
    s_add_alert(&reply, internal, "backup");
    /* updates, in no particular order */
    s_add_update(&reply, api_down, "Fix deployed, monitoring", LK_UPDATE_PUBLIC,
                 LK_STAGE_MONITORING, NULL, now - 10 * 60000);
    s_add_update(&reply, api_down, "We are investigating API errors", LK_UPDATE_PUBLIC,
                 LK_STAGE_INVESTIGATING, "API errors", now - 50 * 60000);
    s_add_update(&reply, api_down, "root cause: db-7 disk full", LK_UPDATE_PRIVATE, LK_STAGE_NONE,
                 "PRIVATE TITLE", now - 5 * 60000);
    s_add_update(&reply, announced, "Jobs are delayed", LK_UPDATE_PUBLIC, LK_STAGE_NONE, NULL,
                 now - 2 * HOUR_MS);
    s_add_update(&reply, resolved, "Resolved", LK_UPDATE_PUBLIC, LK_STAGE_RESOLVED, NULL,
                 now - 47 * HOUR_MS);
    /* maintenance of Web now, of the private DB now, of API later */
    lk_silence_t silence;
    s_silence(&silence, "service=\"web\",env=\"prod\"", now - HOUR_MS, now + HOUR_MS);
    assert_int_equal(lk_msg_add_silence(&reply, &silence), 0);
    lk_silence_clear(&silence);
    s_silence(&silence, "service=\"db\"", now - HOUR_MS, now + HOUR_MS);
    assert_int_equal(lk_msg_add_silence(&reply, &silence), 0);
    lk_silence_clear(&silence);
    s_silence(&silence, "service=\"api\"", now + HOUR_MS, now + 2 * HOUR_MS);
    assert_int_equal(lk_msg_add_silence(&reply, &silence), 0);
    lk_silence_clear(&silence);

    json_t *json = status_page_json(page, &reply, now);
    assert_non_null(json);
    char *text = json_dumps(json, JSON_COMPACT);
    /* nothing private, internal or of the alerts reaches the page */
    const char *hidden[] = {"Secret DB",    "db-7",          "PRIVATE TITLE", "root cause",
                            "DbReplicaLag", "HighErrorRate", "QueueBacklog",  "Backups",
                            "alice",        "instance",      "migration"};
    for (size_t i = 0; i < sizeof hidden / sizeof *hidden; i++)
        if (strstr(text, hidden[i]))
            fail_msg("the page shows '%s': %s", hidden[i], text);

    assert_string_equal(json_string_value(json_object_get(json_object_get(json, "page"), "slug")),
                        "acme");
    json_t *overall = json_object_get(json, "status");
    assert_string_equal(json_string_value(json_object_get(overall, "level")), "major_outage");
    assert_string_equal(json_string_value(json_object_get(overall, "description")),
                        "Major System Outage");

    json_t *components = json_object_get(json, "components");
    assert_int_equal(json_array_size(components), 3); /* API, Web, Batch */
    json_t *api = s_find(components, "name", "API");
    json_t *web = s_find(components, "name", "Web");
    json_t *batch = s_find(components, "name", "Batch");
    assert_non_null(api);
    assert_non_null(web);
    assert_non_null(batch);
    assert_string_equal(json_string_value(json_object_get(api, "status")), "major_outage");
    assert_string_equal(json_string_value(json_object_get(api, "description")), "The REST API");
    assert_string_equal(json_string_value(json_object_get(web, "status")), "under_maintenance");
    assert_string_equal(json_string_value(json_object_get(batch, "status")), "operational");
    assert_true(json_is_null(json_object_get(batch, "description")));
    json_t *api_days = json_object_get(api, "uptime_days");
    assert_int_equal(json_array_size(api_days), STATUS_WINDOW_DAYS);
    /* today: 1 h of major outage of the 12 h measured */
    assert_true(fabs(json_real_value(json_array_get(api_days, 89)) - 91.66) < 1e-9);
    assert_string_equal(json_string_value(json_array_get(json_object_get(api, "worst_days"), 89)),
                        "major_outage");
    json_t *web_days = json_object_get(web, "uptime_days");
    /* two days ago: 1 h partial outage */
    assert_true(fabs(json_real_value(json_array_get(web_days, 87)) - 98.75) < 1e-9);
    assert_true(json_real_value(json_object_get(batch, "uptime_percent")) == 100.0);
    assert_int_equal(json_array_size(json_object_get(json, "days")), STATUS_WINDOW_DAYS);
    assert_string_equal(json_string_value(json_array_get(json_object_get(json, "days"), 89)),
                        "2025-06-15");
    assert_int_equal(json_array_size(json_object_get(json, "levels")), STATUS_LEVEL_COUNT);

    /* active public incidents: the API outage and the announced backlog, newest first */
    json_t *incidents = json_object_get(json, "incidents");
    assert_int_equal(json_array_size(incidents), 2);
    json_t *first = json_array_get(incidents, 0);
    assert_string_equal(json_string_value(json_object_get(first, "id")), api_down_id);
    assert_string_equal(json_string_value(json_object_get(first, "title")), "API errors");
    assert_string_equal(json_string_value(json_object_get(first, "impact")), "major_outage");
    assert_string_equal(json_string_value(json_object_get(first, "status")), "monitoring");
    assert_true(json_is_null(json_object_get(first, "resolved_at")));
    json_t *names = json_object_get(first, "components");
    assert_int_equal(json_array_size(names), 1);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "API");
    json_t *latest = json_object_get(first, "latest_update");
    assert_string_equal(json_string_value(json_object_get(latest, "message")),
                        "Fix deployed, monitoring");
    assert_null(json_object_get(latest, "author"));
    assert_int_equal(json_array_size(json_object_get(first, "updates")), 2);
    json_t *second = json_array_get(incidents, 1);
    assert_string_equal(json_string_value(json_object_get(second, "title")), "Service disruption");
    assert_string_equal(json_string_value(json_object_get(second, "status")), "investigating");
    assert_int_equal(json_array_size(json_object_get(second, "components")), 0);

    /* history: the resolved web incident only */
    json_t *history = json_object_get(json, "history");
    assert_int_equal(json_array_size(history), 1);
    json_t *past = json_array_get(history, 0);
    assert_string_equal(json_string_value(json_object_get(past, "title")), "Web: partial outage");
    assert_string_equal(json_string_value(json_object_get(past, "status")), "resolved");
    assert_false(json_is_null(json_object_get(past, "resolved_at")));

    /* maintenances: Web now, API scheduled; never the private DB */
    json_t *maintenances = json_object_get(json, "maintenances");
    assert_int_equal(json_array_size(maintenances), 2);
    json_t *in_progress = s_find(maintenances, "status", "in_progress");
    json_t *scheduled = s_find(maintenances, "status", "scheduled");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(in_progress, "components"), 0)), "Web");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(scheduled, "components"), 0)), "API");
    free(text);
    json_decref(json);
    lk_msg_clear(&reply);
    lk_config_destroy(&config);
}

/* A page without public components: its public incidents set the status. */
static void test_page_without_components(void **state)
{
    (void)state;
    lk_status_page_t page = {.slug = "status", .title = "Status", .is_public = true};
    snprintf(page.tenant_id, sizeof page.tenant_id, "%s", TENANT);
    int64_t now = s_now();
    lk_msg_t reply;
    lk_msg_init(&reply, LK_MSG_QUERY_REPLY);
    json_t *json = status_page_json(&page, &reply, now);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json, "status"), "level")),
        "operational");
    assert_int_equal(json_array_size(json_object_get(json, "components")), 0);
    json_decref(json);
    size_t quiet =
        s_add_incident(&reply, LK_SEV_CRITICAL, LK_INCIDENT_TRIGGERED, now - HOUR_MS, 0, "Quiet");
    (void)quiet;
    size_t told =
        s_add_incident(&reply, LK_SEV_ERROR, LK_INCIDENT_TRIGGERED, now - HOUR_MS, 0, "Told");
    s_add_update(&reply, told, "Some requests fail", LK_UPDATE_PUBLIC, LK_STAGE_IDENTIFIED,
                 "Elevated errors", now);
    json = status_page_json(&page, &reply, now);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json, "status"), "level")),
        "partial_outage");
    assert_int_equal(json_array_size(json_object_get(json, "incidents")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(json, "incidents"), 0), "title")),
                        "Elevated errors");
    json_decref(json);
    lk_msg_clear(&reply);
}

/* ---- status_service's pure parts ------------------------------------------------------------ */

static void test_etag_matches(void **state)
{
    (void)state;
    const char *etag = "W/\"00112233aabbccdd\"";
    assert_true(status_etag_matches("W/\"00112233aabbccdd\"", etag));
    assert_true(status_etag_matches("\"00112233aabbccdd\"", etag)); /* weak comparison */
    assert_true(status_etag_matches("\"x\", W/\"00112233aabbccdd\"", etag));
    assert_true(status_etag_matches("*", etag));
    assert_false(status_etag_matches("\"00112233aabbccde\"", etag));
    assert_false(status_etag_matches("\"00112233aabbccdd", etag)); /* unterminated */
    assert_false(status_etag_matches("", etag));
    assert_false(status_etag_matches(NULL, etag));
    assert_true(status_etag_matches("\"abc\"", "\"abc\""));
    assert_false(status_etag_matches("\"abcd\"", "\"abc\""));
}

static void test_events_filter(void **state)
{
    (void)state;
    status_events_filter_t filter;
    status_events_filter_init(&filter);
    char out[128];
    /* the hub's preamble is dropped */
    const char *preamble = ": lookout events\nretry: 3000\n\n";
    assert_int_equal(
        status_events_filter_feed(&filter, preamble, strlen(preamble), out, sizeof out), 0);
    /* a keepalive passes as a keepalive */
    size_t n = status_events_filter_feed(&filter, ": keepalive\n\n", 13, out, sizeof out);
    out[n] = '\0';
    assert_string_equal(out, ": keepalive\n\n");
    /* an event frame in pieces: nothing until its blank line, then only "changed" */
    const char *frame = "id: 41\nevent: incident_triggered\ndata: {\"sequence\":41,\"incident\":"
                        "{\"title\":\"secret\"}}\n\n";
    size_t length = strlen(frame);
    for (size_t i = 0; i + 1 < length; i++)
        assert_int_equal(status_events_filter_feed(&filter, frame + i, 1, out, sizeof out), 0);
    n = status_events_filter_feed(&filter, frame + length - 1, 1, out, sizeof out);
    out[n] = '\0';
    assert_string_equal(out, "event: changed\ndata: {}\n\n");
    /* several events in one piece: one frame */
    char two[512];
    snprintf(two, sizeof two, "%s%s", "id: 43\nevent: a\ndata: {}\n\n",
             "id: 42\nevent: b\ndata: {}\n\n: keepalive\n\n");
    n = status_events_filter_feed(&filter, two, strlen(two), out, sizeof out);
    out[n] = '\0';
    assert_string_equal(out, "event: changed\ndata: {}\n\n");
    /* a gap frame (no id) still means "changed" */
    const char *gap = "event: gap\ndata: {\"after\":1}\n\n";
    n = status_events_filter_feed(&filter, gap, strlen(gap), out, sizeof out);
    out[n] = '\0';
    assert_string_equal(out, "event: changed\ndata: {}\n\n");
    /* a long field name does not overflow */
    const char *odd = "averyveryverylongfieldname: x\n\n";
    n = status_events_filter_feed(&filter, odd, strlen(odd), out, sizeof out);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_uptime_no_incident),
        cmocka_unit_test(test_uptime_weights),
        cmocka_unit_test(test_uptime_overlaps),
        cmocka_unit_test(test_silence_covers),
        cmocka_unit_test(test_page_json),
        cmocka_unit_test(test_page_without_components),
        cmocka_unit_test(test_etag_matches),
        cmocka_unit_test(test_events_filter),
    };
    return cmocka_run_group_tests_name("ingest_status_model", tests, NULL, NULL);
}
