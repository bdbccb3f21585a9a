/*  correlate_engine tests: dedup, grouping, lifecycle, commands, tenancy, due seqs, reload. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "lk_fingerprint.h"

#define TENANT_A  "00000000-0000-0000-0000-0000000000aa"
#define TENANT_B  "00000000-0000-0000-0000-0000000000bb"
#define WINDOW_MS (10 * 60 * 1000)
#define T0        1800000000000LL

/* ---- helpers ----------------------------------------------------------------------------- */

/* Builds a firing alert {alertname=name, instance=instance} (+ extra label when given). */
static void s_alert_make(lk_alert_t *alert, const char *name, const char *instance,
                         lk_severity_t severity, lk_alert_status_t status)
{
    memset(alert, 0, sizeof *alert);
    alert->source = strdup("api");
    alert->name = strdup(name);
    assert_int_equal(lk_labels_set(&alert->labels, "alertname", name), 0);
    if (instance)
        assert_int_equal(lk_labels_set(&alert->labels, "instance", instance), 0);
    assert_int_equal(lk_labels_set(&alert->annotations, "summary", "something is wrong"), 0);
    alert->severity = severity;
    alert->status = status;
    alert->starts_at_ms = T0;
}

/* Sends one alert and returns its outcome (result and due seq optional). */
static lk_outcome_t s_send(correlate_engine_t *engine, const char *tenant, const char *name,
                           const char *instance, lk_severity_t severity, lk_alert_status_t status,
                           int64_t now_ms, lk_alert_result_t *result_out, uint64_t *due_out)
{
    lk_alert_t alert;
    s_alert_make(&alert, name, instance, severity, status);
    lk_alert_result_t result;
    uint64_t due = correlate_engine_alert(engine, tenant, &alert, now_ms, &result);
    lk_alert_clear(&alert);
    if (result_out)
        *result_out = result;
    if (due_out)
        *due_out = due;
    return result.outcome;
}

/* Changes of type in the batch: an alert_* event counts once for each alert it names. */
static size_t s_count_events(const lk_msg_t *batch, const char *type)
{
    size_t count = 0;
    for (size_t i = 0; i < batch->event_count; i++) {
        const lk_event_t *event = &batch->events[i];
        if (strcmp(event->type, type) == 0)
            count += event->fingerprints ? lk_event_alert_count(event) : 1;
    }
    return count;
}

/* Takes the pending batch (possibly empty) and returns it; caller clears. */
static lk_msg_t s_take(correlate_engine_t *engine)
{
    lk_msg_t batch;
    correlate_engine_take_batch(engine, &batch);
    return batch;
}

static const lk_incident_t *s_group(correlate_engine_t *engine, const char *tenant,
                                    const char *name)
{
    char key[256];
    snprintf(key, sizeof key, "{}:{alertname=\"%s\"}", name);
    return correlate_engine_group_incident(engine, tenant, key);
}

static lk_msg_t s_command(correlate_engine_t *engine, const char *tenant, lk_action_t action,
                          const char *incident_id, int64_t now_ms, uint64_t *due_out)
{
    lk_msg_t request, reply;
    lk_msg_init(&request, LK_MSG_COMMAND);
    request.req = 7;
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant);
    request.action = action;
    snprintf(request.incident_id, sizeof request.incident_id, "%s", incident_id);
    request.actor = strdup("alice");
    request.note = strdup("on it");
    uint64_t due = correlate_engine_command(engine, &request, &reply, now_ms);
    if (due_out)
        *due_out = due;
    lk_msg_clear(&request);
    assert_int_equal(reply.req, 7);
    return reply;
}

/* Asserts the batch's event `index`: its type and how many alerts it names. */
static void s_assert_event(const lk_msg_t *batch, size_t index, const char *type, size_t alerts)
{
    assert_true(index < batch->event_count);
    assert_string_equal(batch->events[index].type, type);
    assert_int_equal(lk_event_alert_count(&batch->events[index]), alerts);
}

/* Sends alerts host-<from> to host-<to - 1> of group name (the index-th at now_ms + index),
   each expected to have the outcome. */
static void s_send_hosts(correlate_engine_t *engine, const char *name, int from, int to,
                         lk_alert_status_t status, int64_t now_ms, lk_outcome_t outcome)
{
    char instance[32];
    for (int index = from; index < to; index++) {
        snprintf(instance, sizeof instance, "host-%03d", index);
        assert_int_equal(s_send(engine, TENANT_A, name, instance, LK_SEV_WARNING, status,
                                now_ms + index, NULL, NULL),
                         outcome);
    }
}

static int s_setup(void **state)
{
    *state = correlate_engine_new("alertname", WINDOW_MS);
    return *state ? 0 : -1;
}

