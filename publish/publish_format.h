/*  publish_format — the Kafka messages lookout-publish makes of one outbox event (docs/events.md).

    Pure functions, no I/O: an outbox event plus the incident as of that event in, message
    keys, values and headers out. Two topics:
      lookout.incidents  key = incident id; value = every incident change, flat fields for
                         consumers that read a few (Skipper: tenant_id, summary, severity)
                         plus the full incident and the event.
      service_events     key = event_id; value = the platform ServiceEvent envelope; headers
                         source, event_type, event_id, tenant_id. Only lifecycle events
                         (incident_*): alert_* membership changes stay on lookout.incidents.
    event_id is a UUIDv7 derived from the outbox event_id alone, so a re-publish of the same
    event (after a crash, a rewind) carries the same event_id and consumers can deduplicate.
*/
#ifndef PUBLISH_FORMAT_H
#define PUBLISH_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "lk_model.h"

#define PUBLISH_SCHEMA_VERSION "1.0" /* schema_version of both payloads */
#define PUBLISH_SOURCE         "lookout"

/* The event's platform event_id: the outbox event_id itself when it is already a UUIDv7
   (correlate makes them so), else a UUIDv7 built from the event's time and a SHA-256 of
   the outbox id. Lower-case, deterministic. */
void publish_event_id(const lk_event_t *event, char out[LK_UUID_STR_LEN + 1]);

/* The ServiceEvent event_type of an outbox event type, or NULL when the event does not go
   to service_events (alert_added, alert_resolved, alert_refired: membership changes, which
   would flood the platform bus during an alert storm). incident_* types map to themselves. */
const char *publish_service_event_type(const char *outbox_type);

/* The lookout.incidents value (compact JSON, malloc'd, *size set), or NULL on OOM. */
char *publish_incident_message(const lk_event_t *event, const lk_incident_t *incident,
                               size_t *size);

/* The service_events value: the ServiceEvent envelope of event (compact JSON, malloc'd,
 *size set), or NULL on OOM. event_type is publish_service_event_type's answer. */
char *publish_service_event(const lk_event_t *event, const lk_incident_t *incident,
                            const char *event_type, size_t *size);

#endif
