/*  store_outbox — consumer cursors and outbox retention (see store_outbox.h).

    Each statement has one text per backend (SQLite ?N placeholders, PostgreSQL $N with
    casts, as in the dialects of store_sqlite.c and store_pg.c); s_sql picks the set of the
    connection's backend.
*/
#include "store_outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store_map.h"

typedef struct {
    const char *upsert_cursor; /* (consumer, sequence, updated_at) */
    const char *select_cursor; /* (consumer) → sequence */
    const char *min_sequence;  /* () → lowest sequence or 0 */
    const char *expire_events; /* (cutoff_ms, keep_from, limit): the oldest limit events
                                  (by sequence: no index on at), those before cutoff_ms;
                                  the filter on at inside the subquery keeps PostgreSQL
                                  from scanning the table for it */
} s_outbox_sql_t;

/* Both backends accept ON CONFLICT ... DO UPDATE ... WHERE: the WHERE keeps a cursor from
   moving backwards. */
static const s_outbox_sql_t s_sqlite = {
    .upsert_cursor = "INSERT INTO consumer_cursors (consumer, sequence, updated_at) "
                     "VALUES (?1, ?2, ?3) ON CONFLICT (consumer) DO UPDATE SET "
                     "sequence = excluded.sequence, updated_at = excluded.updated_at "
                     "WHERE excluded.sequence > consumer_cursors.sequence",
    .select_cursor = "SELECT sequence FROM consumer_cursors WHERE consumer = ?1",
    .min_sequence = "SELECT COALESCE(MIN(sequence), 0) FROM events",
    .expire_events = "DELETE FROM events WHERE sequence IN (SELECT sequence FROM (SELECT "
                     "sequence, at FROM events WHERE sequence < ?2 ORDER BY sequence LIMIT ?3) "
                     "WHERE at < ?1)",
};

static const s_outbox_sql_t s_postgres = {
    .upsert_cursor = "INSERT INTO consumer_cursors (consumer, sequence, updated_at) "
                     "VALUES ($1::text, $2::bigint, $3::bigint) ON CONFLICT (consumer) DO UPDATE "
                     "SET sequence = excluded.sequence, updated_at = excluded.updated_at "
                     "WHERE excluded.sequence > consumer_cursors.sequence",
    .select_cursor = "SELECT sequence FROM consumer_cursors WHERE consumer = $1::text",
    .min_sequence = "SELECT COALESCE(MIN(sequence), 0) FROM events",
    .expire_events = "DELETE FROM events WHERE sequence IN (SELECT sequence FROM (SELECT "
                     "sequence, at FROM events WHERE sequence < $2::bigint ORDER BY sequence "
                     "LIMIT $3::bigint) oldest WHERE at < $1::bigint)",
};

/* The statements of db's backend. */
static const s_outbox_sql_t *s_sql(const store_db_t *db)
{
    return strcmp(store_db_backend_name(db), "sqlite") == 0 ? &s_sqlite : &s_postgres;
}

/* A sequence as a statement parameter (the columns are signed 64-bit). */
static int64_t s_sequence_param(uint64_t sequence)
{
    return sequence > INT64_MAX ? INT64_MAX : (int64_t)sequence;
}

bool store_outbox_cursor_valid(const lk_msg_t *commit, uint64_t last_sequence, char *err,
                               size_t err_size)
{
    size_t length = commit->consumer ? strlen(commit->consumer) : 0;
    if (length == 0 || length > STORE_CONSUMER_MAX || !store_map_utf8_valid(commit->consumer)) {
        snprintf(err, err_size, "consumer: 1 to %d bytes of UTF-8", STORE_CONSUMER_MAX);
        return false;
    }
    if (commit->sequence > last_sequence) {
        snprintf(err, err_size, "sequence %" PRIu64 " is past the last event (%" PRIu64 ")",
                 commit->sequence, last_sequence);
        return false;
    }
    return true;
}

int store_outbox_cursor_commit(store_db_t *db, const lk_msg_t *commit, int64_t now_ms, char *err,
                               size_t err_size)
{
    store_param_t params[] = {store_param_text(commit->consumer),
                              store_param_int(s_sequence_param(commit->sequence)),
                              store_param_int(now_ms)};
    int rc = store_db_exec(db, s_sql(db)->upsert_cursor, params, 3, NULL);
    if (rc != STORE_DB_OK)
        snprintf(err, err_size, "committing a cursor: %s", store_db_error(db));
    return rc;
}

int store_outbox_cursor_get(store_db_t *db, const char *consumer, bool *found, uint64_t *sequence)
{
    *found = false;
    *sequence = 0;
    store_param_t param = store_param_text(consumer);
    store_rows_t *rows;
    int rc = store_db_query(db, s_sql(db)->select_cursor, &param, 1, &rows);
    if (rc != STORE_DB_OK)
        return rc;
    int step = store_rows_next(rows);
    if (step == 1) {
        int64_t value = store_rows_int(rows, 0);
        *found = true;
        *sequence = value > 0 ? (uint64_t)value : 0;
    }
    store_rows_destroy(&rows);
    return step < 0 ? step : STORE_DB_OK;
}

int store_outbox_bounds(store_db_t *db, uint64_t *first, uint64_t *last)
{
    int64_t low = 0, high = 0;
    int rc = store_db_query_int(db, s_sql(db)->min_sequence, NULL, 0, &low);
    if (rc == STORE_DB_OK)
        rc = store_db_query_int(db, store_db_dialect(db)->max_sequence, NULL, 0, &high);
    *first = low > 0 ? (uint64_t)low : 0;
    *last = high > 0 ? (uint64_t)high : 0;
    return rc;
}

int store_outbox_expire(store_db_t *db, int64_t cutoff_ms, uint64_t keep_from, int64_t limit,
                        int64_t *deleted)
{
    *deleted = 0;
    const store_dialect_t *sql = store_db_dialect(db);
    int rc = store_db_exec(db, sql->begin_write, NULL, 0, NULL);
    if (rc != STORE_DB_OK)
        return STORE_DB_LOST; /* as in store_writer: a writer that cannot begin is done */
    store_param_t params[] = {store_param_int(cutoff_ms),
                              store_param_int(s_sequence_param(keep_from)), store_param_int(limit)};
    rc = store_db_exec(db, s_sql(db)->expire_events, params, 3, deleted);
    if (rc == STORE_DB_OK)
        rc = store_db_exec(db, sql->commit, NULL, 0, NULL);
    if (rc == STORE_DB_ERROR) {
        *deleted = 0;
        if (store_db_exec(db, sql->rollback, NULL, 0, NULL) == STORE_DB_LOST)
            return STORE_DB_LOST;
    }
    return rc;
}
