/*  Unit tests for lk_model: label sets stay sorted and unique, vocabularies parse and name
    both ways, and copies are deep. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_model.h"

static void s_assert_sorted_unique(const lk_labels_t *labels)
{
    for (size_t i = 1; i < labels->count; i++)
        assert_true(strcmp(labels->items[i - 1].name, labels->items[i].name) < 0);
}

static void test_labels_set_keeps_sorted_and_unique(void **state)
{
    (void)state;
    lk_labels_t labels = {0};
    assert_int_equal(lk_labels_set(&labels, "job", "api"), 0);
    assert_int_equal(lk_labels_set(&labels, "alertname", "HighCPU"), 0);
    assert_int_equal(lk_labels_set(&labels, "zone", "eu"), 0);
    assert_int_equal(lk_labels_set(&labels, "instance", "a:9100"), 0);
    assert_int_equal(labels.count, 4);
    assert_string_equal(labels.items[0].name, "alertname");
    assert_string_equal(labels.items[1].name, "instance");
    assert_string_equal(labels.items[2].name, "job");
    assert_string_equal(labels.items[3].name, "zone");

    /* replacing keeps one entry */
    assert_int_equal(lk_labels_set(&labels, "job", "web"), 0);
    assert_int_equal(labels.count, 4);
    assert_string_equal(lk_labels_get(&labels, "job"), "web");
    assert_null(lk_labels_get(&labels, "missing"));
    assert_null(lk_labels_get(&labels, ""));
    s_assert_sorted_unique(&labels);
    lk_labels_clear(&labels);
    assert_int_equal(labels.count, 0);
    assert_null(labels.items);
    assert_null(lk_labels_get(&labels, "job"));
    lk_labels_clear(&labels); /* clearing twice is harmless */
}

static void test_labels_many_random_inserts(void **state)
{
    (void)state;
    lk_labels_t labels = {0};
    unsigned seed = 7;
    char name[32], value[32];
    for (int i = 0; i < 500; i++) {
        seed = seed * 1103515245u + 12345u;
        snprintf(name, sizeof name, "l%u", (seed >> 8) % 300);
        snprintf(value, sizeof value, "v%d", i);
        assert_int_equal(lk_labels_set(&labels, name, value), 0);
        assert_string_equal(lk_labels_get(&labels, name), value);
    }
    assert_true(labels.count <= 300);
    assert_true(labels.count > 100);
    s_assert_sorted_unique(&labels);
    /* strcmp order, bytes unsigned: "B" < "a" < "\xc3\xa9" */
    lk_labels_t bytes = {0};
    assert_int_equal(lk_labels_set(&bytes, "\xc3\xa9", "1"), 0);
    assert_int_equal(lk_labels_set(&bytes, "a", "2"), 0);
    assert_int_equal(lk_labels_set(&bytes, "B", "3"), 0);
    assert_string_equal(bytes.items[0].name, "B");
    assert_string_equal(bytes.items[2].name, "\xc3\xa9");
    lk_labels_clear(&bytes);
    lk_labels_clear(&labels);
}

static void test_labels_equal_and_copy(void **state)
{
    (void)state;
    lk_labels_t a = {0}, b = {0}, copy;
    lk_labels_set(&a, "x", "1");
    lk_labels_set(&a, "y", "2");
    lk_labels_set(&b, "y", "2");
    lk_labels_set(&b, "x", "1");
    assert_true(lk_labels_equal(&a, &b));
    lk_labels_set(&b, "y", "3");
    assert_false(lk_labels_equal(&a, &b));
    lk_labels_set(&b, "y", "2");
    lk_labels_set(&b, "z", "");
    assert_false(lk_labels_equal(&a, &b));

    assert_int_equal(lk_labels_copy(&copy, &a), 0);
    assert_true(lk_labels_equal(&copy, &a));
    assert_ptr_not_equal(copy.items, a.items);
    assert_ptr_not_equal(copy.items[0].name, a.items[0].name);
    lk_labels_set(&a, "x", "changed");
    assert_string_equal(lk_labels_get(&copy, "x"), "1");

    lk_labels_t empty = {0}, empty_copy;
    assert_int_equal(lk_labels_copy(&empty_copy, &empty), 0);
    assert_int_equal(empty_copy.count, 0);
    assert_true(lk_labels_equal(&empty, &empty_copy));
    lk_labels_clear(&a);
    lk_labels_clear(&b);
    lk_labels_clear(&copy);
}

/* A copy is packed (items and strings in one allocation): it reads like any set, and
   lk_labels_set on it (replace, insert) unpacks it first; under ASan a wrong free or a leak
   fails here. */
