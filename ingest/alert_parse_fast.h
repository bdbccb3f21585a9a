/*  alert_parse_fast — the Alertmanager API v2 body (what Prometheus posts to
    /api/v2/alerts) read straight from its bytes, for the bodies senders actually send.

    Building a jansson document of an alert batch cost more than everything else ingest does
    for it. This reader handles the common, valid form without one: an array of objects
    whose members are among labels, annotations (objects of strings), startsAt, endsAt and
    generatorURL (strings or null), with standard JSON string escapes. For such a body it
    produces exactly what alert_parse_prometheus produces from the parsed document. For
    anything else — a member it does not know, a duplicate name, a value of another type,
    a problem alert_parse_prometheus would report, a syntax error — it declines, and the
    caller takes the general path (jansson + alert_parse_prometheus), which gives the
    answer and the error messages. So it never decides what is an error.

        alert_parse_result_t parsed;
        int rc = alert_parse_prometheus_fast(body, size, tenant, now_ms, resolve_ms, max, &parsed);
        if (rc == 0)
            ... jansson + alert_parse_prometheus (parsed is empty) ...
*/
#ifndef INGEST_ALERT_PARSE_FAST_H
#define INGEST_ALERT_PARSE_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "alert_parse.h"

/* Parses body[0..size) as described above. Returns 1 with *result filled (every alert valid,
   no errors; the caller clears it with alert_parse_result_clear), 0 when the body is not
   one this reader handles (result empty: take the general path), -1 on OOM (result
   empty). The other arguments are alert_parse_prometheus's. */
int alert_parse_prometheus_fast(const char *body, size_t size, const char *tenant_id,
                                int64_t now_ms, int64_t resolve_timeout_ms, size_t max_batch,
                                alert_parse_result_t *result);

#endif
