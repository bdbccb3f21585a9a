/*  store_outbox — the events outbox's consumers and its retention (DESIGN §2.3).

    Consumers of the outbox (lookout-publish, ...) keep a cursor: the sequence up to which
    every event is done for them. They commit it with a cursor_commit message on the mutation
    ROUTER (applied by store_writer inside its group-commit transaction, so a cursor costs no
    transaction of its own) and read it back with the cursor_get query. A cursor never moves
    backwards: a late or repeated commit of an older sequence changes nothing.

    Retention deletes events older than a cutoff, a bounded chunk per call, and never the
    newest event: store_writer numbers new events from MAX(sequence), so the newest row is
    what keeps the sequence from ever restarting. A consumer whose cursor fell behind the
    oldest retained event sees the gap (query_reply first_sequence > its cursor + 1) and
    carries on from the oldest one (docs/events.md).

    The statements live here rather than in store_dialect_t because only these functions run
    them; each has one text per backend.
*/
#ifndef STORE_OUTBOX_H
#define STORE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_msg.h"
#include "store_db.h"

#define STORE_CONSUMER_MAX 128 /* bytes of a consumer name */

/* Checks a cursor_commit for what the database would refuse for reasons of content: a
   consumer name (1..STORE_CONSUMER_MAX bytes of UTF-8) and a sequence that is not past
   last_sequence (nobody can have finished an event that does not exist yet). Returns false
   with a reason in err. */
bool store_outbox_cursor_valid(const lk_msg_t *commit, uint64_t last_sequence, char *err,
                               size_t err_size);

/* Inside the writer's open transaction: raises the consumer's cursor to commit->sequence
   (creates it when missing; never lowers it). Returns STORE_DB_OK, or the failure with err
   set. */
int store_outbox_cursor_commit(store_db_t *db, const lk_msg_t *commit, int64_t now_ms, char *err,
                               size_t err_size);

/* The committed cursor of consumer. Returns STORE_DB_OK with *found and *sequence set, or
   the failing call's code. */
int store_outbox_cursor_get(store_db_t *db, const char *consumer, bool *found, uint64_t *sequence);

/* The lowest and highest sequence in the outbox (0, 0 when it is empty). Run inside a read
   snapshot to have them consistent with the rows read there. */
int store_outbox_bounds(store_db_t *db, uint64_t *first, uint64_t *last);

/* In a transaction of its own: of the oldest limit events with sequence < keep_from (pass
   the writer's last sequence: the newest event always stays), deletes those with
   at < cutoff_ms. Events are numbered in the order they happen, so this removes the oldest
   first without an index on at (an old event behind limit newer ones would wait for them). *deleted
   gets the count. Returns STORE_DB_OK, STORE_DB_ERROR (rolled back) or STORE_DB_LOST. */
int store_outbox_expire(store_db_t *db, int64_t cutoff_ms, uint64_t keep_from, int64_t limit,
                        int64_t *deleted);

#endif
