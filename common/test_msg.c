/*  Unit tests for lk_msg: every message type round-trips with every field; the decoder
    rejects malformed input cleanly (every truncation, every field given a wrong type, bad
    versions, types, UUIDs, fingerprints, enum names, oversize arrays and strings) and
    survives a seeded fuzz loop; lk_msgpack_to_json and lk_shard_of behave as documented.
    Every buffer handed to the decoder is its own exact-size allocation, so a sanitizer
    build catches any read past the end. */
#define _GNU_SOURCE /* memmem */
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
    alert->state = (lk_alert_state_t)(i % 3); /* active is the absent-key default */
    alert->suppressed_by = i % 3 ? s_format("inhibit_rules[%d]", i) : NULL;
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
    incident->ack_expires_at_ms = i % 2 ? 0 : 1795338000127; /* optional: both shapes */
    incident->policy = i % 2 ? NULL : strdup("video-oncall");
    for (int s = 0; s < i % 3; s++)
        lk_incident_add_source(incident, s ? "prometheus" : "api");
    incident->group_wait_until_ms = i % 2 ? 1795338000128 : 0;
}

/*  Silences and heartbeat monitors (issue 4's entities), on the message types that carry
    them. */
static void s_add_correlation_items(lk_msg_t *msg, int count)
{
    for (int i = 0; i < count; i++) {
        lk_silence_t silence;
        memset(&silence, 0, sizeof silence);
        strcpy(silence.id, T_INCIDENT);
        strcpy(silence.tenant_id, T_TENANT);
        lk_matcher_t matchers[2] = {
            {.name = (char *)"node",
             .value = (char *)"edge-[0-9]+",
             .is_regex = true,
             .is_equal = true},
            {.name = (char *)"alertname", .value = (char *)"Watchdog", .is_equal = false},
        };
        silence.matchers = matchers;
        silence.matcher_count = (size_t)(i % 2) + 1;
        silence.starts_at_ms = -5;
        silence.ends_at_ms = INT64_MAX;
        silence.created_by = (char *)"alice";
        silence.comment = (char *)"maintenance \xe2\x9c\x93";
        silence.created_at_ms = 1795338000123;
        silence.updated_at_ms = 1795338000124 + i;
        assert_int_equal(lk_msg_add_silence(msg, &silence), 0);

        lk_heartbeat_t heartbeat;
        memset(&heartbeat, 0, sizeof heartbeat);
        strcpy(heartbeat.tenant_id, T_TENANT);
        heartbeat.name = s_format("backup-%d", i);
        heartbeat.interval_ms = 60000;
        heartbeat.grace_ms = 5000 * i;
        heartbeat.severity = LK_SEV_WARNING;
        lk_labels_set(&heartbeat.labels, "team", "storage");
        heartbeat.last_ping_at_ms = i ? 1795338000100 : 0;
        heartbeat.missed = i % 2;
        heartbeat.created_at_ms = 1795338000000;
        heartbeat.updated_at_ms = 1795338000200;
        heartbeat.given = i ? LK_HEARTBEAT_GIVEN_INTERVAL | LK_HEARTBEAT_GIVEN_LABELS : 0;
        assert_int_equal(lk_msg_add_heartbeat(msg, &heartbeat), 0);
        lk_heartbeat_clear(&heartbeat);
    }
}

