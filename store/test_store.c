/*  test_store — the store test-suite, run against one backend per invocation:
        test_store sqlite      a fresh SQLite file under $TMPDIR per test
        test_store postgres    a fresh schema per test in LOOKOUT_TEST_PG_URL (required)
    Each test starts store_actor in-process on inproc:// endpoints and drives it through
    DEALER/SUB sockets, synchronising on replies only.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <czmq.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_log.h"
#include "lk_msg.h"
#include "lk_sock.h"
#include "lk_uuid.h"
#include "store.h"
#include "store_db.h"
#include "store_outbox.h"
#include "store_retention.h"
#include "store_writer.h"

#define RECV_TIMEOUT_MS 20000

static bool s_postgres;           /* which backend this run tests */
static const char *s_pg_base_url; /* LOOKOUT_TEST_PG_URL */
static int s_counter;             /* makes endpoints and database names unique */

typedef struct {
    char url[2048];
    char sqlite_dir[512];
    char pg_schema[64];
    char mutation_endpoint[64];
    char query_endpoint[64];
    char events_endpoint[64];
    store_config_t config;
    zactor_t *actor;
    zsock_t *mutations; /* DEALER */
    zsock_t *queries;   /* DEALER */
    zsock_t *events;    /* SUB */
    uint64_t next_req;
} fixture_t;

static const char *TENANT_A = "aaaaaaaa-0000-4000-8000-000000000001";
static const char *TENANT_B = "bbbbbbbb-0000-4000-8000-000000000002";

/* ---- database lifecycle --------------------------------------------------------------- */

static void s_pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Runs one statement on the PostgreSQL test server (test set-up only: names are ours). */
static void s_pg_admin(const char *sql)
{
    PGconn *conn = PQconnectdb(s_pg_base_url);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("cannot connect to LOOKOUT_TEST_PG_URL: %s", PQerrorMessage(conn));
    PQsetNoticeProcessor(conn, s_pg_quiet, NULL);
    PGresult *result = PQexec(conn, sql);
    if (PQresultStatus(result) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    PQclear(result);
    PQfinish(conn);
}

static void s_database_create(fixture_t *f)
{
    if (s_postgres) {
        snprintf(f->pg_schema, sizeof(f->pg_schema), "store_test_%d_%d", (int)getpid(), s_counter);
        char sql[256];
        snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->pg_schema);
        s_pg_admin(sql);
        snprintf(f->url, sizeof(f->url), "%s%soptions=-csearch_path%%3D%s", s_pg_base_url,
                 strchr(s_pg_base_url, '?') ? "&" : "?", f->pg_schema);
    } else {
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
        snprintf(f->sqlite_dir, sizeof(f->sqlite_dir), "%s/store_test_XXXXXX", tmp);
        assert_non_null(mkdtemp(f->sqlite_dir));
        /* a missing parent directory must be created by store */
        snprintf(f->url, sizeof(f->url), "sqlite:%s/data/lookout.db", f->sqlite_dir);
    }
}

/* A connection of the test's own to the fixture's database (the actor keeps its own). */
static store_db_t *s_db_open(const fixture_t *f)
{
    char err[512];
    store_db_t *db = store_db_open(f->url, false, err, sizeof(err));
    if (!db)
        fail_msg("open: %s", err);
    return db;
}

static void s_database_drop(fixture_t *f)
{
    if (s_postgres) {
        char sql[256];
        snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", f->pg_schema);
        s_pg_admin(sql);
    } else {
        char command[1024];
        snprintf(command, sizeof(command), "rm -rf '%s'", f->sqlite_dir);
        assert_int_equal(system(command), 0);
    }
}

/* ---- actor lifecycle ------------------------------------------------------------------ */

static void s_actor_start(fixture_t *f)
{
    f->actor = zactor_new(store_actor, &f->config);
    assert_non_null(f->actor);
    f->mutations = zsock_new_dealer(f->mutation_endpoint);
    f->queries = zsock_new_dealer(f->query_endpoint);
    f->events = zsock_new_sub(f->events_endpoint, "");
    assert_non_null(f->mutations);
    assert_non_null(f->queries);
    assert_non_null(f->events);
    zsock_set_rcvtimeo(f->mutations, RECV_TIMEOUT_MS);
    zsock_set_rcvtimeo(f->queries, RECV_TIMEOUT_MS);
    zsock_set_rcvtimeo(f->events, RECV_TIMEOUT_MS);
}

static void s_actor_stop(fixture_t *f)
{
    zsock_destroy(&f->events);
    zsock_destroy(&f->queries);
    zsock_destroy(&f->mutations);
    zactor_destroy(&f->actor);
}

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    s_counter++;
    s_database_create(f);
    snprintf(f->mutation_endpoint, sizeof(f->mutation_endpoint), "inproc://store-mut-%d",
             s_counter);
    snprintf(f->query_endpoint, sizeof(f->query_endpoint), "inproc://store-query-%d", s_counter);
    snprintf(f->events_endpoint, sizeof(f->events_endpoint), "inproc://store-events-%d", s_counter);
    f->config.database_url = f->url;
    f->config.mutation_endpoint = f->mutation_endpoint;
    f->config.query_endpoint = f->query_endpoint;
    f->config.events_endpoint = f->events_endpoint;
    f->config.tap_endpoint = NULL;
    f->config.batch_max = 64;
    f->next_req = 1;
    s_actor_start(f);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    s_actor_stop(f);
    s_database_drop(f);
    free(f);
    return 0;
}

/* ---- building batches ----------------------------------------------------------------- */

static char *s_strdup_printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *text = zsys_vprintf(format, args);
    va_end(args);
    assert_non_null(text);
    return text;
}

/* A complete incident; free with lk_incident_clear. team may be NULL. */
static void s_incident(lk_incident_t *incident, const char *tenant, const char *id,
                       uint64_t version, int64_t created_at_ms, lk_incident_status_t status,
                       lk_severity_t severity, const char *alertname, const char *team)
{
    memset(incident, 0, sizeof(*incident));
    snprintf(incident->id, sizeof(incident->id), "%s", id);
    snprintf(incident->tenant_id, sizeof(incident->tenant_id), "%s", tenant);
    incident->group_key = s_strdup_printf("{}:{alertname=\"%s\"}", alertname);
    incident->title = s_strdup_printf("%s v%" PRIu64, alertname, version);
    incident->summary = s_strdup_printf("summary of %s", alertname);
    assert_int_equal(lk_labels_set(&incident->group_labels, "alertname", alertname), 0);
    if (team)
        assert_int_equal(lk_labels_set(&incident->group_labels, "team", team), 0);
    incident->severity = severity;
    incident->status = status;
    incident->alert_count = 2;
    incident->firing_count = status == LK_INCIDENT_TRIGGERED ? 2 : 0;
    incident->version = version;
    incident->created_at_ms = created_at_ms;
    incident->updated_at_ms = created_at_ms + (int64_t)version;
    if (status == LK_INCIDENT_ACKNOWLEDGED) {
        incident->acknowledged_at_ms = created_at_ms + 5;
        incident->acknowledged_by = strdup("alice");
    }
    if (status >= LK_INCIDENT_RESOLVED)
        incident->resolved_at_ms = created_at_ms + 9;
}

static void s_alert(lk_alert_t *alert, const lk_incident_t *incident, const char *fingerprint,
                    int64_t updated_at_ms, const char *instance)
{
    memset(alert, 0, sizeof(*alert));
    snprintf(alert->tenant_id, sizeof(alert->tenant_id), "%s", incident->tenant_id);
    snprintf(alert->incident_id, sizeof(alert->incident_id), "%s", incident->id);
    snprintf(alert->fingerprint, sizeof(alert->fingerprint), "%s", fingerprint);
    alert->source = strdup("prometheus");
    alert->name = strdup(lk_labels_get(&incident->group_labels, "alertname"));
    alert->query = strdup("rate(x[5m]) > 0.9");
    alert->generator_url = NULL;
    assert_int_equal(lk_labels_set(&alert->labels, "alertname", alert->name), 0);
    assert_int_equal(lk_labels_set(&alert->labels, "instance", instance), 0);
    assert_int_equal(lk_labels_set(&alert->annotations, "summary", "it \"broke\" \xc3\xa9"), 0);
    alert->severity = incident->severity;
    alert->status = LK_ALERT_FIRING;
    alert->has_value = true;
    alert->value = 0.1 + 0.2; /* not representable exactly: must round-trip bit for bit */
    alert->starts_at_ms = incident->created_at_ms;
    alert->updated_at_ms = updated_at_ms;
}

static void s_event(lk_event_t *event, const lk_incident_t *incident, const char *type,
                    int64_t at_ms)
{
    memset(event, 0, sizeof(*event));
    lk_uuid7(event->event_id);
    snprintf(event->tenant_id, sizeof(event->tenant_id), "%s", incident->tenant_id);
    snprintf(event->incident_id, sizeof(event->incident_id), "%s", incident->id);
    event->type = strdup(type);
    event->actor = strdup("lookout");
    event->at_ms = at_ms;
}

static void s_batch_init(lk_msg_t *batch, uint64_t req)
{
    lk_msg_init(batch, LK_MSG_MUTATION_BATCH);
    batch->req = req;
}

/* Adds a copy of incident (and clears the original). */
static void s_add_incident(lk_msg_t *batch, lk_incident_t *incident)
{
    assert_int_equal(lk_msg_add_incident(batch, incident), 0);
    lk_incident_clear(incident);
}

static void s_add_alert(lk_msg_t *batch, lk_alert_t *alert)
{
    assert_int_equal(lk_msg_add_alert(batch, alert), 0);
    lk_alert_clear(alert);
}

static void s_add_event(lk_msg_t *batch, lk_event_t *event)
{
    assert_int_equal(lk_msg_add_event(batch, event), 0);
    lk_event_clear(event);
}

/* ---- talking to the actor ------------------------------------------------------------- */

static void s_send_batch(fixture_t *f, const lk_msg_t *batch)
{
    assert_int_equal(lk_sock_send(f->mutations, NULL, batch, NULL, NULL), 0);
}

/* Receives the next ack, checks its req and status. */
static void s_expect_ack(fixture_t *f, uint64_t req, lk_status_t status)
{
    lk_msg_t ack;
    assert_int_equal(lk_sock_recv(f->mutations, NULL, &ack, NULL, NULL), 0);
    assert_int_equal(ack.type, LK_MSG_MUTATION_ACK);
    assert_int_equal(ack.req, req);
    if (ack.status != status)
        fail_msg("batch %" PRIu64 ": status %s (%s), expected %s", req, lk_status_name(ack.status),
                 ack.error ? ack.error : "", lk_status_name(status));
    if (status != LK_STATUS_OK)
        assert_non_null(ack.error);
    lk_msg_clear(&ack);
}

/* Sends a batch, expects an ok ack, clears the batch. */
static void s_apply(fixture_t *f, lk_msg_t *batch)
{
    s_send_batch(f, batch);
    s_expect_ack(f, batch->req, LK_STATUS_OK);
    lk_msg_clear(batch);
}

static void s_query_init(fixture_t *f, lk_msg_t *query, lk_query_kind_t kind, const char *tenant)
{
    lk_msg_init(query, LK_MSG_QUERY);
    query->req = f->next_req++;
    query->query.kind = kind;
    if (tenant)
        snprintf(query->tenant_id, sizeof(query->tenant_id), "%s", tenant);
}

/* Sends query (cleared afterwards) and receives its reply. */
static void s_ask(fixture_t *f, lk_msg_t *query, lk_msg_t *reply)
{
    uint64_t req = query->req;
    assert_int_equal(lk_sock_send(f->queries, NULL, query, NULL, NULL), 0);
    lk_msg_clear(query);
    assert_int_equal(lk_sock_recv(f->queries, NULL, reply, NULL, NULL), 0);
    assert_int_equal(reply->type, LK_MSG_QUERY_REPLY);
    assert_int_equal(reply->req, req);
}

static void s_ask_ok(fixture_t *f, lk_msg_t *query, lk_msg_t *reply)
{
    s_ask(f, query, reply);
    if (reply->status != LK_STATUS_OK)
        fail_msg("query failed: %s: %s", lk_status_name(reply->status),
                 reply->error ? reply->error : "");
}

/* get_incident; returns the reply's status. */
static lk_status_t s_get(fixture_t *f, const char *tenant, const char *id, lk_msg_t *reply)
{
    lk_msg_t query;
    s_query_init(f, &query, LK_QUERY_GET_INCIDENT, tenant);
    snprintf(query.query.incident_id, sizeof(query.query.incident_id), "%s", id);
    s_ask(f, &query, reply);
    return reply->status;
}

/* events after a sequence (any tenant). */
static void s_events_after(fixture_t *f, uint64_t after, uint32_t limit, lk_msg_t *reply)
{
    lk_msg_t query;
    s_query_init(f, &query, LK_QUERY_EVENTS, NULL);
    query.query.after_sequence = after;
    query.query.limit = limit;
    s_ask_ok(f, &query, reply);
    assert_int_equal(reply->event_count, reply->incident_count);
}

/* One batch creating an incident (version 1) with two alerts and two events. */
static void s_simple_batch(lk_msg_t *batch, uint64_t req, const char *tenant, const char *id,
                           int64_t created_at_ms)
{
    s_batch_init(batch, req);
    lk_incident_t incident;
    s_incident(&incident, tenant, id, 1, created_at_ms, LK_INCIDENT_TRIGGERED, LK_SEV_ERROR,
               "HighCPU", "db");
    lk_alert_t alert;
    s_alert(&alert, &incident, "00000000000000a1", created_at_ms, "host-1");
    s_add_alert(batch, &alert);
    s_alert(&alert, &incident, "00000000000000a2", created_at_ms, "host-2");
    s_add_alert(batch, &alert);
    lk_event_t event;
    s_event(&event, &incident, "incident_triggered", created_at_ms);
    s_add_event(batch, &event);
    s_event(&event, &incident, "alert_added", created_at_ms);
    s_add_event(batch, &event);
    s_add_incident(batch, &incident);
}

/* ---- tests ---------------------------------------------------------------------------- */

/* Opening and migrating a migrated database changes nothing; a restarted actor keeps the
   data and continues the sequence. */
/* PostgreSQL: each connection prepares a statement text the first time it runs it and only
   executes it after that, keeps at most 128 texts (the rest run unprepared), survives a
   rollback of the transaction that prepared a statement and a failure inside one, and
   prepares nothing with LOOKOUT_POSTGRES_PREPARE=0. */
static int64_t s_prepared_count(store_db_t *db)
{
    int64_t count = -1;
    assert_int_equal(store_db_query_int(db,
                                        "SELECT COUNT(*) FROM pg_prepared_statements "
                                        "WHERE statement NOT LIKE '%pg_prepared_statements%'",
                                        NULL, 0, &count),
                     STORE_DB_OK);
    return count;
}

