/*  oncall — who is on call: rotation math and overrides, pure (no clock, no I/O but the
    cached zoneinfo of tz.h).

    A schedule (lk_config_notify.h) has one or more rotations and any number of overrides.
    At an instant:
      - each rotation has one member on shift. Shifts that are whole days follow the local
        calendar of the schedule's zone: with shift_length 1w and handoff_time 09:00 the
        hand-off is every Monday 09:00 local (if the start date is a Monday), in winter and
        summer alike. Other shift lengths advance in absolute time from the first hand-off
        (start date at handoff_time, local). Before the first hand-off the turns run
        backwards, so every instant has someone on call.
      - an override covering the instant (from the configuration or POST /oncall/overrides)
        replaces the whole schedule's on-call set with its user; when several cover it, the
        one that starts last wins (then the one created last).
    The on-call set is the rotations' members in rotation order, without repeats.
*/
#ifndef NOTIFY_ONCALL_H
#define NOTIFY_ONCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lk_config.h"
#include "lk_model.h"
#include "tz.h"

#define ONCALL_MAX 16 /* entries of one schedule's on-call set (rotations are at most 16) */

/* One person on call. */
typedef struct {
    const char *user; /* user name (belongs to the configuration or the override) */
    int rotation;     /* index of the rotation, -1 for an override */
    bool override;
    int64_t start_ms; /* the shift (or override) this person is in */
    int64_t end_ms;
} oncall_entry_t;

/* The shift of rotation at at_ms in zone: returns the member index (into members) and sets
   the shift's bounds. */
size_t oncall_rotation_shift(const lk_rotation_t *rotation, const tz_t *zone, int64_t at_ms,
                             int64_t *start_ms, int64_t *end_ms);

/* Who is on call for schedule at at_ms. overrides: the tenant's stored overrides (any
   schedule; those of other schedules are ignored), in starts_at then created_at order, or
   NULL. Writes at most max entries to out and returns how many. Returns 0 when the
   schedule's zone cannot be loaded (the configuration checked it exists). */
size_t oncall_at(const lk_schedule_t *schedule, const lk_oncall_override_t *overrides,
                 size_t override_count, int64_t at_ms, oncall_entry_t *out, size_t max);

#endif
