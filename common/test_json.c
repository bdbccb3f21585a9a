/*  Unit tests for lk_json: the public shapes of incident, alert and event, field by field,
    with null for every unset optional field and RFC 3339 UTC times with milliseconds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lk_json.h"

#define T_TENANT   "0190f1a2-3b4c-7d5e-8f60-718293a4b5c6"
#define T_INCIDENT "0190f1a2-3b4c-7d5e-8f60-000000000001"
#define T_EVENT    "0190f1a2-3b4c-7d5e-8f60-00000000000e"
#define T_MS       1795338000123LL /* 2026-11-22T09:00:00.123Z */

static void s_assert_string(json_t *object, const char *key, const char *expected)
{
    json_t *value = json_object_get(object, key);
    if (!json_is_string(value))
        fail_msg("%s is not a string", key);
    assert_string_equal(json_string_value(value), expected);
}

static void s_assert_integer(json_t *object, const char *key, json_int_t expected)
{
    json_t *value = json_object_get(object, key);
    if (!json_is_integer(value))
        fail_msg("%s is not an integer", key);
    assert_true(json_integer_value(value) == expected);
}

static void s_assert_null(json_t *object, const char *key)
{
    json_t *value = json_object_get(object, key);
    if (!json_is_null(value))
        fail_msg("%s is not null (or missing)", key);
}

static void test_time(void **state)
{
    (void)state;
    json_t *json = lk_json_time(T_MS);
    assert_true(json_is_string(json));
    assert_string_equal(json_string_value(json), "2026-11-22T09:00:00.123Z");
    json_decref(json);
    json = lk_json_time(1000);
    assert_string_equal(json_string_value(json), "1970-01-01T00:00:01.000Z");
    json_decref(json);
    json = lk_json_time(0);
    assert_true(json_is_null(json));
    json_decref(json);
}

static void test_labels(void **state)
{
    (void)state;
    lk_labels_t labels = {0};
    json_t *json = lk_json_labels(&labels);
    assert_true(json_is_object(json));
    assert_int_equal(json_object_size(json), 0);
    json_decref(json);
    lk_labels_set(&labels, "zone", "eu");
    lk_labels_set(&labels, "alertname", "HighCPU");
    lk_labels_set(&labels, "bad\xff", "v\xfe");
    json = lk_json_labels(&labels);
    assert_int_equal(json_object_size(json), 3);
    s_assert_string(json, "zone", "eu");
    s_assert_string(json, "alertname", "HighCPU");
    /* bytes that are not UTF-8 become U+FFFD instead of failing the whole object */
    s_assert_string(json, "bad\xef\xbf\xbd", "v\xef\xbf\xbd");
    char *text = json_dumps(json, JSON_COMPACT);
    assert_string_equal(text, "{\"alertname\":\"HighCPU\",\"bad\xef\xbf\xbd\":\"v\xef\xbf\xbd\","
                              "\"zone\":\"eu\"}");
    free(text);
    json_decref(json);
    lk_labels_clear(&labels);
}

