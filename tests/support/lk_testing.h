/*  lk_testing — helpers shared by the C unit tests (not part of any program). */
#ifndef LK_TESTING_H
#define LK_TESTING_H

/* The file name the tests give their SQLite database inside their temporary directory. */
#define LK_TESTING_DB "lookout.db"

/* Removes dir/lookout.db with its -wal, -shm and -journal companions, then dir itself
   (left in place if anything else is in it). Missing files are fine. */
void lk_testing_remove_db_dir(const char *dir);

#endif
