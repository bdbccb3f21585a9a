/*  Tests of store_sqlite_pcache: the cache's methods driven by hand (which truncations it
    answers itself, and that the pages a truncation must drop are dropped, moved pages
    included), then a database that grows with B-tree balances, spills, rolls back and is
    read by a second connection through it, intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store_sqlite_pcache.h"
#include "lk_testing.h"
#include "lk_testing_sqlite.h"

/* The lock-byte page's number with 4 KiB pages: the spare number a balance moves through. */
#define S_SPARE 262145u

static sqlite3_pcache_methods2 s_methods;

static int s_setup_group(void **state)
{
    (void)state;
    assert_int_equal(store_sqlite_pcache_install(), SQLITE_OK);
    assert_int_equal(sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &s_methods), SQLITE_OK);
    assert_int_equal(sqlite3_initialize(), SQLITE_OK);
    return 0;
}

/* Puts a page under number into the cache, unpinned. */
static void s_add(sqlite3_pcache *cache, unsigned number)
{
    sqlite3_pcache_page *page = s_methods.xFetch(cache, number, 2);
    assert_non_null(page);
    s_methods.xUnpin(cache, page, 0);
}

static bool s_held(sqlite3_pcache *cache, unsigned number)
{
    sqlite3_pcache_page *page = s_methods.xFetch(cache, number, 0);
    if (page)
        s_methods.xUnpin(cache, page, 0);
    return page != NULL;
}

static void s_move(sqlite3_pcache *cache, unsigned from, unsigned to)
{
    sqlite3_pcache_page *page = s_methods.xFetch(cache, from, 0);
    assert_non_null(page);
    s_methods.xRekey(cache, page, from, to);
    s_methods.xUnpin(cache, page, 0);
}

/* Truncates to limit; returns true when SQLite's cache was asked to. */
static bool s_truncate_passed(sqlite3_pcache *cache, unsigned limit)
{
    store_sqlite_pcache_stats_t before = store_sqlite_pcache_stats();
    s_methods.xTruncate(cache, limit);
    store_sqlite_pcache_stats_t after = store_sqlite_pcache_stats();
    assert_int_equal(after.passed + after.skipped, before.passed + before.skipped + 1);
    return after.passed == before.passed + 1;
}

/* A cache of pages 1-10: truncations above every page are answered here; a swap through the
   spare number leaves nothing above them; truncations below drop what they must, moved pages
   included, and lower the bound. */
static void test_methods(void **state)
{
    (void)state;
    sqlite3_pcache *cache = s_methods.xCreate(4096, 64, 1);
    assert_non_null(cache);
    s_methods.xCachesize(cache, 100);
    for (unsigned number = 1; number <= 10; number++)
        s_add(cache, number);
    assert_int_equal(s_methods.xPagecount(cache), 10);
    assert_false(s_truncate_passed(cache, 11));

    /* balance_nonroot's swap of pages 5 and 6 */
    uint64_t moved_before = store_sqlite_pcache_stats().moved_above;
    s_move(cache, 5, S_SPARE);
    s_move(cache, 6, 5);
    s_move(cache, S_SPARE, 6);
    assert_int_equal(store_sqlite_pcache_stats().moved_above, moved_before + 1);
    assert_false(s_truncate_passed(cache, 11));
    assert_true(s_held(cache, 5));
    assert_true(s_held(cache, 6));
    assert_false(s_held(cache, S_SPARE));

    /* below the pages: passed on, pages 8-10 gone, then nothing left to drop at 8 */
    assert_true(s_truncate_passed(cache, 8));
    assert_false(s_held(cache, 8));
    assert_false(s_held(cache, 10));
    assert_true(s_held(cache, 7));
    assert_false(s_truncate_passed(cache, 8));

    /* a page left under the spare number must go with a truncation below it */
    s_move(cache, 3, S_SPARE);
    assert_true(s_truncate_passed(cache, 8));
    assert_false(s_held(cache, S_SPARE));
    assert_true(s_held(cache, 7));
    assert_false(s_truncate_passed(cache, 8));

    /* more moved pages than the cache follows one by one: still none left behind */
    for (unsigned number = 2; number <= 7; number++)
        if (s_held(cache, number))
            s_move(cache, number, 300000 + number);
    for (unsigned number = 11; number <= 14; number++) {
        s_add(cache, number);
        s_move(cache, number, 400000 + number);
    }
    assert_true(s_truncate_passed(cache, 2));
    for (unsigned number = 2; number <= 14; number++) {
        assert_false(s_held(cache, 300000 + number));
        assert_false(s_held(cache, 400000 + number));
    }
    assert_true(s_held(cache, 1));
    assert_true(s_truncate_passed(cache, 1));
    assert_int_equal(s_methods.xPagecount(cache), 0);

    /* a moved page discarded by its user: the bound stays high (passed on), nothing is lost */
    sqlite3_pcache_page *page = s_methods.xFetch(cache, 1, 2);
    assert_non_null(page);
    s_methods.xRekey(cache, page, 1, S_SPARE);
    s_methods.xUnpin(cache, page, 1);
    assert_false(s_held(cache, S_SPARE));
    assert_true(s_truncate_passed(cache, 2));
    assert_false(s_truncate_passed(cache, 2));
    s_methods.xDestroy(cache);
}

