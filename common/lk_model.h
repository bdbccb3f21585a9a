/*  lk_model — the domain objects every process shares: label sets, alerts, incidents, events.

    Ownership: every char* and array inside these structs is heap memory owned by the struct;
    lk_alert_clear / lk_incident_clear / lk_event_clear free it and zero the struct (the struct
    itself may live on the stack or inside an array). Copies are deep (…_copy).

    Identity (DESIGN §3): an alert is identified by (tenant_id, fingerprint), where fingerprint
    is the Alertmanager fingerprint of its label set (see lk_fingerprint.h). An incident groups
    the alerts of one group key: tenant + route + the values of the route's group_by labels.
*/
#ifndef LK_MODEL_H
#define LK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_uuid.h"

#define LK_FINGERPRINT_STR_LEN 16 /* %016x */
#define LK_SYSTEM_TENANT       "00000000-0000-0000-0000-000000000001"

/* ---- labels ---------------------------------------------------------------------------- */

typedef struct {
    char *name;
    char *value;
} lk_label_t;

/* A set of name/value pairs, kept sorted by name (strcmp), names unique. A packed set
   (lk_labels_copy, the message decoder) holds its items and every string in one
   allocation, items first: one malloc and one free instead of two per pair. Treat the
   strings as the set's: only lk_labels_set and lk_labels_clear change or free them. */
typedef struct {
    lk_label_t *items;
    size_t count;
    bool packed;
} lk_labels_t;

/* Sets name=value, replacing an existing value; keeps the set sorted. Returns 0, -1 on OOM. */
int lk_labels_set(lk_labels_t *labels, const char *name, const char *value);
/* Returns the value for name, or NULL. */
const char *lk_labels_get(const lk_labels_t *labels, const char *name);
bool lk_labels_equal(const lk_labels_t *a, const lk_labels_t *b);
int lk_labels_copy(lk_labels_t *dst, const lk_labels_t *src);
/* An empty packed set of count pairs with room for string_bytes bytes of strings (each
   with its NUL) after the items, at *strings. Returns 0, -1 on OOM (labels empty). The
   caller fills items[0..count) with strings it writes there. */
int lk_labels_pack_init(lk_labels_t *labels, size_t count, size_t string_bytes, char **strings);
void lk_labels_clear(lk_labels_t *labels);

/* ---- severity and status --------------------------------------------------------------- */

/* Ordered: a higher value is more severe. An incident's severity is its alerts' highest. */
typedef enum {
    LK_SEV_INFO = 0,
    LK_SEV_WARNING = 1,
    LK_SEV_ERROR = 2,
    LK_SEV_CRITICAL = 3,
} lk_severity_t;

/* Accepts info|warning|error|critical, case-insensitive; also "warn", "page" → critical,
   "high" → critical, "low" → info, "medium" → warning. Returns false when unknown. */
bool lk_severity_parse(const char *text, lk_severity_t *out);
const char *lk_severity_name(lk_severity_t severity);

typedef enum { LK_ALERT_FIRING = 0, LK_ALERT_RESOLVED = 1 } lk_alert_status_t;
bool lk_alert_status_parse(const char *text, lk_alert_status_t *out);
const char *lk_alert_status_name(lk_alert_status_t status);

/* Whether an alert may open or join an incident. active: it does; inhibited (an inhibit
   rule's source fires) and silenced (a silence matches): it is held outside any incident,
   stored and visible, and opens nothing (correlate/engine.h tells when it is released). */
typedef enum {
    LK_ALERT_ACTIVE = 0,
    LK_ALERT_INHIBITED = 1,
    LK_ALERT_SILENCED = 2
} lk_alert_state_t;
bool lk_alert_state_parse(const char *text, lk_alert_state_t *out);
const char *lk_alert_state_name(lk_alert_state_t state);

/* triggered → acknowledged → resolved → closed; resolved → triggered again is a reopen. */
typedef enum {
    LK_INCIDENT_TRIGGERED = 0,
    LK_INCIDENT_ACKNOWLEDGED = 1,
    LK_INCIDENT_RESOLVED = 2,
    LK_INCIDENT_CLOSED = 3,
} lk_incident_status_t;
bool lk_incident_status_parse(const char *text, lk_incident_status_t *out);
const char *lk_incident_status_name(lk_incident_status_t status);

