/*  store_pg — the PostgreSQL backend of store_db (libpq, "postgresql://..." URLs).

    Every statement runs with out-of-line parameters. A connection prepares each distinct
    statement text the first time it runs it (PQprepare, named "lk" and its slot) and from
    then on only binds and executes it (PQexecPrepared): the server parses, analyses and
    rewrites the writer's 32-row upserts once per session instead of at every statement,
    which was most of its CPU per new alert. At most S_PREPARED_MAX texts are kept; past
    that, and with LOOKOUT_POSTGRES_PREPARE=0 (the way before: an escape hatch should a
    generic plan ever go wrong, and the A/B of docs/performance.md), statements go through
    PQexecParams. Statements, the writer's advisory lock and the query side's READ ONLY are
    all the session's: a pooler in front of store must be in session mode. The only other
    entry point is PQexec for the embedded migration scripts, which are constants of the
    binary (multi-statement DDL that PQexecParams cannot run).

    Parameters travel as text (blobs as binary) and let the server infer their types from
    the statement, which carries explicit casts where it cannot. Results come back as text;
    bytea columns are unescaped on demand.

    A failure is STORE_DB_LOST when the connection is gone (PQstatus bad) or the server says
    the session cannot go on (SQLSTATE classes 08 connection, 53 resources, 57 operator
    intervention, 58 system, XX internal); otherwise STORE_DB_ERROR.
*/
#include "store_db.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_env.h"
#include "lk_log.h"

/* The writer's multi-row statements bind up to 32 rows of 19 alert columns (store_writer). */
#define S_MAX_PARAMS 640
/* Statement texts one connection prepares. store's are a few dozen constants and the list
   queries' filter combinations; the bound only keeps a caller composing unbounded texts
   from growing the server's memory. A power of two over twice the bound keeps probes short. */
#define S_PREPARED_MAX   128
#define S_PREPARED_SLOTS 256

/* One prepared statement: its text (owned) and the FNV-1a hash that places it. Entries are
   never removed, so the server knows it by its slot: "lk<slot>". */
typedef struct {
    char *sql;
    uint64_t hash;
} s_prepared_t;

typedef struct {
    PGconn *handle;
    bool prepare; /* LOOKOUT_POSTGRES_PREPARE */
    unsigned prepared_count;
    s_prepared_t prepared[S_PREPARED_SLOTS];
    char error[512];
} s_conn_t;

typedef struct {
    PGresult *result;
    int row; /* current row; -1 before the first rows_next */
    int count;
    unsigned char *unescaped; /* bytea of the current row, PQfreemem'd */
} s_rows_t;

/* Notes a failed result (or a NULL one) and classifies it. Clears result. */
static int s_fail(s_conn_t *conn, PGresult *result)
{
    const char *primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *code = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    if (primary)
        snprintf(conn->error, sizeof(conn->error), "%s%s%s [%s]", primary, detail ? ": " : "",
                 detail ? detail : "", code ? code : "?");
    else
        snprintf(conn->error, sizeof(conn->error), "%s", PQerrorMessage(conn->handle));
    /* logs and replies want one line */
    for (char *cursor = conn->error; *cursor; cursor++)
        if (*cursor == '\n')
            *cursor = ' ';
    size_t length = strlen(conn->error);
    while (length && conn->error[length - 1] == ' ')
        conn->error[--length] = '\0';
    int rc = STORE_DB_ERROR;
    if (PQstatus(conn->handle) != CONNECTION_OK || !result)
        rc = STORE_DB_LOST;
    else if (code && (strncmp(code, "08", 2) == 0 || strncmp(code, "53", 2) == 0 ||
                      strncmp(code, "57", 2) == 0 || strncmp(code, "58", 2) == 0 ||
                      strncmp(code, "XX", 2) == 0))
        rc = STORE_DB_LOST;
    PQclear(result);
    return rc;
}

static void s_close(void *connection)
{
    s_conn_t *conn = connection;
    if (!conn)
        return;
    PQfinish(conn->handle);
    for (size_t slot = 0; slot < S_PREPARED_SLOTS; slot++)
        free(conn->prepared[slot].sql);
    free(conn);
}

/* Server notices ("relation already exists, skipping", ...) go to the debug log instead of
   libpq's default of raw lines on stderr. */
static void s_notice(void *arg, const char *message)
{
    (void)arg;
    size_t length = strlen(message);
    while (length && message[length - 1] == '\n')
        length--;
    lk_debug("store: postgresql: %.*s", (int)length, message);
}

