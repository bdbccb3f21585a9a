/*  publish — the lookout-publish actor (see publish.h).

    One thread polls four things with zmq_poll: the actor pipe, the events SUB, a DEALER to
    store's query ROUTER, a DEALER to store's mutation ROUTER (cursor commits), and a pipe
    librdkafka writes to when delivery reports are waiting (rd_kafka_queue_io_event_enable),
    so reports are served on this thread and need no locking.

    Positions, all outbox sequences, in this order: committed <= delivered <= produced.
      committed  the cursor store acknowledged (a restart resumes after it)
      delivered  every event up to it has all its messages delivered
      produced   the last event handed to librdkafka
    The events between delivered and produced sit in a ring in sequence order, each with the
    count of its messages still in flight. A produced message carries a token (its ring
    position's serial number) as opaque; a report for a token no longer in the ring belongs
    to the time before a rewind and is ignored.

    Modes: catch-up pages through the outbox with events queries (one in flight at a time),
    live produces events from the SUB as they come. Live falls back to catch-up when an
    event is not the next one (a gap: PUB dropped something, or the window was full), and
    every S_RECHECK_MS anyway, so an event whose announcement was lost is found even when no
    later event arrives.
*/
#include "publish.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_env.h"
#include "lk_log.h"
#include "lk_metrics.h"
#include "lk_sock.h"
#include "lk_tap.h"
#include "lk_time.h"
#include "publish_format.h"

#define S_PAGE_MAX       1000  /* events per events query (store's own maximum) */
#define S_RECHECK_MS     5000  /* live mode re-asks store this often */
#define S_RETRY_MS       1000  /* after a failed query */
#define S_BACKOFF_MIN_MS 1000  /* first wait before re-producing after a failed delivery */
#define S_BACKOFF_MAX_MS 30000 /* longest such wait */
#define S_SHUTDOWN_MS    5000  /* how long $TERM waits for deliveries in flight */

void publish_config_from_env(publish_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->brokers = lk_env_str("LOOKOUT_KAFKA_BROKERS", "");
    config->incidents_topic = lk_env_str("LOOKOUT_KAFKA_INCIDENTS_TOPIC", "lookout.incidents");
    config->service_events_topic = getenv("LOOKOUT_KAFKA_SERVICE_EVENTS_TOPIC")
                                       ? getenv("LOOKOUT_KAFKA_SERVICE_EVENTS_TOPIC")
                                       : "service_events"; /* set but empty = disabled */
    config->consumer = lk_env_str("LOOKOUT_PUBLISH_CONSUMER", "publish");
    const char *start = lk_env_str("LOOKOUT_PUBLISH_START", "beginning");
    if (strcmp(start, "now") == 0)
        config->start_now = true;
    else if (strcmp(start, "beginning") != 0)
        lk_fatal("LOOKOUT_PUBLISH_START must be beginning or now, not %s", start);
    config->store_endpoint = lk_env_str("LOOKOUT_STORE_ENDPOINT", "tcp://127.0.0.1:18101");
    config->query_endpoint = lk_env_str("LOOKOUT_STORE_QUERY_ENDPOINT", "tcp://127.0.0.1:18102");
    config->events_endpoint = lk_env_str("LOOKOUT_STORE_EVENTS_ENDPOINT", "tcp://127.0.0.1:18103");
    config->tap_endpoint = lk_env_str("LOOKOUT_PUBLISH_TAP", NULL);
    config->window = (int)lk_env_int("LOOKOUT_PUBLISH_WINDOW", 2000, 1, 1000000);
    config->store_timeout_ms = lk_env_int("LOOKOUT_STORE_TIMEOUT_MS", 2000, 10, 600000);
    config->commit_interval_ms = lk_env_int("LOOKOUT_PUBLISH_COMMIT_INTERVAL_MS", 100, 1, 600000);
    config->message_timeout_ms = lk_env_int("LOOKOUT_KAFKA_MESSAGE_TIMEOUT_MS", 0, 0, 2147483647);
    config->kafka_properties = lk_env_secret("LOOKOUT_KAFKA_PROPERTIES");
}

void publish_config_clear(publish_config_t *config)
{
    if (config->kafka_properties) {
        explicit_bzero(config->kafka_properties, strlen(config->kafka_properties));
        free(config->kafka_properties);
        config->kafka_properties = NULL;
    }
}

typedef enum { S_QUERY_NONE = 0, S_QUERY_CURSOR, S_QUERY_HEAD, S_QUERY_EVENTS } s_query_t;

