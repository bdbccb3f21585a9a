/*  test_publish — lookout-publish against the real store actor (SQLite in a temporary
    directory) and a Kafka cluster from librdkafka's mock-cluster API running in a process of
    its own (mock_kafka), read back with a librdkafka consumer.

        test_publish PATH/lookout-publish PATH/mock_kafka

    The test plays correlate: it writes mutation batches (incidents + events) to store and
    waits for their acks, so it knows every event and, store being the only numberer, its
    sequence. Then it checks what reached Kafka: every event, in order per incident, with the
    exact shapes and headers, despite injected produce errors, brokers going down, and the
    publisher process being SIGKILLed. It prints the publishing rate it measured.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lk_log.h"
#include "lk_msg.h"
#include "lk_sock.h"
#include "lk_time.h"
#include "lk_uuid.h"
#include "publish.h"
#include "publish_format.h"
#include "store.h"
#include "lk_testing.h"

#define TENANT_A       "00000000-0000-0000-0000-0000000000aa"
#define TENANT_B       "00000000-0000-0000-0000-0000000000bb"
#define INCIDENTS      5 /* events go round-robin over these; a batch holds one of each */
#define INCIDENT_TOPIC "lookout.incidents"
#define SERVICE_TOPIC  "service_events"
#define INCIDENT_PARTS 4
#define SERVICE_PARTS  3
#define WAIT_MS        60000 /* generous: the machine may be busy */
#define CHILD_WINDOW   300   /* LOOKOUT_PUBLISH_WINDOW of the child publisher */

static const char *s_publish_path;
static const char *s_mock_path;

/* What the test wrote: event k has sequence k + 1. */
typedef struct {
    char event_id[LK_UUID_STR_LEN + 1];
    char incident_id[LK_UUID_STR_LEN + 1];
    char tenant_id[LK_UUID_STR_LEN + 1];
    char type[32];
} s_expected_t;

/* One message read back from Kafka. */
typedef struct {
    bool service; /* service_events, else lookout.incidents */
    int partition;
    int64_t offset;
    char *key;
    json_t *value;
    char *headers[4]; /* source, event_type, event_id, tenant_id */
} s_received_t;

typedef struct {
    char dir[256];
    char database_url[300];
    char endpoints[3][64]; /* mutations, queries, events */
    store_config_t store_config;
    zactor_t *store;
    zsock_t *writer; /* DEALER to store mutations: plays correlate */
    zsock_t *reader; /* DEALER to store queries */
    uint64_t req;

    pid_t mock_pid;
    FILE *mock_in, *mock_out;
    char bootstrap[512];

    publish_config_t config;
    zactor_t *publisher; /* in-process */
    pid_t child;         /* or a lookout-publish process */

    lk_incident_t incidents[INCIDENTS];
    s_expected_t *expected;
    size_t expected_count, expected_capacity;

    rd_kafka_t *consumer;
    s_received_t *received;
    size_t received_count, received_capacity;
} s_fixture_t;

/* ---- mock_kafka ------------------------------------------------------------------------ */

/* Sends one command line to mock_kafka and expects "ok". */
static void s_mock(s_fixture_t *fixture, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vfprintf(fixture->mock_in, format, args);
    va_end(args);
    fputc('\n', fixture->mock_in);
    fflush(fixture->mock_in);
    char answer[256] = "";
    assert_non_null(fgets(answer, sizeof answer, fixture->mock_out));
    if (strncmp(answer, "ok", 2) != 0)
        fail_msg("mock_kafka: %s", answer);
}