static int s_teardown(void **state)
{
    correlate_engine_t *engine = *state;
    correlate_engine_destroy(&engine);
    assert_null(engine);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------- */

/* A flood of alerts into one incident folds into few events (lk_model.h): consecutive
   changes of one kind to one incident, up to LK_EVENT_FINGERPRINTS_MAX alerts an event, in the
   order they came; another incident's change, a command or another kind ends a fold. */
static void test_alert_events_fold(void **state)
{
    correlate_engine_t *engine = *state;
    s_send_hosts(engine, "Flood", 0, 300, LK_ALERT_FIRING, T0, LK_OUTCOME_NEW);
    /* another incident, then the first again: a new event each time */
    assert_int_equal(s_send(engine, TENANT_A, "Other", "x", LK_SEV_WARNING, LK_ALERT_FIRING,
                            T0 + 300, NULL, NULL),
                     LK_OUTCOME_NEW);
    s_send_hosts(engine, "Flood", 300, 301, LK_ALERT_FIRING, T0 + 1, LK_OUTCOME_NEW);
    lk_msg_t batch = s_take(engine);
    assert_int_equal(batch.alert_count, 302);
    assert_int_equal(batch.event_count, 7);
    s_assert_event(&batch, 0, "incident_triggered", 0);
    s_assert_event(&batch, 1, "alert_added", LK_EVENT_FINGERPRINTS_MAX);
    s_assert_event(&batch, 2, "alert_added", LK_EVENT_FINGERPRINTS_MAX);
    s_assert_event(&batch, 3, "alert_added", 300 - 2 * LK_EVENT_FINGERPRINTS_MAX);
    s_assert_event(&batch, 4, "incident_triggered", 0);
    s_assert_event(&batch, 5, "alert_added", 1);
    s_assert_event(&batch, 6, "alert_added", 1);
    const char *flood = batch.events[1].incident_id;
    assert_string_equal(batch.events[3].incident_id, flood);
    assert_string_equal(batch.events[6].incident_id, flood);
    assert_string_not_equal(batch.events[5].incident_id, flood);
    /* in the order the alerts came, each named once; the event's time is its last alert's */
    for (size_t event = 1; event <= 3; event++)
        for (size_t slot = 0; slot < LK_EVENT_FINGERPRINTS_MAX; slot++) {
            size_t index = (event - 1) * LK_EVENT_FINGERPRINTS_MAX + slot;
            if (index >= 300)
                break;
            char instance[32];
            snprintf(instance, sizeof instance, "host-%03zu", index);
            lk_alert_t alert;
            s_alert_make(&alert, "Flood", instance, LK_SEV_WARNING, LK_ALERT_FIRING);
            lk_fingerprint_alert(&alert);
            assert_memory_equal(batch.events[event].fingerprints +
                                    slot * (LK_FINGERPRINT_STR_LEN + 1),
                                alert.fingerprint, LK_FINGERPRINT_STR_LEN);
            lk_alert_clear(&alert);
        }
    assert_int_equal(batch.events[1].at_ms, T0 + LK_EVENT_FINGERPRINTS_MAX - 1);
    assert_int_equal(batch.events[3].at_ms, T0 + 299);
    char id[LK_UUID_STR_LEN + 1];
    snprintf(id, sizeof id, "%s", flood);
    lk_msg_clear(&batch);

    /* resolutions fold the same way; an acknowledgement between them ends the fold */
    s_send_hosts(engine, "Flood", 0, 3, LK_ALERT_RESOLVED, T0 + 1000, LK_OUTCOME_CHANGED);
    lk_msg_t reply = s_command(engine, TENANT_A, LK_ACTION_ACKNOWLEDGE, id, T0 + 1010, NULL);
    lk_msg_clear(&reply);
    s_send_hosts(engine, "Flood", 3, 5, LK_ALERT_RESOLVED, T0 + 1020, LK_OUTCOME_CHANGED);
    batch = s_take(engine);
    assert_int_equal(batch.event_count, 3);
    s_assert_event(&batch, 0, "alert_resolved", 3);
    s_assert_event(&batch, 1, "incident_acknowledged", 0);
    s_assert_event(&batch, 2, "alert_resolved", 2);
    lk_msg_clear(&batch);
}

/* 10,000 samples over 200 label sets in 5 groups fold into 5 incidents and 200 alerts; after
   the first sight nothing is written again, whatever the values and start times say. */
static void test_storm(void **state)
{
    correlate_engine_t *engine = *state;
    char name[32], instance[32];
    size_t outcomes[4] = {0};
    lk_msg_t first_batch;
    lk_msg_init(&first_batch, LK_MSG_INVALID);
    for (int sample = 0; sample < 10000; sample++) {
        int set = sample % 200;
        snprintf(name, sizeof name, "Alert%d", set % 5);
        snprintf(instance, sizeof instance, "host-%d", set);
        lk_alert_t alert;
        s_alert_make(&alert, name, instance, LK_SEV_WARNING, LK_ALERT_FIRING);
        alert.has_value = true;
        alert.value = sample * 1.5;       /* fresh value on every sample */
        alert.starts_at_ms = T0 + sample; /* native senders default starts_at to now */
        lk_alert_result_t result;
        uint64_t due = correlate_engine_alert(engine, TENANT_A, &alert, T0 + sample, &result);
        lk_alert_clear(&alert);
        outcomes[result.outcome]++;
        assert_int_equal(due, 1);
        assert_int_equal(strlen(result.incident_id), LK_UUID_STR_LEN);
        assert_int_equal(strlen(result.fingerprint), LK_FINGERPRINT_STR_LEN);
        if (sample == 199) {
            first_batch = s_take(engine);
            assert_int_equal(first_batch.req, 1);
        }
        if (sample >= 200)
            assert_int_equal(correlate_engine_pending_items(engine), 0);
    }
    assert_int_equal(outcomes[LK_OUTCOME_NEW], 200);
    assert_int_equal(outcomes[LK_OUTCOME_UNCHANGED], 9800);
    assert_int_equal(correlate_engine_incident_count(engine), 5);
    assert_int_equal(correlate_engine_alert_count(engine), 200);

    /* the first batch wrote each alert and each incident once */
    assert_int_equal(first_batch.alert_count, 200);
    assert_int_equal(first_batch.incident_count, 5);
    assert_int_equal(s_count_events(&first_batch, "incident_triggered"), 5);
    assert_int_equal(s_count_events(&first_batch, "alert_added"), 200);
    for (size_t i = 0; i < first_batch.event_count; i++)
        assert_true(lk_uuid_valid(first_batch.events[i].event_id));
    for (size_t i = 0; i < first_batch.incident_count; i++) {
        assert_int_equal(first_batch.incidents[i].alert_count, 40);
        assert_int_equal(first_batch.incidents[i].firing_count, 40);
        /* 40 alerts joined, and the first one's source entered the source list */
        assert_int_equal(first_batch.incidents[i].version, 41);
        assert_int_equal(first_batch.incidents[i].source_count, 1);
        assert_int_equal(first_batch.incidents[i].status, LK_INCIDENT_TRIGGERED);
    }
    lk_msg_clear(&first_batch);

    lk_msg_t empty;
    assert_false(correlate_engine_take_batch(engine, &empty));
    lk_msg_clear(&empty);

    const lk_incident_t *incident = s_group(engine, TENANT_A, "Alert3");
    assert_non_null(incident);
    assert_string_equal(incident->group_key, "{}:{alertname=\"Alert3\"}");
    assert_string_equal(incident->title, "Alert3");
    assert_string_equal(incident->summary, "something is wrong");
    assert_string_equal(lk_labels_get(&incident->group_labels, "alertname"), "Alert3");
}

/* Resolve every alert of a group: auto-resolve; fire within the window: reopen; after the
   window the tick closes it and a new firing starts a new incident. */
static void test_lifecycle(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_result_t result;
    s_send(engine, TENANT_A, "Disk", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0, &result, NULL);
    s_send(engine, TENANT_A, "Disk", "b", LK_SEV_ERROR, LK_ALERT_FIRING, T0, NULL, NULL);
    char id[LK_UUID_STR_LEN + 1];
    memcpy(id, result.incident_id, sizeof id);
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);

    /* a resolve for an alert never seen changes nothing */
    assert_int_equal(
        s_send(engine, TENANT_A, "Disk", "zzz", LK_SEV_ERROR, LK_ALERT_RESOLVED, T0, &result, NULL),
        LK_OUTCOME_IGNORED);
    assert_string_equal(result.incident_id, "");
    assert_int_equal(correlate_engine_pending_items(engine), 0);

    assert_int_equal(s_send(engine, TENANT_A, "Disk", "a", LK_SEV_ERROR, LK_ALERT_RESOLVED,
                            T0 + 1000, NULL, NULL),
                     LK_OUTCOME_CHANGED);
    const lk_incident_t *incident = correlate_engine_incident(engine, TENANT_A, id);
    assert_int_equal(incident->status, LK_INCIDENT_TRIGGERED);
    assert_int_equal(incident->firing_count, 1);
    /* resolved re-send without a new end time: unchanged */
    assert_int_equal(s_send(engine, TENANT_A, "Disk", "a", LK_SEV_ERROR, LK_ALERT_RESOLVED,
                            T0 + 1500, NULL, NULL),
                     LK_OUTCOME_UNCHANGED);
    assert_int_equal(s_send(engine, TENANT_A, "Disk", "b", LK_SEV_ERROR, LK_ALERT_RESOLVED,
                            T0 + 2000, NULL, NULL),
                     LK_OUTCOME_CHANGED);
    incident = correlate_engine_incident(engine, TENANT_A, id);
    assert_int_equal(incident->status, LK_INCIDENT_RESOLVED);
    assert_null(incident->resolved_by);
    assert_int_equal(incident->resolved_at_ms, T0 + 2000);
    assert_int_equal(incident->firing_count, 0);
    batch = s_take(engine);
    assert_int_equal(s_count_events(&batch, "alert_resolved"), 2);
    assert_int_equal(s_count_events(&batch, "incident_resolved"), 1);
    assert_int_equal(batch.incident_count, 1);
    assert_int_equal(batch.incidents[0].status, LK_INCIDENT_RESOLVED);
    for (size_t i = 0; i < batch.alert_count; i++) {
        assert_int_equal(batch.alerts[i].status, LK_ALERT_RESOLVED);
        assert_string_equal(batch.alerts[i].incident_id, id);
    }
    lk_msg_clear(&batch);

    /* flap within the window: the same incident reopens */
    assert_int_equal(correlate_engine_tick(engine, T0 + 2000 + WINDOW_MS - 1), 0);
    assert_int_equal(s_send(engine, TENANT_A, "Disk", "a", LK_SEV_ERROR, LK_ALERT_FIRING,
                            T0 + 60000, &result, NULL),
                     LK_OUTCOME_CHANGED);
    assert_string_equal(result.incident_id, id);
    incident = correlate_engine_incident(engine, TENANT_A, id);
    assert_int_equal(incident->status, LK_INCIDENT_TRIGGERED);
    assert_int_equal(incident->reopen_count, 1);
    assert_int_equal(incident->resolved_at_ms, 0);
    batch = s_take(engine);
    assert_int_equal(s_count_events(&batch, "incident_reopened"), 1);
    assert_int_equal(s_count_events(&batch, "alert_refired"), 1);
    lk_msg_clear(&batch);

    /* a new alert of the group joins the reopened incident */
    assert_int_equal(s_send(engine, TENANT_A, "Disk", "c", LK_SEV_ERROR, LK_ALERT_FIRING,
                            T0 + 61000, &result, NULL),
                     LK_OUTCOME_NEW);
    assert_string_equal(result.incident_id, id);

    /* resolve again, let the window pass: the tick closes and forgets it */
    s_send(engine, TENANT_A, "Disk", "a", LK_SEV_ERROR, LK_ALERT_RESOLVED, T0 + 70000, NULL, NULL);
    s_send(engine, TENANT_A, "Disk", "c", LK_SEV_ERROR, LK_ALERT_RESOLVED, T0 + 70000, NULL, NULL);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, id)->status, LK_INCIDENT_RESOLVED);
    batch = s_take(engine);
    lk_msg_clear(&batch);
    /* the stale heap entry of the first resolution must not close it early */
    assert_int_equal(correlate_engine_tick(engine, T0 + 2000 + WINDOW_MS + 1), 0);
    assert_non_null(correlate_engine_incident(engine, TENANT_A, id));
    assert_int_equal(correlate_engine_tick(engine, T0 + 70000 + WINDOW_MS), 1);
    assert_null(correlate_engine_incident(engine, TENANT_A, id));
    assert_int_equal(correlate_engine_incident_count(engine), 0);
    assert_int_equal(correlate_engine_alert_count(engine), 0);
    batch = s_take(engine);
    assert_int_equal(s_count_events(&batch, "incident_closed"), 1);
    assert_int_equal(batch.incident_count, 1);
    assert_int_equal(batch.incidents[0].status, LK_INCIDENT_CLOSED);
    lk_msg_clear(&batch);

    /* a new firing after close: a new incident */
    assert_int_equal(s_send(engine, TENANT_A, "Disk", "a", LK_SEV_ERROR, LK_ALERT_FIRING,
                            T0 + 80000 + WINDOW_MS, &result, NULL),
                     LK_OUTCOME_NEW);
    assert_string_not_equal(result.incident_id, id);
    incident = correlate_engine_incident(engine, TENANT_A, result.incident_id);
    assert_int_equal(incident->reopen_count, 0);
    assert_int_equal(incident->alert_count, 1);
}

/* A re-fire after the window but before the tick closed the incident: the old incident is
   closed in the same batch and the alert joins a new one (a new alert row). */
static void test_refire_after_window(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_result_t result;
    s_send(engine, TENANT_A, "Net", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0, &result, NULL);
    char old_id[LK_UUID_STR_LEN + 1];
    memcpy(old_id, result.incident_id, sizeof old_id);
    s_send(engine, TENANT_A, "Net", "a", LK_SEV_ERROR, LK_ALERT_RESOLVED, T0 + 10, NULL, NULL);
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);

    assert_int_equal(s_send(engine, TENANT_A, "Net", "a", LK_SEV_ERROR, LK_ALERT_FIRING,
                            T0 + 10 + WINDOW_MS, &result, NULL),
                     LK_OUTCOME_NEW);
    assert_string_not_equal(result.incident_id, old_id);
    assert_null(correlate_engine_incident(engine, TENANT_A, old_id));
    batch = s_take(engine);
    assert_int_equal(s_count_events(&batch, "incident_closed"), 1);
    assert_int_equal(s_count_events(&batch, "incident_triggered"), 1);
    assert_int_equal(batch.incident_count, 2);
    assert_int_equal(batch.alert_count, 1);
    assert_string_equal(batch.alerts[0].incident_id, result.incident_id);
    assert_int_equal(batch.alerts[0].status, LK_ALERT_FIRING);
    lk_msg_clear(&batch);
}