static void test_incident_full(void **state)
{
    (void)state;
    lk_incident_t incident = {0};
    strcpy(incident.id, T_INCIDENT);
    strcpy(incident.tenant_id, T_TENANT);
    incident.group_key = strdup("{}:{alertname=\"HighCPU\"}");
    incident.title = strdup("HighCPU web");
    incident.summary = strdup("cpu is hot");
    incident.acknowledged_by = strdup("alice");
    incident.resolved_by = strdup("bob");
    lk_labels_set(&incident.group_labels, "alertname", "HighCPU");
    incident.severity = LK_SEV_CRITICAL;
    incident.status = LK_INCIDENT_RESOLVED;
    incident.alert_count = 5;
    incident.firing_count = 0;
    incident.reopen_count = 2;
    incident.version = 17;
    incident.created_at_ms = T_MS;
    incident.updated_at_ms = T_MS + 1000;
    incident.acknowledged_at_ms = T_MS + 2000;
    incident.resolved_at_ms = T_MS + 3000;

    incident.policy = strdup("video-oncall");
    lk_incident_add_source(&incident, "prometheus");
    lk_incident_add_source(&incident, "api");
    lk_incident_add_source(&incident, "prometheus"); /* listed once */
    incident.group_wait_until_ms = T_MS + 4000;
    json_t *json = lk_json_incident(&incident);
    assert_non_null(json);
    assert_int_equal(json_object_size(json), 21);
    s_assert_string(json, "policy", "video-oncall");
    json_t *sources = json_object_get(json, "sources");
    assert_int_equal(json_array_size(sources), 2);
    assert_string_equal(json_string_value(json_array_get(sources, 0)), "prometheus");
    assert_string_equal(json_string_value(json_array_get(sources, 1)), "api");
    s_assert_string(json, "group_wait_until", "2026-11-22T09:00:04.123Z");
    s_assert_string(json, "id", T_INCIDENT);
    s_assert_string(json, "tenant_id", T_TENANT);
    s_assert_string(json, "status", "resolved");
    s_assert_string(json, "severity", "critical");
    s_assert_string(json, "title", "HighCPU web");
    s_assert_string(json, "summary", "cpu is hot");
    s_assert_string(json, "group_key", "{}:{alertname=\"HighCPU\"}");
    json_t *group_labels = json_object_get(json, "group_labels");
    assert_int_equal(json_object_size(group_labels), 1);
    s_assert_string(group_labels, "alertname", "HighCPU");
    s_assert_integer(json, "alert_count", 5);
    s_assert_integer(json, "firing_count", 0);
    s_assert_integer(json, "reopen_count", 2);
    s_assert_integer(json, "version", 17);
    s_assert_string(json, "created_at", "2026-11-22T09:00:00.123Z");
    s_assert_string(json, "updated_at", "2026-11-22T09:00:01.123Z");
    s_assert_string(json, "acknowledged_at", "2026-11-22T09:00:02.123Z");
    s_assert_string(json, "acknowledged_by", "alice");
    s_assert_string(json, "resolved_at", "2026-11-22T09:00:03.123Z");
    s_assert_string(json, "resolved_by", "bob");
    json_decref(json);

    /* unset optional fields are null, not missing */
    free(incident.acknowledged_by);
    free(incident.resolved_by);
    incident.acknowledged_by = incident.resolved_by = NULL;
    incident.acknowledged_at_ms = incident.resolved_at_ms = 0;
    incident.status = LK_INCIDENT_TRIGGERED;
    free(incident.policy);
    incident.policy = NULL;
    incident.group_wait_until_ms = 0;
    json = lk_json_incident(&incident);
    assert_int_equal(json_object_size(json), 21);
    s_assert_null(json, "policy");
    s_assert_null(json, "group_wait_until");
    s_assert_string(json, "status", "triggered");
    s_assert_null(json, "acknowledged_at");
    s_assert_null(json, "acknowledged_by");
    s_assert_null(json, "resolved_at");
    s_assert_null(json, "resolved_by");
    json_decref(json);
    lk_incident_clear(&incident);
}

static void test_alert_full_and_sparse(void **state)
{
    (void)state;
    lk_alert_t alert = {0};
    strcpy(alert.tenant_id, T_TENANT);
    strcpy(alert.fingerprint, "507a62d79ee76c9a");
    strcpy(alert.incident_id, T_INCIDENT);
    alert.source = strdup("prometheus");
    alert.name = strdup("HighCPU");
    alert.query = strdup("cpu > 0.9");
    alert.dedup_key = strdup("cpu-web");
    alert.generator_url = strdup("http://prom/graph");
    lk_labels_set(&alert.labels, "alertname", "HighCPU");
    lk_labels_set(&alert.labels, "instance", "web-1");
    lk_labels_set(&alert.annotations, "summary", "hot");
    alert.severity = LK_SEV_WARNING;
    alert.status = LK_ALERT_FIRING;
    alert.has_value = true;
    alert.value = 0.97;
    alert.has_threshold = true;
    alert.threshold = 0.9;
    alert.starts_at_ms = T_MS;
    alert.ends_at_ms = T_MS + 60000;
    alert.updated_at_ms = T_MS + 5;

    json_t *json = lk_json_alert(&alert);
    assert_non_null(json);
    assert_int_equal(json_object_size(json), 19);
    s_assert_string(json, "state", "active");
    s_assert_null(json, "suppressed_by");
    s_assert_string(json, "fingerprint", "507a62d79ee76c9a");
    s_assert_string(json, "incident_id", T_INCIDENT);
    s_assert_string(json, "tenant_id", T_TENANT);
    s_assert_string(json, "source", "prometheus");
    s_assert_string(json, "name", "HighCPU");
    s_assert_string(json, "status", "firing");
    s_assert_string(json, "severity", "warning");
    json_t *labels = json_object_get(json, "labels");
    assert_int_equal(json_object_size(labels), 2);
    s_assert_string(labels, "instance", "web-1");
    json_t *annotations = json_object_get(json, "annotations");
    assert_int_equal(json_object_size(annotations), 1);
    s_assert_string(annotations, "summary", "hot");
    assert_true(json_is_real(json_object_get(json, "value")));
    assert_true(json_real_value(json_object_get(json, "value")) == 0.97);
    assert_true(json_real_value(json_object_get(json, "threshold")) == 0.9);
    s_assert_string(json, "query", "cpu > 0.9");
    s_assert_string(json, "dedup_key", "cpu-web");
    s_assert_string(json, "generator_url", "http://prom/graph");
    s_assert_string(json, "starts_at", "2026-11-22T09:00:00.123Z");
    s_assert_string(json, "ends_at", "2026-11-22T09:01:00.123Z");
    s_assert_string(json, "updated_at", "2026-11-22T09:00:00.128Z");
    json_decref(json);

    free(alert.query);
    free(alert.dedup_key);
    free(alert.generator_url);
    alert.query = alert.dedup_key = alert.generator_url = NULL;
    alert.has_value = false;
    alert.has_threshold = true;
    alert.threshold = NAN; /* JSON has no NaN */
    alert.ends_at_ms = 0;
    alert.status = LK_ALERT_RESOLVED;
    alert.state = LK_ALERT_SILENCED;
    alert.suppressed_by = strdup(T_INCIDENT);
    json = lk_json_alert(&alert);
    assert_int_equal(json_object_size(json), 19);
    s_assert_string(json, "state", "silenced");
    s_assert_string(json, "suppressed_by", T_INCIDENT);
    s_assert_string(json, "status", "resolved");
    s_assert_null(json, "value");
    s_assert_null(json, "threshold");
    s_assert_null(json, "query");
    s_assert_null(json, "dedup_key");
    s_assert_null(json, "generator_url");
    s_assert_null(json, "ends_at");
    s_assert_string(json, "starts_at", "2026-11-22T09:00:00.123Z");
    json_decref(json);
    lk_alert_clear(&alert);
}

