/*  store — the sole database writer (DESIGN §1-3).

    store_actor serves three sockets: a ROUTER for mutation batches from correlate (group
    commit, ack after COMMIT, in order), a ROUTER for queries (served on its own database
    connection and thread, so reads never wait behind writes), and a PUB that announces
    each committed event with its outbox sequence.
*/
#ifndef STORE_H
#define STORE_H

#include <czmq.h>

typedef struct {
    const char *database_url;       /* "sqlite:PATH" or "postgresql://..." */
    const char *mutation_endpoint;  /* ROUTER, bound */
    const char *query_endpoint;     /* ROUTER, bound */
    const char *events_endpoint;    /* PUB, bound */
    const char *tap_endpoint;       /* NULL = no tap */
    int batch_max;                  /* mutation batches per transaction */
} store_config_t;

/* Fills config from LOOKOUT_* environment variables (env.example). */
void store_config_from_env(store_config_t *config);

/* zactor body: args is a store_config_t* that outlives the actor. Signals the pipe once
   the database is migrated and every socket is bound; lk_fatal when the database cannot
   be opened or is lost. */
void store_actor(zsock_t *pipe, void *args);

#endif
