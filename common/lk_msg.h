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
                status str, value? float, threshold? float, starts_at, ends_at, updated_at,
                state? str (active|inhibited|silenced; absent = active), suppressed_by?}
      incident {id, tenant, group_key, title, summary, acknowledged_by?, resolved_by?,
                group_labels{str:str}, severity str, status str, alert_count, firing_count,
                reopen_count, version, created_at, updated_at, acknowledged_at, resolved_at,
                ack_expires_at?, policy?, sources?[str], group_wait_until?}
      event    {sequence, event_id, tenant, incident_id, type, actor, note?, fingerprint?, at}
      result   {outcome str, fingerprint, incident_id}
      notification {id, tenant, incident_id, policy, level, channel, target, kind str,
                attempt, status str, response_code, error?, idempotency_key, lease_until,
                next_attempt_at, created_at, updated_at}
      escalation {id, tenant, incident_id, policy, step, level, cycle, target, status,
                note?, event_sequence, next_at, created_at, updated_at}
      override {id, tenant, schedule, user, created_by, starts_at, ends_at, created_at}
      silence  {id, tenant, matchers[{name, value, is_regex bool, is_equal bool}], starts_at,
                ends_at, created_by, comment, created_at, updated_at}
      heartbeat {tenant, name, interval, grace (ms), severity str, labels{str:str},
                last_ping_at, missed bool, created_at, updated_at, given? (ping: which
                settings it carries, LK_HEARTBEAT_GIVEN_*)}
      update   {id, tenant, incident_id, message, visibility str (public|private), status?
                str (investigating|identified|monitoring|resolved), title?, author,
                created_at}
      token    {id, tenant, name, hash (SHA-256 hex of the ingest token), hint, scopes str
                (comma list), created_by, created_at, revoked_at (0 = valid)}

    Message types                       sender → receiver      fields besides the envelope
    ---------------------------------------------------------------------------------------
    alert_batch      ingest → correlate          tenant, alerts[]
    alert_reply      correlate → ingest          status, error?, results[] (one per alert,
                                                 same order)
    command          ingest → correlate          tenant, action, incident_id, fingerprint?,
                                                 actor, note? (incident_id "" + fingerprint:
                                                 the incident of that alert of the tenant)
    command_reply    correlate → ingest          status, error?, changed, incidents[0..1]
    mutation_batch   correlate → store           alerts[], incidents[], events[] (absolute
                     escalate|ingest → store     states: applying a batch twice = once),
                                                 notifications[]?, escalations[]?,
                                                 overrides[]? (escalate: steps and jobs;
                                                 ingest: POST /oncall/overrides)
    mutation_ack     store → correlate           status, error?  (req = the batch's req)
    query            ingest|correlate → store    tenant?, query{...} (see lk_query_t)
    query_reply      store → asker               status, error?, incidents[], alerts[],
                                                 events[], next_cursor?, sequence?,
                                                 first_sequence?, last_sequence? (the
                                                 sequences: see lk_msg_t)
    event            store → PUB subscribers     tenant, events[1], incidents[1] (the
                                                 incident as of that event)
    cursor_commit    publish|escalate → store    consumer, sequence: every outbox event up to
                     (mutation ROUTER)           sequence is done for that consumer; applied
                                                 in the group-commit transaction, acked with
                                                 mutation_ack; a cursor never moves backwards
    notify_job       escalate → notify (PUSH)    tenant, notifications[1] (status pending,
                                                 attempt, lease_until), incidents[1] (as
                                                 now), alerts[0..LK_NOTIFY_JOB_ALERTS] (for
                                                 labels, annotations, links)
    notify_result    notify → escalate (PUSH)    tenant, notifications[1]: id, attempt, status
                                                 sent|failed|retry, response_code, error?,
                                                 next_attempt_at (retry: not before);
                                                 consumer? the worker's name (escalate sizes
                                                 how many jobs it hands out by the workers
                                                 it hears from)
    silence_command  ingest → correlate          tenant, action str (create|expire),
                                                 actor, silences[1] (create: id "" = new,
                                                 else an update of that silence; expire:
                                                 only the id counts)
    heartbeat_ping   ingest → correlate          tenant, heartbeats[1] (name, and the
                                                 settings named by its `given` bits)
    control_reply    correlate → ingest          status, error?, changed, silences[],
                                                 heartbeats[] (the object after the request)
    mutation_batch   correlate → store           also silences[]?, heartbeats[]? (absolute
                                                 rows), and alerts with incident_id "":
                                                 held alerts (state inhibited|silenced and
                                                 firing: upsert; otherwise: no longer held)
    query_reply      store → asker               also silences[]?, heartbeats[]? (snapshot:
                                                 first page carries the shard's unexpired
                                                 silences, monitors and held alerts)
    command (ack)    ingest → correlate          ack_timeout_s? on acknowledge: the
                                                 acknowledgement lapses after it
                                                 (incident.ack_expires_at) and escalation
                                                 resumes
    mutation_batch   ingest → store              also updates[]? (POST /incidents/{id}/
                                                 updates: inserted once by id) with
                                                 events[1] (incident_update_posted) in the
                                                 same transaction
    query_reply      store → asker               also updates[]? (get_incident: all of the
                                                 incident's; status_page: public ones only)
    mutation_batch   ingest → store              also tokens[]? (POST /tokens, DELETE
                                                 /tokens/{id}: absolute rows, upserted by
                                                 id; revoked_at once set stays set)
    query_reply      store → asker               also tokens[]? (list_ingest_tokens,
                                                 ingest_token_by_hash)
    mutation_batch   correlate → store           also alert_ends[]? {tenant, incident_id,
                                                 fingerprint, ends_at, updated_at}: a firing
                                                 alert of an incident whose endsAt passed
                                                 without a re-send is resolved at ends_at.
                                                 PARTIAL (correlate keeps no alert content):
                                                 store sets only status, ends_at, updated_at
                                                 of the existing row, where its updated_at
                                                 is not newer; applied after alerts[], so a
                                                 full row of the same batch comes first
*/
#ifndef LK_MSG_H
#define LK_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_model.h"

#define LK_MSG_VERSION       1
#define LK_MSG_MAX_STR       (64 * 1024)  /* longest string field, bytes */
#define LK_MSG_MAX_ITEMS     (256 * 1024) /* longest array / map */
#define LK_NOTIFY_JOB_ALERTS 10           /* alerts a notify_job carries at most */

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
    LK_MSG_CURSOR_COMMIT,
    LK_MSG_NOTIFY_JOB,
    LK_MSG_NOTIFY_RESULT,
    LK_MSG_SILENCE_COMMAND,
    LK_MSG_HEARTBEAT_PING,
    LK_MSG_CONTROL_REPLY,
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

/* silence_command actions, wire names: create, expire. */
typedef enum { LK_SILENCE_CREATE = 0, LK_SILENCE_EXPIRE } lk_silence_action_t;

/* query kinds, wire names: list_incidents, get_incident, snapshot, events, cursor_get,
   escalation_state, oncall_overrides, list_silences, get_silence, list_heartbeats,
   list_suppressed, status_page, list_ingest_tokens, ingest_token_by_hash. */
typedef enum {
    LK_QUERY_LIST_INCIDENTS = 0,   /* tenant's incidents, newest first, filtered, paginated */
    LK_QUERY_GET_INCIDENT,         /* one incident + its alerts + its timeline (events) */
    LK_QUERY_SNAPSHOT,             /* correlate rebuild: non-closed incidents and their alerts
                                      for tenants of one shard, all tenants; paginated */
    LK_QUERY_EVENTS,               /* outbox rows with sequence > after_sequence, ascending;
                                      the reply's first/last_sequence bound the outbox */
    LK_QUERY_CURSOR_GET,           /* a consumer's committed cursor: reply sequence, or
                                      not_found when that consumer never committed one */
    LK_QUERY_ESCALATION_STATE,     /* escalate rebuild: the latest escalations row of every
                                      non-closed incident (escalations[]) with its incident
                                      (incidents[]) and its pending and sent notifications
                                      (notifications[]); all tenants; paginated by incident
                                      id (cursor) */
    LK_QUERY_ONCALL_OVERRIDES,     /* the tenant's overrides[] that end after since and start
                                      before until (0 = unbounded), by starts_at */
    LK_QUERY_LIST_SILENCES,        /* the tenant's silences[], newest first; status_mask bits
                                      (1u << lk_silence_state_t) filter, 0 = all; limit */
    LK_QUERY_GET_SILENCE,          /* the tenant's silence silence_id (silences[1]) */
    LK_QUERY_LIST_HEARTBEATS,      /* the tenant's heartbeat monitors (heartbeats[]) by name */
    LK_QUERY_LIST_SUPPRESSED,      /* the tenant's held alerts (alerts[], incident_id ""),
                                      status_mask bits (1u << lk_alert_state_t), 0 = all */
    LK_QUERY_STATUS_PAGE,          /* a status page's material, one snapshot: the tenant's
                                      incidents open now or resolved at/after since (newest
                                      first, at most limit), alerts[] with only incident_id and
                                      labels (to map incidents to components), the PUBLIC
                                      updates[] of those incidents (oldest first), and the
                                      tenant's pending and active silences[] */
    LK_QUERY_LIST_INGEST_TOKENS,   /* the tenant's ingest tokens (tokens[]), revoked ones
                                      too, newest first */
    LK_QUERY_INGEST_TOKEN_BY_HASH, /* the token whose hash is token_hash, of any tenant
                                      (tokens[0..1]; no tenant in the request): how ingest
                                      learns which tenant an ingest token stands for */
} lk_query_kind_t;

/* The "query" map: {kind, status_mask?, severity_min?, since?, until?, labels?{}, limit?,
   cursor?, incident_id?, shard_count?, shard_index?, after_sequence?, consumer?,
   silence_id?, token_hash?}. */
typedef struct {
    lk_query_kind_t kind;
    uint32_t status_mask; /* list: bit (1u << lk_incident_status_t); 0 = any */
    int32_t severity_min; /* list: -1 = any, else lk_severity_t */
    int64_t since_ms;     /* list: created_at >= since (0 = unbounded) */
    int64_t until_ms;     /* list: created_at <  until (0 = unbounded) */
    lk_labels_t labels;   /* list: every pair must equal a group label of the incident */
    uint32_t limit;       /* list/snapshot/events: page size (0 = default 100) */
    char *cursor;         /* list/snapshot: opaque, from the previous reply's next_cursor */
    char incident_id[LK_UUID_STR_LEN + 1]; /* get_incident */
    uint32_t shard_count;                  /* snapshot: 0 or 1 = every tenant */
    uint32_t shard_index;    /* snapshot: tenants with lk_shard_of(tenant, count) == index */
    uint64_t after_sequence; /* events */
    char *consumer;          /* cursor_get (required there) */
    char silence_id[LK_UUID_STR_LEN + 1];   /* get_silence */
    char token_hash[LK_TOKEN_HASH_LEN + 1]; /* ingest_token_by_hash (wire "token_hash") */
} lk_query_t;

/* A partial alert mutation (mutation_batch alert_ends[], wire map {tenant, incident_id,
   fingerprint, ends_at, updated_at}, all required): the alert of that incident ended at
   ends_at. Fixed-size: nothing to free. */
typedef struct {
    char tenant_id[LK_UUID_STR_LEN + 1];
    char incident_id[LK_UUID_STR_LEN + 1];
    char fingerprint[LK_FINGERPRINT_STR_LEN + 1];
    int64_t ends_at_ms;
    int64_t updated_at_ms;
} lk_alert_end_t;

/* One struct for every message type; which fields a type uses is in the table above.
   Everything pointed to is owned by the message and freed by lk_msg_clear. */
typedef struct {
    lk_msg_type_t type;
    uint64_t req;
    char tenant_id[LK_UUID_STR_LEN + 1];          /* "" when not tenant-scoped */
    lk_status_t status;                           /* replies */
    char *error;                                  /* replies, when status != ok */
    bool changed;                                 /* command_reply */
    lk_action_t action;                           /* command */
    lk_silence_action_t silence_action;           /* silence_command ("action" on the wire) */
    char incident_id[LK_UUID_STR_LEN + 1];        /* command; "" when fingerprint names the alert */
    char fingerprint[LK_FINGERPRINT_STR_LEN + 1]; /* command: the alert whose current incident
                                                     is meant (PagerDuty dedup_key); or "" */
    char *actor;                                  /* command */
    char *note;                                   /* command */
    uint32_t ack_timeout_s; /* command (acknowledge): 0 = the ack never lapses */
    char *next_cursor;      /* query_reply */
    char *consumer; /* cursor_commit: "publish", "escalate", ...; notify_result: the worker */
    /* cursor_commit: the cursor to store. query_reply to cursor_get: the stored cursor. */
    uint64_t sequence;
    /* query_reply to events: the lowest and highest sequence in the outbox when it was read
       (0 = empty). after_sequence + 1 < first_sequence means retention removed events the
       asker never saw (a gap); last_sequence is "now" for a consumer starting there. */
    uint64_t first_sequence;
    uint64_t last_sequence;
    lk_query_t query; /* query */
    lk_alert_t *alerts;
    size_t alert_count;
    lk_incident_t *incidents;
    size_t incident_count;
    lk_event_t *events;
    size_t event_count;
    lk_alert_result_t *results;
    size_t result_count;
    lk_notification_t *notifications; /* mutation_batch, query_reply, notify_job/result */
    size_t notification_count;
    lk_escalation_t *escalations; /* mutation_batch, query_reply */
    size_t escalation_count;
    lk_oncall_override_t *overrides; /* mutation_batch, query_reply */
    size_t override_count;
    lk_silence_t *silences; /* silence_command, control_reply, mutation_batch, query_reply */
    size_t silence_count;
    lk_heartbeat_t *heartbeats; /* heartbeat_ping, control_reply, mutation_batch, query_reply */
    size_t heartbeat_count;
    lk_incident_update_t *updates; /* mutation_batch, query_reply */
    size_t update_count;
    lk_ingest_token_t *tokens; /* mutation_batch, query_reply */
    size_t token_count;
    lk_alert_end_t *alert_ends; /* mutation_batch (correlate → store) */
    size_t alert_end_count;
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
int lk_msg_add_notification(lk_msg_t *msg, const lk_notification_t *notification);
int lk_msg_add_escalation(lk_msg_t *msg, const lk_escalation_t *escalation);
int lk_msg_add_override(lk_msg_t *msg, const lk_oncall_override_t *override);
int lk_msg_add_silence(lk_msg_t *msg, const lk_silence_t *silence);
int lk_msg_add_heartbeat(lk_msg_t *msg, const lk_heartbeat_t *heartbeat);
int lk_msg_add_update(lk_msg_t *msg, const lk_incident_update_t *update);
int lk_msg_add_token(lk_msg_t *msg, const lk_ingest_token_t *token);
int lk_msg_add_alert_end(lk_msg_t *msg, const lk_alert_end_t *alert_end);
/* Appends *alert itself: the message takes its strings and *alert is zeroed. Returns 0, or
   -1 on OOM (nothing taken). */
int lk_msg_take_alert(lk_msg_t *msg, lk_alert_t *alert);

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

/* The event message of one stored event (type event, req = sequence, the event's tenant,
   events[1] with that sequence, incidents[1]) with the incident given as the bytes
   lk_incident_encode produced: the bytes lk_msg_encode gives for the same message, without
   copying or re-encoding the incident (store publishes a flood of events of one incident
   this way). Returns 0 with a malloc'd buffer, -1 on OOM. */
int lk_event_msg_encode(const lk_event_t *event, uint64_t sequence, const void *incident,
                        size_t incident_size, char **data, size_t *size);

/* The correlate shard that owns a tenant: FNV-1a 64 of the tenant id modulo shard_count. */
uint32_t lk_shard_of(const char *tenant_id, uint32_t shard_count);

#endif
