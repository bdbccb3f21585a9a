/*  Tests of the SQLite writer's checkpoints (store_sqlite.c): a trickle of small commits
    waits for the checkpointer's longest wait, a commit of many frames is checkpointed at the
    next tick, with the checkpointer held off the writer's backstop checkpoints by itself, and
    the checkpointer's thread runs at a lower priority than the writer's.
    What has been checkpointed is read from the shared-memory file, whose layout is SQLite's
    file format (https://sqlite.org/walformat.html): the WAL's frame count (mxFrame) at byte
    16 of the wal-index header, the frames copied into the database (nBackfill) at byte 96. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lk_testing.h"
#include "lk_time.h"
#include "store_db.h"

/* store_sqlite.c's S_CHECKPOINT_MAX_WAIT_MS and S_BACKSTOP_FRAMES */
#define S_MAX_WAIT_MS     1000
#define S_BACKSTOP_FRAMES 20000

typedef struct {
    char dir[64];
    char shm[112];
    store_db_t *db;
} s_fixture_t;

typedef struct {
    uint32_t frames;     /* mxFrame */
    uint32_t backfilled; /* nBackfill */
} s_wal_t;

/* Opens a writer with the checkpointer's interval and frame threshold set as given. */
static s_fixture_t *s_open(const char *interval_ms, const char *frames)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/lookout-checkpoint-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->shm, sizeof f->shm, "%s/" LK_TESTING_DB "-shm", f->dir);
    setenv("LOOKOUT_SQLITE_CHECKPOINT_MS", interval_ms, 1);
    setenv("LOOKOUT_SQLITE_CHECKPOINT_FRAMES", frames, 1);
    char url[112], err[256] = "";
    snprintf(url, sizeof url, "sqlite:%s/" LK_TESTING_DB, f->dir);
    f->db = store_db_open(url, false, err, sizeof err);
    assert_non_null(f->db);
    assert_int_equal(store_db_exec(f->db, "CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)",
                                   NULL, 0, NULL),
                     STORE_DB_OK);
    return f;
}

static void s_close(s_fixture_t *f)
{
    store_db_destroy(&f->db);
    lk_testing_remove_db_dir(f->dir);
    free(f);
}

static s_wal_t s_wal(const s_fixture_t *f)
{
    int fd = open(f->shm, O_RDONLY);
    assert_true(fd >= 0);
    s_wal_t wal;
    assert_int_equal(pread(fd, &wal.frames, 4, 16), 4);
    assert_int_equal(pread(fd, &wal.backfilled, 4, 96), 4);
    close(fd);
    return wal;
}

/* Commits count rows of size-byte payloads in one transaction. */
static void s_insert(s_fixture_t *f, int count, int size)
{
    char sql[192];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO t (payload) SELECT randomblob(%d) FROM n",
             count, size);
    assert_int_equal(store_db_exec(f->db, sql, NULL, 0, NULL), STORE_DB_OK);
}

/* Waits up to timeout_ms for every frame of the WAL to be checkpointed; returns the
   milliseconds it took, or -1. */
static int64_t s_wait_backfilled(const s_fixture_t *f, int64_t timeout_ms)
{
    int64_t started = lk_mono_ms();
    while (lk_mono_ms() - started < timeout_ms) {
        s_wal_t wal = s_wal(f);
        if (wal.frames > 0 && wal.backfilled == wal.frames)
            return lk_mono_ms() - started;
        nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
    }
    return -1;
}

/* Small commits, one every 20 ms: none is checkpointed at the 5 ms ticks until the last
   checkpoint is S_MAX_WAIT_MS old; then all of them are. */
static void test_trickle_waits(void **state)
{
    (void)state;
    s_fixture_t *f = s_open("5", "128");
    assert_true(s_wait_backfilled(f, 5 * S_MAX_WAIT_MS) >= 0); /* the table's creation */
    int64_t started = lk_mono_ms();
    for (int commit = 0; commit < 10; commit++) {
        s_insert(f, 1, 100);
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
    }
    s_wal_t wal = s_wal(f);
    if (lk_mono_ms() - started < S_MAX_WAIT_MS / 2) {
        assert_true(wal.frames >= 10);
        assert_true(wal.backfilled < wal.frames);
    }
    assert_true(s_wait_backfilled(f, 5 * S_MAX_WAIT_MS) >= 0);
    s_close(f);
}

