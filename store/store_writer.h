/*  store_writer — applies mutation batches to the database with group commit.

    Batches are absolute states (DESIGN §2), so applying one twice has the effect of once:
    an incident is written only when its version is >= the stored one, an alert only when
    its updated_at is >= the stored one, an event only when its event_id is new. The writer
    is the single writer of the database and numbers the events it actually inserts with a
    gap-free sequence (reloaded from MAX(sequence) at start and after every rollback).

    store_writer_apply applies a group of batches in one transaction; when that transaction
    fails, it rolls back and applies them again one per transaction, so only the batch at
    fault is refused.
*/
#ifndef STORE_WRITER_H
#define STORE_WRITER_H

#include <czmq.h>

#include "lk_msg.h"
#include "store_db.h"

typedef struct store_writer_t store_writer_t;

/* One received mutation batch and what becomes of it. */
typedef struct {
    zframe_t *identity; /* the sender (ROUTER identity), owned */
    lk_msg_t msg;       /* the batch as received */
    lk_status_t status; /* set by store_writer_apply */
    char error[256];    /* set by store_writer_apply when status != ok */
} store_writer_item_t;

/* Creates a writer on db (not owned; migrated). Returns NULL when the last sequence cannot
   be read (*rc tells STORE_DB_ERROR or STORE_DB_LOST). */
store_writer_t *store_writer_new(store_db_t *db, int *rc);
void store_writer_destroy(store_writer_t **self_p);

/* Applies items[0..count) in order and sets each item's status: ok when it is committed
   (or was already), invalid when its content is unusable (not a mutation_batch, bad ids,
   bad UTF-8), error when the database refused it. Returns STORE_DB_OK, or STORE_DB_LOST
   when the database is gone (the caller exits; nothing of the group is acknowledged). */
int store_writer_apply(store_writer_t *self, store_writer_item_t *items, size_t count);

/* One encoded event message (type event: tenant, events[1] with its sequence,
   incidents[1]), as lk_msg_encode would give it. */
typedef struct {
    char *data;
    size_t size;
} store_published_t;

/* The event messages of the rows the last store_writer_apply inserted and committed, in
   sequence order. Valid until the next store_writer_apply. */
const store_published_t *store_writer_published(const store_writer_t *self, size_t *count);

/* The highest sequence committed so far. */
uint64_t store_writer_last_sequence(const store_writer_t *self);

#endif
