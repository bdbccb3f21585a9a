/*  store_sqlite — the embedded SQLite backend of store_db ("sqlite:PATH").

    The file (and its parent directory) is created when missing. The writer connection runs
    in WAL mode with synchronous=FULL: store acknowledges a batch only after COMMIT, so a
    commit must survive power loss, and group commit amortises the fsync over many batches.
    WAL lets the query connection read a consistent snapshot while the writer commits.
    Prepared statements are cached per connection, keyed by their SQL text.

    Errors that mean the database itself is unusable (I/O, corruption, full disk, locked by
    another writer past busy_timeout) are STORE_DB_LOST; everything else is STORE_DB_ERROR.
*/
#define _GNU_SOURCE /* gettid, pthread_setname_np */
#include "store_db.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lk_env.h"
#include "lk_log.h"
#include "lk_time.h"
#include "store_sqlite_pcache.h"
#include "store_sqlite_vfs.h"

#define S_BUSY_TIMEOUT_MS 5000
/* Page cache of the writer connection, KiB (SQLite's default is 2 MiB). */
#define S_WRITER_CACHE_KIB "32768"
/* The checkpointer's default interval (LOOKOUT_SQLITE_CHECKPOINT_MS); the frames a
   checkpoint waits for, unless its last one is S_CHECKPOINT_MAX_WAIT_MS old; and the WAL
   size (frames) at which the writer checkpoints itself because the checkpointer fell
   behind. */
#define S_CHECKPOINT_MS          20
#define S_CHECKPOINT_FRAMES      128
#define S_CHECKPOINT_MAX_WAIT_MS 1000
#define S_BACKSTOP_FRAMES        20000
/* What the checkpointer thread adds to the process's nice value
   (LOOKOUT_SQLITE_CHECKPOINT_NICE): when the cores are contended, a checkpoint takes what
   the threads that answer leave rather than a core a request is waiting for. */
#define S_CHECKPOINT_NICE 10
#define S_CACHE_SIZE      48

typedef struct {
    char *sql;
    sqlite3_stmt *stmt;
    bool in_use; /* a rows cursor is iterating it */
} s_cached_t;

/* The writer's checkpointer: a thread with a connection of its own that copies committed
   WAL frames into the database file (PASSIVE checkpoints, which never block the writer). */
typedef struct {
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    bool stopping;
    char *path;
    long interval_ms;
    long min_frames;
    int nice;
    int wal_frames;                  /* the writer's: frames in the WAL after its last commit */
    _Atomic uint64_t frames_written; /* frames the writer has committed, ever */
} s_checkpointer_t;

typedef struct {
    sqlite3 *handle;
    s_cached_t cache[S_CACHE_SIZE];
    size_t cache_next; /* round-robin eviction slot */
    char error[512];
    s_checkpointer_t *checkpointer; /* the writer's; NULL for the query connection */
} s_conn_t;

typedef struct {
    s_conn_t *conn;
    sqlite3_stmt *stmt;
    s_cached_t *cached; /* NULL when the statement is not cached */
} s_rows_t;

/* Maps an SQLite result code to STORE_DB_ERROR or STORE_DB_LOST. */
static int s_classify(int code)
{
    switch (code & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
    case SQLITE_PROTOCOL:
    case SQLITE_NOMEM:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_READONLY:
        return STORE_DB_LOST;
    default:
        return STORE_DB_ERROR;
    }
}

/* Records the connection's current error message; returns the classified code. */
static int s_fail(s_conn_t *conn, int code)
{
    snprintf(conn->error, sizeof(conn->error), "%s (sqlite %d)", sqlite3_errmsg(conn->handle),
             sqlite3_extended_errcode(conn->handle));
    return s_classify(code);
}

/* Creates every missing directory of path's parent, like mkdir -p. Returns 0 or -1. */
static int s_make_parent_dirs(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    char *slash = strrchr(copy, '/');
    int rc = 0;
    if (slash && slash != copy) {
        *slash = '\0';
        for (char *cursor = copy + 1; rc == 0; cursor++) {
            bool end = *cursor == '\0';
            if (*cursor == '/' || end) {
                char saved = *cursor;
                *cursor = '\0';
                if (mkdir(copy, 0750) != 0 && errno != EEXIST)
                    rc = -1;
                *cursor = saved;
            }
            if (end)
                break;
        }
    }
    free(copy);
    return rc;
}

