/*  oncall — rotation math and overrides (see oncall.h).

    Calendar shifts: the local day of at_ms (days since the epoch of its local date, one day
    less before the hand-off time) gives a first guess of the shift number; the guess is
    then checked against the real hand-off instants on either side, because on a DST day
    the local hand-off time may not exist (skipped hour), and the shift must begin exactly
    at the instant reported as its start.
*/
#include "oncall.h"

#include <string.h>

#define S_DAY_MS 86400000LL

static int64_t s_floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int64_t s_floor_mod(int64_t a, int64_t b)
{
    return a - s_floor_div(a, b) * b;
}

/*  The UTC instant (ms) of local day `day` at minute. */
static int64_t s_local_instant_ms(const tz_t *zone, int64_t day, int minute)
{
    return tz_local_to_utc_s(zone, day * 86400 + (int64_t)minute * 60) * 1000;
}

size_t oncall_rotation_shift(const lk_rotation_t *rotation, const tz_t *zone, int64_t at_ms,
                             int64_t *start_ms, int64_t *end_ms)
{
    int64_t count = (int64_t)rotation->member_count;
    int64_t shift;
    if (rotation->shift_length_ms % S_DAY_MS == 0) {
        int64_t days = rotation->shift_length_ms / S_DAY_MS;
        int64_t local_ms = at_ms + (int64_t)tz_offset_s(zone, s_floor_div(at_ms, 1000)) * 1000;
        int64_t day = s_floor_div(local_ms, S_DAY_MS);
        if (s_floor_mod(local_ms, S_DAY_MS) < (int64_t)rotation->handoff_minute * 60000)
            day--;
        shift = s_floor_div(day - rotation->start_day, days);
        /* settle the guess against the real hand-off instants */
        for (int step = 0; step < 4; step++) {
            *start_ms = s_local_instant_ms(zone, rotation->start_day + shift * days,
                                           rotation->handoff_minute);
            *end_ms = s_local_instant_ms(zone, rotation->start_day + (shift + 1) * days,
                                         rotation->handoff_minute);
            if (at_ms < *start_ms)
                shift--;
            else if (at_ms >= *end_ms)
                shift++;
            else
                break;
        }
    } else {
        int64_t origin = s_local_instant_ms(zone, rotation->start_day, rotation->handoff_minute);
        shift = s_floor_div(at_ms - origin, rotation->shift_length_ms);
        *start_ms = origin + shift * rotation->shift_length_ms;
        *end_ms = *start_ms + rotation->shift_length_ms;
    }
    return (size_t)s_floor_mod(shift, count);
}

size_t oncall_at(const lk_schedule_t *schedule, const lk_oncall_override_t *overrides,
                 size_t override_count, int64_t at_ms, oncall_entry_t *out, size_t max)
{
    const tz_t *zone = tz_get(schedule->time_zone ? schedule->time_zone : "UTC");
    if (!zone || max == 0)
        return 0;

    /* the override that starts last wins; stored ones come after configured ones, so a
       stored override wins a tie (it is the more recent decision) */
    const char *override_user = NULL;
    int64_t override_start = INT64_MIN, override_end = 0;
    for (size_t i = 0; i < schedule->override_count; i++) {
        const lk_schedule_override_t *candidate = &schedule->overrides[i];
        if (candidate->starts_at_ms <= at_ms && at_ms < candidate->ends_at_ms &&
            candidate->starts_at_ms >= override_start) {
            override_user = candidate->user;
            override_start = candidate->starts_at_ms;
            override_end = candidate->ends_at_ms;
        }
    }
    for (size_t i = 0; overrides && i < override_count; i++) {
        const lk_oncall_override_t *candidate = &overrides[i];
        if (candidate->schedule && strcmp(candidate->schedule, schedule->name) == 0 &&
            strcmp(candidate->tenant_id, schedule->tenant_id) == 0 &&
            candidate->starts_at_ms <= at_ms && at_ms < candidate->ends_at_ms &&
            candidate->starts_at_ms >= override_start) {
            override_user = candidate->user;
            override_start = candidate->starts_at_ms;
            override_end = candidate->ends_at_ms;
        }
    }
    if (override_user) {
        out[0] = (oncall_entry_t){.user = override_user,
                                  .rotation = -1,
                                  .override = true,
                                  .start_ms = override_start,
                                  .end_ms = override_end};
        return 1;
    }

    size_t count = 0;
    for (size_t r = 0; r < schedule->rotation_count && count < max; r++) {
        const lk_rotation_t *rotation = &schedule->rotations[r];
        if (rotation->member_count == 0)
            continue;
        int64_t start_ms, end_ms;
        size_t member = oncall_rotation_shift(rotation, zone, at_ms, &start_ms, &end_ms);
        const char *user = rotation->members[member];
        bool repeated = false;
        for (size_t i = 0; i < count && !repeated; i++)
            repeated = strcmp(out[i].user, user) == 0;
        if (!repeated)
            out[count++] = (oncall_entry_t){.user = user,
                                            .rotation = (int)r,
                                            .override = false,
                                            .start_ms = start_ms,
                                            .end_ms = end_ms};
    }
    return count;
}
