/*  store_reply — what every query handler of store does when a request fails.

    A failed query answers with status and a message instead of items; a failed statement
    also says whether the connection is still good, so the query thread can carry on or
    crash ("crash, don't limp"). One definition for every handler keeps the wording and the
    logging the same whichever query failed.
*/
#ifndef STORE_REPLY_H
#define STORE_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "lk_msg.h"
#include "store_db.h"

/* Turns reply into a failure: keeps its req, drops any items it holds, sets status and a
   printf-formatted error (cut at 511 bytes). */
void store_reply_fail(lk_msg_t *reply, lk_status_t status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a failed statement: logs it, turns reply into an LK_STATUS_ERROR failure naming
   what failed and the database's error text. Returns STORE_DB_LOST when rc is (the
   connection is gone), STORE_DB_OK otherwise (the reply carries the failure). */
int store_reply_db_failed(store_db_t *db, lk_msg_t *reply, int rc, const char *what);

/* Copies text column `column` of the current row into out[size]. False when the value is
   NULL or does not fit (a stored value no valid write could have made). */
bool store_rows_copy(store_rows_t *rows, int column, char *out, size_t size);

#endif