/* One produced event waiting for its delivery reports. */
typedef struct {
    uint64_t sequence;
    int pending; /* messages not yet reported */
    bool failed; /* a message of it failed for good: re-produce from here */
} s_slot_t;

typedef struct {
    const publish_config_t *config;
    lk_tap_t *tap;
    zsock_t *events;    /* SUB */
    zsock_t *queries;   /* DEALER → store queries */
    zsock_t *mutations; /* DEALER → store mutations (cursor_commit) */
    rd_kafka_t *kafka;
    rd_kafka_topic_t *incidents_topic;
    rd_kafka_topic_t *service_topic; /* NULL = disabled */
    rd_kafka_queue_t *main_queue;
    int wake[2]; /* librdkafka writes to wake[1] when reports wait */
    uint64_t req;

    bool cursor_known;
    bool live; /* false = catch-up */
    uint64_t committed, delivered, produced, live_max;

    s_slot_t *slots; /* ring of config->window slots */
    size_t first, count;
    uint64_t first_token, next_token;
    uint64_t in_flight; /* messages produced and not yet reported */

    s_query_t query; /* the query in flight, S_QUERY_NONE when none */
    uint64_t query_req;
    uint32_t query_limit;
    int64_t query_deadline_ms;
    int64_t next_query_ms; /* catch-up: when to ask next; live: when to re-check */

    bool commit_in_flight;
    bool commit_forced; /* a fresh "now" cursor must reach store even without progress */
    uint64_t commit_req, commit_sequence;
    int64_t commit_deadline_ms, last_commit_ms;

    bool rewind_wanted;
    int64_t rewind_at_ms, backoff_ms;
    uint64_t rewinds, gaps;
    bool brokers_down_logged;
    bool ahead_logged;
} s_publish_t;

/* ---- librdkafka ------------------------------------------------------------------------ */

/* Marks that deliveries failed: everything from the first undelivered event is produced
   again after a back-off (s_step performs the rewind once no report is outstanding). */
static void s_failed(s_publish_t *self)
{
    if (self->rewind_wanted)
        return;
    self->rewind_wanted = true;
    self->rewind_at_ms = lk_mono_ms() + self->backoff_ms;
    self->backoff_ms =
        self->backoff_ms * 2 > S_BACKOFF_MAX_MS ? S_BACKOFF_MAX_MS : self->backoff_ms * 2;
}

/* Pops delivered events off the front of the ring. */
static void s_advance(s_publish_t *self)
{
    size_t capacity = (size_t)self->config->window;
    while (self->count > 0) {
        s_slot_t *slot = &self->slots[self->first];
        if (slot->pending > 0 || slot->failed)
            break;
        self->delivered = slot->sequence;
        self->first = (self->first + 1) % capacity;
        self->first_token++;
        self->count--;
        if (!self->rewind_wanted)
            self->backoff_ms = S_BACKOFF_MIN_MS;
    }
}

/* Delivery report (served on the actor thread by rd_kafka_poll). */
static void s_delivery_report(rd_kafka_t *kafka, const rd_kafka_message_t *message, void *opaque)
{
    s_publish_t *self = opaque;
    uint64_t token = (uint64_t)(uintptr_t)message->_private;
    if (token < self->first_token || token - self->first_token >= self->count)
        return; /* from before a rewind */
    size_t capacity = (size_t)self->config->window;
    s_slot_t *slot = &self->slots[(self->first + (token - self->first_token)) % capacity];
    self->in_flight--;
    if (message->err) {
        if (!slot->failed)
            lk_warn("publish: event %" PRIu64 " not delivered to %s: %s", slot->sequence,
                    rd_kafka_topic_name(message->rkt), rd_kafka_err2str(message->err));
        slot->failed = true;
        s_failed(self);
    }
    slot->pending--;
    s_advance(self);
}

/* librdkafka's errors: a fatal one (the idempotent producer cannot go on) ends the process,
   which resumes from the committed cursor; the rest are transient and retried by it. */
