/*  test_store_status — incident updates and the status_page query (store_status.h), run
    against one backend per invocation, like test_store:
        test_store_status sqlite      a fresh SQLite file under $TMPDIR per test
        test_store_status postgres    a fresh schema per test in LOOKOUT_TEST_PG_URL (required)
    The socket-free cores are driven directly: store_writer_apply for mutation batches and
    store_query_answer for queries, on one migrated connection.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_log.h"
#include "lk_msg.h"
#include "lk_time.h"
#include "lk_uuid.h"
#include "store_db.h"
#include "store_query.h"
#include "store_status.h"
#include "store_writer.h"

static bool s_postgres;
static const char *s_pg_base_url;
static int s_counter;

static const char *TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a";
static const char *TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b";
#define DAY_MS   (24LL * 3600 * 1000)
#define NOW_MS   (1750000000000LL)
#define SINCE_MS (NOW_MS - 90 * DAY_MS)

typedef struct {
    char url[2048];
    char sqlite_dir[512];
    char pg_schema[64];
    store_db_t *db;
    store_writer_t *writer;
    uint64_t req;
} fixture_t;

/* ---- database lifecycle ------------------------------------------------------------------ */

static void s_pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

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

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    s_counter++;
    if (s_postgres) {
        snprintf(f->pg_schema, sizeof f->pg_schema, "store_status_%d_%d", (int)getpid(), s_counter);
        char sql[256];
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s", f->pg_schema);
        s_pg_admin(sql);
        snprintf(f->url, sizeof f->url, "%s%soptions=-csearch_path%%3D%s", s_pg_base_url,
                 strchr(s_pg_base_url, '?') ? "&" : "?", f->pg_schema);
    } else {
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
        snprintf(f->sqlite_dir, sizeof f->sqlite_dir, "%s/store_status_XXXXXX", tmp);
        assert_non_null(mkdtemp(f->sqlite_dir));
        snprintf(f->url, sizeof f->url, "sqlite:%s/lookout.db", f->sqlite_dir);
    }
    char err[512];
    f->db = store_db_open(f->url, false, err, sizeof err);
    if (!f->db)
        fail_msg("open: %s", err);
    assert_int_equal(store_db_migrate(f->db), STORE_DB_OK);
    int rc;
    f->writer = store_writer_new(f->db, &rc);
    assert_non_null(f->writer);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    store_writer_destroy(&f->writer);
    store_db_destroy(&f->db);
    if (s_postgres) {
        char sql[256];
        snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", f->pg_schema);
        s_pg_admin(sql);
    } else {
        char command[1024];
        snprintf(command, sizeof command, "rm -rf '%s'", f->sqlite_dir);
        assert_int_equal(system(command), 0);
    }
    free(f);
    return 0;
}

/* ---- building batches -------------------------------------------------------------------- */

static void s_incident(lk_incident_t *incident, const char *tenant, lk_severity_t severity,
                       lk_incident_status_t status, int64_t created_at, int64_t resolved_at)
{
    memset(incident, 0, sizeof *incident);
    lk_uuid7(incident->id);
    snprintf(incident->tenant_id, sizeof incident->tenant_id, "%s", tenant);
    incident->group_key = strdup("{}:{alertname=\"X\"}");
    incident->title = strdup("X");
    incident->summary = strdup("X happened");
    assert_int_equal(lk_labels_set(&incident->group_labels, "alertname", "X"), 0);
    incident->severity = severity;
    incident->status = status;
    incident->alert_count = 1;
    incident->version = 1;
    incident->created_at_ms = created_at;
    incident->updated_at_ms = resolved_at ? resolved_at : created_at;
    incident->resolved_at_ms = resolved_at;
}

static void s_event(lk_event_t *event, const lk_incident_t *incident, const char *type,
                    const char *note)
{
    memset(event, 0, sizeof *event);
    lk_uuid7(event->event_id);
    snprintf(event->tenant_id, sizeof event->tenant_id, "%s", incident->tenant_id);
    snprintf(event->incident_id, sizeof event->incident_id, "%s", incident->id);
    event->type = strdup(type);
    event->actor = strdup("alice");
    event->note = note ? strdup(note) : NULL;
    event->at_ms = incident->updated_at_ms;
}

