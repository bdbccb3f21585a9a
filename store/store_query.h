/*  store_query — answers query messages (lk_query_t) from the database.

    store_query_actor serves the query ROUTER on its own thread and its own read-only
    database connection, so reads never wait behind the writer's transactions.
    store_query_answer is the socket-free core: one query message in, one query_reply out.
*/
#ifndef STORE_QUERY_H
#define STORE_QUERY_H

#include <czmq.h>

#include "lk_msg.h"
#include "lk_tap.h"
#include "store_db.h"

#define STORE_LIST_LIMIT_DEFAULT     100
#define STORE_LIST_LIMIT_MAX         500
#define STORE_LIST_LABELS_MAX        16 /* label filters in one list query */
#define STORE_SNAPSHOT_LIMIT_DEFAULT 500
#define STORE_SNAPSHOT_LIMIT_MAX     5000
/* Alerts (by the incidents' alert_count) after which a snapshot page ends early. */
#define STORE_SNAPSHOT_ALERTS_MAX  20000
#define STORE_EVENTS_LIMIT_DEFAULT 100
#define STORE_EVENTS_LIMIT_MAX     1000
#define STORE_TIMELINE_MAX         10000 /* alerts, and events, in one get_incident */

/* Fills reply (initialised here as a query_reply echoing request->req) with the answer to
   request. Content problems become status invalid / not_found, database failures status
   error with a message. request may be normalised in place (UUIDs lower-cased). Returns
   STORE_DB_OK, or STORE_DB_LOST when the connection is gone (the caller exits). */
int store_query_answer(store_db_t *db, lk_msg_t *request, lk_msg_t *reply);

typedef struct {
    const char *database_url;
    const char *endpoint; /* ROUTER, bound */
    lk_tap_t *tap;        /* may be NULL; shared, thread-safe */
} store_query_config_t;

/* zactor body: args is a store_query_config_t* that outlives the actor. Opens its own
   connection (lk_fatal when it cannot), binds, signals, serves until "$TERM". */
void store_query_actor(zsock_t *pipe, void *args);

#endif
