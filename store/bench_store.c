/*  bench_store — throughput and commit latency of store_actor (a measurement, not a test).

        bench_store [batches [window]]      defaults: 20000 batches, window 256

    Runs store_actor in-process on a fresh SQLite file under $TMPDIR and, when
    LOOKOUT_TEST_PG_URL is set, on a fresh schema of that PostgreSQL database. Each mutation
    batch carries 1 incident (a new version of one of 1000 incidents), 1 alert and 1 new
    event. Two runs per backend:
      pipelined  up to `window` batches in flight, as a busy correlate sends them: shows
                 what group commit achieves (batches/s) and the latency under that load;
      serial     one batch at a time: the latency of a lone commit (fsync included).
    Latency is send → mutation_ack, i.e. what an alert sender waits for on top of HTTP.
*/
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

#define S_POOL 1000

static const char *S_TENANT = "aaaaaaaa-0000-4000-8000-00000000beef";

typedef struct {
    char ids[S_POOL][LK_UUID_STR_LEN + 1];
    int run;
} s_bench_t;

/* Builds batch number `number` (req = number + 1). */
static void s_batch(s_bench_t *bench, uint64_t number, lk_msg_t *batch)
{
    lk_msg_init(batch, LK_MSG_MUTATION_BATCH);
    batch->req = number + 1;
    const char *id = bench->ids[number % S_POOL];
    int64_t now = 1700000000000 + (int64_t)number;

    lk_incident_t incident;
    memset(&incident, 0, sizeof(incident));
    snprintf(incident.id, sizeof(incident.id), "%s", id);
    snprintf(incident.tenant_id, sizeof(incident.tenant_id), "%s", S_TENANT);
    incident.group_key = strdup("{}:{alertname=\"BenchAlert\"}");
    incident.title = strdup("BenchAlert");
    incident.summary = strdup("benchmark incident");
    lk_labels_set(&incident.group_labels, "alertname", "BenchAlert");
    incident.severity = LK_SEV_WARNING;
    incident.status = LK_INCIDENT_TRIGGERED;
    incident.alert_count = 1;
    incident.firing_count = 1;
    incident.version = number / S_POOL + 1;
    incident.created_at_ms = 1700000000000 + (int64_t)(number % S_POOL);
    incident.updated_at_ms = now;

    lk_alert_t alert;
    memset(&alert, 0, sizeof(alert));
    snprintf(alert.tenant_id, sizeof(alert.tenant_id), "%s", S_TENANT);
    snprintf(alert.incident_id, sizeof(alert.incident_id), "%s", id);
    snprintf(alert.fingerprint, sizeof(alert.fingerprint), "%016" PRIx64, number % S_POOL);
    alert.source = strdup("prometheus");
    alert.name = strdup("BenchAlert");
    lk_labels_set(&alert.labels, "alertname", "BenchAlert");
    lk_labels_set(&alert.labels, "instance", "host-1:9100");
    lk_labels_set(&alert.annotations, "summary", "CPU above 90% for 5 minutes");
    alert.severity = LK_SEV_WARNING;
    alert.status = LK_ALERT_FIRING;
    alert.has_value = true;
    alert.value = 0.97;
    alert.starts_at_ms = incident.created_at_ms;
    alert.updated_at_ms = now;

    lk_event_t event;
    memset(&event, 0, sizeof(event));
    lk_uuid7(event.event_id);
    snprintf(event.tenant_id, sizeof(event.tenant_id), "%s", S_TENANT);
    snprintf(event.incident_id, sizeof(event.incident_id), "%s", id);
    event.type = strdup(number < S_POOL ? "incident_triggered" : "alert_refired");
    event.actor = strdup("lookout");
    event.at_ms = now;

    if (lk_msg_add_incident(batch, &incident) || lk_msg_add_alert(batch, &alert) ||
        lk_msg_add_event(batch, &event))
        lk_fatal("bench: out of memory");
    lk_incident_clear(&incident);
    lk_alert_clear(&alert);
    lk_event_clear(&event);
}

static int s_compare(const void *left, const void *right)
{
    int64_t a = *(const int64_t *)left, b = *(const int64_t *)right;
    return (a > b) - (a < b);
}

