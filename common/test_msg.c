/*  Unit tests for lk_msg: every message type round-trips with every field; the decoder
    rejects malformed input cleanly (every truncation, every field given a wrong type, bad
    versions, types, UUIDs, fingerprints, enum names, oversize arrays and strings) and
    survives a seeded fuzz loop; lk_msgpack_to_json and lk_shard_of behave as documented.
    Every buffer handed to the decoder is its own exact-size allocation, so a sanitizer
    build catches any read past the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_fingerprint.h"
#include "lk_msg.h"

#define T_TENANT   "0190f1a2-3b4c-7d5e-8f60-718293a4b5c6"
#define T_INCIDENT "0190f1a2-3b4c-7d5e-8f60-000000000001"
#define T_EVENT    "0190f1a2-3b4c-7d5e-8f60-00000000000e"

/* ---- fixtures -------------------------------------------------------------------------- */

static char *s_format(const char *format, int i)
{
    char text[128];
    snprintf(text, sizeof text, format, i);
    return strdup(text);
}

static void s_fill_alert(lk_alert_t *alert, int i)
{
    memset(alert, 0, sizeof *alert);
    strcpy(alert->tenant_id, T_TENANT);
    strcpy(alert->incident_id, T_INCIDENT);
    alert->source = strdup("prometheus");
    alert->name = s_format("Alert%d", i);
    alert->query = strdup("rate(errors[5m]) > 0.1");
    alert->dedup_key = s_format("key-%d", i);
    alert->generator_url = strdup("http://prometheus:9090/graph?g0.expr=up");
    lk_labels_set(&alert->labels, "alertname", alert->name);
    lk_labels_set(&alert->labels, "env", "prod");
    lk_labels_set(&alert->labels, "instance", "10.0.0.1:9100");
    lk_labels_set(&alert->annotations, "summary", "errors are high \xe2\x9c\x93");
    lk_labels_set(&alert->annotations, "runbook", "");
    alert->severity = LK_SEV_ERROR;
    alert->status = LK_ALERT_RESOLVED;
    alert->has_value = true;
    alert->value = 0.25 + i;
    alert->has_threshold = true;
    alert->threshold = -1e300;
    alert->starts_at_ms = -1000 - i; /* signed times survive */
    alert->ends_at_ms = 1795338000123;
    alert->updated_at_ms = INT64_MAX;
    lk_fingerprint_alert(alert);
}

static void s_fill_incident(lk_incident_t *incident, int i)
{
    memset(incident, 0, sizeof *incident);
    strcpy(incident->id, T_INCIDENT);
    incident->id[35] = (char)('0' + i % 10);
    strcpy(incident->tenant_id, T_TENANT);
    incident->group_key = strdup("{}:{alertname=\"HighCPU\"}");
    incident->title = s_format("HighCPU %d", i);
    incident->summary = strdup("cpu is hot");
    incident->acknowledged_by = strdup("alice");
    incident->resolved_by = strdup("bob");
    lk_labels_set(&incident->group_labels, "alertname", "HighCPU");
    incident->severity = LK_SEV_CRITICAL;
    incident->status = LK_INCIDENT_CLOSED;
    incident->alert_count = UINT32_MAX;
    incident->firing_count = 3;
    incident->reopen_count = 2;
    incident->version = UINT64_MAX;
    incident->created_at_ms = 1795338000123;
    incident->updated_at_ms = 1795338000124;
    incident->acknowledged_at_ms = 1795338000125;
    incident->resolved_at_ms = 1795338000126;
}

static void s_fill_event(lk_event_t *event, int i)
{
    memset(event, 0, sizeof *event);
    event->sequence = 1000 + (uint64_t)i;
    strcpy(event->event_id, T_EVENT);
    strcpy(event->tenant_id, T_TENANT);
    strcpy(event->incident_id, T_INCIDENT);
    event->type = strdup("alert_added");
    event->actor = strdup("lookout");
    event->note = s_format("note %d", i);
    event->fingerprint = strdup("0123456789abcdef");
    event->at_ms = 1795338000123;
}

static void s_add_alerts(lk_msg_t *msg, int count)
{
    for (int i = 0; i < count; i++) {
        lk_alert_t alert;
        s_fill_alert(&alert, i);
        assert_int_equal(lk_msg_add_alert(msg, &alert), 0);
        lk_alert_clear(&alert);
    }
}

static void s_add_incidents(lk_msg_t *msg, int count)
{
    for (int i = 0; i < count; i++) {
        lk_incident_t incident;
        s_fill_incident(&incident, i);
        assert_int_equal(lk_msg_add_incident(msg, &incident), 0);
        lk_incident_clear(&incident);
    }
}

static void s_add_events(lk_msg_t *msg, int count)
{
    for (int i = 0; i < count; i++) {
        lk_event_t event;
        s_fill_event(&event, i);
        assert_int_equal(lk_msg_add_event(msg, &event), 0);
        lk_event_clear(&event);
    }
}

/*  A message of type with every field that type uses populated, and no other. */
static void s_full_msg(lk_msg_t *msg, lk_msg_type_t type)
{
    lk_msg_init(msg, type);
    msg->req = 0xfedcba9876543210ULL;
    switch (type) {
    case LK_MSG_ALERT_BATCH:
        strcpy(msg->tenant_id, T_TENANT);
        s_add_alerts(msg, 4);
        break;
    case LK_MSG_ALERT_REPLY:
        msg->status = LK_STATUS_INVALID;
        msg->error = strdup("some alerts are invalid");
        for (int i = 0; i < 4; i++) {
            lk_alert_result_t result = {.outcome = (lk_outcome_t)i};
            strcpy(result.fingerprint, "0123456789abcdef");
            strcpy(result.incident_id, i == 3 ? "" : T_INCIDENT);
            assert_int_equal(lk_msg_add_result(msg, &result), 0);
        }
        break;
    case LK_MSG_COMMAND:
        strcpy(msg->tenant_id, T_TENANT);
        msg->action = LK_ACTION_RESOLVE;
        strcpy(msg->incident_id, T_INCIDENT);
        msg->actor = strdup("alice");
        msg->note = strdup("fixed the disk");
        break;
    case LK_MSG_COMMAND_REPLY:
        msg->status = LK_STATUS_CONFLICT;
        msg->error = strdup("incident is closed");
        msg->changed = true;
        s_add_incidents(msg, 1);
        break;
    case LK_MSG_MUTATION_BATCH:
        s_add_alerts(msg, 3);
        s_add_incidents(msg, 2);
        s_add_events(msg, 3);
        break;
    case LK_MSG_MUTATION_ACK:
        msg->status = LK_STATUS_ERROR;
        msg->error = strdup("disk full");
        break;
    case LK_MSG_QUERY:
        strcpy(msg->tenant_id, T_TENANT);
        msg->query.kind = LK_QUERY_SNAPSHOT;
        msg->query.status_mask = (1u << LK_INCIDENT_TRIGGERED) | (1u << LK_INCIDENT_RESOLVED);
        msg->query.severity_min = LK_SEV_WARNING;
        msg->query.since_ms = -5;
        msg->query.until_ms = 1795338000123;
        lk_labels_set(&msg->query.labels, "env", "prod");
        lk_labels_set(&msg->query.labels, "team", "db");
        msg->query.limit = 500;
        msg->query.cursor = strdup("opaque-cursor==");
        strcpy(msg->query.incident_id, T_INCIDENT);
        msg->query.shard_count = 8;
        msg->query.shard_index = 7;
        msg->query.after_sequence = UINT64_MAX;
        break;
    case LK_MSG_QUERY_REPLY:
        msg->status = LK_STATUS_NOT_FOUND;
        msg->error = strdup("no such incident");
        s_add_incidents(msg, 2);
        s_add_alerts(msg, 2);
        s_add_events(msg, 2);
        msg->next_cursor = strdup("next");
        break;
    case LK_MSG_EVENT:
        strcpy(msg->tenant_id, T_TENANT);
        s_add_events(msg, 1);
        s_add_incidents(msg, 1);
        break;
    default:
        fail();
    }
}

