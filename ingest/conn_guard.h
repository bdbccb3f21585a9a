/*  conn_guard — cuts HTTP connections whose request head does not arrive in time
    (slowloris: a client that opens many connections and trickles header bytes, each
    arriving just before libmicrohttpd's inactivity timeout would fire, holds connection
    slots forever).

    Every connection gets a deadline when it opens and again whenever a request on it
    completes (waiting for the next one on a kept-alive connection): its next request line
    and headers must be complete within timeout_s (LOOKOUT_HTTP_CONNECTION_TIMEOUT_S). While
    a request is being served (body upload, handler, response) the deadline is off and
    libmicrohttpd's own inactivity timeout (the same number) bounds stalls. A thread checks
    four times per timeout and shuts a late connection's socket down, which libmicrohttpd
    then sees as closed by the peer.

    ingest.c reports the connection events: libmicrohttpd's NOTIFY_CONNECTION started and
    closed, the first call of the access handler (head complete), NOTIFY_COMPLETED.
    Thread-safe; cheap per request (one mutex-free store of the deadline).
*/
#ifndef INGEST_CONN_GUARD_H
#define INGEST_CONN_GUARD_H

#include <stdint.h>

typedef struct conn_guard_t conn_guard_t;
typedef struct conn_guard_entry_t conn_guard_entry_t;

/* Starts the guard's thread. Returns NULL on failure. */
conn_guard_t *conn_guard_new(int timeout_s);
/* Stops the thread and frees the guard; call after the HTTP server stopped (every
   connection closed). Accepts NULL. */
void conn_guard_destroy(conn_guard_t **self_p);

/* A connection on socket fd opened: returns its entry (keep it as libmicrohttpd's
   socket_context), NULL on OOM (the connection then runs unguarded). */
conn_guard_entry_t *conn_guard_opened(conn_guard_t *self, int fd);
/* The connection's request head is complete: no deadline while it is served. */
void conn_guard_admitted(conn_guard_entry_t *entry);
/* A request on the connection completed: the next head is due within the timeout. */
void conn_guard_idle(conn_guard_t *self, conn_guard_entry_t *entry);
/* The connection closed (before libmicrohttpd closes its socket): forgets the entry. */
void conn_guard_closed(conn_guard_t *self, conn_guard_entry_t *entry);

/* Connections cut so far. */
uint64_t conn_guard_cut_total(const conn_guard_t *self);

#endif
