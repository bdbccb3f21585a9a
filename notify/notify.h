/*  notify — lookout-notify: a delivery worker. Run as many as the load needs (DESIGN §2.4).

    A worker PULLs notify_job messages from lookout-escalate, delivers each one (one attempt:
    build the channel's payload, check and pin the URL, send it over libcurl with the
    channel's timeout) and PUSHes back a notify_result: sent, failed (a refusal that
    repeating cannot fix: 4xx other than 408/425/429, a refused URL, a payload that cannot be
    built, the last allowed attempt) or retry with the time of the next attempt (the
    receiver's Retry-After, else exponential back-off with jitter). escalate records the
    result and decides; a worker keeps no state between jobs, so killing one loses nothing:
    its jobs come back to another worker when their lease ends.

    Channels, users and secrets come from the configuration file (LOOKOUT_CONFIG), read at
    start; escalate sends names, never secrets.
*/
#ifndef NOTIFY_NOTIFY_H
#define NOTIFY_NOTIFY_H

#include <czmq.h>

typedef struct {
    const char *jobs_endpoint;    /* escalate's PUSH (our PULL connects) */
    const char *results_endpoint; /* escalate's PULL (our PUSH connects) */
    const char *config_path;      /* LOOKOUT_CONFIG */
    const char *tap_endpoint;     /* NULL = no tap */
} notify_config_t;

/* Fills config from the environment (env.example). */
void notify_config_from_env(notify_config_t *config);

/* zactor body: args is a notify_config_t* that outlives the actor. lk_fatal when the
   configuration cannot be loaded. */
void notify_actor(zsock_t *pipe, void *args);

#endif
