/*  store_correlation — the rows correlate keeps besides incidents and alerts: held
    (suppressed) alerts, silences and heartbeat monitors (migration 0003).

    Writing: store_writer hands each mutation batch's held alerts (alerts with incident_id
    "", see lk_msg.h), silences[] and heartbeats[] to store_correlation_apply inside the
    group-commit transaction. Every row is an absolute state guarded by updated_at, so a
    batch applied twice has the effect of once: a held row is upserted while the alert is
    held (state inhibited|silenced and firing) and deleted once it is not (released or
    resolved); silences and monitors are upserted. The batch's alert_ends[] (an alert whose
    endsAt passed without a re-send, lk_msg.h) are partial: only status, ends_at and
    updated_at of the alert's existing row change, and only where the row's updated_at is
    not newer — applied twice it is applied once, and an older one never undoes a newer
    write. They run after the batch's full alert rows.

    Reading: store_query hands the query kinds list_silences, get_silence, list_heartbeats
    and list_suppressed to store_correlation_query, and adds the shard's unexpired silences,
    monitors and held alerts to the first page of a snapshot (store_correlation_snapshot).
*/
#ifndef STORE_CORRELATION_H
#define STORE_CORRELATION_H

#include <stdbool.h>
#include <stdint.h>

#include "lk_msg.h"
#include "store_db.h"

#define STORE_SILENCES_LIMIT_DEFAULT   100
#define STORE_SILENCES_LIMIT_MAX       1000
#define STORE_SUPPRESSED_LIMIT_DEFAULT 100
#define STORE_SUPPRESSED_LIMIT_MAX     1000
#define STORE_HEARTBEATS_MAX           10000 /* monitors listed for one tenant */

/* Checks the batch's alert ends, held alerts, silences and monitors for content the database would
   refuse (ids, UTF-8, names); lower-cases their UUIDs in place. Returns false with a reason
   in err. */
bool store_correlation_valid(lk_msg_t *batch, char *err, size_t err_size);

/* Applies one held alert row (incident_id "") inside the open transaction. Returns
   STORE_DB_OK, or the failing call's code with err set. */
int store_correlation_apply_held(store_db_t *db, const lk_alert_t *alert, char *err,
                                 size_t err_size);

/* Applies the batch's alert_ends[], silences[] and heartbeats[] inside the open
   transaction (after its alerts[]). */
int store_correlation_apply(store_db_t *db, const lk_msg_t *batch, char *err, size_t err_size);

/* True for the query kinds this module answers. */
bool store_correlation_handles(lk_query_kind_t kind);

/* Answers one of those queries into reply (a query_reply already initialised with status
   ok). Returns STORE_DB_OK (content problems become reply statuses) or STORE_DB_LOST. */
int store_correlation_query(store_db_t *db, lk_msg_t *request, lk_msg_t *reply);

/* Adds the unexpired silences, the monitors and the firing held alerts of the tenants of
   shard shard_index of shard_count (0 or 1 = all) to reply, inside the caller's read
   transaction. Returns STORE_DB_OK (reply may have become a failure) or STORE_DB_LOST. */
int store_correlation_snapshot(store_db_t *db, uint32_t shard_count, uint32_t shard_index,
                               int64_t now_ms, lk_msg_t *reply);

#endif