/* Incident severity is the highest among its firing alerts; kept when none fires. */
static void test_severity(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_result_t result;
    s_send(engine, TENANT_A, "Cpu", "a", LK_SEV_WARNING, LK_ALERT_FIRING, T0, &result, NULL);
    const char *id = result.incident_id;
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, id)->severity, LK_SEV_WARNING);
    s_send(engine, TENANT_A, "Cpu", "b", LK_SEV_CRITICAL, LK_ALERT_FIRING, T0, NULL, NULL);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, id)->severity, LK_SEV_CRITICAL);
    s_send(engine, TENANT_A, "Cpu", "c", LK_SEV_INFO, LK_ALERT_FIRING, T0, NULL, NULL);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, id)->severity, LK_SEV_CRITICAL);
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);

    /* a severity change is significant; lowering the only critical lowers the incident */
    assert_int_equal(
        s_send(engine, TENANT_A, "Cpu", "b", LK_SEV_ERROR, LK_ALERT_FIRING, T0, NULL, NULL),
        LK_OUTCOME_CHANGED);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, id)->severity, LK_SEV_ERROR);
    batch = s_take(engine);
    assert_int_equal(batch.alert_count, 1);
    assert_int_equal(batch.alerts[0].severity, LK_SEV_ERROR);
    assert_int_equal(batch.incident_count, 1);
    assert_int_equal(batch.incidents[0].severity, LK_SEV_ERROR);
    lk_msg_clear(&batch);

    s_send(engine, TENANT_A, "Cpu", "b", LK_SEV_ERROR, LK_ALERT_RESOLVED, T0 + 1, NULL, NULL);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, id)->severity, LK_SEV_WARNING);
    s_send(engine, TENANT_A, "Cpu", "a", LK_SEV_WARNING, LK_ALERT_RESOLVED, T0 + 1, NULL, NULL);
    s_send(engine, TENANT_A, "Cpu", "c", LK_SEV_INFO, LK_ALERT_RESOLVED, T0 + 1, NULL, NULL);
    const lk_incident_t *incident = correlate_engine_incident(engine, TENANT_A, id);
    assert_int_equal(incident->status, LK_INCIDENT_RESOLVED);
    assert_int_equal(incident->severity, LK_SEV_INFO);

    /* an annotation change is significant too */
    lk_alert_t alert;
    s_alert_make(&alert, "Cpu", "a", LK_SEV_WARNING, LK_ALERT_FIRING);
    lk_alert_t changed;
    s_alert_make(&changed, "Cpu", "a", LK_SEV_WARNING, LK_ALERT_FIRING);
    lk_labels_set(&changed.annotations, "runbook", "https://runbooks/cpu");
    assert_int_equal(correlate_engine_alert(engine, TENANT_A, &alert, T0 + 2, &result) > 0, true);
    assert_int_equal(result.outcome, LK_OUTCOME_CHANGED); /* re-fire */
    correlate_engine_alert(engine, TENANT_A, &changed, T0 + 3, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_CHANGED);
    correlate_engine_alert(engine, TENANT_A, &changed, T0 + 4, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_UNCHANGED);
    lk_alert_clear(&alert);
    lk_alert_clear(&changed);
}

/* acknowledge/resolve: transitions, idempotence, conflicts, not_found across tenants. */
static void test_commands(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_result_t result;
    s_send(engine, TENANT_A, "Mem", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0, &result, NULL);
    char id[LK_UUID_STR_LEN + 1];
    memcpy(id, result.incident_id, sizeof id);
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);

    uint64_t due;
    lk_msg_t reply = s_command(engine, TENANT_A, LK_ACTION_ACKNOWLEDGE, id, T0 + 5, &due);
    assert_int_equal(reply.type, LK_MSG_COMMAND_REPLY);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_true(reply.changed);
    assert_int_equal(reply.incident_count, 1);
    assert_int_equal(reply.incidents[0].status, LK_INCIDENT_ACKNOWLEDGED);
    assert_string_equal(reply.incidents[0].acknowledged_by, "alice");
    assert_int_equal(reply.incidents[0].acknowledged_at_ms, T0 + 5);
    assert_int_equal(due, correlate_engine_next_seq(engine));
    uint64_t version = reply.incidents[0].version;
    lk_msg_clear(&reply);
    batch = s_take(engine);
    assert_int_equal(s_count_events(&batch, "incident_acknowledged"), 1);
    for (size_t i = 0; i < batch.event_count; i++)
        if (strcmp(batch.events[i].type, "incident_acknowledged") == 0) {
            assert_string_equal(batch.events[i].actor, "alice");
            assert_string_equal(batch.events[i].note, "on it");
        }
    lk_msg_clear(&batch);

    reply = s_command(engine, TENANT_A, LK_ACTION_ACKNOWLEDGE, id, T0 + 6, &due);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_false(reply.changed);
    assert_int_equal(reply.incidents[0].version, version);
    assert_int_equal(due, correlate_engine_next_seq(engine) - 1); /* the ack's batch */
    lk_msg_clear(&reply);
    assert_int_equal(correlate_engine_pending_items(engine), 0);

    /* new alerts join an acknowledged incident without un-acknowledging it */
    s_send(engine, TENANT_A, "Mem", "b", LK_SEV_ERROR, LK_ALERT_FIRING, T0 + 7, &result, NULL);
    assert_string_equal(result.incident_id, id);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, id)->status,
                     LK_INCIDENT_ACKNOWLEDGED);

    /* other tenant, unknown id: not_found */
    reply = s_command(engine, TENANT_B, LK_ACTION_RESOLVE, id, T0 + 8, &due);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    assert_int_equal(reply.incident_count, 0);
    assert_int_equal(due, 0);
    lk_msg_clear(&reply);
    reply = s_command(engine, TENANT_A, LK_ACTION_ACKNOWLEDGE,
                      "01900000-0000-7000-8000-000000000000", T0 + 8, NULL);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);

    /* manual resolve with alerts still firing */
    reply = s_command(engine, TENANT_A, LK_ACTION_RESOLVE, id, T0 + 9, NULL);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_true(reply.changed);
    assert_int_equal(reply.incidents[0].status, LK_INCIDENT_RESOLVED);
    assert_string_equal(reply.incidents[0].resolved_by, "alice");
    assert_int_equal(reply.incidents[0].firing_count, 2);
    lk_msg_clear(&reply);
    reply = s_command(engine, TENANT_A, LK_ACTION_RESOLVE, id, T0 + 10, NULL);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_false(reply.changed);
    lk_msg_clear(&reply);
    reply = s_command(engine, TENANT_A, LK_ACTION_ACKNOWLEDGE, id, T0 + 11, NULL);
    assert_int_equal(reply.status, LK_STATUS_CONFLICT);
    assert_non_null(reply.error);
    lk_msg_clear(&reply);

    /* still-firing alerts re-sent: no reopen; resolve then fire again: reopen */
    assert_int_equal(
        s_send(engine, TENANT_A, "Mem", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0 + 12, NULL, NULL),
        LK_OUTCOME_UNCHANGED);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, id)->status, LK_INCIDENT_RESOLVED);
    s_send(engine, TENANT_A, "Mem", "a", LK_SEV_ERROR, LK_ALERT_RESOLVED, T0 + 13, NULL, NULL);
    const lk_incident_t *incident = correlate_engine_incident(engine, TENANT_A, id);
    assert_int_equal(incident->status, LK_INCIDENT_RESOLVED);
    assert_string_equal(incident->resolved_by, "alice"); /* manual resolution stands */
    s_send(engine, TENANT_A, "Mem", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0 + 14, NULL, NULL);
    incident = correlate_engine_incident(engine, TENANT_A, id);
    assert_int_equal(incident->status, LK_INCIDENT_TRIGGERED);
    assert_int_equal(incident->reopen_count, 1);
    assert_null(incident->resolved_by);
    assert_null(incident->acknowledged_by);
}

/* dedup_key replaces the labels as identity: a label change is a change of the same alert. */
static void test_dedup_key(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_t first, second;
    s_alert_make(&first, "Payment", "a", LK_SEV_ERROR, LK_ALERT_FIRING);
    s_alert_make(&second, "Payment", "b", LK_SEV_ERROR, LK_ALERT_FIRING);
    first.dedup_key = strdup("payment-outage-42");
    second.dedup_key = strdup("payment-outage-42");
    lk_alert_result_t result1, result2;
    correlate_engine_alert(engine, TENANT_A, &first, T0, &result1);
    correlate_engine_alert(engine, TENANT_A, &second, T0 + 1, &result2);
    assert_int_equal(result1.outcome, LK_OUTCOME_NEW);
    assert_int_equal(result2.outcome, LK_OUTCOME_CHANGED);
    assert_string_equal(result1.fingerprint, result2.fingerprint);
    assert_string_equal(result1.incident_id, result2.incident_id);
    assert_int_equal(correlate_engine_alert_count(engine), 1);

    lk_labels_t key = {0};
    lk_labels_set(&key, "dedup_key", "payment-outage-42");
    char expected[LK_FINGERPRINT_STR_LEN + 1];
    lk_fingerprint_format(lk_fingerprint_labels(&key), expected);
    assert_string_equal(result1.fingerprint, expected);
    lk_labels_clear(&key);

    /* one row per batch for the alert, carrying the latest labels */
    lk_msg_t batch = s_take(engine);
    assert_int_equal(batch.alert_count, 1);
    assert_string_equal(lk_labels_get(&batch.alerts[0].labels, "instance"), "b");
    assert_string_equal(batch.alerts[0].dedup_key, "payment-outage-42");
    lk_msg_clear(&batch);
    lk_alert_clear(&first);
    lk_alert_clear(&second);
}

/* A PagerDuty-style alert (dedup_key) never reopens: a trigger after its resolve, or after
   an operator resolved its incident while it kept firing, opens a new incident and closes
   the old one. */
