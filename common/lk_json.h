/*  lk_json — the public JSON shapes of alerts, incidents and events (jansson).

    These are the shapes of the HTTP API and of the Kafka payloads; every process that shows
    an entity to the outside uses these functions, so the shapes exist in one place:
      incident {id, tenant_id, status, severity, title, summary, group_key, group_labels{},
                alert_count, firing_count, reopen_count, version, created_at, updated_at,
                acknowledged_at|null, acknowledged_by|null, resolved_at|null, resolved_by|null,
                policy|null, sources[], group_wait_until|null}
      alert    {fingerprint, incident_id, tenant_id, source, name, status, severity, labels{},
                annotations{}, value|null, threshold|null, query|null, dedup_key|null,
                generator_url|null, starts_at, ends_at|null, updated_at, state (active|
                inhibited|silenced), suppressed_by|null}
      silence  {id, tenant_id, status: {state: pending|active|expired}, matchers[{name, value,
                isRegex, isEqual}], startsAt, endsAt, createdBy, comment, createdAt,
                updatedAt} (Alertmanager API v2 names, so amtool-style clients read it)
      heartbeat {name, tenant_id, status: up|missed|new, interval_s, grace_s, severity,
                labels{}, last_ping_at|null, next_due_at, created_at, updated_at}
      event    {sequence, event_id, incident_id, tenant_id, type, actor, note|null,
                fingerprint|null, at}
      update   {id, incident_id, tenant_id, message, visibility (public|private),
                status (investigating|identified|monitoring|resolved)|null, title|null,
                author, created_at}
    Times are RFC 3339 strings with milliseconds in UTC.
*/
#ifndef LK_JSON_H
#define LK_JSON_H

#include <jansson.h>

#include "lk_model.h"

/* Each returns a new reference (caller json_decref's), NULL only on OOM. */
json_t *lk_json_incident(const lk_incident_t *incident);
json_t *lk_json_alert(const lk_alert_t *alert);
json_t *lk_json_event(const lk_event_t *event);
json_t *lk_json_incident_update(const lk_incident_update_t *update);
/* The silence's state is computed at now_ms. */
json_t *lk_json_silence(const lk_silence_t *silence, int64_t now_ms);
json_t *lk_json_heartbeat(const lk_heartbeat_t *heartbeat);
json_t *lk_json_labels(const lk_labels_t *labels);
/* RFC 3339 string, or JSON null when epoch_ms == 0. */
json_t *lk_json_time(int64_t epoch_ms);

#endif
