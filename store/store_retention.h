/*  store_retention — removing closed incidents past their retention
    (LOOKOUT_INCIDENT_RETENTION_S; docs/operations.md "Disk").

    An incident is expired when it is closed and closed before a cutoff: correlate sets
    updated_at when it closes an incident and never writes it again, so for a closed incident
    updated_at is the time it closed (correlate/engine.c). Expiring one deletes it with every
    row that references it: its alerts, escalation steps, notifications and updates. Incidents
    that still have events are left alone: the outbox's own retention (store_outbox_expire)
    removes those first, so this never deletes an event and never breaks the events' foreign
    key; such an incident waits for its events to go. Incidents that are not closed are never
    touched.

    lookout-store runs it from its retention timer between mutation rounds (store.c), a
    bounded chunk per call, so it never holds the writer for long.
*/
#ifndef STORE_RETENTION_H
#define STORE_RETENTION_H

#include <stdint.h>

#include "store_db.h"

/* In a transaction of its own: takes the oldest limit incidents (by the time they closed)
   that are closed, closed before cutoff_ms and have no events left, and deletes their alerts,
   escalations, notifications and incident updates, then them. *deleted gets the number of
   incidents removed. Returns STORE_DB_OK, STORE_DB_ERROR (rolled back) or STORE_DB_LOST. */
int store_incidents_expire(store_db_t *db, int64_t cutoff_ms, int64_t limit, int64_t *deleted);

#endif
