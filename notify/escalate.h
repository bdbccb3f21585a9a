/*  escalate — lookout-escalate: escalation policies, on-call schedules and their timers; one
    per database (DESIGN §1, §2.4).

    It follows store's committed events (Clone pattern: subscribe, read its cursor through
    store, replay the outbox after it, then follow live events, re-asking on a gap) and
    keeps, per open incident, where its escalation stands. A triggered (or reopened)
    incident gets the policy lk_config_select_policy picks; each level step notifies the
    level's targets (on-call users of schedules, users, channels), one notification per
    channel and recipient. Every step is a row of `escalations`, every notification a row
    of `notifications`, both written through store's mutation socket; a notification is
    handed to a lookout-notify worker (PUSH) only after its pending row is committed, and
    is handed out again when no result came back (PULL) within its lease.

    Acknowledgement stops the escalation (an acknowledgement with a timeout resumes it from
    the first level when it lapses); resolve stops everything, cancels what has not been
    delivered and sends resolve messages where the channel supports one (PagerDuty
    resolve, Slack/Discord/email "resolved", webhook, Deckhand). PagerDuty and webhooks
    also get acknowledgements. The cursor (consumer "escalate") is committed after the
    rows the events produced.

    At start it rebuilds its timers from the database (query escalation_state: the latest
    step of every non-closed incident, pending notifications, delivered triggers) before
    replaying events; steps that fell due while it was down are taken at once.
*/
#ifndef NOTIFY_ESCALATE_H
#define NOTIFY_ESCALATE_H

#include <czmq.h>
#include <stdint.h>

#define ESCALATE_CONSUMER "escalate" /* its cursor's name in consumer_cursors */

typedef struct {
    const char *store_endpoint;        /* store's mutation ROUTER (DEALER connects) */
    const char *store_query_endpoint;  /* store's query ROUTER (DEALER connects) */
    const char *store_events_endpoint; /* store's events PUB (SUB connects) */
    const char *jobs_endpoint;         /* PUSH, bound: workers connect their PULL */
    const char *results_endpoint;      /* PULL, bound: workers connect their PUSH */
    const char *config_path;           /* LOOKOUT_CONFIG; NULL/"" = no policies */
    const char *tap_endpoint;          /* NULL = no tap */
    int64_t lease_ms;                  /* a dispatched job is dispatched again after this */
    int64_t store_timeout_ms;          /* re-send an unacknowledged write after this */
} escalate_config_t;

/* Fills config from the environment (env.example: LOOKOUT_NOTIFY_*, LOOKOUT_STORE_*). */
void escalate_config_from_env(escalate_config_t *config);

/* zactor body: args is an escalate_config_t* that outlives the actor. Loads the
   configuration, binds, rebuilds from store and signals the pipe; lk_fatal when the
   configuration is unusable, a socket cannot be bound or store does not answer. */
void escalate_actor(zsock_t *pipe, void *args);

#endif