static int64_t s_select_plus(store_db_t *db, const char *sql, int64_t value)
{
    store_param_t param = store_param_int(value);
    int64_t result = -1;
    int rc = store_db_query_int(db, sql, &param, 1, &result);
    if (rc != STORE_DB_OK)
        fail_msg("%s: %s", sql, store_db_error(db));
    return result;
}

static void test_pg_prepared_statements(void **state)
{
    fixture_t *f = *state;
    store_db_t *db = s_db_open(f);
    assert_int_equal(store_db_migrate(db), STORE_DB_OK);
    const store_dialect_t *sql = store_db_dialect(db);
    assert_int_equal(store_db_exec(db, sql->begin_write, NULL, 0, NULL), STORE_DB_OK);
    assert_int_equal(store_db_exec(db, sql->rollback, NULL, 0, NULL), STORE_DB_OK);
    int64_t base = s_prepared_count(db);
    assert_true(base >= 3); /* migrate's own statements, BEGIN, ROLLBACK */

    /* first run prepares, later runs reuse: one statement for three runs */
    for (int64_t run = 0; run < 3; run++)
        assert_int_equal(s_select_plus(db, "SELECT 40 + $1::bigint", run), 40 + run);
    assert_int_equal(s_prepared_count(db), base + 1);
    int64_t found = -1;
    store_param_t text = store_param_text("SELECT 40 + $1::bigint");
    assert_int_equal(store_db_query_int(db,
                                        "SELECT COUNT(*) FROM pg_prepared_statements "
                                        "WHERE statement = $1",
                                        &text, 1, &found),
                     STORE_DB_OK);
    assert_int_equal(found, 1);
    base = s_prepared_count(db);

    /* prepared inside a transaction that rolls back: still there and usable */
    assert_int_equal(store_db_exec(db, sql->begin_write, NULL, 0, NULL), STORE_DB_OK);
    assert_int_equal(s_select_plus(db, "SELECT 50 + $1::bigint", 1), 51);
    assert_int_equal(store_db_exec(db, sql->rollback, NULL, 0, NULL), STORE_DB_OK);
    assert_int_equal(s_select_plus(db, "SELECT 50 + $1::bigint", 2), 52);
    assert_int_equal(s_prepared_count(db), base + 1);

    /* a statement first seen in an aborted transaction fails there, is not remembered as
       prepared, and works once the transaction is rolled back */
    int64_t ignored;
    assert_int_equal(store_db_exec(db, sql->begin_write, NULL, 0, NULL), STORE_DB_OK);
    assert_int_equal(store_db_query_int(db, "SELECT 1 / 0", NULL, 0, &ignored), STORE_DB_ERROR);
    store_param_t one = store_param_int(1);
    assert_int_equal(store_db_query_int(db, "SELECT 60 + $1::bigint", &one, 1, &ignored),
                     STORE_DB_ERROR);
    assert_non_null(strstr(store_db_error(db), "25P02"));
    assert_int_equal(store_db_exec(db, sql->rollback, NULL, 0, NULL), STORE_DB_OK);
    assert_int_equal(s_select_plus(db, "SELECT 60 + $1::bigint", 3), 63);
    assert_int_equal(s_prepared_count(db), base + 3); /* 50+, 1/0, 60+ */

    /* a text that does not parse is an error that names the problem */
    assert_int_equal(store_db_query_int(db, "SELEC 1", NULL, 0, &ignored), STORE_DB_ERROR);
    assert_non_null(strstr(store_db_error(db), "syntax"));

    /* at most 128 texts prepared; every text past them still runs */
    for (int64_t value = 0; value < 160; value++) {
        char text_sql[64];
        snprintf(text_sql, sizeof(text_sql), "SELECT %" PRId64 " + $1::bigint", value);
        assert_int_equal(s_select_plus(db, text_sql, 1000), value + 1000);
    }
    /* the two statements reading pg_prepared_statements are two of the 128 */
    assert_int_equal(s_prepared_count(db), 128 - 2);
    assert_int_equal(s_select_plus(db, "SELECT 159 + $1::bigint", 1), 160);
    store_db_destroy(&db);

    setenv("LOOKOUT_POSTGRES_PREPARE", "0", 1);
    db = s_db_open(f);
    unsetenv("LOOKOUT_POSTGRES_PREPARE");
    assert_int_equal(s_select_plus(db, "SELECT 40 + $1::bigint", 2), 42);
    assert_int_equal(s_prepared_count(db), 0);
    store_db_destroy(&db);
}

static void test_migrations_idempotent(void **state)
{
    fixture_t *f = *state;
    for (int round = 0; round < 2; round++) {
        store_db_t *db = s_db_open(f);
        assert_int_equal(store_db_migrate(db), STORE_DB_OK);
        int64_t count = -1;
        assert_int_equal(
            store_db_query_int(db, "SELECT COUNT(*) FROM schema_migrations", NULL, 0, &count),
            STORE_DB_OK);
        assert_int_equal(count, (int64_t)store_db_migration_count(db));
        assert_true(count >= 1);
        assert_int_equal(store_db_query_int(db, "SELECT COUNT(*) FROM incidents", NULL, 0, &count),
                         STORE_DB_OK);
        assert_int_equal(count, 0);
        store_db_destroy(&db);
        assert_null(db);
    }

    char id[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_msg_t batch;
    s_simple_batch(&batch, 1, TENANT_A, id, 1000);
    s_apply(f, &batch);
    s_actor_stop(f);
    s_actor_start(f);

    lk_msg_t reply;
    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    assert_int_equal(reply.incident_count, 1);
    assert_int_equal(reply.alert_count, 2);
    assert_int_equal(reply.event_count, 2);
    lk_msg_clear(&reply);

    /* the sequence continues after the restart */
    s_batch_init(&batch, 2);
    lk_incident_t incident;
    s_incident(&incident, TENANT_A, id, 2, 1000, LK_INCIDENT_ACKNOWLEDGED, LK_SEV_ERROR, "HighCPU",
               "db");
    lk_event_t event;
    s_event(&event, &incident, "incident_acknowledged", 2000);
    s_add_event(&batch, &event);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);
    s_events_after(f, 0, 0, &reply);
    assert_int_equal(reply.event_count, 3);
    for (size_t index = 0; index < 3; index++)
        assert_int_equal(reply.events[index].sequence, index + 1);
    lk_msg_clear(&reply);
}

/* Applying a batch twice has the effect of once. */
static void test_apply_twice(void **state)
{
    fixture_t *f = *state;
    char id[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_msg_t batch, copy;
    s_simple_batch(&batch, 7, TENANT_A, id, 5000);
    /* the same batch re-sent (same event ids), as correlate does after a timeout */
    s_batch_init(&copy, 7);
    for (size_t index = 0; index < batch.incident_count; index++)
        assert_int_equal(lk_msg_add_incident(&copy, &batch.incidents[index]), 0);
    for (size_t index = 0; index < batch.alert_count; index++)
        assert_int_equal(lk_msg_add_alert(&copy, &batch.alerts[index]), 0);
    for (size_t index = 0; index < batch.event_count; index++)
        assert_int_equal(lk_msg_add_event(&copy, &batch.events[index]), 0);

    s_apply(f, &batch);
    /* published once */
    lk_msg_t published;
    for (uint64_t sequence = 1; sequence <= 2; sequence++) {
        assert_int_equal(lk_sock_recv(f->events, NULL, &published, NULL, NULL), 0);
        assert_int_equal(published.type, LK_MSG_EVENT);
        assert_int_equal(published.event_count, 1);
        assert_int_equal(published.events[0].sequence, sequence);
        lk_msg_clear(&published);
    }
    s_apply(f, &copy);

    lk_msg_t reply;
    s_events_after(f, 0, 0, &reply);
    assert_int_equal(reply.event_count, 2);
    assert_int_equal(reply.events[0].sequence, 1);
    assert_int_equal(reply.events[1].sequence, 2);
    assert_string_equal(reply.events[0].type, "incident_triggered");
    lk_msg_clear(&reply);
    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    assert_int_equal(reply.incidents[0].version, 1);
    assert_int_equal(reply.alert_count, 2);
    assert_int_equal(reply.event_count, 2);
    lk_msg_clear(&reply);

    /* a new change gets the next sequence; the re-send published nothing in between */
    s_batch_init(&batch, 8);
    lk_incident_t incident;
    s_incident(&incident, TENANT_A, id, 2, 5000, LK_INCIDENT_RESOLVED, LK_SEV_ERROR, "HighCPU",
               "db");
    lk_event_t event;
    s_event(&event, &incident, "incident_resolved", 9000);
    s_add_event(&batch, &event);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);
    assert_int_equal(lk_sock_recv(f->events, NULL, &published, NULL, NULL), 0);
    assert_int_equal(published.events[0].sequence, 3);
    assert_string_equal(published.tenant_id, TENANT_A);
    assert_int_equal(published.incident_count, 1);
    assert_int_equal(published.incidents[0].version, 2);
    assert_int_equal(published.incidents[0].status, LK_INCIDENT_RESOLVED);
    lk_msg_clear(&published);
}

/* A flood (the multi-row statements of store_writer): 40 alerts and 40 alert_added events,
   then the same batch again together with 30 new events after 10 of the known ones. The
   known events are skipped, the new ones get the next sequences without a gap, each event
   is published once. */