static void s_add_notify_items(lk_msg_t *msg, int count)
{
    for (int i = 0; i < count; i++) {
        lk_notification_t notification = {.level = 2, .attempt = 3};
        strcpy(notification.id, T_EVENT);
        strcpy(notification.tenant_id, T_TENANT);
        strcpy(notification.incident_id, T_INCIDENT);
        notification.policy = strdup("default");
        notification.channel = strdup("ops-slack");
        notification.target = s_format("user%d", i);
        notification.kind = (lk_notify_kind_t)(i % 3);
        notification.status = (lk_notify_status_t)(i % 5);
        notification.response_code = 429;
        notification.error = i % 2 ? NULL : strdup("rate limited");
        notification.idempotency_key = strdup(T_INCIDENT);
        notification.lease_until_ms = 1795338000200;
        notification.next_attempt_at_ms = 1795338000300;
        notification.created_at_ms = 1795338000100;
        notification.updated_at_ms = 1795338000101;
        assert_int_equal(lk_msg_add_notification(msg, &notification), 0);
        lk_notification_clear(&notification);

        lk_escalation_t escalation = {.step = 4, .level = 1, .cycle = 2, .event_sequence = 77};
        strcpy(escalation.id, T_EVENT);
        strcpy(escalation.tenant_id, T_TENANT);
        strcpy(escalation.incident_id, T_INCIDENT);
        escalation.policy = strdup("default");
        escalation.target = strdup("schedule:primary=alice,channel:ops-slack");
        escalation.status = strdup("notified");
        escalation.note = i % 2 ? strdup("acknowledgement lapsed") : NULL;
        escalation.next_at_ms = 1795338000400;
        escalation.created_at_ms = -7;
        escalation.updated_at_ms = 1795338000401;
        assert_int_equal(lk_msg_add_escalation(msg, &escalation), 0);
        lk_escalation_clear(&escalation);

        lk_oncall_override_t override = {.starts_at_ms = 1795338000000,
                                         .ends_at_ms = 1795338600000,
                                         .created_at_ms = 1795337000000};
        strcpy(override.id, T_EVENT);
        strcpy(override.tenant_id, T_TENANT);
        override.schedule = strdup("primary");
        override.user = s_format("user%d", i);
        override.created_by = strdup("alice");
        assert_int_equal(lk_msg_add_override(msg, &override), 0);
        lk_oncall_override_clear(&override);
    }
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
    event->fingerprints = strdup("0123456789abcdef");
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
        msg->ack_timeout_s = 3600;
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
        s_add_notify_items(msg, 2);
        s_add_correlation_items(msg, 2);
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
        msg->query.consumer = strdup("publish");
        strcpy(msg->query.silence_id, T_INCIDENT);
        break;
    case LK_MSG_QUERY_REPLY:
        msg->status = LK_STATUS_NOT_FOUND;
        msg->error = strdup("no such incident");
        s_add_incidents(msg, 2);
        s_add_alerts(msg, 2);
        s_add_events(msg, 2);
        msg->next_cursor = strdup("next");
        msg->sequence = 41;
        msg->first_sequence = 7;
        msg->last_sequence = UINT64_MAX;
        s_add_notify_items(msg, 2);
        s_add_correlation_items(msg, 2);
        break;
    case LK_MSG_EVENT:
        strcpy(msg->tenant_id, T_TENANT);
        s_add_events(msg, 1);
        s_add_incidents(msg, 1);
        break;
    case LK_MSG_CURSOR_COMMIT:
        msg->consumer = strdup("publish");
        msg->sequence = UINT64_MAX - 1;
        break;
    case LK_MSG_NOTIFY_JOB:
        strcpy(msg->tenant_id, T_TENANT);
        s_add_notify_items(msg, 1);
        s_add_incidents(msg, 1);
        s_add_alerts(msg, 2);
        for (size_t i = 0; i < msg->escalation_count; i++)
            lk_escalation_clear(&msg->escalations[i]);
        for (size_t i = 0; i < msg->override_count; i++)
            lk_oncall_override_clear(&msg->overrides[i]);
        free(msg->escalations);
        free(msg->overrides);
        msg->escalations = NULL;
        msg->overrides = NULL;
        msg->escalation_count = msg->override_count = 0;
        break;
    case LK_MSG_NOTIFY_RESULT:
        strcpy(msg->tenant_id, T_TENANT);
        msg->consumer = strdup("worker-host:1234");
        s_add_notify_items(msg, 1);
        for (size_t i = 0; i < msg->escalation_count; i++)
            lk_escalation_clear(&msg->escalations[i]);
        for (size_t i = 0; i < msg->override_count; i++)
            lk_oncall_override_clear(&msg->overrides[i]);
        free(msg->escalations);
        free(msg->overrides);
        msg->escalations = NULL;
        msg->overrides = NULL;
        msg->escalation_count = msg->override_count = 0;
        break;
    case LK_MSG_SILENCE_COMMAND:
        strcpy(msg->tenant_id, T_TENANT);
        msg->silence_action = LK_SILENCE_EXPIRE;
        msg->actor = strdup("alice");
        s_add_correlation_items(msg, 1);
        lk_heartbeat_clear(&msg->heartbeats[0]);
        free(msg->heartbeats);
        msg->heartbeats = NULL;
        msg->heartbeat_count = 0;
        break;
    case LK_MSG_HEARTBEAT_PING:
        strcpy(msg->tenant_id, T_TENANT);
        s_add_correlation_items(msg, 2);
        for (size_t i = 0; i < msg->silence_count; i++)
            lk_silence_clear(&msg->silences[i]);
        free(msg->silences);
        msg->silences = NULL;
        msg->silence_count = 0;
        lk_heartbeat_clear(&msg->heartbeats[0]);
        msg->heartbeats[0] = msg->heartbeats[1];
        msg->heartbeat_count = 1;
        break;
    case LK_MSG_CONTROL_REPLY:
        msg->status = LK_STATUS_NOT_FOUND;
        msg->error = strdup("no such silence");
        msg->changed = true;
        s_add_correlation_items(msg, 2);
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
    assert_int_equal(a->state, b->state);
    s_assert_opt_str(a->suppressed_by, b->suppressed_by);
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
    assert_true(a->ack_expires_at_ms == b->ack_expires_at_ms);
    s_assert_opt_str(a->policy, b->policy);
    assert_int_equal(a->source_count, b->source_count);
    for (uint32_t i = 0; i < a->source_count; i++)
        assert_string_equal(a->sources[i], b->sources[i]);
    assert_true(a->group_wait_until_ms == b->group_wait_until_ms);
}

static void s_assert_correlation_items_equal(const lk_msg_t *a, const lk_msg_t *b)
{
    assert_int_equal(a->silence_action, b->silence_action);
    assert_string_equal(a->query.silence_id, b->query.silence_id);
    assert_int_equal(a->silence_count, b->silence_count);
    for (size_t i = 0; i < a->silence_count; i++) {
        const lk_silence_t *x = &a->silences[i], *y = &b->silences[i];
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->tenant_id, y->tenant_id);
        assert_int_equal(x->matcher_count, y->matcher_count);
        for (size_t m = 0; m < x->matcher_count; m++) {
            assert_string_equal(x->matchers[m].name, y->matchers[m].name);
            assert_string_equal(x->matchers[m].value, y->matchers[m].value);
            assert_int_equal(x->matchers[m].is_regex, y->matchers[m].is_regex);
            assert_int_equal(x->matchers[m].is_equal, y->matchers[m].is_equal);
        }
        assert_true(x->starts_at_ms == y->starts_at_ms);
        assert_true(x->ends_at_ms == y->ends_at_ms);
        s_assert_opt_str(x->created_by, y->created_by);
        s_assert_opt_str(x->comment, y->comment);
        assert_true(x->created_at_ms == y->created_at_ms);
        assert_true(x->updated_at_ms == y->updated_at_ms);
    }
    assert_int_equal(a->heartbeat_count, b->heartbeat_count);
    for (size_t i = 0; i < a->heartbeat_count; i++) {
        const lk_heartbeat_t *x = &a->heartbeats[i], *y = &b->heartbeats[i];
        assert_string_equal(x->tenant_id, y->tenant_id);
        s_assert_opt_str(x->name, y->name);
        assert_true(x->interval_ms == y->interval_ms);
        assert_true(x->grace_ms == y->grace_ms);
        assert_int_equal(x->severity, y->severity);
        assert_true(lk_labels_equal(&x->labels, &y->labels));
        assert_true(x->last_ping_at_ms == y->last_ping_at_ms);
        assert_int_equal(x->missed, y->missed);
        assert_true(x->created_at_ms == y->created_at_ms);
        assert_true(x->updated_at_ms == y->updated_at_ms);
        assert_int_equal(x->given, y->given);
    }
}