/* Sends `count` batches with at most `window` unacknowledged; prints the figures. */
static void s_run(s_bench_t *bench, const char *label, const char *url, uint64_t count,
                  uint64_t window)
{
    char mutation[64], query[64], events[64];
    snprintf(mutation, sizeof(mutation), "inproc://bench-mut-%d", bench->run);
    snprintf(query, sizeof(query), "inproc://bench-query-%d", bench->run);
    snprintf(events, sizeof(events), "inproc://bench-events-%d", bench->run);
    bench->run++;
    store_config_t config = {.database_url = url,
                             .mutation_endpoint = mutation,
                             .query_endpoint = query,
                             .events_endpoint = events,
                             .tap_endpoint = NULL,
                             .batch_max = 256};
    zactor_t *actor = zactor_new(store_actor, &config);
    zsock_t *dealer = zsock_new_dealer(mutation);
    if (!actor || !dealer)
        lk_fatal("bench: cannot start the store actor");
    zsock_set_sndhwm(dealer, 0);
    zsock_set_rcvhwm(dealer, 0);
    zsock_set_rcvtimeo(dealer, 60000);

    int64_t *sent_us = calloc(count, sizeof(int64_t));
    int64_t *latency_us = calloc(count, sizeof(int64_t));
    if (!sent_us || !latency_us)
        lk_fatal("bench: out of memory");
    uint64_t sent = 0, acked = 0;
    int64_t start = zclock_usecs();
    while (acked < count) {
        while (sent < count && sent - acked < window) {
            lk_msg_t batch;
            s_batch(bench, sent, &batch);
            sent_us[sent] = zclock_usecs();
            if (lk_sock_send(dealer, NULL, &batch, NULL, NULL))
                lk_fatal("bench: send failed");
            lk_msg_clear(&batch);
            sent++;
        }
        lk_msg_t ack;
        if (lk_sock_recv(dealer, NULL, &ack, NULL, NULL) != 0)
            lk_fatal("bench: no ack within 60 s");
        if (ack.status != LK_STATUS_OK || ack.req != acked + 1)
            lk_fatal("bench: unexpected ack %" PRIu64 " (%s)", ack.req, lk_status_name(ack.status));
        latency_us[acked] = zclock_usecs() - sent_us[acked];
        acked++;
        lk_msg_clear(&ack);
    }
    double seconds = (double)(zclock_usecs() - start) / 1e6;
    qsort(latency_us, count, sizeof(int64_t), s_compare);
    printf("%-10s %-9s window %-4" PRIu64 " %6" PRIu64 " batches  %6.2f s  %8.0f batches/s  "
           "latency p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n",
           label, window > 1 ? "pipelined" : "serial", window, count, seconds,
           (double)count / seconds, (double)latency_us[count / 2] / 1000.0,
           (double)latency_us[(count * 99) / 100] / 1000.0, (double)latency_us[count - 1] / 1000.0);
    fflush(stdout);
    free(sent_us);
    free(latency_us);
    zsock_destroy(&dealer);
    zactor_destroy(&actor);
}

/* Runs one statement on the PostgreSQL server named by base_url. */
static void s_pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void s_pg_admin(const char *base_url, const char *sql)
{
    PGconn *conn = PQconnectdb(base_url);
    PQsetNoticeProcessor(conn, s_pg_quiet, NULL);
    PGresult *result = PQexec(conn, sql);
    if (PQresultStatus(result) != PGRES_COMMAND_OK)
        lk_fatal("bench: %s: %s", sql, PQerrorMessage(conn));
    PQclear(result);
    PQfinish(conn);
}

int main(int argc, char **argv)
{
    uint64_t count = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000;
    uint64_t window = argc > 2 ? strtoull(argv[2], NULL, 10) : 256;
    if (count == 0 || window == 0) {
        fprintf(stderr, "usage: bench_store [batches [window]]\n");
        return 2;
    }
    uint64_t serial_count = count / 10 > 0 ? count / 10 : 1;
    lk_log_init("bench_store", LK_LOG_WARN);
    zsys_init();
    s_bench_t bench = {.run = 0};
    for (int index = 0; index < S_POOL; index++)
        lk_uuid7(bench.ids[index]);

    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir;
    char dir[512], url[1024], command[1100];
    for (int round = 0; round < 2; round++) {
        snprintf(dir, sizeof(dir), "%s/bench_store_XXXXXX", tmp);
        if (!mkdtemp(dir))
            lk_fatal("bench: mkdtemp failed");
        snprintf(url, sizeof(url), "sqlite:%s/bench.db", dir);
        if (round == 0)
            s_run(&bench, "sqlite", url, count, window);
        else
            s_run(&bench, "sqlite", url, serial_count, 1);
        snprintf(command, sizeof(command), "rm -rf '%s'", dir);
        if (system(command) != 0)
            lk_warn("bench: could not remove %s", dir);
    }

    const char *pg = getenv("LOOKOUT_TEST_PG_URL");
    if (pg && *pg) {
        for (int round = 0; round < 2; round++) {
            char schema[64], sql[128];
            snprintf(schema, sizeof(schema), "bench_store_%d_%d", (int)getpid(), round);
            snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
            s_pg_admin(pg, sql);
            snprintf(url, sizeof(url), "%s%soptions=-csearch_path%%3D%s", pg,
                     strchr(pg, '?') ? "&" : "?", schema);
            if (round == 0)
                s_run(&bench, "postgresql", url, count, window);
            else
                s_run(&bench, "postgresql", url, serial_count, 1);
            snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", schema);
            s_pg_admin(pg, sql);
        }
    } else
        printf("postgresql: skipped (LOOKOUT_TEST_PG_URL not set)\n");
    return 0;
}