/* ---- comparisons ----------------------------------------------------------------------- */

static void s_assert_opt_str(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/*  Equal doubles, treating NaN as equal to NaN (fuzzed input can carry one). */
static void s_assert_same_double(double a, double b)
{
    assert_true(a == b || (isnan(a) && isnan(b)));
}

static void s_assert_alert_equal(const lk_alert_t *a, const lk_alert_t *b)
{
    assert_string_equal(a->tenant_id, b->tenant_id);
    assert_string_equal(a->fingerprint, b->fingerprint);
    assert_string_equal(a->incident_id, b->incident_id);
    s_assert_opt_str(a->source, b->source);
    s_assert_opt_str(a->name, b->name);
    s_assert_opt_str(a->query, b->query);
    s_assert_opt_str(a->dedup_key, b->dedup_key);
    s_assert_opt_str(a->generator_url, b->generator_url);
    assert_true(lk_labels_equal(&a->labels, &b->labels));
    assert_true(lk_labels_equal(&a->annotations, &b->annotations));
    assert_int_equal(a->severity, b->severity);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->has_value, b->has_value);
    assert_int_equal(a->has_threshold, b->has_threshold);
    if (a->has_value)
        s_assert_same_double(a->value, b->value);
    if (a->has_threshold)
        s_assert_same_double(a->threshold, b->threshold);
    assert_true(a->starts_at_ms == b->starts_at_ms);
    assert_true(a->ends_at_ms == b->ends_at_ms);
    assert_true(a->updated_at_ms == b->updated_at_ms);
}

static void s_assert_incident_equal(const lk_incident_t *a, const lk_incident_t *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->tenant_id, b->tenant_id);
    s_assert_opt_str(a->group_key, b->group_key);
    s_assert_opt_str(a->title, b->title);
    s_assert_opt_str(a->summary, b->summary);
    s_assert_opt_str(a->acknowledged_by, b->acknowledged_by);
    s_assert_opt_str(a->resolved_by, b->resolved_by);
    assert_true(lk_labels_equal(&a->group_labels, &b->group_labels));
    assert_int_equal(a->severity, b->severity);
    assert_int_equal(a->status, b->status);
    assert_true(a->alert_count == b->alert_count);
    assert_true(a->firing_count == b->firing_count);
    assert_true(a->reopen_count == b->reopen_count);
    assert_true(a->version == b->version);
    assert_true(a->created_at_ms == b->created_at_ms);
    assert_true(a->updated_at_ms == b->updated_at_ms);
    assert_true(a->acknowledged_at_ms == b->acknowledged_at_ms);
    assert_true(a->resolved_at_ms == b->resolved_at_ms);
}

static void s_assert_event_equal(const lk_event_t *a, const lk_event_t *b)
{
    assert_true(a->sequence == b->sequence);
    assert_string_equal(a->event_id, b->event_id);
    assert_string_equal(a->tenant_id, b->tenant_id);
    assert_string_equal(a->incident_id, b->incident_id);
    s_assert_opt_str(a->type, b->type);
    s_assert_opt_str(a->actor, b->actor);
    s_assert_opt_str(a->note, b->note);
    s_assert_opt_str(a->fingerprint, b->fingerprint);
    assert_true(a->at_ms == b->at_ms);
}

static void s_assert_msg_equal(const lk_msg_t *a, const lk_msg_t *b)
{
    assert_int_equal(a->type, b->type);
    assert_true(a->req == b->req);
    assert_string_equal(a->tenant_id, b->tenant_id);
    assert_int_equal(a->status, b->status);
    s_assert_opt_str(a->error, b->error);
    assert_int_equal(a->changed, b->changed);
    assert_int_equal(a->action, b->action);
    assert_string_equal(a->incident_id, b->incident_id);
    s_assert_opt_str(a->actor, b->actor);
    s_assert_opt_str(a->note, b->note);
    s_assert_opt_str(a->next_cursor, b->next_cursor);
    assert_int_equal(a->query.kind, b->query.kind);
    assert_true(a->query.status_mask == b->query.status_mask);
    assert_int_equal(a->query.severity_min, b->query.severity_min);
    assert_true(a->query.since_ms == b->query.since_ms);
    assert_true(a->query.until_ms == b->query.until_ms);
    assert_true(lk_labels_equal(&a->query.labels, &b->query.labels));
    assert_true(a->query.limit == b->query.limit);
    s_assert_opt_str(a->query.cursor, b->query.cursor);
    assert_string_equal(a->query.incident_id, b->query.incident_id);
    assert_true(a->query.shard_count == b->query.shard_count);
    assert_true(a->query.shard_index == b->query.shard_index);
    assert_true(a->query.after_sequence == b->query.after_sequence);
    assert_int_equal(a->alert_count, b->alert_count);
    for (size_t i = 0; i < a->alert_count; i++)
        s_assert_alert_equal(&a->alerts[i], &b->alerts[i]);
    assert_int_equal(a->incident_count, b->incident_count);
    for (size_t i = 0; i < a->incident_count; i++)
        s_assert_incident_equal(&a->incidents[i], &b->incidents[i]);
    assert_int_equal(a->event_count, b->event_count);
    for (size_t i = 0; i < a->event_count; i++)
        s_assert_event_equal(&a->events[i], &b->events[i]);
    assert_int_equal(a->result_count, b->result_count);
    for (size_t i = 0; i < a->result_count; i++) {
        assert_int_equal(a->results[i].outcome, b->results[i].outcome);
        assert_string_equal(a->results[i].fingerprint, b->results[i].fingerprint);
        assert_string_equal(a->results[i].incident_id, b->results[i].incident_id);
    }
}

/*  Asserts a failed decode left msg cleared. */
static void s_assert_cleared(const lk_msg_t *msg)
{
    assert_int_equal(msg->type, LK_MSG_INVALID);
    assert_null(msg->alerts);
    assert_null(msg->incidents);
    assert_null(msg->events);
    assert_null(msg->results);
    assert_null(msg->error);
    assert_int_equal(msg->alert_count + msg->incident_count + msg->event_count, 0);
}

/*  Decodes a private exact-size copy of data, so sanitizers see any over-read. */
static int s_decode_copy(const void *data, size_t size, lk_msg_t *msg, char *err, size_t err_size)
{
    void *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    if (size)
        memcpy(copy, data, size);
    int rc = lk_msg_decode(size ? copy : NULL, size, msg, err, err_size);
    free(copy);
    if (rc != 0)
        s_assert_cleared(msg);
    return rc;
}

/*  Encodes msg, decodes it, and expects failure with reason containing expected_reason. */
static void s_expect_rejected(const lk_msg_t *msg, const char *expected_reason)
{
    char *data;
    size_t size;
    assert_int_equal(lk_msg_encode(msg, &data, &size), 0);
    lk_msg_t decoded;
    char err[256];
    assert_int_equal(s_decode_copy(data, size, &decoded, err, sizeof err), -1);
    if (!strstr(err, expected_reason))
        fail_msg("reason \"%s\" lacks \"%s\"", err, expected_reason);
    free(data);
}

/* ---- round trips ----------------------------------------------------------------------- */

