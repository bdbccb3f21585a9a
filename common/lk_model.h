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

/* A set of name/value pairs, kept sorted by name (strcmp), names unique. */
typedef struct {
    lk_label_t *items;
    size_t count;
} lk_labels_t;

/* Sets name=value, replacing an existing value; keeps the set sorted. Returns 0, -1 on OOM. */
int lk_labels_set(lk_labels_t *labels, const char *name, const char *value);
/* Returns the value for name, or NULL. */
const char *lk_labels_get(const lk_labels_t *labels, const char *name);
bool lk_labels_equal(const lk_labels_t *a, const lk_labels_t *b);
int lk_labels_copy(lk_labels_t *dst, const lk_labels_t *src);
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
    char *source;      /* "api", "prometheus", "alertmanager", "pagerduty", "periscope", ... */
    char *name;        /* alertname; always equal to labels["alertname"] */
    char *query;       /* optional: the expression that produced it, or NULL */
    char *dedup_key;   /* optional: sender's identity; replaces the label fingerprint */
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
    int64_t updated_at_ms; /* when correlate last changed it */
} lk_alert_t;

void lk_alert_clear(lk_alert_t *alert);
int lk_alert_copy(lk_alert_t *dst, const lk_alert_t *src);

/* ---- incident -------------------------------------------------------------------------- */

typedef struct {
    char id[LK_UUID_STR_LEN + 1]; /* UUIDv7 chosen by correlate */
    char tenant_id[LK_UUID_STR_LEN + 1];
    char *group_key;        /* Alertmanager-style: `{}:{alertname="HighCPU"}` */
    char *title;            /* alertname plus group label values */
    char *summary;          /* first alert's `summary` annotation, else the title */
    char *acknowledged_by;  /* actor of the last acknowledge, or NULL */
    char *resolved_by;      /* actor of a manual resolve, or NULL (auto-resolve) */
    lk_labels_t group_labels; /* the group_by labels and their values */
    lk_severity_t severity;
    lk_incident_status_t status;
    uint32_t alert_count;   /* alerts ever attached */
    uint32_t firing_count;  /* alerts attached and firing now */
    uint32_t reopen_count;  /* times it went resolved → triggered (flaps) */
    uint64_t version;       /* +1 on every change; store keeps the highest it has seen */
    int64_t created_at_ms;
    int64_t updated_at_ms;
    int64_t acknowledged_at_ms;
    int64_t resolved_at_ms;
} lk_incident_t;

void lk_incident_clear(lk_incident_t *incident);
int lk_incident_copy(lk_incident_t *dst, const lk_incident_t *src);

/* ---- event ----------------------------------------------------------------------------- */

/* A lifecycle event: one row of the `events` outbox and one line of an incident's timeline.
   type is snake_case: incident_triggered, incident_acknowledged, incident_resolved,
   incident_reopened, incident_closed, alert_added, alert_resolved, alert_refired. */
typedef struct {
    uint64_t sequence;                    /* assigned by store at commit; 0 before */
    char event_id[LK_UUID_STR_LEN + 1];   /* UUIDv7 chosen by correlate: the idempotency key */
    char tenant_id[LK_UUID_STR_LEN + 1];
    char incident_id[LK_UUID_STR_LEN + 1];
    char *type;
    char *actor;   /* "lookout" for automatic changes, else the operator */
    char *note;    /* optional */
    char *fingerprint; /* for alert_* events, else NULL */
    int64_t at_ms;
} lk_event_t;

void lk_event_clear(lk_event_t *event);
int lk_event_copy(lk_event_t *dst, const lk_event_t *src);

#endif