/* A commit of a few hundred frames right after a checkpoint is checkpointed at the next
   ticks, long before the longest wait. */
static void test_volume_goes_at_once(void **state)
{
    (void)state;
    s_fixture_t *f = s_open("5", "128");
    assert_true(s_wait_backfilled(f, 5 * S_MAX_WAIT_MS) >= 0);
    s_insert(f, 300, 3000);
    int64_t took = s_wait_backfilled(f, 5 * S_MAX_WAIT_MS);
    assert_true(took >= 0);
    assert_true(took < S_MAX_WAIT_MS / 2);
    s_close(f);
}

/* With the checkpointer held off, nothing is checkpointed until a commit leaves the WAL
   past the backstop; that commit checkpoints it on the writer's thread. */
static void test_backstop(void **state)
{
    (void)state;
    s_fixture_t *f = s_open("60000", "1000000");
    int crossed = 0;
    for (int commit = 0; commit < 6 && !crossed; commit++) {
        s_insert(f, 4000, 4000);
        s_wal_t wal = s_wal(f);
        if (wal.frames < S_BACKSTOP_FRAMES) {
            assert_int_equal(wal.backfilled, 0);
        } else {
            assert_int_equal(wal.backfilled, wal.frames);
            crossed = commit + 1;
        }
    }
    assert_true(crossed >= 5); /* 4,000 pages a commit: the fifth crosses 20,000 frames */
    s_close(f);
}

/* The nice value of this process's thread named name (field 19 of its stat), polled for up
   to a second while the thread starts; INT32_MIN when there is none. */
static int s_thread_nice(const char *name)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        DIR *tasks = opendir("/proc/self/task");
        assert_non_null(tasks);
        struct dirent *task;
        int nice = INT32_MIN;
        while (nice == INT32_MIN && (task = readdir(tasks))) {
            if (task->d_name[0] == '.')
                continue;
            char path[320], comm[32] = "", stat[512] = "";
            snprintf(path, sizeof path, "/proc/self/task/%s/comm", task->d_name);
            FILE *file = fopen(path, "r");
            if (!file)
                continue;
            if (!fgets(comm, sizeof comm, file))
                comm[0] = '\0';
            fclose(file);
            comm[strcspn(comm, "\n")] = '\0';
            if (strcmp(comm, name) != 0)
                continue;
            snprintf(path, sizeof path, "/proc/self/task/%s/stat", task->d_name);
            assert_non_null(file = fopen(path, "r"));
            assert_non_null(fgets(stat, sizeof stat, file));
            fclose(file);
            /* after the name's closing parenthesis: state (3) ... nice (19) */
            const char *field = strrchr(stat, ')');
            assert_non_null(field);
            for (int number = 2; number < 19 && field; number++)
                field = strchr(field + 1, ' ');
            assert_non_null(field);
            nice = atoi(field + 1);
        }
        closedir(tasks);
        if (nice != INT32_MIN)
            return nice;
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    return INT32_MIN;
}

/* The checkpointer's thread adds LOOKOUT_SQLITE_CHECKPOINT_NICE (10 unless set) to the
   process's nice value; 0 leaves it at the process's. */
static void test_checkpointer_priority(void **state)
{
    (void)state;
    int own = getpriority(PRIO_PROCESS, 0);
    int lowered = own + 10 < 19 ? own + 10 : 19;
    unsetenv("LOOKOUT_SQLITE_CHECKPOINT_NICE");
    s_fixture_t *f = s_open("5", "128");
    assert_int_equal(s_thread_nice("lk-checkpoint"), lowered);
    s_close(f);
    assert_int_equal(s_thread_nice("lk-checkpoint"), INT32_MIN); /* stopped with the writer */
    setenv("LOOKOUT_SQLITE_CHECKPOINT_NICE", "0", 1);
    f = s_open("5", "128");
    assert_int_equal(s_thread_nice("lk-checkpoint"), own);
    s_close(f);
    unsetenv("LOOKOUT_SQLITE_CHECKPOINT_NICE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trickle_waits),
        cmocka_unit_test(test_volume_goes_at_once),
        cmocka_unit_test(test_backstop),
        cmocka_unit_test(test_checkpointer_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