static void s_kafka_error(rd_kafka_t *kafka, int error, const char *reason, void *opaque)
{
    s_publish_t *self = opaque;
    if (error == RD_KAFKA_RESP_ERR__FATAL) {
        char detail[512];
        rd_kafka_fatal_error(kafka, detail, sizeof detail);
        lk_fatal("publish: kafka fatal error: %s", detail);
    }
    if (error == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (!self->brokers_down_logged)
            lk_warn("publish: all kafka brokers are down; events wait (%s)", reason);
        self->brokers_down_logged = true;
        return;
    }
    lk_debug("publish: kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)error), reason);
}

static void s_kafka_log(const rd_kafka_t *kafka, int level, const char *facility, const char *text)
{
    /* librdkafka calls the gap-less guarantee experimental at every start; we chose it */
    bool expected = strcmp(facility, "CONFWARN") == 0 && strstr(text, "enable.gapless.guarantee");
    if (level <= 4 && !expected) /* syslog warning and worse */
        lk_warn("publish: kafka %s: %s", facility, text);
    else
        lk_debug("publish: kafka %s: %s", facility, text);
}

/* Sets one librdkafka property; lk_fatal when refused (a configuration error). The value
   is not logged: it may be a credential. */
static void s_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK)
        lk_fatal("publish: kafka property %s refused: %s", name, err);
}

/* Applies LOOKOUT_KAFKA_PROPERTIES: "name=value;name=value". */
static void s_conf_extra(rd_kafka_conf_t *conf, const char *properties)
{
    char *copy = strdup(properties);
    if (!copy)
        lk_fatal("publish: out of memory");
    char *saved = NULL;
    for (char *pair = strtok_r(copy, ";", &saved); pair; pair = strtok_r(NULL, ";", &saved)) {
        while (*pair == ' ')
            pair++;
        if (!*pair)
            continue;
        char *equals = strchr(pair, '=');
        if (!equals || equals == pair)
            lk_fatal("publish: LOOKOUT_KAFKA_PROPERTIES: expected name=value pairs");
        *equals = '\0';
        s_conf_set(conf, pair, equals + 1);
    }
    explicit_bzero(copy, strlen(properties));
    free(copy);
}

/* Creates the idempotent producer and its topics; lk_fatal on failure. */
static void s_kafka_start(s_publish_t *self)
{
    const publish_config_t *config = self->config;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char number[32];
    s_conf_set(conf, "bootstrap.servers", config->brokers);
    s_conf_set(conf, "client.id", "lookout-publish");
    s_conf_set(conf, "enable.idempotence", "true");
    s_conf_set(conf, "acks", "all");
    /* a failure that could leave a hole in a partition is fatal instead: the restart goes
       back to the committed cursor, so per-incident order survives any failure */
    s_conf_set(conf, "enable.gapless.guarantee", "true");
    snprintf(number, sizeof number, "%" PRId64, config->message_timeout_ms);
    s_conf_set(conf, "message.timeout.ms", number);
    /* the window bounds what is in flight; librdkafka's queue must never be what refuses */
    snprintf(number, sizeof number, "%d", config->window * 2 + 16);
    s_conf_set(conf, "queue.buffering.max.messages", number);
    s_conf_set(conf, "linger.ms", "5");
    if (config->kafka_properties)
        s_conf_extra(conf, config->kafka_properties);
    rd_kafka_conf_set_opaque(conf, self);
    rd_kafka_conf_set_dr_msg_cb(conf, s_delivery_report);
    rd_kafka_conf_set_error_cb(conf, s_kafka_error);
    rd_kafka_conf_set_log_cb(conf, s_kafka_log);
    char err[512];
    self->kafka = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!self->kafka)
        lk_fatal("publish: cannot create the kafka producer: %s", err);
    self->incidents_topic = rd_kafka_topic_new(self->kafka, config->incidents_topic, NULL);
    if (!self->incidents_topic)
        lk_fatal("publish: bad topic %s", config->incidents_topic);
    if (config->service_events_topic && *config->service_events_topic) {
        self->service_topic = rd_kafka_topic_new(self->kafka, config->service_events_topic, NULL);
        if (!self->service_topic)
            lk_fatal("publish: bad topic %s", config->service_events_topic);
    }
    if (pipe(self->wake) != 0)
        lk_fatal("publish: pipe: %s", strerror(errno));
    for (int end = 0; end < 2; end++) {
        fcntl(self->wake[end], F_SETFL, fcntl(self->wake[end], F_GETFL) | O_NONBLOCK);
        fcntl(self->wake[end], F_SETFD, FD_CLOEXEC);
    }
    self->main_queue = rd_kafka_queue_get_main(self->kafka);
    rd_kafka_queue_io_event_enable(self->main_queue, self->wake[1], "!", 1);
}

/* Serves every waiting delivery report and error. */
static void s_kafka_serve(s_publish_t *self)
{
    char drain[64];
    while (read(self->wake[0], drain, sizeof drain) > 0)
        ;
    while (rd_kafka_poll(self->kafka, 0) > 0)
        ;
}