static void test_apply_flood_twice(void **state)
{
    fixture_t *f = *state;
    char id[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_incident_t incident;
    s_incident(&incident, TENANT_A, id, 1, 5000, LK_INCIDENT_TRIGGERED, LK_SEV_ERROR, "HighCPU",
               "db");
    lk_event_t events[70];
    for (size_t index = 0; index < 70; index++)
        s_event(&events[index], &incident, "alert_added", 5000 + (int64_t)index);
    lk_msg_t batch;
    for (int round = 0; round < 2; round++) {
        s_batch_init(&batch, 20 + (uint64_t)round);
        assert_int_equal(lk_msg_add_incident(&batch, &incident), 0);
        for (int number = 0; number < 40; number++) {
            char fingerprint[LK_FINGERPRINT_STR_LEN + 1], instance[32];
            snprintf(fingerprint, sizeof fingerprint, "%016x", 0xf100 + number);
            snprintf(instance, sizeof instance, "host-%d", number);
            lk_alert_t alert;
            s_alert(&alert, &incident, fingerprint, 5000 + round, instance);
            s_add_alert(&batch, &alert);
        }
        /* round 0: events 0..39; round 1: 30..69 (10 known, then 30 new) */
        for (size_t index = round ? 30 : 0; index < (round ? 70u : 40u); index++)
            assert_int_equal(lk_msg_add_event(&batch, &events[index]), 0);
        s_apply(f, &batch);
        size_t first = round ? 40 : 0, count = round ? 30 : 40;
        for (size_t number = 0; number < count; number++) {
            lk_msg_t published;
            assert_int_equal(lk_sock_recv(f->events, NULL, &published, NULL, NULL), 0);
            assert_int_equal(published.event_count, 1);
            assert_int_equal(published.events[0].sequence, first + number + 1);
            assert_string_equal(published.events[0].event_id, events[first + number].event_id);
            assert_int_equal(published.incident_count, 1);
            assert_string_equal(published.incidents[0].id, id);
            lk_msg_clear(&published);
        }
    }
    /* one alert twice in a run of 8 (PostgreSQL refuses that in one statement): the later
       state wins, as with one statement per alert */
    s_batch_init(&batch, 22);
    for (int number = 0; number < 8; number++) {
        char fingerprint[LK_FINGERPRINT_STR_LEN + 1];
        snprintf(fingerprint, sizeof fingerprint, "%016x", 0xf100 + (number == 7 ? 0 : number));
        lk_alert_t alert;
        s_alert(&alert, &incident, fingerprint, 6000 + number, "host-again");
        s_add_alert(&batch, &alert);
    }
    s_apply(f, &batch);
    lk_msg_t reply;
    s_events_after(f, 0, 0, &reply);
    assert_int_equal(reply.event_count, 70);
    for (size_t index = 0; index < 70; index++) {
        assert_int_equal(reply.events[index].sequence, index + 1);
        assert_string_equal(reply.events[index].event_id, events[index].event_id);
    }
    lk_msg_clear(&reply);
    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    assert_int_equal(reply.alert_count, 40);
    for (size_t index = 0; index < reply.alert_count; index++) {
        unsigned number = (unsigned)strtoul(reply.alerts[index].fingerprint, NULL, 16) - 0xf100;
        assert_int_equal(reply.alerts[index].updated_at_ms, number == 0  ? 6007
                                                            : number < 7 ? 6000 + number
                                                                         : 5001);
    }
    lk_msg_clear(&reply);
    for (size_t index = 0; index < 70; index++)
        lk_event_clear(&events[index]);
    lk_incident_clear(&incident);
}

/* Runs one statement on a connection of the test's own (the actor keeps its own): a query
   of one integer, or (changes non-NULL) a statement whose changed rows are counted. */
static int64_t s_db_run(fixture_t *f, const char *sql, int64_t *changes)
{
    store_db_t *db = s_db_open(f);
    int64_t value = -1;
    if (changes)
        assert_int_equal(store_db_exec(db, sql, NULL, 0, changes), STORE_DB_OK);
    else
        assert_int_equal(store_db_query_int(db, sql, NULL, 0, &value), STORE_DB_OK);
    store_db_destroy(&db);
    return value;
}

/* Replays the outbox in pages of every size in S_PAGES (1 and 3 cut statements anywhere,
   1000 reads them whole) and checks each event's incident: incident a at version
   a_versions[0] up to sequence 40 and a_versions[1] after, incident b at b_version. */
static const uint32_t S_PAGES[] = {1, 3, 7, 31, 1000};

static void s_check_snapshots(fixture_t *f, const char *a, const uint64_t a_versions[2],
                              uint64_t b_version, size_t total)
{
    for (size_t page = 0; page < sizeof(S_PAGES) / sizeof(S_PAGES[0]); page++) {
        uint64_t after = 0;
        size_t seen = 0;
        while (seen < total) {
            lk_msg_t reply;
            s_events_after(f, after, S_PAGES[page], &reply);
            assert_true(reply.event_count > 0);
            for (size_t index = 0; index < reply.event_count; index++) {
                const lk_event_t *event = &reply.events[index];
                assert_string_equal(reply.incidents[index].id, event->incident_id);
                assert_non_null(reply.incidents[index].title);
                uint64_t expected = strcmp(event->incident_id, a) != 0 ? b_version
                                    : event->sequence <= 40            ? a_versions[0]
                                                                       : a_versions[1];
                if (reply.incidents[index].version != expected)
                    fail_msg("pages of %u: event %" PRIu64 " has version %" PRIu64 ", not %" PRIu64,
                             S_PAGES[page], event->sequence, reply.incidents[index].version,
                             expected);
                after = event->sequence;
            }
            seen += reply.event_count;
            lk_msg_clear(&reply);
        }
    }
}

/* Applies a batch of incident (a copy) and count alert_added events; with other, the events
   alternate between the two. */
static void s_apply_events(fixture_t *f, uint64_t req, const lk_incident_t *incident,
                           const lk_incident_t *other, int count)
{
    lk_msg_t batch;
    s_batch_init(&batch, req);
    assert_int_equal(lk_msg_add_incident(&batch, incident), 0);
    if (other)
        assert_int_equal(lk_msg_add_incident(&batch, other), 0);
    for (int number = 0; number < count; number++) {
        lk_event_t event;
        s_event(&event, other && number % 2 ? other : incident, "alert_added",
                incident->updated_at_ms + number);
        s_add_event(&batch, &event);
    }
    s_apply(f, &batch);
}

/* The events one multi-row statement writes for one incident share its snapshot: stored once,
   on the incident's last row; the rows before it read it back whether or not their page
   reaches that row, the next snapshot of their incident once that row is gone, and the
   incident as stored when none is left. */
static void test_shared_snapshots(void **state)
{
    fixture_t *f = *state;
    char a[LK_UUID_STR_LEN + 1], b[LK_UUID_STR_LEN + 1];
    lk_uuid7(a);
    lk_uuid7(b);
    lk_incident_t incident_a, incident_b;
    /* batch 1: a at version 3, b at version 5, 40 events alternating (two statements of 32
       and 8 rows: four snapshots stored); batch 2: a at version 4, 32 events (one) */
    s_incident(&incident_a, TENANT_A, a, 3, 7000, LK_INCIDENT_TRIGGERED, LK_SEV_ERROR, "A", NULL);
    s_incident(&incident_b, TENANT_A, b, 5, 7000, LK_INCIDENT_TRIGGERED, LK_SEV_ERROR, "B", NULL);
    s_apply_events(f, 30, &incident_a, &incident_b, 40);
    lk_incident_clear(&incident_a);
    s_incident(&incident_a, TENANT_A, a, 4, 7000, LK_INCIDENT_TRIGGERED, LK_SEV_ERROR, "A", NULL);
    s_apply_events(f, 31, &incident_a, NULL, 32);
    assert_int_equal(s_db_run(f, "SELECT count(*) FROM events WHERE length(incident) = 0", NULL),
                     72 - 5);
    for (size_t message = 0; message < 72; message++) { /* published with their snapshots */
        lk_msg_t published;
        assert_int_equal(lk_sock_recv(f->events, NULL, &published, NULL, NULL), 0);
        assert_int_equal(published.incident_count, 1);
        bool of_a = strcmp(published.incidents[0].id, a) == 0;
        assert_int_equal(published.incidents[0].version, !of_a ? 5 : message < 40 ? 3 : 4);
        lk_msg_clear(&published);
    }
    s_check_snapshots(f, a, (uint64_t[]){3, 4}, 5, 72);

    /* a at version 6 without events; a's snapshots in batch 1 removed, then all of them */
    lk_incident_clear(&incident_a);
    s_incident(&incident_a, TENANT_A, a, 6, 7000, LK_INCIDENT_TRIGGERED, LK_SEV_ERROR, "A", NULL);
    s_apply_events(f, 32, &incident_a, NULL, 0);
    char sql[256];
    int64_t removed = 0;
    snprintf(sql, sizeof sql,
             "DELETE FROM events WHERE incident_id = '%s' AND length(incident) > 0 "
             "AND sequence <= 40",
             a);
    s_db_run(f, sql, &removed);
    assert_int_equal(removed, 2);
    s_check_snapshots(f, a, (uint64_t[]){4, 4}, 5, 70);
    snprintf(sql, sizeof sql,
             "DELETE FROM events WHERE incident_id = '%s' AND length(incident) > 0", a);
    s_db_run(f, sql, &removed);
    assert_int_equal(removed, 1);
    s_check_snapshots(f, a, (uint64_t[]){6, 6}, 5, 69);
    lk_incident_clear(&incident_a);
    lk_incident_clear(&incident_b);
}

/* Alerts are keyed on (incident, fingerprint): a batch of another tenant naming the same
   incident and fingerprint, single row or in a multi-row statement, leaves the row alone. */
static void test_alert_other_tenant(void **state)
{
    fixture_t *f = *state;
    char id[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_msg_t batch;
    s_simple_batch(&batch, 40, TENANT_A, id, 1000);
    s_apply(f, &batch);
    lk_incident_t intruder;
    s_incident(&intruder, TENANT_B, id, 9, 1000, LK_INCIDENT_TRIGGERED, LK_SEV_ERROR, "HighCPU",
               "db");
    for (int rows = 1; rows <= 40; rows += 39) {
        s_batch_init(&batch, 40 + (uint64_t)rows);
        for (int number = 0; number < rows; number++) {
            char fingerprint[LK_FINGERPRINT_STR_LEN + 1];
            snprintf(fingerprint, sizeof fingerprint, "%016x", 0xa1 + number);
            lk_alert_t alert;
            s_alert(&alert, &intruder, fingerprint, 9000, "intruder");
            s_add_alert(&batch, &alert);
        }
        s_apply(f, &batch);
        lk_msg_t reply;
        assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
        assert_int_equal(reply.alert_count, 2);
        for (size_t index = 0; index < reply.alert_count; index++) {
            assert_string_equal(reply.alerts[index].tenant_id, TENANT_A);
            assert_int_equal(reply.alerts[index].updated_at_ms, 1000);
            assert_string_not_equal(lk_labels_get(&reply.alerts[index].labels, "instance"),
                                    "intruder");
        }
        lk_msg_clear(&reply);
    }
    /* the two keys of tenant A's alerts hold tenant A's rows (the other fingerprints were
       new rows, as before) */
    char sql[192];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM alerts WHERE fingerprint IN ('00000000000000a1', "
             "'00000000000000a2') AND tenant_id = '%s' AND updated_at = 1000",
             TENANT_A);
    assert_int_equal(s_db_run(f, sql, NULL), 2);
    lk_incident_clear(&intruder);
}

/* An older incident version or an older alert state never overwrites a newer one. */
static void test_version_guard(void **state)
{
    fixture_t *f = *state;
    char id[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_msg_t batch;
    lk_incident_t incident;
    lk_alert_t alert;

    s_batch_init(&batch, 1);
    s_incident(&incident, TENANT_A, id, 3, 1000, LK_INCIDENT_ACKNOWLEDGED, LK_SEV_CRITICAL,
               "DiskFull", NULL);
    s_alert(&alert, &incident, "00000000000000b1", 3000, "new");
    s_add_alert(&batch, &alert);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);

    s_batch_init(&batch, 2);
    s_incident(&incident, TENANT_A, id, 2, 1000, LK_INCIDENT_TRIGGERED, LK_SEV_INFO, "DiskFull",
               NULL);
    s_alert(&alert, &incident, "00000000000000b1", 2000, "old");
    s_add_alert(&batch, &alert);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);

    lk_msg_t reply;
    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    assert_int_equal(reply.incidents[0].version, 3);
    assert_int_equal(reply.incidents[0].status, LK_INCIDENT_ACKNOWLEDGED);
    assert_int_equal(reply.incidents[0].severity, LK_SEV_CRITICAL);
    assert_string_equal(reply.incidents[0].acknowledged_by, "alice");
    assert_string_equal(reply.incidents[0].title, "DiskFull v3");
    assert_int_equal(reply.alert_count, 1);
    assert_string_equal(lk_labels_get(&reply.alerts[0].labels, "instance"), "new");
    assert_int_equal(reply.alerts[0].updated_at_ms, 3000);
    lk_msg_clear(&reply);

    /* an equal or newer version does apply */
    s_batch_init(&batch, 3);
    s_incident(&incident, TENANT_A, id, 4, 1000, LK_INCIDENT_CLOSED, LK_SEV_CRITICAL, "DiskFull",
               NULL);
    s_alert(&alert, &incident, "00000000000000b1", 3000, "same-time");
    s_add_alert(&batch, &alert);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);
    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    assert_int_equal(reply.incidents[0].version, 4);
    assert_int_equal(reply.incidents[0].status, LK_INCIDENT_CLOSED);
    assert_int_equal(reply.incidents[0].resolved_at_ms, 1009);
    assert_string_equal(lk_labels_get(&reply.alerts[0].labels, "instance"), "same-time");
    lk_msg_clear(&reply);

    /* group_key and created_at are fixed when the incident is made: a later row updates the
       rest and leaves them */
    s_batch_init(&batch, 4);
    s_incident(&incident, TENANT_A, id, 5, 7000, LK_INCIDENT_CLOSED, LK_SEV_CRITICAL, "Renamed",
               NULL);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);
    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    assert_int_equal(reply.incidents[0].version, 5);
    assert_string_equal(reply.incidents[0].title, "Renamed v5");
    assert_int_equal(reply.incidents[0].updated_at_ms, 7005);
    assert_string_equal(reply.incidents[0].group_key, "{}:{alertname=\"DiskFull\"}");
    assert_int_equal(reply.incidents[0].created_at_ms, 1000);
    lk_msg_clear(&reply);
}

/* The partial "alert ended" mutation (alert_ends[]): only status, ends_at and updated_at of
   the existing row change; applied twice = once; an older one never overwrites a newer row;
   it runs after the same batch's full rows; an unknown row is left alone. */
static lk_alert_end_t s_alert_end(const lk_incident_t *incident, const char *fingerprint,
                                  int64_t ends_at_ms, int64_t updated_at_ms)
{
    lk_alert_end_t end;
    memset(&end, 0, sizeof end);
    snprintf(end.tenant_id, sizeof end.tenant_id, "%s", incident->tenant_id);
    snprintf(end.incident_id, sizeof end.incident_id, "%s", incident->id);
    snprintf(end.fingerprint, sizeof end.fingerprint, "%s", fingerprint);
    end.ends_at_ms = ends_at_ms;
    end.updated_at_ms = updated_at_ms;
    return end;
}

static void test_alert_ends(void **state)
{
    fixture_t *f = *state;
    char id[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_msg_t batch, reply;
    lk_incident_t incident;
    lk_alert_t alert;
    s_batch_init(&batch, 1);
    s_incident(&incident, TENANT_A, id, 1, 1000, LK_INCIDENT_TRIGGERED, LK_SEV_ERROR, "Ends", NULL);
    s_alert(&alert, &incident, "00000000000000e1", 2000, "host-1");
    alert.ends_at_ms = 60000;
    s_add_alert(&batch, &alert);
    s_alert(&alert, &incident, "00000000000000e2", 2000, "host-2");
    s_add_alert(&batch, &alert);
    lk_incident_t kept;
    assert_int_equal(lk_incident_copy(&kept, &incident), 0);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);

    /* e1 ends; the same batch re-sent applies once */
    for (uint64_t req = 2; req <= 3; req++) {
        s_batch_init(&batch, req);
        lk_alert_end_t end = s_alert_end(&kept, "00000000000000e1", 61000, 62000);
        assert_int_equal(lk_msg_add_alert_end(&batch, &end), 0);
        s_apply(f, &batch);
    }
    /* an older end of e2 loses to its newer stored row; an end for an unknown alert is a
       no-op (not an error) */
    s_batch_init(&batch, 4);
    lk_alert_end_t end = s_alert_end(&kept, "00000000000000e2", 1500, 1500);
    assert_int_equal(lk_msg_add_alert_end(&batch, &end), 0);
    end = s_alert_end(&kept, "00000000000000ff", 1500, 99000);
    assert_int_equal(lk_msg_add_alert_end(&batch, &end), 0);
    s_apply(f, &batch);

    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    assert_int_equal(reply.alert_count, 2);
    for (size_t i = 0; i < reply.alert_count; i++) {
        const lk_alert_t *row = &reply.alerts[i];
        if (strcmp(row->fingerprint, "00000000000000e1") == 0) {
            assert_int_equal(row->status, LK_ALERT_RESOLVED);
            assert_true(row->ends_at_ms == 61000);
            assert_true(row->updated_at_ms == 62000);
            /* the rest of the row is untouched */
            assert_string_equal(lk_labels_get(&row->labels, "instance"), "host-1");
            assert_string_equal(row->source, "prometheus");
        } else {
            assert_string_equal(row->fingerprint, "00000000000000e2");
            assert_int_equal(row->status, LK_ALERT_FIRING);
            assert_true(row->updated_at_ms == 2000);
        }
    }
    lk_msg_clear(&reply);

    /* a full row newer than the end wins over it, whichever batch or order they come in:
       e1 fires again (row at 70000), then a stale end (65000) arrives */
    s_batch_init(&batch, 5);
    s_alert(&alert, &kept, "00000000000000e1", 70000, "host-1");
    s_add_alert(&batch, &alert);
    end = s_alert_end(&kept, "00000000000000e1", 64000, 65000);
    assert_int_equal(lk_msg_add_alert_end(&batch, &end), 0);
    s_apply(f, &batch);
    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    for (size_t i = 0; i < reply.alert_count; i++)
        if (strcmp(reply.alerts[i].fingerprint, "00000000000000e1") == 0) {
            assert_int_equal(reply.alerts[i].status, LK_ALERT_FIRING);
            assert_true(reply.alerts[i].updated_at_ms == 70000);
        }
    lk_msg_clear(&reply);
    /* while a newer end in the same batch as an older full row applies after it */
    s_batch_init(&batch, 6);
    s_alert(&alert, &kept, "00000000000000e2", 80000, "host-2");
    s_add_alert(&batch, &alert);
    end = s_alert_end(&kept, "00000000000000e2", 80500, 81000);
    assert_int_equal(lk_msg_add_alert_end(&batch, &end), 0);
    s_apply(f, &batch);
    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    for (size_t i = 0; i < reply.alert_count; i++)
        if (strcmp(reply.alerts[i].fingerprint, "00000000000000e2") == 0) {
            assert_int_equal(reply.alerts[i].status, LK_ALERT_RESOLVED);
            assert_true(reply.alerts[i].ends_at_ms == 80500);
        }
    lk_msg_clear(&reply);
    lk_incident_clear(&kept);
}

