/*  store_db — dispatches the backend interface (store_db.h) to SQLite or PostgreSQL by the
    scheme of the database URL, and runs the embedded migrations.

    Migrations: store/migrations/<backend>/NNNN_name.sql, embedded into the binary at build
    time, applied in ascending NNNN at every start; each in its own transaction together with
    its row in schema_migrations, so a crash mid-way leaves either all or nothing of it.
*/
#include "store_db.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_log.h"
#include "lk_time.h"

struct store_db_t {
    const store_backend_t *backend;
    void *conn;
};

struct store_rows_t {
    const store_backend_t *backend;
    void *rows;
};

store_param_t store_param_null(void)
{
    store_param_t param = {.type = STORE_PARAM_NULL};
    return param;
}

store_param_t store_param_text(const char *text)
{
    store_param_t param = {.type = text ? STORE_PARAM_TEXT : STORE_PARAM_NULL, .text = text};
    return param;
}

store_param_t store_param_int(int64_t integer)
{
    store_param_t param = {.type = STORE_PARAM_INT, .integer = integer};
    return param;
}

store_param_t store_param_real(double real)
{
    store_param_t param = {.type = STORE_PARAM_REAL, .real = real};
    return param;
}

store_param_t store_param_blob(const void *blob, size_t size)
{
    store_param_t param = {
        .type = blob ? STORE_PARAM_BLOB : STORE_PARAM_NULL, .blob = blob, .blob_size = size};
    return param;
}

/* Picks the backend for a URL scheme, or NULL. */
static const store_backend_t *s_backend_for(const char *url)
{
    if (strncmp(url, "sqlite:", 7) == 0)
        return &store_backend_sqlite;
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return &store_backend_postgres;
    return NULL;
}