static void s_kafka_stop(s_publish_t *self)
{
    if (!self->kafka)
        return;
    /* what is still queued was not delivered; the committed cursor brings it back */
    rd_kafka_purge(self->kafka, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(self->kafka, 0);
    rd_kafka_queue_io_event_enable(self->main_queue, -1, NULL, 0);
    rd_kafka_queue_destroy(self->main_queue);
    if (self->service_topic)
        rd_kafka_topic_destroy(self->service_topic);
    rd_kafka_topic_destroy(self->incidents_topic);
    rd_kafka_destroy(self->kafka);
    close(self->wake[0]);
    close(self->wake[1]);
}

/* ---- producing ------------------------------------------------------------------------- */

/* Events that may still be produced before the window (counted from the committed
   cursor) is full. */
static uint64_t s_room(const s_publish_t *self)
{
    uint64_t ahead = self->produced - self->committed;
    uint64_t window = (uint64_t)self->config->window;
    return ahead >= window || self->count >= (size_t)window ? 0 : window - ahead;
}

/* Hands one message to librdkafka. Returns true when queued. Takes value (and headers)
   either way. */
static bool s_produce_one(s_publish_t *self, rd_kafka_topic_t *topic, const char *key, char *value,
                          size_t size, rd_kafka_headers_t *headers, uint64_t token)
{
    if (!value)
        lk_fatal("publish: out of memory");
    rd_kafka_resp_err_t err;
    if (headers)
        err =
            rd_kafka_producev(self->kafka, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE(value, size),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_HEADERS(headers),
                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)token), RD_KAFKA_V_END);
    else
        err = rd_kafka_producev(self->kafka, RD_KAFKA_V_RKT(topic),
                                RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(value, size),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE),
                                RD_KAFKA_V_OPAQUE((void *)(uintptr_t)token), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return true;
    if (err == RD_KAFKA_RESP_ERR__FATAL) /* raised since the last poll */
        s_kafka_error(self->kafka, err, "produce refused", self);
    /* on failure the value and the headers are still ours */
    lk_warn("publish: cannot produce to %s: %s", rd_kafka_topic_name(topic), rd_kafka_err2str(err));
    free(value);
    if (headers)
        rd_kafka_headers_destroy(headers);
    return false;
}

/* The ServiceEvent headers Signalman routes by. */
static rd_kafka_headers_t *s_service_headers(const char *event_type, const char *event_id,
                                             const char *tenant_id)
{
    rd_kafka_headers_t *headers = rd_kafka_headers_new(4);
    rd_kafka_header_add(headers, "source", -1, PUBLISH_SOURCE, -1);
    rd_kafka_header_add(headers, "event_type", -1, event_type, -1);
    rd_kafka_header_add(headers, "event_id", -1, event_id, -1);
    rd_kafka_header_add(headers, "tenant_id", -1, tenant_id, -1);
    return headers;
}

/* Produces one event (the next after produced) to every enabled topic and puts it in the
   ring. The caller made sure there is room. */
static void s_produce(s_publish_t *self, const lk_event_t *event, const lk_incident_t *incident)
{
    size_t capacity = (size_t)self->config->window;
    s_slot_t *slot = &self->slots[(self->first + self->count) % capacity];
    slot->sequence = event->sequence;
    slot->pending = 0;
    slot->failed = false;
    self->count++;
    uint64_t token = self->next_token++;
    self->produced = event->sequence;

    size_t size = 0;
    char *value = publish_incident_message(event, incident, &size);
    if (s_produce_one(self, self->incidents_topic, incident->id, value, size, NULL, token)) {
        slot->pending++;
        self->in_flight++;
    } else
        slot->failed = true;
    const char *type = publish_service_event_type(event->type);
    if (self->service_topic && type) {
        char event_id[LK_UUID_STR_LEN + 1];
        publish_event_id(event, event_id);
        value = publish_service_event(event, incident, type, &size);
        rd_kafka_headers_t *headers = s_service_headers(type, event_id, incident->tenant_id);
        if (s_produce_one(self, self->service_topic, event_id, value, size, headers, token)) {
            slot->pending++;
            self->in_flight++;
        } else
            slot->failed = true;
    }
    if (slot->failed)
        s_failed(self);
}

/* Forgets everything past delivered and goes back to catch-up from there. Called once no
   report is outstanding, so no message of the old ring can still be counted. */
