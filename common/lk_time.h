/*  lk_time — wall-clock and monotonic milliseconds, and RFC 3339 text. */
#ifndef LK_TIME_H
#define LK_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t lk_now_ms(void);
/* Milliseconds from an arbitrary origin (CLOCK_MONOTONIC): for timeouts and intervals. */
int64_t lk_mono_ms(void);
/* Seconds on the same clock, to the nanosecond: for the durations histograms record. */
double lk_mono_seconds(void);
/* Formats ms since epoch as "2026-11-22T09:00:00.123Z" into buf (at least 32 bytes). */
void lk_time_format(int64_t epoch_ms, char *buf, size_t buf_size);
/* Parses RFC 3339 ("2026-11-22T09:00:00Z", fractional seconds and +hh:mm offsets accepted).
   Returns true and sets *epoch_ms on success; false for anything malformed. */
bool lk_time_parse(const char *text, int64_t *epoch_ms);

#endif