/* Every field survives the round trip through the database. */
static void test_round_trip(void **state)
{
    fixture_t *f = *state;
    char id[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_msg_t batch;
    s_batch_init(&batch, 1);
    lk_incident_t incident;
    s_incident(&incident, TENANT_B, id, 5, 1732262400000, LK_INCIDENT_ACKNOWLEDGED, LK_SEV_WARNING,
               "Latency", "web");
    incident.reopen_count = 2;
    lk_incident_t expected;
    assert_int_equal(lk_incident_copy(&expected, &incident), 0);
    lk_alert_t alert;
    s_alert(&alert, &incident, "0123456789abcdef", 1732262400500, "h\xc3\xa9");
    alert.dedup_key = strdup("dedup-1");
    alert.has_threshold = true;
    alert.threshold = -1e300;
    alert.ends_at_ms = 1732262409999;
    lk_alert_t expected_alert;
    assert_int_equal(lk_alert_copy(&expected_alert, &alert), 0);
    s_add_alert(&batch, &alert);
    lk_event_t event;
    s_event(&event, &incident, "incident_acknowledged", 1732262401234);
    event.note = strdup("looking");
    event.fingerprints = strdup("0123456789abcdef 00000000000000ff"); /* two alerts */
    free(event.actor);
    event.actor = strdup("alice");
    lk_event_t expected_event;
    assert_int_equal(lk_event_copy(&expected_event, &event), 0);
    s_add_event(&batch, &event);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);

    lk_msg_t reply;
    assert_int_equal(s_get(f, TENANT_B, id, &reply), LK_STATUS_OK);
    const lk_incident_t *got = &reply.incidents[0];
    assert_string_equal(got->id, expected.id);
    assert_string_equal(got->tenant_id, expected.tenant_id);
    assert_string_equal(got->group_key, expected.group_key);
    assert_string_equal(got->title, expected.title);
    assert_string_equal(got->summary, expected.summary);
    assert_string_equal(got->acknowledged_by, "alice");
    assert_null(got->resolved_by);
    assert_true(lk_labels_equal(&got->group_labels, &expected.group_labels));
    assert_int_equal(got->severity, expected.severity);
    assert_int_equal(got->status, expected.status);
    assert_int_equal(got->alert_count, expected.alert_count);
    assert_int_equal(got->firing_count, expected.firing_count);
    assert_int_equal(got->reopen_count, 2);
    assert_int_equal(got->version, 5);
    assert_int_equal(got->created_at_ms, expected.created_at_ms);
    assert_int_equal(got->updated_at_ms, expected.updated_at_ms);
    assert_int_equal(got->acknowledged_at_ms, expected.acknowledged_at_ms);
    assert_int_equal(got->resolved_at_ms, 0);

    const lk_alert_t *got_alert = &reply.alerts[0];
    assert_string_equal(got_alert->fingerprint, "0123456789abcdef");
    assert_string_equal(got_alert->incident_id, id);
    assert_string_equal(got_alert->source, "prometheus");
    assert_string_equal(got_alert->name, "Latency");
    assert_string_equal(got_alert->query, expected_alert.query);
    assert_string_equal(got_alert->dedup_key, "dedup-1");
    assert_null(got_alert->generator_url);
    assert_true(lk_labels_equal(&got_alert->labels, &expected_alert.labels));
    assert_true(lk_labels_equal(&got_alert->annotations, &expected_alert.annotations));
    assert_int_equal(got_alert->severity, LK_SEV_WARNING);
    assert_int_equal(got_alert->status, LK_ALERT_FIRING);
    assert_true(got_alert->has_value && got_alert->value == expected_alert.value);
    assert_true(got_alert->has_threshold && got_alert->threshold == -1e300);
    assert_int_equal(got_alert->starts_at_ms, expected_alert.starts_at_ms);
    assert_int_equal(got_alert->ends_at_ms, 1732262409999);
    assert_int_equal(got_alert->updated_at_ms, 1732262400500);

    const lk_event_t *got_event = &reply.events[0];
    assert_int_equal(got_event->sequence, 1);
    assert_string_equal(got_event->event_id, expected_event.event_id);
    assert_string_equal(got_event->incident_id, id);
    assert_string_equal(got_event->tenant_id, TENANT_B);
    assert_string_equal(got_event->type, "incident_acknowledged");
    assert_string_equal(got_event->actor, "alice");
    assert_string_equal(got_event->note, "looking");
    assert_string_equal(got_event->fingerprints, "0123456789abcdef 00000000000000ff");
    assert_int_equal(got_event->at_ms, 1732262401234);
    lk_msg_clear(&reply);
    lk_incident_clear(&expected);
    lk_alert_clear(&expected_alert);
    lk_event_clear(&expected_event);
}

/* get_incident: tenant-scoped, with its alerts and its timeline oldest first. */
static void test_get_incident(void **state)
{
    fixture_t *f = *state;
    char id[LK_UUID_STR_LEN + 1], other[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_uuid7(other);
    lk_msg_t batch;
    s_simple_batch(&batch, 1, TENANT_A, other, 100); /* noise: another incident */
    s_apply(f, &batch);
    s_simple_batch(&batch, 2, TENANT_A, id, 200);
    s_apply(f, &batch);
    s_batch_init(&batch, 3);
    lk_incident_t incident;
    s_incident(&incident, TENANT_A, id, 2, 200, LK_INCIDENT_RESOLVED, LK_SEV_ERROR, "HighCPU",
               "db");
    lk_event_t event;
    s_event(&event, &incident, "incident_resolved", 900);
    s_add_event(&batch, &event);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);

    lk_msg_t reply;
    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    assert_int_equal(reply.incident_count, 1);
    assert_string_equal(reply.incidents[0].id, id);
    assert_int_equal(reply.alert_count, 2);
    for (size_t index = 0; index < reply.alert_count; index++)
        assert_string_equal(reply.alerts[index].incident_id, id);
    assert_int_equal(reply.event_count, 3);
    assert_string_equal(reply.events[0].type, "incident_triggered");
    assert_string_equal(reply.events[1].type, "alert_added");
    assert_string_equal(reply.events[2].type, "incident_resolved");
    assert_int_equal(reply.events[0].sequence, 3);
    assert_int_equal(reply.events[2].sequence, 5);
    lk_msg_clear(&reply);

    /* upper-case spelling of the same ids finds it */
    char upper[LK_UUID_STR_LEN + 1];
    for (size_t index = 0; index <= LK_UUID_STR_LEN; index++)
        upper[index] = (char)toupper((unsigned char)id[index]);
    assert_int_equal(s_get(f, TENANT_A, upper, &reply), LK_STATUS_OK);
    lk_msg_clear(&reply);

    /* another tenant's incident is not found, exactly like a missing one */
    assert_int_equal(s_get(f, TENANT_B, id, &reply), LK_STATUS_NOT_FOUND);
    assert_int_equal(reply.incident_count, 0);
    assert_int_equal(reply.alert_count, 0);
    lk_msg_clear(&reply);
    char missing[LK_UUID_STR_LEN + 1];
    lk_uuid7(missing);
    assert_int_equal(s_get(f, TENANT_A, missing, &reply), LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);
    assert_int_equal(s_get(f, NULL, id, &reply), LK_STATUS_INVALID);
    lk_msg_clear(&reply);
}

/* ---- listing ----------------------------------------------------------------------------- */

#define LIST_A 150
#define LIST_B 100

typedef struct {
    char id[LK_UUID_STR_LEN + 1];
    const char *tenant;
    int64_t created_at_ms;
    lk_incident_status_t status;
    lk_severity_t severity;
    char alertname[16];
    const char *team;
} listed_t;

/* Creates LIST_A + LIST_B incidents in batches of 25, all sent before any ack is read (so
   the actor folds several into one transaction), acks checked in order. */
static listed_t *s_create_listing(fixture_t *f)
{
    listed_t *all = calloc(LIST_A + LIST_B, sizeof(*all));
    assert_non_null(all);
    for (int index = 0; index < LIST_A + LIST_B; index++) {
        listed_t *item = &all[index];
        lk_uuid7(item->id);
        item->tenant = index < LIST_A ? TENANT_A : TENANT_B;
        /* three incidents share each created_at: the id breaks the tie */
        item->created_at_ms = 1700000000000 + (int64_t)(index / 3) * 1000;
        item->status = (lk_incident_status_t)(index % 4);
        item->severity = (lk_severity_t)((index / 4) % 4);
        snprintf(item->alertname, sizeof(item->alertname), "Alert%d", index % 5);
        item->team = index % 2 ? "db" : "web";
    }
    int batches = (LIST_A + LIST_B) / 25;
    for (int number = 0; number < batches; number++) {
        lk_msg_t batch;
        s_batch_init(&batch, 100 + (uint64_t)number);
        for (int index = number * 25; index < (number + 1) * 25; index++) {
            listed_t *item = &all[index];
            lk_incident_t incident;
            s_incident(&incident, item->tenant, item->id, 1, item->created_at_ms, item->status,
                       item->severity, item->alertname, item->team);
            lk_event_t event;
            s_event(&event, &incident, "incident_triggered", item->created_at_ms);
            s_add_event(&batch, &event);
            s_add_incident(&batch, &incident);
        }
        s_send_batch(f, &batch);
        lk_msg_clear(&batch);
    }
    for (int number = 0; number < batches; number++)
        s_expect_ack(f, 100 + (uint64_t)number, LK_STATUS_OK);
    return all;
}

typedef bool(listed_filter_fn)(const listed_t *item);

/* Pages through list_incidents with the filters of template (tenant, status_mask,
   severity_min, since, until, labels) and checks the union against filter: every
   expected incident exactly once, newest first, pages never overlapping. */
static void s_check_listing(fixture_t *f, const listed_t *all, const lk_msg_t *template,
                            uint32_t limit, listed_filter_fn *filter)
{
    size_t expected = 0;
    for (int index = 0; index < LIST_A + LIST_B; index++)
        if (strcmp(all[index].tenant, template->tenant_id) == 0 && filter(&all[index]))
            expected++;
    bool *seen = calloc(LIST_A + LIST_B, sizeof(bool));
    assert_non_null(seen);
    size_t total = 0;
    int64_t last_created = INT64_MAX;
    char last_id[LK_UUID_STR_LEN + 1] = "~";
    char *cursor = NULL;
    int pages = 0;
    do {
        lk_msg_t query;
        s_query_init(f, &query, LK_QUERY_LIST_INCIDENTS, template->tenant_id);
        query.query.status_mask = template->query.status_mask;
        query.query.severity_min = template->query.severity_min;
        query.query.since_ms = template->query.since_ms;
        query.query.until_ms = template->query.until_ms;
        assert_int_equal(lk_labels_copy(&query.query.labels, &template->query.labels), 0);
        query.query.limit = limit;
        query.query.cursor = cursor;
        cursor = NULL;
        lk_msg_t reply;
        s_ask_ok(f, &query, &reply);
        pages++;
        assert_true(reply.incident_count <= (limit ? limit : 100));
        for (size_t index = 0; index < reply.incident_count; index++) {
            const lk_incident_t *got = &reply.incidents[index];
            assert_string_equal(got->tenant_id, template->tenant_id);
            /* strictly newest first: (created_at, id) descending, across pages too */
            assert_true(got->created_at_ms < last_created ||
                        (got->created_at_ms == last_created && strcmp(got->id, last_id) < 0));
            last_created = got->created_at_ms;
            snprintf(last_id, sizeof(last_id), "%s", got->id);
            int found = -1;
            for (int item = 0; item < LIST_A + LIST_B; item++)
                if (strcmp(all[item].id, got->id) == 0)
                    found = item;
            assert_true(found >= 0);
            assert_false(seen[found]);
            seen[found] = true;
            assert_true(filter(&all[found]));
            total++;
        }
        if (reply.next_cursor) {
            assert_int_equal(reply.incident_count, limit ? limit : 100);
            cursor = strdup(reply.next_cursor);
        }
        lk_msg_clear(&reply);
    } while (cursor && pages < 1000);
    assert_int_equal(total, expected);
    free(seen);
}

static bool s_any(const listed_t *item)
{
    (void)item;
    return true;
}

static bool s_triggered_or_resolved(const listed_t *item)
{
    return item->status == LK_INCIDENT_TRIGGERED || item->status == LK_INCIDENT_RESOLVED;
}

static bool s_error_or_worse(const listed_t *item)
{
    return item->severity >= LK_SEV_ERROR;
}

static bool s_in_window(const listed_t *item)
{
    return item->created_at_ms >= 1700000010000 && item->created_at_ms < 1700000030000;
}

static bool s_alert2_db(const listed_t *item)
{
    return strcmp(item->alertname, "Alert2") == 0 && strcmp(item->team, "db") == 0;
}

static bool s_combined(const listed_t *item)
{
    return item->status == LK_INCIDENT_ACKNOWLEDGED && item->severity >= LK_SEV_WARNING &&
           strcmp(item->team, "web") == 0 && item->created_at_ms >= 1700000005000;
}

static void test_list_incidents(void **state)
{
    fixture_t *f = *state;
    listed_t *all = s_create_listing(f);
    lk_msg_t template;
    lk_msg_init(&template, LK_MSG_QUERY);

    /* tenant isolation and plain pagination, several page sizes */
    snprintf(template.tenant_id, sizeof(template.tenant_id), "%s", TENANT_A);
    s_check_listing(f, all, &template, 40, s_any);
    s_check_listing(f, all, &template, 0, s_any); /* default 100 */
    s_check_listing(f, all, &template, 150, s_any);
    s_check_listing(f, all, &template, 1, s_any);
    snprintf(template.tenant_id, sizeof(template.tenant_id), "%s", TENANT_B);
    s_check_listing(f, all, &template, 33, s_any);
    s_check_listing(f, all, &template, 100, s_any);

    /* filters */
    template.query.status_mask = (1u << LK_INCIDENT_TRIGGERED) | (1u << LK_INCIDENT_RESOLVED);
    s_check_listing(f, all, &template, 17, s_triggered_or_resolved);
    template.query.status_mask = 0;
    snprintf(template.tenant_id, sizeof(template.tenant_id), "%s", TENANT_A);
    template.query.severity_min = LK_SEV_ERROR;
    s_check_listing(f, all, &template, 20, s_error_or_worse);
    template.query.severity_min = -1;
    template.query.since_ms = 1700000010000;
    template.query.until_ms = 1700000030000;
    s_check_listing(f, all, &template, 7, s_in_window);
    template.query.since_ms = template.query.until_ms = 0;
    assert_int_equal(lk_labels_set(&template.query.labels, "alertname", "Alert2"), 0);
    assert_int_equal(lk_labels_set(&template.query.labels, "team", "db"), 0);
    s_check_listing(f, all, &template, 4, s_alert2_db);
    lk_labels_clear(&template.query.labels);
    assert_int_equal(lk_labels_set(&template.query.labels, "team", "web"), 0);
    template.query.status_mask = 1u << LK_INCIDENT_ACKNOWLEDGED;
    template.query.severity_min = LK_SEV_WARNING;
    template.query.since_ms = 1700000005000;
    s_check_listing(f, all, &template, 3, s_combined);
    lk_msg_clear(&template);

    /* a label nobody has matches nothing */
    lk_msg_t query, reply;
    s_query_init(f, &query, LK_QUERY_LIST_INCIDENTS, TENANT_A);
    assert_int_equal(lk_labels_set(&query.query.labels, "nope", "x"), 0);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.incident_count, 0);
    assert_null(reply.next_cursor);
    lk_msg_clear(&reply);

    /* limit is capped at 500 */
    s_query_init(f, &query, LK_QUERY_LIST_INCIDENTS, TENANT_A);
    query.query.limit = 100000;
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.incident_count, LIST_A);
    assert_null(reply.next_cursor);
    lk_msg_clear(&reply);

    /* bad cursors and bad filters are invalid, not errors */
    const char *bad_cursors[] = {"abc",
                                 "123",
                                 "_0190f000-0000-7000-8000-000000000000",
                                 "-5_0190f000-0000-7000-8000-000000000000",
                                 "0123_0190f000-0000-7000-8000-000000000000",
                                 "99999999999999999999_0190f000-0000-7000-8000-000000000000",
                                 "123_0190f000-0000-7000-8000-00000000000",
                                 "123_0190f000-0000-7000-8000-000000000000x",
                                 "123_0190f000'0000-7000-8000-000000000000",
                                 "1 2_0190f000-0000-7000-8000-000000000000"};
    for (size_t index = 0; index < sizeof(bad_cursors) / sizeof(bad_cursors[0]); index++) {
        s_query_init(f, &query, LK_QUERY_LIST_INCIDENTS, TENANT_A);
        query.query.cursor = strdup(bad_cursors[index]);
        s_ask(f, &query, &reply);
        if (reply.status != LK_STATUS_INVALID)
            fail_msg("cursor \"%s\" accepted", bad_cursors[index]);
        lk_msg_clear(&reply);
    }
    s_query_init(f, &query, LK_QUERY_LIST_INCIDENTS, TENANT_A);
    assert_int_equal(lk_labels_set(&query.query.labels, "bad\"name", "x"), 0);
    s_ask(f, &query, &reply);
    assert_int_equal(reply.status, LK_STATUS_INVALID);
    lk_msg_clear(&reply);
    s_query_init(f, &query, LK_QUERY_LIST_INCIDENTS, NULL);
    s_ask(f, &query, &reply);
    assert_int_equal(reply.status, LK_STATUS_INVALID);
    lk_msg_clear(&reply);
    free(all);
}