/* ---- alert ----------------------------------------------------------------------------- */

/* One alert: the latest known state of one label set of one tenant. Times are ms since the
   epoch; 0 means unset. value/threshold are meaningful only when has_value/has_threshold. */
typedef struct {
    char tenant_id[LK_UUID_STR_LEN + 1];
    char fingerprint[LK_FINGERPRINT_STR_LEN + 1]; /* set by correlate; "" until then */
    char incident_id[LK_UUID_STR_LEN + 1];        /* set by correlate; "" until then */
    char *source;        /* "api", "prometheus", "alertmanager", "pagerduty", "periscope", ... */
    char *name;          /* alertname; always equal to labels["alertname"] */
    char *query;         /* optional: the expression that produced it, or NULL */
    char *dedup_key;     /* optional: sender's identity; replaces the label fingerprint */
    char *generator_url; /* optional */
    lk_labels_t labels;
    lk_labels_t annotations;
    lk_severity_t severity;
    lk_alert_status_t status;
    bool has_value;
    bool has_threshold;
    double value;
    double threshold;
    int64_t starts_at_ms;
    int64_t ends_at_ms;
    int64_t updated_at_ms;  /* when correlate last changed it */
    lk_alert_state_t state; /* set by correlate; held (not active) alerts have incident_id "" */
    char *suppressed_by;    /* held: the silence id, or "inhibit_rules[N]"; else NULL */
} lk_alert_t;

void lk_alert_clear(lk_alert_t *alert);
int lk_alert_copy(lk_alert_t *dst, const lk_alert_t *src);

/* ---- incident -------------------------------------------------------------------------- */

typedef struct {
    char id[LK_UUID_STR_LEN + 1]; /* UUIDv7 chosen by correlate */
    char tenant_id[LK_UUID_STR_LEN + 1];
    char *group_key;          /* Alertmanager-style: `{}:{alertname="HighCPU"}` */
    char *title;              /* alertname plus group label values */
    char *summary;            /* first alert's `summary` annotation, else the title */
    char *acknowledged_by;    /* actor of the last acknowledge, or NULL */
    char *resolved_by;        /* actor of a manual resolve, or NULL (auto-resolve) */
    lk_labels_t group_labels; /* the group_by labels and their values */
    lk_severity_t severity;
    lk_incident_status_t status;
    uint32_t alert_count;  /* alerts ever attached */
    uint32_t firing_count; /* alerts attached and firing now */
    uint32_t reopen_count; /* times it went resolved → triggered (flaps) */
    uint64_t version;      /* +1 on every change; store keeps the highest it has seen */
    int64_t created_at_ms;
    int64_t updated_at_ms;
    int64_t acknowledged_at_ms;
    int64_t resolved_at_ms;
    int64_t ack_expires_at_ms;   /* an acknowledgement given with a timeout lapses then and
                                    escalation resumes; 0 = no timeout (set by correlate) */
    char *policy;                /* escalation policy name from the matched route, or NULL */
    char **sources;              /* distinct sources of its alerts, first seen first */
    uint32_t source_count;       /* at most LK_INCIDENT_SOURCES_MAX */
    int64_t group_wait_until_ms; /* the route's group_wait: incident_triggered is announced
                                    then; 0 = announced (or no wait) */
} lk_incident_t;

#define LK_INCIDENT_SOURCES_MAX 16

/* Adds source to the incident's sources unless present or the list is full. Returns 1
   when added, 0 when not, -1 on OOM. */
int lk_incident_add_source(lk_incident_t *incident, const char *source);

void lk_incident_clear(lk_incident_t *incident);
int lk_incident_copy(lk_incident_t *dst, const lk_incident_t *src);

/* ---- event ----------------------------------------------------------------------------- */

/* A lifecycle event: one row of the `events` outbox and one line of an incident's timeline.
   type is snake_case: incident_triggered, incident_acknowledged, incident_resolved,
   incident_reopened, incident_closed, alert_added, alert_resolved, alert_refired;
   incident_update_posted (someone wrote an update on it, POST /incidents/{id}/updates: note
   = the message, actor = its author). */