static void s_rewind(s_publish_t *self)
{
    lk_warn("publish: producing again from sequence %" PRIu64 " (%" PRIu64
            " events were in flight)",
            self->delivered + 1, self->produced - self->delivered);
    self->count = 0;
    self->first = 0;
    self->first_token = self->next_token;
    self->produced = self->delivered;
    self->rewind_wanted = false;
    self->rewinds++;
    self->live = false;
    self->next_query_ms = lk_mono_ms();
}

/* ---- store ----------------------------------------------------------------------------- */

/* Sends a query of kind; after_sequence for events queries. */
static void s_query_send(s_publish_t *self, s_query_t kind, uint64_t after, uint32_t limit)
{
    lk_msg_t request;
    lk_msg_init(&request, LK_MSG_QUERY);
    request.req = ++self->req;
    if (kind == S_QUERY_CURSOR) {
        request.query.kind = LK_QUERY_CURSOR_GET;
        request.query.consumer = strdup(self->config->consumer);
    } else {
        request.query.kind = LK_QUERY_EVENTS;
        request.query.after_sequence = after;
        request.query.limit = limit;
    }
    /* a refused send is a timeout like any other: retried when the deadline passes */
    lk_sock_send(self->queries, NULL, &request, self->tap, "publish>store");
    lk_msg_clear(&request);
    self->query = kind;
    self->query_req = self->req;
    self->query_limit = limit;
    self->query_deadline_ms = lk_mono_ms() + self->config->store_timeout_ms;
}

/* Sets the starting position once the cursor is known. */
static void s_cursor_set(s_publish_t *self, uint64_t cursor, bool forced)
{
    self->cursor_known = true;
    self->committed = self->delivered = self->produced = cursor;
    self->commit_forced = forced;
    self->live = false;
    self->next_query_ms = lk_mono_ms();
    lk_info("publish: consumer %s resumes after sequence %" PRIu64, self->config->consumer, cursor);
}

/* Produces the events of an events reply that come after produced. */
static void s_take_events(s_publish_t *self, const lk_msg_t *reply)
{
    for (size_t index = 0; index < reply->event_count && index < reply->incident_count; index++) {
        const lk_event_t *event = &reply->events[index];
        if (event->sequence <= self->produced)
            continue;
        if (event->sequence > self->produced + 1) {
            /* the outbox is gap-free except where retention removed rows */
            lk_warn("publish: events %" PRIu64 "..%" PRIu64
                    " were removed by outbox retention before they were published",
                    self->produced + 1, event->sequence - 1);
            self->gaps++;
        }
        s_produce(self, event, &reply->incidents[index]);
    }
}

static void s_on_query_reply(s_publish_t *self, lk_msg_t *reply)
{
    if (reply->type != LK_MSG_QUERY_REPLY || self->query == S_QUERY_NONE ||
        reply->req != self->query_req)
        return; /* the answer to a query that timed out */
    s_query_t kind = self->query;
    self->query = S_QUERY_NONE;
    int64_t now = lk_mono_ms();
    if (kind == S_QUERY_CURSOR) {
        if (reply->status == LK_STATUS_OK)
            s_cursor_set(self, reply->sequence, false);
        else if (reply->status == LK_STATUS_NOT_FOUND && self->config->start_now)
            s_query_send(self, S_QUERY_HEAD, UINT64_MAX, 1);
        else if (reply->status == LK_STATUS_NOT_FOUND)
            s_cursor_set(self, 0, false);
        else {
            lk_warn("publish: cursor_get failed: %s", reply->error ? reply->error : "?");
            self->next_query_ms = now + S_RETRY_MS;
        }
        return;
    }
    if (reply->status != LK_STATUS_OK) {
        lk_warn("publish: events query failed: %s", reply->error ? reply->error : "?");
        self->next_query_ms = now + S_RETRY_MS;
        return;
    }
    if (kind == S_QUERY_HEAD) {
        s_cursor_set(self, reply->last_sequence, true);
        return;
    }
    if (self->rewind_wanted)
        return; /* everything past delivered is produced again after the rewind */
    if (reply->last_sequence < self->produced && !self->ahead_logged) {
        /* a cursor from another (or a restored) database: store never lowers a cursor */
        lk_error("publish: cursor %" PRIu64 " is past the outbox's last event %" PRIu64
                 ": events up to it will not be published; start a new consumer "
                 "(LOOKOUT_PUBLISH_CONSUMER) to publish them",
                 self->produced, reply->last_sequence);
        self->ahead_logged = true;
    }
    s_take_events(self, reply);
    bool more = reply->event_count >= self->query_limit || reply->last_sequence > self->produced ||
                self->live_max > self->produced;
    self->live = !more;
    self->next_query_ms = more ? now : now + S_RECHECK_MS;
}

