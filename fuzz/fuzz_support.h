/*  fuzz_support — checks several fuzz targets share (fuzz_support.c).

    The alert parsers promise more than "no crash": every alert they accept must make it
    through the rest of the pipeline. fuzz_check_alerts takes what a parser accepted through
    the steps ingest applies next (fingerprint, alert_batch, msgpack) and checks the message
    decodes again to the same alerts, as correlate will decode it.
*/
#ifndef FUZZ_SUPPORT_H
#define FUZZ_SUPPORT_H

#include <jansson.h>
#include <stddef.h>

#include "alert_parse.h"
#include "lk_model.h"

#define FUZZ_TENANT    "6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
#define FUZZ_NOW_MS    1795000000000LL /* 2026-11-18, a fixed clock keeps runs repeatable */
#define FUZZ_MAX_BATCH 1000

/* Parses data as ingest parses an intake body: nesting depth checked first (the
   HTTP_JSON_MAX_DEPTH guard), then jansson with any top-level value. NULL when refused. */
json_t *fuzz_json_body(const uint8_t *data, size_t size);

/* Checks alerts[0..count) (a parser's accepted alerts, each with tenant_id set) survive
   fingerprinting, copying, encoding and decoding unchanged. Aborts on a violation. */
void fuzz_check_alerts(const lk_alert_t *alerts, size_t count);

/* Checks a parse result is consistent: indexes ascending and within element_count, and
   every error's index within element_count; then fuzz_check_alerts. */
void fuzz_check_result(const alert_parse_result_t *result, size_t element_count);

/* Checks two parse results hold the same alerts at the same request positions and the same
   errors (the fast path against the general one). Aborts on a difference. */
void fuzz_check_same_result(const alert_parse_result_t *a, const alert_parse_result_t *b);

#endif