store_db_t *store_db_open(const char *database_url, bool read_only, char *err, size_t err_size)
{
    assert(database_url);
    const store_backend_t *backend = s_backend_for(database_url);
    if (!backend) {
        snprintf(err, err_size, "database URL must start with sqlite: or postgresql://");
        return NULL;
    }
    void *conn = backend->open(database_url, read_only, err, err_size);
    if (!conn)
        return NULL;
    store_db_t *self = calloc(1, sizeof(*self));
    if (!self) {
        backend->close(conn);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    self->backend = backend;
    self->conn = conn;
    return self;
}

void store_db_destroy(store_db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_db_t *self = *self_p;
    self->backend->close(self->conn);
    free(self);
    *self_p = NULL;
}

const store_dialect_t *store_db_dialect(const store_db_t *self)
{
    return self->backend->dialect;
}

const char *store_db_backend_name(const store_db_t *self)
{
    return self->backend->name;
}

const char *store_db_error(const store_db_t *self)
{
    return self->backend->error(self->conn);
}

int store_db_exec(store_db_t *self, const char *sql, const store_param_t *params, int param_count,
                  int64_t *changes)
{
    return self->backend->exec(self->conn, sql, params, param_count, changes);
}

int store_db_query(store_db_t *self, const char *sql, const store_param_t *params, int param_count,
                   store_rows_t **rows_p)
{
    *rows_p = NULL;
    store_rows_t *rows = calloc(1, sizeof(*rows));
    if (!rows)
        return STORE_DB_ERROR;
    int rc = self->backend->query(self->conn, sql, params, param_count, &rows->rows);
    if (rc != STORE_DB_OK) {
        free(rows);
        return rc;
    }
    rows->backend = self->backend;
    *rows_p = rows;
    return STORE_DB_OK;
}

int store_rows_next(store_rows_t *rows)
{
    return rows->backend->rows_next(rows->rows);
}

bool store_rows_null(store_rows_t *rows, int column)
{
    return rows->backend->rows_null(rows->rows, column);
}

int64_t store_rows_int(store_rows_t *rows, int column)
{
    return rows->backend->rows_int(rows->rows, column);
}

double store_rows_real(store_rows_t *rows, int column)
{
    return rows->backend->rows_real(rows->rows, column);
}

const char *store_rows_text(store_rows_t *rows, int column)
{
    return rows->backend->rows_text(rows->rows, column);
}

const void *store_rows_blob(store_rows_t *rows, int column, size_t *size)
{
    return rows->backend->rows_blob(rows->rows, column, size);
}

void store_rows_destroy(store_rows_t **rows_p)
{
    if (!rows_p || !*rows_p)
        return;
    store_rows_t *rows = *rows_p;
    rows->backend->rows_destroy(rows->rows);
    free(rows);
    *rows_p = NULL;
}

int store_db_query_int(store_db_t *self, const char *sql, const store_param_t *params,
                       int param_count, int64_t *value)
{
    *value = 0;
    store_rows_t *rows;
    int rc = store_db_query(self, sql, params, param_count, &rows);
    if (rc != STORE_DB_OK)
        return rc;
    rc = store_rows_next(rows);
    if (rc == 1) {
        if (!store_rows_null(rows, 0))
            *value = store_rows_int(rows, 0);
        rc = STORE_DB_OK;
    }
    store_rows_destroy(&rows);
    return rc;
}

/* The embedded migrations of the connection's backend. */
static const store_migration_t *s_migrations(const store_db_t *self, size_t *count)
{
    if (self->backend == &store_backend_sqlite) {
        *count = store_migrations_sqlite_count;
        return store_migrations_sqlite;
    }
    *count = store_migrations_postgres_count;
    return store_migrations_postgres;
}

size_t store_db_migration_count(const store_db_t *self)
{
    size_t count;
    s_migrations(self, &count);
    return count;
}

/* Applies one migration unless already recorded, inside the transaction the caller opened.
 *applied tells whether it ran. */
static int s_migrate_one(store_db_t *self, const store_migration_t *migration, bool *applied)
{
    const store_dialect_t *sql = self->backend->dialect;
    *applied = false;
    int rc;
    if (sql->migrate_lock) {
        int64_t ignored;
        rc = store_db_query_int(self, sql->migrate_lock, NULL, 0, &ignored);
        if (rc != STORE_DB_OK)
            return rc;
    }
    rc = store_db_exec(self, sql->migrations_table, NULL, 0, NULL);
    if (rc != STORE_DB_OK)
        return rc;
    store_param_t version = store_param_int(migration->version);
    int64_t present = 0;
    rc = store_db_query_int(self, sql->migration_applied, &version, 1, &present);
    if (rc != STORE_DB_OK || present)
        return rc;
    rc = self->backend->run_script(self->conn, migration->sql);
    if (rc != STORE_DB_OK)
        return rc;
    store_param_t record[] = {store_param_int(migration->version),
                              store_param_text(migration->name), store_param_int(lk_now_ms())};
    rc = store_db_exec(self, sql->migration_record, record, 3, NULL);
    if (rc == STORE_DB_OK)
        *applied = true;
    return rc;
}

int store_db_migrate(store_db_t *self)
{
    const store_dialect_t *sql = self->backend->dialect;
    size_t count;
    const store_migration_t *migrations = s_migrations(self, &count);
    for (size_t index = 0; index < count; index++) {
        const store_migration_t *migration = &migrations[index];
        int rc = store_db_exec(self, sql->begin_write, NULL, 0, NULL);
        if (rc != STORE_DB_OK)
            return rc;
        bool applied;
        rc = s_migrate_one(self, migration, &applied);
        if (rc == STORE_DB_OK)
            rc = store_db_exec(self, sql->commit, NULL, 0, NULL);
        if (rc != STORE_DB_OK) {
            lk_error("store: migration %s failed: %s", migration->name, store_db_error(self));
            store_db_exec(self, sql->rollback, NULL, 0, NULL);
            return rc;
        }
        if (applied)
            lk_info("store: applied migration %s (%s)", migration->name, self->backend->name);
    }
    return STORE_DB_OK;
}
