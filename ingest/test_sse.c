/*  test_sse — the GET /events hub (sse.c) in-process: the real store actor (temporary SQLite
    file) and ingest over inproc://, a libcurl client in a thread of its own reading the
    stream. The test writes events to store as correlate would.

    What the integration test (tests/integration/test_sse.py) cannot arrange: a hub whose
    events PUB announces nothing (LOOKOUT_STORE_EVENTS_ENDPOINT names an endpoint nobody
    binds), so every event is one whose announcement was "dropped". The hub must still deliver
    them, through its outbox-head check at each heartbeat, in order and only to their tenant.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <czmq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest.h"
#include "lk_log.h"
#include "lk_msg.h"
#include "lk_sock.h"
#include "lk_time.h"
#include "lk_uuid.h"
#include "store.h"
#include "lk_testing.h"

#define TENANT_A      "11111111-1111-4111-8111-111111111111"
#define TENANT_B      "22222222-2222-4222-8222-222222222222"
#define SERVICE_TOKEN "sse-test-service-token-0123456789"
#define WAIT_MS       20000

typedef struct {
    char directory[512];
    char database_url[600];
    store_config_t store_config;
    zactor_t *store;
    zsock_t *writer; /* DEALER to store mutations */
    ingest_config_t ingest_config;
    zactor_t *ingest;
    int port;
    uint64_t req;
} s_fixture_t;

/* A stream read by libcurl in a thread: the bytes so far, under a lock. */
typedef struct {
    char url[256];
    pthread_t thread;
    pthread_mutex_t lock;
    char *text;
    size_t size;
    bool stop;
    long status;
} s_stream_t;

static size_t s_on_data(char *data, size_t size, size_t count, void *user)
{
    s_stream_t *stream = user;
    pthread_mutex_lock(&stream->lock);
    bool stop = stream->stop;
    if (!stop) {
        char *grown = realloc(stream->text, stream->size + size * count + 1);
        assert_non_null(grown);
        memcpy(grown + stream->size, data, size * count);
        stream->size += size * count;
        grown[stream->size] = '\0';
        stream->text = grown;
    }
    pthread_mutex_unlock(&stream->lock);
    return stop ? 0 : size * count; /* 0 ends the transfer */
}

static void *s_stream_run(void *args)
{
    s_stream_t *stream = args;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Authorization: Bearer " SERVICE_TOKEN);
    headers = curl_slist_append(headers, "X-Tenant-ID: " TENANT_A);
    curl_easy_setopt(curl, CURLOPT_URL, stream->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, stream);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(3 * WAIT_MS));
    curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &stream->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return NULL;
}

static void s_stream_open(s_stream_t *stream, int port, const char *path)
{
    memset(stream, 0, sizeof *stream);
    snprintf(stream->url, sizeof stream->url, "http://127.0.0.1:%d%s", port, path);
    pthread_mutex_init(&stream->lock, NULL);
    assert_int_equal(pthread_create(&stream->thread, NULL, s_stream_run, stream), 0);
}

/* Waits until the stream's text contains needle; fails after WAIT_MS. */
static void s_stream_wait(s_stream_t *stream, const char *needle)
{
    int64_t deadline = lk_mono_ms() + WAIT_MS;
    while (true) {
        pthread_mutex_lock(&stream->lock);
        bool found = stream->text && strstr(stream->text, needle);
        pthread_mutex_unlock(&stream->lock);
        if (found)
            return;
        if (lk_mono_ms() > deadline)
            fail_msg("the stream never showed \"%s\"", needle);
        zclock_sleep(20);
    }
}

/* Stops the stream (at its next bytes: a heartbeat at the latest) and frees it. */
static void s_stream_close(s_stream_t *stream)
{
    pthread_mutex_lock(&stream->lock);
    stream->stop = true;
    pthread_mutex_unlock(&stream->lock);
    pthread_join(stream->thread, NULL);
    pthread_mutex_destroy(&stream->lock);
    free(stream->text);
}

/* Writes one incident of tenant with one event of type (its version), as correlate would;
   returns after store acknowledged it. */
static void s_write_event(s_fixture_t *fixture, lk_incident_t *incident, const char *type)
{
    incident->version++;
    incident->updated_at_ms = lk_now_ms();
    lk_msg_t batch, ack;
    lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
    batch.req = ++fixture->req;
    lk_event_t event;
    memset(&event, 0, sizeof event);
    lk_uuid7(event.event_id);
    strcpy(event.tenant_id, incident->tenant_id);
    strcpy(event.incident_id, incident->id);
    event.type = strdup(type);
    event.actor = strdup("lookout");
    event.at_ms = lk_now_ms();
    assert_int_equal(lk_msg_add_incident(&batch, incident), 0);
    assert_int_equal(lk_msg_add_event(&batch, &event), 0);
    lk_event_clear(&event);
    assert_int_equal(lk_sock_send(fixture->writer, NULL, &batch, NULL, NULL), 0);
    assert_int_equal(lk_sock_recv(fixture->writer, NULL, &ack, NULL, NULL), 0);
    assert_int_equal(ack.status, LK_STATUS_OK);
    lk_msg_clear(&ack);
    lk_msg_clear(&batch);
}

