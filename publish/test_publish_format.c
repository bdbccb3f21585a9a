/*  test_publish_format — the Kafka payload shapes of publish_format.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lk_uuid.h"
#include "publish_format.h"

#define T_TENANT   "00000000-0000-0000-0000-000000000001"
#define T_INCIDENT "0190f1a2-3b4c-7d5e-8f60-718293a4b5c6"
#define T_EVENT_V7 "0190F1A2-3B4C-7D5E-9F60-718293A4B5C7"
#define T_EVENT_V4 "8c3a8a0e-2f8e-4d1a-a6a5-3c4b5d6e7f80"

static void s_fill(lk_event_t *event, lk_incident_t *incident, const char *type)
{
    memset(event, 0, sizeof *event);
    memset(incident, 0, sizeof *incident);
    event->sequence = 42;
    strcpy(event->event_id, T_EVENT_V7);
    strcpy(event->tenant_id, T_TENANT);
    strcpy(event->incident_id, T_INCIDENT);
    event->type = strdup(type);
    event->actor = strdup("alice");
    event->at_ms = 1795338000123;
    strcpy(incident->id, T_INCIDENT);
    strcpy(incident->tenant_id, T_TENANT);
    incident->group_key = strdup("{}:{alertname=\"HighCPU\"}");
    incident->title = strdup("HighCPU");
    incident->summary = strdup("cpu is hot");
    lk_labels_set(&incident->group_labels, "alertname", "HighCPU");
    incident->severity = LK_SEV_CRITICAL;
    incident->status = LK_INCIDENT_ACKNOWLEDGED;
    incident->alert_count = 3;
    incident->firing_count = 2;
    incident->version = 7;
    incident->created_at_ms = 1795338000000;
    incident->updated_at_ms = 1795338000123;
    incident->acknowledged_at_ms = 1795338000123;
    incident->acknowledged_by = strdup("alice");
}

/* Asserts object has exactly the keys listed (NULL-terminated). */
static void s_assert_keys(json_t *object, const char *const *keys)
{
    assert_true(json_is_object(object));
    size_t count = 0;
    for (; keys[count]; count++)
        if (!json_object_get(object, keys[count]))
            fail_msg("missing key %s", keys[count]);
    assert_int_equal(json_object_size(object), count);
}

static void test_event_id(void **state)
{
    (void)state;
    lk_event_t event;
    lk_incident_t incident;
    s_fill(&event, &incident, "incident_triggered");
    char id[LK_UUID_STR_LEN + 1], again[LK_UUID_STR_LEN + 1];
    /* a v7 outbox id is the platform id, lower-cased */
    publish_event_id(&event, id);
    assert_string_equal(id, "0190f1a2-3b4c-7d5e-9f60-718293a4b5c7");
    /* another version: a v7 of the event's time, the same every time, different per id */
    strcpy(event.event_id, T_EVENT_V4);
    publish_event_id(&event, id);
    publish_event_id(&event, again);
    assert_string_equal(id, again);
    assert_true(lk_uuid_valid(id));
    assert_int_equal(id[14], '7');
    assert_non_null(strchr("89ab", id[19]));
    assert_memory_equal(id, "01a2027b-d6fb", 13); /* 1795338000123 ms = 0x01a2027bd6fb */
    event.event_id[35] = '1';
    publish_event_id(&event, again);
    assert_string_not_equal(id, again);
    /* the event time moves only the time bits */
    lk_event_clear(&event);
    lk_incident_clear(&incident);
}

static void test_service_event_types(void **state)
{
    (void)state;
    const char *lifecycle[] = {"incident_triggered", "incident_acknowledged", "incident_resolved",
                               "incident_reopened",  "incident_closed",       "incident_escalated"};
    for (size_t index = 0; index < 6; index++)
        assert_string_equal(publish_service_event_type(lifecycle[index]), lifecycle[index]);
    assert_null(publish_service_event_type("alert_added"));
    assert_null(publish_service_event_type("alert_resolved"));
    assert_null(publish_service_event_type("alert_refired"));
    assert_null(publish_service_event_type("incident_"));
    assert_null(publish_service_event_type(NULL));
}