/* Overwrites every occurrence of the connection's password in text with asterisks, so no
   error message derived from the URL can carry it into a log. */
static void s_redact_password(char *text, const char *url)
{
    PQconninfoOption *options = PQconninfoParse(url, NULL);
    if (!options)
        return;
    for (PQconninfoOption *option = options; option->keyword; option++) {
        if (strcmp(option->keyword, "password") != 0 || !option->val || !*option->val)
            continue;
        size_t length = strlen(option->val);
        for (char *at = strstr(text, option->val); at; at = strstr(at + length, option->val))
            memset(at, '*', length);
    }
    PQconninfoFree(options);
}

static void *s_open(const char *url, bool read_only, char *err, size_t err_size)
{
    /* libpq's message about a URL it cannot parse quotes the offending part, which may be the
       password: only say that it does not parse */
    char *parse_error = NULL;
    PQconninfoOption *parsed = PQconninfoParse(url, &parse_error);
    PQconninfoFree(parsed);
    PQfreemem(parse_error);
    if (!parsed) {
        snprintf(err, err_size,
                 "postgresql: LOOKOUT_DATABASE_URL is not a valid connection URI "
                 "(libpq's details are withheld: they may quote a password)");
        return NULL;
    }
    s_conn_t *conn = calloc(1, sizeof(*conn));
    if (!conn) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    conn->handle = PQconnectdb(url);
    if (!conn->handle || PQstatus(conn->handle) != CONNECTION_OK) {
        /* PQerrorMessage names host and port; the password is blanked out should it ever
           appear */
        snprintf(err, err_size, "postgresql: cannot connect: %s",
                 conn->handle ? PQerrorMessage(conn->handle) : "out of memory");
        s_redact_password(err, url);
        size_t length = strlen(err);
        while (length && err[length - 1] == '\n')
            err[--length] = '\0';
        s_close(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn->handle, s_notice, NULL);
    conn->prepare = lk_env_bool("LOOKOUT_POSTGRES_PREPARE", true);
    /* Times are epoch ms in bigint columns, so only the client encoding matters here. */
    PGresult *result =
        PQexecParams(conn->handle, "SET client_encoding = 'UTF8'", 0, NULL, NULL, NULL, NULL, 0);
    bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    PQclear(result);
    if (ok && read_only) {
        result = PQexecParams(conn->handle, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                              0, NULL, NULL, NULL, NULL, 0);
        ok = PQresultStatus(result) == PGRES_COMMAND_OK;
        PQclear(result);
    }
    if (!ok) {
        snprintf(err, err_size, "postgresql: session setup failed: %s",
                 PQerrorMessage(conn->handle));
        s_close(conn);
        return NULL;
    }
    return conn;
}

static int s_run_script(void *connection, const char *sql)
{
    s_conn_t *conn = connection;
    PGresult *result = PQexec(conn->handle, sql);
    /* a script of comments only (a placeholder migration) is an empty query, not an error */
    ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
        PQclear(result);
        return STORE_DB_OK;
    }
    return s_fail(conn, result);
}

/* The slot of sql in the connection's prepared statements: the one holding it, or the empty
   slot where it would go. */
static s_prepared_t *s_prepared_slot(s_conn_t *conn, const char *sql, uint64_t hash)
{
    size_t slot = (size_t)hash & (S_PREPARED_SLOTS - 1);
    while (conn->prepared[slot].sql &&
           (conn->prepared[slot].hash != hash || strcmp(conn->prepared[slot].sql, sql) != 0))
        slot = (slot + 1) & (S_PREPARED_SLOTS - 1);
    return &conn->prepared[slot];
}

/* The name of sql's prepared statement, preparing it on first use, in name (room for
   "lk" and a number). Returns STORE_DB_OK with *name set, STORE_DB_OK with *name empty
   when sql is to go unprepared (preparing is off or the table is full), or the failure of
   PQprepare (a statement that does not parse fails here, as PQexecParams would). */