static void s_incident_init(lk_incident_t *incident, const char *tenant, const char *name)
{
    memset(incident, 0, sizeof *incident);
    lk_uuid7(incident->id);
    strcpy(incident->tenant_id, tenant);
    incident->group_key = strdup(name);
    incident->title = strdup(name);
    incident->summary = strdup(name);
    incident->severity = LK_SEV_ERROR;
    incident->created_at_ms = lk_now_ms();
}

static int s_setup(void **state)
{
    s_fixture_t *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    const char *tmp = getenv("TMPDIR");
    snprintf(fixture->directory, sizeof fixture->directory, "%s/lookout-sse-test-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(fixture->directory));
    snprintf(fixture->database_url, sizeof fixture->database_url, "sqlite:%s/" LK_TESTING_DB,
             fixture->directory);
    fixture->store_config.database_url = fixture->database_url;
    fixture->store_config.mutation_endpoint = "inproc://sse-test-mutations";
    fixture->store_config.query_endpoint = "inproc://sse-test-queries";
    fixture->store_config.events_endpoint = "inproc://sse-test-events";
    fixture->store_config.batch_max = 16;
    fixture->store = zactor_new(store_actor, &fixture->store_config);
    assert_non_null(fixture->store);
    fixture->writer = lk_sock_new(ZMQ_DEALER, "inproc://sse-test-mutations");
    assert_non_null(fixture->writer);
    zsock_set_rcvtimeo(fixture->writer, WAIT_MS);

    /* the hub listens where nobody publishes; heartbeats (and head checks) every second */
    setenv("LOOKOUT_STORE_EVENTS_ENDPOINT", "inproc://sse-test-nobody-publishes", 1);
    setenv("LOOKOUT_SSE_HEARTBEAT_S", "1", 1);
    ingest_config_t *config = &fixture->ingest_config;
    config->http_address = "127.0.0.1";
    config->http_threads = 2;
    config->correlate_endpoint = "inproc://sse-test-nobody-correlates";
    config->store_query_endpoint = "inproc://sse-test-queries";
    config->request_timeout_ms = 2000;
    config->max_body_bytes = 65536;
    config->max_batch = 10;
    config->service_token = strdup(SERVICE_TOKEN);
    fixture->ingest = zactor_new(ingest_actor, config);
    assert_non_null(fixture->ingest);
    unsetenv("LOOKOUT_STORE_EVENTS_ENDPOINT");
    unsetenv("LOOKOUT_SSE_HEARTBEAT_S");
    zstr_send(fixture->ingest, "PORT");
    char *port = zstr_recv(fixture->ingest);
    fixture->port = atoi(port);
    zstr_free(&port);
    assert_true(fixture->port > 0);
    *state = fixture;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *fixture = *state;
    zactor_destroy(&fixture->ingest);
    ingest_config_clear(&fixture->ingest_config);
    zsock_destroy(&fixture->writer);
    zactor_destroy(&fixture->store);
    lk_testing_remove_db_dir(fixture->directory);
    free(fixture);
    return 0;
}

/* A live stream whose events were never announced gets them all the same, in order, and
   only its tenant's. */
static void test_unannounced_events_arrive(void **state)
{
    s_fixture_t *fixture = *state;
    lk_incident_t a, b;
    s_incident_init(&a, TENANT_A, "DiskFull");
    s_incident_init(&b, TENANT_B, "Secret");
    s_write_event(fixture, &a, "incident_triggered"); /* 1: before the stream: not shown */

    s_stream_t stream;
    s_stream_open(&stream, fixture->port, "/events");
    s_stream_wait(&stream, ": keepalive");               /* it is live (from now) */
    s_write_event(fixture, &b, "incident_triggered");    /* 2 */
    s_write_event(fixture, &a, "incident_acknowledged"); /* 3 */
    s_write_event(fixture, &a, "incident_resolved");     /* 4 */
    s_stream_wait(&stream, "id: 4\n");
    pthread_mutex_lock(&stream.lock);
    const char *three = strstr(stream.text, "id: 3\nevent: incident_acknowledged\ndata: {");
    const char *four = strstr(stream.text, "id: 4\nevent: incident_resolved\ndata: {");
    assert_non_null(three);
    assert_non_null(four);
    assert_true(three < four);
    assert_null(strstr(stream.text, "id: 1\n"));
    assert_null(strstr(stream.text, "id: 2\n"));
    assert_null(strstr(stream.text, TENANT_B));
    assert_null(strstr(stream.text, "Secret"));
    pthread_mutex_unlock(&stream.lock);
    s_stream_close(&stream);
    assert_int_equal(stream.status, 200);

    /* a resumed stream replays from the outbox: 3 and 4 after 1 */
    s_stream_open(&stream, fixture->port, "/events?since=1");
    s_stream_wait(&stream, "id: 4\n");
    pthread_mutex_lock(&stream.lock);
    assert_non_null(strstr(stream.text, "id: 3\n"));
    assert_null(strstr(stream.text, "id: 2\n"));
    pthread_mutex_unlock(&stream.lock);
    s_stream_close(&stream);
    lk_incident_clear(&a);
    lk_incident_clear(&b);
}

int main(void)
{
    lk_log_init("test_sse", LK_LOG_WARN);
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unannounced_events_arrive, s_setup, s_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
