/*  lk_testing_sqlite — SQLite helpers shared by the C unit tests of store's SQLite layers
    (cmocka assertions: a failing statement fails the test with SQLite's message). */
#ifndef LK_TESTING_SQLITE_H
#define LK_TESTING_SQLITE_H

#include <sqlite3.h>
#include <stdint.h>

/* Runs sql (any number of statements) on db. */
void lk_testing_sqlite_exec(sqlite3 *db, const char *sql);

/* The first column of the first row of sql, as an integer. */
int64_t lk_testing_sqlite_int(sqlite3 *db, const char *sql);

/* Fails unless PRAGMA integrity_check answers "ok". */
void lk_testing_sqlite_assert_intact(sqlite3 *db);

#endif
