/*  store_status — the rows of status pages: incident updates (migration 0005) and the status
    page's read.

    Writing: lookout-ingest sends POST /incidents/{id}/updates to store's mutation ROUTER as
    a mutation_batch carrying updates[1] and events[1] (incident_update_posted). store_writer
    inserts the event like any other (so SSE, Kafka and the status pages of every ingest see
    it) and hands updates[] to store_status_apply in the same group-commit transaction; an
    update is inserted once by id, and only when its incident belongs to its tenant.

    Reading: get_incident adds the incident's updates (store_status_incident_updates); the
    query kind status_page (store_status_page) reads, from one snapshot, what a status page
    is computed from: the tenant's incidents of the window, the label sets of their alerts,
    their PUBLIC updates and the tenant's pending and active silences. Mapping incidents to
    components, statuses and uptime is done by ingest, which has the configuration.
*/
#ifndef STORE_STATUS_H
#define STORE_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "lk_msg.h"
#include "store_db.h"

#define STORE_UPDATE_MESSAGE_MAX       (16 * 1024) /* bytes of an update's message */
#define STORE_UPDATE_TITLE_MAX         256
#define STORE_UPDATE_AUTHOR_MAX        256
#define STORE_UPDATES_PER_INCIDENT_MAX 1000 /* updates get_incident returns */
#define STORE_STATUS_INCIDENTS_DEFAULT 2000 /* incidents of one status_page read */
#define STORE_STATUS_INCIDENTS_MAX     10000
#define STORE_STATUS_ALERTS_MAX        50000 /* distinct (incident, labels) pairs */
#define STORE_STATUS_UPDATES_MAX       20000
#define STORE_STATUS_SILENCES_MAX      1000

/* Checks the batch's updates[] for content the database would refuse (ids, UTF-8, sizes);
   lower-cases their UUIDs in place. Returns false with a reason in err. */
bool store_status_valid(lk_msg_t *batch, char *err, size_t err_size);

/* Inserts the batch's updates[] inside the open transaction (once by id; an update whose
   incident is not its tenant's inserts nothing). Returns STORE_DB_OK, or the failing call's
   code with err set. */
int store_status_apply(store_db_t *db, const lk_msg_t *batch, char *err, size_t err_size);

/* Appends the updates of the tenant's incident (oldest first, every visibility) to reply,
   inside the caller's read transaction. Returns STORE_DB_OK (reply may have become a
   failure) or STORE_DB_LOST. */
int store_status_incident_updates(store_db_t *db, const char *tenant_id, const char *incident_id,
                                  lk_msg_t *reply);

/* Answers a status_page query (see lk_msg.h) into reply (a query_reply already initialised
   with status ok) from one read snapshot of its own. query.since must be > 0; query.limit
   caps the incidents (0 = STORE_STATUS_INCIDENTS_DEFAULT, at most ..._MAX). Returns
   STORE_DB_OK (content problems become reply statuses) or STORE_DB_LOST. */
int store_status_page(store_db_t *db, lk_msg_t *request, lk_msg_t *reply);

#endif
