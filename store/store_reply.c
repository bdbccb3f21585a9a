/*  store_reply — failure replies shared by store's query handlers (see store_reply.h). */
#include "store_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_log.h"

void store_reply_fail(lk_msg_t *reply, lk_status_t status, const char *format, ...)
{
    uint64_t req = reply->req;
    lk_msg_clear(reply);
    lk_msg_init(reply, LK_MSG_QUERY_REPLY);
    reply->req = req;
    reply->status = status;
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    reply->error = strdup(message); /* NULL on OOM: the status still says what happened */
}

int store_reply_db_failed(store_db_t *db, lk_msg_t *reply, int rc, const char *what)
{
    lk_error("store: %s failed: %s", what, store_db_error(db));
    store_reply_fail(reply, LK_STATUS_ERROR, "%s failed: %s", what, store_db_error(db));
    return rc == STORE_DB_LOST ? STORE_DB_LOST : STORE_DB_OK;
}

bool store_rows_copy(store_rows_t *rows, int column, char *out, size_t size)
{
    const char *text = store_rows_text(rows, column);
    size_t length = text ? strlen(text) : 0;
    if (!text || length >= size)
        return false;
    memcpy(out, text, length + 1);
    return true;
}
