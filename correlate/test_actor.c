/*  correlate_actor tests: the actor in-process against the real store actor (SQLite in a
    temporary directory) over inproc://, with a DEALER playing ingest. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>

#include "correlate.h"
#include "lk_fingerprint.h"
#include "lk_log.h"
#include "lk_msg.h"
#include "lk_sock.h"
#include "lk_time.h"
#include "store.h"
#include "lk_testing.h"

#define TENANT   "00000000-0000-0000-0000-0000000000aa"
#define TENANT_B "00000000-0000-0000-0000-0000000000bb"
#define REPLY_MS 10000 /* generous: the machine may be busy */

typedef struct {
    char dir[256];
    char database_url[300];
    char mutation_endpoint[64];
    char query_endpoint[64];
    char events_endpoint[64];
    char frontend_endpoint[64];
    store_config_t store_config;
    correlate_config_t config;
    zactor_t *store;
    zactor_t *correlate;
    zsock_t *ingest; /* DEALER to correlate */
    zsock_t *reader; /* DEALER to store's query socket */
    uint64_t req;
} s_fixture_t;

static int s_fixture_count;

static void s_correlate_start(s_fixture_t *fixture)
{
    fixture->correlate = zactor_new(correlate_actor, &fixture->config);
    assert_non_null(fixture->correlate);
    fixture->ingest = lk_sock_new(ZMQ_DEALER, fixture->frontend_endpoint);
    assert_non_null(fixture->ingest);
    zsock_set_rcvtimeo(fixture->ingest, REPLY_MS);
}

static void s_correlate_stop(s_fixture_t *fixture)
{
    zsock_destroy(&fixture->ingest);
    zactor_destroy(&fixture->correlate);
}

/* Three TCP endpoints on ports free right now (for a store that must restart on the same
   addresses: inproc peers do not reconnect to a new binder). */
static void s_free_tcp_endpoints(char endpoints[3][64])
{
    zsock_t *probes[3];
    for (int i = 0; i < 3; i++) {
        probes[i] = zsock_new(ZMQ_ROUTER);
        assert_non_null(probes[i]);
        int port = zsock_bind(probes[i], "tcp://127.0.0.1:!");
        assert_true(port > 0);
        snprintf(endpoints[i], 64, "tcp://127.0.0.1:%d", port);
    }
    for (int i = 0; i < 3; i++)
        zsock_destroy(&probes[i]);
}

static void s_store_start(s_fixture_t *fixture)
{
    fixture->store = zactor_new(store_actor, &fixture->store_config);
    assert_non_null(fixture->store);
}