static void test_dedup_key_never_reopens(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_t alert;
    lk_alert_result_t result;
    s_alert_make(&alert, "disk-db1", NULL, LK_SEV_CRITICAL, LK_ALERT_FIRING);
    alert.dedup_key = strdup("disk-db1");
    correlate_engine_alert(engine, TENANT_A, &alert, T0, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_NEW);
    char first[LK_UUID_STR_LEN + 1];
    strcpy(first, result.incident_id);

    alert.status = LK_ALERT_RESOLVED;
    correlate_engine_alert(engine, TENANT_A, &alert, T0 + 1000, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_CHANGED);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, first)->status,
                     LK_INCIDENT_RESOLVED);
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);

    /* well within the reopen window, yet a new incident */
    alert.status = LK_ALERT_FIRING;
    correlate_engine_alert(engine, TENANT_A, &alert, T0 + 2000, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_NEW);
    assert_string_not_equal(result.incident_id, first);
    assert_null(correlate_engine_incident(engine, TENANT_A, first));
    char second[LK_UUID_STR_LEN + 1];
    strcpy(second, result.incident_id);
    const lk_incident_t *incident = correlate_engine_incident(engine, TENANT_A, second);
    assert_int_equal(incident->status, LK_INCIDENT_TRIGGERED);
    assert_int_equal(incident->reopen_count, 0);
    batch = s_take(engine);
    assert_int_equal(s_count_events(&batch, "incident_closed"), 1);
    assert_int_equal(s_count_events(&batch, "incident_triggered"), 1);
    assert_int_equal(s_count_events(&batch, "incident_reopened"), 0);
    lk_msg_clear(&batch);

    /* an operator resolves while it still fires; the next trigger opens a third incident */
    lk_msg_t reply = s_command(engine, TENANT_A, LK_ACTION_RESOLVE, second, T0 + 3000, NULL);
    assert_int_equal(reply.status, LK_STATUS_OK);
    lk_msg_clear(&reply);
    correlate_engine_alert(engine, TENANT_A, &alert, T0 + 4000, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_NEW);
    assert_string_not_equal(result.incident_id, second);
    assert_string_not_equal(result.incident_id, first);
    /* and a re-send of the firing alert is just a re-send */
    correlate_engine_alert(engine, TENANT_A, &alert, T0 + 5000, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_UNCHANGED);
    lk_alert_clear(&alert);

    /* label alerts keep the flap semantics: resolve and re-fire reopens */
    assert_int_equal(
        s_send(engine, TENANT_A, "Flappy", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0, &result, NULL),
        LK_OUTCOME_NEW);
    strcpy(first, result.incident_id);
    s_send(engine, TENANT_A, "Flappy", "a", LK_SEV_ERROR, LK_ALERT_RESOLVED, T0 + 1, NULL, NULL);
    s_send(engine, TENANT_A, "Flappy", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0 + 2, &result, NULL);
    assert_string_equal(result.incident_id, first);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, first)->reopen_count, 1);
}

/* Prometheus bumps endsAt on every re-send of a firing alert: not a change. */
static void test_firing_ends_at_is_insignificant(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_t alert;
    lk_alert_result_t result;
    s_alert_make(&alert, "HighCPU", "a", LK_SEV_WARNING, LK_ALERT_FIRING);
    alert.ends_at_ms = T0 + 60000;
    correlate_engine_alert(engine, TENANT_A, &alert, T0, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_NEW);
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);
    for (int i = 1; i <= 3; i++) {
        alert.ends_at_ms = T0 + 60000 + i * 15000;
        correlate_engine_alert(engine, TENANT_A, &alert, T0 + i * 15000, &result);
        assert_int_equal(result.outcome, LK_OUTCOME_UNCHANGED);
    }
    assert_int_equal(correlate_engine_pending_items(engine), 0);
    /* resolved re-sends with the same endsAt are unchanged too */
    alert.status = LK_ALERT_RESOLVED;
    alert.ends_at_ms = T0 + 70000;
    correlate_engine_alert(engine, TENANT_A, &alert, T0 + 70000, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_CHANGED);
    correlate_engine_alert(engine, TENANT_A, &alert, T0 + 80000, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_UNCHANGED);
    lk_alert_clear(&alert);
}

/* Sends a firing alert {alertname=name, instance=instance} with this endsAt. */
static lk_outcome_t s_send_ends(correlate_engine_t *engine, const char *name, const char *instance,
                                int64_t ends_at_ms, int64_t now_ms, lk_alert_result_t *result_out)
{
    lk_alert_t alert;
    s_alert_make(&alert, name, instance, LK_SEV_WARNING, LK_ALERT_FIRING);
    alert.ends_at_ms = ends_at_ms;
    lk_alert_result_t result;
    correlate_engine_alert(engine, TENANT_A, &alert, now_ms, &result);
    lk_alert_clear(&alert);
    if (result_out)
        *result_out = result;
    return result.outcome;
}

/* A firing alert whose endsAt passes without a re-send resolves by itself at the tick, with
   a partial alert_ends[] row (not a full one: memory has no content); its incident resolves
   when its last firing alert ended. */
static void test_ends_at_resolves(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_result_t first, second;
    assert_int_equal(s_send_ends(engine, "Ends", "a", T0 + 60000, T0, &first), LK_OUTCOME_NEW);
    assert_int_equal(s_send_ends(engine, "Ends", "b", T0 + 90000, T0, &second), LK_OUTCOME_NEW);
    assert_string_equal(first.incident_id, second.incident_id);
    assert_int_equal(correlate_engine_end_count(engine), 2);
    lk_msg_t batch = s_take(engine);
    assert_int_equal(batch.alert_count, 2);
    assert_true(batch.alerts[0].ends_at_ms == T0 + 60000); /* the stored row carries endsAt */
    lk_msg_clear(&batch);

    correlate_engine_tick(engine, T0 + 59999);
    assert_int_equal(correlate_engine_pending_items(engine), 0);
    correlate_engine_tick(engine, T0 + 60000);
    batch = s_take(engine);
    assert_int_equal(batch.alert_count, 0);
    assert_int_equal(batch.alert_end_count, 1);
    assert_string_equal(batch.alert_ends[0].fingerprint, first.fingerprint);
    assert_string_equal(batch.alert_ends[0].incident_id, first.incident_id);
    assert_string_equal(batch.alert_ends[0].tenant_id, TENANT_A);
    assert_true(batch.alert_ends[0].ends_at_ms == T0 + 60000);
    assert_true(batch.alert_ends[0].updated_at_ms >= T0 + 60000);
    assert_int_equal(s_count_events(&batch, "alert_resolved"), 1);
    assert_int_equal(s_count_events(&batch, "incident_resolved"), 0);
    assert_int_equal(batch.incident_count, 1);
    assert_int_equal(batch.incidents[0].firing_count, 1);
    lk_msg_clear(&batch);
    const lk_incident_t *incident = correlate_engine_incident(engine, TENANT_A, first.incident_id);
    assert_int_equal(incident->status, LK_INCIDENT_TRIGGERED);

    correlate_engine_tick(engine, T0 + 90500);
    batch = s_take(engine);
    assert_int_equal(batch.alert_end_count, 1);
    assert_string_equal(batch.alert_ends[0].fingerprint, second.fingerprint);
    assert_true(batch.alert_ends[0].ends_at_ms == T0 + 90000);
    assert_int_equal(s_count_events(&batch, "alert_resolved"), 1);
    assert_int_equal(s_count_events(&batch, "incident_resolved"), 1);
    assert_int_equal(batch.incident_count, 1);
    assert_int_equal(batch.incidents[0].status, LK_INCIDENT_RESOLVED);
    assert_true(batch.incidents[0].resolved_at_ms == T0 + 90500);
    lk_msg_clear(&batch);
    assert_int_equal(correlate_engine_end_count(engine), 0);

    /* the sender's own resolved re-send afterwards is a new end time: written once */
    lk_alert_t alert;
    lk_alert_result_t result;
    s_alert_make(&alert, "Ends", "a", LK_SEV_WARNING, LK_ALERT_RESOLVED);
    alert.ends_at_ms = T0 + 60000;
    correlate_engine_alert(engine, TENANT_A, &alert, T0 + 95000, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_UNCHANGED);
    lk_alert_clear(&alert);
    /* a re-send after the end fires again: the incident reopens (a flap) */
    assert_int_equal(s_send_ends(engine, "Ends", "a", T0 + 400000, T0 + 100000, &result),
                     LK_OUTCOME_CHANGED);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, first.incident_id)->status,
                     LK_INCIDENT_TRIGGERED);
    assert_int_equal(correlate_engine_end_count(engine), 1);
}

/* Re-sends that only move endsAt are acked from memory (no write) and move the timer; an
   alert that fires and ends within one batch has its full row updated in place. */
static void test_ends_at_resend_moves_timer(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_result_t result;
    s_send_ends(engine, "Moves", "a", T0 + 60000, T0, &result);
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(
            s_send_ends(engine, "Moves", "a", T0 + 60000 + i * 60000, T0 + i * 60000, NULL),
            LK_OUTCOME_UNCHANGED);
        correlate_engine_tick(engine, T0 + i * 60000);
    }
    assert_int_equal(correlate_engine_pending_items(engine), 0);
    correlate_engine_tick(engine, T0 + 6 * 60000 - 1);
    assert_int_equal(correlate_engine_pending_items(engine), 0);
    correlate_engine_tick(engine, T0 + 6 * 60000);
    batch = s_take(engine);
    assert_int_equal(batch.alert_end_count, 1);
    assert_true(batch.alert_ends[0].ends_at_ms == T0 + 6 * 60000);
    assert_int_equal(s_count_events(&batch, "incident_resolved"), 1);
    lk_msg_clear(&batch);

    /* endsAt moved earlier counts too (the latest sender decides) */
    s_send_ends(engine, "Earlier", "a", T0 + 900000, T0, NULL);
    s_send_ends(engine, "Earlier", "a", T0 + 700000, T0 + 1, NULL);
    /* fires and ends before the batch leaves: its full row in the batch says resolved */
    correlate_engine_tick(engine, T0 + 700000);
    batch = s_take(engine);
    assert_int_equal(batch.alert_end_count, 0);
    assert_int_equal(batch.alert_count, 1);
    assert_int_equal(batch.alerts[0].status, LK_ALERT_RESOLVED);
    assert_true(batch.alerts[0].ends_at_ms == T0 + 700000);
    lk_msg_clear(&batch);
}

/* The alert table grows incrementally: alerts that have not moved to the new table yet are
   found (re-sends stay unchanged), removed (closing an incident drops its alerts) and freed,
   across several growths (at 768, 1,536, 3,072 alerts; ASan checks nothing is lost). */