static void s_assert_notify_items_equal(const lk_msg_t *a, const lk_msg_t *b)
{
    assert_int_equal(a->notification_count, b->notification_count);
    for (size_t i = 0; i < a->notification_count; i++) {
        const lk_notification_t *x = &a->notifications[i], *y = &b->notifications[i];
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->tenant_id, y->tenant_id);
        assert_string_equal(x->incident_id, y->incident_id);
        s_assert_opt_str(x->policy, y->policy);
        assert_int_equal(x->level, y->level);
        s_assert_opt_str(x->channel, y->channel);
        s_assert_opt_str(x->target, y->target);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->attempt, y->attempt);
        assert_int_equal(x->status, y->status);
        assert_int_equal(x->response_code, y->response_code);
        s_assert_opt_str(x->error, y->error);
        s_assert_opt_str(x->idempotency_key, y->idempotency_key);
        assert_true(x->lease_until_ms == y->lease_until_ms);
        assert_true(x->next_attempt_at_ms == y->next_attempt_at_ms);
        assert_true(x->created_at_ms == y->created_at_ms);
        assert_true(x->updated_at_ms == y->updated_at_ms);
    }
    assert_int_equal(a->escalation_count, b->escalation_count);
    for (size_t i = 0; i < a->escalation_count; i++) {
        const lk_escalation_t *x = &a->escalations[i], *y = &b->escalations[i];
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->tenant_id, y->tenant_id);
        assert_string_equal(x->incident_id, y->incident_id);
        s_assert_opt_str(x->policy, y->policy);
        assert_int_equal(x->step, y->step);
        assert_int_equal(x->level, y->level);
        assert_int_equal(x->cycle, y->cycle);
        s_assert_opt_str(x->target, y->target);
        s_assert_opt_str(x->status, y->status);
        s_assert_opt_str(x->note, y->note);
        assert_true(x->event_sequence == y->event_sequence);
        assert_true(x->next_at_ms == y->next_at_ms);
        assert_true(x->created_at_ms == y->created_at_ms);
        assert_true(x->updated_at_ms == y->updated_at_ms);
    }
    assert_int_equal(a->override_count, b->override_count);
    for (size_t i = 0; i < a->override_count; i++) {
        const lk_oncall_override_t *x = &a->overrides[i], *y = &b->overrides[i];
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->tenant_id, y->tenant_id);
        s_assert_opt_str(x->schedule, y->schedule);
        s_assert_opt_str(x->user, y->user);
        s_assert_opt_str(x->created_by, y->created_by);
        assert_true(x->starts_at_ms == y->starts_at_ms);
        assert_true(x->ends_at_ms == y->ends_at_ms);
        assert_true(x->created_at_ms == y->created_at_ms);
    }
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
    s_assert_opt_str(a->fingerprints, b->fingerprints);
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
    assert_string_equal(a->fingerprint, b->fingerprint);
    s_assert_opt_str(a->actor, b->actor);
    s_assert_opt_str(a->note, b->note);
    s_assert_opt_str(a->next_cursor, b->next_cursor);
    s_assert_opt_str(a->consumer, b->consumer);
    assert_true(a->sequence == b->sequence);
    assert_true(a->first_sequence == b->first_sequence);
    assert_true(a->last_sequence == b->last_sequence);
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
    s_assert_opt_str(a->query.consumer, b->query.consumer);
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
    assert_int_equal(a->ack_timeout_s, b->ack_timeout_s);
    s_assert_notify_items_equal(a, b);
    s_assert_correlation_items_equal(a, b);
}