/* Starts store then correlate with the given reopen window; store on TCP when asked. */
static s_fixture_t *s_fixture_new_on(int64_t reopen_window_ms, bool store_on_tcp)
{
    s_fixture_t *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    const char *tmp = getenv("TMPDIR");
    snprintf(fixture->dir, sizeof fixture->dir, "%s/lookout-correlate-test-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(fixture->dir));
    snprintf(fixture->database_url, sizeof fixture->database_url, "sqlite:%s/" LK_TESTING_DB,
             fixture->dir);
    int n = ++s_fixture_count;
    if (store_on_tcp) {
        char endpoints[3][64];
        s_free_tcp_endpoints(endpoints);
        memcpy(fixture->mutation_endpoint, endpoints[0], 64);
        memcpy(fixture->query_endpoint, endpoints[1], 64);
        memcpy(fixture->events_endpoint, endpoints[2], 64);
    } else {
        snprintf(fixture->mutation_endpoint, 64, "inproc://store-mutations-%d", n);
        snprintf(fixture->query_endpoint, 64, "inproc://store-queries-%d", n);
        snprintf(fixture->events_endpoint, 64, "inproc://store-events-%d", n);
    }
    snprintf(fixture->frontend_endpoint, 64, "inproc://correlate-%d", n);

    fixture->store_config.database_url = fixture->database_url;
    fixture->store_config.mutation_endpoint = fixture->mutation_endpoint;
    fixture->store_config.query_endpoint = fixture->query_endpoint;
    fixture->store_config.events_endpoint = fixture->events_endpoint;
    fixture->store_config.batch_max = 256;
    s_store_start(fixture);

    fixture->config.frontend_endpoint = fixture->frontend_endpoint;
    fixture->config.store_endpoint = fixture->mutation_endpoint;
    fixture->config.store_query_endpoint = fixture->query_endpoint;
    fixture->config.group_by = "alertname";
    fixture->config.reopen_window_ms = reopen_window_ms;
    fixture->config.store_timeout_ms = 1000;
    fixture->config.shard_count = 1;
    s_correlate_start(fixture);

    fixture->reader = lk_sock_new(ZMQ_DEALER, fixture->query_endpoint);
    assert_non_null(fixture->reader);
    zsock_set_rcvtimeo(fixture->reader, REPLY_MS);
    return fixture;
}

static s_fixture_t *s_fixture_new(int64_t reopen_window_ms)
{
    return s_fixture_new_on(reopen_window_ms, false);
}

static void s_fixture_destroy(s_fixture_t **fixture_p)
{
    s_fixture_t *fixture = *fixture_p;
    s_correlate_stop(fixture);
    zsock_destroy(&fixture->reader);
    zactor_destroy(&fixture->store);
    lk_testing_remove_db_dir(fixture->dir);
    free(fixture);
    *fixture_p = NULL;
}

/* Sends request on sock and receives its reply (matching req); fails the test on timeout. */
static void s_roundtrip(zsock_t *sock, lk_msg_t *request, lk_msg_t *reply)
{
    /* a TCP peer that just restarted may not be reconnected yet: sends fail until it is */
    int64_t deadline_ms = lk_mono_ms() + REPLY_MS;
    while (lk_sock_send(sock, NULL, request, NULL, NULL) != 0) {
        assert_true(lk_mono_ms() < deadline_ms);
        zclock_sleep(20);
    }
    for (;;) {
        int rc = lk_sock_recv(sock, NULL, reply, NULL, NULL);
        assert_int_equal(rc, 0);
        if (reply->req == request->req)
            return;
        lk_msg_clear(reply);
    }
}

static void s_add_alert(lk_msg_t *batch, const char *name, const char *instance,
                        lk_severity_t severity, lk_alert_status_t status)
{
    lk_alert_t alert;
    memset(&alert, 0, sizeof alert);
    alert.source = strdup("api");
    alert.name = strdup(name);
    lk_labels_set(&alert.labels, "alertname", name);
    lk_labels_set(&alert.labels, "instance", instance);
    lk_labels_set(&alert.annotations, "summary", "it broke");
    alert.severity = severity;
    alert.status = status;
    alert.starts_at_ms = lk_now_ms();
    assert_int_equal(lk_msg_add_alert(batch, &alert), 0);
    lk_alert_clear(&alert);
}

/* An alert_batch of `count` alerts {name, host-i} under the fixture's next req. */
static lk_msg_t s_alert_batch(s_fixture_t *fixture, const char *tenant, const char *name, int count,
                              lk_severity_t severity, lk_alert_status_t status)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_ALERT_BATCH);
    request.req = ++fixture->req;
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant);
    for (int i = 0; i < count; i++) {
        char instance[32];
        snprintf(instance, sizeof instance, "host-%d", i);
        s_add_alert(&request, name, instance, severity, status);
    }
    return request;
}

/* Sends that batch and returns its reply (caller clears). */
static lk_msg_t s_alerts(s_fixture_t *fixture, const char *tenant, const char *name, int count,
                         lk_severity_t severity, lk_alert_status_t status)
{
    lk_msg_t reply;
    lk_msg_t request = s_alert_batch(fixture, tenant, name, count, severity, status);
    s_roundtrip(fixture->ingest, &request, &reply);
    lk_msg_clear(&request);
    assert_int_equal(reply.type, LK_MSG_ALERT_REPLY);
    return reply;
}

static lk_msg_t s_command(s_fixture_t *fixture, const char *tenant, lk_action_t action,
                          const char *incident_id)
{
    lk_msg_t request, reply;
    lk_msg_init(&request, LK_MSG_COMMAND);
    request.req = ++fixture->req;
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant);
    request.action = action;
    snprintf(request.incident_id, sizeof request.incident_id, "%s", incident_id);
    request.actor = strdup("alice");
    s_roundtrip(fixture->ingest, &request, &reply);
    lk_msg_clear(&request);
    assert_int_equal(reply.type, LK_MSG_COMMAND_REPLY);
    return reply;
}

