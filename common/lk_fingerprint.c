/*  lk_fingerprint — Alertmanager-compatible label fingerprints.

    Byte for byte what Prometheus's model.LabelSet.Fingerprint computes, so an alert keeps
    the identity Alertmanager and Prometheus show for it: FNV-1a 64 over name 0xFF value 0xFF
    for each pair in name order. lk_labels_t is always sorted by strcmp, which orders bytes as
    unsigned like Go's string comparison, so no sort is needed here.
*/
#include "lk_fingerprint.h"

#include <stdio.h>
#include <string.h>

/* Prometheus's model.SeparatorByte: cannot occur in valid UTF-8. */
#define LK_FINGERPRINT_SEPARATOR 0xFF

/*  FNV-1a 64 of size bytes, continuing from hash. */
uint64_t lk_fnv1a64(uint64_t hash, const void *data, size_t size)
{
    const unsigned char *bytes = data;
    for (size_t i = 0; i < size; i++) {
        hash ^= bytes[i];
        hash *= LK_FNV64_PRIME;
    }
    return hash;
}

/*  Hashes one pair: name, separator, value, separator. */
static uint64_t s_hash_pair(uint64_t hash, const char *name, const char *value)
{
    static const unsigned char separator = LK_FINGERPRINT_SEPARATOR;
    hash = lk_fnv1a64(hash, name, strlen(name));
    hash = lk_fnv1a64(hash, &separator, 1);
    hash = lk_fnv1a64(hash, value, strlen(value));
    return lk_fnv1a64(hash, &separator, 1);
}

/*  Fingerprint of a sorted label set; the empty set gives the FNV offset basis. */
uint64_t lk_fingerprint_labels(const lk_labels_t *labels)
{
    uint64_t hash = LK_FNV64_OFFSET;
    for (size_t i = 0; i < labels->count; i++)
        hash = s_hash_pair(hash, labels->items[i].name, labels->items[i].value);
    return hash;
}

/*  Renders the Alertmanager form (%016x, lower-case hex, zero padded). */
void lk_fingerprint_format(uint64_t fingerprint, char out[LK_FINGERPRINT_STR_LEN + 1])
{
    /* %016llx by hand: this runs for every alert, twice */
    static const char hex[] = "0123456789abcdef";
    for (int i = LK_FINGERPRINT_STR_LEN - 1; i >= 0; i--) {
        out[i] = hex[fingerprint & 0x0f];
        fingerprint >>= 4;
    }
    out[LK_FINGERPRINT_STR_LEN] = '\0';
}

/*  Writes alert->fingerprint: from {dedup_key=<key>} when the sender gave a non-empty
    dedup_key (its identity survives label changes), else from the labels. */
void lk_fingerprint_alert(lk_alert_t *alert)
{
    uint64_t hash;
    if (alert->dedup_key && alert->dedup_key[0])
        hash = s_hash_pair(LK_FNV64_OFFSET, "dedup_key", alert->dedup_key);
    else
        hash = lk_fingerprint_labels(&alert->labels);
    lk_fingerprint_format(hash, alert->fingerprint);
}

size_t lk_fingerprints_count(const char *text, size_t size)
{
    const size_t step = LK_FINGERPRINT_STR_LEN + 1; /* a fingerprint and the space after it */
    if (!text || size == 0 || (size + 1) % step != 0 ||
        (size + 1) / step > LK_EVENT_FINGERPRINTS_MAX)
        return 0;
    for (size_t i = 0; i < size; i++) {
        char c = text[i];
        bool ok = (i + 1) % step == 0 ? c == ' ' : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        if (!ok)
            return 0;
    }
    return (size + 1) / step;
}

size_t lk_event_alert_count(const lk_event_t *event)
{
    return event->fingerprints
               ? lk_fingerprints_count(event->fingerprints, strlen(event->fingerprints))
               : 0;
}