/* Rows [first, first + count) keyed by a hash of their number, so the index grows in the
   middle and its balances swap pages; the payload is a function of the number too. */
static void s_insert(sqlite3 *db, int first, int count)
{
    char sql[320];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO t (k, n, payload) SELECT printf('%%08x-%%d', (i * 2654435761) %% "
             "4294967296, i), i, zeroblob(200 + i %% 300) FROM n",
             first, first + count - 1);
    lk_testing_sqlite_exec(db, sql);
}

/* Commits of rows in random key order through a large cache and through one that spills,
   a rollback of a transaction that grew the file, and a second connection reading it all:
   the same rows, the same sums, an intact file; and the commits' truncations mostly
   answered without SQLite's cache, after balances had moved pages through the spare
   number. */
static void test_database(void **state)
{
    (void)state;
    char dir[64], path[96];
    snprintf(dir, sizeof dir, "/tmp/lookout-pcache-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/" LK_TESTING_DB, dir);
    sqlite3 *writer = NULL, *reader = NULL;
    assert_int_equal(sqlite3_open(path, &writer), SQLITE_OK);
    lk_testing_sqlite_exec(writer, "PRAGMA journal_mode=WAL");
    lk_testing_sqlite_exec(writer, "PRAGMA synchronous=OFF");
    lk_testing_sqlite_exec(writer, "PRAGMA cache_size=-32768");
    lk_testing_sqlite_exec(
        writer, "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL, payload BLOB NOT NULL)");
    lk_testing_sqlite_exec(writer, "CREATE INDEX t_n ON t (n)");

    store_sqlite_pcache_stats_t before = store_sqlite_pcache_stats();
    int next = 1;
    for (int commit = 0; commit < 200; commit++) {
        lk_testing_sqlite_exec(writer, "BEGIN IMMEDIATE");
        s_insert(writer, next, 64);
        lk_testing_sqlite_exec(writer, "COMMIT");
        next += 64;
    }
    store_sqlite_pcache_stats_t after = store_sqlite_pcache_stats();
    assert_true(after.moved_above > before.moved_above);
    assert_true(after.skipped - before.skipped >= 190);

    /* a transaction that grows the file by thousands of pages, rolled back */
    int64_t pages = lk_testing_sqlite_int(writer, "PRAGMA page_count");
    lk_testing_sqlite_exec(writer, "BEGIN IMMEDIATE");
    s_insert(writer, next, 20000);
    assert_true(lk_testing_sqlite_int(writer, "PRAGMA page_count") > pages + 1000);
    lk_testing_sqlite_exec(writer, "ROLLBACK");
    assert_int_equal(lk_testing_sqlite_int(writer, "PRAGMA page_count"), pages);
    assert_int_equal(lk_testing_sqlite_int(writer, "SELECT count(*) FROM t"), next - 1);

    /* the same numbers again, then more through a cache of 16 pages that spills */
    s_insert(writer, next, 3000);
    next += 3000;
    lk_testing_sqlite_exec(writer, "PRAGMA cache_size=16");
    for (int commit = 0; commit < 20; commit++) {
        lk_testing_sqlite_exec(writer, "BEGIN IMMEDIATE");
        s_insert(writer, next, 500);
        lk_testing_sqlite_exec(writer, "COMMIT");
        next += 500;
    }

    assert_int_equal(sqlite3_open_v2(path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    int64_t rows = next - 1;
    int64_t payload = 0;
    for (int64_t n = 1; n <= rows; n++)
        payload += 200 + n % 300;
    sqlite3 *connections[] = {writer, reader};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(lk_testing_sqlite_int(connections[i], "SELECT count(*) FROM t"), rows);
        assert_int_equal(lk_testing_sqlite_int(connections[i], "SELECT sum(n) FROM t"),
                         rows * (rows + 1) / 2);
        assert_int_equal(
            lk_testing_sqlite_int(connections[i], "SELECT sum(length(payload)) FROM t"), payload);
        assert_int_equal(lk_testing_sqlite_int(connections[i],
                                               "SELECT count(*) FROM t INDEXED BY t_n WHERE n > 0"),
                         rows);
        lk_testing_sqlite_assert_intact(connections[i]);
    }
    assert_int_equal(sqlite3_close(reader), SQLITE_OK);
    assert_int_equal(sqlite3_close(writer), SQLITE_OK);
    lk_testing_remove_db_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_database),
    };
    return cmocka_run_group_tests(tests, s_setup_group, NULL);
}
