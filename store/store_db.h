/*  store_db — the database backend interface of store: one connection, parameterised SQL.

    A backend (SQLite, PostgreSQL) provides a connection that runs one statement at a time
    with typed parameters and hands back rows, plus the SQL text of every statement store
    needs in its own dialect (store_dialect_t). Everything above this interface — mapping
    rows to lk_* structs, group commit, queries, pagination — is shared, so both backends
    behave the same and pass the same test-suite.

    SQL text is always a constant of the dialect or composed from its constant fragments and
    numbered placeholders; values from messages only ever travel as parameters.

    Result codes of every call: STORE_DB_OK, STORE_DB_ERROR (the statement failed, e.g. a
    constraint; the connection is fine and the caller may roll back and carry on) or
    STORE_DB_LOST (the connection or the database file is unusable: "crash, don't limp").
    A connection is used by one thread only.
*/
#ifndef STORE_DB_H
#define STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_DB_OK    0
#define STORE_DB_ERROR -1
#define STORE_DB_LOST  -2

typedef struct store_db_t store_db_t;
typedef struct store_rows_t store_rows_t;

typedef enum {
    STORE_PARAM_NULL = 0,
    STORE_PARAM_TEXT,
    STORE_PARAM_INT,
    STORE_PARAM_REAL,
    STORE_PARAM_BLOB,
} store_param_type_t;

/* One statement parameter. Pointed-to text/blob must stay valid during the call. */
typedef struct {
    store_param_type_t type;
    const char *text;
    int64_t integer;
    double real;
    const void *blob;
    size_t blob_size;
} store_param_t;

/* Parameter constructors. store_param_text(NULL) is SQL NULL. */
store_param_t store_param_null(void);
store_param_t store_param_text(const char *text);
store_param_t store_param_int(int64_t integer);
store_param_t store_param_real(double real);
store_param_t store_param_blob(const void *blob, size_t size);

/* The SQL of every statement store runs, in one backend's dialect. Placeholders are the
   dialect's own (SQLite ?N, PostgreSQL $N). The list_* fragments are printf formats whose
   only conversions are %d parameter numbers, consumed in the order documented on each. */
typedef struct {
    const char *begin_write; /* starts the writer's transaction */
    const char *begin_read;  /* starts a consistent read-only snapshot */
    const char *commit;
    const char *rollback;
    const char *migrate_lock;           /* serialises concurrent migrators; NULL if not needed */
    const char *writer_lock;            /* () → 1 when this session is now the only writer, 0 when
                                           another holds it; NULL when the backend needs none */
    const char *migrations_table;       /* CREATE TABLE IF NOT EXISTS schema_migrations */
    const char *migration_applied;      /* (version) → one row when applied */
    const char *migration_record;       /* (version, name, applied_at) */
    const char *max_sequence;           /* () → one row: highest events.sequence or 0 */
    const char *upsert_incident;        /* (STORE_INCIDENT_PARAMS); an update leaves
                                           group_key and created_at (fixed when the
                                           incident is made) alone, so SQLite does not
                                           rewrite the two indexes on them */
    const char *upsert_alert;           /* (STORE_ALERT_PARAMS); keyed on (incident_id,
                                           fingerprint), never updates another tenant's row */
    const char *insert_event;           /* (STORE_EVENT_PARAMS); 1 change when inserted */
    const char *delete_events_after;    /* (sequence) → removes the events after it (the
                                           writer undoing a partial multi-row insert) */
    const char *select_incident;        /* (tenant, id) → STORE_INCIDENT_COLUMNS */
    const char *select_incident_alerts; /* (tenant, incident_id, limit) → alert columns */
    const char *select_incident_events; /* (tenant, incident_id, limit) → event columns */
    const char *snapshot_incidents;     /* (after_id, limit) → non-closed incidents by id */
    const char *snapshot_alerts;        /* (JSON array of incident ids) → alert columns */
    const char *events_after;           /* (after_sequence, limit) → event columns + blob */
    const char *events_after_tenant;    /* (tenant, after_sequence, limit) → same */
    const char *event_snapshot;         /* (incident_id, sequence) → sequence, incident of the
                                           incident's next event with a snapshot */
    const char *list_select;            /* "%d": tenant */
    const char *list_status;            /* "%d %d %d %d": four status names, unused ones NULL */
    const char *list_severity;          /* "%d %d %d %d": four severity names, unused ones NULL */
    const char *list_since;             /* "%d": since_ms */
    const char *list_until;             /* "%d": until_ms */
    const char *list_label;             /* "%d %d": label name, label value */
    const char *list_cursor;            /* "%d %d": created_at, id of the previous page's last */
    const char *list_order;             /* "%d": limit */
} store_dialect_t;

/* Column lists shared by both dialects (the order the row readers in store_map expect). */
#define STORE_INCIDENT_COLUMNS                                                                     \
    "id, tenant_id, group_key, title, summary, acknowledged_by, resolved_by, group_labels, "       \
    "severity, status, alert_count, firing_count, reopen_count, version, created_at, "             \
    "updated_at, acknowledged_at, resolved_at, policy, sources, group_wait_until, "                \
    "ack_expires_at"
