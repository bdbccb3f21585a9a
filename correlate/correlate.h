/*  correlate — dedup, grouping and incident lifecycle for one shard of tenants (DESIGN §1-3).

    correlate_actor rebuilds its memory from store (snapshot query), then binds its ROUTER
    and serves alert_batch and command requests from ingest, sending the resulting
    mutation batches to store and answering each request once store committed what it
    changed (or at once, from memory, when it changed nothing).
*/
#ifndef CORRELATE_H
#define CORRELATE_H

#include <czmq.h>
#include <stdint.h>

typedef struct {
    const char *frontend_endpoint;    /* ROUTER, bound: ingest connects */
    const char *store_endpoint;       /* DEALER to store's mutation ROUTER */
    const char *store_query_endpoint; /* DEALER to store's query ROUTER */
    const char *tap_endpoint;         /* NULL = no tap */
    const char *group_by;             /* comma-separated label names, e.g. "alertname" */
    int64_t reopen_window_ms;
    int64_t store_timeout_ms;
    uint32_t shard_count; /* 1 = this process owns every tenant */
    uint32_t shard_index;
    const char *config_path;  /* LOOKOUT_CONFIG: routes, inhibit_rules, heartbeats;
                                 NULL = the defaults */
    int64_t restart_grace_ms; /* LOOKOUT_RESOLVE_TIMEOUT_S: after a (re)load no firing alert
                                 ends by its endsAt before this has passed */
} correlate_config_t;

/* Fills config from the environment (env.example): LOOKOUT_CORRELATE_ENDPOINT,
   LOOKOUT_STORE_ENDPOINT, LOOKOUT_STORE_QUERY_ENDPOINT, LOOKOUT_CORRELATE_TAP,
   LOOKOUT_GROUP_BY, LOOKOUT_REOPEN_WINDOW_S, LOOKOUT_STORE_TIMEOUT_MS, and
   LOOKOUT_CORRELATE_SHARD_COUNT (1) / LOOKOUT_CORRELATE_SHARD_INDEX (0), LOOKOUT_CONFIG,
   LOOKOUT_RESOLVE_TIMEOUT_S (300: the restart grace of alerts' end timers).
   Strings point into the environment. Exits via lk_fatal on a malformed value. */
void correlate_config_from_env(correlate_config_t *config);

/* zactor body: args is a correlate_config_t* that outlives the actor. Reads the
   configuration file (lk_fatal when it is invalid), loads its shard from store (retrying
   every second until store answers), binds the frontend, then signals the pipe; serves
   until "$TERM". lk_fatal when an endpoint is unusable.

   Reload: on the pipe command "RELOAD" (which lk_daemon sends on SIGHUP) the actor
   reads the file again. An invalid file is logged and changes nothing. A valid one is
   applied once the mutations in flight are committed: the actor stops reading requests,
   waits for store's last ack and rebuilds its memory from store under the new
   configuration (like a restart, without dropping its sockets). New routes, inhibit rules
   and monitors apply from then on; existing incidents keep their group key and policy. */
void correlate_actor(zsock_t *pipe, void *args);

#endif