static void test_alert_table_growth(void **state)
{
    correlate_engine_t *engine = *state;
    char name[32], instance[32];
    /* 800: the table grew at 769 and is moving the old one's slots, 8 per insert */
    for (int i = 0; i < 800; i++) {
        snprintf(name, sizeof name, "Grow%d", i / 100);
        snprintf(instance, sizeof instance, "i%d", i);
        assert_int_equal(s_send(engine, TENANT_A, name, instance, LK_SEV_WARNING, LK_ALERT_FIRING,
                                T0, NULL, NULL),
                         LK_OUTCOME_NEW);
    }
    assert_int_equal(correlate_engine_alert_count(engine), 800);
    /* the rest of the move goes a slice at a time while correlate is idle: 1024 old slots,
       256 of them moved by the 32 inserts from the growing one on; the last slice empties
       the old table (and says nothing is left) */
    assert_true(correlate_engine_move_slots(engine, 0));
    size_t slices = 0;
    while (correlate_engine_move_slots(engine, 64))
        slices++;
    assert_int_equal(slices + 1, (1024 - 256) / 64);
    assert_false(correlate_engine_move_slots(engine, 64));
    /* Grow0 resolves and closes: its 100 alerts leave memory, most from the old table */
    for (int i = 0; i < 100; i++) {
        snprintf(instance, sizeof instance, "i%d", i);
        s_send(engine, TENANT_A, "Grow0", instance, LK_SEV_WARNING, LK_ALERT_RESOLVED, T0 + 1000,
               NULL, NULL);
    }
    assert_int_equal(correlate_engine_tick(engine, T0 + 1000 + WINDOW_MS + 1), 1);
    assert_int_equal(correlate_engine_alert_count(engine), 700);
    for (int i = 0; i < 800; i++) {
        snprintf(name, sizeof name, "Grow%d", i / 100);
        snprintf(instance, sizeof instance, "i%d", i);
        assert_int_equal(s_send(engine, TENANT_A, name, instance, LK_SEV_WARNING, LK_ALERT_FIRING,
                                T0 + 2000 + WINDOW_MS, NULL, NULL),
                         i < 100 ? LK_OUTCOME_NEW : LK_OUTCOME_UNCHANGED);
    }
    /* two more growths; every alert is still found once */
    for (int i = 800; i < 4000; i++) {
        snprintf(name, sizeof name, "Grow%d", i / 100);
        snprintf(instance, sizeof instance, "i%d", i);
        assert_int_equal(s_send(engine, TENANT_A, name, instance, LK_SEV_WARNING, LK_ALERT_FIRING,
                                T0 + 3000 + WINDOW_MS, NULL, NULL),
                         LK_OUTCOME_NEW);
        if (i % 97 == 0) { /* lookups of earlier alerts while the tables move */
            snprintf(name, sizeof name, "Grow%d", (i / 3) / 100);
            snprintf(instance, sizeof instance, "i%d", i / 3);
            assert_int_equal(s_send(engine, TENANT_A, name, instance, LK_SEV_WARNING,
                                    LK_ALERT_FIRING, T0 + 3000 + WINDOW_MS, NULL, NULL),
                             LK_OUTCOME_UNCHANGED);
        }
    }
    assert_int_equal(correlate_engine_alert_count(engine), 4000);
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);
}

/* A field of /proc/self/status in KiB ("VmSize", "VmRSS"), or -1. */
static long s_status_kib(const char *field)
{
    FILE *status = fopen("/proc/self/status", "r");
    if (!status)
        return -1;
    char line[128];
    long kib = -1;
    size_t length = strlen(field);
    while (fgets(line, sizeof line, status))
        if (strncmp(line, field, length) == 0 && line[length] == ':' &&
            sscanf(line + length + 1, "%ld", &kib) == 1)
            break;
    fclose(status);
    return kib;
}

/* Sends alerts Big/i<from> .. i<to - 1>, all new, taking the batch every 4,096. */
static void s_send_big(correlate_engine_t *engine, int from, int to)
{
    char name[32], instance[32];
    for (int i = from; i < to; i++) {
        snprintf(name, sizeof name, "Big%d", i / 1000);
        snprintf(instance, sizeof instance, "i%d", i);
        assert_int_equal(s_send(engine, TENANT_A, name, instance, LK_SEV_WARNING, LK_ALERT_FIRING,
                                T0, NULL, NULL),
                         LK_OUTCOME_NEW);
        if (i % 4096 == 0) {
            lk_msg_t batch = s_take(engine);
            lk_msg_clear(&batch);
        }
    }
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);
}

/* Tables of 1 MiB or more have mappings of their own. Once the table is 5/8 full, quiet
   moments map the next growth's table and touch its pages, 256 KiB a call, and the growth
   takes it; once the old table's alerts moved over, it goes back to the kernel 1 MiB a call
   (unmapping 64 MiB at once held correlate for about 4 ms); until then correlate is told there
   is work left. The table of 262,144 slots (2 MiB) is 5/8 full at 163,841 alerts and grows
   to 524,288 at 196,609. */
static void test_alert_table_prepares_and_retires(void **state)
{
    correlate_engine_t *engine = *state;
    enum { ALERTS = 196609 };
    char name[32], instance[32];
    s_send_big(engine, 0, 163840);
    assert_false(correlate_engine_move_slots(engine, 0)); /* 5/8 full: nothing to do yet */
    s_send_big(engine, 163840, 163841);
    long before = s_status_kib("VmSize"), rss_before = s_status_kib("VmRSS");
    assert_true(correlate_engine_move_slots(engine, 0)); /* asking maps nothing */
    assert_int_equal(s_status_kib("VmSize"), before);
    size_t calls = 0;
    while (correlate_engine_move_slots(engine, 1))
        calls++;
    assert_int_equal(calls + 1, 4096 / 256);
    assert_int_equal(s_status_kib("VmSize"), before + 4096);
    assert_true(s_status_kib("VmRSS") >= rss_before + 4096);
    /* the growth takes the table made ready: what the growing insert maps (its record's new
       slab of 4,096 records, ~420 KiB) is less than a table of 4 MiB */
    s_send_big(engine, 163841, ALERTS - 1);
    before = s_status_kib("VmSize");
    s_send_big(engine, ALERTS - 1, ALERTS);
    assert_true(s_status_kib("VmSize") < before + 4096);
    before = s_status_kib("VmSize");
    /* the whole move in one call: the old table empties and waits to be given back */
    assert_true(correlate_engine_move_slots(engine, SIZE_MAX));
    assert_int_equal(s_status_kib("VmSize"), before);
    assert_true(correlate_engine_move_slots(engine, 0)); /* asking gives nothing back */
    assert_int_equal(s_status_kib("VmSize"), before);
    assert_true(correlate_engine_move_slots(engine, 1));
    assert_int_equal(s_status_kib("VmSize"), before - 1024);
    assert_false(correlate_engine_move_slots(engine, 1));
    assert_int_equal(s_status_kib("VmSize"), before - 2048);
    assert_false(correlate_engine_move_slots(engine, 1));
    /* every alert is still found once */
    for (int i = 0; i < ALERTS; i += 97) {
        snprintf(name, sizeof name, "Big%d", i / 1000);
        snprintf(instance, sizeof instance, "i%d", i);
        assert_int_equal(s_send(engine, TENANT_A, name, instance, LK_SEV_WARNING, LK_ALERT_FIRING,
                                T0 + 1000, NULL, NULL),
                         LK_OUTCOME_UNCHANGED);
    }
    assert_int_equal(correlate_engine_alert_count(engine), ALERTS);
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);
}

/* The alert table under churn: two tenants send the same alerts (equal fingerprints, groups
   of 10). Each round, a pseudo-random third of each tenant's groups resolve and close (their
   alerts leave the table), then every alert is sent again and more groups join: an alert is
   new exactly when its group closed or is new. Four rounds end just past a growth (at 1,536,
   3,072, 6,144 and 12,288 alerts), so the next round removes alerts still in the old table. */
static void test_alert_table_churn(void **state)
{
    correlate_engine_t *engine = *state;
    enum { MAX_GROUPS = 620, PER_GROUP = 10, ROUNDS = 7 };
    static const int groups_in_round[ROUNDS] = {78, 155, 310, 400, 620, 620, 620};
    const char *tenants[] = {TENANT_A, TENANT_B};
    bool closed[2][MAX_GROUPS];
    char name[32], instance[32];
    uint32_t random = 12345;
    int64_t now = T0;
    for (int round = 0; round < ROUNDS; round++) {
        int before = round > 0 ? groups_in_round[round - 1] : 0;
        size_t closing = 0;
        memset(closed, 0, sizeof closed);
        for (int t = 0; t < 2; t++)
            for (int g = 0; g < before; g++) {
                random = random * 1103515245u + 12345u;
                if ((random >> 16) % 3 != 0)
                    continue;
                closed[t][g] = true;
                closing++;
                snprintf(name, sizeof name, "Churn%d", g);
                for (int i = 0; i < PER_GROUP; i++) {
                    snprintf(instance, sizeof instance, "i%d", i);
                    s_send(engine, tenants[t], name, instance, LK_SEV_WARNING, LK_ALERT_RESOLVED,
                           now, NULL, NULL);
                }
            }
        now += WINDOW_MS + 1000;
        assert_int_equal(correlate_engine_tick(engine, now), closing);
        assert_int_equal(correlate_engine_alert_count(engine),
                         (2 * (size_t)before - closing) * PER_GROUP);
        for (int t = 0; t < 2; t++)
            for (int g = 0; g < groups_in_round[round]; g++) {
                snprintf(name, sizeof name, "Churn%d", g);
                bool fresh = g >= before || closed[t][g];
                for (int i = 0; i < PER_GROUP; i++) {
                    snprintf(instance, sizeof instance, "i%d", i);
                    assert_int_equal(s_send(engine, tenants[t], name, instance, LK_SEV_WARNING,
                                            LK_ALERT_FIRING, now, NULL, NULL),
                                     fresh ? LK_OUTCOME_NEW : LK_OUTCOME_UNCHANGED);
                }
            }
        assert_int_equal(correlate_engine_alert_count(engine),
                         2 * (size_t)groups_in_round[round] * PER_GROUP);
        lk_msg_t batch = s_take(engine);
        lk_msg_clear(&batch);
    }
}

/* Alert records of closed incidents are reused: a second wave as large as the first needs
   no new slab, and its alerts start clean (new, in new incidents). */