static void test_roundtrip_every_type(void **state)
{
    (void)state;
    for (int type = LK_MSG_ALERT_BATCH; type < LK_MSG_TYPE_COUNT; type++) {
        lk_msg_t msg, decoded;
        s_full_msg(&msg, (lk_msg_type_t)type);
        char *data;
        size_t size;
        assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
        assert_non_null(data);
        char err[256] = "";
        if (s_decode_copy(data, size, &decoded, err, sizeof err) != 0)
            fail_msg("%s: %s", lk_msg_type_name((lk_msg_type_t)type), err);
        s_assert_msg_equal(&msg, &decoded);
        /* re-encoding what was decoded gives the same bytes */
        char *again;
        size_t again_size;
        assert_int_equal(lk_msg_encode(&decoded, &again, &again_size), 0);
        assert_int_equal(again_size, size);
        assert_memory_equal(again, data, size);
        free(again);
        free(data);
        lk_msg_clear(&decoded);
        lk_msg_clear(&msg);
        assert_int_equal(msg.type, LK_MSG_INVALID);
    }
}

static void test_roundtrip_optional_fields_absent(void **state)
{
    (void)state;
    lk_msg_t msg, decoded;
    lk_msg_init(&msg, LK_MSG_MUTATION_BATCH);
    lk_alert_t alert = {0};
    strcpy(alert.tenant_id, T_TENANT);
    alert.source = strdup("api");
    alert.name = strdup("Bare");
    alert.starts_at_ms = 1;
    assert_int_equal(lk_msg_add_alert(&msg, &alert), 0);
    lk_alert_clear(&alert);
    lk_incident_t incident;
    s_fill_incident(&incident, 0);
    free(incident.acknowledged_by);
    free(incident.resolved_by);
    incident.acknowledged_by = incident.resolved_by = NULL;
    lk_labels_clear(&incident.group_labels);
    assert_int_equal(lk_msg_add_incident(&msg, &incident), 0);
    lk_incident_clear(&incident);
    lk_event_t event;
    s_fill_event(&event, 0);
    free(event.note);
    free(event.fingerprint);
    event.note = event.fingerprint = NULL;
    assert_int_equal(lk_msg_add_event(&msg, &event), 0);
    lk_event_clear(&event);

    char *data;
    size_t size;
    char err[256];
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    assert_int_equal(s_decode_copy(data, size, &decoded, err, sizeof err), 0);
    s_assert_msg_equal(&msg, &decoded);
    assert_null(decoded.alerts[0].query);
    assert_false(decoded.alerts[0].has_value);
    assert_string_equal(decoded.alerts[0].fingerprint, "");
    assert_string_equal(decoded.alerts[0].incident_id, "");
    assert_null(decoded.incidents[0].acknowledged_by);
    assert_null(decoded.events[0].note);
    free(data);
    lk_msg_clear(&decoded);
    lk_msg_clear(&msg);

    /* a query with only defaults, and empty replies */
    lk_msg_init(&msg, LK_MSG_QUERY);
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    assert_int_equal(s_decode_copy(data, size, &decoded, err, sizeof err), 0);
    assert_int_equal(decoded.query.severity_min, -1);
    assert_null(decoded.query.cursor);
    s_assert_msg_equal(&msg, &decoded);
    free(data);
    lk_msg_clear(&decoded);
    lk_msg_clear(&msg);

    lk_msg_init(&msg, LK_MSG_QUERY_REPLY);
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    assert_int_equal(s_decode_copy(data, size, &decoded, err, sizeof err), 0);
    s_assert_msg_equal(&msg, &decoded);
    assert_null(decoded.next_cursor);
    assert_null(decoded.error);
    free(data);
    lk_msg_clear(&decoded);
    lk_msg_clear(&msg);
}

static void test_add_copies_deeply(void **state)
{
    (void)state;
    lk_msg_t msg;
    lk_msg_init(&msg, LK_MSG_ALERT_BATCH);
    assert_int_equal(msg.query.severity_min, -1);
    lk_alert_t alert;
    s_fill_alert(&alert, 1);
    assert_int_equal(lk_msg_add_alert(&msg, &alert), 0);
    assert_ptr_not_equal(msg.alerts[0].name, alert.name);
    lk_labels_set(&alert.labels, "env", "dev");
    assert_string_equal(lk_labels_get(&msg.alerts[0].labels, "env"), "prod");
    lk_alert_clear(&alert);
    assert_string_equal(msg.alerts[0].name, "Alert1");
    lk_msg_clear(&msg);
}

static void test_encode_uses_only_the_types_fields(void **state)
{
    (void)state;
    /* a mutation_ack carrying stray arrays encodes none of them */
    lk_msg_t msg, decoded;
    s_full_msg(&msg, LK_MSG_MUTATION_ACK);
    s_add_alerts(&msg, 2);
    msg.actor = strdup("stray");
    char *data;
    size_t size;
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    char *json_text = lk_msgpack_to_json(data, size);
    assert_non_null(json_text);
    json_t *json = json_loads(json_text, 0, NULL);
    assert_non_null(json);
    assert_int_equal(json_object_size(json), 5);
    assert_string_equal(json_string_value(json_object_get(json, "type")), "mutation_ack");
    assert_int_equal(json_integer_value(json_object_get(json, "v")), LK_MSG_VERSION);
    assert_non_null(json_object_get(json, "req"));
    assert_string_equal(json_string_value(json_object_get(json, "status")), "error");
    assert_string_equal(json_string_value(json_object_get(json, "error")), "disk full");
    json_decref(json);
    free(json_text);
    char err[256];
    assert_int_equal(s_decode_copy(data, size, &decoded, err, sizeof err), 0);
    assert_int_equal(decoded.alert_count, 0);
    assert_null(decoded.actor);
    free(data);
    lk_msg_clear(&decoded);
    lk_msg_clear(&msg);

    /* command: exactly the envelope and its fields, under the short keys */
    s_full_msg(&msg, LK_MSG_COMMAND);
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    json_text = lk_msgpack_to_json(data, size);
    json = json_loads(json_text, 0, NULL);
    assert_non_null(json);
    assert_int_equal(json_object_size(json), 8);
    assert_string_equal(json_string_value(json_object_get(json, "tenant")), T_TENANT);
    assert_string_equal(json_string_value(json_object_get(json, "action")), "resolve");
    assert_string_equal(json_string_value(json_object_get(json, "incident_id")), T_INCIDENT);
    assert_string_equal(json_string_value(json_object_get(json, "actor")), "alice");
    assert_string_equal(json_string_value(json_object_get(json, "note")), "fixed the disk");
    json_decref(json);
    free(json_text);
    free(data);
    lk_msg_clear(&msg);

    /* an invalid type is a programming error: -1 */
    lk_msg_init(&msg, LK_MSG_INVALID);
    assert_int_equal(lk_msg_encode(&msg, &data, &size), -1);
    msg.type = LK_MSG_TYPE_COUNT;
    assert_int_equal(lk_msg_encode(&msg, &data, &size), -1);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(lk_msg_type_name(LK_MSG_ALERT_BATCH), "alert_batch");
    assert_string_equal(lk_msg_type_name(LK_MSG_QUERY_REPLY), "query_reply");
    assert_string_equal(lk_msg_type_name(LK_MSG_EVENT), "event");
    assert_string_equal(lk_msg_type_name(LK_MSG_TYPE_COUNT), "unknown");
    assert_string_equal(lk_status_name(LK_STATUS_OK), "ok");
    assert_string_equal(lk_status_name(LK_STATUS_NOT_FOUND), "not_found");
    assert_string_equal(lk_status_name(LK_STATUS_UNAVAILABLE), "unavailable");
    assert_string_equal(lk_status_name(LK_STATUS_ERROR), "error");
    assert_string_equal(lk_outcome_name(LK_OUTCOME_NEW), "new");
    assert_string_equal(lk_outcome_name(LK_OUTCOME_IGNORED), "ignored");
    assert_string_equal(lk_action_name(LK_ACTION_ACKNOWLEDGE), "acknowledge");
    assert_string_equal(lk_action_name(LK_ACTION_RESOLVE), "resolve");
    assert_string_equal(lk_action_name((lk_action_t)9), "unknown");
}

/* ---- rejection ------------------------------------------------------------------------- */

