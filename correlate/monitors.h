/*  monitors — heartbeat monitors (dead man's switches) of correlate's shard, with deadlines.

    A monitor is due when interval + grace passed since its last ping (or, never pinged,
    since it was declared). The registry keeps the monitors by (tenant, name) and their
    deadlines in a min-heap; a ping re-arms a monitor by pushing a new deadline, and the
    superseded heap entry is skipped when it surfaces (lazy deletion), so a ping costs
    O(log n) and the housekeeping tick only looks at monitors that are due.

    Monitors are never removed while the registry lives, so the pointers it hands out stay
    valid until correlate_monitors_destroy. Pure data structure: no clock, no I/O.
*/
#ifndef CORRELATE_MONITORS_H
#define CORRELATE_MONITORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_model.h"

typedef struct {
    lk_heartbeat_t row;  /* its stored state */
    int64_t deadline_ms; /* when it counts as missed; 0 = not armed (missed already) */
    bool declared;       /* listed in the configuration's heartbeats: */
    uint64_t dirty_seq;  /* for the engine: the batch that last wrote its row */
    uint32_t batch_slot; /* for the engine: its row's index in that batch */
} correlate_monitor_t;

typedef struct correlate_monitors_t correlate_monitors_t;

correlate_monitors_t *correlate_monitors_new(void);
void correlate_monitors_destroy(correlate_monitors_t **self_p);

/* The monitor name of tenant_id, or NULL. */
correlate_monitor_t *correlate_monitors_find(const correlate_monitors_t *self,
                                             const char *tenant_id, const char *name);
/* Adds a monitor with a copy of row (which must not exist yet); not armed. */
correlate_monitor_t *correlate_monitors_add(correlate_monitors_t *self, const lk_heartbeat_t *row);
/* Arms the monitor at (last ping, else creation) + interval + grace, unless it is missed
   (then it waits for a ping and is not armed). */
void correlate_monitors_arm(correlate_monitors_t *self, correlate_monitor_t *monitor);
/* Pops the next armed monitor whose deadline is <= now_ms (disarming it), or NULL. */
correlate_monitor_t *correlate_monitors_pop_due(correlate_monitors_t *self, int64_t now_ms);
/* Calls visit for every monitor (registry order). */
void correlate_monitors_each(correlate_monitors_t *self,
                             void (*visit)(correlate_monitor_t *monitor, void *arg), void *arg);
size_t correlate_monitors_count(const correlate_monitors_t *self);

#endif