static int s_prepared_name(s_conn_t *conn, const char *sql, int param_count, char *name,
                           size_t name_size)
{
    *name = '\0';
    if (!conn->prepare)
        return STORE_DB_OK;
    uint64_t hash = 14695981039346656037ULL;
    for (const unsigned char *cursor = (const unsigned char *)sql; *cursor; cursor++)
        hash = (hash ^ *cursor) * 1099511628211ULL;
    s_prepared_t *prepared = s_prepared_slot(conn, sql, hash);
    char statement[16];
    snprintf(statement, sizeof(statement), "lk%zu", (size_t)(prepared - conn->prepared));
    if (!prepared->sql) {
        if (conn->prepared_count >= S_PREPARED_MAX)
            return STORE_DB_OK;
        char *copy = strdup(sql);
        if (!copy) /* unprepared, as when the table is full */
            return STORE_DB_OK;
        PGresult *result = PQprepare(conn->handle, statement, sql, param_count, NULL);
        if (PQresultStatus(result) != PGRES_COMMAND_OK) {
            free(copy);
            return s_fail(conn, result);
        }
        PQclear(result);
        *prepared = (s_prepared_t){.sql = copy, .hash = hash};
        conn->prepared_count++;
    }
    snprintf(name, name_size, "%s", statement);
    return STORE_DB_OK;
}

/* Runs sql with params, expecting status want. Returns the result or NULL (with the
   failure code in *rc). */
static PGresult *s_run(s_conn_t *conn, const char *sql, const store_param_t *params,
                       int param_count, ExecStatusType want, int *rc)
{
    if (param_count > S_MAX_PARAMS) {
        snprintf(conn->error, sizeof(conn->error), "too many parameters (%d)", param_count);
        *rc = STORE_DB_ERROR;
        return NULL;
    }
    const char *values[S_MAX_PARAMS];
    int lengths[S_MAX_PARAMS];
    int formats[S_MAX_PARAMS];
    char numbers[S_MAX_PARAMS][32];
    for (int index = 0; index < param_count; index++) {
        const store_param_t *param = &params[index];
        lengths[index] = 0;
        formats[index] = 0;
        switch (param->type) {
        case STORE_PARAM_NULL:
            values[index] = NULL;
            break;
        case STORE_PARAM_TEXT:
            values[index] = param->text;
            break;
        case STORE_PARAM_INT:
            snprintf(numbers[index], sizeof(numbers[index]), "%" PRId64, param->integer);
            values[index] = numbers[index];
            break;
        case STORE_PARAM_REAL:
            /* 17 significant digits round-trip every double exactly */
            snprintf(numbers[index], sizeof(numbers[index]), "%.17g", param->real);
            values[index] = numbers[index];
            break;
        case STORE_PARAM_BLOB:
            values[index] = param->blob;
            lengths[index] = (int)param->blob_size;
            formats[index] = 1;
            break;
        }
    }
    char statement[16];
    *rc = s_prepared_name(conn, sql, param_count, statement, sizeof(statement));
    if (*rc != STORE_DB_OK)
        return NULL;
    PGresult *result =
        *statement
            ? PQexecPrepared(conn->handle, statement, param_count, values, lengths, formats, 0)
            : PQexecParams(conn->handle, sql, param_count, NULL, values, lengths, formats, 0);
    if (PQresultStatus(result) != want) {
        *rc = s_fail(conn, result);
        return NULL;
    }
    *rc = STORE_DB_OK;
    return result;
}

static int s_exec(void *connection, const char *sql, const store_param_t *params, int param_count,
                  int64_t *changes)
{
    s_conn_t *conn = connection;
    int rc;
    PGresult *result = s_run(conn, sql, params, param_count, PGRES_COMMAND_OK, &rc);
    if (!result)
        return rc;
    if (changes) {
        const char *tuples = PQcmdTuples(result);
        *changes = *tuples ? strtoll(tuples, NULL, 10) : 0;
    }
    PQclear(result);
    return STORE_DB_OK;
}

static int s_query(void *connection, const char *sql, const store_param_t *params, int param_count,
                   void **rows_p)
{
    s_conn_t *conn = connection;
    int rc;
    PGresult *result = s_run(conn, sql, params, param_count, PGRES_TUPLES_OK, &rc);
    if (!result)
        return rc;
    s_rows_t *rows = calloc(1, sizeof(*rows));
    if (!rows) {
        PQclear(result);
        snprintf(conn->error, sizeof(conn->error), "out of memory");
        return STORE_DB_ERROR;
    }
    rows->result = result;
    rows->row = -1;
    rows->count = PQntuples(result);
    *rows_p = rows;
    return STORE_DB_OK;
}

static int s_rows_next(void *rows_ptr)
{
    s_rows_t *rows = rows_ptr;
    if (rows->unescaped) {
        PQfreemem(rows->unescaped);
        rows->unescaped = NULL;
    }
    if (rows->row + 1 >= rows->count)
        return 0;
    rows->row++;
    return 1;
}