/* Reads the incident, its alerts and its timeline straight from store. */
static lk_msg_t s_stored(s_fixture_t *fixture, const char *tenant, const char *incident_id)
{
    lk_msg_t request, reply;
    lk_msg_init(&request, LK_MSG_QUERY);
    request.req = ++fixture->req;
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant);
    request.query.kind = LK_QUERY_GET_INCIDENT;
    snprintf(request.query.incident_id, sizeof request.query.incident_id, "%s", incident_id);
    s_roundtrip(fixture->reader, &request, &reply);
    lk_msg_clear(&request);
    assert_int_equal(reply.type, LK_MSG_QUERY_REPLY);
    return reply;
}

/* Changes of type in the reply: an alert_* event counts once for each alert it names. */
static size_t s_count_events(const lk_msg_t *reply, const char *type)
{
    size_t count = 0;
    for (size_t i = 0; i < reply->event_count; i++) {
        const lk_event_t *event = &reply->events[i];
        if (strcmp(event->type, type) == 0)
            count += event->fingerprints ? lk_event_alert_count(event) : 1;
    }
    return count;
}

/* ---- tests ------------------------------------------------------------------------------- */

/* Replies come after commit: the incident is in the database the moment the reply arrives.
   Re-sends are unchanged; commands travel the same path; a restarted correlate rebuilds from
   store and carries on where its predecessor stopped. */