static void test_labels_packed(void **state)
{
    (void)state;
    lk_labels_t loose = {0}, packed;
    lk_labels_set(&loose, "job", "api");
    lk_labels_set(&loose, "alertname", "HighCPU");
    lk_labels_set(&loose, "empty", "");
    assert_false(loose.packed);
    assert_int_equal(lk_labels_copy(&packed, &loose), 0);
    assert_true(packed.packed);
    assert_true(lk_labels_equal(&packed, &loose));
    /* the strings live right after the items */
    const char *first = (const char *)(packed.items + packed.count);
    assert_ptr_equal(packed.items[0].name, first);
    assert_string_equal(packed.items[0].name, "alertname");
    assert_string_equal(lk_labels_get(&packed, "empty"), "");

    lk_labels_t again;
    assert_int_equal(lk_labels_copy(&again, &packed), 0);
    assert_true(lk_labels_equal(&again, &loose));
    assert_int_equal(lk_labels_set(&again, "job", "web"), 0); /* replace */
    assert_false(again.packed);
    assert_string_equal(lk_labels_get(&again, "job"), "web");
    assert_int_equal(lk_labels_set(&packed, "instance", "h1"), 0); /* insert */
    assert_false(packed.packed);
    assert_int_equal(packed.count, 4);
    assert_string_equal(packed.items[1].name, "empty");
    assert_string_equal(packed.items[2].name, "instance");
    assert_string_equal(lk_labels_get(&packed, "alertname"), "HighCPU");

    lk_labels_clear(&again);
    assert_false(again.packed);
    assert_null(again.items);
    lk_labels_clear(&packed);
    lk_labels_clear(&loose);
}

static void test_severity(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        lk_severity_t severity;
    } cases[] = {
        {"info", LK_SEV_INFO},         {"warning", LK_SEV_WARNING},   {"error", LK_SEV_ERROR},
        {"critical", LK_SEV_CRITICAL}, {"CRITICAL", LK_SEV_CRITICAL}, {"Warning", LK_SEV_WARNING},
        {"warn", LK_SEV_WARNING},      {"page", LK_SEV_CRITICAL},     {"high", LK_SEV_CRITICAL},
        {"HIGH", LK_SEV_CRITICAL},     {"low", LK_SEV_INFO},          {"medium", LK_SEV_WARNING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lk_severity_t severity = (lk_severity_t)99;
        assert_true(lk_severity_parse(cases[i].text, &severity));
        assert_int_equal(severity, cases[i].severity);
    }
    lk_severity_t untouched = LK_SEV_ERROR;
    assert_false(lk_severity_parse("severe", &untouched));
    assert_false(lk_severity_parse("", &untouched));
    assert_false(lk_severity_parse("criticall", &untouched));
    assert_false(lk_severity_parse(NULL, &untouched));
    assert_int_equal(untouched, LK_SEV_ERROR);
    assert_true(LK_SEV_CRITICAL > LK_SEV_ERROR && LK_SEV_ERROR > LK_SEV_WARNING &&
                LK_SEV_WARNING > LK_SEV_INFO);
    assert_string_equal(lk_severity_name(LK_SEV_INFO), "info");
    assert_string_equal(lk_severity_name(LK_SEV_WARNING), "warning");
    assert_string_equal(lk_severity_name(LK_SEV_ERROR), "error");
    assert_string_equal(lk_severity_name(LK_SEV_CRITICAL), "critical");
    assert_string_equal(lk_severity_name((lk_severity_t)17), "unknown");
}

static void test_statuses(void **state)
{
    (void)state;
    lk_alert_status_t alert_status;
    assert_true(lk_alert_status_parse("firing", &alert_status));
    assert_int_equal(alert_status, LK_ALERT_FIRING);
    assert_true(lk_alert_status_parse("Resolved", &alert_status));
    assert_int_equal(alert_status, LK_ALERT_RESOLVED);
    assert_false(lk_alert_status_parse("fired", &alert_status));
    assert_false(lk_alert_status_parse(NULL, &alert_status));
    assert_string_equal(lk_alert_status_name(LK_ALERT_FIRING), "firing");
    assert_string_equal(lk_alert_status_name(LK_ALERT_RESOLVED), "resolved");
    assert_string_equal(lk_alert_status_name((lk_alert_status_t)5), "unknown");

    const char *names[] = {"triggered", "acknowledged", "resolved", "closed"};
    for (int i = 0; i < 4; i++) {
        lk_incident_status_t status;
        assert_true(lk_incident_status_parse(names[i], &status));
        assert_int_equal(status, i);
        assert_string_equal(lk_incident_status_name(status), names[i]);
    }
    lk_incident_status_t status;
    assert_false(lk_incident_status_parse("open", &status));
    assert_string_equal(lk_incident_status_name((lk_incident_status_t)-1), "unknown");
}