static bool s_rows_null(void *rows_ptr, int column)
{
    s_rows_t *rows = rows_ptr;
    return PQgetisnull(rows->result, rows->row, column);
}

static int64_t s_rows_int(void *rows_ptr, int column)
{
    s_rows_t *rows = rows_ptr;
    if (PQgetisnull(rows->result, rows->row, column))
        return 0;
    return strtoll(PQgetvalue(rows->result, rows->row, column), NULL, 10);
}

static double s_rows_real(void *rows_ptr, int column)
{
    s_rows_t *rows = rows_ptr;
    if (PQgetisnull(rows->result, rows->row, column))
        return 0;
    return strtod(PQgetvalue(rows->result, rows->row, column), NULL);
}

static const char *s_rows_text(void *rows_ptr, int column)
{
    s_rows_t *rows = rows_ptr;
    if (PQgetisnull(rows->result, rows->row, column))
        return NULL;
    return PQgetvalue(rows->result, rows->row, column);
}

static const void *s_rows_blob(void *rows_ptr, int column, size_t *size)
{
    s_rows_t *rows = rows_ptr;
    *size = 0;
    if (PQgetisnull(rows->result, rows->row, column))
        return NULL;
    if (rows->unescaped)
        PQfreemem(rows->unescaped);
    rows->unescaped =
        PQunescapeBytea((const unsigned char *)PQgetvalue(rows->result, rows->row, column), size);
    return rows->unescaped;
}

static void s_rows_destroy(void *rows_ptr)
{
    s_rows_t *rows = rows_ptr;
    if (!rows)
        return;
    if (rows->unescaped)
        PQfreemem(rows->unescaped);
    PQclear(rows->result);
    free(rows);
}

static const char *s_error(void *connection)
{
    s_conn_t *conn = connection;
    return conn->error;
}

/* Reads use REPEATABLE READ so the statements of one reply (an incident, its alerts, its
   timeline) see one snapshot. 0x4c6f6f6b ("Look") keys the migration advisory lock, and
   0x4c6f6f6c with the schema the writer's session lock: the sequence is gap-free only with
   one writer per schema. */