#define STORE_INCIDENT_PARAMS 22
#define STORE_ALERT_COLUMNS                                                                        \
    "tenant_id, incident_id, fingerprint, source, name, query, dedup_key, generator_url, "         \
    "labels, annotations, severity, status, value, threshold, starts_at, ends_at, updated_at, "    \
    "state, suppressed_by"
#define STORE_ALERT_PARAMS 19
#define STORE_EVENT_COLUMNS                                                                        \
    "sequence, event_id, tenant_id, incident_id, type, actor, note, fingerprints, at"
/* insert_event binds STORE_EVENT_COLUMNS then the incident blob: the incident as of the
   event, msgpack (lk_incident_encode). The events one multi-row statement inserts for one
   incident all carry the same snapshot (the batch's), so it is stored once, on the last of
   them; the rows before it hold an empty blob that stands for the snapshot of the next event
   of their incident with one (event_snapshot). Retention removes the oldest events first,
   so the row holding a snapshot outlives the rows sharing it. */
#define STORE_EVENT_PARAMS 10

/* The vtable one backend implements; store_db.c dispatches to it. */
typedef struct {
    const char *name;
    const store_dialect_t *dialect;
    /* Opens a connection (read_only: the query side). Returns the backend's connection or
       NULL with a reason in err (never containing a password). */
    void *(*open)(const char *url, bool read_only, char *err, size_t err_size);
    void (*close)(void *conn);
    /* Runs a constant multi-statement script (a migration). */
    int (*run_script)(void *conn, const char *sql);
    /* Runs a statement; *changes (if not NULL) gets the rows it inserted/updated. */
    int (*exec)(void *conn, const char *sql, const store_param_t *params, int param_count,
                int64_t *changes);
    /* Runs a statement that returns rows; *rows must be released with rows_destroy. */
    int (*query)(void *conn, const char *sql, const store_param_t *params, int param_count,
                 void **rows);
    /* Advances to the next row: 1 = a row, 0 = done, STORE_DB_ERROR / STORE_DB_LOST. */
    int (*rows_next)(void *rows);
    bool (*rows_null)(void *rows, int column);
    int64_t (*rows_int)(void *rows, int column);
    double (*rows_real)(void *rows, int column);
    /* Text of a column; NULL for SQL NULL. Valid until the next rows_next. */
    const char *(*rows_text)(void *rows, int column);
    /* Bytes of a blob column; NULL for SQL NULL. Valid until the next rows_next. */
    const void *(*rows_blob)(void *rows, int column, size_t *size);
    void (*rows_destroy)(void *rows);
    /* The last error of this connection, for logs and error replies. */
    const char *(*error)(void *conn);
} store_backend_t;

extern const store_backend_t store_backend_sqlite;
extern const store_backend_t store_backend_postgres;

/* One embedded migration (generated at build time from store/migrations/<backend>/NNNN_name.sql).
 */
typedef struct {
    int version;      /* the file's number: 0001_init.sql → 1 */
    const char *name; /* the file name */
    const char *sql;
} store_migration_t;

extern const store_migration_t store_migrations_sqlite[];
extern const size_t store_migrations_sqlite_count;
extern const store_migration_t store_migrations_postgres[];
extern const size_t store_migrations_postgres_count;

/* Opens database_url ("sqlite:PATH" or "postgresql://..." / "postgres://..."). Returns NULL
   with a reason in err when the scheme is unknown or the database cannot be reached. */
store_db_t *store_db_open(const char *database_url, bool read_only, char *err, size_t err_size);
/* Closes the connection; accepts NULL; sets *self_p to NULL. */
void store_db_destroy(store_db_t **self_p);

/* Applies the backend's migrations that are not yet recorded in schema_migrations, in
   order, one transaction each. Returns STORE_DB_OK or the failing call's code. */
int store_db_migrate(store_db_t *self);
/* Number of migrations this binary embeds for the connection's backend. */
size_t store_db_migration_count(const store_db_t *self);

const store_dialect_t *store_db_dialect(const store_db_t *self);
const char *store_db_backend_name(const store_db_t *self);
const char *store_db_error(const store_db_t *self);

/* Statement execution; see store_backend_t. */
int store_db_exec(store_db_t *self, const char *sql, const store_param_t *params, int param_count,
                  int64_t *changes);
int store_db_query(store_db_t *self, const char *sql, const store_param_t *params, int param_count,
                   store_rows_t **rows_p);

int store_rows_next(store_rows_t *rows);
bool store_rows_null(store_rows_t *rows, int column);
int64_t store_rows_int(store_rows_t *rows, int column);
double store_rows_real(store_rows_t *rows, int column);
const char *store_rows_text(store_rows_t *rows, int column);
const void *store_rows_blob(store_rows_t *rows, int column, size_t *size);
/* Releases the rows; accepts NULL; sets *rows_p to NULL. */
void store_rows_destroy(store_rows_t **rows_p);

/* Runs a statement expected to return one integer in its first row's first column (e.g.
   MAX(sequence)). Returns STORE_DB_OK with *value set (0 when no row or NULL). */
int store_db_query_int(store_db_t *self, const char *sql, const store_param_t *params,
                       int param_count, int64_t *value);

#endif