/*  Asserts a failed decode left msg cleared. */
static void s_assert_cleared(const lk_msg_t *msg)
{
    assert_int_equal(msg->type, LK_MSG_INVALID);
    assert_null(msg->alerts);
    assert_null(msg->incidents);
    assert_null(msg->events);
    assert_null(msg->results);
    assert_null(msg->notifications);
    assert_null(msg->escalations);
    assert_null(msg->overrides);
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
    free(event.fingerprints);
    event.note = event.fingerprints = NULL;
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

/* command by alert identity: "" incident id plus fingerprint survives the round trip, and
   the fingerprint key is only on the wire when set. */
static void test_command_by_fingerprint(void **state)
{
    (void)state;
    lk_msg_t msg, decoded;
    s_full_msg(&msg, LK_MSG_COMMAND);
    strcpy(msg.incident_id, "");
    strcpy(msg.fingerprint, "00ff00ff00ff00ff");
    char *data;
    size_t size;
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    char *json_text = lk_msgpack_to_json(data, size);
    assert_non_null(strstr(json_text, "\"fingerprint\":\"00ff00ff00ff00ff\""));
    free(json_text);
    char err[256] = "";
    assert_int_equal(s_decode_copy(data, size, &decoded, err, sizeof err), 0);
    s_assert_msg_equal(&msg, &decoded);
    assert_string_equal(decoded.incident_id, "");
    free(data);
    lk_msg_clear(&decoded);

    /* both given: both kept (correlate prefers the id) */
    strcpy(msg.incident_id, T_INCIDENT);
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    assert_int_equal(s_decode_copy(data, size, &decoded, err, sizeof err), 0);
    assert_string_equal(decoded.incident_id, T_INCIDENT);
    assert_string_equal(decoded.fingerprint, "00ff00ff00ff00ff");
    free(data);
    lk_msg_clear(&decoded);

    /* not set: no key on the wire */
    strcpy(msg.fingerprint, "");
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    json_text = lk_msgpack_to_json(data, size);
    assert_null(strstr(json_text, "fingerprint"));
    free(json_text);
    free(data);
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
    assert_int_equal(json_object_size(json), 9);
    assert_int_equal(json_integer_value(json_object_get(json, "ack_timeout_s")), 3600);
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

/* The outbox consumers' messages: cursor_commit on the wire, cursor_get needs its consumer,
   and the sequences of a query_reply are only on the wire when set. */
static void test_cursor_messages(void **state)
{
    (void)state;
    assert_string_equal(lk_msg_type_name(LK_MSG_CURSOR_COMMIT), "cursor_commit");
    lk_msg_t msg, decoded;
    s_full_msg(&msg, LK_MSG_CURSOR_COMMIT);
    char *data;
    size_t size;
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    char *json_text = lk_msgpack_to_json(data, size);
    json_t *json = json_loads(json_text, 0, NULL);
    assert_non_null(json);
    assert_int_equal(json_object_size(json), 5);
    assert_string_equal(json_string_value(json_object_get(json, "type")), "cursor_commit");
    assert_string_equal(json_string_value(json_object_get(json, "consumer")), "publish");
    assert_non_null(json_object_get(json, "sequence"));
    json_decref(json);
    free(json_text);
    free(data);
    lk_msg_clear(&msg);

    lk_msg_init(&msg, LK_MSG_QUERY);
    msg.query.kind = LK_QUERY_CURSOR_GET;
    s_expect_rejected(&msg, "query: query.consumer: missing");
    msg.query.consumer = strdup("publish");
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    char err[256] = "";
    assert_int_equal(s_decode_copy(data, size, &decoded, err, sizeof err), 0);
    assert_int_equal(decoded.query.kind, LK_QUERY_CURSOR_GET);
    assert_string_equal(decoded.query.consumer, "publish");
    free(data);
    lk_msg_clear(&decoded);
    lk_msg_clear(&msg);

    lk_msg_init(&msg, LK_MSG_QUERY_REPLY);
    msg.last_sequence = 12;
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    json_text = lk_msgpack_to_json(data, size);
    assert_non_null(strstr(json_text, "\"last_sequence\":12"));
    assert_null(strstr(json_text, "first_sequence"));
    assert_null(strstr(json_text, "\"sequence\""));
    free(json_text);
    assert_int_equal(s_decode_copy(data, size, &decoded, err, sizeof err), 0);
    assert_true(decoded.last_sequence == 12 && decoded.first_sequence == 0 &&
                decoded.sequence == 0);
    free(data);
    lk_msg_clear(&decoded);
    lk_msg_clear(&msg);
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

/*  Encodes an alert batch whose alerts[0].source is length bytes, then overwrites them with
    text (raw: NUL and invalid UTF-8 included) and decodes it. Returns lk_msg_decode's
    result; err gets the reason, *source the decoded source when it succeeds. */
static int s_decode_source(const unsigned char *text, size_t length, char *err, size_t err_size,
                           char **source)
{
    lk_msg_t msg;
    s_full_msg(&msg, LK_MSG_ALERT_BATCH);
    free(msg.alerts[0].source);
    msg.alerts[0].source = malloc(length + 1);
    assert_non_null(msg.alerts[0].source);
    memset(msg.alerts[0].source, 'x', length);
    msg.alerts[0].source[length] = '\0';
    char *data;
    size_t size;
    assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
    lk_msg_clear(&msg);
    /* the first "source" key is alerts[0]'s; its value's header is 1 byte (fixstr) or 2 */
    static const char key[] = "\xa6source";
    char *at = memmem(data, size, key, sizeof key - 1);
    assert_non_null(at);
    at += sizeof key - 1;
    at += length < 32 ? 1 : 2;
    memcpy(at, text, length);
    lk_msg_t decoded;
    int rc = s_decode_copy(data, size, &decoded, err, err_size);
    if (rc == 0) {
        *source = strdup(decoded.alerts[0].source);
        lk_msg_clear(&decoded);
    }
    free(data);
    return rc;
}

/*  Every string is checked for NUL bytes and UTF-8 eight bytes at a time with a byte-wise
    tail: a bad byte at any position of strings of 1 to 40 bytes is found and named. */
static void test_string_checks_every_position(void **state)
{
    (void)state;
    unsigned char text[48];
    char err[256];
    char *source = NULL;
    for (size_t length = 1; length <= 40; length++) {
        for (size_t pos = 0; pos < length; pos++) {
            memset(text, 'a', length);
            text[pos] = 0;
            assert_int_equal(s_decode_source(text, length, err, sizeof err, &source), -1);
            assert_non_null(strstr(err, "alerts[0].source: string contains a NUL byte"));
            static const unsigned char invalid[] = {0xff, 0x80, 0xc0, 0xed};
            for (size_t k = 0; k < sizeof invalid; k++) {
                memset(text, 'a', length);
                text[pos] = invalid[k];
                assert_int_equal(s_decode_source(text, length, err, sizeof err, &source), -1);
                assert_non_null(strstr(err, "alerts[0].source: string is not valid UTF-8"));
            }
            /* NUL is named first, as before, wherever the invalid byte is */
            if (pos + 1 < length) {
                memset(text, 'a', length);
                text[pos] = 0xff;
                text[length - 1] = 0;
                assert_int_equal(s_decode_source(text, length, err, sizeof err, &source), -1);
                assert_non_null(strstr(err, "string contains a NUL byte"));
            }
            /* a two-byte sequence (é) here is fine; cut short by the end it is not */
            memset(text, 'a', length);
            text[pos] = 0xc3;
            if (pos + 1 < length) {
                text[pos + 1] = 0xa9;
                assert_int_equal(s_decode_source(text, length, err, sizeof err, &source), 0);
                assert_int_equal(strlen(source), length);
                assert_memory_equal(source, text, length);
                free(source);
                source = NULL;
            } else {
                assert_int_equal(s_decode_source(text, length, err, sizeof err, &source), -1);
                assert_non_null(strstr(err, "string is not valid UTF-8"));
            }
        }
    }
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

/*  Packs a C string as a msgpack string. */
static void s_pack_text(msgpack_packer *pk, const char *text)
{
    msgpack_pack_str(pk, strlen(text));
    msgpack_pack_str_body(pk, text, strlen(text));
}

/*  How s_alert_keys re-packs the map of alerts[0]. */
static enum {
    S_KEYS_DECOY_FIRST,  /* "nxme" (as long as "name") first */
    S_KEYS_DECOY_ONLY,   /* "name" renamed "nxme" */
    S_KEYS_NAME_TWICE,   /* a second "name" after the rest */
    S_KEYS_MANY_UNKNOWN, /* 40 unknown keys after the rest */
    S_KEYS_REVERSED,     /* the pairs in the opposite of the encoder's order */
} s_alert_keys_mode;

static void s_alert_keys(msgpack_packer *pk, const msgpack_object *original)
{
    const msgpack_object_map *map = &original->via.map;
    uint32_t extra = 0; /* pairs added to the alert's */
    if (s_alert_keys_mode == S_KEYS_MANY_UNKNOWN)
        extra = 40;
    else if (s_alert_keys_mode == S_KEYS_DECOY_FIRST || s_alert_keys_mode == S_KEYS_NAME_TWICE)
        extra = 1;
    msgpack_pack_map(pk, map->size + extra);
    if (s_alert_keys_mode == S_KEYS_DECOY_FIRST) {
        s_pack_text(pk, "nxme");
        s_pack_text(pk, "decoy");
    }
    for (uint32_t pair = 0; pair < map->size; pair++) {
        uint32_t i = s_alert_keys_mode == S_KEYS_REVERSED ? map->size - 1 - pair : pair;
        const msgpack_object *key = &map->ptr[i].key;
        if (s_alert_keys_mode == S_KEYS_DECOY_ONLY && key->via.str.size == 4 &&
            memcmp(key->via.str.ptr, "name", 4) == 0) {
            s_pack_text(pk, "nxme");
        } else
            msgpack_pack_object(pk, *key);
        msgpack_pack_object(pk, map->ptr[i].val);
    }
    if (s_alert_keys_mode == S_KEYS_NAME_TWICE) {
        s_pack_text(pk, "name");
        s_pack_text(pk, "second");
    }
    for (uint32_t i = 0; s_alert_keys_mode == S_KEYS_MANY_UNKNOWN && i < 40; i++) {
        char key[16];
        snprintf(key, sizeof key, "extra_%02u", i);
        s_pack_text(pk, key);
        msgpack_pack_int(pk, (int)i);
    }
}

/*  Fields are found by name whatever else a map holds and in whatever order: a key as long
    as a field's name, the first of two pairs with one key, many unknown keys, the pairs in
    the opposite of the order encoders write them. */
static void test_key_lookup(void **state)
{
    (void)state;
    lk_msg_t msg, decoded;
    char err[256];
    s_full_msg(&msg, LK_MSG_ALERT_BATCH);
    int modes[] = {S_KEYS_DECOY_FIRST, S_KEYS_NAME_TWICE, S_KEYS_MANY_UNKNOWN, S_KEYS_REVERSED};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        s_alert_keys_mode = modes[i];
        assert_int_equal(s_decode_rewritten(LK_MSG_ALERT_BATCH, "alerts[0]", s_alert_keys, &decoded,
                                            err, sizeof err),
                         0);
        s_assert_msg_equal(&msg, &decoded);
        lk_msg_clear(&decoded);
    }
    s_alert_keys_mode = S_KEYS_DECOY_ONLY;
    s_expect_path_error(LK_MSG_ALERT_BATCH, "alerts[0]", s_alert_keys,
                        "alert_batch: alerts[0].name: missing");
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
    s_pack_text(&builder->pk, text);
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
    assert_string_equal(err, "msg: msgpack nested too deep or out of memory");
    /* too deep and cut short, or too deep and followed by bytes: refused for the latter, as
       the structural walk finds it before the nesting matters */
    assert_int_equal(s_decode_copy(deep, sizeof deep - 1, &decoded, err, sizeof err), -1);
    assert_string_equal(err, "msg: truncated msgpack");
    unsigned char deep_and_more[101];
    memcpy(deep_and_more, deep, sizeof deep);
    deep_and_more[100] = 0x01;
    assert_int_equal(s_decode_copy(deep_and_more, sizeof deep_and_more, &decoded, err, sizeof err),
                     -1);
    assert_string_equal(err, "msg: 1 trailing bytes after the message");
    deep[50] = 0xc1;
    assert_int_equal(s_decode_copy(deep, sizeof deep, &decoded, err, sizeof err), -1);
    assert_string_equal(err, "msg: not msgpack");
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
    strcpy(msg.tenant_id, T_TENANT);
    /* by alert identity: "" incident id plus a fingerprint, which must be well formed */
    strcpy(msg.incident_id, "");
    strcpy(msg.fingerprint, "0123456789ABCDEF");
    s_expect_rejected(&msg, "command: fingerprint: not a fingerprint");
    strcpy(msg.fingerprint, "0123456789abcde");
    s_expect_rejected(&msg, "command: fingerprint: not a fingerprint");
    strcpy(msg.fingerprint, "");
    s_expect_rejected(&msg, "command: incident_id: empty and no fingerprint given");
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
    /* an event's fingerprints: 1 to 128 of them, one space between (lk_model.h) */
    static const char *bad_lists[] = {"nothex",
                                      "0123456789abcdef ",
                                      " 0123456789abcdef",
                                      "0123456789abcdef  0123456789abcdef",
                                      "0123456789ABCDEF",
                                      "0123456789abcdef,0123456789abcdef"};
    for (size_t index = 0; index < sizeof bad_lists / sizeof bad_lists[0]; index++) {
        free(msg.events[0].fingerprints);
        msg.events[0].fingerprints = strdup(bad_lists[index]);
        s_expect_rejected(&msg, "events[0].fingerprints: not a list of fingerprints");
    }
    const size_t step = LK_FINGERPRINT_STR_LEN + 1; /* a fingerprint and a space */
    char list[(LK_FINGERPRINT_STR_LEN + 1) * (LK_EVENT_FINGERPRINTS_MAX + 1) + 1];
    for (size_t index = 0; index <= LK_EVENT_FINGERPRINTS_MAX; index++)
        snprintf(list + index * step, step + 1, "%016zx ", index);
    list[step * (LK_EVENT_FINGERPRINTS_MAX + 1) - 1] = '\0'; /* 129 fingerprints: too many */
    free(msg.events[0].fingerprints);
    msg.events[0].fingerprints = strdup(list);
    s_expect_rejected(&msg, "events[0].fingerprints: not a list of fingerprints");
    list[step * LK_EVENT_FINGERPRINTS_MAX - 1] = '\0'; /* 128: accepted */
    assert_int_equal(lk_fingerprints_count(list, strlen(list)), LK_EVENT_FINGERPRINTS_MAX);
    free(msg.events[0].fingerprints);
    msg.events[0].fingerprints = strdup(list);
    {
        char *data, err[256];
        size_t size;
        lk_msg_t decoded;
        assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
        assert_int_equal(s_decode_copy(data, size, &decoded, err, sizeof err), 0);
        assert_string_equal(decoded.events[0].fingerprints, list);
        lk_msg_clear(&decoded);
        free(data);
    }
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
    msg.query.kind = (lk_query_kind_t)99; /* past every kind, however many are added */
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

/* An event message built around an already encoded incident is byte for byte the one
   lk_msg_encode builds from the decoded parts (store publishes with it). */
/*  lk_msg.c writes msgpack itself: its bytes must be what msgpack-c's packer writes for the
    same values (the shortest form of every header and integer), for every message type and
    across the integer, string and container size boundaries. */
static void test_encoding_matches_msgpack_c(void **state)
{
    (void)state;
    static const int64_t ints[] = {
        0,         1,  127, 128, 255,  256,  65535,  65536,  4294967295LL, 4294967296LL,
        INT64_MAX, -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN,    (int64_t)INT32_MIN - 1,
        INT64_MIN};
    static const size_t lengths[] = {0, 1, 31, 32, 255, 256, 65535, 65536};
    for (int type = LK_MSG_INVALID + 1; type < LK_MSG_TYPE_COUNT; type++) {
        for (size_t variant = 0; variant < sizeof ints / sizeof ints[0]; variant++) {
            lk_msg_t msg;
            s_full_msg(&msg, (lk_msg_type_t)type);
            msg.req = (uint64_t)ints[variant];
            if (msg.alert_count > 0) {
                msg.alerts[0].starts_at_ms = ints[variant];
                msg.alerts[0].value = (double)ints[variant] / 3.0;
                /* a label value and a label set of each size class */
                size_t length = lengths[variant % (sizeof lengths / sizeof lengths[0])];
                char *text = malloc(length + 1);
                assert_non_null(text);
                memset(text, 'x', length);
                text[length] = '\0';
                free(msg.alerts[0].query);
                msg.alerts[0].query = text;
            }
            char *data = NULL, *again = NULL;
            size_t size = 0, again_size = 0;
            assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
            s_rewrite_t same = {.target = -1};
            s_rewrite(data, size, &same, &again, &again_size);
            assert_false(same.replaced);
            assert_int_equal(again_size, size);
            assert_memory_equal(again, data, size);
            free(again);
            free(data);
            lk_msg_clear(&msg);
        }
    }
    /* containers past the 16-entry fix form and the 16-bit form */
    static const size_t counts[] = {15, 16, 65535, 65536};
    for (size_t variant = 0; variant < sizeof counts / sizeof counts[0]; variant++) {
        lk_msg_t msg;
        lk_msg_init(&msg, LK_MSG_ALERT_REPLY);
        for (size_t index = 0; index < counts[variant]; index++) {
            lk_alert_result_t result = {.outcome = LK_OUTCOME_NEW};
            assert_int_equal(lk_msg_add_result(&msg, &result), 0);
        }
        char *data = NULL, *again = NULL;
        size_t size = 0, again_size = 0;
        assert_int_equal(lk_msg_encode(&msg, &data, &size), 0);
        s_rewrite_t same = {.target = -1};
        s_rewrite(data, size, &same, &again, &again_size);
        assert_int_equal(again_size, size);
        assert_memory_equal(again, data, size);
        free(again);
        free(data);
        lk_msg_clear(&msg);
    }
}

static void test_event_msg_encode(void **state)
{
    (void)state;
    lk_incident_t incident;
    lk_event_t event;
    s_fill_incident(&incident, 3);
    for (int variant = 0; variant < 2; variant++) {
        s_fill_event(&event, variant);
        if (variant == 1) { /* no note, no fingerprint */
            free(event.note);
            event.note = NULL;
            free(event.fingerprints);
            event.fingerprints = NULL;
        }
        char *blob, *spliced, *expected;
        size_t blob_size, spliced_size, expected_size;
        assert_int_equal(lk_incident_encode(&incident, &blob, &blob_size), 0);
        assert_int_equal(
            lk_event_msg_encode(&event, 4242, blob, blob_size, &spliced, &spliced_size), 0);
        lk_msg_t msg;
        lk_msg_init(&msg, LK_MSG_EVENT);
        msg.req = 4242;
        snprintf(msg.tenant_id, sizeof msg.tenant_id, "%s", event.tenant_id);
        assert_int_equal(lk_msg_add_event(&msg, &event), 0);
        assert_int_equal(lk_msg_add_incident(&msg, &incident), 0);
        msg.events[0].sequence = 4242;
        assert_int_equal(lk_msg_encode(&msg, &expected, &expected_size), 0);
        assert_int_equal(spliced_size, expected_size);
        assert_memory_equal(spliced, expected, expected_size);
        lk_msg_t decoded;
        char err[256];
        assert_int_equal(lk_msg_decode(spliced, spliced_size, &decoded, err, sizeof err), 0);
        assert_int_equal(decoded.events[0].sequence, 4242);
        assert_string_equal(decoded.incidents[0].id, incident.id);
        lk_msg_clear(&decoded);
        lk_msg_clear(&msg);
        free(blob);
        free(spliced);
        free(expected);
        lk_event_clear(&event);
    }
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

/* Appending is amortised O(1), also to a message that came from the decoder (whose arrays
   must have the capacity lk_msg_add_* assumes). */
static void test_append_after_decode_and_many(void **state)
{
    lk_msg_t batch;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    batch.req = 1;
    lk_alert_t alert;
    memset(&alert, 0, sizeof alert);
    strcpy(alert.tenant_id, "00000000-0000-0000-0000-000000000001");
    strcpy(alert.fingerprint, "0123456789abcdef");
    alert.source = "api";
    alert.name = "Storm";
    for (int i = 0; i < 5; i++)
        assert_int_equal(lk_msg_add_alert(&batch, &alert), 0);
    char *data = NULL;
    size_t size = 0;
    assert_int_equal(lk_msg_encode(&batch, &data, &size), 0);
    lk_msg_t decoded;
    char err[256];
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), 0);
    free(data);
    for (int i = 0; i < 200000; i++)
        assert_int_equal(lk_msg_add_alert(&decoded, &alert), 0);
    assert_int_equal(decoded.alert_count, 200005);
    assert_string_equal(decoded.alerts[200004].name, "Storm");
    lk_msg_clear(&decoded);
    lk_msg_clear(&batch);
}

/* The first occurrence of needle in data[0..size), or NULL. */
static char *s_bytes_find(char *data, size_t size, const char *needle, size_t length)
{
    for (size_t i = 0; i + length <= size; i++)
        if (memcmp(data + i, needle, length) == 0)
            return data + i;
    return NULL;
}

/* Incident updates ride on mutation_batch and query_reply (status pages); the status_page
   query kind travels by name; unknown visibility or status names are rejected. */
static void test_incident_updates(void **state)
{
    (void)state;
    lk_msg_t batch;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    batch.req = 7;
    lk_incident_update_t update;
    memset(&update, 0, sizeof update);
    strcpy(update.id, "0190a0b0-0000-7000-8000-000000000001");
    strcpy(update.tenant_id, "00000000-0000-0000-0000-000000000001");
    strcpy(update.incident_id, "0190a0b0-0000-7000-8000-000000000002");
    update.message = "We are looking into it";
    update.visibility = LK_UPDATE_PUBLIC;
    update.stage = LK_STAGE_MONITORING;
    update.title = "API errors";
    update.author = "alice";
    update.created_at_ms = 1750000000123;
    assert_int_equal(lk_msg_add_update(&batch, &update), 0);
    update.visibility = LK_UPDATE_PRIVATE;
    update.stage = LK_STAGE_NONE;
    update.title = NULL;
    assert_int_equal(lk_msg_add_update(&batch, &update), 0);
    char *data = NULL;
    size_t size = 0;
    assert_int_equal(lk_msg_encode(&batch, &data, &size), 0);
    lk_msg_t decoded;
    char err[256];
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), 0);
    assert_int_equal(decoded.update_count, 2);
    const lk_incident_update_t *first = &decoded.updates[0], *second = &decoded.updates[1];
    assert_string_equal(first->id, update.id);
    assert_string_equal(first->tenant_id, update.tenant_id);
    assert_string_equal(first->incident_id, update.incident_id);
    assert_string_equal(first->message, "We are looking into it");
    assert_int_equal(first->visibility, LK_UPDATE_PUBLIC);
    assert_int_equal(first->stage, LK_STAGE_MONITORING);
    assert_string_equal(first->title, "API errors");
    assert_string_equal(first->author, "alice");
    assert_true(first->created_at_ms == 1750000000123);
    assert_int_equal(second->visibility, LK_UPDATE_PRIVATE);
    assert_int_equal(second->stage, LK_STAGE_NONE);
    assert_null(second->title);
    lk_msg_clear(&decoded);

    /* unknown names are malformed, naming the field */
    char *at = s_bytes_find(data, size, "public", 6);
    assert_non_null(at);
    at[5] = 'x';
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), -1);
    assert_non_null(strstr(err, "updates[0].visibility"));
    at[5] = 'c';
    at = s_bytes_find(data, size, "monitoring", 10);
    assert_non_null(at);
    at[9] = 'x';
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), -1);
    assert_non_null(strstr(err, "updates[0].status"));
    free(data);
    lk_msg_clear(&batch);

    /* the query kind */
    lk_msg_t query;
    lk_msg_init(&query, LK_MSG_QUERY);
    query.query.kind = LK_QUERY_STATUS_PAGE;
    query.query.since_ms = 1740000000000;
    assert_int_equal(lk_msg_encode(&query, &data, &size), 0);
    assert_non_null(s_bytes_find(data, size, "status_page", 11));
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), 0);
    assert_int_equal(decoded.query.kind, LK_QUERY_STATUS_PAGE);
    assert_true(decoded.query.since_ms == 1740000000000);
    free(data);
    lk_msg_clear(&decoded);
    lk_msg_clear(&query);

    assert_string_equal(lk_incident_stage_name(LK_STAGE_RESOLVED), "resolved");
    assert_null(lk_incident_stage_name(LK_STAGE_NONE));
    lk_incident_stage_t stage;
    assert_true(lk_incident_stage_parse("Identified", &stage) && stage == LK_STAGE_IDENTIFIED);
    assert_false(lk_incident_stage_parse("", &stage));
    lk_update_visibility_t visibility;
    assert_true(lk_update_visibility_parse("public", &visibility) &&
                visibility == LK_UPDATE_PUBLIC);
    assert_false(lk_update_visibility_parse("everyone", &visibility));
}

