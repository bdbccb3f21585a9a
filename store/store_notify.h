/*  store_notify — the tables of notify/: notifications, escalation steps, on-call overrides
    (store/migrations/<backend>/0002_notify.sql).

    Writes arrive as the notifications[], escalations[] and overrides[] of a mutation_batch
    (from lookout-escalate and from ingest's POST /oncall/overrides) and are applied by
    store_writer inside its group-commit transaction, after the batch's incidents, alerts and
    events. Like every batch they are absolute states: a notification or an escalation step
    is upserted by id and only moves forward in updated_at; an override is inserted once and
    afterwards only ever ends earlier (DELETE /oncall/overrides/{id} ends it now).

    Reads are the query kinds escalation_state (what lookout-escalate rebuilds its timers
    from) and oncall_overrides (what GET /oncall and escalate's schedule targets apply).

    Each statement has one text per backend; s_sql picks the connection's.
*/
#ifndef STORE_NOTIFY_H
#define STORE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "lk_msg.h"
#include "store_db.h"

#define STORE_ESCALATION_LIMIT_DEFAULT 500 /* incidents per escalation_state page */
#define STORE_ESCALATION_LIMIT_MAX     5000
#define STORE_OVERRIDES_LIMIT_DEFAULT  500
#define STORE_OVERRIDES_LIMIT_MAX      5000

/* True when the batch carries notify items. */
bool store_notify_present(const lk_msg_t *batch);

/* Checks the notify items of a mutation_batch for what the database would refuse for
   reasons of content (ids, UTF-8, names, an override that ends before it starts, a
   notification status that is never stored). Lower-cases UUIDs in place. Returns false with
   a reason in err. */
bool store_notify_valid(lk_msg_t *batch, char *err, size_t err_size);

/* Inside the writer's open transaction: applies the batch's notify items. Returns
   STORE_DB_OK, or the failing call's code with err set. */
int store_notify_apply(store_db_t *db, const lk_msg_t *batch, char *err, size_t err_size);

/* Answers the escalation_state and oncall_overrides queries into reply (initialised by the
   caller as an ok query_reply). Content problems become status invalid, database failures
   status error. Returns STORE_DB_OK, or STORE_DB_LOST when the connection is gone. */
int store_notify_answer(store_db_t *db, lk_msg_t *request, lk_msg_t *reply);

#endif