static const store_dialect_t s_dialect = {
    .begin_write = "BEGIN",
    .begin_read = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    .commit = "COMMIT",
    .rollback = "ROLLBACK",
    .migrate_lock = "SELECT pg_advisory_xact_lock(1282371435)",
    .writer_lock = "SELECT CASE WHEN pg_try_advisory_lock(1282371436, "
                   "hashtext(current_schema())) THEN 1 ELSE 0 END",
    .migrations_table = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        "version bigint PRIMARY KEY, name text NOT NULL, "
                        "applied_at bigint NOT NULL)",
    .migration_applied = "SELECT 1 FROM schema_migrations WHERE version = $1::bigint",
    .migration_record = "INSERT INTO schema_migrations (version, name, applied_at) "
                        "VALUES ($1::bigint, $2::text, $3::bigint)",
    .max_sequence = "SELECT COALESCE(MAX(sequence), 0) FROM events",
    .upsert_incident =
        "INSERT INTO incidents (" STORE_INCIDENT_COLUMNS ") VALUES ($1::uuid, $2::uuid, $3, "
        "$4, $5, $6, $7, $8::jsonb, $9, $10, $11::bigint, $12::bigint, $13::bigint, "
        "$14::bigint, $15::bigint, $16::bigint, $17::bigint, $18::bigint, $19, $20::jsonb, "
        "$21::bigint, $22::bigint) "
        "ON CONFLICT (id) DO UPDATE SET title = excluded.title, summary = excluded.summary, "
        "acknowledged_by = excluded.acknowledged_by, resolved_by = excluded.resolved_by, "
        "group_labels = excluded.group_labels, severity = excluded.severity, "
        "status = excluded.status, alert_count = excluded.alert_count, "
        "firing_count = excluded.firing_count, reopen_count = excluded.reopen_count, "
        "version = excluded.version, updated_at = excluded.updated_at, "
        "acknowledged_at = excluded.acknowledged_at, "
        "resolved_at = excluded.resolved_at, policy = excluded.policy, "
        "sources = excluded.sources, group_wait_until = excluded.group_wait_until, "
        "ack_expires_at = excluded.ack_expires_at "
        "WHERE excluded.version >= incidents.version "
        "AND excluded.tenant_id = incidents.tenant_id",
    .upsert_alert =
        "INSERT INTO alerts (" STORE_ALERT_COLUMNS ") VALUES ($1::uuid, $2::uuid, $3, $4, $5, "
        "$6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13::double precision, "
        "$14::double precision, $15::bigint, $16::bigint, $17::bigint, $18, $19) "
        "ON CONFLICT (incident_id, fingerprint) DO UPDATE SET "
        "source = excluded.source, name = excluded.name, query = excluded.query, "
        "dedup_key = excluded.dedup_key, generator_url = excluded.generator_url, "
        "labels = excluded.labels, annotations = excluded.annotations, "
        "severity = excluded.severity, status = excluded.status, value = excluded.value, "
        "threshold = excluded.threshold, starts_at = excluded.starts_at, "
        "ends_at = excluded.ends_at, updated_at = excluded.updated_at, "
        "state = excluded.state, suppressed_by = excluded.suppressed_by "
        "WHERE excluded.updated_at >= alerts.updated_at "
        "AND excluded.tenant_id = alerts.tenant_id",
    .insert_event = "INSERT INTO events (" STORE_EVENT_COLUMNS ", incident) VALUES ($1::bigint, "
                    "$2::uuid, $3::uuid, $4::uuid, $5, $6, $7, $8, $9::bigint, $10::bytea) "
                    "ON CONFLICT (event_id) DO NOTHING",
    .delete_events_after = "DELETE FROM events WHERE sequence > $1::bigint",
    .select_incident = "SELECT " STORE_INCIDENT_COLUMNS " FROM incidents "
                       "WHERE tenant_id = $1::uuid AND id = $2::uuid",
    .select_incident_alerts = "SELECT " STORE_ALERT_COLUMNS " FROM alerts "
                              "WHERE tenant_id = $1::uuid AND incident_id = $2::uuid "
                              "ORDER BY starts_at, fingerprint LIMIT $3::bigint",
    .select_incident_events = "SELECT " STORE_EVENT_COLUMNS " FROM events "
                              "WHERE tenant_id = $1::uuid AND incident_id = $2::uuid "
                              "ORDER BY sequence LIMIT $3::bigint",
    .snapshot_incidents = "SELECT " STORE_INCIDENT_COLUMNS " FROM incidents "
                          "WHERE status <> 'closed' AND id > $1::uuid ORDER BY id "
                          "LIMIT $2::bigint",
    .snapshot_alerts = "SELECT " STORE_ALERT_COLUMNS " FROM alerts WHERE incident_id = ANY "
                       "(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::uuid)) "
                       "ORDER BY incident_id, fingerprint",
    .events_after = "SELECT " STORE_EVENT_COLUMNS ", incident FROM events "
                    "WHERE sequence > $1::bigint ORDER BY sequence LIMIT $2::bigint",
    .events_after_tenant = "SELECT " STORE_EVENT_COLUMNS ", incident FROM events "
                           "WHERE tenant_id = $1::uuid AND sequence > $2::bigint "
                           "ORDER BY sequence LIMIT $3::bigint",
    .event_snapshot = "SELECT sequence, incident FROM events WHERE incident_id = $1::uuid "
                      "AND sequence > $2::bigint AND octet_length(incident) > 0 "
                      "ORDER BY sequence LIMIT 1",
    .list_select = "SELECT " STORE_INCIDENT_COLUMNS " FROM incidents WHERE tenant_id = $%d::uuid",
    .list_status = " AND status IN ($%d::text, $%d::text, $%d::text, $%d::text)",
    .list_severity = " AND severity IN ($%d::text, $%d::text, $%d::text, $%d::text)",
    .list_since = " AND created_at >= $%d::bigint",
    .list_until = " AND created_at < $%d::bigint",
    .list_label = " AND group_labels ->> $%d::text = $%d::text",
    .list_cursor = " AND (created_at, id) < ($%d::bigint, $%d::uuid)",
    .list_order = " ORDER BY created_at DESC, id DESC LIMIT $%d::bigint",
};

const store_backend_t store_backend_postgres = {
    .name = "postgresql",
    .dialect = &s_dialect,
    .open = s_open,
    .close = s_close,
    .run_script = s_run_script,
    .exec = s_exec,
    .query = s_query,
    .rows_next = s_rows_next,
    .rows_null = s_rows_null,
    .rows_int = s_rows_int,
    .rows_real = s_rows_real,
    .rows_text = s_rows_text,
    .rows_blob = s_rows_blob,
    .rows_destroy = s_rows_destroy,
    .error = s_error,
};