/* Applies one batch alone; returns its status. */
static lk_status_t s_apply(fixture_t *f, lk_msg_t *batch)
{
    store_writer_item_t item;
    memset(&item, 0, sizeof item);
    item.msg = *batch;
    item.msg.req = ++f->req;
    assert_int_equal(store_writer_apply(f->writer, &item, 1), STORE_DB_OK);
    *batch = item.msg; /* the writer may have normalised it in place */
    return item.status;
}

/* Stores an incident (with its triggered event and one alert of these labels). */
static void s_store_incident(fixture_t *f, const lk_incident_t *incident, const char *service)
{
    lk_msg_t batch;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    assert_int_equal(lk_msg_add_incident(&batch, incident), 0);
    lk_alert_t alert;
    memset(&alert, 0, sizeof alert);
    snprintf(alert.tenant_id, sizeof alert.tenant_id, "%s", incident->tenant_id);
    snprintf(alert.incident_id, sizeof alert.incident_id, "%s", incident->id);
    snprintf(alert.fingerprint, sizeof alert.fingerprint, "%016llx",
             (unsigned long long)(s_counter * 1000 + (int)f->req));
    alert.source = strdup("api");
    alert.name = strdup("X");
    assert_int_equal(lk_labels_set(&alert.labels, "alertname", "X"), 0);
    assert_int_equal(lk_labels_set(&alert.labels, "service", service), 0);
    alert.severity = incident->severity;
    alert.starts_at_ms = incident->created_at_ms;
    alert.updated_at_ms = incident->updated_at_ms;
    assert_int_equal(lk_msg_add_alert(&batch, &alert), 0);
    lk_alert_clear(&alert);
    lk_event_t event;
    s_event(&event, incident, "incident_triggered", NULL);
    assert_int_equal(lk_msg_add_event(&batch, &event), 0);
    lk_event_clear(&event);
    assert_int_equal(s_apply(f, &batch), LK_STATUS_OK);
    lk_msg_clear(&batch);
}

static void s_update(lk_incident_update_t *update, const lk_incident_t *incident,
                     const char *tenant, const char *message, lk_update_visibility_t visibility,
                     lk_incident_stage_t stage, int64_t at)
{
    memset(update, 0, sizeof *update);
    lk_uuid7(update->id);
    snprintf(update->tenant_id, sizeof update->tenant_id, "%s", tenant);
    snprintf(update->incident_id, sizeof update->incident_id, "%s", incident->id);
    update->message = strdup(message);
    update->visibility = visibility;
    update->stage = stage;
    update->author = strdup("alice");
    update->created_at_ms = at;
}

/* A batch as ingest sends it: updates[1] and its incident_update_posted event. */
static lk_status_t s_post_update(fixture_t *f, const lk_incident_update_t *update,
                                 const lk_incident_t *incident, bool with_event)
{
    lk_msg_t batch;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    assert_int_equal(lk_msg_add_update(&batch, update), 0);
    if (with_event) {
        lk_event_t event;
        s_event(&event, incident, "incident_update_posted", update->message);
        snprintf(event.tenant_id, sizeof event.tenant_id, "%s", update->tenant_id);
        assert_int_equal(lk_msg_add_event(&batch, &event), 0);
        lk_event_clear(&event);
    }
    /* encode and decode, as it travels */
    char *data;
    size_t size;
    assert_int_equal(lk_msg_encode(&batch, &data, &size), 0);
    lk_msg_clear(&batch);
    char err[256];
    assert_int_equal(lk_msg_decode(data, size, &batch, err, sizeof err), 0);
    free(data);
    lk_status_t status = s_apply(f, &batch);
    lk_msg_clear(&batch);
    return status;
}

static void s_query(fixture_t *f, lk_msg_t *request, lk_msg_t *reply)
{
    request->req = ++f->req;
    assert_int_equal(store_query_answer(f->db, request, reply), STORE_DB_OK);
    /* and through the codec, as ingest receives it */
    char *data;
    size_t size;
    assert_int_equal(lk_msg_encode(reply, &data, &size), 0);
    lk_msg_clear(reply);
    char err[256];
    if (lk_msg_decode(data, size, reply, err, sizeof err) != 0)
        fail_msg("reply does not decode: %s", err);
    free(data);
}