static void test_every_truncation_fails(void **state)
{
    (void)state;
    for (int type = LK_MSG_ALERT_BATCH; type < LK_MSG_TYPE_COUNT; type++) {
        lk_msg_t msg, decoded;
        s_full_msg(&msg, (lk_msg_type_t)type);
        char *data;
        size_t size;
        assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
        for (size_t length = 0; length < size; length++) {
            char err[256] = "";
            assert_int_equal(s_decode_copy(data, length, &decoded, err, sizeof err), -1);
            assert_true(err[0] != '\0');
            char *prefix = malloc(length + 1);
            memcpy(prefix, data, length);
            assert_null(lk_msgpack_to_json(prefix, length));
            free(prefix);
        }
        /* and one trailing byte is rejected too */
        char *longer = malloc(size + 1);
        memcpy(longer, data, size);
        longer[size] = (char)0xc0;
        char err[256];
        assert_int_equal(s_decode_copy(longer, size + 1, &decoded, err, sizeof err), -1);
        assert_non_null(strstr(err, "trailing"));
        assert_null(lk_msgpack_to_json(longer, size + 1));
        free(longer);
        free(data);
        lk_msg_clear(&msg);
    }
}

/*  Re-packs a decoded msgpack tree, replacing the node at pre-order index target (or at
    path target_path) with substitute(); counts nodes in *counter. */
typedef void(s_substitute_fn)(msgpack_packer *pk, const msgpack_object *original);

typedef struct {
    long target;
    const char *target_path;
    long counter;
    s_substitute_fn *substitute;
    bool replaced;
} s_rewrite_t;

static void s_repack(msgpack_packer *pk, const msgpack_object *object, s_rewrite_t *rewrite,
                     const char *path)
{
    long index = rewrite->counter++;
    if (index == rewrite->target ||
        (rewrite->target_path && strcmp(path, rewrite->target_path) == 0)) {
        rewrite->substitute(pk, object);
        rewrite->replaced = true;
        return;
    }
    char child[256];
    if (object->type == MSGPACK_OBJECT_MAP) {
        msgpack_pack_map(pk, object->via.map.size);
        for (uint32_t i = 0; i < object->via.map.size; i++) {
            const msgpack_object *key = &object->via.map.ptr[i].key;
            msgpack_pack_object(pk, *key);
            if (key->type == MSGPACK_OBJECT_STR)
                snprintf(child, sizeof child, "%s%s%.*s", path, path[0] ? "." : "",
                         (int)key->via.str.size, key->via.str.ptr);
            else
                snprintf(child, sizeof child, "%s.?", path);
            s_repack(pk, &object->via.map.ptr[i].val, rewrite, child);
        }
    } else if (object->type == MSGPACK_OBJECT_ARRAY) {
        msgpack_pack_array(pk, object->via.array.size);
        for (uint32_t i = 0; i < object->via.array.size; i++) {
            snprintf(child, sizeof child, "%s[%u]", path, i);
            s_repack(pk, &object->via.array.ptr[i], rewrite, child);
        }
    } else
        msgpack_pack_object(pk, *object);
}

/*  Rewrites data per rewrite into a new malloc'd buffer (*out, *out_size). */
static void s_rewrite(const char *data, size_t size, s_rewrite_t *rewrite, char **out,
                      size_t *out_size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t offset = 0;
    assert_int_equal(msgpack_unpack_next(&unpacked, data, size, &offset), MSGPACK_UNPACK_SUCCESS);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buffer, msgpack_sbuffer_write);
    rewrite->counter = 0;
    rewrite->replaced = false;
    s_repack(&pk, &unpacked.data, rewrite, "");
    *out_size = buffer.size;
    *out = msgpack_sbuffer_release(&buffer);
    msgpack_unpacked_destroy(&unpacked);
}

/*  A value of a type the decoder never accepts where original stood. */
static void s_wrong_type(msgpack_packer *pk, const msgpack_object *original)
{
    switch (original->type) {
    case MSGPACK_OBJECT_STR:
        msgpack_pack_int(pk, 7);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        msgpack_pack_int(pk, 1);
        break;
    case MSGPACK_OBJECT_MAP:
        msgpack_pack_array(pk, 0);
        break;
    default: /* integers, floats, arrays */
        msgpack_pack_str(pk, 1);
        msgpack_pack_str_body(pk, "x", 1);
        break;
    }
}

static void test_every_field_with_a_wrong_type_fails(void **state)
{
    (void)state;
    long checked = 0;
    for (int type = LK_MSG_ALERT_BATCH; type < LK_MSG_TYPE_COUNT; type++) {
        lk_msg_t msg, decoded;
        s_full_msg(&msg, (lk_msg_type_t)type);
        char *data;
        size_t size;
        assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
        s_rewrite_t count = {.target = -1, .substitute = s_wrong_type};
        char *out;
        size_t out_size;
        s_rewrite(data, size, &count, &out, &out_size);
        free(out);
        for (long target = 0; target < count.counter; target++) {
            s_rewrite_t rewrite = {.target = target, .substitute = s_wrong_type};
            s_rewrite(data, size, &rewrite, &out, &out_size);
            assert_true(rewrite.replaced);
            char err[256];
            if (s_decode_copy(out, out_size, &decoded, err, sizeof err) == 0)
                fail_msg("%s: node %ld with a wrong type was accepted",
                         lk_msg_type_name((lk_msg_type_t)type), target);
            free(out);
            checked++;
        }
        free(data);
        lk_msg_clear(&msg);
    }
    assert_true(checked > 300);
}

static void s_int_value(msgpack_packer *pk, const msgpack_object *original)
{
    (void)original;
    msgpack_pack_int(pk, 5);
}
static void s_nil_value(msgpack_packer *pk, const msgpack_object *original)
{
    (void)original;
    msgpack_pack_nil(pk);
}
static void s_float32_value(msgpack_packer *pk, const msgpack_object *original)
{
    (void)original;
    msgpack_pack_float(pk, 1.5f);
}
static void s_negative_value(msgpack_packer *pk, const msgpack_object *original)
{
    (void)original;
    msgpack_pack_int64(pk, -5);
}
static void s_big_value(msgpack_packer *pk, const msgpack_object *original)
{
    (void)original;
    msgpack_pack_uint64(pk, (uint64_t)UINT32_MAX + 1);
}
static void s_nul_string(msgpack_packer *pk, const msgpack_object *original)
{
    (void)original;
    msgpack_pack_str(pk, 4);
    msgpack_pack_str_body(pk, "ab\0c", 4);
}
static void s_bad_utf8(msgpack_packer *pk, const msgpack_object *original)
{
    (void)original;
    msgpack_pack_str(pk, 3);
    msgpack_pack_str_body(pk, "a\xc0\xaf", 3); /* overlong '/' */
}
static void s_duplicate_labels(msgpack_packer *pk, const msgpack_object *original)
{
    (void)original;
    msgpack_pack_map(pk, 2);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_str(pk, 3);
        msgpack_pack_str_body(pk, "env", 3);
        msgpack_pack_str(pk, 1);
        msgpack_pack_str_body(pk, i ? "b" : "a", 1);
    }
}
static void s_empty_label_name(msgpack_packer *pk, const msgpack_object *original)
{
    (void)original;
    msgpack_pack_map(pk, 1);
    msgpack_pack_str(pk, 0);
    msgpack_pack_str(pk, 1);
    msgpack_pack_str_body(pk, "a", 1);
}
static void s_string_2_events(msgpack_packer *pk, const msgpack_object *original)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_object(pk, original->via.array.ptr[0]);
    msgpack_pack_object(pk, original->via.array.ptr[0]);
}

/*  Rewrites the full message of type at path with substitute and decodes it. Returns the
    decode result; err gets the reason; on success *decoded holds the message. */
