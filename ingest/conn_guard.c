/*  conn_guard — deadlines on request heads (see the header).

    Entries form a doubly linked list under the guard's mutex. The checker shuts a socket
    down while holding the mutex, and conn_guard_closed takes the same mutex before
    libmicrohttpd closes the socket, so the checker never touches a descriptor that was
    closed and reused.
*/
#include "conn_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lk_log.h"
#include "lk_time.h"

struct conn_guard_entry_t {
    int fd;
    _Atomic int64_t deadline_ms; /* monotonic; 0 = no deadline (a request is being served) */
    bool cut;
    conn_guard_entry_t *prev, *next;
};

struct conn_guard_t {
    int64_t timeout_ms;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    bool stopping;
    pthread_t thread;
    conn_guard_entry_t *entries;
    atomic_uint_fast64_t cut_total;
};

/* The guard's thread: every quarter of the timeout, shuts down the connections whose head
   deadline passed; returns when conn_guard_destroy says so. */
static void *s_checker(void *arg)
{
    conn_guard_t *self = arg;
    int64_t period_ms = self->timeout_ms / 4 > 50 ? self->timeout_ms / 4 : 50;
    pthread_mutex_lock(&self->mutex);
    while (!self->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += period_ms / 1000;
        until.tv_nsec += (period_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&self->wake, &self->mutex, &until);
        int64_t now = lk_mono_ms();
        for (conn_guard_entry_t *entry = self->entries; entry; entry = entry->next) {
            int64_t deadline = atomic_load(&entry->deadline_ms);
            if (entry->cut || deadline == 0 || now < deadline)
                continue;
            entry->cut = true;
            atomic_fetch_add(&self->cut_total, 1);
            /* the peer did not finish its request head in time: libmicrohttpd reads end-of-
               stream next and closes the connection itself */
            if (shutdown(entry->fd, SHUT_RDWR) != 0 && errno != ENOTCONN)
                lk_debug("ingest: cannot cut a slow connection: %s", strerror(errno));
            else
                lk_debug("ingest: cut a connection whose request head did not arrive within "
                         "%lld ms",
                         (long long)self->timeout_ms);
        }
    }
    pthread_mutex_unlock(&self->mutex);
    return NULL;
}

conn_guard_t *conn_guard_new(int timeout_s)
{
    conn_guard_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->timeout_ms = (int64_t)(timeout_s > 0 ? timeout_s : 30) * 1000;
    pthread_mutex_init(&self->mutex, NULL);
    pthread_cond_init(&self->wake, NULL);
    if (pthread_create(&self->thread, NULL, s_checker, self) != 0) {
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->mutex);
        free(self);
        return NULL;
    }
    return self;
}

void conn_guard_destroy(conn_guard_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    conn_guard_t *self = *self_p;
    pthread_mutex_lock(&self->mutex);
    self->stopping = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->mutex);
    pthread_join(self->thread, NULL);
    while (self->entries) {
        conn_guard_entry_t *next = self->entries->next;
        free(self->entries);
        self->entries = next;
    }
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->mutex);
    free(self);
    *self_p = NULL;
}

conn_guard_entry_t *conn_guard_opened(conn_guard_t *self, int fd)
{
    conn_guard_entry_t *entry = calloc(1, sizeof *entry);
    if (!entry)
        return NULL;
    entry->fd = fd;
    atomic_store(&entry->deadline_ms, lk_mono_ms() + self->timeout_ms);
    pthread_mutex_lock(&self->mutex);
    entry->next = self->entries;
    if (self->entries)
        self->entries->prev = entry;
    self->entries = entry;
    pthread_mutex_unlock(&self->mutex);
    return entry;
}

void conn_guard_admitted(conn_guard_entry_t *entry)
{
    if (entry)
        atomic_store(&entry->deadline_ms, 0);
}

void conn_guard_idle(conn_guard_t *self, conn_guard_entry_t *entry)
{
    if (entry)
        atomic_store(&entry->deadline_ms, lk_mono_ms() + self->timeout_ms);
}

void conn_guard_closed(conn_guard_t *self, conn_guard_entry_t *entry)
{
    if (!entry)
        return;
    pthread_mutex_lock(&self->mutex);
    if (entry->prev)
        entry->prev->next = entry->next;
    else
        self->entries = entry->next;
    if (entry->next)
        entry->next->prev = entry->prev;
    pthread_mutex_unlock(&self->mutex);
    free(entry);
}

uint64_t conn_guard_cut_total(const conn_guard_t *self)
{
    return self ? atomic_load(&((conn_guard_t *)self)->cut_total) : 0;
}
