/*  publish — lookout-publish: the events outbox to Kafka (DESIGN §2.3, §4; docs/events.md).

    publish_actor follows store's event stream the zguide "Clone" way: it subscribes to the
    events PUB first, then reads its committed cursor (cursor_get), then pages through the
    outbox after it (events query), then follows live events, dropping the ones it already
    has and re-asking store on a gap. Each event is produced with librdkafka (idempotent
    producer, acks=all) to the incidents topic and, for lifecycle events, to service_events
    (publish_format.h). A delivery report is the authority: the cursor is committed to store
    (cursor_commit) only past events whose every message was delivered, contiguously.

    Bounds: at most `window` events are produced past the committed cursor, so a publisher
    killed at any moment re-publishes at most `window` events when it restarts (with the same
    event_id: consumers deduplicate). A permanently failed delivery re-produces everything
    from the first undelivered event (never skips), after a back-off.

    With no brokers configured the actor idles: it signals ready and waits for "$TERM".
*/
#ifndef PUBLISH_H
#define PUBLISH_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *brokers;              /* LOOKOUT_KAFKA_BROKERS; NULL/"" = idle */
    const char *incidents_topic;      /* LOOKOUT_KAFKA_INCIDENTS_TOPIC */
    const char *service_events_topic; /* LOOKOUT_KAFKA_SERVICE_EVENTS_TOPIC; NULL/"" = off */
    const char *consumer;             /* LOOKOUT_PUBLISH_CONSUMER: the cursor's name */
    bool start_now;                   /* LOOKOUT_PUBLISH_START=now (vs beginning): where a
                                         consumer without a cursor starts */
    const char *store_endpoint;       /* store mutation ROUTER (cursor_commit) */
    const char *query_endpoint;       /* store query ROUTER */
    const char *events_endpoint;      /* store events PUB */
    const char *tap_endpoint;         /* LOOKOUT_PUBLISH_TAP; NULL = no tap */
    int window;                       /* LOOKOUT_PUBLISH_WINDOW: events past the cursor */
    int64_t store_timeout_ms;         /* LOOKOUT_STORE_TIMEOUT_MS */
    int64_t commit_interval_ms;       /* LOOKOUT_PUBLISH_COMMIT_INTERVAL_MS */
    int64_t message_timeout_ms;       /* LOOKOUT_KAFKA_MESSAGE_TIMEOUT_MS; 0 = never */
    char *kafka_properties;           /* LOOKOUT_KAFKA_PROPERTIES ("k=v;k=v", owned, may
                                         hold credentials: never logged); NULL = none */
} publish_config_t;

/* Fills config from the environment (env.example). */
void publish_config_from_env(publish_config_t *config);
/* Frees what config owns (the Kafka properties). */
void publish_config_clear(publish_config_t *config);

/* zactor body: args is a publish_config_t* that outlives the actor. Signals the pipe once
   its sockets are set up (or at once when idle). Pipe commands: "$TERM" (delivers what is
   in flight for up to 5 s, commits the cursor, stops) and "STATUS", answered with one
   string "produced=N delivered=N committed=N rewinds=N gaps=N". lk_fatal when Kafka
   reports a fatal error (the restart resumes from the committed cursor). */
void publish_actor(zsock_t *pipe, void *args);

#endif