/* Once, before the library initialises: SQLite's allocation statistics take a global mutex
   around every malloc it makes and nothing reads them, so they are off; the page cache is
   the bounded one (store_sqlite_pcache.h). Either fails with SQLITE_MISUSE if something in
   the process initialised SQLite first: only slower, fine. */
static pthread_once_t s_configured = PTHREAD_ONCE_INIT;

static void s_configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    store_sqlite_pcache_install();
}

/* Runs a constant pragma, returning an SQLite code. */
static int s_pragma(sqlite3 *handle, const char *sql)
{
    return sqlite3_exec(handle, sql, NULL, NULL, NULL);
}

/*  Checkpoints.

    SQLite's default checkpoints inside COMMIT, on the writer's thread, once the WAL holds
    1000 pages: every few group commits, a commit also copied megabytes into the database
    file and synced it, stalling every alert waiting for that ack. Here a thread of its own
    does that work every LOOKOUT_SQLITE_CHECKPOINT_MS, in parallel with the writer (another
    core); the writer keeps a high automatic threshold only as a backstop should this thread
    fall behind. Small and frequent is what keeps the writer's own fsyncs short: at 100 ms
    each checkpoint synced a few megabytes of the database file, and the commits' WAL syncs
    queued behind it (new alerts at 23,500/s open loop: p99 19-21 ms at 100 ms, 8-10 ms at
    10-20 ms, 11-13 ms at 2 ms; closed-loop throughput the same within noise). A PASSIVE checkpoint
   syncs the database file before the WAL can be reused, so durability is unchanged.

    A checkpoint costs a sync of the WAL and, when it copies everything, one of the database
    file: two disk cache flushes. Under a trickle of alerts a checkpoint every 20 ms copied a
    few frames each and made a third of all the flushes, which a slow disk queues the commits'
    own behind; so a tick checkpoints only once S_CHECKPOINT_FRAMES have come (every tick
    under load, where 20 ms brings hundreds) or the last checkpoint is a second old. The
    writer's WAL hook counts the frames it commits. The thread runs S_CHECKPOINT_NICE levels
    below the process, so on busy cores it yields to the threads that answer and copies more
    frames per checkpoint, each page once (2 million alerts held, 32,000 new alerts/s: p50
    2.70 -> 2.41 ms, CPU per request -11%). Errors are logged: the writer meets any real I/O
    problem itself and exits (DESIGN: crash, don't limp). */
static void *s_checkpoint_run(void *arg)
{
    s_checkpointer_t *checkpointer = arg;
    pthread_setname_np(pthread_self(), "lk-checkpoint");
    /* Linux keeps a nice value per thread: this one's only, the writer keeps its own */
    if (checkpointer->nice > 0) {
        id_t thread = (id_t)gettid();
        int nice = getpriority(PRIO_PROCESS, thread) + checkpointer->nice;
        if (setpriority(PRIO_PROCESS, thread, nice < 19 ? nice : 19) != 0)
            lk_warn("store: sqlite checkpointer cannot lower its priority: %s", strerror(errno));
    }
    sqlite3 *handle = NULL;
    int code = sqlite3_open_v2(checkpointer->path, &handle,
                               SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (code == SQLITE_OK)
        code = sqlite3_busy_timeout(handle, 100);
    if (code == SQLITE_OK)
        code = s_pragma(handle, "PRAGMA synchronous=FULL");
    if (code != SQLITE_OK)
        lk_warn("store: sqlite checkpointer cannot open %s (%s); the writer checkpoints",
                checkpointer->path, handle ? sqlite3_errmsg(handle) : sqlite3_errstr(code));
    bool logged = false;
    uint64_t last_written = 0; /* frames_written when the last checkpoint began */
    int64_t last_ms = lk_mono_ms();
    pthread_mutex_lock(&checkpointer->mutex);
    while (!checkpointer->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += checkpointer->interval_ms * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&checkpointer->wake, &checkpointer->mutex, &until);
        if (checkpointer->stopping || code != SQLITE_OK)
            continue;
        uint64_t written =
            atomic_load_explicit(&checkpointer->frames_written, memory_order_relaxed);
        int64_t now_ms = lk_mono_ms();
        if (written == last_written ||
            (written - last_written < (uint64_t)checkpointer->min_frames &&
             now_ms - last_ms < S_CHECKPOINT_MAX_WAIT_MS))
            continue;
        last_written = written;
        last_ms = now_ms;
        pthread_mutex_unlock(&checkpointer->mutex);
        int rc = sqlite3_wal_checkpoint_v2(handle, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY && !logged) {
            lk_warn("store: sqlite checkpoint failed: %s", sqlite3_errmsg(handle));
            logged = true;
        }
        pthread_mutex_lock(&checkpointer->mutex);
    }
    pthread_mutex_unlock(&checkpointer->mutex);
    sqlite3_close_v2(handle);
    return NULL;
}