static void s_get_incident(fixture_t *f, const char *tenant, const char *id, lk_msg_t *reply)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant);
    request.query.kind = LK_QUERY_GET_INCIDENT;
    snprintf(request.query.incident_id, sizeof request.query.incident_id, "%s", id);
    s_query(f, &request, reply);
    lk_msg_clear(&request);
}

static void s_status_page(fixture_t *f, const char *tenant, int64_t since, uint32_t limit,
                          lk_msg_t *reply)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    snprintf(request.tenant_id, sizeof request.tenant_id, "%s", tenant);
    request.query.kind = LK_QUERY_STATUS_PAGE;
    request.query.since_ms = since;
    request.query.limit = limit;
    s_query(f, &request, reply);
    lk_msg_clear(&request);
}

/* ---- tests ------------------------------------------------------------------------------- */

/* An update is stored once (re-sent batches change nothing), with every field, and
   get_incident lists every visibility oldest first. */
static void test_updates_stored_once(void **state)
{
    fixture_t *f = *state;
    lk_incident_t incident;
    s_incident(&incident, TENANT_A, LK_SEV_CRITICAL, LK_INCIDENT_TRIGGERED, NOW_MS - 1000, 0);
    s_store_incident(f, &incident, "api");

    lk_incident_update_t first, second;
    s_update(&first, &incident, TENANT_A, "We are looking into it", LK_UPDATE_PUBLIC,
             LK_STAGE_INVESTIGATING, NOW_MS - 500);
    first.title = strdup("API errors");
    s_update(&second, &incident, TENANT_A, "db-7 is out of disk", LK_UPDATE_PRIVATE, LK_STAGE_NONE,
             NOW_MS - 400);
    assert_int_equal(s_post_update(f, &first, &incident, true), LK_STATUS_OK);
    assert_int_equal(s_post_update(f, &first, &incident, true), LK_STATUS_OK); /* re-sent */
    assert_int_equal(s_post_update(f, &second, &incident, true), LK_STATUS_OK);

    lk_msg_t reply;
    s_get_incident(f, TENANT_A, incident.id, &reply);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.update_count, 2);
    const lk_incident_update_t *got = &reply.updates[0];
    assert_string_equal(got->id, first.id);
    assert_string_equal(got->incident_id, incident.id);
    assert_string_equal(got->tenant_id, TENANT_A);
    assert_string_equal(got->message, "We are looking into it");
    assert_int_equal(got->visibility, LK_UPDATE_PUBLIC);
    assert_int_equal(got->stage, LK_STAGE_INVESTIGATING);
    assert_string_equal(got->title, "API errors");
    assert_string_equal(got->author, "alice");
    assert_true(got->created_at_ms == NOW_MS - 500);
    assert_int_equal(reply.updates[1].visibility, LK_UPDATE_PRIVATE);
    assert_int_equal(reply.updates[1].stage, LK_STAGE_NONE);
    assert_null(reply.updates[1].title);
    /* the timeline carries the update events (one per distinct event id) */
    size_t posted = 0;
    for (size_t i = 0; i < reply.event_count; i++)
        posted += strcmp(reply.events[i].type, "incident_update_posted") == 0;
    assert_int_equal(posted, 3);
    lk_msg_clear(&reply);

    /* another tenant sees no such incident */
    s_get_incident(f, TENANT_B, incident.id, &reply);
    assert_int_equal(reply.status, LK_STATUS_NOT_FOUND);
    assert_int_equal(reply.update_count, 0);
    lk_msg_clear(&reply);
    lk_incident_update_clear(&first);
    lk_incident_update_clear(&second);
    lk_incident_clear(&incident);
}

/* An update naming another tenant's incident is never stored: with its event the batch is
   refused, without it the insert finds no incident of that tenant. */