static int s_decode_rewritten(lk_msg_type_t type, const char *path, s_substitute_fn *substitute,
                              lk_msg_t *decoded, char *err, size_t err_size)
{
    lk_msg_t msg;
    s_full_msg(&msg, type);
    char *data, *out;
    size_t size, out_size;
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    s_rewrite_t rewrite = {.target = -1, .target_path = path, .substitute = substitute};
    s_rewrite(data, size, &rewrite, &out, &out_size);
    if (!rewrite.replaced)
        fail_msg("no node at %s", path);
    int rc = s_decode_copy(out, out_size, decoded, err, err_size);
    free(out);
    free(data);
    lk_msg_clear(&msg);
    return rc;
}

static void s_expect_path_error(lk_msg_type_t type, const char *path, s_substitute_fn *substitute,
                                const char *expected)
{
    lk_msg_t decoded;
    char err[256] = "";
    assert_int_equal(s_decode_rewritten(type, path, substitute, &decoded, err, sizeof err), -1);
    if (strcmp(err, expected) != 0)
        fail_msg("got \"%s\", expected \"%s\"", err, expected);
}

static void test_error_names_the_path(void **state)
{
    (void)state;
    s_expect_path_error(LK_MSG_ALERT_BATCH, "alerts[3].labels.env", s_int_value,
                        "alert_batch: alerts[3].labels.env: not a string");
    s_expect_path_error(LK_MSG_ALERT_BATCH, "alerts[0].source", s_nil_value,
                        "alert_batch: alerts[0].source: missing");
    s_expect_path_error(LK_MSG_COMMAND, "actor", s_nul_string,
                        "command: actor: string contains a NUL byte");
    s_expect_path_error(LK_MSG_COMMAND, "note", s_bad_utf8,
                        "command: note: string is not valid UTF-8");
    s_expect_path_error(LK_MSG_MUTATION_BATCH, "incidents[1].alert_count", s_big_value,
                        "mutation_batch: incidents[1].alert_count: out of range");
    s_expect_path_error(LK_MSG_MUTATION_BATCH, "events[2].sequence", s_negative_value,
                        "mutation_batch: events[2].sequence: negative");
    s_expect_path_error(LK_MSG_QUERY_REPLY, "alerts[1].labels", s_duplicate_labels,
                        "query_reply: alerts[1].labels.env: duplicate name");
    s_expect_path_error(LK_MSG_QUERY, "query.labels", s_empty_label_name,
                        "query: query.labels[0]: empty name");
    s_expect_path_error(LK_MSG_EVENT, "events", s_string_2_events,
                        "event: events: more than 1 items");
    s_expect_path_error(LK_MSG_COMMAND_REPLY, "incidents", s_string_2_events,
                        "command_reply: incidents: more than 1 items");
    s_expect_path_error(LK_MSG_ALERT_REPLY, "req", s_negative_value, "alert_reply: req: negative");
    s_expect_path_error(LK_MSG_ALERT_BATCH, "tenant", s_nil_value, "alert_batch: tenant: missing");
}

static void test_lenient_where_documented(void **state)
{
    (void)state;
    lk_msg_t decoded;
    char err[256];
    /* optional fields may be nil */
    assert_int_equal(s_decode_rewritten(LK_MSG_ALERT_BATCH, "alerts[0].query", s_nil_value,
                                        &decoded, err, sizeof err),
                     0);
    assert_null(decoded.alerts[0].query);
    lk_msg_clear(&decoded);
    assert_int_equal(s_decode_rewritten(LK_MSG_ALERT_BATCH, "alerts[2].value", s_nil_value,
                                        &decoded, err, sizeof err),
                     0);
    assert_false(decoded.alerts[2].has_value);
    lk_msg_clear(&decoded);
    /* numbers accept float32 and integers */
    assert_int_equal(s_decode_rewritten(LK_MSG_ALERT_BATCH, "alerts[0].value", s_float32_value,
                                        &decoded, err, sizeof err),
                     0);
    assert_true(decoded.alerts[0].value == 1.5);
    lk_msg_clear(&decoded);
    assert_int_equal(s_decode_rewritten(LK_MSG_ALERT_BATCH, "alerts[0].threshold", s_negative_value,
                                        &decoded, err, sizeof err),
                     0);
    assert_true(decoded.alerts[0].threshold == -5.0);
    lk_msg_clear(&decoded);
    /* signed fields take negative integers */
    assert_int_equal(s_decode_rewritten(LK_MSG_EVENT, "events[0].at", s_negative_value, &decoded,
                                        err, sizeof err),
                     0);
    assert_true(decoded.events[0].at_ms == -5);
    lk_msg_clear(&decoded);
    /* the envelope tenant is optional on a query */
    assert_int_equal(
        s_decode_rewritten(LK_MSG_QUERY, "tenant", s_nil_value, &decoded, err, sizeof err), 0);
    assert_string_equal(decoded.tenant_id, "");
    lk_msg_clear(&decoded);
}

static void test_unknown_keys_are_ignored(void **state)
{
    (void)state;
    lk_msg_t msg, decoded;
    s_full_msg(&msg, LK_MSG_COMMAND);
    char *data;
    size_t size;
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t offset = 0;
    assert_int_equal(msgpack_unpack_next(&unpacked, data, size, &offset), MSGPACK_UNPACK_SUCCESS);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buffer, msgpack_sbuffer_write);
    const msgpack_object_map *map = &unpacked.data.via.map;
    msgpack_pack_map(&pk, map->size + 2);
    msgpack_pack_str(&pk, 10);
    msgpack_pack_str_body(&pk, "future_key", 10);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_int(&pk, 42); /* a non-string key */
    msgpack_pack_bin(&pk, 2);
    msgpack_pack_bin_body(&pk, "\x00\x01", 2);
    for (uint32_t i = 0; i < map->size; i++) {
        msgpack_pack_object(&pk, map->ptr[i].key);
        msgpack_pack_object(&pk, map->ptr[i].val);
    }
    char err[256];
    assert_int_equal(s_decode_copy(buffer.data, buffer.size, &decoded, err, sizeof err), 0);
    s_assert_msg_equal(&msg, &decoded);
    lk_msg_clear(&decoded);
    msgpack_sbuffer_destroy(&buffer);
    msgpack_unpacked_destroy(&unpacked);
    free(data);
    lk_msg_clear(&msg);
}

/*  A packer over a fresh buffer, for hand-built messages. */
typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer pk;
} s_builder_t;

static void s_builder_init(s_builder_t *builder)
{
    msgpack_sbuffer_init(&builder->buffer);
    msgpack_packer_init(&builder->pk, &builder->buffer, msgpack_sbuffer_write);
}

static void s_put_str(s_builder_t *builder, const char *text)
{
    msgpack_pack_str(&builder->pk, strlen(text));
    msgpack_pack_str_body(&builder->pk, text, strlen(text));
}

/*  Starts a map of fields entries with the envelope {type, v, req} as its first three. */
static void s_put_envelope(s_builder_t *builder, size_t fields, const char *type, int64_t version)
{
    msgpack_pack_map(&builder->pk, fields);
    s_put_str(builder, "type");
    s_put_str(builder, type);
    s_put_str(builder, "v");
    msgpack_pack_int64(&builder->pk, version);
    s_put_str(builder, "req");
    msgpack_pack_int(&builder->pk, 1);
}

static void s_expect_built_rejected(s_builder_t *builder, const char *expected_reason)
{
    lk_msg_t decoded;
    char err[256];
    assert_int_equal(
        s_decode_copy(builder->buffer.data, builder->buffer.size, &decoded, err, sizeof err), -1);
    if (!strstr(err, expected_reason))
        fail_msg("reason \"%s\" lacks \"%s\"", err, expected_reason);
    msgpack_sbuffer_destroy(&builder->buffer);
}