static void test_alert_records_reused(void **state)
{
    correlate_engine_t *engine = *state;
    char name[32], instance[32];
    lk_alert_result_t result;
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "Wave%d", i / 500);
        snprintf(instance, sizeof instance, "i%d", i);
        s_send(engine, TENANT_A, name, instance, LK_SEV_WARNING, LK_ALERT_FIRING, T0, NULL, NULL);
    }
    size_t records = correlate_engine_record_count(engine);
    assert_true(records >= 5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "Wave%d", i / 500);
        snprintf(instance, sizeof instance, "i%d", i);
        s_send(engine, TENANT_A, name, instance, LK_SEV_WARNING, LK_ALERT_RESOLVED, T0 + 1000, NULL,
               NULL);
    }
    assert_int_equal(correlate_engine_tick(engine, T0 + 1000 + WINDOW_MS + 1), 10);
    assert_int_equal(correlate_engine_alert_count(engine), 0);
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "Again%d", i / 500);
        snprintf(instance, sizeof instance, "j%d", i);
        assert_int_equal(s_send(engine, TENANT_A, name, instance, LK_SEV_CRITICAL, LK_ALERT_FIRING,
                                T0 + 2000 + WINDOW_MS, &result, NULL),
                         LK_OUTCOME_NEW);
        const lk_incident_t *incident =
            correlate_engine_incident(engine, TENANT_A, result.incident_id);
        assert_non_null(incident);
        assert_int_equal(incident->alert_count, (size_t)(i % 500) + 1);
        assert_int_equal(incident->severity, LK_SEV_CRITICAL);
    }
    assert_int_equal(correlate_engine_alert_count(engine), 5000);
    assert_int_equal(correlate_engine_record_count(engine), records);
    batch = s_take(engine);
    lk_msg_clear(&batch);
}

/* Paced ends (the actor's mode): a tick with a limit of 0 resolves nothing; end_due resolves
   at most its max, earliest endsAt first, and bounds the re-arms of moved timers on the way
   (16 per resolution allowed) so neither a wave of ends nor of re-arms is one long call. */
static void test_ends_paced(void **state)
{
    correlate_engine_t *engine = *state;
    char instance[16];
    correlate_engine_set_tick_end_limit(engine, 0);
    for (int i = 0; i < 40; i++) { /* timers that will be found moved */
        snprintf(instance, sizeof instance, "m%d", i);
        s_send_ends(engine, "Moved", instance, T0 + 1000 + i, T0, NULL);
        assert_int_equal(s_send_ends(engine, "Moved", instance, T0 + 500000, T0 + 1, NULL),
                         LK_OUTCOME_UNCHANGED);
    }
    for (int i = 299; i >= 0; i--) {
        snprintf(instance, sizeof instance, "p%d", i);
        s_send_ends(engine, "Paced", instance, T0 + 60000 + i, T0, NULL);
    }
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);
    assert_int_equal(correlate_engine_end_count(engine), 340);
    assert_true(correlate_engine_next_end_ms(engine) == T0 + 1000);

    const int64_t now = T0 + 70000;
    correlate_engine_tick(engine, now);
    assert_int_equal(correlate_engine_pending_items(engine), 0);
    assert_int_equal(correlate_engine_end_count(engine), 340);

    /* max 1 allows 16 re-arms: the call stops there, nothing resolved yet */
    assert_int_equal(correlate_engine_end_due(engine, now, 1), 0);
    assert_int_equal(correlate_engine_pending_items(engine), 0);
    assert_true(correlate_engine_next_end_ms(engine) == T0 + 1016);
    /* max 3: the other 24 re-arms, then the three earliest ends */
    assert_int_equal(correlate_engine_end_due(engine, now, 3), 3);
    assert_true(correlate_engine_next_end_ms(engine) == T0 + 60003);
    assert_int_equal(correlate_engine_end_due(engine, now, 97), 97);
    batch = s_take(engine);
    assert_int_equal(batch.alert_end_count, 100);
    for (size_t i = 0; i < batch.alert_end_count; i++)
        assert_true(batch.alert_ends[i].ends_at_ms == T0 + 60000 + (int64_t)i);
    assert_int_equal(s_count_events(&batch, "incident_resolved"), 0);
    lk_msg_clear(&batch);

    /* the rest, and its incident with its last alert; the moved timers stay armed */
    assert_int_equal(correlate_engine_end_due(engine, now, SIZE_MAX), 200);
    batch = s_take(engine);
    assert_int_equal(batch.alert_end_count, 200);
    assert_int_equal(s_count_events(&batch, "incident_resolved"), 1);
    lk_msg_clear(&batch);
    assert_int_equal(correlate_engine_end_count(engine), 40);
    assert_true(correlate_engine_next_end_ms(engine) == T0 + 500000);
    assert_int_equal(correlate_engine_end_due(engine, now, SIZE_MAX), 0);
}

/* The ends heap past S_MAPPED_MIN (1 MiB, 65,536 entries): it moves into a mapping of its
   own, then grows by mremap (at 131,072 entries); every timer survives both moves and the
   alerts end in endsAt order, deadlines given in the reverse order of the sends. The alert
   table meanwhile becomes a mapping of its own (131,072 slots, 1 MiB, at 49,153 alerts),
   grows into another (at 98,305), and its alerts leave it as they end. */
static void test_ends_heap_mapped(void **state)
{
    correlate_engine_t *engine = *state;
    enum { ALERTS = 150000 };
    char name[16], instance[16];
    for (int i = 0; i < ALERTS; i++) {
        snprintf(name, sizeof name, "Mapped%d", i % 100);
        snprintf(instance, sizeof instance, "i%d", i);
        assert_int_equal(s_send_ends(engine, name, instance, T0 + 60000 + (ALERTS - i), T0, NULL),
                         LK_OUTCOME_NEW);
        if (i % 5000 == 4999) {
            lk_msg_t batch = s_take(engine);
            lk_msg_clear(&batch);
        }
    }
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);
    assert_int_equal(correlate_engine_end_count(engine), ALERTS);
    assert_true(correlate_engine_next_end_ms(engine) == T0 + 60001);

    int64_t last = 0;
    size_t ended = 0;
    while (ended < ALERTS) {
        size_t due = correlate_engine_end_due(engine, T0 + 70000 + ALERTS, 5000);
        assert_true(due > 0);
        batch = s_take(engine);
        assert_int_equal(batch.alert_end_count, due);
        for (size_t i = 0; i < batch.alert_end_count; i++) {
            assert_true(batch.alert_ends[i].ends_at_ms > last);
            last = batch.alert_ends[i].ends_at_ms;
        }
        lk_msg_clear(&batch);
        ended += due;
    }
    assert_true(last == T0 + 60000 + ALERTS);
    assert_int_equal(correlate_engine_end_count(engine), 0);
}

/* Alerts without an endsAt (native POST /alerts, PagerDuty, webhooks, rules, heartbeats)
   never end by themselves; a re-send without endsAt disarms an armed one. */
static void test_no_ends_at_never_ends(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_result_t result;
    s_send(engine, TENANT_A, "Native", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0, &result, NULL);
    s_send_ends(engine, "Disarmed", "a", T0 + 1000, T0, NULL);
    assert_int_equal(correlate_engine_end_count(engine), 1);
    assert_int_equal(s_send_ends(engine, "Disarmed", "a", 0, T0 + 10, NULL), LK_OUTCOME_UNCHANGED);
    assert_int_equal(correlate_engine_end_count(engine), 0);
    lk_msg_t batch = s_take(engine);
    lk_msg_clear(&batch);
    correlate_engine_tick(engine, T0 + 86400000LL);
    batch = s_take(engine);
    assert_int_equal(s_count_events(&batch, "alert_resolved"), 0);
    assert_int_equal(batch.alert_end_count, 0);
    lk_msg_clear(&batch);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, result.incident_id)->status,
                     LK_INCIDENT_TRIGGERED);
}

/* After a restart the stored endsAt may be older than the last re-send's (those are not
   written): loaded alerts end no earlier than load time + the restart grace, unless a re-send
   moves endsAt; an endsAt beyond the grace is kept. */
static void test_ends_at_restart_grace(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_result_t stale, later;
    s_send_ends(engine, "Restart", "a", T0 + 60000, T0, &stale);
    s_send_ends(engine, "Restart", "b", T0 + 3600000, T0, &later);
    lk_msg_t batch = s_take(engine);
    lk_msg_t page;
    lk_msg_init(&page, LK_MSG_QUERY_REPLY);
    for (size_t i = 0; i < batch.incident_count; i++)
        lk_msg_add_incident(&page, &batch.incidents[i]);
    for (size_t i = 0; i < batch.alert_count; i++)
        lk_msg_add_alert(&page, &batch.alerts[i]);
    lk_msg_clear(&batch);

    const int64_t load_ms = T0 + 120000; /* the stored endsAt of "a" already passed */
    correlate_engine_t *rebuilt = correlate_engine_new("alertname", WINDOW_MS);
    correlate_engine_set_restart_grace(rebuilt, 300000);
    assert_int_equal(correlate_engine_load(rebuilt, &page), 0);
    assert_int_equal(correlate_engine_load_finish(rebuilt, load_ms), 0);
    lk_msg_clear(&page);
    assert_int_equal(correlate_engine_end_count(rebuilt), 2);
    correlate_engine_tick(rebuilt, load_ms);
    correlate_engine_tick(rebuilt, load_ms + 300000 - 1);
    assert_int_equal(correlate_engine_pending_items(rebuilt), 0);
    correlate_engine_tick(rebuilt, load_ms + 300000);
    batch = s_take(rebuilt);
    assert_int_equal(batch.alert_end_count, 1);
    assert_string_equal(batch.alert_ends[0].fingerprint, stale.fingerprint);
    assert_true(batch.alert_ends[0].ends_at_ms == load_ms + 300000);
    lk_msg_clear(&batch);
    /* "b" keeps its own, later endsAt; a re-send moves it as before */
    assert_int_equal(s_send_ends(rebuilt, "Restart", "b", T0 + 4000000, T0 + 500000, NULL),
                     LK_OUTCOME_UNCHANGED);
    correlate_engine_tick(rebuilt, T0 + 3600000);
    assert_int_equal(correlate_engine_pending_items(rebuilt), 0);
    correlate_engine_tick(rebuilt, T0 + 4000000);
    batch = s_take(rebuilt);
    assert_int_equal(batch.alert_end_count, 1);
    assert_string_equal(batch.alert_ends[0].fingerprint, later.fingerprint);
    assert_int_equal(s_count_events(&batch, "incident_resolved"), 1);
    lk_msg_clear(&batch);
    correlate_engine_destroy(&rebuilt);
}

