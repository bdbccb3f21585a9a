/*  ingest_metrics — what lookout-ingest counts, in the process registry (lk_metrics.h).

      lookout_alerts_received_total{format,tenant}         alerts in requests that parsed
      lookout_alerts_accepted_total{format,tenant}         alerts committed (the 2xx part)
      lookout_alerts_rejected_total{format,tenant,reason}  reason: invalid (failed
                                                            validation), too_large (over
                                                            LOOKOUT_MAX_BATCH), failed (not
                                                            committed: pipeline unavailable or
                                                            refused; the sender retries)
      lookout_http_requests_total{method,route,status}     every answered request
      lookout_http_request_duration_seconds{route}          from the headers to the answer
      lookout_http_requests_in_flight                       requests (and streams) open now
    format: native (POST /alerts), prometheus (/api/v2/alerts), alertmanager
    (/webhooks/alertmanager), pagerduty (/v2/enqueue). tenant goes through lk_metrics_tenant
    (capped); requests whose tenant is unknown (a PagerDuty event too broken to route) count
    under "unknown". route is the route table's pattern ("/incidents/{}"), or "unmatched" for
    404/405, so its values are bounded by the table. A body that is not JSON, or fails
    authentication, counts only in the HTTP families. Every function is thread-safe and
    allocation-free once the label set has been seen.
*/
#ifndef INGEST_METRICS_H
#define INGEST_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define INGEST_FORMAT_NATIVE       "native"
#define INGEST_FORMAT_PROMETHEUS   "prometheus"
#define INGEST_FORMAT_ALERTMANAGER "alertmanager"
#define INGEST_FORMAT_PAGERDUTY    "pagerduty"

/* What became of the alerts of one request. */
typedef struct {
    size_t received;  /* elements of the request */
    size_t accepted;  /* committed */
    size_t invalid;   /* failed validation */
    size_t too_large; /* the request carried more than LOOKOUT_MAX_BATCH */
    size_t failed;    /* valid but not committed (503, or refused downstream) */
} ingest_alert_counts_t;

/* Adds one request's alert counts for format and tenant_id (NULL or "" = unknown). */
void ingest_metrics_alerts(const char *format, const char *tenant_id,
                           const ingest_alert_counts_t *counts);

/* Monotonic microseconds, for ingest_metrics_request's elapsed time. */
int64_t ingest_metrics_now_us(void);
/* Counts one answered request. route: the pattern, NULL when none matched; method as
   received (unknown methods count as "other"); started_us: ingest_metrics_now_us() when
   its headers arrived. */
void ingest_metrics_request(const char *route, const char *method, int status, int64_t started_us);
/* A request began (+1) or its connection finished with it (-1). */
void ingest_metrics_in_flight(int delta);

#endif