/* ---- snapshot ---------------------------------------------------------------------------- */

#define SNAP_TENANTS 4
#define SNAP_PER     12
#define SNAP_CLOSED  3 /* of each tenant's incidents */

static void test_snapshot(void **state)
{
    fixture_t *f = *state;
    /* tenants covering both shards of 2 */
    char tenants[SNAP_TENANTS][LK_UUID_STR_LEN + 1];
    int count = 0;
    bool shard_seen[2] = {false, false};
    for (int tries = 0; tries < 1000 && count < SNAP_TENANTS; tries++) {
        char candidate[LK_UUID_STR_LEN + 1];
        lk_uuid7(candidate);
        uint32_t shard = lk_shard_of(candidate, 2);
        bool need_other = count == SNAP_TENANTS - 1 && !(shard_seen[0] && shard_seen[1]);
        if (need_other && shard_seen[shard])
            continue;
        shard_seen[shard] = true;
        memcpy(tenants[count++], candidate, sizeof(candidate));
    }
    assert_int_equal(count, SNAP_TENANTS);
    assert_true(shard_seen[0] && shard_seen[1]);

    char ids[SNAP_TENANTS * SNAP_PER][LK_UUID_STR_LEN + 1];
    for (int tenant = 0; tenant < SNAP_TENANTS; tenant++) {
        lk_msg_t batch;
        s_batch_init(&batch, (uint64_t)tenant + 1);
        for (int index = 0; index < SNAP_PER; index++) {
            char *id = ids[tenant * SNAP_PER + index];
            lk_uuid7(id);
            lk_incident_t incident;
            s_incident(&incident, tenants[tenant], id, 1, 1000 + index,
                       index < SNAP_CLOSED ? LK_INCIDENT_CLOSED : (lk_incident_status_t)(index % 3),
                       LK_SEV_WARNING, "Snap", NULL);
            lk_alert_t alert;
            s_alert(&alert, &incident, "00000000000000c1", 1000, "one");
            s_add_alert(&batch, &alert);
            s_alert(&alert, &incident, "00000000000000c2", 1000, "two");
            s_add_alert(&batch, &alert);
            s_add_incident(&batch, &incident);
        }
        s_apply(f, &batch);
    }

    bool seen[SNAP_TENANTS * SNAP_PER] = {false};
    size_t total = 0;
    const uint32_t shard_counts[] = {2, 1};
    for (size_t round = 0; round < 2; round++) {
        uint32_t shards = shard_counts[round];
        memset(seen, 0, sizeof(seen));
        total = 0;
        for (uint32_t shard = 0; shard < shards; shard++) {
            char *cursor = NULL;
            int pages = 0;
            do {
                lk_msg_t query, reply;
                s_query_init(f, &query, LK_QUERY_SNAPSHOT, NULL);
                query.query.shard_count = shards;
                query.query.shard_index = shard;
                query.query.limit = 7;
                query.query.cursor = cursor;
                cursor = NULL;
                s_ask_ok(f, &query, &reply);
                pages++;
                assert_true(reply.incident_count <= 7);
                assert_int_equal(reply.alert_count, 2 * reply.incident_count);
                for (size_t index = 0; index < reply.incident_count; index++) {
                    const lk_incident_t *got = &reply.incidents[index];
                    assert_int_not_equal(got->status, LK_INCIDENT_CLOSED);
                    if (shards > 1)
                        assert_int_equal(lk_shard_of(got->tenant_id, shards), shard);
                    int found = -1;
                    for (int item = 0; item < SNAP_TENANTS * SNAP_PER; item++)
                        if (strcmp(ids[item], got->id) == 0)
                            found = item;
                    assert_true(found >= 0);
                    assert_false(seen[found]);
                    seen[found] = true;
                    total++;
                    if (index > 0)
                        assert_true(strcmp(reply.incidents[index - 1].id, got->id) < 0);
                }
                for (size_t index = 0; index < reply.alert_count; index++) {
                    bool in_page = false;
                    for (size_t item = 0; item < reply.incident_count; item++)
                        in_page |=
                            strcmp(reply.alerts[index].incident_id, reply.incidents[item].id) == 0;
                    assert_true(in_page);
                }
                if (reply.next_cursor)
                    cursor = strdup(reply.next_cursor);
                lk_msg_clear(&reply);
            } while (cursor && pages < 100);
        }
        assert_int_equal(total, SNAP_TENANTS * (SNAP_PER - SNAP_CLOSED));
    }

    lk_msg_t query, reply;
    s_query_init(f, &query, LK_QUERY_SNAPSHOT, NULL);
    query.query.cursor = strdup("1700000000000_0190f000-0000-7000-8000-000000000000");
    s_ask(f, &query, &reply);
    assert_int_equal(reply.status, LK_STATUS_INVALID);
    lk_msg_clear(&reply);
    /* default page size takes everything here; no next page */
    s_query_init(f, &query, LK_QUERY_SNAPSHOT, NULL);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.incident_count, SNAP_TENANTS * (SNAP_PER - SNAP_CLOSED));
    assert_null(reply.next_cursor);
    lk_msg_clear(&reply);
}

/* ---- events ------------------------------------------------------------------------------ */

static void test_events_query(void **state)
{
    fixture_t *f = *state;
    char id[LK_UUID_STR_LEN + 1], other[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_uuid7(other);
    lk_msg_t batch;
    s_simple_batch(&batch, 1, TENANT_A, id, 1000); /* sequences 1, 2 with version 1 */
    s_apply(f, &batch);
    s_batch_init(&batch, 2);
    lk_incident_t incident;
    s_incident(&incident, TENANT_A, id, 2, 1000, LK_INCIDENT_ACKNOWLEDGED, LK_SEV_ERROR, "HighCPU",
               "db");
    lk_event_t event;
    s_event(&event, &incident, "incident_acknowledged", 2000); /* sequence 3, version 2 */
    s_add_event(&batch, &event);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);
    s_simple_batch(&batch, 3, TENANT_B, other, 3000); /* sequences 4, 5 */
    s_apply(f, &batch);

    lk_msg_t reply;
    s_events_after(f, 0, 0, &reply);
    assert_int_equal(reply.event_count, 5);
    for (size_t index = 0; index < 5; index++) {
        assert_int_equal(reply.events[index].sequence, index + 1);
        assert_string_equal(reply.incidents[index].id, reply.events[index].incident_id);
    }
    /* each event carries the incident as of that event */
    assert_int_equal(reply.incidents[0].version, 1);
    assert_int_equal(reply.incidents[1].version, 1);
    assert_int_equal(reply.incidents[2].version, 2);
    assert_int_equal(reply.incidents[2].status, LK_INCIDENT_ACKNOWLEDGED);
    assert_string_equal(reply.incidents[3].tenant_id, TENANT_B);
    lk_msg_clear(&reply);

    s_events_after(f, 2, 2, &reply);
    assert_int_equal(reply.event_count, 2);
    assert_int_equal(reply.events[0].sequence, 3);
    assert_int_equal(reply.events[1].sequence, 4);
    lk_msg_clear(&reply);
    s_events_after(f, 5, 0, &reply);
    assert_int_equal(reply.event_count, 0);
    lk_msg_clear(&reply);

    /* tenant-scoped replay */
    lk_msg_t query;
    s_query_init(f, &query, LK_QUERY_EVENTS, TENANT_B);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.event_count, 2);
    assert_int_equal(reply.events[0].sequence, 4);
    assert_string_equal(reply.events[1].tenant_id, TENANT_B);
    lk_msg_clear(&reply);

    /* live events match the stored ones */
    for (uint64_t sequence = 1; sequence <= 5; sequence++) {
        lk_msg_t published;
        assert_int_equal(lk_sock_recv(f->events, NULL, &published, NULL, NULL), 0);
        assert_int_equal(published.type, LK_MSG_EVENT);
        assert_int_equal(published.events[0].sequence, sequence);
        assert_int_equal(published.incident_count, 1);
        assert_string_equal(published.incidents[0].id, published.events[0].incident_id);
        lk_msg_clear(&published);
    }
}

/* Sends a cursor_commit and expects its ack with status. */
static void s_cursor_commit(fixture_t *f, uint64_t req, const char *consumer, uint64_t sequence,
                            lk_status_t status)
{
    lk_msg_t commit;
    lk_msg_init(&commit, LK_MSG_CURSOR_COMMIT);
    commit.req = req;
    commit.consumer = consumer ? strdup(consumer) : NULL;
    commit.sequence = sequence;
    s_send_batch(f, &commit);
    s_expect_ack(f, req, status);
    lk_msg_clear(&commit);
}

/* cursor_get: the committed cursor, or not_found. */
static lk_status_t s_cursor_get(fixture_t *f, const char *consumer, uint64_t *sequence)
{
    lk_msg_t query, reply;
    s_query_init(f, &query, LK_QUERY_CURSOR_GET, NULL);
    query.query.consumer = strdup(consumer);
    s_ask(f, &query, &reply);
    lk_status_t status = reply.status;
    *sequence = reply.sequence;
    lk_msg_clear(&reply);
    return status;
}

/* Outbox consumers' cursors: committed through the mutation socket, read back by query,
   never moved backwards, never past the last event; events replies carry the outbox's
   bounds. Retention removes old events but never the newest, so sequences go on. */
static void test_outbox_cursors_and_retention(void **state)
{
    fixture_t *f = *state;
    uint64_t cursor = 99;
    assert_int_equal(s_cursor_get(f, "publish", &cursor), LK_STATUS_NOT_FOUND);
    char id[LK_UUID_STR_LEN + 1], other[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_uuid7(other);
    lk_msg_t batch;
    s_simple_batch(&batch, 1, TENANT_A, id, 1000); /* sequences 1, 2: long expired */
    s_apply(f, &batch);
    s_simple_batch(&batch, 2, TENANT_B, other, 2000); /* 3, 4 */
    s_apply(f, &batch);

    s_cursor_commit(f, 3, "publish", 3, LK_STATUS_OK);
    assert_int_equal(s_cursor_get(f, "publish", &cursor), LK_STATUS_OK);
    assert_int_equal(cursor, 3);
    s_cursor_commit(f, 4, "publish", 2, LK_STATUS_OK); /* late: changes nothing */
    assert_int_equal(s_cursor_get(f, "publish", &cursor), LK_STATUS_OK);
    assert_int_equal(cursor, 3);
    s_cursor_commit(f, 5, "publish", 5, LK_STATUS_INVALID); /* past the last event */
    s_cursor_commit(f, 6, "", 1, LK_STATUS_INVALID);
    s_cursor_commit(f, 7, "publish", 4, LK_STATUS_OK);
    s_cursor_commit(f, 8, "escalate", 1, LK_STATUS_OK); /* each consumer its own */
    assert_int_equal(s_cursor_get(f, "publish", &cursor), LK_STATUS_OK);
    assert_int_equal(cursor, 4);
    assert_int_equal(s_cursor_get(f, "escalate", &cursor), LK_STATUS_OK);
    assert_int_equal(cursor, 1);

    lk_msg_t reply;
    s_events_after(f, 1, 1, &reply);
    assert_int_equal(reply.first_sequence, 1);
    assert_int_equal(reply.last_sequence, 4);
    lk_msg_clear(&reply);

    /* a store keeping events for a second: the first sweep, at start, removes all but the
       newest of these 1970 events; the cursors stay */
    s_actor_stop(f);
    setenv("LOOKOUT_OUTBOX_RETENTION_S", "1", 1);
    s_actor_start(f);
    unsetenv("LOOKOUT_OUTBOX_RETENTION_S");
    for (int attempt = 0;; attempt++) {
        s_events_after(f, 0, 0, &reply);
        bool swept = reply.first_sequence == 4;
        assert_int_equal(reply.last_sequence, 4);
        if (swept) {
            assert_int_equal(reply.event_count, 1);
            assert_int_equal(reply.events[0].sequence, 4);
        }
        lk_msg_clear(&reply);
        if (swept)
            break;
        assert_true(attempt < 200);
        zclock_sleep(50);
    }
    assert_int_equal(s_cursor_get(f, "publish", &cursor), LK_STATUS_OK);
    assert_int_equal(cursor, 4);
    /* the next event is 5, not 1 */
    s_batch_init(&batch, 9);
    lk_incident_t incident;
    s_incident(&incident, TENANT_A, id, 2, 1000, LK_INCIDENT_ACKNOWLEDGED, LK_SEV_ERROR, "HighCPU",
               "db");
    lk_event_t event;
    s_event(&event, &incident, "incident_acknowledged", zclock_time());
    s_add_event(&batch, &event);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);
    s_events_after(f, 0, 0, &reply);
    assert_int_equal(reply.last_sequence, 5);
    assert_int_equal(reply.events[reply.event_count - 1].sequence, 5);
    lk_msg_clear(&reply);
    /* a tenant-scoped reader behind retention learns it from first_sequence */
    lk_msg_t query;
    s_query_init(f, &query, LK_QUERY_EVENTS, TENANT_A);
    s_ask_ok(f, &query, &reply);
    assert_true(reply.first_sequence > 1);
    assert_int_equal(reply.events[reply.event_count - 1].sequence, 5);
    lk_msg_clear(&reply);
}

/* A batch the database refuses is acked with an error; the others in its group commit,
   and the sequence stays gap-free. */