static void test_update_other_tenant(void **state)
{
    fixture_t *f = *state;
    lk_incident_t incident;
    s_incident(&incident, TENANT_A, LK_SEV_ERROR, LK_INCIDENT_TRIGGERED, NOW_MS - 1000, 0);
    s_store_incident(f, &incident, "api");
    lk_incident_update_t update;
    s_update(&update, &incident, TENANT_B, "not yours", LK_UPDATE_PUBLIC, LK_STAGE_NONE, NOW_MS);
    assert_int_equal(s_post_update(f, &update, &incident, true), LK_STATUS_ERROR);
    assert_int_equal(s_post_update(f, &update, &incident, false), LK_STATUS_OK);
    lk_msg_t reply;
    s_get_incident(f, TENANT_A, incident.id, &reply);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.update_count, 0);
    lk_msg_clear(&reply);

    /* content the database would refuse is invalid */
    lk_incident_update_t empty;
    s_update(&empty, &incident, TENANT_A, "", LK_UPDATE_PUBLIC, LK_STAGE_NONE, NOW_MS);
    assert_int_equal(s_post_update(f, &empty, &incident, false), LK_STATUS_INVALID);
    lk_incident_update_clear(&empty);
    lk_incident_update_clear(&update);
    lk_incident_clear(&incident);
}

/* status_page reads the window's incidents of the tenant, their alerts' label sets, their
   public updates only, and the tenant's pending and active silences. */