static void test_envelope_rejections(void **state)
{
    (void)state;
    s_builder_t builder;
    lk_msg_t decoded;
    char err[256];

    /* the minimal valid message, for contrast */
    s_builder_init(&builder);
    s_put_envelope(&builder, 4, "mutation_ack", LK_MSG_VERSION);
    s_put_str(&builder, "status");
    s_put_str(&builder, "ok");
    assert_int_equal(
        s_decode_copy(builder.buffer.data, builder.buffer.size, &decoded, err, sizeof err), 0);
    assert_int_equal(decoded.type, LK_MSG_MUTATION_ACK);
    assert_int_equal(decoded.status, LK_STATUS_OK);
    lk_msg_clear(&decoded);
    msgpack_sbuffer_destroy(&builder.buffer);

    s_builder_init(&builder);
    s_put_envelope(&builder, 4, "mutation_ack", LK_MSG_VERSION + 1);
    s_put_str(&builder, "status");
    s_put_str(&builder, "ok");
    s_expect_built_rejected(&builder, "mutation_ack: v: unsupported version 2");

    s_builder_init(&builder);
    s_put_envelope(&builder, 4, "mutation_ack", -1);
    s_put_str(&builder, "status");
    s_put_str(&builder, "ok");
    s_expect_built_rejected(&builder, "v: negative");

    s_builder_init(&builder);
    s_put_envelope(&builder, 3, "bogus", LK_MSG_VERSION);
    s_expect_built_rejected(&builder, "msg: type: unknown name");

    s_builder_init(&builder);
    s_put_envelope(&builder, 3, "invalid", LK_MSG_VERSION);
    s_expect_built_rejected(&builder, "msg: type: unknown name");

    s_builder_init(&builder);
    s_put_envelope(&builder, 3, "Mutation_ack", LK_MSG_VERSION);
    s_expect_built_rejected(&builder, "type: unknown name");

    s_builder_init(&builder); /* status missing */
    s_put_envelope(&builder, 3, "mutation_ack", LK_MSG_VERSION);
    s_expect_built_rejected(&builder, "mutation_ack: status: missing");

    s_builder_init(&builder); /* no type */
    msgpack_pack_map(&builder.pk, 1);
    s_put_str(&builder, "v");
    msgpack_pack_int(&builder.pk, 1);
    s_expect_built_rejected(&builder, "msg: type: missing");

    s_builder_init(&builder); /* no version */
    msgpack_pack_map(&builder.pk, 2);
    s_put_str(&builder, "type");
    s_put_str(&builder, "mutation_ack");
    s_put_str(&builder, "req");
    msgpack_pack_int(&builder.pk, 1);
    s_expect_built_rejected(&builder, "mutation_ack: v: missing");

    s_builder_init(&builder); /* not a map */
    msgpack_pack_array(&builder.pk, 1);
    msgpack_pack_int(&builder.pk, 1);
    s_expect_built_rejected(&builder, "msg: not a map");

    s_builder_init(&builder);
    msgpack_pack_nil(&builder.pk);
    s_expect_built_rejected(&builder, "not a map");

    /* 0xc1 is not msgpack; an empty buffer is truncated */
    assert_int_equal(s_decode_copy("\xc1", 1, &decoded, err, sizeof err), -1);
    assert_string_equal(err, "msg: not msgpack");
    assert_int_equal(s_decode_copy("", 0, &decoded, err, sizeof err), -1);
    assert_string_equal(err, "msg: truncated msgpack");

    /* a small err buffer is truncated safely, a NULL one is allowed */
    char tiny[8];
    assert_int_equal(s_decode_copy("\xc1", 1, &decoded, tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), 7);
    assert_int_equal(s_decode_copy("\xc1", 1, &decoded, NULL, 0), -1);

    /* nesting beyond what msgpack-c allows */
    unsigned char deep[100];
    memset(deep, 0x91, sizeof deep); /* [[[[...]]]] */
    deep[99] = 0xc0;
    assert_int_equal(s_decode_copy(deep, sizeof deep, &decoded, err, sizeof err), -1);
}

static void test_oversize_rejections(void **state)
{
    (void)state;
    s_builder_t builder;

    /* an array one over LK_MSG_MAX_ITEMS */
    s_builder_init(&builder);
    s_put_envelope(&builder, 5, "alert_batch", LK_MSG_VERSION);
    s_put_str(&builder, "tenant");
    s_put_str(&builder, T_TENANT);
    s_put_str(&builder, "alerts");
    msgpack_pack_array(&builder.pk, LK_MSG_MAX_ITEMS + 1);
    for (int i = 0; i < LK_MSG_MAX_ITEMS + 1; i++)
        msgpack_pack_nil(&builder.pk);
    s_expect_built_rejected(&builder, "alert_batch: alerts: more than 262144 items");

    /* a label map one over */
    s_builder_init(&builder);
    s_put_envelope(&builder, 4, "query", LK_MSG_VERSION);
    s_put_str(&builder, "query");
    msgpack_pack_map(&builder.pk, 2);
    s_put_str(&builder, "kind");
    s_put_str(&builder, "list_incidents");
    s_put_str(&builder, "labels");
    msgpack_pack_map(&builder.pk, LK_MSG_MAX_ITEMS + 1);
    for (int i = 0; i < 2 * (LK_MSG_MAX_ITEMS + 1); i++)
        msgpack_pack_nil(&builder.pk);
    s_expect_built_rejected(&builder, "query: query.labels: more than");

    /* a container announcing more items than there are bytes left */
    s_builder_init(&builder);
    s_put_envelope(&builder, 5, "alert_batch", LK_MSG_VERSION);
    s_put_str(&builder, "tenant");
    s_put_str(&builder, T_TENANT);
    s_put_str(&builder, "alerts");
    msgpack_pack_array(&builder.pk, UINT32_MAX);
    s_expect_built_rejected(&builder, "truncated");

    /* a string one over LK_MSG_MAX_STR */
    lk_msg_t msg;
    s_full_msg(&msg, LK_MSG_COMMAND);
    free(msg.note);
    msg.note = malloc(LK_MSG_MAX_STR + 2);
    memset(msg.note, 'n', LK_MSG_MAX_STR + 1);
    msg.note[LK_MSG_MAX_STR + 1] = '\0';
    s_expect_rejected(&msg, "command: note: string longer than 65536 bytes");
    msg.note[LK_MSG_MAX_STR] = '\0'; /* exactly the limit is fine */
    char *data;
    size_t size;
    lk_msg_t decoded;
    char err[256];
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    assert_int_equal(s_decode_copy(data, size, &decoded, err, sizeof err), 0);
    assert_int_equal(strlen(decoded.note), LK_MSG_MAX_STR);
    lk_msg_clear(&decoded);
    free(data);
    lk_msg_clear(&msg);

    /* event carries exactly one event and one incident */
    s_full_msg(&msg, LK_MSG_EVENT);
    s_add_incidents(&msg, 1);
    s_expect_rejected(&msg, "event: incidents: more than 1 items");
    lk_msg_clear(&msg);
    lk_msg_init(&msg, LK_MSG_EVENT);
    strcpy(msg.tenant_id, T_TENANT);
    s_add_incidents(&msg, 1);
    s_expect_rejected(&msg, "event: events: must hold exactly one item, has 0");
    lk_msg_clear(&msg);
}