/* A live event from the SUB. */
static void s_on_live(s_publish_t *self, const lk_msg_t *msg)
{
    if (msg->type != LK_MSG_EVENT || msg->event_count != 1 || msg->incident_count != 1)
        return;
    const lk_event_t *event = &msg->events[0];
    if (event->sequence > self->live_max)
        self->live_max = event->sequence;
    if (!self->cursor_known || !self->live || self->rewind_wanted ||
        event->sequence <= self->produced)
        return;
    if (event->sequence == self->produced + 1 && s_room(self) > 0) {
        s_produce(self, event, &msg->incidents[0]);
        return;
    }
    self->live = false; /* a gap, or no room: page through the outbox instead */
    self->next_query_ms = lk_mono_ms();
}

static void s_commit_send(s_publish_t *self)
{
    lk_msg_t commit;
    lk_msg_init(&commit, LK_MSG_CURSOR_COMMIT);
    commit.req = ++self->req;
    commit.consumer = strdup(self->config->consumer);
    commit.sequence = self->delivered;
    lk_sock_send(self->mutations, NULL, &commit, self->tap, "publish>store");
    lk_msg_clear(&commit);
    int64_t now = lk_mono_ms();
    self->commit_in_flight = true;
    self->commit_req = self->req;
    self->commit_sequence = self->delivered;
    self->commit_deadline_ms = now + self->config->store_timeout_ms;
    self->last_commit_ms = now;
}

static void s_on_ack(s_publish_t *self, const lk_msg_t *ack)
{
    if (ack->type != LK_MSG_MUTATION_ACK || !self->commit_in_flight || ack->req != self->commit_req)
        return;
    self->commit_in_flight = false;
    if (ack->status != LK_STATUS_OK) {
        lk_error("publish: store refused cursor %" PRIu64 ": %s", self->commit_sequence,
                 ack->error ? ack->error : "?");
        return;
    }
    self->commit_forced = false;
    if (self->commit_sequence > self->committed)
        self->committed = self->commit_sequence;
}

/* ---- the loop -------------------------------------------------------------------------- */

/* Everything time or state calls for: rewinds, queries, commits. */
static void s_step(s_publish_t *self)
{
    int64_t now = lk_mono_ms();
    if (self->rewind_wanted && now >= self->rewind_at_ms && self->in_flight == 0)
        s_rewind(self);
    if (self->query != S_QUERY_NONE && now >= self->query_deadline_ms) {
        lk_warn("publish: store did not answer a query in %" PRId64 " ms",
                self->config->store_timeout_ms);
        self->query = S_QUERY_NONE;
        self->next_query_ms = now;
    }
    if (self->query == S_QUERY_NONE && now >= self->next_query_ms) {
        if (!self->cursor_known)
            s_query_send(self, S_QUERY_CURSOR, 0, 0);
        else if (!self->rewind_wanted) {
            uint64_t room = s_room(self);
            if (room > 0) {
                self->live = false;
                s_query_send(self, S_QUERY_EVENTS, self->produced,
                             (uint32_t)(room < S_PAGE_MAX ? room : S_PAGE_MAX));
            }
        }
    }
    if (self->commit_in_flight && now >= self->commit_deadline_ms)
        self->commit_in_flight = false; /* re-sent below: cursor commits are idempotent */
    uint64_t window = (uint64_t)self->config->window;
    /* a quarter of the window delivered is worth a commit at once: the window (counted from
       the committed cursor) must not stall waiting for the interval */
    bool due = now - self->last_commit_ms >= self->config->commit_interval_ms ||
               self->delivered - self->committed >= (window + 3) / 4;
    if (self->cursor_known && !self->commit_in_flight &&
        (self->commit_forced || (self->delivered > self->committed && due)))
        s_commit_send(self);
}

/* Milliseconds until s_step has something to do by time. What waits for a delivery report
   or an ack (room in the window, a rewind) is woken by that instead. */