static void test_failed_batch_isolated(void **state)
{
    fixture_t *f = *state;
    char first[LK_UUID_STR_LEN + 1], third[LK_UUID_STR_LEN + 1];
    lk_uuid7(first);
    lk_uuid7(third);
    lk_msg_t batch;
    s_simple_batch(&batch, 1, TENANT_A, first, 1000);
    s_send_batch(f, &batch);
    lk_msg_clear(&batch);

    /* an alert of an incident that exists nowhere: refused by the foreign key */
    s_batch_init(&batch, 2);
    lk_incident_t ghost;
    char ghost_id[LK_UUID_STR_LEN + 1];
    lk_uuid7(ghost_id);
    s_incident(&ghost, TENANT_A, ghost_id, 1, 1000, LK_INCIDENT_TRIGGERED, LK_SEV_INFO, "Ghost",
               NULL);
    lk_alert_t alert;
    s_alert(&alert, &ghost, "00000000000000d1", 1000, "x");
    s_add_alert(&batch, &alert);
    lk_event_t event;
    s_event(&event, &ghost, "alert_added", 1000);
    s_add_event(&batch, &event);
    lk_incident_clear(&ghost);
    s_send_batch(f, &batch);
    lk_msg_clear(&batch);

    s_simple_batch(&batch, 3, TENANT_A, third, 3000);
    s_send_batch(f, &batch);
    lk_msg_clear(&batch);

    s_expect_ack(f, 1, LK_STATUS_OK);
    s_expect_ack(f, 2, LK_STATUS_ERROR);
    s_expect_ack(f, 3, LK_STATUS_OK);

    lk_msg_t reply;
    s_events_after(f, 0, 0, &reply);
    assert_int_equal(reply.event_count, 4);
    for (size_t index = 0; index < 4; index++)
        assert_int_equal(reply.events[index].sequence, index + 1);
    assert_string_equal(reply.events[0].incident_id, first);
    assert_string_equal(reply.events[3].incident_id, third);
    lk_msg_clear(&reply);
    assert_int_equal(s_get(f, TENANT_A, ghost_id, &reply), LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);
    /* published: exactly the committed events, in order */
    for (uint64_t sequence = 1; sequence <= 4; sequence++) {
        lk_msg_t published;
        assert_int_equal(lk_sock_recv(f->events, NULL, &published, NULL, NULL), 0);
        assert_int_equal(published.events[0].sequence, sequence);
        lk_msg_clear(&published);
    }
}

/* Content the codec lets through but a database would treat differently is refused by
   the writer itself (both backends alike), and UUIDs are stored lower-case. Driven
   directly (the codec already rejects most of these on the wire). */
static void test_writer_refuses_bad_content(void **state)
{
    fixture_t *f = *state;
    store_db_t *db = s_db_open(f);
    int rc;
    store_writer_t *writer = store_writer_new(db, &rc);
    assert_non_null(writer);
    assert_int_equal(store_writer_last_sequence(writer), 0);

    char id[LK_UUID_STR_LEN + 1], upper_id[LK_UUID_STR_LEN + 1];
    char upper_tenant[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    for (size_t index = 0; index <= LK_UUID_STR_LEN; index++) {
        upper_id[index] = (char)toupper((unsigned char)id[index]);
        upper_tenant[index] = (char)toupper((unsigned char)TENANT_B[index]);
    }
    store_writer_item_t items[4];
    memset(items, 0, sizeof(items));
    lk_incident_t incident;
    s_batch_init(&items[0].msg, 1);
    s_incident(&incident, TENANT_A, "not-a-uuid", 1, 1000, LK_INCIDENT_TRIGGERED, LK_SEV_INFO,
               "Bad", NULL);
    s_add_incident(&items[0].msg, &incident);
    s_batch_init(&items[1].msg, 2);
    s_incident(&incident, TENANT_A, id, 1, 1000, LK_INCIDENT_TRIGGERED, LK_SEV_INFO, "Bad", NULL);
    free(incident.title);
    incident.title = strdup("bad \xff utf-8");
    s_add_incident(&items[1].msg, &incident);
    lk_msg_init(&items[2].msg, LK_MSG_COMMAND);
    items[2].msg.req = 3;
    s_batch_init(&items[3].msg, 4);
    s_incident(&incident, upper_tenant, upper_id, 1, 1000, LK_INCIDENT_TRIGGERED, LK_SEV_INFO,
               "Good", NULL);
    lk_alert_t alert;
    s_alert(&alert, &incident, "00000000000000e1", 1000, "x");
    s_add_alert(&items[3].msg, &alert);
    s_add_incident(&items[3].msg, &incident);

    assert_int_equal(store_writer_apply(writer, items, 4), STORE_DB_OK);
    assert_int_equal(items[0].status, LK_STATUS_INVALID);
    assert_non_null(strstr(items[0].error, "UUID"));
    assert_int_equal(items[1].status, LK_STATUS_INVALID);
    assert_non_null(strstr(items[1].error, "UTF-8"));
    assert_int_equal(items[2].status, LK_STATUS_INVALID);
    assert_int_equal(items[3].status, LK_STATUS_OK);
    size_t published;
    store_writer_published(writer, &published);
    assert_int_equal(published, 0);
    for (size_t index = 0; index < 4; index++)
        lk_msg_clear(&items[index].msg);
    store_writer_destroy(&writer);
    assert_null(writer);
    store_db_destroy(&db);

    lk_msg_t reply;
    assert_int_equal(s_get(f, TENANT_B, id, &reply), LK_STATUS_OK);
    assert_string_equal(reply.incidents[0].id, id);
    assert_string_equal(reply.incidents[0].tenant_id, TENANT_B);
    assert_int_equal(reply.alert_count, 1);
    assert_string_equal(reply.alerts[0].incident_id, id);
    lk_msg_clear(&reply);
}

/* Garbage on either socket is skipped; the actor keeps serving. */
static void test_malformed_skipped(void **state)
{
    fixture_t *f = *state;
    uint64_t malformed_before = lk_sock_malformed_total();
    assert_int_equal(zstr_send(f->mutations, "garbage"), 0);
    assert_int_equal(zsock_send(f->mutations, "ss", "two", "frames"), 0);
    const unsigned char truncated[] = {0x83, 0xa4, 't', 'y', 'p', 'e', 0xae, 'm'};
    zframe_t *frame = zframe_new(truncated, sizeof(truncated));
    assert_int_equal(zframe_send(&frame, f->mutations, 0), 0);
    assert_int_equal(zstr_send(f->queries, "not msgpack either"), 0);

    /* well-formed but the wrong type: refused cleanly, with the req echoed */
    lk_msg_t wrong;
    s_query_init(f, &wrong, LK_QUERY_EVENTS, NULL);
    wrong.req = 41;
    assert_int_equal(lk_sock_send(f->mutations, NULL, &wrong, NULL, NULL), 0);
    lk_msg_clear(&wrong);
    s_expect_ack(f, 41, LK_STATUS_INVALID);
    lk_msg_init(&wrong, LK_MSG_MUTATION_BATCH);
    wrong.req = 42;
    lk_msg_t reply;
    s_ask(f, &wrong, &reply);
    assert_int_equal(reply.status, LK_STATUS_INVALID);
    lk_msg_clear(&reply);

    char id[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_msg_t batch;
    s_simple_batch(&batch, 43, TENANT_A, id, 1000);
    s_apply(f, &batch);
    assert_true(lk_sock_malformed_total() >= malformed_before + 4);
    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    lk_msg_clear(&reply);

    /* an empty batch is fine too */
    s_batch_init(&batch, 44);
    s_apply(f, &batch);
}

/* ---- held alerts, silences, heartbeat monitors (store_correlation.h) ----------------------- */

/* A held alert row (incident_id ""). */
static void s_held(lk_alert_t *alert, const char *tenant, const char *fingerprint,
                   lk_alert_state_t state, lk_alert_status_t status, int64_t updated_at_ms)
{
    memset(alert, 0, sizeof(*alert));
    snprintf(alert->tenant_id, sizeof(alert->tenant_id), "%s", tenant);
    snprintf(alert->fingerprint, sizeof(alert->fingerprint), "%s", fingerprint);
    alert->source = strdup("api");
    alert->name = strdup("stream_failure");
    assert_int_equal(lk_labels_set(&alert->labels, "alertname", "stream_failure"), 0);
    assert_int_equal(lk_labels_set(&alert->labels, "node", "n1"), 0);
    alert->severity = LK_SEV_ERROR;
    alert->status = status;
    alert->starts_at_ms = 1000;
    alert->updated_at_ms = updated_at_ms;
    alert->state = state;
    alert->suppressed_by = state == LK_ALERT_INHIBITED ? strdup("inhibit_rules[0]") : NULL;
}

static void s_silence_row(lk_silence_t *silence, const char *tenant, int64_t ends_at_ms,
                          int64_t updated_at_ms)
{
    memset(silence, 0, sizeof(*silence));
    lk_uuid7(silence->id);
    snprintf(silence->tenant_id, sizeof(silence->tenant_id), "%s", tenant);
    lk_matcher_t matchers[2] = {
        {.name = (char *)"node", .value = (char *)"n[0-9]+", .is_regex = true, .is_equal = true},
        {.name = (char *)"env", .value = (char *)"dev \"x\"", .is_regex = false, .is_equal = false},
    };
    assert_int_equal(lk_matchers_copy(&silence->matchers, matchers, 2), 0);
    silence->matcher_count = 2;
    silence->starts_at_ms = 1000;
    silence->ends_at_ms = ends_at_ms;
    silence->created_by = strdup("alice");
    silence->comment = strdup("maintenance \xc3\xa9");
    silence->created_at_ms = 900;
    silence->updated_at_ms = updated_at_ms;
}

static void s_heartbeat_row(lk_heartbeat_t *heartbeat, const char *tenant, const char *name,
                            bool missed, int64_t updated_at_ms)
{
    memset(heartbeat, 0, sizeof(*heartbeat));
    snprintf(heartbeat->tenant_id, sizeof(heartbeat->tenant_id), "%s", tenant);
    heartbeat->name = strdup(name);
    heartbeat->interval_ms = 60000;
    heartbeat->grace_ms = 5000;
    heartbeat->severity = LK_SEV_CRITICAL;
    assert_int_equal(lk_labels_set(&heartbeat->labels, "team", "storage"), 0);
    heartbeat->last_ping_at_ms = missed ? 0 : 1500;
    heartbeat->missed = missed;
    heartbeat->created_at_ms = 1000;
    heartbeat->updated_at_ms = updated_at_ms;
}

static void test_correlation_rows(void **state)
{
    fixture_t *f = *state;
    /* an incident with the 0003 columns, a held alert, a silence, two monitors */
    lk_msg_t batch;
    s_batch_init(&batch, 1);
    char id[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_incident_t incident;
    s_incident(&incident, TENANT_A, id, 1, 1000, LK_INCIDENT_TRIGGERED, LK_SEV_ERROR, "Held", NULL);
    incident.policy = strdup("video-oncall");
    lk_incident_add_source(&incident, "prometheus");
    lk_incident_add_source(&incident, "api");
    incident.group_wait_until_ms = 31000;
    lk_alert_t alert;
    s_alert(&alert, &incident, "00000000000000d1", 1000, "one");
    s_add_alert(&batch, &alert);
    s_add_incident(&batch, &incident);
    s_held(&alert, TENANT_A, "00000000000000e1", LK_ALERT_INHIBITED, LK_ALERT_FIRING, 1000);
    s_add_alert(&batch, &alert);
    s_held(&alert, TENANT_A, "00000000000000e2", LK_ALERT_SILENCED, LK_ALERT_FIRING, 1000);
    s_add_alert(&batch, &alert);
    s_held(&alert, TENANT_B, "00000000000000e3", LK_ALERT_INHIBITED, LK_ALERT_FIRING, 1000);
    s_add_alert(&batch, &alert);
    lk_silence_t silence;
    s_silence_row(&silence, TENANT_A, INT64_C(4000000000000), 1000);
    char silence_id[LK_UUID_STR_LEN + 1];
    strcpy(silence_id, silence.id);
    assert_int_equal(lk_msg_add_silence(&batch, &silence), 0);
    lk_silence_clear(&silence);
    s_silence_row(&silence, TENANT_A, 2000, 1000); /* ended long ago */
    assert_int_equal(lk_msg_add_silence(&batch, &silence), 0);
    lk_silence_clear(&silence);
    lk_heartbeat_t heartbeat;
    s_heartbeat_row(&heartbeat, TENANT_A, "nightly-backup", false, 1000);
    assert_int_equal(lk_msg_add_heartbeat(&batch, &heartbeat), 0);
    lk_heartbeat_clear(&heartbeat);
    s_heartbeat_row(&heartbeat, TENANT_B, "cron.job-1", true, 1000);
    assert_int_equal(lk_msg_add_heartbeat(&batch, &heartbeat), 0);
    lk_heartbeat_clear(&heartbeat);
    lk_msg_t again;
    s_batch_init(&again, 2);
    for (size_t i = 0; i < batch.silence_count; i++)
        assert_int_equal(lk_msg_add_silence(&again, &batch.silences[i]), 0);
    s_apply(f, &batch);
    s_apply(f, &again); /* applying rows twice has the effect of once */

    /* the incident's new columns come back */
    lk_msg_t reply;
    assert_int_equal(s_get(f, TENANT_A, id, &reply), LK_STATUS_OK);
    assert_string_equal(reply.incidents[0].policy, "video-oncall");
    assert_int_equal(reply.incidents[0].source_count, 2);
    assert_string_equal(reply.incidents[0].sources[1], "api");
    assert_true(reply.incidents[0].group_wait_until_ms == 31000);
    assert_int_equal(reply.alert_count, 1);
    assert_int_equal(reply.alerts[0].state, LK_ALERT_ACTIVE);
    lk_msg_clear(&reply);

    /* held alerts: tenant-scoped, filtered by state */
    lk_msg_t query;
    s_query_init(f, &query, LK_QUERY_LIST_SUPPRESSED, TENANT_A);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.alert_count, 2);
    for (size_t i = 0; i < reply.alert_count; i++) {
        assert_string_equal(reply.alerts[i].incident_id, "");
        assert_string_equal(reply.alerts[i].tenant_id, TENANT_A);
        assert_string_equal(lk_labels_get(&reply.alerts[i].labels, "node"), "n1");
    }
    lk_msg_clear(&reply);
    s_query_init(f, &query, LK_QUERY_LIST_SUPPRESSED, TENANT_A);
    query.query.status_mask = 1u << LK_ALERT_INHIBITED;
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.alert_count, 1);
    assert_int_equal(reply.alerts[0].state, LK_ALERT_INHIBITED);
    assert_string_equal(reply.alerts[0].suppressed_by, "inhibit_rules[0]");
    lk_msg_clear(&reply);

    /* silences: listed newest first, filtered by state; one by id; another tenant's is
       not found */
    s_query_init(f, &query, LK_QUERY_LIST_SILENCES, TENANT_A);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.silence_count, 2);
    lk_msg_clear(&reply);
    s_query_init(f, &query, LK_QUERY_LIST_SILENCES, TENANT_A);
    query.query.status_mask = 1u << LK_SILENCE_ACTIVE;
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.silence_count, 1);
    assert_string_equal(reply.silences[0].id, silence_id);
    assert_int_equal(reply.silences[0].matcher_count, 2);
    assert_string_equal(reply.silences[0].matchers[1].value, "dev \"x\"");
    assert_false(reply.silences[0].matchers[1].is_equal);
    assert_true(reply.silences[0].matchers[0].is_regex);
    assert_string_equal(reply.silences[0].comment, "maintenance \xc3\xa9");
    lk_msg_clear(&reply);
    s_query_init(f, &query, LK_QUERY_GET_SILENCE, TENANT_B);
    snprintf(query.query.silence_id, sizeof(query.query.silence_id), "%s", silence_id);
    s_ask(f, &query, &reply);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);

    /* monitors */
    s_query_init(f, &query, LK_QUERY_LIST_HEARTBEATS, TENANT_B);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.heartbeat_count, 1);
    assert_string_equal(reply.heartbeats[0].name, "cron.job-1");
    assert_true(reply.heartbeats[0].missed);
    assert_true(reply.heartbeats[0].last_ping_at_ms == 0);
    assert_string_equal(lk_labels_get(&reply.heartbeats[0].labels, "team"), "storage");
    lk_msg_clear(&reply);

    /* the first snapshot page carries the unexpired silences, monitors and held alerts of
       the shard; later pages do not */
    s_query_init(f, &query, LK_QUERY_SNAPSHOT, NULL);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.silence_count, 1);
    assert_int_equal(reply.heartbeat_count, 2);
    size_t held = 0;
    for (size_t i = 0; i < reply.alert_count; i++)
        held += reply.alerts[i].incident_id[0] == '\0';
    assert_int_equal(held, 3);
    lk_msg_clear(&reply);
    uint32_t shard_a = lk_shard_of(TENANT_A, 2);
    s_query_init(f, &query, LK_QUERY_SNAPSHOT, NULL);
    query.query.shard_count = 2;
    query.query.shard_index = shard_a;
    s_ask_ok(f, &query, &reply);
    for (size_t i = 0; i < reply.heartbeat_count; i++)
        assert_int_equal(lk_shard_of(reply.heartbeats[i].tenant_id, 2), shard_a);
    for (size_t i = 0; i < reply.alert_count; i++)
        assert_int_equal(lk_shard_of(reply.alerts[i].tenant_id, 2), shard_a);
    lk_msg_clear(&reply);

    /* a held row older than the stored one is ignored; a release deletes it; so does a
       resolve */
    s_batch_init(&batch, 3);
    s_held(&alert, TENANT_A, "00000000000000e1", LK_ALERT_SILENCED, LK_ALERT_FIRING, 999);
    s_add_alert(&batch, &alert);
    s_held(&alert, TENANT_A, "00000000000000e2", LK_ALERT_ACTIVE, LK_ALERT_FIRING, 1001);
    s_add_alert(&batch, &alert);
    s_held(&alert, TENANT_B, "00000000000000e3", LK_ALERT_INHIBITED, LK_ALERT_RESOLVED, 1001);
    s_add_alert(&batch, &alert);
    s_heartbeat_row(&heartbeat, TENANT_B, "cron.job-1", false, 1001);
    assert_int_equal(lk_msg_add_heartbeat(&batch, &heartbeat), 0);
    lk_heartbeat_clear(&heartbeat);
    s_apply(f, &batch);
    s_query_init(f, &query, LK_QUERY_LIST_SUPPRESSED, TENANT_A);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.alert_count, 1);
    assert_string_equal(reply.alerts[0].fingerprint, "00000000000000e1");
    assert_int_equal(reply.alerts[0].state, LK_ALERT_INHIBITED);
    lk_msg_clear(&reply);
    s_query_init(f, &query, LK_QUERY_LIST_SUPPRESSED, TENANT_B);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.alert_count, 0);
    lk_msg_clear(&reply);
    s_query_init(f, &query, LK_QUERY_LIST_HEARTBEATS, TENANT_B);
    s_ask_ok(f, &query, &reply);
    assert_false(reply.heartbeats[0].missed);
    assert_true(reply.heartbeats[0].last_ping_at_ms == 1500);
    lk_msg_clear(&reply);

    /* content the database would refuse is refused for both backends alike */
    s_batch_init(&batch, 4);
    s_heartbeat_row(&heartbeat, TENANT_A, "bad name", false, 2000);
    assert_int_equal(lk_msg_add_heartbeat(&batch, &heartbeat), 0);
    lk_heartbeat_clear(&heartbeat);
    s_send_batch(f, &batch);
    s_expect_ack(f, 4, LK_STATUS_INVALID);
    lk_msg_clear(&batch);
}