static void test_status_page_query(void **state)
{
    fixture_t *f = *state;
    lk_incident_t open, recent, old, other, reopened;
    s_incident(&open, TENANT_A, LK_SEV_CRITICAL, LK_INCIDENT_ACKNOWLEDGED, NOW_MS - DAY_MS, 0);
    s_incident(&recent, TENANT_A, LK_SEV_ERROR, LK_INCIDENT_CLOSED, NOW_MS - 10 * DAY_MS,
               NOW_MS - 9 * DAY_MS);
    s_incident(&old, TENANT_A, LK_SEV_CRITICAL, LK_INCIDENT_CLOSED, NOW_MS - 100 * DAY_MS,
               NOW_MS - 95 * DAY_MS);
    s_incident(&other, TENANT_B, LK_SEV_CRITICAL, LK_INCIDENT_TRIGGERED, NOW_MS - DAY_MS, 0);
    /* opened before the window, resolved inside it: it belongs */
    s_incident(&reopened, TENANT_A, LK_SEV_WARNING, LK_INCIDENT_RESOLVED, NOW_MS - 120 * DAY_MS,
               NOW_MS - 80 * DAY_MS);
    s_store_incident(f, &open, "api");
    s_store_incident(f, &recent, "web");
    s_store_incident(f, &old, "api");
    s_store_incident(f, &other, "api");
    s_store_incident(f, &reopened, "web");

    lk_incident_update_t public_update, private_update, other_update;
    s_update(&public_update, &open, TENANT_A, "Investigating", LK_UPDATE_PUBLIC,
             LK_STAGE_INVESTIGATING, NOW_MS - 100);
    s_update(&private_update, &open, TENANT_A, "secret", LK_UPDATE_PRIVATE, LK_STAGE_NONE,
             NOW_MS - 50);
    s_update(&other_update, &other, TENANT_B, "B's", LK_UPDATE_PUBLIC, LK_STAGE_NONE, NOW_MS);
    assert_int_equal(s_post_update(f, &public_update, &open, true), LK_STATUS_OK);
    assert_int_equal(s_post_update(f, &private_update, &open, true), LK_STATUS_OK);
    assert_int_equal(s_post_update(f, &other_update, &other, true), LK_STATUS_OK);

    /* silences: one active, one pending, one expired; and one of tenant B */
    lk_msg_t batch;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    int64_t now = lk_now_ms();
    const struct {
        const char *tenant;
        int64_t starts, ends;
    } windows[] = {{TENANT_A, now - 1000, now + 3600000},
                   {TENANT_A, now + 3600000, now + 7200000},
                   {TENANT_A, now - 7200000, now - 3600000},
                   {TENANT_B, now - 1000, now + 3600000}};
    for (size_t i = 0; i < 4; i++) {
        lk_silence_t silence;
        memset(&silence, 0, sizeof silence);
        lk_uuid7(silence.id);
        snprintf(silence.tenant_id, sizeof silence.tenant_id, "%s", windows[i].tenant);
        lk_matcher_t matcher = {.name = "service", .value = "api", .is_equal = true};
        silence.matchers = &matcher;
        silence.matcher_count = 1;
        silence.starts_at_ms = windows[i].starts;
        silence.ends_at_ms = windows[i].ends;
        silence.created_by = "alice";
        silence.comment = "maintenance";
        silence.created_at_ms = silence.updated_at_ms = now;
        assert_int_equal(lk_msg_add_silence(&batch, &silence), 0);
    }
    assert_int_equal(s_apply(f, &batch), LK_STATUS_OK);
    lk_msg_clear(&batch);

    lk_msg_t reply;
    s_status_page(f, TENANT_A, SINCE_MS, 0, &reply);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.incident_count, 3); /* open, recent, reopened: newest first */
    assert_string_equal(reply.incidents[0].id, open.id);
    assert_string_equal(reply.incidents[1].id, recent.id);
    assert_string_equal(reply.incidents[2].id, reopened.id);
    assert_int_equal(reply.alert_count, 3);
    for (size_t i = 0; i < reply.alert_count; i++) {
        const char *service = lk_labels_get(&reply.alerts[i].labels, "service");
        assert_non_null(service);
        if (strcmp(reply.alerts[i].incident_id, open.id) == 0)
            assert_string_equal(service, "api");
        else
            assert_string_equal(service, "web");
    }
    assert_int_equal(reply.update_count, 1);
    assert_string_equal(reply.updates[0].message, "Investigating");
    assert_int_equal(reply.silence_count, 2);
    for (size_t i = 0; i < reply.silence_count; i++) {
        assert_string_equal(reply.silences[i].tenant_id, TENANT_A);
        assert_true(reply.silences[i].ends_at_ms > now);
    }
    lk_msg_clear(&reply);

    /* limit keeps the newest */
    s_status_page(f, TENANT_A, SINCE_MS, 1, &reply);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.incident_count, 1);
    assert_string_equal(reply.incidents[0].id, open.id);
    lk_msg_clear(&reply);

    /* a tenant with nothing */
    s_status_page(f, "cccccccc-0000-4000-8000-00000000000c", SINCE_MS, 0, &reply);
    assert_int_equal(reply.status, LK_STATUS_OK);
    assert_int_equal(reply.incident_count + reply.alert_count + reply.update_count, 0);
    lk_msg_clear(&reply);

    /* bad requests */
    s_status_page(f, "not-a-tenant", SINCE_MS, 0, &reply);
    assert_int_equal(reply.status, LK_STATUS_INVALID);
    lk_msg_clear(&reply);
    s_status_page(f, TENANT_A, 0, 0, &reply);
    assert_int_equal(reply.status, LK_STATUS_INVALID);
    lk_msg_clear(&reply);

    lk_incident_update_clear(&public_update);
    lk_incident_update_clear(&private_update);
    lk_incident_update_clear(&other_update);
    lk_incident_clear(&open);
    lk_incident_clear(&recent);
    lk_incident_clear(&old);
    lk_incident_clear(&other);
    lk_incident_clear(&reopened);
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "sqlite") && strcmp(argv[1], "postgres"))) {
        fprintf(stderr, "usage: test_store_status sqlite|postgres\n");
        return 2;
    }
    s_postgres = strcmp(argv[1], "postgres") == 0;
    if (s_postgres) {
        s_pg_base_url = getenv("LOOKOUT_TEST_PG_URL");
        if (!s_pg_base_url || !*s_pg_base_url) {
            fprintf(stderr, "store_status_postgres: FAILED: LOOKOUT_TEST_PG_URL is not set\n");
            return 1;
        }
    }
    const char *level = getenv("LOOKOUT_LOG_LEVEL");
    lk_log_init("test_store_status", lk_log_level_parse(level ? level : "error"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_updates_stored_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_update_other_tenant, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_status_page_query, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name(s_postgres ? "store_status_postgres" : "store_status_sqlite",
                                       tests, NULL, NULL);
}