static long s_timeout(const s_publish_t *self)
{
    int64_t now = lk_mono_ms();
    int64_t next = now + S_RECHECK_MS;
    bool can_query = !self->cursor_known || (!self->rewind_wanted && s_room(self) > 0);
    if (self->query != S_QUERY_NONE && self->query_deadline_ms < next)
        next = self->query_deadline_ms;
    if (self->query == S_QUERY_NONE && can_query && self->next_query_ms < next)
        next = self->next_query_ms;
    if (self->rewind_wanted && self->in_flight == 0 && self->rewind_at_ms < next)
        next = self->rewind_at_ms;
    if (self->commit_in_flight && self->commit_deadline_ms < next)
        next = self->commit_deadline_ms;
    if (!self->commit_in_flight && self->delivered > self->committed &&
        self->last_commit_ms + self->config->commit_interval_ms < next)
        next = self->last_commit_ms + self->config->commit_interval_ms;
    return next <= now ? 0 : (long)(next - now);
}

/* Receives one message from sock; false when there was none (or it was malformed). */
static bool s_recv(s_publish_t *self, zsock_t *sock, const char *label, lk_msg_t *msg)
{
    return lk_sock_recv(sock, NULL, msg, self->tap, label) == 0;
}

/* Handles a pipe command. Returns false on $TERM. */
static bool s_command(s_publish_t *self, zsock_t *pipe)
{
    char *command = zstr_recv(pipe);
    if (!command)
        return false;
    bool keep = strcmp(command, "$TERM") != 0;
    if (strcmp(command, "STATUS") == 0)
        zstr_sendf(pipe,
                   "produced=%" PRIu64 " delivered=%" PRIu64 " committed=%" PRIu64
                   " rewinds=%" PRIu64 " gaps=%" PRIu64,
                   self->produced, self->delivered, self->committed, self->rewinds, self->gaps);
    else if (keep)
        lk_warn("publish: unknown pipe command %s", command);
    zstr_free(&command);
    return keep;
}

/* $TERM: lets what is in flight be delivered for a while and commits the cursor, so a clean
   restart re-publishes nothing. */
static void s_drain(s_publish_t *self)
{
    int64_t deadline = lk_mono_ms() + S_SHUTDOWN_MS;
    while (self->count > 0 && !self->rewind_wanted && lk_mono_ms() < deadline)
        rd_kafka_poll(self->kafka, 50);
    if (self->delivered <= self->committed)
        return;
    s_commit_send(self);
    zpoller_t *poller = zpoller_new(self->mutations, NULL);
    zpoller_set_nonstop(poller, true); /* a signal brought us here: keep waiting for the ack */
    while (self->commit_in_flight && lk_mono_ms() < self->commit_deadline_ms) {
        if (!zpoller_wait(poller, 50))
            continue;
        lk_msg_t ack;
        if (s_recv(self, self->mutations, "publish<store", &ack))
            s_on_ack(self, &ack);
        lk_msg_clear(&ack);
    }
    zpoller_destroy(&poller);
    lk_info("publish: stopped at sequence %" PRIu64 " (committed %" PRIu64 ")", self->delivered,
            self->committed);
}

/* Brings the metrics (lk_metrics.h) up to date; a few atomic stores, every turn of the loop.
   The lag is what an operator watches: the outbox head (the newest sequence seen live or in
   a query) minus the cursor store has committed for this consumer. */
static void s_metrics_sync(s_publish_t *self)
{
    static lk_metrics_series_t *head, *delivered, *committed, *lag, *in_flight, *rewinds, *gaps;
    static uint64_t rewinds_seen, gaps_seen;
    if (!head) {
        head = lk_metrics_series(lk_metrics_gauge(
            "lookout_publish_head_sequence", "Newest outbox sequence publish has seen.", NULL));
        delivered = lk_metrics_series(
            lk_metrics_gauge("lookout_publish_delivered_sequence",
                             "Every event up to this sequence is delivered to Kafka.", NULL));
        committed = lk_metrics_series(
            lk_metrics_gauge("lookout_publish_committed_sequence",
                             "The cursor store has committed for publish.", NULL));
        lag = lk_metrics_series(
            lk_metrics_gauge("lookout_publish_lag_events",
                             "Outbox head sequence minus the published (committed) cursor.", NULL));
        in_flight = lk_metrics_series(
            lk_metrics_gauge("lookout_publish_inflight_messages",
                             "Kafka messages produced and not yet reported.", NULL));
        rewinds = lk_metrics_series(lk_metrics_counter(
            "lookout_publish_rewinds_total",
            "Times failed deliveries made publish produce again from the delivered cursor.", NULL));
        gaps = lk_metrics_series(lk_metrics_counter(
            "lookout_publish_gaps_total",
            "Live events that were not the next one (publish paged the outbox instead).", NULL));
    }
    if (!self->cursor_known)
        return;
    uint64_t newest = self->live_max > self->produced ? self->live_max : self->produced;
    lk_metrics_set(head, (double)newest);
    lk_metrics_set(delivered, (double)self->delivered);
    lk_metrics_set(committed, (double)self->committed);
    lk_metrics_set(lag, newest > self->committed ? (double)(newest - self->committed) : 0);
    lk_metrics_set(in_flight, (double)self->in_flight);
    /* a new actor in the same process (tests) starts its counts again from 0 */
    lk_metrics_add(rewinds, self->rewinds - (self->rewinds >= rewinds_seen ? rewinds_seen : 0));
    lk_metrics_add(gaps, self->gaps - (self->gaps >= gaps_seen ? gaps_seen : 0));
    rewinds_seen = self->rewinds;
    gaps_seen = self->gaps;
}