/* ---- notify rows (store_notify.h) ----------------------------------------------------- */

static void s_notification_row(lk_notification_t *row, const char *tenant, const char *incident,
                               const char *channel, const char *target, lk_notify_status_t status,
                               int64_t updated_at_ms)
{
    memset(row, 0, sizeof(*row));
    lk_uuid7(row->id);
    snprintf(row->tenant_id, sizeof(row->tenant_id), "%s", tenant);
    snprintf(row->incident_id, sizeof(row->incident_id), "%s", incident);
    row->policy = (char *)"default";
    row->channel = (char *)channel;
    row->target = (char *)target;
    row->kind = LK_NOTIFY_TRIGGER;
    row->attempt = 1;
    row->status = status;
    row->idempotency_key = row->id;
    row->lease_until_ms = updated_at_ms + 60000;
    row->next_attempt_at_ms = updated_at_ms;
    row->created_at_ms = 6000;
    row->updated_at_ms = updated_at_ms;
}

static void s_step_row(lk_escalation_t *row, const char *tenant, const char *incident,
                       uint32_t step, uint32_t level, const char *status, int64_t at_ms)
{
    memset(row, 0, sizeof(*row));
    lk_uuid7(row->id);
    snprintf(row->tenant_id, sizeof(row->tenant_id), "%s", tenant);
    snprintf(row->incident_id, sizeof(row->incident_id), "%s", incident);
    row->policy = (char *)"default";
    row->step = step;
    row->level = level;
    row->target = (char *)"schedule:primary=alice,channel:ops";
    row->status = (char *)status;
    row->event_sequence = 1;
    row->next_at_ms = at_ms + 60000;
    row->created_at_ms = at_ms;
    row->updated_at_ms = at_ms;
}

/* The latest step, pending and sent notifications of the open incidents. */
static void s_escalation_state(fixture_t *f, lk_msg_t *reply)
{
    lk_msg_t query;
    s_query_init(f, &query, LK_QUERY_ESCALATION_STATE, NULL);
    s_ask_ok(f, &query, reply);
}

/* Per-tenant ingest tokens (store_tokens.h): creation is idempotent, revocation sticks (a
   late re-send of the creation cannot undo it), another tenant cannot touch a row, listings
   are per tenant, lookup by hash finds the tenant, and bad rows are refused. */
static void test_ingest_token_rows(void **state)
{
    fixture_t *f = *state;
    lk_ingest_token_t token = {.created_at_ms = 1000};
    lk_uuid7(token.id);
    snprintf(token.tenant_id, sizeof token.tenant_id, "%s", TENANT_A);
    memset(token.hash, 'a', LK_TOKEN_HASH_LEN);
    token.name = (char *)"prometheus 'eu'; --";
    token.hint = (char *)"lk_AbCd";
    token.scopes = (char *)"alerts:write";
    token.created_by = (char *)"alice";
    lk_msg_t batch, query, reply;
    for (uint64_t req = 1; req <= 2; req++) { /* the same creation twice */
        s_batch_init(&batch, req);
        assert_int_equal(lk_msg_add_token(&batch, &token), 0);
        s_apply(f, &batch);
    }
    s_query_init(f, &query, LK_QUERY_LIST_INGEST_TOKENS, TENANT_A);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.token_count, 1);
    assert_string_equal(reply.tokens[0].id, token.id);
    assert_string_equal(reply.tokens[0].name, token.name);
    assert_string_equal(reply.tokens[0].hash, token.hash);
    assert_string_equal(reply.tokens[0].scopes, "alerts:write");
    assert_true(reply.tokens[0].revoked_at_ms == 0);
    lk_msg_clear(&reply);
    s_query_init(f, &query, LK_QUERY_LIST_INGEST_TOKENS, TENANT_B);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.token_count, 0);
    lk_msg_clear(&reply);
    /* lookup by hash: no tenant in the request, the tenant in the answer */
    s_query_init(f, &query, LK_QUERY_INGEST_TOKEN_BY_HASH, NULL);
    memcpy(query.query.token_hash, token.hash, sizeof token.hash);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.token_count, 1);
    assert_string_equal(reply.tokens[0].tenant_id, TENANT_A);
    lk_msg_clear(&reply);
    s_query_init(f, &query, LK_QUERY_INGEST_TOKEN_BY_HASH, NULL);
    memset(query.query.token_hash, 'b', LK_TOKEN_HASH_LEN);
    s_ask(f, &query, &reply);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    lk_msg_clear(&reply);

    /* another tenant's row with the same id changes nothing */
    lk_ingest_token_t intruder = token;
    snprintf(intruder.tenant_id, sizeof intruder.tenant_id, "%s", TENANT_B);
    intruder.revoked_at_ms = 1500;
    s_batch_init(&batch, 3);
    assert_int_equal(lk_msg_add_token(&batch, &intruder), 0);
    s_apply(f, &batch);
    /* revocation sticks; a late creation does not undo it */
    token.revoked_at_ms = 2000;
    s_batch_init(&batch, 4);
    assert_int_equal(lk_msg_add_token(&batch, &token), 0);
    s_apply(f, &batch);
    token.revoked_at_ms = 0;
    s_batch_init(&batch, 5);
    assert_int_equal(lk_msg_add_token(&batch, &token), 0);
    s_apply(f, &batch);
    s_query_init(f, &query, LK_QUERY_INGEST_TOKEN_BY_HASH, NULL);
    memcpy(query.query.token_hash, token.hash, sizeof token.hash);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.token_count, 1);
    assert_string_equal(reply.tokens[0].tenant_id, TENANT_A);
    assert_true(reply.tokens[0].revoked_at_ms == 2000);
    lk_msg_clear(&reply);

    /* bad rows: refused, nothing written */
    lk_ingest_token_t bad = token;
    lk_uuid7(bad.id);
    memset(bad.hash, 'c', LK_TOKEN_HASH_LEN);
    bad.name = (char *)"";
    s_batch_init(&batch, 6);
    assert_int_equal(lk_msg_add_token(&batch, &bad), 0);
    s_send_batch(f, &batch);
    s_expect_ack(f, 6, LK_STATUS_INVALID);
    lk_msg_clear(&batch);
    s_query_init(f, &query, LK_QUERY_LIST_INGEST_TOKENS, TENANT_A);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.token_count, 1);
    lk_msg_clear(&reply);
}

/* Notification and escalation rows are absolute states: a re-sent write changes nothing, a
   late pending row never undoes a final status; escalation_state gives each open incident's
   latest step and what escalate must still deliver or mirror; overrides are per tenant and
   time window. */