static void test_content_rejections(void **state)
{
    (void)state;
    lk_msg_t msg;

    s_full_msg(&msg, LK_MSG_COMMAND);
    strcpy(msg.incident_id, "1234");
    s_expect_rejected(&msg, "command: incident_id: not a UUID");
    strcpy(msg.incident_id, "0190f1a2-3b4c-7d5e-8f60-718293a4b5cZ");
    s_expect_rejected(&msg, "command: incident_id: not a UUID");
    strcpy(msg.incident_id, "0190f1a2x3b4c-7d5e-8f60-718293a4b5c6");
    s_expect_rejected(&msg, "not a UUID");
    strcpy(msg.incident_id, "");
    s_expect_rejected(&msg, "command: incident_id: empty");
    strcpy(msg.incident_id, T_INCIDENT);
    msg.action = (lk_action_t)7;
    s_expect_rejected(&msg, "command: action: unknown name");
    msg.action = LK_ACTION_ACKNOWLEDGE;
    strcpy(msg.tenant_id, "");
    s_expect_rejected(&msg, "command: tenant: missing");
    strcpy(msg.tenant_id, "not-a-tenant");
    s_expect_rejected(&msg, "command: tenant: not a UUID");
    lk_msg_clear(&msg);

    s_full_msg(&msg, LK_MSG_MUTATION_BATCH);
    strcpy(msg.alerts[1].fingerprint, "0123456789ABCDEF");
    s_expect_rejected(&msg, "mutation_batch: alerts[1].fingerprint: not a fingerprint");
    strcpy(msg.alerts[1].fingerprint, "0123456789abcde");
    s_expect_rejected(&msg, "not a fingerprint");
    strcpy(msg.alerts[1].fingerprint, "0123456789abcdef");
    msg.alerts[2].severity = (lk_severity_t)4;
    s_expect_rejected(&msg, "mutation_batch: alerts[2].severity: unknown name");
    msg.alerts[2].severity = LK_SEV_INFO;
    msg.alerts[0].status = (lk_alert_status_t)2;
    s_expect_rejected(&msg, "alerts[0].status: unknown name");
    msg.alerts[0].status = LK_ALERT_FIRING;
    msg.incidents[0].status = (lk_incident_status_t)4;
    s_expect_rejected(&msg, "incidents[0].status: unknown name");
    msg.incidents[0].status = LK_INCIDENT_TRIGGERED;
    strcpy(msg.incidents[1].id, "");
    s_expect_rejected(&msg, "incidents[1].id: empty");
    strcpy(msg.incidents[1].id, T_INCIDENT);
    strcpy(msg.events[2].event_id, "zzzz");
    s_expect_rejected(&msg, "events[2].event_id: not a UUID");
    strcpy(msg.events[2].event_id, T_EVENT);
    free(msg.events[0].fingerprint);
    msg.events[0].fingerprint = strdup("nothex");
    s_expect_rejected(&msg, "events[0].fingerprint: not a fingerprint");
    free(msg.alerts[0].source);
    msg.alerts[0].source = strdup("bad \xff byte");
    s_expect_rejected(&msg, "alerts[0].source: string is not valid UTF-8");
    lk_msg_clear(&msg);

    s_full_msg(&msg, LK_MSG_ALERT_REPLY);
    msg.results[2].outcome = (lk_outcome_t)9;
    s_expect_rejected(&msg, "alert_reply: results[2].outcome: unknown name");
    msg.results[2].outcome = LK_OUTCOME_NEW;
    msg.status = (lk_status_t)99;
    s_expect_rejected(&msg, "alert_reply: status: unknown name");
    lk_msg_clear(&msg);

    s_full_msg(&msg, LK_MSG_QUERY);
    msg.query.kind = (lk_query_kind_t)4;
    s_expect_rejected(&msg, "query: query.kind: unknown name");
    msg.query.kind = LK_QUERY_LIST_INCIDENTS;
    msg.query.severity_min = 4;
    s_expect_rejected(&msg, "query: query.severity_min: out of range");
    msg.query.severity_min = -2;
    s_expect_rejected(&msg, "query.severity_min: out of range");
    msg.query.severity_min = -1;
    msg.query.status_mask = 1u << 4;
    s_expect_rejected(&msg, "query.status_mask: out of range");
    msg.query.status_mask = 0;
    msg.query.shard_index = 8;
    s_expect_rejected(&msg, "query: query.shard_index: not below shard_count");
    msg.query.shard_index = 0;
    msg.query.kind = LK_QUERY_GET_INCIDENT;
    strcpy(msg.query.incident_id, "");
    s_expect_rejected(&msg, "query: query.incident_id: missing");
    lk_msg_clear(&msg);
}

/* ---- fuzz ------------------------------------------------------------------------------ */

static uint64_t s_rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t s_rng(void)
{
    /* xorshift64*: deterministic, so a failure reproduces */
    s_rng_state ^= s_rng_state >> 12;
    s_rng_state ^= s_rng_state << 25;
    s_rng_state ^= s_rng_state >> 27;
    return s_rng_state * 2685821657736338717ULL;
}

/*  Feeds one buffer (its own exact-size allocation) to every decoder. Returns 1 when
    lk_msg_decode accepted it, after checking that what it accepted re-encodes and decodes. */
static int s_fuzz_one(const unsigned char *bytes, size_t size)
{
    lk_msg_t msg;
    char err[256];
    int accepted = 0;
    if (s_decode_copy(bytes, size, &msg, err, sizeof err) == 0) {
        char *data;
        size_t data_size;
        lk_msg_t again;
        assert_int_equal(lk_msg_encode(&msg, &data, &data_size), 0);
        assert_int_equal(s_decode_copy(data, data_size, &again, err, sizeof err), 0);
        s_assert_msg_equal(&msg, &again);
        lk_msg_clear(&again);
        free(data);
        lk_msg_clear(&msg);
        accepted = 1;
    } else
        assert_true(err[0] != '\0');
    unsigned char *copy = malloc(size ? size : 1);
    memcpy(copy, bytes, size);
    lk_incident_t incident;
    if (lk_incident_decode(copy, size, &incident, err, sizeof err) == 0)
        lk_incident_clear(&incident);
    free(lk_msgpack_to_json(copy, size));
    free(copy);
    return accepted;
}

static void test_fuzz(void **state)
{
    (void)state;
    static const unsigned char dangerous[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
                                              0xc1, 0xc2, 0xc4, 0xc6, 0xc9, 0xca, 0xcb, 0xcf, 0xd3,
                                              0xd8, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff};
    unsigned char *seeds[LK_MSG_TYPE_COUNT + 1];
    size_t seed_sizes[LK_MSG_TYPE_COUNT + 1];
    size_t seed_count = 0;
    for (int type = LK_MSG_ALERT_BATCH; type < LK_MSG_TYPE_COUNT; type++) {
        lk_msg_t msg;
        s_full_msg(&msg, (lk_msg_type_t)type);
        assert_int_equal(lk_msg_encode(&msg, (char **)&seeds[seed_count], &seed_sizes[seed_count]),
                         0);
        assert_true(seed_sizes[seed_count] < 8000);
        seed_count++;
        lk_msg_clear(&msg);
    }
    lk_incident_t incident;
    s_fill_incident(&incident, 3);
    assert_int_equal(
        lk_incident_encode(&incident, (char **)&seeds[seed_count], &seed_sizes[seed_count]), 0);
    seed_count++;
    lk_incident_clear(&incident);

    int accepted = 0;
    unsigned char *buffer = malloc(8192);
    for (int iteration = 0; iteration < 20000; iteration++) {
        size_t which = s_rng() % seed_count;
        size_t size = seed_sizes[which];
        memcpy(buffer, seeds[which], size);
        switch (s_rng() % 6) {
        case 0: /* flip a few bytes */
            for (int n = 1 + (int)(s_rng() % 8); n > 0; n--)
                buffer[s_rng() % size] ^= (unsigned char)(1u << (s_rng() % 8));
            break;
        case 1: /* plant a dangerous header byte, maybe truncate */
            buffer[s_rng() % size] = dangerous[s_rng() % sizeof dangerous];
            if (s_rng() % 2)
                size = s_rng() % size;
            break;
        case 2: { /* insert random bytes */
            size_t at = s_rng() % size, count = 1 + s_rng() % 16;
            memmove(buffer + at + count, buffer + at, size - at);
            for (size_t i = 0; i < count; i++)
                buffer[at + i] = (unsigned char)s_rng();
            size += count;
            break;
        }
        case 3: { /* delete a range */
            size_t at = s_rng() % size, count = 1 + s_rng() % 32;
            if (count > size - at)
                count = size - at;
            memmove(buffer + at, buffer + at + count, size - at - count);
            size -= count;
            break;
        }
        case 4: /* pure noise */
            size = s_rng() % 256;
            for (size_t i = 0; i < size; i++)
                buffer[i] = (unsigned char)s_rng();
            break;
        default: /* noise behind a map header */
            size = 1 + s_rng() % 128;
            buffer[0] = (unsigned char)(0x80 | (s_rng() % 16));
            for (size_t i = 1; i < size; i++)
                buffer[i] =
                    (s_rng() % 3) ? dangerous[s_rng() % sizeof dangerous] : (unsigned char)s_rng();
            break;
        }
        accepted += s_fuzz_one(buffer, size);
    }
    /* some mutations (e.g. inside a string) still decode; most must not */
    assert_true(accepted < 20000 / 2);
    free(buffer);
    for (size_t i = 0; i < seed_count; i++)
        free(seeds[i]);
}