static void test_commit_then_reply_and_restart(void **state)
{
    (void)state;
    s_fixture_t *fixture = s_fixture_new(60000);

    lk_msg_t reply = s_alerts(fixture, TENANT, "HighCPU", 20, LK_SEV_WARNING, LK_ALERT_FIRING);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.result_count, 20);
    char id[LK_UUID_STR_LEN + 1];
    memcpy(id, reply.results[0].incident_id, sizeof id);
    for (size_t i = 0; i < reply.result_count; i++) {
        assert_int_equal(reply.results[i].outcome, LK_OUTCOME_NEW);
        assert_string_equal(reply.results[i].incident_id, id);
    }
    lk_msg_clear(&reply);

    lk_msg_t stored = s_stored(fixture, TENANT, id);
    assert_int_equal(stored.status, LK_STATUS_OK);
    assert_int_equal(stored.incident_count, 1);
    assert_int_equal(stored.incidents[0].status, LK_INCIDENT_TRIGGERED);
    assert_int_equal(stored.incidents[0].firing_count, 20);
    assert_int_equal(stored.alert_count, 20);
    assert_int_equal(s_count_events(&stored, "incident_triggered"), 1);
    assert_int_equal(s_count_events(&stored, "alert_added"), 20);
    lk_msg_clear(&stored);

    /* re-send: unchanged, from memory */
    reply = s_alerts(fixture, TENANT, "HighCPU", 20, LK_SEV_WARNING, LK_ALERT_FIRING);
    for (size_t i = 0; i < reply.result_count; i++)
        assert_int_equal(reply.results[i].outcome, LK_OUTCOME_UNCHANGED);
    lk_msg_clear(&reply);

    /* acknowledge: committed when answered; a second one is unchanged */
    reply = s_command(fixture, TENANT, LK_ACTION_ACKNOWLEDGE, id);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_true(reply.changed);
    assert_int_equal(reply.incident_count, 1);
    uint64_t version = reply.incidents[0].version;
    lk_msg_clear(&reply);
    stored = s_stored(fixture, TENANT, id);
    assert_int_equal(stored.incidents[0].status, LK_INCIDENT_ACKNOWLEDGED);
    assert_string_equal(stored.incidents[0].acknowledged_by, "alice");
    assert_int_equal(stored.incidents[0].version, version);
    lk_msg_clear(&stored);
    reply = s_command(fixture, TENANT, LK_ACTION_ACKNOWLEDGE, id);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_false(reply.changed);
    lk_msg_clear(&reply);

    /* another tenant cannot see it; an unknown id is not found either */
    reply = s_command(fixture, TENANT_B, LK_ACTION_RESOLVE, id);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);
    reply = s_command(fixture, TENANT, LK_ACTION_RESOLVE, "01900000-0000-7000-8000-000000000001");
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);

    /* resolve half of the alerts, then restart correlate */
    reply = s_alerts(fixture, TENANT, "HighCPU", 10, LK_SEV_WARNING, LK_ALERT_RESOLVED);
    for (size_t i = 0; i < reply.result_count; i++)
        assert_int_equal(reply.results[i].outcome, LK_OUTCOME_CHANGED);
    lk_msg_clear(&reply);
    s_correlate_stop(fixture);
    s_correlate_start(fixture);

    /* rebuilt: the firing half and the resolved half are both unchanged */
    reply = s_alerts(fixture, TENANT, "HighCPU", 20, LK_SEV_WARNING, LK_ALERT_FIRING);
    for (size_t i = 0; i < reply.result_count; i++)
        assert_int_equal(reply.results[i].outcome, i < 10 ? LK_OUTCOME_CHANGED /* re-fire */
                                                          : LK_OUTCOME_UNCHANGED);
    lk_msg_clear(&reply);
    reply = s_alerts(fixture, TENANT, "HighCPU", 20, LK_SEV_WARNING, LK_ALERT_FIRING);
    for (size_t i = 0; i < reply.result_count; i++)
        assert_int_equal(reply.results[i].outcome, LK_OUTCOME_UNCHANGED);
    lk_msg_clear(&reply);

    /* all resolve: the incident auto-resolves; a flap within the window reopens it */
    reply = s_alerts(fixture, TENANT, "HighCPU", 20, LK_SEV_WARNING, LK_ALERT_RESOLVED);
    lk_msg_clear(&reply);
    stored = s_stored(fixture, TENANT, id);
    assert_int_equal(stored.incidents[0].status, LK_INCIDENT_RESOLVED);
    assert_int_equal(stored.incidents[0].firing_count, 0);
    lk_msg_clear(&stored);

    s_correlate_stop(fixture);
    s_correlate_start(fixture);
    reply = s_alerts(fixture, TENANT, "HighCPU", 1, LK_SEV_CRITICAL, LK_ALERT_FIRING);
    assert_int_equal(reply.results[0].outcome, LK_OUTCOME_CHANGED);
    assert_string_equal(reply.results[0].incident_id, id);
    lk_msg_clear(&reply);
    stored = s_stored(fixture, TENANT, id);
    assert_int_equal(stored.incidents[0].status, LK_INCIDENT_TRIGGERED);
    assert_int_equal(stored.incidents[0].reopen_count, 1);
    assert_int_equal(stored.incidents[0].severity, LK_SEV_CRITICAL);
    assert_int_equal(s_count_events(&stored, "incident_reopened"), 1);
    lk_msg_clear(&stored);

    s_fixture_destroy(&fixture);
}

/* With no reopen window a resolved incident closes on the next tick; commands about it are
   answered from store (acknowledge conflicts, resolve is unchanged) and a new firing opens
   a new incident. */