/* Ingest tokens: rows ride on mutation batches and query replies; the query carries the
   hash; a hash that is not 64 hex digits is malformed. */
static void test_ingest_tokens(void **state)
{
    (void)state;
    lk_msg_t batch;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    batch.req = 9;
    lk_ingest_token_t token;
    memset(&token, 0, sizeof token);
    strcpy(token.id, "0190a0b0-0000-7000-8000-000000000003");
    strcpy(token.tenant_id, "00000000-0000-0000-0000-000000000001");
    memset(token.hash, 'e', LK_TOKEN_HASH_LEN);
    token.name = "prometheus eu";
    token.hint = "lk_AbCd";
    token.scopes = "alerts:write,heartbeats:write";
    token.created_by = "alice";
    token.created_at_ms = 1750000000123;
    token.revoked_at_ms = 1750000000999;
    assert_int_equal(lk_msg_add_token(&batch, &token), 0);
    char *data = NULL;
    size_t size = 0;
    assert_int_equal(lk_msg_encode(&batch, &data, &size), 0);
    lk_msg_t decoded;
    char err[256];
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), 0);
    assert_int_equal(decoded.token_count, 1);
    assert_string_equal(decoded.tokens[0].id, token.id);
    assert_string_equal(decoded.tokens[0].tenant_id, token.tenant_id);
    assert_string_equal(decoded.tokens[0].hash, token.hash);
    assert_string_equal(decoded.tokens[0].name, "prometheus eu");
    assert_string_equal(decoded.tokens[0].hint, "lk_AbCd");
    assert_string_equal(decoded.tokens[0].scopes, "alerts:write,heartbeats:write");
    assert_string_equal(decoded.tokens[0].created_by, "alice");
    assert_true(decoded.tokens[0].created_at_ms == 1750000000123);
    assert_true(decoded.tokens[0].revoked_at_ms == 1750000000999);
    lk_msg_clear(&decoded);
    /* a hash with a character outside lower-case hex is malformed */
    char *at = s_bytes_find(data, size, token.hash, LK_TOKEN_HASH_LEN);
    assert_non_null(at);
    at[3] = 'E';
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), -1);
    assert_non_null(strstr(err, "tokens[0].hash"));
    free(data);
    lk_msg_clear(&batch);

    /* the lookup query: token_hash required there, and nothing else needed */
    lk_msg_t query;
    lk_msg_init(&query, LK_MSG_QUERY);
    query.req = 10;
    query.query.kind = LK_QUERY_INGEST_TOKEN_BY_HASH;
    memset(query.query.token_hash, '0', LK_TOKEN_HASH_LEN);
    assert_int_equal(lk_msg_encode(&query, &data, &size), 0);
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), 0);
    assert_int_equal(decoded.query.kind, LK_QUERY_INGEST_TOKEN_BY_HASH);
    assert_string_equal(decoded.query.token_hash, query.query.token_hash);
    lk_msg_clear(&decoded);
    free(data);
    query.query.token_hash[0] = '\0';
    assert_int_equal(lk_msg_encode(&query, &data, &size), 0);
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), -1);
    assert_non_null(strstr(err, "token_hash"));
    free(data);
    lk_msg_clear(&query);
}

