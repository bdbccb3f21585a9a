/*  store_retention — closed incidents past their retention (see store_retention.h).

    One transaction deletes a chunk: the rows of the chunk's incidents table by table, then
    the incidents. Every statement names the chunk by the same subquery; nothing else writes
    while it runs (store is the only writer and this runs on its connection), and the order
    (updated_at, id) is total, so each statement sees the same incidents. The subquery reads
    the index incidents_closed (migration 0012) in its order and stops after limit; each
    table is then reached through an index that starts with incident_id (alerts' primary
    key, escalations_step, notifications_incident, incident_updates_incident_id), the same
    indexes the database's foreign key checks use when the incidents go.

    Each statement has one text per backend (SQLite ?N placeholders, PostgreSQL $N with
    casts, as in store_outbox.c), built from one template. PostgreSQL takes the chunk as an
    array (= ANY (ARRAY(...))): it computes the subquery once and looks the rows up by index,
    where for IN (...) it preferred a hash join over a scan of the whole table. s_statements
    picks the set of the connection's backend.
*/
#include "store_retention.h"

#include <string.h>

/* The chunk: the oldest limit closed incidents closed before cutoff with no events left. */
#define S_CHUNK(cutoff, limit)                                                                     \
    "SELECT id FROM incidents WHERE status = 'closed' AND updated_at < " cutoff                    \
    " AND NOT EXISTS (SELECT 1 FROM events WHERE events.incident_id = incidents.id) "              \
    "ORDER BY updated_at, id LIMIT " limit

/* The rows that reference an incident (every REFERENCES incidents of the migrations but
   events, which the chunk has none of), then the incidents: (cutoff_ms, limit). in_chunk
   completes "incident_id ..." to "is in the chunk". */
#define S_EXPIRE(in_chunk)                                                                         \
    "DELETE FROM alerts WHERE incident_id " in_chunk,                                              \
        "DELETE FROM escalations WHERE incident_id " in_chunk,                                     \
        "DELETE FROM notifications WHERE incident_id " in_chunk,                                   \
        "DELETE FROM incident_updates WHERE incident_id " in_chunk,                                \
        "DELETE FROM incidents WHERE id " in_chunk
#define S_EXPIRE_STATEMENTS 5

static const char *const s_sqlite[S_EXPIRE_STATEMENTS] = {
    S_EXPIRE("IN (" S_CHUNK("?1", "?2") ")"),
};
static const char *const s_postgres[S_EXPIRE_STATEMENTS] = {
    S_EXPIRE("= ANY (ARRAY(" S_CHUNK("$1::bigint", "$2::bigint") "))"),
};

/* The statements of db's backend. */
static const char *const *s_statements(const store_db_t *db)
{
    return strcmp(store_db_backend_name(db), "sqlite") == 0 ? s_sqlite : s_postgres;
}

int store_incidents_expire(store_db_t *db, int64_t cutoff_ms, int64_t limit, int64_t *deleted)
{
    *deleted = 0;
    const store_dialect_t *sql = store_db_dialect(db);
    const char *const *statements = s_statements(db);
    int rc = store_db_exec(db, sql->begin_write, NULL, 0, NULL);
    if (rc != STORE_DB_OK)
        return STORE_DB_LOST; /* as in store_writer: a writer that cannot begin is done */
    store_param_t params[] = {store_param_int(cutoff_ms), store_param_int(limit)};
    int64_t changes = 0; /* of the last statement: the incidents */
    for (int index = 0; index < S_EXPIRE_STATEMENTS && rc == STORE_DB_OK; index++)
        rc = store_db_exec(db, statements[index], params, 2, &changes);
    if (rc == STORE_DB_OK)
        rc = store_db_exec(db, sql->commit, NULL, 0, NULL);
    if (rc == STORE_DB_OK)
        *deleted = changes;
    if (rc == STORE_DB_ERROR && store_db_exec(db, sql->rollback, NULL, 0, NULL) == STORE_DB_LOST)
        return STORE_DB_LOST;
    return rc;
}