/* The writer's WAL hook, run after each commit: counts the frames the commit added for the
   checkpointer (a restarted WAL that outgrew its last size is undercounted by that size,
   which only delays a checkpoint to the second's end), and checkpoints on the writer's
   thread past the backstop, as SQLite's own automatic checkpoints (which this hook
   replaces) would. */
static int s_wal_hook(void *arg, sqlite3 *handle, const char *database, int frames)
{
    s_checkpointer_t *checkpointer = arg;
    /* a WAL shorter than after the last commit has restarted from its beginning */
    int added = frames >= checkpointer->wal_frames ? frames - checkpointer->wal_frames : frames;
    checkpointer->wal_frames = frames;
    atomic_fetch_add_explicit(&checkpointer->frames_written, (uint64_t)added, memory_order_relaxed);
    if (frames >= S_BACKSTOP_FRAMES)
        sqlite3_wal_checkpoint_v2(handle, database, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

/* Starts the checkpointer of the writer connection on path. Returns it, or NULL (the writer
   then keeps SQLite's own checkpoints). */
static s_checkpointer_t *s_checkpointer_start(const char *path)
{
    s_checkpointer_t *checkpointer = calloc(1, sizeof(*checkpointer));
    if (!checkpointer || !(checkpointer->path = strdup(path))) {
        free(checkpointer);
        return NULL;
    }
    checkpointer->interval_ms =
        lk_env_int("LOOKOUT_SQLITE_CHECKPOINT_MS", S_CHECKPOINT_MS, 1, 60000);
    checkpointer->min_frames =
        lk_env_int("LOOKOUT_SQLITE_CHECKPOINT_FRAMES", S_CHECKPOINT_FRAMES, 1, 1000000);
    checkpointer->nice =
        (int)lk_env_int("LOOKOUT_SQLITE_CHECKPOINT_NICE", S_CHECKPOINT_NICE, 0, 19);
    pthread_mutex_init(&checkpointer->mutex, NULL);
    pthread_cond_init(&checkpointer->wake, NULL);
    if (pthread_create(&checkpointer->thread, NULL, s_checkpoint_run, checkpointer) != 0) {
        pthread_cond_destroy(&checkpointer->wake);
        pthread_mutex_destroy(&checkpointer->mutex);
        free(checkpointer->path);
        free(checkpointer);
        return NULL;
    }
    return checkpointer;
}

static void s_checkpointer_stop(s_checkpointer_t **checkpointer_p)
{
    s_checkpointer_t *checkpointer = *checkpointer_p;
    if (!checkpointer)
        return;
    pthread_mutex_lock(&checkpointer->mutex);
    checkpointer->stopping = true;
    pthread_cond_signal(&checkpointer->wake);
    pthread_mutex_unlock(&checkpointer->mutex);
    pthread_join(checkpointer->thread, NULL);
    pthread_cond_destroy(&checkpointer->wake);
    pthread_mutex_destroy(&checkpointer->mutex);
    free(checkpointer->path);
    free(checkpointer);
    *checkpointer_p = NULL;
}

static void s_close(void *connection)
{
    s_conn_t *conn = connection;
    if (!conn)
        return;
    s_checkpointer_stop(&conn->checkpointer);
    for (size_t index = 0; index < S_CACHE_SIZE; index++) {
        sqlite3_finalize(conn->cache[index].stmt);
        free(conn->cache[index].sql);
    }
    sqlite3_close_v2(conn->handle);
    free(conn);
}

static void *s_open(const char *url, bool read_only, char *err, size_t err_size)
{
    const char *path = url + strlen("sqlite:");
    /* sqlite:///abs/path and sqlite://rel/path are accepted as URL spellings of sqlite:PATH */
    if (strncmp(path, "//", 2) == 0)
        path += 2;
    if (*path == '\0' || strcmp(path, ":memory:") == 0) {
        snprintf(err, err_size, "sqlite: a file path is required (got \"%s\")", path);
        return NULL;
    }
    if (!read_only && s_make_parent_dirs(path) != 0) {
        snprintf(err, err_size, "sqlite: cannot create the directory of %s: %s", path,
                 strerror(errno));
        return NULL;
    }
    pthread_once(&s_configured, s_configure);
    s_conn_t *conn = calloc(1, sizeof(*conn));
    if (!conn) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    /* the writer's WAL frames go out in one write per commit (store_sqlite_vfs.h) */
    const char *vfs =
        !read_only && store_sqlite_vfs_register() == SQLITE_OK ? STORE_SQLITE_VFS_NAME : NULL;
    int code = sqlite3_open_v2(path, &conn->handle, flags | SQLITE_OPEN_NOMUTEX, vfs);
    if (code == SQLITE_OK)
        code = sqlite3_busy_timeout(conn->handle, S_BUSY_TIMEOUT_MS);
    if (code == SQLITE_OK && !read_only)
        code = s_pragma(conn->handle, "PRAGMA journal_mode=WAL");
    if (code == SQLITE_OK && !read_only)
        code = s_pragma(conn->handle, "PRAGMA synchronous=FULL");
    /* the writer's working set (the index pages new alerts and events land in) stays in
       memory instead of being read back from the file for every batch */
    if (code == SQLITE_OK && !read_only)
        code = s_pragma(conn->handle, "PRAGMA cache_size=-" S_WRITER_CACHE_KIB);
    /* the writer's multi-row statements (store_writer) keep their statement journal (what
       undoes one failed statement inside the transaction) in memory: past SQLite's 64 KiB
       spill threshold it would otherwise go to a temporary file, written for nothing */
    if (code == SQLITE_OK && !read_only)
        code = s_pragma(conn->handle, "PRAGMA temp_store=MEMORY");
    if (code == SQLITE_OK && !read_only && (conn->checkpointer = s_checkpointer_start(path)))
        sqlite3_wal_hook(conn->handle, s_wal_hook, conn->checkpointer);
    if (code == SQLITE_OK)
        code = s_pragma(conn->handle, "PRAGMA foreign_keys=ON");
    if (code != SQLITE_OK) {
        snprintf(err, err_size, "sqlite: cannot open %s: %s", path,
                 conn->handle ? sqlite3_errmsg(conn->handle) : sqlite3_errstr(code));
        s_close(conn);
        return NULL;
    }
    return conn;
}

static int s_run_script(void *connection, const char *sql)
{
    s_conn_t *conn = connection;
    int code = sqlite3_exec(conn->handle, sql, NULL, NULL, NULL);
    return code == SQLITE_OK ? STORE_DB_OK : s_fail(conn, code);
}

/* Returns a prepared statement for sql from the cache (preparing and caching it when
   missing), reset and unbound. *cached_p is its cache slot. */
static int s_prepare(s_conn_t *conn, const char *sql, sqlite3_stmt **stmt_p, s_cached_t **cached_p)
{
    for (size_t index = 0; index < S_CACHE_SIZE; index++) {
        s_cached_t *cached = &conn->cache[index];
        if (cached->sql && !cached->in_use && strcmp(cached->sql, sql) == 0) {
            *stmt_p = cached->stmt;
            *cached_p = cached;
            return STORE_DB_OK;
        }
    }
    sqlite3_stmt *stmt;
    int code = sqlite3_prepare_v2(conn->handle, sql, -1, &stmt, NULL);
    if (code != SQLITE_OK)
        return s_fail(conn, code);
    /* evict round-robin, skipping a slot whose statement is being iterated */
    s_cached_t *slot = NULL;
    for (size_t tries = 0; tries < S_CACHE_SIZE && !slot; tries++) {
        s_cached_t *candidate = &conn->cache[conn->cache_next];
        conn->cache_next = (conn->cache_next + 1) % S_CACHE_SIZE;
        if (!candidate->in_use)
            slot = candidate;
    }
    char *copy = slot ? strdup(sql) : NULL;
    if (!copy) {
        /* no free slot: use it uncached */
        *stmt_p = stmt;
        *cached_p = NULL;
        return STORE_DB_OK;
    }
    sqlite3_finalize(slot->stmt);
    free(slot->sql);
    slot->sql = copy;
    slot->stmt = stmt;
    *stmt_p = stmt;
    *cached_p = slot;
    return STORE_DB_OK;
}

/* Returns the statement to the cache (or finalises an uncached one). */
static void s_release(sqlite3_stmt *stmt, s_cached_t *cached)
{
    if (cached) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        cached->in_use = false;
    } else
        sqlite3_finalize(stmt);
}

static int s_bind(s_conn_t *conn, sqlite3_stmt *stmt, const store_param_t *params, int param_count)
{
    for (int index = 0; index < param_count; index++) {
        const store_param_t *param = &params[index];
        int code = SQLITE_OK;
        switch (param->type) {
        case STORE_PARAM_NULL:
            code = sqlite3_bind_null(stmt, index + 1);
            break;
        case STORE_PARAM_TEXT:
            code = sqlite3_bind_text(stmt, index + 1, param->text, -1, SQLITE_STATIC);
            break;
        case STORE_PARAM_INT:
            code = sqlite3_bind_int64(stmt, index + 1, param->integer);
            break;
        case STORE_PARAM_REAL:
            code = sqlite3_bind_double(stmt, index + 1, param->real);
            break;
        case STORE_PARAM_BLOB:
            code =
                sqlite3_bind_blob64(stmt, index + 1, param->blob, param->blob_size, SQLITE_STATIC);
            break;
        }
        if (code != SQLITE_OK)
            return s_fail(conn, code);
    }
    return STORE_DB_OK;
}

/* Prepares and binds; on success the statement is marked in use. */
static int s_start(s_conn_t *conn, const char *sql, const store_param_t *params, int param_count,
                   sqlite3_stmt **stmt_p, s_cached_t **cached_p)
{
    int rc = s_prepare(conn, sql, stmt_p, cached_p);
    if (rc != STORE_DB_OK)
        return rc;
    if (*cached_p)
        (*cached_p)->in_use = true;
    rc = s_bind(conn, *stmt_p, params, param_count);
    if (rc != STORE_DB_OK)
        s_release(*stmt_p, *cached_p);
    return rc;
}

static int s_exec(void *connection, const char *sql, const store_param_t *params, int param_count,
                  int64_t *changes)
{
    s_conn_t *conn = connection;
    sqlite3_stmt *stmt;
    s_cached_t *cached;
    int rc = s_start(conn, sql, params, param_count, &stmt, &cached);
    if (rc != STORE_DB_OK)
        return rc;
    int code;
    while ((code = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    rc = code == SQLITE_DONE ? STORE_DB_OK : s_fail(conn, code);
    if (rc == STORE_DB_OK && changes)
        *changes = sqlite3_changes64(conn->handle);
    s_release(stmt, cached);
    return rc;
}

static int s_query(void *connection, const char *sql, const store_param_t *params, int param_count,
                   void **rows_p)
{
    s_conn_t *conn = connection;
    s_rows_t *rows = calloc(1, sizeof(*rows));
    if (!rows) {
        snprintf(conn->error, sizeof(conn->error), "out of memory");
        return STORE_DB_ERROR;
    }
    int rc = s_start(conn, sql, params, param_count, &rows->stmt, &rows->cached);
    if (rc != STORE_DB_OK) {
        free(rows);
        return rc;
    }
    rows->conn = conn;
    *rows_p = rows;
    return STORE_DB_OK;
}

static int s_rows_next(void *rows_ptr)
{
    s_rows_t *rows = rows_ptr;
    int code = sqlite3_step(rows->stmt);
    if (code == SQLITE_ROW)
        return 1;
    if (code == SQLITE_DONE)
        return 0;
    return s_fail(rows->conn, code);
}

static bool s_rows_null(void *rows_ptr, int column)
{
    s_rows_t *rows = rows_ptr;
    return sqlite3_column_type(rows->stmt, column) == SQLITE_NULL;
}

static int64_t s_rows_int(void *rows_ptr, int column)
{
    s_rows_t *rows = rows_ptr;
    return sqlite3_column_int64(rows->stmt, column);
}

static double s_rows_real(void *rows_ptr, int column)
{
    s_rows_t *rows = rows_ptr;
    return sqlite3_column_double(rows->stmt, column);
}

static const char *s_rows_text(void *rows_ptr, int column)
{
    s_rows_t *rows = rows_ptr;
    return (const char *)sqlite3_column_text(rows->stmt, column);
}

static const void *s_rows_blob(void *rows_ptr, int column, size_t *size)
{
    s_rows_t *rows = rows_ptr;
    const void *blob = sqlite3_column_blob(rows->stmt, column);
    *size = (size_t)sqlite3_column_bytes(rows->stmt, column);
    return blob;
}

static void s_rows_destroy(void *rows_ptr)
{
    s_rows_t *rows = rows_ptr;
    if (!rows)
        return;
    s_release(rows->stmt, rows->cached);
    free(rows);
}

static const char *s_error(void *connection)
{
    s_conn_t *conn = connection;
    return conn->error;
}

/* Writers take the write lock at BEGIN so a busy database shows up there, not mid-batch. */
static const store_dialect_t s_dialect = {
    .begin_write = "BEGIN IMMEDIATE",
    .begin_read = "BEGIN DEFERRED",
    .commit = "COMMIT",
    .rollback = "ROLLBACK",
    .migrate_lock = NULL,
    .writer_lock = NULL, /* the store runs next to its file; one writer per file */
    .migrations_table = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                        "applied_at INTEGER NOT NULL) STRICT",
    .migration_applied = "SELECT 1 FROM schema_migrations WHERE version = ?1",
    .migration_record =
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
    .max_sequence = "SELECT COALESCE(MAX(sequence), 0) FROM events",
    .upsert_incident =
        "INSERT INTO incidents (" STORE_INCIDENT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
        "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) "
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
        "INSERT INTO alerts (" STORE_ALERT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) "
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
    .insert_event = "INSERT INTO events (" STORE_EVENT_COLUMNS ", incident) VALUES (?1, ?2, "
                    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (event_id) DO NOTHING",
    .delete_events_after = "DELETE FROM events WHERE sequence > ?1",
    .select_incident =
        "SELECT " STORE_INCIDENT_COLUMNS " FROM incidents WHERE tenant_id = ?1 AND id = ?2",
    .select_incident_alerts = "SELECT " STORE_ALERT_COLUMNS " FROM alerts WHERE tenant_id = ?1 "
                              "AND incident_id = ?2 ORDER BY starts_at, fingerprint LIMIT ?3",
    .select_incident_events = "SELECT " STORE_EVENT_COLUMNS " FROM events WHERE tenant_id = ?1 "
                              "AND incident_id = ?2 ORDER BY sequence LIMIT ?3",
    .snapshot_incidents = "SELECT " STORE_INCIDENT_COLUMNS " FROM incidents "
                          "WHERE status <> 'closed' AND id > ?1 ORDER BY id LIMIT ?2",
    .snapshot_alerts = "SELECT " STORE_ALERT_COLUMNS " FROM alerts WHERE incident_id IN "
                       "(SELECT value FROM json_each(?1)) ORDER BY incident_id, fingerprint",
    .events_after = "SELECT " STORE_EVENT_COLUMNS ", incident FROM events "
                    "WHERE sequence > ?1 ORDER BY sequence LIMIT ?2",
    .events_after_tenant = "SELECT " STORE_EVENT_COLUMNS ", incident FROM events "
                           "WHERE tenant_id = ?1 AND sequence > ?2 ORDER BY sequence LIMIT ?3",
    .event_snapshot = "SELECT sequence, incident FROM events WHERE incident_id = ?1 "
                      "AND sequence > ?2 AND length(incident) > 0 ORDER BY sequence LIMIT 1",
    .list_select = "SELECT " STORE_INCIDENT_COLUMNS " FROM incidents WHERE tenant_id = ?%d",
    .list_status = " AND status IN (?%d, ?%d, ?%d, ?%d)",
    .list_severity = " AND severity IN (?%d, ?%d, ?%d, ?%d)",
    .list_since = " AND created_at >= ?%d",
    .list_until = " AND created_at < ?%d",
    .list_label = " AND json_extract(group_labels, '$.\"' || ?%d || '\"') = ?%d",
    .list_cursor = " AND (created_at, id) < (?%d, ?%d)",
    .list_order = " ORDER BY created_at DESC, id DESC LIMIT ?%d",
};

const store_backend_t store_backend_sqlite = {
    .name = "sqlite",
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