static void test_notify_rows(void **state)
{
    fixture_t *f = *state;
    char id[LK_UUID_STR_LEN + 1];
    lk_uuid7(id);
    lk_msg_t batch, reply;
    s_simple_batch(&batch, 1, TENANT_A, id, 5000);
    s_apply(f, &batch);

    lk_escalation_t step;
    lk_notification_t slack, mail;
    s_step_row(&step, TENANT_A, id, 1, 0, "notified", 6000);
    s_notification_row(&slack, TENANT_A, id, "ops-slack", "", LK_NOTIFY_PENDING, 6000);
    s_notification_row(&mail, TENANT_A, id, "mail", "alice", LK_NOTIFY_PENDING, 6000);
    for (uint64_t req = 2; req <= 3; req++) { /* the same write twice */
        s_batch_init(&batch, req);
        assert_int_equal(lk_msg_add_escalation(&batch, &step), 0);
        assert_int_equal(lk_msg_add_notification(&batch, &slack), 0);
        assert_int_equal(lk_msg_add_notification(&batch, &mail), 0);
        s_apply(f, &batch);
    }
    s_escalation_state(f, &reply);
    assert_int_equal(reply.escalation_count, 1);
    assert_int_equal(reply.escalations[0].step, 1);
    assert_string_equal(reply.escalations[0].status, "notified");
    assert_true(reply.escalations[0].next_at_ms == 66000);
    assert_int_equal(reply.incident_count, 1);
    assert_string_equal(reply.incidents[0].id, id);
    assert_int_equal(reply.notification_count, 2);
    lk_msg_clear(&reply);

    /* the next level; slack delivered, then a late (older attempt's) pending write of it */
    s_step_row(&step, TENANT_A, id, 2, 1, "notified", 7000);
    slack.status = LK_NOTIFY_SENT;
    slack.response_code = 200;
    slack.updated_at_ms = 8000;
    s_batch_init(&batch, 4);
    assert_int_equal(lk_msg_add_escalation(&batch, &step), 0);
    assert_int_equal(lk_msg_add_notification(&batch, &slack), 0);
    s_apply(f, &batch);
    slack.status = LK_NOTIFY_PENDING;
    slack.attempt = 2;
    s_batch_init(&batch, 5);
    assert_int_equal(lk_msg_add_notification(&batch, &slack), 0);
    s_apply(f, &batch);
    s_escalation_state(f, &reply);
    assert_int_equal(reply.escalation_count, 1);
    assert_int_equal(reply.escalations[0].step, 2);
    assert_int_equal(reply.escalations[0].level, 1);
    assert_int_equal(reply.notification_count, 2);
    for (size_t i = 0; i < 2; i++) {
        const lk_notification_t *row = &reply.notifications[i];
        if (strcmp(row->channel, "ops-slack") == 0) {
            assert_int_equal(row->status, LK_NOTIFY_SENT);
            assert_int_equal(row->attempt, 1);
            assert_int_equal(row->response_code, 200);
        } else {
            assert_int_equal(row->status, LK_NOTIFY_PENDING);
            assert_string_equal(row->target, "alice");
            assert_true(row->lease_until_ms == 66000);
        }
    }
    lk_msg_clear(&reply);

    /* a failed notification no longer matters to escalate; a closed incident neither */
    mail.status = LK_NOTIFY_FAILED;
    mail.updated_at_ms = 9000;
    mail.error = (char *)"HTTP 400: bad";
    s_batch_init(&batch, 6);
    assert_int_equal(lk_msg_add_notification(&batch, &mail), 0);
    s_apply(f, &batch);
    s_escalation_state(f, &reply);
    assert_int_equal(reply.notification_count, 1);
    lk_msg_clear(&reply);
    s_batch_init(&batch, 7);
    lk_incident_t incident;
    s_incident(&incident, TENANT_A, id, 2, 5000, LK_INCIDENT_CLOSED, LK_SEV_ERROR, "HighCPU", "db");
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);
    s_escalation_state(f, &reply);
    assert_int_equal(reply.escalation_count, 0);
    assert_int_equal(reply.notification_count, 0);
    lk_msg_clear(&reply);

    /* overrides: per tenant, by time window, ordered by start */
    lk_oncall_override_t override = {.created_at_ms = 100};
    snprintf(override.tenant_id, sizeof(override.tenant_id), "%s", TENANT_A);
    override.schedule = (char *)"primary";
    override.user = (char *)"bob";
    override.created_by = (char *)"alice";
    s_batch_init(&batch, 8);
    const int64_t windows[][2] = {{5000, 6000}, {1000, 2000}};
    for (size_t i = 0; i < 2; i++) {
        lk_uuid7(override.id);
        override.starts_at_ms = windows[i][0];
        override.ends_at_ms = windows[i][1];
        assert_int_equal(lk_msg_add_override(&batch, &override), 0);
    }
    snprintf(override.tenant_id, sizeof(override.tenant_id), "%s", TENANT_B);
    lk_uuid7(override.id);
    assert_int_equal(lk_msg_add_override(&batch, &override), 0);
    s_apply(f, &batch);
    lk_msg_t query;
    s_query_init(f, &query, LK_QUERY_ONCALL_OVERRIDES, TENANT_A);
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.override_count, 2);
    assert_true(reply.overrides[0].starts_at_ms == 1000 && reply.overrides[1].starts_at_ms == 5000);
    assert_string_equal(reply.overrides[0].user, "bob");
    assert_string_equal(reply.overrides[0].created_by, "alice");
    lk_msg_clear(&reply);
    s_query_init(f, &query, LK_QUERY_ONCALL_OVERRIDES, TENANT_A);
    query.query.since_ms = 1500; /* ends after */
    query.query.until_ms = 1501; /* starts before */
    s_ask_ok(f, &query, &reply);
    assert_int_equal(reply.override_count, 1);
    assert_true(reply.overrides[0].ends_at_ms == 2000);
    lk_msg_clear(&reply);
    s_query_init(f, &query, LK_QUERY_ONCALL_OVERRIDES, NULL);
    s_ask(f, &query, &reply);
    assert_int_equal(reply.status, LK_STATUS_INVALID); /* tenant-scoped */
    lk_msg_clear(&reply);

    /* an override written again only ever ends earlier (DELETE /oncall/overrides/{id}); one
       ending where it starts was removed before it began and is never listed */
    snprintf(override.tenant_id, sizeof(override.tenant_id), "%s", TENANT_A);
    lk_uuid7(override.id);
    const int64_t ends[] = {9000, 8000, 9000, 7000};
    const int64_t listed_end[] = {9000, 8000, 8000, 0};
    for (size_t i = 0; i < 4; i++) {
        s_batch_init(&batch, 20 + i);
        override.starts_at_ms = 7000;
        override.ends_at_ms = ends[i];
        assert_int_equal(lk_msg_add_override(&batch, &override), 0);
        if (i == 2) { /* another tenant's write of the same id changes nothing */
            snprintf(override.tenant_id, sizeof(override.tenant_id), "%s", TENANT_B);
            override.ends_at_ms = 7500;
            assert_int_equal(lk_msg_add_override(&batch, &override), 0);
            snprintf(override.tenant_id, sizeof(override.tenant_id), "%s", TENANT_A);
        }
        s_apply(f, &batch);
        s_query_init(f, &query, LK_QUERY_ONCALL_OVERRIDES, TENANT_A);
        query.query.since_ms = 6500;
        s_ask_ok(f, &query, &reply);
        assert_int_equal(reply.override_count, listed_end[i] ? 1 : 0);
        if (listed_end[i])
            assert_true(reply.overrides[0].ends_at_ms == listed_end[i]);
        lk_msg_clear(&reply);
    }

    /* content both backends would refuse: an override that ends before it starts, a
       notification status that is never stored */
    s_batch_init(&batch, 9);
    lk_uuid7(override.id);
    override.starts_at_ms = 3000;
    override.ends_at_ms = 2999;
    assert_int_equal(lk_msg_add_override(&batch, &override), 0);
    s_send_batch(f, &batch);
    s_expect_ack(f, 9, LK_STATUS_INVALID);
    lk_msg_clear(&batch);
    s_batch_init(&batch, 10);
    mail.status = LK_NOTIFY_RETRY;
    assert_int_equal(lk_msg_add_notification(&batch, &mail), 0);
    s_send_batch(f, &batch);
    s_expect_ack(f, 10, LK_STATUS_INVALID);
    lk_msg_clear(&batch);
}

/* ---- incident retention (store_retention.h) ------------------------------------------- */

/* The tables that hold an incident's rows, the incident's own last. */
static const char *const S_INCIDENT_TABLES[] = {"alerts",           "escalations", "notifications",
                                                "incident_updates", "events",      "incidents"};
#define S_INCIDENT_TABLE_COUNT (sizeof(S_INCIDENT_TABLES) / sizeof(S_INCIDENT_TABLES[0]))

/* Rows of table that belong to incident id (the incident itself for "incidents"). */
static int64_t s_incident_rows(fixture_t *f, const char *table, const char *id)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE %s = '%s'", table,
             strcmp(table, "incidents") == 0 ? "id" : "incident_id", id);
    return s_db_run(f, sql, NULL);
}

/* Writes an incident as correlate, escalate and ingest would: opened at opened_at_ms with two
   alerts, an escalation step, a notification and an update, then brought to status at
   opened_at_ms + 2 (its updated_at). Each of the two batches carries one event at
   events_at_ms. */
static void s_retained_incident(fixture_t *f, const char *tenant, const char *id,
                                int64_t opened_at_ms, lk_incident_status_t status,
                                int64_t events_at_ms)
{
    lk_msg_t batch;
    s_batch_init(&batch, f->next_req++);
    lk_incident_t incident;
    s_incident(&incident, tenant, id, 1, opened_at_ms, LK_INCIDENT_TRIGGERED, LK_SEV_ERROR,
               "Retained", NULL);
    lk_alert_t alert;
    s_alert(&alert, &incident, "00000000000000b1", opened_at_ms, "host-1");
    s_add_alert(&batch, &alert);
    s_alert(&alert, &incident, "00000000000000b2", opened_at_ms, "host-2");
    s_add_alert(&batch, &alert);
    lk_event_t event;
    s_event(&event, &incident, "incident_triggered", events_at_ms);
    s_add_event(&batch, &event);
    s_add_incident(&batch, &incident);
    lk_escalation_t step;
    s_step_row(&step, tenant, id, 1, 0, "notified", opened_at_ms);
    assert_int_equal(lk_msg_add_escalation(&batch, &step), 0);
    lk_notification_t notification;
    s_notification_row(&notification, tenant, id, "ops-slack", "", LK_NOTIFY_SENT, opened_at_ms);
    assert_int_equal(lk_msg_add_notification(&batch, &notification), 0);
    lk_incident_update_t update = {.visibility = LK_UPDATE_PUBLIC, .created_at_ms = opened_at_ms};
    lk_uuid7(update.id);
    snprintf(update.tenant_id, sizeof(update.tenant_id), "%s", tenant);
    snprintf(update.incident_id, sizeof(update.incident_id), "%s", id);
    update.message = (char *)"looking into it";
    update.author = (char *)"alice";
    assert_int_equal(lk_msg_add_update(&batch, &update), 0);
    s_apply(f, &batch);

    s_batch_init(&batch, f->next_req++);
    s_incident(&incident, tenant, id, 2, opened_at_ms, status, LK_SEV_ERROR, "Retained", NULL);
    s_event(&event, &incident, "alert_resolved", events_at_ms);
    s_add_event(&batch, &event);
    s_add_incident(&batch, &incident);
    s_apply(f, &batch);
}

/* Checks that incident id has all its rows (events: with_events) or none at all, and
   whether get_incident finds it. */
static void s_check_incident_rows(fixture_t *f, const char *id, bool kept, bool with_events)
{
    const int64_t expected[S_INCIDENT_TABLE_COUNT] = {2, 1, 1, 1, 2, 1};
    for (size_t table = 0; table < S_INCIDENT_TABLE_COUNT; table++) {
        bool events = strcmp(S_INCIDENT_TABLES[table], "events") == 0;
        int64_t want = kept && (!events || with_events) ? expected[table] : 0;
        int64_t rows = s_incident_rows(f, S_INCIDENT_TABLES[table], id);
        if (rows != want)
            fail_msg("incident %s: %" PRId64 " rows in %s, expected %" PRId64, id, rows,
                     S_INCIDENT_TABLES[table], want);
    }
    bool found = false;
    const char *tenants[] = {TENANT_A, TENANT_B};
    for (size_t tenant = 0; tenant < 2; tenant++) {
        lk_msg_t reply;
        found |= s_get(f, tenants[tenant], id, &reply) == LK_STATUS_OK;
        lk_msg_clear(&reply);
    }
    assert_int_equal(found, kept);
}

/* Incident retention removes closed incidents that closed before the cutoff and have no
   events left, oldest first and limit at a time, with their alerts, escalation steps,
   notifications and updates; it leaves closed incidents that still have events, recently
   closed ones and old ones that are not closed. lookout-store runs it when
   LOOKOUT_INCIDENT_RETENTION_S is set. */
static void test_incident_retention(void **state)
{
    fixture_t *f = *state;
    const int64_t now_ms = zclock_time(), cutoff_ms = now_ms - 3600 * 1000;
    enum { EXPIRED = 3, KEPT = 4 };
    char expired[EXPIRED][LK_UUID_STR_LEN + 1], kept[KEPT][LK_UUID_STR_LEN + 1];
    char later[LK_UUID_STR_LEN + 1];
    for (int index = 0; index < EXPIRED; index++) { /* closed long ago, oldest first */
        lk_uuid7(expired[index]);
        s_retained_incident(f, index == 1 ? TENANT_B : TENANT_A, expired[index], 1000 * (index + 1),
                            LK_INCIDENT_CLOSED, 1000 * (index + 1));
    }
    for (int index = 0; index < KEPT; index++)
        lk_uuid7(kept[index]);
    lk_uuid7(later);
    s_retained_incident(f, TENANT_A, kept[0], 500, LK_INCIDENT_CLOSED, now_ms); /* events left */
    s_retained_incident(f, TENANT_A, kept[1], 500, LK_INCIDENT_RESOLVED, 500);
    s_retained_incident(f, TENANT_A, kept[2], 500, LK_INCIDENT_TRIGGERED, 500);
    /* closed two seconds ago: not past this cutoff (an hour), past the store's below (a second) */
    s_retained_incident(f, TENANT_A, later, now_ms - 2002, LK_INCIDENT_CLOSED, 500);
    /* closed a second ago, the newest event (never deleted) */
    s_retained_incident(f, TENANT_B, kept[3], now_ms - 1002, LK_INCIDENT_CLOSED, now_ms);

    /* the outbox's retention first: every old event goes, those of kept[0] and kept[3] stay */
    store_db_t *db = s_db_open(f);
    int64_t deleted = -1;
    lk_msg_t reply;
    s_events_after(f, 0, 1, &reply);
    uint64_t last_sequence = reply.last_sequence;
    lk_msg_clear(&reply);
    assert_int_equal(store_outbox_expire(db, cutoff_ms, last_sequence, 1000, &deleted),
                     STORE_DB_OK);
    assert_int_equal(deleted, 2 * (EXPIRED + 3));

    /* limit 2 of the 3: the two oldest, then the third; then nothing is left to do */
    assert_int_equal(store_incidents_expire(db, cutoff_ms, 2, &deleted), STORE_DB_OK);
    assert_int_equal(deleted, 2);
    s_check_incident_rows(f, expired[0], false, false);
    s_check_incident_rows(f, expired[1], false, false);
    s_check_incident_rows(f, expired[2], true, false);
    assert_int_equal(store_incidents_expire(db, cutoff_ms, 2, &deleted), STORE_DB_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(store_incidents_expire(db, cutoff_ms, 2, &deleted), STORE_DB_OK);
    assert_int_equal(deleted, 0);
    store_db_destroy(&db);
    s_check_incident_rows(f, expired[2], false, false);
    s_check_incident_rows(f, later, true, false);
    for (int index = 0; index < KEPT; index++)
        s_check_incident_rows(f, kept[index], true, index == 0 || index == 3);

    /* a store keeping closed incidents for a second, and events forever (the timer runs for
       the incidents' retention alone; integration_incident_retention has both on): its
       first sweep, a second after start, removes later; kept[3], closed as long ago by
       then, waits for its events */
    s_actor_stop(f);
    setenv("LOOKOUT_INCIDENT_RETENTION_S", "1", 1);
    setenv("LOOKOUT_OUTBOX_RETENTION_S", "0", 1);
    s_actor_start(f);
    unsetenv("LOOKOUT_INCIDENT_RETENTION_S");
    unsetenv("LOOKOUT_OUTBOX_RETENTION_S");
    for (int attempt = 0; s_incident_rows(f, "incidents", later) > 0; attempt++) {
        assert_true(attempt < 200);
        zclock_sleep(50);
    }
    s_check_incident_rows(f, later, false, false);
    for (int index = 0; index < KEPT; index++)
        s_check_incident_rows(f, kept[index], true, index == 0 || index == 3);
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "sqlite") && strcmp(argv[1], "postgres"))) {
        fprintf(stderr, "usage: test_store sqlite|postgres\n");
        return 2;
    }
    s_postgres = strcmp(argv[1], "postgres") == 0;
    if (s_postgres) {
        s_pg_base_url = getenv("LOOKOUT_TEST_PG_URL");
        if (!s_pg_base_url || !*s_pg_base_url) {
            fprintf(stderr, "store_postgres: FAILED: LOOKOUT_TEST_PG_URL is not set; it must "
                            "name a PostgreSQL database the test may create schemas in, e.g. "
                            "postgresql://postgres@127.0.0.1:5432/postgres\n");
            return 1;
        }
    }
    const char *level = getenv("LOOKOUT_LOG_LEVEL");
    lk_log_init("test_store", lk_log_level_parse(level ? level : "warn"));
    zsys_init();
    zsys_set_linger(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_idempotent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_apply_twice, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_apply_flood_twice, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_shared_snapshots, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_alert_other_tenant, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_version_guard, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_alert_ends, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_get_incident, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_list_incidents, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_events_query, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_outbox_cursors_and_retention, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failed_batch_isolated, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_writer_refuses_bad_content, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_skipped, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_correlation_rows, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_notify_rows, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_token_rows, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_incident_retention, s_setup, s_teardown),
    };
    /* what only the PostgreSQL backend does */
    const struct CMUnitTest postgres_tests[] = {
        cmocka_unit_test_setup_teardown(test_pg_prepared_statements, s_setup, s_teardown),
    };
    int failed = cmocka_run_group_tests_name(s_postgres ? "store_postgres" : "store_sqlite", tests,
                                             NULL, NULL);
    if (s_postgres)
        failed += cmocka_run_group_tests_name("store_postgres_backend", postgres_tests, NULL, NULL);
    return failed;
}
