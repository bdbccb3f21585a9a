/*  lk_msg — the internal wire protocol: every message type, its fields, who sends it.

    Framing: one ZeroMQ frame per message (plus the identity frame ROUTER sockets add), holding
    one msgpack map. Every map carries the envelope:
        "type"    str   message type name below                      (required)
        "v"       uint  protocol version, LK_MSG_VERSION              (required)
        "req"     uint  request id / batch id; replies echo it        (required)
        "tenant"  str   tenant UUID, for tenant-scoped messages       (optional)
    Keys a decoder does not know are ignored (forward compatibility); a known key with the
    wrong type, a string over LK_MSG_MAX_STR, an array over LK_MSG_MAX_ITEMS or a missing
    required field makes the whole message malformed: lk_msg_decode returns -1 with a reason,
    and the receiver logs it, counts it and carries on (never asserts).

    Entities inside messages use these maps (all keys short snake_case, times int ms):
      alert    {tenant, fingerprint, incident_id, source, name, query?, dedup_key?,
                generator_url?, labels{str:str}, annotations{str:str}, severity str,
                status str, value? float, threshold? float, starts_at, ends_at, updated_at}
      incident {id, tenant, group_key, title, summary, acknowledged_by?, resolved_by?,
                group_labels{str:str}, severity str, status str, alert_count, firing_count,
                reopen_count, version, created_at, updated_at, acknowledged_at, resolved_at}
      event    {sequence, event_id, tenant, incident_id, type, actor, note?, fingerprint?, at}
      result   {outcome str, fingerprint, incident_id}

    Message types                       sender → receiver      fields besides the envelope
    ---------------------------------------------------------------------------------------
    alert_batch      ingest → correlate          tenant, alerts[]
    alert_reply      correlate → ingest          status, error?, results[] (one per alert,
                                                 same order)
    command          ingest → correlate          tenant, action, incident_id, actor, note?
    command_reply    correlate → ingest          status, error?, changed, incidents[0..1]
    mutation_batch   correlate → store           alerts[], incidents[], events[] (absolute
                                                 states: applying a batch twice = once)
    mutation_ack     store → correlate           status, error?  (req = the batch's req)
    query            ingest|correlate → store    tenant?, query{...} (see lk_query_t)
    query_reply      store → asker               status, error?, incidents[], alerts[],
                                                 events[], next_cursor?
    event            store → PUB subscribers     tenant, events[1], incidents[1] (the
                                                 incident as of that event)
*/
#ifndef LK_MSG_H
#define LK_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_model.h"

#define LK_MSG_VERSION   1
#define LK_MSG_MAX_STR   (64 * 1024)  /* longest string field, bytes */
#define LK_MSG_MAX_ITEMS (256 * 1024) /* longest array / map */

typedef enum {
    LK_MSG_INVALID = 0,
    LK_MSG_ALERT_BATCH,
    LK_MSG_ALERT_REPLY,
    LK_MSG_COMMAND,
    LK_MSG_COMMAND_REPLY,
    LK_MSG_MUTATION_BATCH,
    LK_MSG_MUTATION_ACK,
    LK_MSG_QUERY,
    LK_MSG_QUERY_REPLY,
    LK_MSG_EVENT,
    LK_MSG_TYPE_COUNT
} lk_msg_type_t;

/* Reply status, wire names: ok, not_found, conflict, invalid, unavailable, error. */
typedef enum {
    LK_STATUS_OK = 0,
    LK_STATUS_NOT_FOUND,   /* no such incident for this tenant */
    LK_STATUS_CONFLICT,    /* command not allowed in the incident's state */
    LK_STATUS_INVALID,     /* request understood but its content is wrong */
    LK_STATUS_UNAVAILABLE, /* a downstream did not answer; retry later (→ HTTP 503) */
    LK_STATUS_ERROR,       /* internal failure */
} lk_status_t;

/* Per-alert outcome in alert_reply, wire names: new, changed, unchanged, ignored.
   new: first sight of this alert; changed: stored state changed; unchanged: a re-send acked
   from memory; ignored: nothing to do (e.g. a resolve for an alert never seen). */
typedef enum {
    LK_OUTCOME_NEW = 0,
    LK_OUTCOME_CHANGED,
    LK_OUTCOME_UNCHANGED,
    LK_OUTCOME_IGNORED,
} lk_outcome_t;

typedef struct {
    lk_outcome_t outcome;
    char fingerprint[LK_FINGERPRINT_STR_LEN + 1];
    char incident_id[LK_UUID_STR_LEN + 1];
} lk_alert_result_t;

/* command actions, wire names: acknowledge, resolve. */
typedef enum { LK_ACTION_ACKNOWLEDGE = 0, LK_ACTION_RESOLVE } lk_action_t;

