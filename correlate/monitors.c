/*  monitors — heartbeat monitors and their deadline heap (see monitors.h). */
#include "monitors.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "lk_log.h"

typedef struct {
    int64_t deadline_ms;
    correlate_monitor_t *monitor;
} s_entry_t;

struct correlate_monitors_t {
    zhashx_t *by_key; /* "tenant US name" -> correlate_monitor_t* (owned) */
    s_entry_t *heap;
    size_t heap_count;
    size_t heap_capacity;
};

static void s_oom(void)
{
    lk_fatal("correlate: out of memory");
}

/* "tenant US name" in buf (the name is bounded by LK_HEARTBEAT_NAME_MAX). */
static void s_key(const char *tenant_id, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s\x1f%s", tenant_id, name);
}

correlate_monitors_t *correlate_monitors_new(void)
{
    correlate_monitors_t *self = calloc(1, sizeof *self);
    if (!self || !(self->by_key = zhashx_new()))
        s_oom();
    return self;
}

void correlate_monitors_destroy(correlate_monitors_t **self_p)
{
    correlate_monitors_t *self = *self_p;
    if (!self)
        return;
    for (correlate_monitor_t *monitor = zhashx_first(self->by_key); monitor;
         monitor = zhashx_next(self->by_key)) {
        lk_heartbeat_clear(&monitor->row);
        free(monitor);
    }
    zhashx_destroy(&self->by_key);
    free(self->heap);
    free(self);
    *self_p = NULL;
}

correlate_monitor_t *correlate_monitors_find(const correlate_monitors_t *self,
                                             const char *tenant_id, const char *name)
{
    char key[LK_UUID_STR_LEN + LK_HEARTBEAT_NAME_MAX + 8];
    if (!name || strlen(name) > LK_HEARTBEAT_NAME_MAX)
        return NULL;
    s_key(tenant_id, name, key, sizeof key);
    return zhashx_lookup(self->by_key, key);
}

correlate_monitor_t *correlate_monitors_add(correlate_monitors_t *self, const lk_heartbeat_t *row)
{
    char key[LK_UUID_STR_LEN + LK_HEARTBEAT_NAME_MAX + 8];
    s_key(row->tenant_id, row->name ? row->name : "", key, sizeof key);
    correlate_monitor_t *monitor = calloc(1, sizeof *monitor);
    if (!monitor || lk_heartbeat_copy(&monitor->row, row) != 0)
        s_oom();
    monitor->row.given = 0;
    if (zhashx_insert(self->by_key, key, monitor) != 0)
        s_oom();
    return monitor;
}

void correlate_monitors_arm(correlate_monitors_t *self, correlate_monitor_t *monitor)
{
    if (monitor->row.missed) {
        monitor->deadline_ms = 0;
        return;
    }
    int64_t since_ms =
        monitor->row.last_ping_at_ms ? monitor->row.last_ping_at_ms : monitor->row.created_at_ms;
    monitor->deadline_ms = since_ms + monitor->row.interval_ms + monitor->row.grace_ms;
    if (self->heap_count == self->heap_capacity) {
        size_t capacity = self->heap_capacity ? self->heap_capacity * 2 : 16;
        s_entry_t *grown = realloc(self->heap, capacity * sizeof *grown);
        if (!grown)
            s_oom();
        self->heap = grown;
        self->heap_capacity = capacity;
    }
    s_entry_t entry = {monitor->deadline_ms, monitor};
    size_t i = self->heap_count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->heap[parent].deadline_ms <= entry.deadline_ms)
            break;
        self->heap[i] = self->heap[parent];
        i = parent;
    }
    self->heap[i] = entry;
}

/* Removes the heap's first entry. */
static void s_pop(correlate_monitors_t *self)
{
    s_entry_t last = self->heap[--self->heap_count];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= self->heap_count)
            break;
        if (child + 1 < self->heap_count &&
            self->heap[child + 1].deadline_ms < self->heap[child].deadline_ms)
            child++;
        if (last.deadline_ms <= self->heap[child].deadline_ms)
            break;
        self->heap[i] = self->heap[child];
        i = child;
    }
    if (self->heap_count > 0)
        self->heap[i] = last;
}

correlate_monitor_t *correlate_monitors_pop_due(correlate_monitors_t *self, int64_t now_ms)
{
    while (self->heap_count > 0 && self->heap[0].deadline_ms <= now_ms) {
        s_entry_t entry = self->heap[0];
        s_pop(self);
        /* superseded by a later ping (or disarmed): skip */
        if (entry.monitor->deadline_ms != entry.deadline_ms)
            continue;
        entry.monitor->deadline_ms = 0;
        return entry.monitor;
    }
    return NULL;
}

void correlate_monitors_each(correlate_monitors_t *self,
                             void (*visit)(correlate_monitor_t *monitor, void *arg), void *arg)
{
    for (correlate_monitor_t *monitor = zhashx_first(self->by_key); monitor;
         monitor = zhashx_next(self->by_key))
        visit(monitor, arg);
}

size_t correlate_monitors_count(const correlate_monitors_t *self)
{
    return zhashx_size(self->by_key);
}
