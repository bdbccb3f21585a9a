/*  lk_fingerprint — Alertmanager-compatible label fingerprints.

    Prometheus/Alertmanager (model.LabelSet.Fingerprint): FNV-1a 64 over the label pairs sorted
    by name, each contributing name, 0xFF, value, 0xFF; an empty set hashes to the FNV-1a
    offset basis. Rendered as %016x. An event's list of fingerprints: lk_fingerprints_count.
*/
#ifndef LK_FINGERPRINT_H
#define LK_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "lk_model.h"

#define LK_FNV64_OFFSET 14695981039346656037ULL
#define LK_FNV64_PRIME  1099511628211ULL

/* FNV-1a 64 of size bytes, continuing from hash (start with LK_FNV64_OFFSET). */
uint64_t lk_fnv1a64(uint64_t hash, const void *data, size_t size);
/* Fingerprint of a sorted label set (lk_labels_t is always sorted). */
uint64_t lk_fingerprint_labels(const lk_labels_t *labels);
/* Renders %016x into out[17]. */
void lk_fingerprint_format(uint64_t fingerprint, char out[LK_FINGERPRINT_STR_LEN + 1]);
/* An alert's identity: its dedup_key when set (fingerprint of the one-label set
   {dedup_key=<key>}), else the fingerprint of its labels. Writes alert->fingerprint. */
void lk_fingerprint_alert(lk_alert_t *alert);
/* How many fingerprints the size bytes of text list (an event's fingerprints, lk_model.h:
   %016x each, single spaces between, 1 to LK_EVENT_FINGERPRINTS_MAX), 0 when they are not
   such a list. */
size_t lk_fingerprints_count(const char *text, size_t size);
/* How many alerts an event names: its fingerprints' count, 0 for a lifecycle event. */
size_t lk_event_alert_count(const lk_event_t *event);

#endif