/* query kinds, wire names: list_incidents, get_incident, snapshot, events. */
typedef enum {
    LK_QUERY_LIST_INCIDENTS = 0, /* tenant's incidents, newest first, filtered, paginated */
    LK_QUERY_GET_INCIDENT,       /* one incident + its alerts + its timeline (events) */
    LK_QUERY_SNAPSHOT,           /* correlate rebuild: non-closed incidents and their alerts
                                    for tenants of one shard, all tenants; paginated */
    LK_QUERY_EVENTS,             /* outbox rows with sequence > after_sequence, ascending */
} lk_query_kind_t;

/* The "query" map: {kind, status_mask?, severity_min?, since?, until?, labels?{}, limit?,
   cursor?, incident_id?, shard_count?, shard_index?, after_sequence?}. */
typedef struct {
    lk_query_kind_t kind;
    uint32_t status_mask;    /* list: bit (1u << lk_incident_status_t); 0 = any */
    int32_t severity_min;    /* list: -1 = any, else lk_severity_t */
    int64_t since_ms;        /* list: created_at >= since (0 = unbounded) */
    int64_t until_ms;        /* list: created_at <  until (0 = unbounded) */
    lk_labels_t labels;      /* list: every pair must equal a group label of the incident */
    uint32_t limit;          /* list/snapshot/events: page size (0 = default 100) */
    char *cursor;            /* list/snapshot: opaque, from the previous reply's next_cursor */
    char incident_id[LK_UUID_STR_LEN + 1]; /* get_incident */
    uint32_t shard_count;    /* snapshot: 0 or 1 = every tenant */
    uint32_t shard_index;    /* snapshot: tenants with lk_shard_of(tenant, count) == index */
    uint64_t after_sequence; /* events */
} lk_query_t;

/* One struct for every message type; which fields a type uses is in the table above.
   Everything pointed to is owned by the message and freed by lk_msg_clear. */
typedef struct {
    lk_msg_type_t type;
    uint64_t req;
    char tenant_id[LK_UUID_STR_LEN + 1]; /* "" when not tenant-scoped */
    lk_status_t status;                  /* replies */
    char *error;                         /* replies, when status != ok */
    bool changed;                        /* command_reply */
    lk_action_t action;                  /* command */
    char incident_id[LK_UUID_STR_LEN + 1]; /* command */
    char *actor;                         /* command */
    char *note;                          /* command */
    char *next_cursor;                   /* query_reply */
    lk_query_t query;                    /* query */
    lk_alert_t *alerts;
    size_t alert_count;
    lk_incident_t *incidents;
    size_t incident_count;
    lk_event_t *events;
    size_t event_count;
    lk_alert_result_t *results;
    size_t result_count;
} lk_msg_t;

/* Zeroes msg and sets its type (and query.severity_min = -1). */
void lk_msg_init(lk_msg_t *msg, lk_msg_type_t type);
/* Frees everything msg owns and zeroes it (type becomes LK_MSG_INVALID). */
void lk_msg_clear(lk_msg_t *msg);

/* Appends a deep copy of the item to the message's array. Return 0, -1 on OOM. */
int lk_msg_add_alert(lk_msg_t *msg, const lk_alert_t *alert);
int lk_msg_add_incident(lk_msg_t *msg, const lk_incident_t *incident);
int lk_msg_add_event(lk_msg_t *msg, const lk_event_t *event);
int lk_msg_add_result(lk_msg_t *msg, const lk_alert_result_t *result);

/* Encodes msg. On success returns 0 and *data (malloc'd, caller frees) / *size.
   Returns -1 only on OOM or on a programming error (invalid type). */
int lk_msg_encode(const lk_msg_t *msg, char **data, size_t *size);

/* Decodes size bytes into msg (which it initialises). Returns 0, or -1 with a one-line reason
   in err (e.g. "alert_batch: alerts[3].labels: value is not a string") and msg cleared.
   Never reads outside [data, data+size), never asserts on content. */
int lk_msg_decode(const void *data, size_t size, lk_msg_t *msg, char *err, size_t err_size);

const char *lk_msg_type_name(lk_msg_type_t type);
const char *lk_status_name(lk_status_t status);
const char *lk_outcome_name(lk_outcome_t outcome);
const char *lk_action_name(lk_action_t action);

/* Renders any msgpack buffer as one line of JSON (binary as base64, non-UTF-8 escaped);
   for lookout-tap and logs. Returns a malloc'd string, or NULL when the bytes are not
   msgpack. */
char *lk_msgpack_to_json(const void *data, size_t size);

/* One incident as a standalone msgpack map (the `incident` column of the events outbox).
   Same contracts as lk_msg_encode / lk_msg_decode. */
int lk_incident_encode(const lk_incident_t *incident, char **data, size_t *size);
int lk_incident_decode(const void *data, size_t size, lk_incident_t *incident, char *err,
                       size_t err_size);

/* The correlate shard that owns a tenant: FNV-1a 64 of the tenant id modulo shard_count. */
uint32_t lk_shard_of(const char *tenant_id, uint32_t shard_count);

#endif