static void s_mock_start(s_fixture_t *fixture)
{
    int to_child[2], from_child[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(from_child), 0);
    fixture->mock_pid = fork();
    assert_true(fixture->mock_pid >= 0);
    if (fixture->mock_pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        close(to_child[1]);
        close(from_child[0]);
        execl(s_mock_path, "mock_kafka", "3", (char *)NULL);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    fixture->mock_in = fdopen(to_child[1], "w");
    fixture->mock_out = fdopen(from_child[0], "r");
    assert_non_null(fgets(fixture->bootstrap, sizeof fixture->bootstrap, fixture->mock_out));
    fixture->bootstrap[strcspn(fixture->bootstrap, "\n")] = '\0';
    assert_non_null(strchr(fixture->bootstrap, ':'));
    s_mock(fixture, "topic %s %d 3", INCIDENT_TOPIC, INCIDENT_PARTS);
    s_mock(fixture, "topic %s %d 3", SERVICE_TOPIC, SERVICE_PARTS);
}

static void s_mock_stop(s_fixture_t *fixture)
{
    fclose(fixture->mock_in); /* mock_kafka exits when its stdin closes */
    fclose(fixture->mock_out);
    int status;
    waitpid(fixture->mock_pid, &status, 0);
}

/* ---- store ----------------------------------------------------------------------------- */

/* TCP endpoints on ports free right now: the child publisher must reach them. */
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

/* Sends request on sock and receives its reply (matching req); fails the test on timeout. */
static void s_roundtrip(zsock_t *sock, lk_msg_t *request, lk_msg_t *reply)
{
    int64_t deadline_ms = lk_mono_ms() + WAIT_MS;
    while (lk_sock_send(sock, NULL, request, NULL, NULL) != 0) {
        assert_true(lk_mono_ms() < deadline_ms);
        zclock_sleep(20);
    }
    for (;;) {
        assert_int_equal(lk_sock_recv(sock, NULL, reply, NULL, NULL), 0);
        if (reply->req == request->req)
            return;
        lk_msg_clear(reply);
    }
}

/* The publisher's committed cursor, or 0 when none. */
static uint64_t s_cursor(s_fixture_t *fixture)
{
    lk_msg_t request, reply;
    lk_msg_init(&request, LK_MSG_QUERY);
    request.req = ++fixture->req;
    request.query.kind = LK_QUERY_CURSOR_GET;
    request.query.consumer = strdup("publish");
    s_roundtrip(fixture->reader, &request, &reply);
    assert_true(reply.status == LK_STATUS_OK || reply.status == LK_STATUS_NOT_FOUND);
    uint64_t cursor = reply.sequence;
    lk_msg_clear(&request);
    lk_msg_clear(&reply);
    return cursor;
}

static const char *s_lifecycle[] = {"alert_added",       "incident_acknowledged",
                                    "alert_resolved",    "incident_resolved",
                                    "incident_reopened", "incident_escalated"};

/* Writes count events to store as correlate would (batches of one event per incident, each
   with the incident's new absolute state) and waits for every ack. at_ms 0 = now. */
static void s_emit_at(s_fixture_t *fixture, size_t count, int64_t at_ms)
{
    while (count > 0) {
        lk_msg_t batch, ack;
        lk_msg_init(&batch, LK_MSG_MUTATION_BATCH);
        batch.req = ++fixture->req;
        for (int slot = 0; slot < INCIDENTS && count > 0; slot++, count--) {
            size_t k = fixture->expected_count;
            lk_incident_t *incident = &fixture->incidents[k % INCIDENTS];
            const char *type =
                incident->version == 0 ? "incident_triggered" : s_lifecycle[(k / INCIDENTS) % 6];
            int64_t now = at_ms ? at_ms : lk_now_ms();
            incident->version++;
            incident->updated_at_ms = now;
            incident->alert_count = (uint32_t)incident->version;
            lk_event_t event;
            memset(&event, 0, sizeof event);
            lk_uuid7(event.event_id);
            strcpy(event.tenant_id, incident->tenant_id);
            strcpy(event.incident_id, incident->id);
            event.type = strdup(type);
            event.actor = strdup("lookout");
            event.at_ms = now;
            assert_int_equal(lk_msg_add_incident(&batch, incident), 0);
            assert_int_equal(lk_msg_add_event(&batch, &event), 0);
            if (fixture->expected_count == fixture->expected_capacity) {
                fixture->expected_capacity = fixture->expected_capacity * 2 + 256;
                fixture->expected =
                    realloc(fixture->expected, fixture->expected_capacity * sizeof(s_expected_t));
                assert_non_null(fixture->expected);
            }
            s_expected_t *expected = &fixture->expected[fixture->expected_count++];
            strcpy(expected->event_id, event.event_id);
            strcpy(expected->incident_id, incident->id);
            strcpy(expected->tenant_id, incident->tenant_id);
            snprintf(expected->type, sizeof expected->type, "%s", type);
            lk_event_clear(&event);
        }
        s_roundtrip(fixture->writer, &batch, &ack);
        assert_int_equal(ack.type, LK_MSG_MUTATION_ACK);
        if (ack.status != LK_STATUS_OK)
            fail_msg("store refused a batch: %s", ack.error ? ack.error : "?");
        lk_msg_clear(&ack);
        lk_msg_clear(&batch);
    }
}

static void s_emit(s_fixture_t *fixture, size_t count)
{
    s_emit_at(fixture, count, 0);
}

/* ---- the publisher --------------------------------------------------------------------- */

static void s_publisher_start(s_fixture_t *fixture)
{
    fixture->publisher = zactor_new(publish_actor, &fixture->config);
    assert_non_null(fixture->publisher);
}

static void s_publisher_stop(s_fixture_t *fixture)
{
    zactor_destroy(&fixture->publisher);
}

/* The in-process publisher's STATUS counter name=value. */
static uint64_t s_status(s_fixture_t *fixture, const char *name)
{
    zstr_send(fixture->publisher, "STATUS");
    char *status = zstr_recv(fixture->publisher);
    assert_non_null(status);
    char key[64];
    snprintf(key, sizeof key, "%s=", name);
    const char *found = strstr(status, key);
    assert_non_null(found);
    uint64_t value = strtoull(found + strlen(key), NULL, 10);
    zstr_free(&status);
    return value;
}

/* Starts lookout-publish as a child process configured like the in-process one. */
static void s_child_start(s_fixture_t *fixture)
{
    fixture->child = fork();
    assert_true(fixture->child >= 0);
    if (fixture->child == 0) {
        char window[16];
        snprintf(window, sizeof window, "%d", CHILD_WINDOW);
        setenv("LOOKOUT_KAFKA_BROKERS", fixture->bootstrap, 1);
        setenv("LOOKOUT_STORE_ENDPOINT", fixture->endpoints[0], 1);
        setenv("LOOKOUT_STORE_QUERY_ENDPOINT", fixture->endpoints[1], 1);
        setenv("LOOKOUT_STORE_EVENTS_ENDPOINT", fixture->endpoints[2], 1);
        setenv("LOOKOUT_PUBLISH_WINDOW", window, 1);
        setenv("LOOKOUT_LOG_LEVEL", "warn", 1);
        execl(s_publish_path, "lookout-publish", (char *)NULL);
        _exit(127);
    }
}

/* Stops the child with signal (0: waits for it to exit by itself); returns its exit status
   (or 128 + signal). Fails after WAIT_MS. */
static int s_child_stop(s_fixture_t *fixture, int signal_number)
{
    if (signal_number)
        kill(fixture->child, signal_number);
    int status = 0;
    int64_t deadline = lk_mono_ms() + WAIT_MS;
    pid_t pid;
    while ((pid = waitpid(fixture->child, &status, WNOHANG)) == 0) {
        if (lk_mono_ms() > deadline) {
            kill(fixture->child, SIGKILL);
            waitpid(fixture->child, &status, 0);
            fixture->child = 0;
            fail_msg("lookout-publish did not exit");
        }
        zclock_sleep(20);
    }
    assert_int_equal(pid, fixture->child);
    fixture->child = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- reading Kafka back ---------------------------------------------------------------- */

static void s_quiet(const rd_kafka_t *kafka, int level, const char *facility, const char *text)
{
}

static void s_consumer_start(s_fixture_t *fixture)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(
        rd_kafka_conf_set(conf, "bootstrap.servers", fixture->bootstrap, err, sizeof err),
        RD_KAFKA_CONF_OK);
    rd_kafka_conf_set(conf, "group.id", "test_publish", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_conf_set_log_cb(conf, s_quiet); /* brokers going down is the point */
    fixture->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(fixture->consumer);
    rd_kafka_topic_partition_list_t *partitions = rd_kafka_topic_partition_list_new(8);
    for (int p = 0; p < INCIDENT_PARTS; p++)
        rd_kafka_topic_partition_list_add(partitions, INCIDENT_TOPIC, p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    for (int p = 0; p < SERVICE_PARTS; p++)
        rd_kafka_topic_partition_list_add(partitions, SERVICE_TOPIC, p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(fixture->consumer, partitions), 0);
    rd_kafka_topic_partition_list_destroy(partitions);
}

/* Copies header name of message, or NULL. */
static char *s_header(rd_kafka_message_t *message, const char *name)
{
    rd_kafka_headers_t *headers = NULL;
    if (rd_kafka_message_headers(message, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return NULL;
    const void *value;
    size_t size;
    if (rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return NULL;
    char *copy = malloc(size + 1);
    memcpy(copy, value, size);
    copy[size] = '\0';
    return copy;
}

/* Reads what arrives for up to wait_ms. */
static void s_consume(s_fixture_t *fixture, int wait_ms)
{
    int64_t deadline = lk_mono_ms() + wait_ms;
    while (lk_mono_ms() < deadline) {
        rd_kafka_message_t *message = rd_kafka_consumer_poll(fixture->consumer, 50);
        if (!message)
            continue;
        if (message->err) {
            rd_kafka_message_destroy(message);
            continue;
        }
        if (fixture->received_count == fixture->received_capacity) {
            fixture->received_capacity = fixture->received_capacity * 2 + 256;
            fixture->received =
                realloc(fixture->received, fixture->received_capacity * sizeof(s_received_t));
            assert_non_null(fixture->received);
        }
        s_received_t *received = &fixture->received[fixture->received_count++];
        memset(received, 0, sizeof *received);
        received->service = strcmp(rd_kafka_topic_name(message->rkt), SERVICE_TOPIC) == 0;
        received->partition = message->partition;
        received->offset = message->offset;
        received->key = strndup(message->key, message->key_len);
        json_error_t error;
        received->value = json_loadb(message->payload, message->len, 0, &error);
        if (!received->value)
            fail_msg("not JSON: %s", error.text);
        const char *names[] = {"source", "event_type", "event_id", "tenant_id"};
        for (int i = 0; i < 4; i++)
            received->headers[i] = s_header(message, names[i]);
        rd_kafka_message_destroy(message);
    }
}

/* The sequence of a received message. */
static uint64_t s_sequence_of(const s_received_t *received)
{
    json_t *sequence = received->service
                           ? json_object_get(json_object_get(received->value, "data"), "sequence")
                           : json_object_get(received->value, "sequence");
    assert_true(json_is_integer(sequence));
    return (uint64_t)json_integer_value(sequence);
}

/* Counts how many of the lookout.incidents messages carry each sequence 1..n. Returns the
   number of distinct sequences seen. */
static size_t s_seen(s_fixture_t *fixture, size_t n, unsigned *counts, bool service)
{
    memset(counts, 0, (n + 1) * sizeof *counts);
    size_t distinct = 0;
    for (size_t i = 0; i < fixture->received_count; i++) {
        if (fixture->received[i].service != service)
            continue;
        uint64_t sequence = s_sequence_of(&fixture->received[i]);
        assert_true(sequence >= 1 && sequence <= n);
        if (counts[sequence]++ == 0)
            distinct++;
    }
    return distinct;
}

/* Consumes until every event written so far is on lookout.incidents (and every lifecycle
   one on service_events), or fails after WAIT_MS. */
static void s_consume_all(s_fixture_t *fixture)
{
    size_t n = fixture->expected_count;
    size_t lifecycle = 0;
    for (size_t k = 0; k < n; k++)
        lifecycle += publish_service_event_type(fixture->expected[k].type) != NULL;
    unsigned *counts = calloc(n + 1, sizeof *counts);
    int64_t deadline = lk_mono_ms() + WAIT_MS;
    while (true) {
        s_consume(fixture, 100);
        size_t incidents = s_seen(fixture, n, counts, false);
        size_t services = s_seen(fixture, n, counts, true);
        if (incidents == n && services == lifecycle)
            break;
        if (lk_mono_ms() > deadline)
            fail_msg("after %d ms: %zu of %zu events on %s, %zu of %zu on %s", WAIT_MS, incidents,
                     n, INCIDENT_TOPIC, services, lifecycle, SERVICE_TOPIC);
    }
    s_consume(fixture, 300); /* late duplicates, if any, are counted too */
    free(counts);
}

/* Waits until the committed cursor reaches sequence. */
static void s_wait_cursor(s_fixture_t *fixture, uint64_t sequence)
{
    int64_t deadline = lk_mono_ms() + WAIT_MS;
    uint64_t cursor;
    while ((cursor = s_cursor(fixture)) < sequence) {
        if (lk_mono_ms() > deadline)
            fail_msg("cursor %" PRIu64 ", expected %" PRIu64, cursor, sequence);
        zclock_sleep(20);
    }
    assert_true(cursor == sequence);
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

/* Checks every received message against what was written: shapes, keys, headers, ids; every
   event present; with check_order, per incident, first appearances in increasing sequence
   order (a partition is the order a consumer sees). Returns the number of duplicate messages
   (same event again) over both topics; each duplicate carries the event's one event_id. */
static size_t s_verify_with(s_fixture_t *fixture, bool check_order)
{
    static const char *const incident_keys[] = {"schema_version", "event_id",    "sequence",
                                                "event_type",     "occurred_at", "actor",
                                                "note",           "tenant_id",   "incident_id",
                                                "status",         "severity",    "title",
                                                "summary",        "alert_count", "firing_count",
                                                "created_at",     "updated_at",  "acknowledged_at",
                                                "resolved_at",    "labels",      "incident",
                                                "event",          NULL};
    static const char *const service_keys[] = {
        "event_id",      "event_type",  "timestamp", "source",         "tenant_id",
        "resource_type", "resource_id", "data",      "schema_version", NULL};
    size_t n = fixture->expected_count;
    unsigned *counts = calloc(2 * (n + 1), sizeof *counts);
    uint64_t *last_first_seen = calloc(INCIDENTS, sizeof *last_first_seen);
    size_t duplicates = 0;
    for (size_t i = 0; i < fixture->received_count; i++) {
        s_received_t *received = &fixture->received[i];
        uint64_t sequence = s_sequence_of(received);
        assert_true(sequence >= 1 && sequence <= n);
        const s_expected_t *expected = &fixture->expected[sequence - 1];
        json_t *value = received->value;
        if (received->service) {
            s_assert_keys(value, service_keys);
            assert_non_null(publish_service_event_type(expected->type));
            assert_string_equal(received->key, expected->event_id);
            assert_string_equal(json_string_value(json_object_get(value, "event_id")),
                                expected->event_id);
            assert_string_equal(json_string_value(json_object_get(value, "event_type")),
                                expected->type);
            assert_string_equal(json_string_value(json_object_get(value, "source")), "lookout");
            assert_string_equal(json_string_value(json_object_get(value, "tenant_id")),
                                expected->tenant_id);
            assert_string_equal(json_string_value(json_object_get(value, "resource_type")),
                                "incident");
            assert_string_equal(json_string_value(json_object_get(value, "resource_id")),
                                expected->incident_id);
            assert_string_equal(received->headers[0], "lookout");
            assert_string_equal(received->headers[1], expected->type);
            assert_string_equal(received->headers[2], expected->event_id);
            assert_string_equal(received->headers[3], expected->tenant_id);
        } else {
            s_assert_keys(value, incident_keys);
            assert_string_equal(received->key, expected->incident_id);
            assert_string_equal(json_string_value(json_object_get(value, "event_id")),
                                expected->event_id);
            assert_string_equal(json_string_value(json_object_get(value, "event_type")),
                                expected->type);
            assert_string_equal(json_string_value(json_object_get(value, "tenant_id")),
                                expected->tenant_id);
            assert_string_equal(json_string_value(json_object_get(value, "incident_id")),
                                expected->incident_id);
            assert_true(json_is_string(json_object_get(value, "summary")));
            assert_true(json_is_string(json_object_get(value, "severity")));
            assert_null(received->headers[0]);
        }
        if (counts[(received->service ? n + 1 : 0) + sequence]++ > 0)
            duplicates++;
    }
    /* order per incident: walk each lookout.incidents partition in offset order */
    for (int partition = 0; check_order && partition < INCIDENT_PARTS; partition++) {
        memset(last_first_seen, 0, INCIDENTS * sizeof *last_first_seen);
        unsigned *first_seen = calloc(n + 1, sizeof *first_seen);
        int64_t last_offset = -1;
        for (size_t i = 0; i < fixture->received_count; i++) {
            s_received_t *received = &fixture->received[i];
            if (received->service || received->partition != partition)
                continue;
            assert_true(received->offset > last_offset); /* consumed in order */
            last_offset = received->offset;
            uint64_t sequence = s_sequence_of(received);
            if (first_seen[sequence]++)
                continue;
            int incident = (int)((sequence - 1) % INCIDENTS);
            if (sequence <= last_first_seen[incident])
                fail_msg("incident %d: sequence %" PRIu64 " after %" PRIu64, incident, sequence,
                         last_first_seen[incident]);
            last_first_seen[incident] = sequence;
        }
        free(first_seen);
    }
    for (size_t k = 0; k < n; k++) {
        assert_true(counts[k + 1] >= 1);
        bool lifecycle = publish_service_event_type(fixture->expected[k].type) != NULL;
        assert_true(lifecycle ? counts[n + 1 + k + 1] >= 1 : counts[n + 1 + k + 1] == 0);
    }
    free(counts);
    free(last_first_seen);
    return duplicates;
}

static size_t s_verify(s_fixture_t *fixture)
{
    return s_verify_with(fixture, true);
}

/* ---- fixture --------------------------------------------------------------------------- */

static int s_setup(void **state)
{
    s_fixture_t *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    const char *tmp = getenv("TMPDIR");
    snprintf(fixture->dir, sizeof fixture->dir, "%s/lookout-publish-test-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(fixture->dir));
    snprintf(fixture->database_url, sizeof fixture->database_url, "sqlite:%s/" LK_TESTING_DB,
             fixture->dir);
    s_free_tcp_endpoints(fixture->endpoints);
    fixture->store_config.database_url = fixture->database_url;
    fixture->store_config.mutation_endpoint = fixture->endpoints[0];
    fixture->store_config.query_endpoint = fixture->endpoints[1];
    fixture->store_config.events_endpoint = fixture->endpoints[2];
    fixture->store_config.batch_max = 256;
    fixture->store = zactor_new(store_actor, &fixture->store_config);
    assert_non_null(fixture->store);
    fixture->writer = lk_sock_new(ZMQ_DEALER, fixture->endpoints[0]);
    fixture->reader = lk_sock_new(ZMQ_DEALER, fixture->endpoints[1]);
    assert_non_null(fixture->writer);
    assert_non_null(fixture->reader);
    zsock_set_rcvtimeo(fixture->writer, WAIT_MS);
    zsock_set_rcvtimeo(fixture->reader, WAIT_MS);

    for (int i = 0; i < INCIDENTS; i++) {
        lk_incident_t *incident = &fixture->incidents[i];
        lk_uuid7(incident->id);
        strcpy(incident->tenant_id, i % 2 ? TENANT_B : TENANT_A);
        char name[32];
        snprintf(name, sizeof name, "Alert%d", i);
        incident->group_key = strdup(name);
        incident->title = strdup(name);
        incident->summary = strdup("something is wrong");
        lk_labels_set(&incident->group_labels, "alertname", name);
        incident->severity = (lk_severity_t)(i % 4);
        incident->status = LK_INCIDENT_TRIGGERED;
        incident->created_at_ms = lk_now_ms();
    }

    s_mock_start(fixture);
    publish_config_t *config = &fixture->config;
    config->brokers = fixture->bootstrap;
    config->incidents_topic = INCIDENT_TOPIC;
    config->service_events_topic = SERVICE_TOPIC;
    config->consumer = "publish";
    config->store_endpoint = fixture->endpoints[0];
    config->query_endpoint = fixture->endpoints[1];
    config->events_endpoint = fixture->endpoints[2];
    config->window = 2000;
    config->store_timeout_ms = 2000;
    config->commit_interval_ms = 50;
    config->message_timeout_ms = 0;
    s_consumer_start(fixture);
    *state = fixture;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *fixture = *state;
    if (fixture->publisher)
        s_publisher_stop(fixture);
    if (fixture->child)
        s_child_stop(fixture, SIGKILL);
    rd_kafka_consumer_close(fixture->consumer);
    rd_kafka_destroy(fixture->consumer);
    s_mock_stop(fixture);
    zsock_destroy(&fixture->writer);
    zsock_destroy(&fixture->reader);
    zactor_destroy(&fixture->store);
    for (int i = 0; i < INCIDENTS; i++)
        lk_incident_clear(&fixture->incidents[i]);
    for (size_t i = 0; i < fixture->received_count; i++) {
        free(fixture->received[i].key);
        json_decref(fixture->received[i].value);
        for (int h = 0; h < 4; h++)
            free(fixture->received[i].headers[h]);
    }
    free(fixture->received);
    free(fixture->expected);
    lk_testing_remove_db_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* ---- tests ----------------------------------------------------------------------------- */

/* Events written before the publisher starts (replay) and while it runs (live) all arrive
   once, in order, with the exact shapes; the cursor ends on the last one. Prints the rate. */
static void test_every_event_once_in_order(void **state)
{
    s_fixture_t *fixture = *state;
    s_emit(fixture, 2000); /* replayed from the outbox */
    int64_t started = lk_mono_ms();
    s_publisher_start(fixture);
    s_wait_cursor(fixture, 2000);
    int64_t replay_ms = lk_mono_ms() - started;
    s_emit(fixture, 500); /* followed live */
    s_wait_cursor(fixture, 2500);
    s_consume_all(fixture);
    assert_int_equal(s_verify(fixture), 0);
    assert_int_equal(s_status(fixture, "rewinds"), 0);
    assert_int_equal(s_status(fixture, "gaps"), 0);
    printf("publish: replayed 2000 events (2 topics) in %" PRId64 " ms: %.0f events/s\n", replay_ms,
           replay_ms > 0 ? 2000.0 * 1000.0 / (double)replay_ms : 0.0);

    /* a clean restart publishes nothing again */
    s_publisher_stop(fixture);
    s_publisher_start(fixture);
    s_emit(fixture, 5);
    s_wait_cursor(fixture, 2505);
    s_consume_all(fixture);
    assert_int_equal(s_verify(fixture), 0);
}

/* Retriable produce errors (leader moved, timeouts, too few replicas) are retried by the
   idempotent producer: nothing is lost and nothing is duplicated.
   One request in flight per connection here: the mock cluster checks producer sequence
   numbers only for transactional producers, so it accepts a later batch after a failed one,
   and librdkafka, trusting the broker to have refused it otherwise, then takes the failed
   "possibly persisted" batch for written. A real broker enforces the sequence. */
static void test_produce_errors_lose_nothing(void **state)
{
    s_fixture_t *fixture = *state;
    char properties[] = "max.in.flight.requests.per.connection=1";
    fixture->config.kafka_properties = properties;
    s_publisher_start(fixture);
    s_emit(fixture, 100);
    s_wait_cursor(fixture, 100);
    s_mock(fixture, "errors 0 20 %d", RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    s_mock(fixture, "errors 0 20 %d", RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    s_mock(fixture, "errors 0 20 %d", RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    s_emit(fixture, 400);
    s_wait_cursor(fixture, 500);
    s_consume_all(fixture);
    assert_int_equal(s_verify(fixture), 0);
}

/* All brokers down for a while: events wait (the cursor does not move past undelivered
   ones), then everything arrives once the brokers are back. */
static void test_brokers_down_lose_nothing(void **state)
{
    s_fixture_t *fixture = *state;
    s_publisher_start(fixture);
    s_emit(fixture, 50);
    s_wait_cursor(fixture, 50);
    for (int broker = 1; broker <= 3; broker++)
        s_mock(fixture, "down %d", broker);
    s_emit(fixture, 300);
    zclock_sleep(3000);
    /* nothing could be delivered, so the cursor stayed where it was */
    assert_true(s_cursor(fixture) == 50);
    for (int broker = 1; broker <= 3; broker++)
        s_mock(fixture, "up %d", broker);
    s_emit(fixture, 150);
    s_wait_cursor(fixture, 500);
    s_consume_all(fixture);
    size_t duplicates = s_verify(fixture);
    printf("publish: brokers down 3 s: %zu duplicates\n", duplicates);
    assert_true(duplicates <= (size_t)fixture->config.window);
}

/* With a finite LOOKOUT_KAFKA_MESSAGE_TIMEOUT_MS, messages time out while the brokers are
   down; those failed deliveries are never skipped: the publisher produces again from the
   first undelivered event (with a back-off) until they are delivered. Order per incident is
   not checked here: a message that timed out may be re-produced after a later one of its
   partition got through as the brokers came back (librdkafka's gap-less guarantee does not
   cover timeouts; docs/events.md says so, and the default timeout is infinite). */
static void test_message_timeouts_are_produced_again(void **state)
{
    s_fixture_t *fixture = *state;
    fixture->config.message_timeout_ms = 1000;
    s_publisher_start(fixture);
    s_emit(fixture, 50);
    s_wait_cursor(fixture, 50);
    for (int broker = 1; broker <= 3; broker++)
        s_mock(fixture, "down %d", broker);
    s_emit(fixture, 100);
    /* librdkafka expires messages on a timer of its own: the first timeout reports come
       1-2 s after message_timeout_ms, later on a busy machine */
    int64_t deadline = lk_mono_ms() + WAIT_MS;
    while (s_status(fixture, "rewinds") < 1) {
        assert_true(lk_mono_ms() < deadline);
        zclock_sleep(50);
    }
    assert_true(s_cursor(fixture) == 50);
    for (int broker = 1; broker <= 3; broker++)
        s_mock(fixture, "up %d", broker);
    s_emit(fixture, 50);
    s_wait_cursor(fixture, 200);
    s_consume_all(fixture);
    size_t duplicates = s_verify_with(fixture, false);
    printf("publish: message timeouts, %" PRIu64 " rewinds: %zu duplicates\n",
           s_status(fixture, "rewinds"), duplicates);
    assert_true(duplicates <= 2 * (size_t)fixture->config.window);
}

/* SIGKILL of a lookout-publish process while it publishes, twice: nothing is lost; the
   re-published duplicates are at most the window (LOOKOUT_PUBLISH_WINDOW) per crash and
   carry the same event_id. */
static void test_sigkill_loses_nothing(void **state)
{
    s_fixture_t *fixture = *state;
    s_emit(fixture, 1000);
    s_child_start(fixture);
    uint64_t cursor_at_kill = 0;
    for (int crash = 0; crash < 2; crash++) {
        /* it is up and making progress... */
        int64_t deadline = lk_mono_ms() + WAIT_MS;
        while (s_cursor(fixture) <= cursor_at_kill) {
            assert_true(lk_mono_ms() < deadline);
            zclock_sleep(5);
        }
        /* ...publishing live what is written now, when it is killed */
        s_emit(fixture, 300);
        assert_int_equal(s_child_stop(fixture, SIGKILL), 128 + SIGKILL);
        cursor_at_kill = s_cursor(fixture);
        s_emit(fixture, 200); /* while it is down */
        s_child_start(fixture);
    }
    s_emit(fixture, 300);
    s_wait_cursor(fixture, fixture->expected_count);
    s_consume_all(fixture);
    size_t duplicates = s_verify(fixture);
    printf("publish: 2 SIGKILLs with window %d: %zu duplicate messages\n", CHILD_WINDOW,
           duplicates);
    /* two topics, two crashes: each crash re-sends at most the window's events */
    assert_true(duplicates <= 2 * 2 * CHILD_WINDOW);
    assert_int_equal(s_child_stop(fixture, SIGTERM), 0);
}

/* A produce error librdkafka cannot retry without risking a gap: the idempotent producer
   gives up (a fatal error), lookout-publish exits 1, and its restart (the supervisor's job,
   played here by the test) resumes from the committed cursor: nothing is lost. */
static void test_fatal_produce_error_restarts(void **state)
{
    s_fixture_t *fixture = *state;
    s_child_start(fixture);
    s_emit(fixture, 100);
    s_wait_cursor(fixture, 100);
    s_mock(fixture, "errors 0 3 %d", RD_KAFKA_RESP_ERR_INVALID_RECORD);
    s_emit(fixture, 200);
    assert_int_equal(s_child_stop(fixture, 0), 1); /* it gave up */
    assert_true(s_cursor(fixture) < 300);
    /* the supervisor: restart whenever it exits, until all is published (each restart may
       meet one of the errors still queued in the cluster) */
    int restarts = 0;
    s_child_start(fixture);
    s_emit(fixture, 100);
    while (s_cursor(fixture) < 400) {
        int status = 0;
        if (waitpid(fixture->child, &status, WNOHANG) == fixture->child) {
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
            assert_true(++restarts < 10);
            s_child_start(fixture);
        }
        zclock_sleep(20);
    }
    s_wait_cursor(fixture, 400);
    s_consume_all(fixture);
    size_t duplicates = s_verify(fixture);
    printf("publish: fatal produce error and restart: %zu duplicate messages\n", duplicates);
    assert_true(duplicates <= 2 * CHILD_WINDOW);
    assert_int_equal(s_child_stop(fixture, SIGTERM), 0);
}

/* LOOKOUT_PUBLISH_START=now: a consumer without a cursor skips the history and starts with
   the next event; the cursor it chose is committed at once. */
static void test_start_now(void **state)
{
    s_fixture_t *fixture = *state;
    s_emit(fixture, 30);
    fixture->config.start_now = true;
    s_publisher_start(fixture);
    s_wait_cursor(fixture, 30);
    s_emit(fixture, 20);
    s_wait_cursor(fixture, 50);
    size_t messages = 0;
    int64_t deadline = lk_mono_ms() + WAIT_MS;
    for (bool settled = false; !settled;) {
        s_consume(fixture, 300);
        settled = messages == 20; /* one more quiet round after the 20th, for strays */
        messages = 0;
        for (size_t i = 0; i < fixture->received_count; i++) {
            if (fixture->received[i].service)
                continue;
            messages++;
            assert_true(s_sequence_of(&fixture->received[i]) > 30);
        }
        assert_true(messages <= 20 && lk_mono_ms() < deadline);
    }
}

/* Outbox retention removed events before they were published: the publisher reports the
   gap and carries on from the oldest event still there; the newest event is never removed,
   so sequences never restart. */
static void test_retention_gap(void **state)
{
    s_fixture_t *fixture = *state;
    /* a store that keeps events for 20 s and sweeps every 2 s */
    zsock_destroy(&fixture->writer);
    zsock_destroy(&fixture->reader);
    zactor_destroy(&fixture->store);
    setenv("LOOKOUT_OUTBOX_RETENTION_S", "20", 1);
    fixture->store = zactor_new(store_actor, &fixture->store_config);
    unsetenv("LOOKOUT_OUTBOX_RETENTION_S");
    assert_non_null(fixture->store);
    fixture->writer = lk_sock_new(ZMQ_DEALER, fixture->endpoints[0]);
    fixture->reader = lk_sock_new(ZMQ_DEALER, fixture->endpoints[1]);
    zsock_set_rcvtimeo(fixture->writer, WAIT_MS);
    zsock_set_rcvtimeo(fixture->reader, WAIT_MS);

    s_emit_at(fixture, 10, lk_now_ms() - 86400000); /* a day old */
    /* wait for the sweep: all but the newest old event go */
    int64_t deadline = lk_mono_ms() + WAIT_MS;
    while (true) {
        lk_msg_t request, reply;
        lk_msg_init(&request, LK_MSG_QUERY);
        request.req = ++fixture->req;
        request.query.kind = LK_QUERY_EVENTS;
        s_roundtrip(fixture->reader, &request, &reply);
        assert_int_equal(reply.status, LK_STATUS_OK);
        uint64_t first = reply.first_sequence, last = reply.last_sequence;
        lk_msg_clear(&request);
        lk_msg_clear(&reply);
        assert_true(last == 10);
        if (first == 10)
            break;
        assert_true(lk_mono_ms() < deadline);
        zclock_sleep(100);
    }
    s_emit(fixture, 10); /* numbered on from 11 */
    s_publisher_start(fixture);
    s_wait_cursor(fixture, 20);
    assert_int_equal(s_status(fixture, "gaps"), 1);
    unsigned seen[21];
    bool complete = false;
    int64_t deadline_all = lk_mono_ms() + WAIT_MS;
    while (!complete) {
        assert_true(lk_mono_ms() < deadline_all);
        s_consume(fixture, 300);
        memset(seen, 0, sizeof seen);
        for (size_t i = 0; i < fixture->received_count; i++)
            if (!fixture->received[i].service) {
                uint64_t sequence = s_sequence_of(&fixture->received[i]);
                /* 10, the newest old event, goes too once 11..20 exist: it may or may not
                   have been published first */
                assert_true(sequence >= 10 && sequence <= 20);
                assert_int_equal(seen[sequence]++, 0);
            }
        complete = true;
        for (int sequence = 11; sequence <= 20; sequence++)
            complete = complete && seen[sequence] == 1;
    }
}

/* Without brokers the publisher idles (the embedded quick start) and stops cleanly. */
static void test_idle_without_brokers(void **state)
{
    s_fixture_t *fixture = *state;
    fixture->config.brokers = "";
    s_publisher_start(fixture);
    zstr_send(fixture->publisher, "STATUS");
    char *status = zstr_recv(fixture->publisher);
    assert_string_equal(status, "idle");
    zstr_free(&status);
    s_emit(fixture, 5);
    s_publisher_stop(fixture);
    assert_true(s_cursor(fixture) == 0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_publish PATH/lookout-publish PATH/mock_kafka\n");
        return 2;
    }
    s_publish_path = argv[1];
    s_mock_path = argv[2];
    signal(SIGPIPE, SIG_IGN);
    lk_log_init("test_publish", LK_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_event_once_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_produce_errors_lose_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_brokers_down_lose_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_message_timeouts_are_produced_again, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_loses_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fatal_produce_error_restarts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_start_now, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_retention_gap, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_idle_without_brokers, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