/* Partial alert ends: ride on mutation batches, every field required, ids well-formed. */
static void test_alert_ends(void **state)
{
    (void)state;
    lk_msg_t batch;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    batch.req = 11;
    lk_alert_end_t end;
    memset(&end, 0, sizeof end);
    strcpy(end.tenant_id, "00000000-0000-0000-0000-000000000001");
    strcpy(end.incident_id, "0190a0b0-0000-7000-8000-000000000004");
    strcpy(end.fingerprint, "00112233445566ff");
    end.ends_at_ms = 1750000000123;
    end.updated_at_ms = 1750000000456;
    assert_int_equal(lk_msg_add_alert_end(&batch, &end), 0);
    char *data = NULL;
    size_t size = 0;
    assert_int_equal(lk_msg_encode(&batch, &data, &size), 0);
    lk_msg_t decoded;
    char err[256];
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), 0);
    assert_int_equal(decoded.alert_end_count, 1);
    assert_string_equal(decoded.alert_ends[0].tenant_id, end.tenant_id);
    assert_string_equal(decoded.alert_ends[0].incident_id, end.incident_id);
    assert_string_equal(decoded.alert_ends[0].fingerprint, end.fingerprint);
    assert_true(decoded.alert_ends[0].ends_at_ms == 1750000000123);
    assert_true(decoded.alert_ends[0].updated_at_ms == 1750000000456);
    lk_msg_clear(&decoded);
    /* a fingerprint that is not 16 lower-case hex digits is malformed */
    char *at = s_bytes_find(data, size, end.fingerprint, LK_FINGERPRINT_STR_LEN);
    assert_non_null(at);
    at[0] = 'X';
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), -1);
    assert_non_null(strstr(err, "alert_ends[0].fingerprint"));
    free(data);
    /* an empty incident id is malformed: the partial mutation names an existing row */
    batch.alert_ends[0].incident_id[0] = '\0';
    assert_int_equal(lk_msg_encode(&batch, &data, &size), 0);
    assert_int_equal(lk_msg_decode(data, size, &decoded, err, sizeof err), -1);
    assert_non_null(strstr(err, "alert_ends[0].incident_id"));
    free(data);
    lk_msg_clear(&batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_roundtrip_optional_fields_absent),
        cmocka_unit_test(test_command_by_fingerprint),
        cmocka_unit_test(test_add_copies_deeply),
        cmocka_unit_test(test_encode_uses_only_the_types_fields),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_cursor_messages),
        cmocka_unit_test(test_every_truncation_fails),
        cmocka_unit_test(test_every_field_with_a_wrong_type_fails),
        cmocka_unit_test(test_error_names_the_path),
        cmocka_unit_test(test_string_checks_every_position),
        cmocka_unit_test(test_lenient_where_documented),
        cmocka_unit_test(test_unknown_keys_are_ignored),
        cmocka_unit_test(test_key_lookup),
        cmocka_unit_test(test_envelope_rejections),
        cmocka_unit_test(test_oversize_rejections),
        cmocka_unit_test(test_content_rejections),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_incident_codec),
        cmocka_unit_test(test_msgpack_to_json),
        cmocka_unit_test(test_shard_of),
        cmocka_unit_test(test_append_after_decode_and_many),
        cmocka_unit_test(test_incident_updates),
        cmocka_unit_test(test_ingest_tokens),
        cmocka_unit_test(test_alert_ends),
        cmocka_unit_test(test_event_msg_encode),
        cmocka_unit_test(test_encoding_matches_msgpack_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
