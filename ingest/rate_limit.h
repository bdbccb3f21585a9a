/*  rate_limit — per-tenant intake rate limits: one token bucket per tenant (DESIGN §2.6).

    Each tenant's bucket holds up to burst alerts and refills at rate alerts per second
    (LOOKOUT_TENANT_RATE, LOOKOUT_TENANT_BURST). An intake request costs one token per alert
    it carries. It is admitted when the bucket holds that many — or, for a batch larger than
    the whole burst, when the bucket is full (so no batch is refused forever; the bucket then
    goes into debt that later requests wait out). A refused request is answered 429 with
    Retry-After: the whole seconds until the bucket holds what was asked, rounded up.

    Rate 0 turns limiting off. Buckets live in a fixed hash table (RATE_LIMIT_TENANTS slots,
    striped locks); tenants beyond that share one overflow bucket, so memory is bounded
    whatever tenant ids arrive. Thread-safe.
*/
#ifndef INGEST_RATE_LIMIT_H
#define INGEST_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATE_LIMIT_TENANTS 65536

typedef struct rate_limit_t rate_limit_t;

/* A limiter of rate alerts/s with bursts of burst (burst 0 = max(rate, 1)). rate 0: every
   request is admitted. Returns NULL on OOM. */
rate_limit_t *rate_limit_new(double rate, double burst);
void rate_limit_destroy(rate_limit_t **self_p);

/* Charges count alerts to tenant_id at now_ms (monotonic). Returns true when admitted;
   false with *retry_after_s (>= 1) when refused. */
bool rate_limit_admit(rate_limit_t *self, const char *tenant_id, uint64_t count, int64_t now_ms,
                      int *retry_after_s);

#endif
