/*  Tests of store_sqlite_vfs: a writer connection on the gathering VFS, a reader on the
    default one, both on a file in a fresh directory. The reader must see each commit, and
    only committed rows, as soon as the writer's COMMIT returns, also when the writer does
    not sync (synchronous=OFF: only the end-of-commit write puts the frames in the file),
    when its page cache spills frames in the middle of a transaction, when a transaction
    spilled and rolled back, and across checkpoints that restart the log; the file stays
    intact. The sync observer hears of each sync of the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store_sqlite_vfs.h"
#include "lk_testing.h"
#include "lk_testing_sqlite.h"

typedef struct {
    char dir[64];
    char path[96];
    sqlite3 *writer;
    sqlite3 *reader;
} s_fixture_t;

/* Inserts rows [first, first + count) of 1,000-byte payloads (about one page per four). */
static void s_insert(sqlite3 *db, int first, int count)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO t (id, payload) SELECT i, randomblob(1000) FROM n",
             first, first + count - 1);
    lk_testing_sqlite_exec(db, sql);
}

static int s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/lookout-vfs-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/" LK_TESTING_DB, f->dir);
    assert_int_equal(store_sqlite_vfs_register(), SQLITE_OK);
    assert_int_equal(sqlite3_open_v2(f->path, &f->writer,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     STORE_SQLITE_VFS_NAME),
                     SQLITE_OK);
    lk_testing_sqlite_exec(f->writer, "PRAGMA journal_mode=WAL");
    lk_testing_sqlite_exec(f->writer, "PRAGMA synchronous=OFF");
    lk_testing_sqlite_exec(f->writer, "PRAGMA wal_autocheckpoint=0");
    lk_testing_sqlite_exec(f->writer,
                           "CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)");
    assert_int_equal(sqlite3_open_v2(f->path, &f->reader, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(sqlite3_close(f->reader), SQLITE_OK);
    assert_int_equal(sqlite3_close(f->writer), SQLITE_OK);
    lk_testing_remove_db_dir(f->dir);
    free(f);
    return 0;
}

/* Commits small and large (several pieces, more than the buffer) are each visible at once. */
static void test_commits_visible_without_sync(void **state)
{
    s_fixture_t *f = *state;
    int next = 1;
    const int sizes[] = {1, 3, 40, 400, 2500, 7};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        lk_testing_sqlite_exec(f->writer, "BEGIN IMMEDIATE");
        s_insert(f->writer, next, sizes[i]);
        lk_testing_sqlite_exec(f->writer, "COMMIT");
        next += sizes[i];
        assert_int_equal(lk_testing_sqlite_int(f->reader, "SELECT count(*) FROM t"), next - 1);
        assert_int_equal(lk_testing_sqlite_int(f->reader, "SELECT max(id) FROM t"), next - 1);
    }
    lk_testing_sqlite_assert_intact(f->reader);
    lk_testing_sqlite_assert_intact(f->writer);
}

/* A transaction larger than the writer's page cache writes frames before its commit and
   reads its own pages back from them; rolled back, none of it shows. */
static void test_spill_and_rollback(void **state)
{
    s_fixture_t *f = *state;
    lk_testing_sqlite_exec(f->writer, "PRAGMA cache_size=16");
    s_insert(f->writer, 1, 100);
    lk_testing_sqlite_exec(f->writer, "BEGIN IMMEDIATE");
    s_insert(f->writer, 101, 3000);
    lk_testing_sqlite_exec(f->writer, "UPDATE t SET payload = randomblob(900) WHERE id % 7 = 0");
    assert_int_equal(
        lk_testing_sqlite_int(f->writer, "SELECT count(*) FROM t WHERE length(payload) = 900"),
        3100 / 7);
    lk_testing_sqlite_exec(f->writer, "ROLLBACK");
    assert_int_equal(lk_testing_sqlite_int(f->reader, "SELECT count(*) FROM t"), 100);
    assert_int_equal(lk_testing_sqlite_int(f->writer, "SELECT count(*) FROM t"), 100);
    lk_testing_sqlite_exec(f->writer, "BEGIN IMMEDIATE");
    s_insert(f->writer, 101, 3000);
    lk_testing_sqlite_exec(f->writer, "COMMIT");
    assert_int_equal(lk_testing_sqlite_int(f->reader, "SELECT count(*) FROM t"), 3100);
    assert_int_equal(lk_testing_sqlite_int(f->reader, "SELECT sum(length(payload)) FROM t"),
                     3100 * 1000);
    lk_testing_sqlite_assert_intact(f->reader);
}

/* The reader checkpoints the whole log (the next commit restarts it from its header), the
   writer keeps going, and a new connection opened after a close sees everything. */
static void test_checkpoints_restart_the_log(void **state)
{
    s_fixture_t *f = *state;
    int next = 1;
    for (int round = 0; round < 5; round++) {
        s_insert(f->writer, next, 300);
        next += 300;
        lk_testing_sqlite_exec(f->reader, "PRAGMA wal_checkpoint(RESTART)");
        s_insert(f->writer, next, 5);
        next += 5;
        assert_int_equal(lk_testing_sqlite_int(f->reader, "SELECT count(*) FROM t"), next - 1);
    }
    lk_testing_sqlite_exec(f->reader, "PRAGMA wal_checkpoint(TRUNCATE)");
    s_insert(f->writer, next, 50);
    next += 50;
    assert_int_equal(sqlite3_close(f->writer), SQLITE_OK);
    assert_int_equal(
        sqlite3_open_v2(f->path, &f->writer, SQLITE_OPEN_READWRITE, STORE_SQLITE_VFS_NAME),
        SQLITE_OK);
    assert_int_equal(lk_testing_sqlite_int(f->writer, "SELECT count(*) FROM t"), next - 1);
    assert_int_equal(lk_testing_sqlite_int(f->reader, "SELECT count(*) FROM t"), next - 1);
    lk_testing_sqlite_assert_intact(f->writer);
}

static int s_syncs;
static double s_sync_seconds;

static void s_count_sync(double seconds)
{
    s_syncs++;
    s_sync_seconds += seconds;
    assert_true(seconds >= 0 && seconds < 60);
}

/* The sync observer hears of each sync of the log, and of nothing else: none while the
   writer does not sync, one per commit when it does (synchronous=FULL), none once unset. */
static void test_syncs_observed(void **state)
{
    s_fixture_t *f = *state;
    s_syncs = 0;
    s_sync_seconds = 0;
    store_sqlite_vfs_on_sync(s_count_sync);
    s_insert(f->writer, 1, 10);
    s_insert(f->writer, 11, 400);
    assert_int_equal(s_syncs, 0);
    lk_testing_sqlite_exec(f->writer, "PRAGMA synchronous=FULL");
    for (int commit = 0; commit < 5; commit++)
        s_insert(f->writer, 1000 + commit * 50, 50);
    assert_int_equal(s_syncs, 5);
    assert_true(s_sync_seconds > 0);
    store_sqlite_vfs_on_sync(NULL);
    s_insert(f->writer, 2000, 50);
    assert_int_equal(s_syncs, 5);
    assert_int_equal(lk_testing_sqlite_int(f->reader, "SELECT count(*) FROM t"), 10 + 400 + 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commits_visible_without_sync, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_spill_and_rollback, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_restart_the_log, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_syncs_observed, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
