/*  tz — IANA time zones read from the system's zoneinfo files, usable from any thread.

    The C library keeps one process-wide zone (TZ + tzset + localtime_r), which threads that
    each need a different zone cannot share safely. This module reads the TZif files
    (RFC 8536, versions 1 to 4) itself: the transition table, and the POSIX TZ rule of the
    footer for times after the last transition (how "slim" zoneinfo files describe every
    future DST change). A loaded zone is immutable and cached for the life of the process,
    so lookups take no lock beyond the cache's own.

        const tz_t *zone = tz_get ("Europe/Amsterdam");
        int32_t offset_s = tz_offset_s (zone, utc_s);          // seconds east of UTC
        int64_t utc_s = tz_local_to_utc_s (zone, local_s);     // a local wall-clock time

    Local times that do not exist (the hour skipped when clocks go forward) resolve as if the
    clock had not jumped, i.e. that much later on the new wall clock; local times that exist
    twice (the hour repeated when clocks go back) resolve to the first, earlier, occurrence.
*/
#ifndef NOTIFY_TZ_H
#define NOTIFY_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct tz_t tz_t;

/* The zone named name ("UTC", "Europe/Amsterdam"), loaded from TZDIR (default
   /usr/share/zoneinfo) on first use and cached. NULL when the name is not a plain zone
   name or no valid TZif file exists. Thread-safe. */
const tz_t *tz_get(const char *name);

/* Parses a TZif image (for tests and tz_get). Returns a zone the caller frees with
   tz_destroy, or NULL when the data is not valid TZif. */
tz_t *tz_parse(const void *data, size_t size);
void tz_destroy(tz_t **self_p);

/* Seconds east of UTC in effect at utc_s (seconds since the epoch). */
int32_t tz_offset_s(const tz_t *zone, int64_t utc_s);

/* The UTC instant of a local wall-clock time (seconds since the epoch as if local were
   UTC), resolving gaps and overlaps as described above. */
int64_t tz_local_to_utc_s(const tz_t *zone, int64_t local_s);

#endif