typedef struct {
    uint64_t sequence;                  /* assigned by store at commit; 0 before */
    char event_id[LK_UUID_STR_LEN + 1]; /* UUIDv7 chosen by correlate: the idempotency key */
    char tenant_id[LK_UUID_STR_LEN + 1];
    char incident_id[LK_UUID_STR_LEN + 1];
    char *type;
    char *actor;        /* "lookout" for automatic changes, else the operator */
    char *note;         /* optional */
    char *fingerprints; /* alert_* events: the alerts, see below; else NULL */
    int64_t at_ms;
} lk_event_t;

/* An alert_* event names its alerts in fingerprints: their fingerprints (%016x) separated by
   single spaces, in the order they changed. correlate folds the changes of one kind it makes
   to one incident one after the other, with the same actor and note, into one event of up to
   LK_EVENT_FINGERPRINTS_MAX alerts (a flood of 64 new alerts of one group: one alert_added
   event, not 64); lk_fingerprints_count (lk_fingerprint.h) checks and counts a list. */
#define LK_EVENT_FINGERPRINTS_MAX 128

void lk_event_clear(lk_event_t *event);
int lk_event_copy(lk_event_t *dst, const lk_event_t *src);

/* ---- silences and heartbeat monitors (correlate) --------------------------------------- */

/* One label matcher, Alertmanager style: name = value, != (is_equal false), =~ / !~
   (is_regex: value is a POSIX extended regex matched against the whole label value). A
   missing label matches as "". Compiling and matching: lk_match.h. */
typedef struct {
    char *name;
    char *value;
    bool is_regex;
    bool is_equal;
} lk_matcher_t;

void lk_matchers_clear(lk_matcher_t **matchers, size_t *count);
/* Deep copy of count matchers into *dst (a new array). Returns 0, -1 on OOM (*dst NULL). */
int lk_matchers_copy(lk_matcher_t **dst, const lk_matcher_t *src, size_t count);

/* A silence (POST /silences): alerts of its tenant matching every matcher while
   starts_at <= now < ends_at are held as silenced. Expiring sets ends_at to now. */
typedef struct {
    char id[LK_UUID_STR_LEN + 1]; /* UUIDv7 chosen by correlate */
    char tenant_id[LK_UUID_STR_LEN + 1];
    lk_matcher_t *matchers;
    size_t matcher_count;
    int64_t starts_at_ms;
    int64_t ends_at_ms;
    char *created_by;
    char *comment;
    int64_t created_at_ms;
    int64_t updated_at_ms; /* strictly increasing per silence; store keeps the latest */
} lk_silence_t;

/* pending (starts later), active, expired (ended). */
typedef enum { LK_SILENCE_PENDING = 0, LK_SILENCE_ACTIVE, LK_SILENCE_EXPIRED } lk_silence_state_t;
lk_silence_state_t lk_silence_state(const lk_silence_t *silence, int64_t now_ms);
const char *lk_silence_state_name(lk_silence_state_t state);

void lk_silence_clear(lk_silence_t *silence);
int lk_silence_copy(lk_silence_t *dst, const lk_silence_t *src);

/* A heartbeat monitor (dead man's switch): POST /heartbeats/{name} pings it; when no ping
   came for interval + grace after the last one (or after it was declared), correlate fires
   the alert heartbeat_missed{monitor=name, labels...}; the next ping resolves it. */
#define LK_HEARTBEAT_NAME_MAX 128
/* which settings a ping carries (lk_heartbeat_t.given); the others keep their value */
#define LK_HEARTBEAT_GIVEN_INTERVAL 1u
#define LK_HEARTBEAT_GIVEN_GRACE    2u
#define LK_HEARTBEAT_GIVEN_SEVERITY 4u
#define LK_HEARTBEAT_GIVEN_LABELS   8u
typedef struct {
    char tenant_id[LK_UUID_STR_LEN + 1];
    char *name;              /* 1..LK_HEARTBEAT_NAME_MAX of [A-Za-z0-9_.-] */
    int64_t interval_ms;     /* expected time between pings */
    int64_t grace_ms;        /* extra time before it counts as missed */
    lk_severity_t severity;  /* of the heartbeat_missed alert */
    lk_labels_t labels;      /* added to the heartbeat_missed alert */
    int64_t last_ping_at_ms; /* 0 = never pinged */
    bool missed;             /* its heartbeat_missed alert fires */
    int64_t created_at_ms;
    int64_t updated_at_ms; /* strictly increasing; store keeps the latest */
    uint32_t given;        /* a ping request only: LK_HEARTBEAT_GIVEN_* bits */
} lk_heartbeat_t;