/* A command may name the incident by one of its alerts (PagerDuty acknowledge by dedup_key). */
static void test_command_by_fingerprint(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_result_t result;
    s_send(engine, TENANT_A, "DiskFull", "db1", LK_SEV_ERROR, LK_ALERT_FIRING, T0, &result, NULL);

    lk_msg_t request, reply;
    lk_msg_init(&request, LK_MSG_COMMAND);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", TENANT_A);
    request.action = LK_ACTION_ACKNOWLEDGE;
    snprintf(request.fingerprint, sizeof request.fingerprint, "%s", result.fingerprint);
    request.actor = strdup("pagerduty");
    uint64_t due = correlate_engine_command(engine, &request, &reply, T0 + 10);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_true(reply.changed);
    assert_int_equal(reply.incident_count, 1);
    assert_string_equal(reply.incidents[0].id, result.incident_id);
    assert_int_equal(reply.incidents[0].status, LK_INCIDENT_ACKNOWLEDGED);
    assert_string_equal(reply.incidents[0].acknowledged_by, "pagerduty");
    assert_true(due == correlate_engine_next_seq(engine));
    lk_msg_clear(&reply);

    /* another tenant's alert, an unknown alert, a tenant never seen: not found */
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", TENANT_B);
    correlate_engine_command(engine, &request, &reply, T0 + 20);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    assert_int_equal(reply.incident_count, 0);
    lk_msg_clear(&reply);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", TENANT_A);
    snprintf(request.fingerprint, sizeof request.fingerprint, "0000000000000001");
    correlate_engine_command(engine, &request, &reply, T0 + 20);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);

    /* resolve by fingerprint, then acknowledge conflicts as for an id */
    snprintf(request.fingerprint, sizeof request.fingerprint, "%s", result.fingerprint);
    request.action = LK_ACTION_RESOLVE;
    correlate_engine_command(engine, &request, &reply, T0 + 30);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.incidents[0].status, LK_INCIDENT_RESOLVED);
    lk_msg_clear(&reply);
    request.action = LK_ACTION_ACKNOWLEDGE;
    correlate_engine_command(engine, &request, &reply, T0 + 40);
    assert_int_equal(reply.status, LK_STATUS_CONFLICT);
    lk_msg_clear(&reply);
    lk_msg_clear(&request);
}

/* group_by with two labels: key rendering, missing label as "", title, quoting. */
static void test_group_by_two_labels(void **state)
{
    (void)state;
    correlate_engine_t *engine = correlate_engine_new(" cluster , alertname,cluster", WINDOW_MS);
    lk_alert_t alert;
    lk_alert_result_t eu1, eu2, us, none;
    s_alert_make(&alert, "Latency", "a", LK_SEV_ERROR, LK_ALERT_FIRING);
    lk_labels_set(&alert.labels, "cluster", "eu");
    correlate_engine_alert(engine, TENANT_A, &alert, T0, &eu1);
    lk_labels_set(&alert.labels, "instance", "b");
    correlate_engine_alert(engine, TENANT_A, &alert, T0, &eu2);
    lk_labels_set(&alert.labels, "cluster", "us");
    correlate_engine_alert(engine, TENANT_A, &alert, T0, &us);
    lk_alert_clear(&alert);
    s_alert_make(&alert, "Latency", "a", LK_SEV_ERROR, LK_ALERT_FIRING);
    correlate_engine_alert(engine, TENANT_A, &alert, T0, &none);
    lk_alert_clear(&alert);

    assert_string_equal(eu1.incident_id, eu2.incident_id);
    assert_string_not_equal(eu1.incident_id, us.incident_id);
    assert_string_not_equal(eu1.incident_id, none.incident_id);
    assert_int_equal(correlate_engine_incident_count(engine), 3);

    const lk_incident_t *incident = correlate_engine_incident(engine, TENANT_A, eu1.incident_id);
    assert_string_equal(incident->group_key, "{}:{alertname=\"Latency\", cluster=\"eu\"}");
    assert_string_equal(incident->title, "Latency (cluster=eu)");
    assert_int_equal(incident->group_labels.count, 2);
    assert_string_equal(lk_labels_get(&incident->group_labels, "cluster"), "eu");
    assert_ptr_equal(correlate_engine_group_incident(engine, TENANT_A, incident->group_key),
                     incident);
    incident = correlate_engine_incident(engine, TENANT_A, none.incident_id);
    assert_string_equal(incident->group_key, "{}:{alertname=\"Latency\", cluster=\"\"}");
    assert_string_equal(incident->title, "Latency");

    lk_labels_t labels = {0};
    lk_labels_set(&labels, "alertname", "Quote\"Back\\slash\nNL");
    char *key = correlate_engine_group_key(engine, &labels);
    assert_string_equal(key, "{}:{alertname=\"Quote\\\"Back\\\\slash\\nNL\", cluster=\"\"}");
    free(key);
    lk_labels_clear(&labels);
    /* runs of plain bytes between escapes, control bytes and DEL as \xNN, UTF-8 as is */
    lk_labels_set(&labels, "alertname",
                  "a\x01"
                  "bc\x7f"
                  "\xc3\xa9"
                  "t\t");
    lk_labels_set(&labels, "cluster", "plain run");
    key = correlate_engine_group_key(engine, &labels);
    assert_string_equal(key, "{}:{alertname=\"a\\x01bc\\x7f\xc3\xa9"
                             "t\\t\", cluster=\"plain run\"}");
    free(key);
    lk_labels_clear(&labels);
    correlate_engine_destroy(&engine);

    /* no group_by at all: one group per tenant */
    engine = correlate_engine_new("", WINDOW_MS);
    lk_labels_set(&labels, "alertname", "X");
    key = correlate_engine_group_key(engine, &labels);
    assert_string_equal(key, "{}:{}");
    free(key);
    lk_labels_clear(&labels);
    correlate_engine_destroy(&engine);
}

/* Same labels in two tenants: two alerts, two incidents; commands stay in their tenant. */
static void test_tenant_isolation(void **state)
{
    correlate_engine_t *engine = *state;
    lk_alert_result_t a, b;
    s_send(engine, TENANT_A, "Shared", "x", LK_SEV_ERROR, LK_ALERT_FIRING, T0, &a, NULL);
    s_send(engine, TENANT_B, "Shared", "x", LK_SEV_ERROR, LK_ALERT_FIRING, T0, &b, NULL);
    assert_int_equal(a.outcome, LK_OUTCOME_NEW);
    assert_int_equal(b.outcome, LK_OUTCOME_NEW);
    assert_string_equal(a.fingerprint, b.fingerprint);
    assert_string_not_equal(a.incident_id, b.incident_id);
    assert_int_equal(correlate_engine_incident_count(engine), 2);
    assert_int_equal(correlate_engine_alert_count(engine), 2);
    assert_null(correlate_engine_incident(engine, TENANT_B, a.incident_id));
    assert_string_equal(s_group(engine, TENANT_B, "Shared")->id, b.incident_id);

    /* resolving in tenant B leaves tenant A's alert firing */
    s_send(engine, TENANT_B, "Shared", "x", LK_SEV_ERROR, LK_ALERT_RESOLVED, T0 + 1, NULL, NULL);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, a.incident_id)->status,
                     LK_INCIDENT_TRIGGERED);
    assert_int_equal(correlate_engine_incident(engine, TENANT_B, b.incident_id)->status,
                     LK_INCIDENT_RESOLVED);

    lk_msg_t reply = s_command(engine, TENANT_B, LK_ACTION_ACKNOWLEDGE, a.incident_id, T0, NULL);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);
    assert_int_equal(correlate_engine_incident(engine, TENANT_A, a.incident_id)->status,
                     LK_INCIDENT_TRIGGERED);
}

/* Due seqs: an unchanged re-send waits for the batch that last wrote the alert. */
static void test_due_seq(void **state)
{
    correlate_engine_t *engine = *state;
    uint64_t due;
    lk_alert_result_t result;
    assert_int_equal(correlate_engine_next_seq(engine), 1);
    s_send(engine, TENANT_A, "Seq", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0, &result, &due);
    assert_int_equal(due, 1);
    assert_int_equal(
        s_send(engine, TENANT_A, "Seq", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0, NULL, &due),
        LK_OUTCOME_UNCHANGED);
    assert_int_equal(due, 1);
    lk_msg_t batch = s_take(engine);
    assert_int_equal(batch.req, 1);
    lk_msg_clear(&batch);
    assert_int_equal(correlate_engine_next_seq(engine), 2);

    /* batch 1 unacknowledged: re-send still due at 1 */
    s_send(engine, TENANT_A, "Seq", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0 + 1, NULL, &due);
    assert_int_equal(due, 1);
    /* a new alert of the same incident goes into batch 2; "a" itself stays due at 1 */
    s_send(engine, TENANT_A, "Seq", "b", LK_SEV_ERROR, LK_ALERT_FIRING, T0 + 2, NULL, &due);
    assert_int_equal(due, 2);
    s_send(engine, TENANT_A, "Seq", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0 + 3, NULL, &due);
    assert_int_equal(due, 1);
    batch = s_take(engine);
    assert_int_equal(batch.req, 2);
    lk_msg_clear(&batch);

    /* an alert batch is due at its latest alert */
    lk_msg_t request, reply;
    lk_msg_init(&request, LK_MSG_ALERT_BATCH);
    request.req = 99;
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", TENANT_A);
    lk_alert_t alert;
    s_alert_make(&alert, "Seq", "a", LK_SEV_ERROR, LK_ALERT_FIRING);
    lk_msg_add_alert(&request, &alert);
    lk_alert_clear(&alert);
    s_alert_make(&alert, "Seq", "b", LK_SEV_ERROR, LK_ALERT_FIRING);
    lk_msg_add_alert(&request, &alert);
    lk_alert_clear(&alert);
    due = correlate_engine_alert_batch(engine, &request, &reply, T0 + 4);
    assert_int_equal(due, 2);
    assert_int_equal(reply.type, LK_MSG_ALERT_REPLY);
    assert_int_equal(reply.req, 99);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.result_count, 2);
    assert_int_equal(reply.results[0].outcome, LK_OUTCOME_UNCHANGED);
    assert_string_equal(reply.results[1].incident_id, result.incident_id);
    lk_msg_clear(&reply);
    lk_msg_clear(&request);

    /* a change goes into the pending batch 3 */
    s_send(engine, TENANT_A, "Seq", "a", LK_SEV_CRITICAL, LK_ALERT_FIRING, T0 + 5, NULL, &due);
    assert_int_equal(due, 3);

    /* a rebuilt engine continues the numbering */
    correlate_engine_t *fresh = correlate_engine_new("alertname", WINDOW_MS);
    correlate_engine_set_next_seq(fresh, 42);
    s_send(fresh, TENANT_A, "Seq", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0, NULL, &due);
    assert_int_equal(due, 42);
    correlate_engine_destroy(&fresh);
}