/* ---- standalone incident, JSON rendering, shards --------------------------------------- */

static void test_incident_codec(void **state)
{
    (void)state;
    lk_incident_t incident, decoded;
    s_fill_incident(&incident, 5);
    char *data;
    size_t size;
    char err[256];
    assert_int_equal(lk_incident_encode(&incident, &data, &size), 0);
    assert_int_equal(lk_incident_decode(data, size, &decoded, err, sizeof err), 0);
    s_assert_incident_equal(&incident, &decoded);
    lk_incident_clear(&decoded);
    for (size_t length = 0; length < size; length++) {
        char *prefix = malloc(length + 1);
        memcpy(prefix, data, length);
        assert_int_equal(lk_incident_decode(prefix, length, &decoded, err, sizeof err), -1);
        assert_null(decoded.title);
        free(prefix);
    }
    free(data);
    strcpy(incident.tenant_id, "x");
    assert_int_equal(lk_incident_encode(&incident, &data, &size), 0);
    assert_int_equal(lk_incident_decode(data, size, &decoded, err, sizeof err), -1);
    assert_string_equal(err, "incident: tenant: not a UUID");
    free(data);
    lk_incident_clear(&incident);
}

static void test_msgpack_to_json(void **state)
{
    (void)state;
    s_builder_t builder;
    s_builder_init(&builder);
    msgpack_pack_map(&builder.pk, 8);
    msgpack_pack_int(&builder.pk, 1); /* non-string key */
    msgpack_pack_bin(&builder.pk, 5);
    msgpack_pack_bin_body(&builder.pk, "hello", 5);
    s_put_str(&builder, "bytes");
    msgpack_pack_str(&builder.pk, 3);
    msgpack_pack_str_body(&builder.pk,
                          "a\xff"
                          "b",
                          3);
    msgpack_pack_nil(&builder.pk);
    msgpack_pack_array(&builder.pk, 4);
    msgpack_pack_true(&builder.pk);
    msgpack_pack_int(&builder.pk, -3);
    msgpack_pack_double(&builder.pk, 1.5);
    msgpack_pack_float(&builder.pk, 0.25f);
    s_put_str(&builder, "big");
    msgpack_pack_uint64(&builder.pk, UINT64_MAX);
    s_put_str(&builder, "nan");
    msgpack_pack_double(&builder.pk, NAN);
    s_put_str(&builder, "bin4");
    msgpack_pack_bin(&builder.pk, 4);
    msgpack_pack_bin_body(&builder.pk, "\x00\xff\xfe\x01", 4);
    s_put_str(&builder, "line");
    s_put_str(&builder, "two\nlines");
    s_put_str(&builder, "ext");
    msgpack_pack_ext(&builder.pk, 5, 1);
    msgpack_pack_ext_body(&builder.pk, "hello", 5);

    char *text = lk_msgpack_to_json(builder.buffer.data, builder.buffer.size);
    assert_non_null(text);
    assert_null(strchr(text, '\n')); /* one line */
    json_error_t error;
    json_t *json = json_loads(text, 0, &error);
    if (!json)
        fail_msg("%s: %s", text, error.text);
    assert_string_equal(json_string_value(json_object_get(json, "1")), "aGVsbG8=");
    assert_string_equal(json_string_value(json_object_get(json, "bytes")), "a\\xffb");
    json_t *array = json_object_get(json, "null");
    assert_int_equal(json_array_size(array), 4);
    assert_true(json_is_true(json_array_get(array, 0)));
    assert_int_equal(json_integer_value(json_array_get(array, 1)), -3);
    assert_true(json_real_value(json_array_get(array, 2)) == 1.5);
    assert_true(json_real_value(json_array_get(array, 3)) == 0.25);
    assert_string_equal(json_string_value(json_object_get(json, "big")), "18446744073709551615");
    assert_string_equal(json_string_value(json_object_get(json, "nan")), "NaN");
    assert_string_equal(json_string_value(json_object_get(json, "bin4")), "AP/+AQ==");
    assert_string_equal(json_string_value(json_object_get(json, "line")), "two\nlines");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json, "ext"), "ext_type")),
                     1);
    json_decref(json);
    free(text);
    msgpack_sbuffer_destroy(&builder.buffer);

    /* a whole message */
    lk_msg_t msg;
    s_full_msg(&msg, LK_MSG_EVENT);
    char *data;
    size_t size;
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    text = lk_msgpack_to_json(data, size);
    json = json_loads(text, 0, NULL);
    assert_non_null(json);
    assert_string_equal(json_string_value(json_object_get(json, "type")), "event");
    json_t *event = json_array_get(json_object_get(json, "events"), 0);
    assert_string_equal(json_string_value(json_object_get(event, "event_id")), T_EVENT);
    assert_int_equal(json_integer_value(json_object_get(event, "sequence")), 1000);
    json_decref(json);
    free(text);
    free(data);
    lk_msg_clear(&msg);

    assert_null(lk_msgpack_to_json("\xc1", 1));
    assert_null(lk_msgpack_to_json("", 0));
    assert_null(lk_msgpack_to_json("\x92\x01", 2));
    text = lk_msgpack_to_json("\x01", 1);
    assert_string_equal(text, "1");
    free(text);
}

static void test_shard_of(void **state)
{
    (void)state;
    assert_int_equal(lk_shard_of(T_TENANT, 0), 0);
    assert_int_equal(lk_shard_of(T_TENANT, 1), 0);
    assert_int_equal(lk_shard_of(T_TENANT, 7),
                     lk_fnv1a64(LK_FNV64_OFFSET, T_TENANT, strlen(T_TENANT)) % 7);
    int counts[4] = {0};
    char tenant[LK_UUID_STR_LEN + 1];
    for (int i = 0; i < 1000; i++) {
        snprintf(tenant, sizeof tenant, "0190f1a2-3b4c-7d5e-8f60-%012x", i * 7919);
        uint32_t shard = lk_shard_of(tenant, 4);
        assert_true(shard < 4);
        assert_int_equal(shard, lk_shard_of(tenant, 4)); /* stable */
        counts[shard]++;
    }
    for (int i = 0; i < 4; i++)
        assert_true(counts[i] > 150);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_roundtrip_optional_fields_absent),
        cmocka_unit_test(test_add_copies_deeply),
        cmocka_unit_test(test_encode_uses_only_the_types_fields),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_every_truncation_fails),
        cmocka_unit_test(test_every_field_with_a_wrong_type_fails),
        cmocka_unit_test(test_error_names_the_path),
        cmocka_unit_test(test_lenient_where_documented),
        cmocka_unit_test(test_unknown_keys_are_ignored),
        cmocka_unit_test(test_envelope_rejections),
        cmocka_unit_test(test_oversize_rejections),
        cmocka_unit_test(test_content_rejections),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_incident_codec),
        cmocka_unit_test(test_msgpack_to_json),
        cmocka_unit_test(test_shard_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
