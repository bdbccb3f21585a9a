/*  delivery — what becomes of one delivery attempt: sent, failed for good, or retried when.

    Pure functions shared by lookout-notify (which classifies each attempt and tells
    escalate when to try again) and its tests:
      - HTTP 2xx is sent. 408, 425, 429 and 5xx are retried, and so are transport failures
        (connection refused, timeout, TLS). Any other 4xx, and 3xx (redirects are never
        followed), cannot succeed by repeating it: failed at once.
      - The next attempt waits the receiver's Retry-After when it gave one (seconds or an
        HTTP date), else an exponential back-off with jitter: the n-th retry waits a random
        time in [b/2, b] with b = min(backoff_max, backoff_initial * 2^(n-1)), so workers that
        failed together do not retry together. Retry-After is capped at one hour.
      - After max_attempts attempts a retryable failure is failed.
*/
#ifndef NOTIFY_DELIVERY_H
#define NOTIFY_DELIVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "lk_model.h"

#define DELIVERY_RETRY_AFTER_MAX_MS (60 * 60 * 1000LL)

/* Parses a Retry-After value: delta-seconds ("120") or an HTTP-date in any of the three
   forms of RFC 9110 §5.6.7 ("Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37
   GMT", "Sun Nov  6 08:49:37 1994"). Sets *delay_ms (0 for a date in the past, at most
   DELIVERY_RETRY_AFTER_MAX_MS). Returns false when value is neither. */
bool delivery_parse_retry_after(const char *value, int64_t now_ms, int64_t *delay_ms);

/* Parses an HTTP-date into ms since the epoch; false when malformed. */
bool delivery_parse_http_date(const char *value, int64_t *epoch_ms);

/* The back-off before retry number attempt (1 = the first retry); random is any random
   64-bit number (the jitter). */
int64_t delivery_backoff_ms(uint32_t attempt, int64_t initial_ms, int64_t max_ms, uint64_t random);

/* True when a response with this HTTP status may succeed if repeated. */
bool delivery_retryable_status(long status);

/* The outcome of one attempt. status: LK_NOTIFY_SENT, LK_NOTIFY_FAILED or LK_NOTIFY_RETRY
   (with next_attempt_at_ms). */
typedef struct {
    lk_notify_status_t status;
    int64_t next_attempt_at_ms;
} delivery_outcome_t;

/* Decides an attempt's outcome. http_status: the response status, 0 when there was none
   (transport failure). retry_after: the response's Retry-After header or NULL. attempt:
   this attempt's number (1 = first). */
delivery_outcome_t delivery_decide(long http_status, const char *retry_after, uint32_t attempt,
                                   uint32_t max_attempts, int64_t initial_ms, int64_t max_ms,
                                   int64_t now_ms, uint64_t random);

#endif