static void test_event(void **state)
{
    (void)state;
    lk_event_t event = {0};
    event.sequence = 4242;
    strcpy(event.event_id, T_EVENT);
    strcpy(event.tenant_id, T_TENANT);
    strcpy(event.incident_id, T_INCIDENT);
    event.type = strdup("alert_added");
    event.actor = strdup("lookout");
    event.note = strdup("first alert");
    event.fingerprints = strdup("507a62d79ee76c9a 0000000000000001 ffffffffffffffff");
    event.at_ms = T_MS;

    json_t *json = lk_json_event(&event);
    assert_int_equal(json_object_size(json), 9);
    s_assert_integer(json, "sequence", 4242);
    s_assert_string(json, "event_id", T_EVENT);
    s_assert_string(json, "incident_id", T_INCIDENT);
    s_assert_string(json, "tenant_id", T_TENANT);
    s_assert_string(json, "type", "alert_added");
    s_assert_string(json, "actor", "lookout");
    s_assert_string(json, "note", "first alert");
    json_t *fingerprints = json_object_get(json, "fingerprints");
    assert_int_equal(json_array_size(fingerprints), 3);
    assert_string_equal(json_string_value(json_array_get(fingerprints, 0)), "507a62d79ee76c9a");
    assert_string_equal(json_string_value(json_array_get(fingerprints, 1)), "0000000000000001");
    assert_string_equal(json_string_value(json_array_get(fingerprints, 2)), "ffffffffffffffff");
    s_assert_string(json, "at", "2026-11-22T09:00:00.123Z");
    json_decref(json);

    free(event.note);
    free(event.fingerprints);
    event.note = event.fingerprints = NULL;
    free(event.type);
    event.type = strdup("incident_acknowledged \xc3\x28"); /* invalid UTF-8 is cleaned */
    json = lk_json_event(&event);
    assert_int_equal(json_object_size(json), 9);
    s_assert_null(json, "note");
    assert_true(json_is_array(json_object_get(json, "fingerprints")));
    assert_int_equal(json_array_size(json_object_get(json, "fingerprints")), 0);
    s_assert_string(json, "type", "incident_acknowledged \xef\xbf\xbd(");
    json_decref(json);
    lk_event_clear(&event);

    /* a zeroed event still renders: required strings as "" */
    lk_event_t empty = {0};
    json = lk_json_event(&empty);
    assert_non_null(json);
    s_assert_string(json, "type", "");
    s_assert_null(json, "at");
    json_decref(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),          cmocka_unit_test(test_labels),
        cmocka_unit_test(test_incident_full), cmocka_unit_test(test_alert_full_and_sparse),
        cmocka_unit_test(test_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