void lk_heartbeat_clear(lk_heartbeat_t *heartbeat);
int lk_heartbeat_copy(lk_heartbeat_t *dst, const lk_heartbeat_t *src);

/* ---- notifications, escalation steps, on-call overrides (notify/) ---------------------- */

/* What a notification says. Wire and column names: trigger, acknowledge, resolve. */
typedef enum { LK_NOTIFY_TRIGGER = 0, LK_NOTIFY_ACKNOWLEDGE, LK_NOTIFY_RESOLVE } lk_notify_kind_t;
/* Where a notification is. Wire and column names: pending, sent, failed, cancelled, retry.
   retry only travels in a worker's result (try again at next_attempt_at); it is never
   stored: escalate records such a notification as pending. */
typedef enum {
    LK_NOTIFY_PENDING = 0,
    LK_NOTIFY_SENT,
    LK_NOTIFY_FAILED,
    LK_NOTIFY_CANCELLED,
    LK_NOTIFY_RETRY,
} lk_notify_status_t;
bool lk_notify_kind_parse(const char *text, lk_notify_kind_t *out);
const char *lk_notify_kind_name(lk_notify_kind_t kind);
bool lk_notify_status_parse(const char *text, lk_notify_status_t *out);
const char *lk_notify_status_name(lk_notify_status_t status);

/* One message to one target over one channel: a row of `notifications`, a job for a
   lookout-notify worker, and (with status, response_code, error) the worker's result. */
typedef struct {
    char id[LK_UUID_STR_LEN + 1]; /* UUIDv7 chosen by escalate */
    char tenant_id[LK_UUID_STR_LEN + 1];
    char incident_id[LK_UUID_STR_LEN + 1];
    char *policy;   /* escalation policy name ("" when none) */
    uint32_t level; /* policy level that sent it (0-based) */
    char *channel;  /* configuration channel name */
    char *target;   /* configuration user name, "" for the channel itself */
    lk_notify_kind_t kind;
    uint32_t attempt; /* 1 for the first delivery */
    lk_notify_status_t status;
    int32_t response_code;      /* HTTP status or SMTP reply code of the last attempt; 0 = none */
    char *error;                /* last failure, or NULL */
    char *idempotency_key;      /* PagerDuty dedup_key (the incident id), webhook delivery id */
    int64_t lease_until_ms;     /* a dispatched job not reported by then is dispatched again */
    int64_t next_attempt_at_ms; /* not before (back-off, Retry-After, rate limit); 0 = now */
    int64_t created_at_ms;
    int64_t updated_at_ms;
} lk_notification_t;

void lk_notification_clear(lk_notification_t *notification);
int lk_notification_copy(lk_notification_t *dst, const lk_notification_t *src);

/* One escalation step of an incident: a row of `escalations`. The latest step (highest
   `step`) of an incident is its escalation state. status: notified (the level's targets
   were notified; next_at = when the next level is due, 0 = none), acknowledged (paused;
   next_at = when the acknowledgement lapses, 0 = never), resolved, exhausted. */
typedef struct {
    char id[LK_UUID_STR_LEN + 1]; /* UUIDv7 chosen by escalate */
    char tenant_id[LK_UUID_STR_LEN + 1];
    char incident_id[LK_UUID_STR_LEN + 1];
    char *policy;
    uint32_t step;  /* 1, 2, 3... within the incident */
    uint32_t level; /* 0-based policy level */
    uint32_t cycle; /* 0 for the first pass, +1 per repeat */
    char *target;   /* what was notified: "schedule:primary=alice,channel:ops" */
    char *status;
    char *note;              /* optional: why (e.g. "acknowledgement lapsed") */
    uint64_t event_sequence; /* the outbox event this step follows from */
    int64_t next_at_ms;
    int64_t created_at_ms;
    int64_t updated_at_ms;
} lk_escalation_t;

