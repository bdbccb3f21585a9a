/*  lk_json — the public JSON shapes of alerts, incidents and events (jansson).

    These are the shapes of the HTTP API and of the Kafka payloads; every process that shows
    an entity to the outside uses these functions, so the shapes exist in one place:
      incident {id, tenant_id, status, severity, title, summary, group_key, group_labels{},
                alert_count, firing_count, reopen_count, version, created_at, updated_at,
                acknowledged_at|null, acknowledged_by|null, resolved_at|null, resolved_by|null}
      alert    {fingerprint, incident_id, tenant_id, source, name, status, severity, labels{},
                annotations{}, value|null, threshold|null, query|null, dedup_key|null,
                generator_url|null, starts_at, ends_at|null, updated_at}
      event    {sequence, event_id, incident_id, tenant_id, type, actor, note|null,
                fingerprint|null, at}
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
json_t *lk_json_labels(const lk_labels_t *labels);
/* RFC 3339 string, or JSON null when epoch_ms == 0. */
json_t *lk_json_time(int64_t epoch_ms);

#endif
