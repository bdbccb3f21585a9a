/*  ingest_metrics — lookout-ingest's families (see ingest_metrics.h). Registered once, on
    first use, from whichever HTTP worker thread gets there first. */
#include "ingest_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lk_metrics.h"

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static lk_metrics_t *s_received, *s_accepted, *s_rejected;
static lk_metrics_t *s_requests, *s_duration;
static lk_metrics_series_t *s_in_flight;

static void s_register(void)
{
    s_received = lk_metrics_counter("lookout_alerts_received_total",
                                    "Alerts received in requests that parsed, by intake format "
                                    "and tenant.",
                                    "format,tenant");
    s_accepted =
        lk_metrics_counter("lookout_alerts_accepted_total",
                           "Alerts committed and acknowledged to their sender.", "format,tenant");
    s_rejected = lk_metrics_counter(
        "lookout_alerts_rejected_total",
        "Alerts not committed: invalid, too_large (over LOOKOUT_MAX_BATCH), or failed "
        "(pipeline unavailable or refused; the sender retries).",
        "format,tenant,reason");
    s_requests = lk_metrics_counter("lookout_http_requests_total",
                                    "HTTP requests answered, by method, route pattern and status.",
                                    "method,route,status");
    s_duration = lk_metrics_histogram("lookout_http_request_duration_seconds",
                                      "Time from a request's headers to its answer.", "route",
                                      lk_metrics_latency_buckets, lk_metrics_latency_bucket_count);
    s_in_flight = lk_metrics_series(lk_metrics_gauge(
        "lookout_http_requests_in_flight", "HTTP requests (and open streams) being served.", NULL));
}

void ingest_metrics_alerts(const char *format, const char *tenant_id,
                           const ingest_alert_counts_t *counts)
{
    pthread_once(&s_once, s_register);
    const char *tenant = tenant_id && *tenant_id ? lk_metrics_tenant(tenant_id) : "unknown";
    if (counts->received)
        lk_metrics_add(lk_metrics_with(s_received, format, tenant), counts->received);
    if (counts->accepted)
        lk_metrics_add(lk_metrics_with(s_accepted, format, tenant), counts->accepted);
    if (counts->invalid)
        lk_metrics_add(lk_metrics_with(s_rejected, format, tenant, "invalid"), counts->invalid);
    if (counts->too_large)
        lk_metrics_add(lk_metrics_with(s_rejected, format, tenant, "too_large"), counts->too_large);
    if (counts->failed)
        lk_metrics_add(lk_metrics_with(s_rejected, format, tenant, "failed"), counts->failed);
}

int64_t ingest_metrics_now_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* The method as a label value from a fixed set: a client cannot invent series. */
static const char *s_method(const char *method)
{
    static const char *known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; method && i < sizeof known / sizeof *known; i++)
        if (strcmp(method, known[i]) == 0)
            return known[i];
    return "other";
}

void ingest_metrics_request(const char *route, const char *method, int status, int64_t started_us)
{
    pthread_once(&s_once, s_register);
    char status_text[8];
    snprintf(status_text, sizeof status_text, "%d", status >= 100 && status <= 999 ? status : 0);
    const char *pattern = route ? route : "unmatched";
    lk_metrics_inc(lk_metrics_with(s_requests, s_method(method), pattern, status_text));
    double elapsed_s = (double)(ingest_metrics_now_us() - started_us) / 1e6;
    lk_metrics_observe(lk_metrics_with(s_duration, pattern), elapsed_s < 0 ? 0 : elapsed_s);
}

void ingest_metrics_in_flight(int delta)
{
    pthread_once(&s_once, s_register);
    lk_metrics_gauge_add(s_in_flight, delta);
}
