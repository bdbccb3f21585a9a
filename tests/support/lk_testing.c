/*  lk_testing — helpers shared by the C unit tests (see lk_testing.h). */
#include "lk_testing.h"

#include <stdio.h>
#include <unistd.h>

void lk_testing_remove_db_dir(const char *dir)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/" LK_TESTING_DB "%s", dir, suffixes[i]);
        unlink(path);
    }
    rmdir(dir);
}