static void test_close_and_commands_on_closed(void **state)
{
    (void)state;
    s_fixture_t *fixture = s_fixture_new(0);
    lk_msg_t reply = s_alerts(fixture, TENANT, "DiskFull", 3, LK_SEV_ERROR, LK_ALERT_FIRING);
    char id[LK_UUID_STR_LEN + 1];
    memcpy(id, reply.results[0].incident_id, sizeof id);
    lk_msg_clear(&reply);
    reply = s_command(fixture, TENANT, LK_ACTION_RESOLVE, id);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_true(reply.changed);
    assert_string_equal(reply.incidents[0].resolved_by, "alice");
    lk_msg_clear(&reply);

    /* the housekeeping tick (every second) closes it: wait for store to say so */
    int64_t deadline_ms = lk_mono_ms() + REPLY_MS;
    lk_incident_status_t status = LK_INCIDENT_RESOLVED;
    while (status != LK_INCIDENT_CLOSED && lk_mono_ms() < deadline_ms) {
        lk_msg_t stored = s_stored(fixture, TENANT, id);
        assert_int_equal(stored.incident_count, 1);
        status = stored.incidents[0].status;
        lk_msg_clear(&stored);
        if (status != LK_INCIDENT_CLOSED)
            zclock_sleep(50);
    }
    assert_int_equal(status, LK_INCIDENT_CLOSED);

    reply = s_command(fixture, TENANT, LK_ACTION_ACKNOWLEDGE, id);
    assert_int_equal(reply.status, LK_STATUS_CONFLICT);
    assert_int_equal(reply.incident_count, 1);
    assert_int_equal(reply.incidents[0].status, LK_INCIDENT_CLOSED);
    lk_msg_clear(&reply);
    reply = s_command(fixture, TENANT, LK_ACTION_RESOLVE, id);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_false(reply.changed);
    lk_msg_clear(&reply);
    reply = s_command(fixture, TENANT_B, LK_ACTION_RESOLVE, id);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);

    /* the still-firing alerts were forgotten with it: their next send opens a new incident */
    reply = s_alerts(fixture, TENANT, "DiskFull", 3, LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(reply.results[0].outcome, LK_OUTCOME_NEW);
    assert_string_not_equal(reply.results[0].incident_id, id);
    lk_msg_clear(&reply);
    s_fixture_destroy(&fixture);
}