/* The idle actor: no brokers configured. */
static void s_idle(zsock_t *pipe)
{
    lk_info("publish: LOOKOUT_KAFKA_BROKERS is empty: nothing to publish to, idling");
    zsock_signal(pipe, 0);
    while (true) {
        char *command = zstr_recv(pipe);
        bool term = !command || strcmp(command, "$TERM") == 0;
        if (command && strcmp(command, "STATUS") == 0)
            zstr_send(pipe, "idle");
        zstr_free(&command);
        if (term)
            return;
    }
}

void publish_actor(zsock_t *pipe, void *args)
{
    const publish_config_t *config = args;
    assert(config && config->window > 0 && config->incidents_topic && config->consumer);
    if (!config->brokers || !*config->brokers) {
        s_idle(pipe);
        return;
    }
    s_publish_t self;
    memset(&self, 0, sizeof self);
    self.config = config;
    self.backoff_ms = S_BACKOFF_MIN_MS;
    self.slots = calloc((size_t)config->window, sizeof *self.slots);
    if (!self.slots)
        lk_fatal("publish: out of memory");
    self.tap = lk_tap_new(config->tap_endpoint);
    /* subscribe first (Clone pattern): nothing committed after the cursor read is missed */
    self.events = lk_sock_new(ZMQ_SUB, config->events_endpoint);
    self.queries = lk_sock_new(ZMQ_DEALER, config->query_endpoint);
    self.mutations = lk_sock_new(ZMQ_DEALER, config->store_endpoint);
    if (!self.events || !self.queries || !self.mutations)
        lk_fatal("publish: cannot connect to store (check the LOOKOUT_STORE_* endpoints)");
    s_kafka_start(&self);
    lk_info("publish: producing to %s%s%s at %s, consumer %s", config->incidents_topic,
            self.service_topic ? " and " : "",
            self.service_topic ? config->service_events_topic : "", config->brokers,
            config->consumer);
    zsock_signal(pipe, 0);

    zmq_pollitem_t items[] = {
        {zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self.events), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self.queries), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self.mutations), 0, ZMQ_POLLIN, 0},
        {NULL, self.wake[0], ZMQ_POLLIN, 0},
    };
    bool running = true;
    while (running) {
        s_kafka_serve(&self);
        s_step(&self);
        s_metrics_sync(&self);
        if (zmq_poll(items, 5, s_timeout(&self)) < 0) {
            if (errno == EINTR && !zsys_interrupted)
                continue;
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            running = s_command(&self, pipe);
        lk_msg_t msg;
        /* drain the SUB: live events arrive in bursts */
        while ((zsock_events(self.events) & ZMQ_POLLIN)) {
            if (s_recv(&self, self.events, "publish<events", &msg))
                s_on_live(&self, &msg);
            lk_msg_clear(&msg);
            s_kafka_serve(&self);
        }
        while ((zsock_events(self.queries) & ZMQ_POLLIN)) {
            if (s_recv(&self, self.queries, "publish<store", &msg))
                s_on_query_reply(&self, &msg);
            lk_msg_clear(&msg);
        }
        while ((zsock_events(self.mutations) & ZMQ_POLLIN)) {
            if (s_recv(&self, self.mutations, "publish<store", &msg))
                s_on_ack(&self, &msg);
            lk_msg_clear(&msg);
        }
    }
    s_drain(&self);
    s_kafka_stop(&self);
    zsock_destroy(&self.mutations);
    zsock_destroy(&self.queries);
    zsock_destroy(&self.events);
    lk_tap_destroy(&self.tap);
    free(self.slots);
}