static void test_alert_copy_is_deep(void **state)
{
    (void)state;
    lk_alert_t alert = {0};
    strcpy(alert.tenant_id, LK_SYSTEM_TENANT);
    strcpy(alert.fingerprint, "0123456789abcdef");
    alert.source = strdup("prometheus");
    alert.name = strdup("HighCPU");
    alert.query = strdup("cpu > 0.9");
    alert.generator_url = strdup("http://prom/graph");
    lk_labels_set(&alert.labels, "alertname", "HighCPU");
    lk_labels_set(&alert.annotations, "summary", "hot");
    alert.has_value = true;
    alert.value = 0.95;
    alert.starts_at_ms = 1000;

    lk_alert_t copy;
    assert_int_equal(lk_alert_copy(&copy, &alert), 0);
    assert_string_equal(copy.tenant_id, LK_SYSTEM_TENANT);
    assert_string_equal(copy.fingerprint, "0123456789abcdef");
    assert_string_equal(copy.source, "prometheus");
    assert_ptr_not_equal(copy.source, alert.source);
    assert_string_equal(copy.query, "cpu > 0.9");
    assert_null(copy.dedup_key);
    assert_string_equal(copy.generator_url, "http://prom/graph");
    assert_true(lk_labels_equal(&copy.labels, &alert.labels));
    assert_ptr_not_equal(copy.labels.items, alert.labels.items);
    assert_true(lk_labels_equal(&copy.annotations, &alert.annotations));
    assert_true(copy.has_value);
    assert_true(copy.value == 0.95);
    assert_int_equal(copy.starts_at_ms, 1000);

    lk_alert_clear(&alert);
    assert_null(alert.source);
    assert_int_equal(alert.labels.count, 0);
    assert_string_equal(alert.tenant_id, "");
    /* the copy survives the original */
    assert_string_equal(copy.name, "HighCPU");
    assert_string_equal(lk_labels_get(&copy.labels, "alertname"), "HighCPU");
    lk_alert_clear(&copy);
    lk_alert_clear(NULL);
}

static void test_incident_and_event_copy(void **state)
{
    (void)state;
    lk_incident_t incident = {0};
    strcpy(incident.id, "0190f000-0000-7000-8000-000000000001");
    incident.group_key = strdup("{}:{alertname=\"HighCPU\"}");
    incident.title = strdup("HighCPU");
    incident.summary = strdup("cpu hot");
    incident.acknowledged_by = strdup("alice");
    lk_labels_set(&incident.group_labels, "alertname", "HighCPU");
    incident.version = 42;
    incident.status = LK_INCIDENT_ACKNOWLEDGED;

    lk_incident_t copy;
    assert_int_equal(lk_incident_copy(&copy, &incident), 0);
    assert_string_equal(copy.id, incident.id);
    assert_string_equal(copy.group_key, incident.group_key);
    assert_ptr_not_equal(copy.group_key, incident.group_key);
    assert_string_equal(copy.acknowledged_by, "alice");
    assert_null(copy.resolved_by);
    assert_int_equal(copy.version, 42);
    assert_int_equal(copy.status, LK_INCIDENT_ACKNOWLEDGED);
    assert_true(lk_labels_equal(&copy.group_labels, &incident.group_labels));
    lk_incident_clear(&incident);
    assert_null(incident.title);
    assert_string_equal(copy.title, "HighCPU");
    lk_incident_clear(&copy);
    assert_int_equal(copy.version, 0);

    lk_event_t event = {0};
    event.sequence = 9;
    event.type = strdup("incident_triggered");
    event.actor = strdup("lookout");
    event.fingerprints = strdup("0123456789abcdef");
    lk_event_t event_copy;
    assert_int_equal(lk_event_copy(&event_copy, &event), 0);
    assert_string_equal(event_copy.type, "incident_triggered");
    assert_ptr_not_equal(event_copy.type, event.type);
    assert_null(event_copy.note);
    assert_string_equal(event_copy.fingerprints, "0123456789abcdef");
    assert_int_equal(event_copy.sequence, 9);
    lk_event_clear(&event);
    lk_event_clear(&event_copy);
    assert_null(event_copy.actor);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_set_keeps_sorted_and_unique),
        cmocka_unit_test(test_labels_many_random_inserts),
        cmocka_unit_test(test_labels_equal_and_copy),
        cmocka_unit_test(test_labels_packed),
        cmocka_unit_test(test_severity),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_alert_copy_is_deep),
        cmocka_unit_test(test_incident_and_event_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