/* A shard serves only its tenants. */
static void test_shard(void **state)
{
    (void)state;
    s_fixture_t *fixture = s_fixture_new(60000);
    s_correlate_stop(fixture);
    fixture->config.shard_count = 2;
    fixture->config.shard_index = lk_shard_of(TENANT, 2);
    s_correlate_start(fixture);

    /* find a tenant of the other shard */
    char other[LK_UUID_STR_LEN + 1];
    for (int i = 0;; i++) {
        snprintf(other, sizeof other, "00000000-0000-0000-0000-%012d", i);
        if (lk_shard_of(other, 2) != fixture->config.shard_index)
            break;
    }
    lk_msg_t reply = s_alerts(fixture, other, "X", 1, LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(reply.status, LK_STATUS_INVALID);
    assert_non_null(reply.error);
    lk_msg_clear(&reply);
    reply = s_alerts(fixture, TENANT, "X", 1, LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.results[0].outcome, LK_OUTCOME_NEW);
    lk_msg_clear(&reply);
    s_fixture_destroy(&fixture);
}

/* Store goes away with a batch unacknowledged: the reply waits; store comes back and the
   re-sent batch is committed and answered. */
static void test_store_restart(void **state)
{
    (void)state;
    s_fixture_t *fixture = s_fixture_new_on(60000, true);
    lk_msg_t reply = s_alerts(fixture, TENANT, "Before", 2, LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(reply.status, LK_STATUS_OK);
    lk_msg_clear(&reply);

    zactor_destroy(&fixture->store);
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_ALERT_BATCH);
    request.req = ++fixture->req;
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", TENANT);
    s_add_alert(&request, "During", "host-0", LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(lk_sock_send(fixture->ingest, NULL, &request, NULL, NULL), 0);
    lk_msg_clear(&request);

    /* nothing can be committed, so nothing is answered */
    zpoller_t *poller = zpoller_new(fixture->ingest, NULL);
    assert_null(zpoller_wait(poller, 1500));
    zpoller_destroy(&poller);

    /* a re-send of an already committed alert is answered from memory meanwhile */
    reply = s_alerts(fixture, TENANT, "Before", 2, LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.results[0].outcome, LK_OUTCOME_UNCHANGED);
    lk_msg_clear(&reply);

    s_store_start(fixture);
    for (;;) {
        assert_int_equal(lk_sock_recv(fixture->ingest, NULL, &reply, NULL, NULL), 0);
        if (reply.req == fixture->req - 1)
            break;
        lk_msg_clear(&reply);
    }
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.results[0].outcome, LK_OUTCOME_NEW);
    char id[LK_UUID_STR_LEN + 1];
    memcpy(id, reply.results[0].incident_id, sizeof id);
    lk_msg_clear(&reply);
    lk_msg_t stored = s_stored(fixture, TENANT, id);
    assert_int_equal(stored.status, LK_STATUS_OK);
    assert_int_equal(stored.incident_count, 1);
    assert_int_equal(stored.alert_count, 1);
    assert_int_equal(s_count_events(&stored, "incident_triggered"), 1);
    lk_msg_clear(&stored);
    s_fixture_destroy(&fixture);
}

/* Store refuses a batch (here: a trigger planted in the database aborts it): the request
   fails with status error, correlate rebuilds from store, and what was never committed is
   not in its memory. */
static void test_rejected_batch_rebuilds(void **state)
{
    (void)state;
    s_fixture_t *fixture = s_fixture_new(60000);
    lk_msg_t reply = s_alerts(fixture, TENANT, "Kept", 1, LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(reply.status, LK_STATUS_OK);
    char kept[LK_UUID_STR_LEN + 1];
    memcpy(kept, reply.results[0].incident_id, sizeof kept);
    lk_msg_clear(&reply);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fixture->database_url + strlen("sqlite:"), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, REPLY_MS);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TRIGGER poison BEFORE INSERT ON alerts "
                                  "WHEN NEW.name = 'Poison' "
                                  "BEGIN SELECT RAISE(ABORT, 'poisoned by the test'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    reply = s_alerts(fixture, TENANT, "Poison", 1, LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(reply.status, LK_STATUS_ERROR);
    assert_non_null(reply.error);
    lk_msg_clear(&reply);

    /* rebuilt: the committed alert is known, the refused one is not */
    reply = s_alerts(fixture, TENANT, "Kept", 1, LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.results[0].outcome, LK_OUTCOME_UNCHANGED);
    assert_string_equal(reply.results[0].incident_id, kept);
    lk_msg_clear(&reply);
    assert_int_equal(sqlite3_exec(db, "DROP TRIGGER poison", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    reply = s_alerts(fixture, TENANT, "Poison", 1, LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.results[0].outcome, LK_OUTCOME_NEW);
    lk_msg_t stored = s_stored(fixture, TENANT, reply.results[0].incident_id);
    assert_int_equal(stored.status, LK_STATUS_OK);
    assert_int_equal(stored.alert_count, 1);
    assert_string_equal(stored.alerts[0].source, "api");
    lk_msg_clear(&stored);
    lk_msg_clear(&reply);
    s_fixture_destroy(&fixture);
}

/* Reads the correlate tap until a message labelled `first` or `second` (NULL: none) arrives:
   returns 1 or 2 and sets *req to its req. Fails the test after REPLY_MS. */
static int s_tap_next(zsock_t *tap, const char *first, const char *second, uint64_t *req)
{
    int64_t deadline_ms = lk_mono_ms() + REPLY_MS;
    for (;;) {
        assert_true(lk_mono_ms() < deadline_ms);
        zmsg_t *frames = zmsg_recv(tap); /* NULL at the socket's receive timeout */
        if (!frames)
            continue;
        char *label = zmsg_popstr(frames);
        zframe_t *payload = zmsg_pop(frames);
        int which = !label || !payload                     ? 0
                    : strcmp(label, first) == 0            ? 1
                    : second && strcmp(label, second) == 0 ? 2
                                                           : 0;
        if (which) {
            lk_msg_t msg;
            char err[128];
            assert_int_equal(
                lk_msg_decode(zframe_data(payload), zframe_size(payload), &msg, err, sizeof err),
                0);
            *req = msg.req;
            lk_msg_clear(&msg);
        }
        zstr_free(&label);
        zframe_destroy(&payload);
        zmsg_destroy(&frames);
        if (which)
            return which;
    }
}

/* Sends an alert_batch of one new alert without waiting for its reply; returns its req. */
static uint64_t s_alert_send(s_fixture_t *fixture, const char *name)
{
    lk_msg_t request = s_alert_batch(fixture, TENANT, name, 1, LK_SEV_ERROR, LK_ALERT_FIRING);
    assert_int_equal(lk_sock_send(fixture->ingest, NULL, &request, NULL, NULL), 0);
    lk_msg_clear(&request);
    return fixture->req;
}

/* Receives the next mutation batch on a fake store's ROUTER: returns its req and the
   sender's identity (the caller destroys it). */
static uint64_t s_fake_store_recv(zsock_t *fake_store, zframe_t **identity)
{
    lk_msg_t batch;
    assert_int_equal(lk_sock_recv(fake_store, identity, &batch, NULL, NULL), 0);
    assert_int_equal(batch.type, LK_MSG_MUTATION_BATCH);
    uint64_t req = batch.req;
    lk_msg_clear(&batch);
    return req;
}

static void s_fake_store_ack(zsock_t *fake_store, zframe_t *identity, uint64_t req)
{
    lk_msg_t ack;
    lk_msg_init(&ack, LK_MSG_MUTATION_ACK);
    ack.req = req;
    ack.status = LK_STATUS_OK;
    assert_int_equal(lk_sock_send(fake_store, identity, &ack, NULL, NULL), 0);
    lk_msg_clear(&ack);
}

/* An ack releases its replies before the next batch leaves (correlate.c, s_handle_store):
   request B arrives while A's batch is in flight, so B's mutations wait in the pending
   batch; when A's batch is acknowledged, the tap shows A's reply sent before the batch that
   carries B. Store is played by a ROUTER here, which acknowledges without committing. */
static void test_replies_before_next_batch(void **state)
{
    (void)state;
    s_fixture_t *fixture = s_fixture_new(60000);
    s_correlate_stop(fixture);
    char store_endpoint[64], tap_endpoint[64];
    snprintf(store_endpoint, sizeof store_endpoint, "inproc://fake-store-%d", s_fixture_count);
    snprintf(tap_endpoint, sizeof tap_endpoint, "inproc://correlate-tap-%d", s_fixture_count);
    zsock_t *fake_store = zsock_new_router(store_endpoint);
    assert_non_null(fake_store);
    zsock_set_rcvtimeo(fake_store, REPLY_MS);
    fixture->config.store_endpoint = store_endpoint;
    fixture->config.tap_endpoint = tap_endpoint;
    /* no re-send of the batch the fake store holds unacknowledged */
    fixture->config.store_timeout_ms = 60000;
    s_correlate_start(fixture); /* its snapshot still comes from the real store */
    zsock_t *tap = zsock_new_sub(tap_endpoint, "");
    assert_non_null(tap);
    zsock_set_rcvtimeo(tap, 100);
    zclock_sleep(100); /* the subscription reaches the tap */

    uint64_t a = s_alert_send(fixture, "First");
    zframe_t *identity = NULL;
    uint64_t batch_a = s_fake_store_recv(fake_store, &identity);
    uint64_t b = s_alert_send(fixture, "Second");
    uint64_t req = 0;
    do /* correlate has taken B in: its mutations wait for A's batch */
        assert_int_equal(s_tap_next(tap, "correlate<ingest", NULL, &req), 1);
    while (req != b);

    s_fake_store_ack(fake_store, identity, batch_a);
    assert_int_equal(s_tap_next(tap, "correlate>ingest", "correlate>store", &req), 1);
    assert_int_equal(req, a);
    assert_int_equal(s_tap_next(tap, "correlate>ingest", "correlate>store", &req), 2);
    zframe_destroy(&identity);
    uint64_t batch_b = s_fake_store_recv(fake_store, &identity);
    assert_true(batch_b > batch_a);
    s_fake_store_ack(fake_store, identity, batch_b);
    zframe_destroy(&identity);

    /* both answered, in order, once their batches were acknowledged */
    uint64_t expected[] = {a, b};
    for (int i = 0; i < 2; i++) {
        lk_msg_t reply;
        assert_int_equal(lk_sock_recv(fixture->ingest, NULL, &reply, NULL, NULL), 0);
        assert_int_equal(reply.req, expected[i]);
        assert_int_equal(reply.status, LK_STATUS_OK);
        assert_int_equal(reply.results[0].outcome, LK_OUTCOME_NEW);
        lk_msg_clear(&reply);
    }
    s_fixture_destroy(&fixture);
    zsock_destroy(&tap);
    zsock_destroy(&fake_store);
}

int main(void)
{
    lk_log_init("test-correlate-actor", LK_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_then_reply_and_restart),
        cmocka_unit_test(test_close_and_commands_on_closed),
        cmocka_unit_test(test_shard),
        cmocka_unit_test(test_store_restart),
        cmocka_unit_test(test_rejected_batch_rebuilds),
        cmocka_unit_test(test_replies_before_next_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