void lk_escalation_clear(lk_escalation_t *escalation);
int lk_escalation_copy(lk_escalation_t *dst, const lk_escalation_t *src);

/* An on-call override (POST /oncall/overrides): user takes schedule's shifts during
   [starts_at, ends_at). */
typedef struct {
    char id[LK_UUID_STR_LEN + 1];
    char tenant_id[LK_UUID_STR_LEN + 1];
    char *schedule;
    char *user;
    char *created_by;
    int64_t starts_at_ms;
    int64_t ends_at_ms;
    int64_t created_at_ms;
} lk_oncall_override_t;

void lk_oncall_override_clear(lk_oncall_override_t *override);
int lk_oncall_override_copy(lk_oncall_override_t *dst, const lk_oncall_override_t *src);

/* ---- incident updates (status pages) --------------------------------------------------- */

/* Who may read an update. Wire and column names: private, public. Only public updates ever
   reach a status page. */
typedef enum { LK_UPDATE_PRIVATE = 0, LK_UPDATE_PUBLIC } lk_update_visibility_t;
bool lk_update_visibility_parse(const char *text, lk_update_visibility_t *out);
const char *lk_update_visibility_name(lk_update_visibility_t visibility);

/* The stage an update announces (Statuspage's incident statuses). Wire and column names:
   investigating, identified, monitoring, resolved; LK_STAGE_NONE is "not given" (absent on
   the wire, NULL in the column). */
typedef enum {
    LK_STAGE_NONE = 0,
    LK_STAGE_INVESTIGATING,
    LK_STAGE_IDENTIFIED,
    LK_STAGE_MONITORING,
    LK_STAGE_RESOLVED,
} lk_incident_stage_t;
/* Accepts the four names (case-insensitive); false for anything else, "" included. */
bool lk_incident_stage_parse(const char *text, lk_incident_stage_t *out);
/* The name, or NULL for LK_STAGE_NONE (and out-of-range values). */
const char *lk_incident_stage_name(lk_incident_stage_t stage);

/* An update people write on an incident (POST /incidents/{id}/updates): a row of
   incident_updates. Never changed once written. */
typedef struct {
    char id[LK_UUID_STR_LEN + 1]; /* UUIDv7 chosen by ingest: the idempotency key */
    char tenant_id[LK_UUID_STR_LEN + 1];
    char incident_id[LK_UUID_STR_LEN + 1];
    char *message;
    lk_update_visibility_t visibility;
    lk_incident_stage_t stage;
    char *title;  /* optional: the incident's public title from now on, or NULL */
    char *author; /* the caller (JWT sub, "service") or the body's author */
    int64_t created_at_ms;
} lk_incident_update_t;

void lk_incident_update_clear(lk_incident_update_t *update);
int lk_incident_update_copy(lk_incident_update_t *dst, const lk_incident_update_t *src);

/* ---- ingest tokens (per-tenant credentials of alert senders) ---------------------------- */

#define LK_TOKEN_HASH_LEN 64 /* SHA-256 of the token text, lower-case hex */

/* One per-tenant ingest token (POST /tokens): a row of ingest_tokens. The token itself is
   shown once at creation and never stored; hash identifies it. Revoking sets revoked_at,
   which never goes back to 0. */
typedef struct {
    char id[LK_UUID_STR_LEN + 1]; /* UUIDv7 chosen by ingest */
    char tenant_id[LK_UUID_STR_LEN + 1];
    char *name;                       /* the tenant's label for it */
    char hash[LK_TOKEN_HASH_LEN + 1]; /* SHA-256 hex of the token */
    char *hint;                       /* first characters of the token, "lk_AbCd" */
    char *scopes;                     /* comma list: "alerts:write,heartbeats:write" */
    char *created_by;                 /* the caller that created it */
    int64_t created_at_ms;
    int64_t revoked_at_ms; /* 0 = valid */
} lk_ingest_token_t;

void lk_ingest_token_clear(lk_ingest_token_t *token);
int lk_ingest_token_copy(lk_ingest_token_t *dst, const lk_ingest_token_t *src);

#endif