static void test_incident_message(void **state)
{
    (void)state;
    lk_event_t event;
    lk_incident_t incident;
    s_fill(&event, &incident, "incident_acknowledged");
    size_t size = 0;
    char *text = publish_incident_message(&event, &incident, &size);
    assert_non_null(text);
    assert_int_equal(size, strlen(text));
    json_t *json = json_loads(text, 0, NULL);
    const char *const keys[] = {"schema_version", "event_id",    "sequence",
                                "event_type",     "occurred_at", "actor",
                                "note",           "tenant_id",   "incident_id",
                                "status",         "severity",    "title",
                                "summary",        "alert_count", "firing_count",
                                "created_at",     "updated_at",  "acknowledged_at",
                                "resolved_at",    "labels",      "incident",
                                "event",          NULL};
    s_assert_keys(json, keys);
    assert_string_equal(json_string_value(json_object_get(json, "tenant_id")), T_TENANT);
    assert_string_equal(json_string_value(json_object_get(json, "incident_id")), T_INCIDENT);
    assert_string_equal(json_string_value(json_object_get(json, "summary")), "cpu is hot");
    assert_string_equal(json_string_value(json_object_get(json, "severity")), "critical");
    assert_string_equal(json_string_value(json_object_get(json, "status")), "acknowledged");
    assert_string_equal(json_string_value(json_object_get(json, "event_type")),
                        "incident_acknowledged");
    assert_string_equal(json_string_value(json_object_get(json, "event_id")),
                        "0190f1a2-3b4c-7d5e-9f60-718293a4b5c7");
    assert_int_equal(json_integer_value(json_object_get(json, "sequence")), 42);
    assert_int_equal(json_integer_value(json_object_get(json, "alert_count")), 3);
    assert_string_equal(json_string_value(json_object_get(json, "occurred_at")),
                        "2026-11-22T09:00:00.123Z");
    assert_true(json_is_null(json_object_get(json, "resolved_at")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json, "labels"), "alertname")),
        "HighCPU");
    json_t *full = json_object_get(json, "incident");
    assert_string_equal(json_string_value(json_object_get(full, "id")), T_INCIDENT);
    assert_int_equal(json_integer_value(json_object_get(full, "version")), 7);
    assert_string_equal(json_string_value(json_object_get(full, "acknowledged_by")), "alice");
    json_t *inner = json_object_get(json, "event");
    assert_string_equal(json_string_value(json_object_get(inner, "type")), "incident_acknowledged");
    json_decref(json);
    free(text);
    lk_event_clear(&event);
    lk_incident_clear(&incident);
}

static void test_service_event(void **state)
{
    (void)state;
    lk_event_t event;
    lk_incident_t incident;
    s_fill(&event, &incident, "incident_resolved");
    size_t size = 0;
    char *text = publish_service_event(&event, &incident, "incident_resolved", &size);
    assert_non_null(text);
    json_t *json = json_loads(text, 0, NULL);
    const char *const keys[] = {
        "event_id",      "event_type",  "timestamp", "source",         "tenant_id",
        "resource_type", "resource_id", "data",      "schema_version", NULL};
    s_assert_keys(json, keys);
    assert_string_equal(json_string_value(json_object_get(json, "event_type")),
                        "incident_resolved");
    assert_string_equal(json_string_value(json_object_get(json, "source")), "lookout");
    assert_string_equal(json_string_value(json_object_get(json, "resource_type")), "incident");
    assert_string_equal(json_string_value(json_object_get(json, "resource_id")), T_INCIDENT);
    assert_string_equal(json_string_value(json_object_get(json, "tenant_id")), T_TENANT);
    assert_string_equal(json_string_value(json_object_get(json, "timestamp")),
                        "2026-11-22T09:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(json, "schema_version")),
                        PUBLISH_SCHEMA_VERSION);
    json_t *data = json_object_get(json, "data");
    const char *const data_keys[] = {"sequence", "incident", "event", NULL};
    s_assert_keys(data, data_keys);
    json_decref(json);
    free(text);
    lk_event_clear(&event);
    lk_incident_clear(&incident);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_id),
        cmocka_unit_test(test_service_event_types),
        cmocka_unit_test(test_incident_message),
        cmocka_unit_test(test_service_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