/* Applies batches to a tiny "database": latest incident per id, latest alert per row key. */
typedef struct {
    lk_msg_t rows; /* incidents[] and alerts[] as a snapshot page */
} s_db_t;

static void s_db_apply(s_db_t *db, const lk_msg_t *batch)
{
    for (size_t i = 0; i < batch->incident_count; i++) {
        const lk_incident_t *incident = &batch->incidents[i];
        size_t j;
        for (j = 0; j < db->rows.incident_count; j++)
            if (strcmp(db->rows.incidents[j].id, incident->id) == 0)
                break;
        if (j == db->rows.incident_count)
            lk_msg_add_incident(&db->rows, incident);
        else if (incident->version >= db->rows.incidents[j].version) {
            lk_incident_clear(&db->rows.incidents[j]);
            lk_incident_copy(&db->rows.incidents[j], incident);
        }
    }
    for (size_t i = 0; i < batch->alert_count; i++) {
        const lk_alert_t *alert = &batch->alerts[i];
        size_t j;
        for (j = 0; j < db->rows.alert_count; j++)
            if (strcmp(db->rows.alerts[j].incident_id, alert->incident_id) == 0 &&
                strcmp(db->rows.alerts[j].fingerprint, alert->fingerprint) == 0)
                break;
        if (j == db->rows.alert_count)
            lk_msg_add_alert(&db->rows, alert);
        else if (alert->updated_at_ms >= db->rows.alerts[j].updated_at_ms) {
            lk_alert_clear(&db->rows.alerts[j]);
            lk_alert_copy(&db->rows.alerts[j], alert);
        }
    }
}

/* A rebuilt engine (from what its predecessor wrote) knows every alert and incident: re-sends
   are unchanged, resolution and reopening still work, closed incidents are not loaded. */
/* The pending batch takes the strings of an alert_batch request's alerts instead of copying
   them: the rows read right, a row written twice in one request (the same alert twice) keeps
   the later content, and clearing the request afterwards frees only what no row took (the
   sanitizer build checks there is no double free or leak). */
static void test_batch_takes_request_strings(void **state)
{
    correlate_engine_t *engine = *state;
    lk_msg_t request, reply;
    lk_msg_init(&request, LK_MSG_ALERT_BATCH);
    request.req = 7;
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", TENANT_A);
    lk_alert_t alert;
    s_alert_make(&alert, "Lend", "a", LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(lk_msg_add_alert(&request, &alert), 0);
    lk_alert_clear(&alert);
    s_alert_make(&alert, "Lend", "b", LK_SEV_WARNING, LK_ALERT_FIRING);
    alert.generator_url = strdup("http://prometheus/graph");
    assert_int_equal(lk_msg_add_alert(&request, &alert), 0);
    lk_alert_clear(&alert);
    s_alert_make(&alert, "Lend", "a", LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(lk_labels_set(&alert.annotations, "summary", "second"), 0);
    assert_int_equal(lk_msg_add_alert(&request, &alert), 0);
    lk_alert_clear(&alert);
    correlate_engine_alert_batch(engine, &request, &reply, T0);
    assert_int_equal(reply.result_count, 3);
    assert_int_equal(reply.results[0].outcome, LK_OUTCOME_NEW);
    assert_int_equal(reply.results[2].outcome, LK_OUTCOME_CHANGED);
    lk_msg_clear(&reply);
    lk_msg_clear(&request);

    lk_msg_t batch = s_take(engine);
    assert_int_equal(batch.alert_count, 2); /* "a" once, with its later content */
    for (size_t index = 0; index < batch.alert_count; index++) {
        const lk_alert_t *row = &batch.alerts[index];
        assert_string_equal(row->name, "Lend");
        assert_string_equal(row->source, "api");
        const char *instance = lk_labels_get(&row->labels, "instance");
        assert_non_null(instance);
        if (strcmp(instance, "a") == 0)
            assert_string_equal(lk_labels_get(&row->annotations, "summary"), "second");
        else {
            assert_string_equal(instance, "b");
            assert_string_equal(row->generator_url, "http://prometheus/graph");
            assert_string_equal(lk_labels_get(&row->annotations, "summary"), "something is wrong");
        }
    }
    lk_msg_clear(&batch);

    /* the single-alert call copies: the caller's alert stays whole */
    s_alert_make(&alert, "Lend", "c", LK_SEV_ERROR, LK_ALERT_FIRING);
    lk_alert_result_t result;
    correlate_engine_alert(engine, TENANT_A, &alert, T0 + 1, &result);
    assert_int_equal(result.outcome, LK_OUTCOME_NEW);
    assert_string_equal(alert.name, "Lend");
    assert_string_equal(lk_labels_get(&alert.labels, "instance"), "c");
    lk_alert_clear(&alert);
}

static void test_reload(void **state)
{
    correlate_engine_t *engine = *state;
    s_db_t db;
    lk_msg_init(&db.rows, LK_MSG_QUERY_REPLY);
    lk_alert_result_t firing, flapping, closed;
    s_send(engine, TENANT_A, "Keep", "a", LK_SEV_WARNING, LK_ALERT_FIRING, T0, &firing, NULL);
    s_send(engine, TENANT_A, "Keep", "b", LK_SEV_CRITICAL, LK_ALERT_FIRING, T0, NULL, NULL);
    s_send(engine, TENANT_B, "Flap", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0, &flapping, NULL);
    s_send(engine, TENANT_B, "Flap", "a", LK_SEV_ERROR, LK_ALERT_RESOLVED, T0 + 1, NULL, NULL);
    s_send(engine, TENANT_A, "Gone", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0, &closed, NULL);
    s_send(engine, TENANT_A, "Gone", "a", LK_SEV_ERROR, LK_ALERT_RESOLVED, T0 - WINDOW_MS, NULL,
           NULL);
    lk_msg_t batch = s_take(engine);
    s_db_apply(&db, &batch);
    lk_msg_clear(&batch);
    assert_int_equal(correlate_engine_tick(engine, T0), 1); /* "Gone" closes */
    batch = s_take(engine);
    s_db_apply(&db, &batch);
    lk_msg_clear(&batch);
    assert_int_equal(db.rows.incident_count, 3);

    correlate_engine_t *rebuilt = correlate_engine_new("alertname", WINDOW_MS);
    /* alerts arriving before their incident are kept aside until the end of the load */
    lk_msg_t alerts_only, incidents_only;
    lk_msg_init(&alerts_only, LK_MSG_QUERY_REPLY);
    lk_msg_init(&incidents_only, LK_MSG_QUERY_REPLY);
    for (size_t i = 0; i < db.rows.alert_count; i++)
        lk_msg_add_alert(&alerts_only, &db.rows.alerts[i]);
    for (size_t i = 0; i < db.rows.incident_count; i++)
        lk_msg_add_incident(&incidents_only, &db.rows.incidents[i]);
    assert_int_equal(correlate_engine_load(rebuilt, &alerts_only), 0);
    assert_int_equal(correlate_engine_load(rebuilt, &incidents_only), 0);
    assert_int_equal(correlate_engine_load_finish(rebuilt, T0), 1); /* the closed one's alert */
    lk_msg_clear(&alerts_only);
    lk_msg_clear(&incidents_only);
    assert_int_equal(correlate_engine_incident_count(rebuilt), 2);
    assert_int_equal(correlate_engine_alert_count(rebuilt), 3);
    assert_int_equal(correlate_engine_pending_items(rebuilt), 0);
    const lk_incident_t *incident =
        correlate_engine_incident(rebuilt, TENANT_A, firing.incident_id);
    assert_non_null(incident);
    assert_int_equal(incident->firing_count, 2);
    assert_int_equal(incident->severity, LK_SEV_CRITICAL);
    assert_null(correlate_engine_incident(rebuilt, TENANT_A, closed.incident_id));

    uint64_t due;
    assert_int_equal(
        s_send(rebuilt, TENANT_A, "Keep", "a", LK_SEV_WARNING, LK_ALERT_FIRING, T0 + 5, NULL, &due),
        LK_OUTCOME_UNCHANGED);
    assert_int_equal(due, 0);
    assert_int_equal(
        s_send(rebuilt, TENANT_B, "Flap", "a", LK_SEV_ERROR, LK_ALERT_RESOLVED, T0 + 5, NULL, NULL),
        LK_OUTCOME_UNCHANGED);
    lk_alert_result_t result;
    assert_int_equal(s_send(rebuilt, TENANT_B, "Flap", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0 + 6,
                            &result, NULL),
                     LK_OUTCOME_CHANGED);
    assert_string_equal(result.incident_id, flapping.incident_id);
    incident = correlate_engine_incident(rebuilt, TENANT_B, flapping.incident_id);
    assert_int_equal(incident->reopen_count, 1);
    /* versions continue from the stored ones */
    const lk_incident_t *stored = NULL;
    for (size_t i = 0; i < db.rows.incident_count; i++)
        if (strcmp(db.rows.incidents[i].id, flapping.incident_id) == 0)
            stored = &db.rows.incidents[i];
    assert_true(incident->version > stored->version);
    assert_int_equal(s_send(rebuilt, TENANT_A, "Gone", "a", LK_SEV_ERROR, LK_ALERT_FIRING, T0 + 7,
                            &result, NULL),
                     LK_OUTCOME_NEW);
    assert_string_not_equal(result.incident_id, closed.incident_id);
    correlate_engine_destroy(&rebuilt);
    lk_msg_clear(&db.rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_storm, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_alert_events_fold, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refire_after_window, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_severity, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_commands, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dedup_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_dedup_key_never_reopens, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_firing_ends_at_is_insignificant, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ends_at_resolves, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ends_at_resend_moves_timer, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ends_paced, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_alert_table_growth, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_alert_table_prepares_and_retires, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_alert_table_churn, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_alert_records_reused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ends_heap_mapped, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_ends_at_never_ends, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ends_at_restart_grace, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_command_by_fingerprint, s_setup, s_teardown),
        cmocka_unit_test(test_group_by_two_labels),
        cmocka_unit_test_setup_teardown(test_tenant_isolation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_due_seq, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_batch_takes_request_strings, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_reload, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
