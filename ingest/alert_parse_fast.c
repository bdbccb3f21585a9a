/*  alert_parse_fast — Alertmanager API v2 bodies without a jansson document (see the header).

    A single forward pass over the bytes. Every check that jansson or alert_parse_prometheus
    would make on the accepted form is made here too (JSON syntax, UTF-8, escapes, label
    names, counts and lengths, timestamps); where one fails, the reader declines rather than
    reports, so the general path stays the only source of error messages.
*/
#include "alert_parse_fast.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intake_util.h"
#include "lk_time.h"

/* Declining and running out of memory unwind the same way; the code tells them apart. */
typedef enum { S_OK = 0, S_DECLINE, S_OOM } s_status_t;

typedef struct {
    const unsigned char *at;
    const unsigned char *end;
    s_status_t status;
} s_reader_t;

static void s_skip_space(s_reader_t *reader)
{
    while (reader->at < reader->end && (*reader->at == ' ' || *reader->at == '\n' ||
                                        *reader->at == '\r' || *reader->at == '\t'))
        reader->at++;
}

/* Consumes c after optional white space. False (nothing consumed) when the next byte
   differs. */
static bool s_take(s_reader_t *reader, unsigned char c)
{
    s_skip_space(reader);
    if (reader->at < reader->end && *reader->at == c) {
        reader->at++;
        return true;
    }
    return false;
}

/* Consumes the literal null. */
static bool s_take_null(s_reader_t *reader)
{
    s_skip_space(reader);
    if (reader->end - reader->at >= 4 && memcmp(reader->at, "null", 4) == 0) {
        reader->at += 4;
        return true;
    }
    return false;
}

/* Length of the well-formed UTF-8 sequence at bytes (RFC 3629: no overlong forms, no
   surrogates, nothing past U+10FFFF, as jansson requires), or 0. */
static size_t s_utf8_length(const unsigned char *bytes, const unsigned char *end)
{
    unsigned char lead = bytes[0];
    size_t length;
    unsigned char low = 0x80, high = 0xbf; /* the allowed range of the second byte */
    if (lead >= 0xc2 && lead <= 0xdf)
        length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        if (lead == 0xe0)
            low = 0xa0;
        else if (lead == 0xed)
            high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        if (lead == 0xf0)
            low = 0x90;
        else if (lead == 0xf4)
            high = 0x8f;
    } else
        return 0;
    if ((size_t)(end - bytes) < length || bytes[1] < low || bytes[1] > high)
        return 0;
    for (size_t i = 2; i < length; i++)
        if ((bytes[i] & 0xc0) != 0x80)
            return 0;
    return length;
}

/* Four hex digits at text as a number, or -1. */
static long s_hex4(const unsigned char *text)
{
    long value = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = text[i];
        value <<= 4;
        if (c >= '0' && c <= '9')
            value |= c - '0';
        else if (c >= 'a' && c <= 'f')
            value |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            value |= c - 'A' + 10;
        else
            return -1;
    }
    return value;
}

/* A JSON string as read: its bytes between the quotes, and the length it decodes to. */
typedef struct {
    const unsigned char *start;
    const unsigned char *end;
    size_t decoded;
    bool escaped; /* has a backslash escape: decoding is not a copy */
} s_span_t;

/* Nonzero when any of the eight bytes of word needs a look of its own in a JSON string: a
   control character (below 0x20), the quote, the backslash, or a byte of 0x80 or more. The
   has-zero-byte and has-byte-below tests (exact as yes/no answers), one word at a time. */
static uint64_t s_word_special(uint64_t word)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = word ^ (ones * '"'), backslash = word ^ (ones * '\\');
    uint64_t below_space = (word - ones * 0x20) & ~word;
    uint64_t has_quote = (quote - ones) & ~quote;
    uint64_t has_backslash = (backslash - ones) & ~backslash;
    return (word | below_space | has_quote | has_backslash) & highs;
}

/* The bytes of word before the first one s_word_special flagged (special: its nonzero
   answer). The tests' borrows can flag bytes after a true one, never before it, so the
   lowest flag is exact. Big-endian: 0, and the byte loop finds it. */
static size_t s_plain_before(uint64_t special)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (size_t)__builtin_ctzll(special) / 8;
#else
    (void)special;
    return 0;
#endif
}

/* Scans a JSON string (after optional white space) into *span, and consumes it. escapes_ok false: a
   string with a backslash escape is declined (used for member names, which need no escapes).
   Returns false with reader->status set. Declines \u0000 (jansson refuses it), raw control
   characters and ill-formed UTF-8, as jansson does. */
static bool s_string_scan(s_reader_t *reader, bool escapes_ok, s_span_t *span)
{
    if (!s_take(reader, '"')) {
        reader->status = S_DECLINE;
        return false;
    }
    /* first pass: find the end, check the bytes, size the decoded text */
    const unsigned char *start = reader->at, *cursor = start;
    size_t decoded = 0;
    bool escaped = false;
    while (true) {
        /* plain ASCII, most of any body, eight bytes at a time up to the next byte that
           needs a look */
        uint64_t word;
        while (reader->end - cursor >= (ptrdiff_t)sizeof word) {
            memcpy(&word, cursor, sizeof word);
            uint64_t special = s_word_special(word);
            if (special) {
                size_t plain = s_plain_before(special);
                cursor += plain;
                decoded += plain;
                break;
            }
            cursor += sizeof word;
            decoded += sizeof word;
        }
        if (cursor >= reader->end) {
            reader->status = S_DECLINE;
            return false;
        }
        unsigned char c = *cursor;
        if (c == '"')
            break;
        if (c < 0x20) {
            reader->status = S_DECLINE;
            return false;
        }
        if (c < 0x80 && c != '\\') {
            cursor++;
            decoded++;
            continue;
        }
        if (c >= 0x80) {
            size_t sequence = s_utf8_length(cursor, reader->end);
            if (!sequence) {
                reader->status = S_DECLINE;
                return false;
            }
            cursor += sequence;
            decoded += sequence;
            continue;
        }
        /* a backslash escape */
        if (!escapes_ok || reader->end - cursor < 2) {
            reader->status = S_DECLINE;
            return false;
        }
        escaped = true;
        unsigned char kind = cursor[1];
        if (kind == '"' || kind == '\\' || kind == '/' || kind == 'b' || kind == 'f' ||
            kind == 'n' || kind == 'r' || kind == 't') {
            cursor += 2;
            decoded++;
            continue;
        }
        if (kind != 'u' || reader->end - cursor < 6) {
            reader->status = S_DECLINE;
            return false;
        }
        long code = s_hex4(cursor + 2);
        cursor += 6;
        if (code <= 0 || (code >= 0xdc00 && code <= 0xdfff)) {
            reader->status = S_DECLINE; /* NUL, or a lone low surrogate */
            return false;
        }
        if (code >= 0xd800 && code <= 0xdbff) {
            long low = reader->end - cursor >= 6 && cursor[0] == '\\' && cursor[1] == 'u'
                           ? s_hex4(cursor + 2)
                           : -1;
            if (low < 0xdc00 || low > 0xdfff) {
                reader->status = S_DECLINE;
                return false;
            }
            cursor += 6;
            decoded += 4;
        } else
            decoded += code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
    }
    span->start = start;
    span->end = cursor;
    span->decoded = decoded;
    span->escaped = escaped;
    reader->at = cursor + 1;
    return true;
}

/* Writes a scanned string, decoded, and its NUL at copy (span->decoded + 1 bytes). */
static void s_string_write(const s_span_t *span, char *copy)
{
    if (!span->escaped)
        memcpy(copy, span->start, span->decoded);
    else {
        /* second pass: decode; the first one checked everything */
        char *out = copy;
        for (const unsigned char *in = span->start; in < span->end;) {
            if (*in != '\\') {
                *out++ = (char)*in++;
                continue;
            }
            unsigned char kind = in[1];
            in += 2;
            static const char plain[] = "\"\\/bfnrt", meaning[] = "\"\\/\b\f\n\r\t";
            const char *hit = kind != 'u' ? strchr(plain, kind) : NULL;
            if (hit) {
                *out++ = meaning[hit - plain];
                continue;
            }
            long code = s_hex4(in);
            in += 4;
            if (code >= 0xd800 && code <= 0xdbff) {
                code = 0x10000 + ((code - 0xd800) << 10) + (s_hex4(in + 2) - 0xdc00);
                in += 6;
            }
            if (code < 0x80)
                *out++ = (char)code;
            else if (code < 0x800) {
                *out++ = (char)(0xc0 | (code >> 6));
                *out++ = (char)(0x80 | (code & 0x3f));
            } else if (code < 0x10000) {
                *out++ = (char)(0xe0 | (code >> 12));
                *out++ = (char)(0x80 | ((code >> 6) & 0x3f));
                *out++ = (char)(0x80 | (code & 0x3f));
            } else {
                *out++ = (char)(0xf0 | (code >> 18));
                *out++ = (char)(0x80 | ((code >> 12) & 0x3f));
                *out++ = (char)(0x80 | ((code >> 6) & 0x3f));
                *out++ = (char)(0x80 | (code & 0x3f));
            }
        }
    }
    copy[span->decoded] = '\0';
}

/* Reads a JSON string into a malloc'd NUL-terminated copy (*length bytes, without the NUL):
   s_string_scan, then s_string_write. Returns the copy, or NULL with reader->status set. */
static char *s_string(s_reader_t *reader, bool escapes_ok, size_t *length)
{
    s_span_t span;
    if (!s_string_scan(reader, escapes_ok, &span))
        return NULL;
    char *copy = malloc(span.decoded + 1);
    if (!copy) {
        reader->status = S_OOM;
        return NULL;
    }
    s_string_write(&span, copy);
    *length = span.decoded;
    return copy;
}

/* Reads the member name that opens an object member, and its colon. Returns the name, or
   NULL with reader->status set. */
static char *s_member_name(s_reader_t *reader, size_t *length)
{
    char *name = s_string(reader, false, length);
    if (name && !s_take(reader, ':')) {
        free(name);
        reader->status = S_DECLINE;
        return NULL;
    }
    return name;
}

/* One entry of a label or annotation object while it is read: where its name (no
   escapes: the bytes are the name) and its value are in the body. */
typedef struct {
    s_span_t name;
    s_span_t value;
} s_entry_t;

/* strcmp's order of the names, which are their bytes. */
static int s_compare_entries(const void *a, const void *b)
{
    const s_span_t *x = &((const s_entry_t *)a)->name, *y = &((const s_entry_t *)b)->name;
    size_t common = x->decoded < y->decoded ? x->decoded : y->decoded;
    int cmp = memcmp(x->start, y->start, common);
    return cmp ? cmp : (x->decoded > y->decoded) - (x->decoded < y->decoded);
}

/* Sorts entries by name: insertion sort up to a handful (qsort cost 600 instructions for
   an alert's five labels; what Prometheus sends is sorted already), qsort beyond. */
static void s_sort_entries(s_entry_t *entries, size_t count)
{
    enum { S_INSERTION_MAX = 16 };
    if (count > S_INSERTION_MAX) {
        qsort(entries, count, sizeof entries[0], s_compare_entries);
        return;
    }
    for (size_t i = 1; i < count; i++) {
        s_entry_t entry = entries[i];
        size_t at = i;
        for (; at > 0 && s_compare_entries(&entries[at - 1], &entry) > 0; at--)
            entries[at] = entries[at - 1];
        entries[at] = entry;
    }
}

/* Reads an object of strings into *set as intake_string_map does for a valid one: label
   names only, at most max_count entries, values at most max_value bytes, empty values
   left out when drop_empty, sorted by name. Declines duplicate names. The set is packed
   (lk_labels_t): the entries are scanned in place, then decoded into one allocation. */
static void s_string_map(s_reader_t *reader, bool drop_empty, size_t max_count, size_t max_value,
                         lk_labels_t *set)
{
    s_entry_t entries[INTAKE_LABELS_MAX > INTAKE_ANNOTATIONS_MAX ? INTAKE_LABELS_MAX
                                                                 : INTAKE_ANNOTATIONS_MAX];
    size_t count = 0;
    if (!s_take(reader, '{')) {
        reader->status = S_DECLINE;
        return;
    }
    if (!s_take(reader, '}')) {
        do {
            if (count == max_count || count == sizeof entries / sizeof entries[0]) {
                reader->status = S_DECLINE;
                break;
            }
            s_entry_t *entry = &entries[count];
            if (!s_string_scan(reader, false, &entry->name))
                break;
            if (!s_take(reader, ':') ||
                !intake_label_name_valid((const char *)entry->name.start, entry->name.decoded)) {
                reader->status = S_DECLINE;
                break;
            }
            if (!s_string_scan(reader, true, &entry->value))
                break;
            if (entry->value.decoded > max_value) {
                reader->status = S_DECLINE;
                break;
            }
            count++;
        } while (s_take(reader, ','));
        if (reader->status == S_OK && !s_take(reader, '}'))
            reader->status = S_DECLINE;
    }
    if (reader->status != S_OK)
        return;
    if (count > 1) {
        s_sort_entries(entries, count);
        for (size_t i = 1; i < count; i++)
            if (s_compare_entries(&entries[i - 1], &entries[i]) == 0) {
                reader->status = S_DECLINE;
                return;
            }
    }
    size_t kept = 0, bytes = 0;
    for (size_t i = 0; i < count; i++)
        if (!(drop_empty && entries[i].value.decoded == 0)) {
            kept++;
            bytes += entries[i].name.decoded + entries[i].value.decoded + 2;
        }
    char *out;
    if (lk_labels_pack_init(set, kept, bytes, &out)) {
        reader->status = S_OOM;
        return;
    }
    size_t index = 0;
    for (size_t i = 0; i < count; i++) {
        if (drop_empty && entries[i].value.decoded == 0)
            continue;
        set->items[index].name = out;
        s_string_write(&entries[i].name, out);
        out += entries[i].name.decoded + 1;
        set->items[index].value = out;
        s_string_write(&entries[i].value, out);
        out += entries[i].value.decoded + 1;
        index++;
    }
}

/* Reads an optional string member (null or a string) of at most max_bytes: *text is the
   malloc'd copy, NULL for null or "" (as intake_optional_string). */
static void s_optional_string(s_reader_t *reader, size_t max_bytes, char **text)
{
    if (s_take_null(reader))
        return;
    size_t length = 0;
    char *value = s_string(reader, true, &length);
    if (!value)
        return;
    if (length > max_bytes) {
        free(value);
        reader->status = S_DECLINE;
        return;
    }
    if (length == 0)
        free(value);
    else
        *text = value;
}

/* Reads an optional timestamp member as intake_optional_time: 0 for null, "" or Go's zero
   time; declines what it would report. */
static void s_optional_time(s_reader_t *reader, int64_t *epoch_ms)
{
    char *text = NULL;
    s_optional_string(reader, 64, &text);
    if (!text)
        return;
    int64_t parsed = 0;
    if (!lk_time_parse(text, &parsed))
        reader->status = S_DECLINE;
    else if (strncmp(text, "0001-01-01T00:00:00", 19) != 0) {
        if (parsed <= 0)
            reader->status = S_DECLINE;
        else
            *epoch_ms = parsed;
    }
    free(text);
}

/* The members one element may have; each at most once. */
enum { S_LABELS = 1, S_ANNOTATIONS = 2, S_STARTS_AT = 4, S_ENDS_AT = 8, S_GENERATOR_URL = 16 };

/* Reads one element into alert, finishing it as s_parse_postable would. */
static void s_element(s_reader_t *reader, const char *tenant_id, int64_t now_ms,
                      int64_t resolve_timeout_ms, lk_alert_t *alert)
{
    int seen = 0;
    int64_t starts_at = 0, ends_at = 0;
    if (!s_take(reader, '{') || s_take(reader, '}')) {
        reader->status = S_DECLINE; /* not an object, or one without labels */
        return;
    }
    do {
        size_t name_len = 0;
        char *name = s_member_name(reader, &name_len);
        if (!name)
            return;
        int member = strcmp(name, "labels") == 0         ? S_LABELS
                     : strcmp(name, "annotations") == 0  ? S_ANNOTATIONS
                     : strcmp(name, "startsAt") == 0     ? S_STARTS_AT
                     : strcmp(name, "endsAt") == 0       ? S_ENDS_AT
                     : strcmp(name, "generatorURL") == 0 ? S_GENERATOR_URL
                                                         : 0;
        free(name);
        if (!member || (seen & member)) {
            reader->status = S_DECLINE;
            return;
        }
        seen |= member;
        if (member == S_LABELS)
            s_string_map(reader, true, INTAKE_LABELS_MAX, INTAKE_LABEL_VALUE_MAX, &alert->labels);
        else if (member == S_ANNOTATIONS) {
            if (!s_take_null(reader))
                s_string_map(reader, false, INTAKE_ANNOTATIONS_MAX, INTAKE_ANNOTATION_VALUE_MAX,
                             &alert->annotations);
        } else if (member == S_STARTS_AT)
            s_optional_time(reader, &starts_at);
        else if (member == S_ENDS_AT)
            s_optional_time(reader, &ends_at);
        else
            s_optional_string(reader, INTAKE_URL_MAX, &alert->generator_url);
        if (reader->status != S_OK)
            return;
    } while (s_take(reader, ','));
    if (!s_take(reader, '}') || alert->labels.count == 0) {
        reader->status = S_DECLINE; /* labels missing, or none left: an error to report */
        return;
    }
    /* s_parse_common */
    memcpy(alert->tenant_id, tenant_id, strnlen(tenant_id, sizeof alert->tenant_id - 1));
    const char *alertname = lk_labels_get(&alert->labels, "alertname");
    alert->name = strdup(alertname ? alertname : "");
    alert->source = strdup("prometheus");
    if (!alert->name || !alert->source) {
        reader->status = S_OOM;
        return;
    }
    alert->severity = intake_label_severity(&alert->labels);
    /* s_parse_postable */
    if (!starts_at)
        starts_at = ends_at ? ends_at : now_ms;
    if (!ends_at)
        ends_at = now_ms + resolve_timeout_ms;
    if (ends_at < starts_at) {
        reader->status = S_DECLINE;
        return;
    }
    alert->starts_at_ms = starts_at;
    alert->ends_at_ms = ends_at;
    alert->status = ends_at > now_ms ? LK_ALERT_FIRING : LK_ALERT_RESOLVED;
}

int alert_parse_prometheus_fast(const char *body, size_t size, const char *tenant_id,
                                int64_t now_ms, int64_t resolve_timeout_ms, size_t max_batch,
                                alert_parse_result_t *result)
{
    memset(result, 0, sizeof *result);
    s_reader_t reader = {(const unsigned char *)body, (const unsigned char *)body + size, S_OK};
    if (!body || !s_take(&reader, '['))
        return 0;
    size_t capacity = 0;
    if (!s_take(&reader, ']')) {
        do {
            if (result->alert_count == max_batch) {
                reader.status = S_DECLINE; /* the general path answers 413 */
                break;
            }
            if (result->alert_count == capacity) {
                capacity = capacity ? capacity * 2 : 64;
                lk_alert_t *alerts = realloc(result->alerts, capacity * sizeof *alerts);
                size_t *indexes =
                    alerts ? realloc(result->indexes, capacity * sizeof *indexes) : NULL;
                if (alerts)
                    result->alerts = alerts;
                if (indexes)
                    result->indexes = indexes;
                if (!alerts || !indexes) {
                    reader.status = S_OOM;
                    break;
                }
            }
            lk_alert_t *alert = &result->alerts[result->alert_count];
            memset(alert, 0, sizeof *alert);
            s_element(&reader, tenant_id, now_ms, resolve_timeout_ms, alert);
            if (reader.status != S_OK) {
                lk_alert_clear(alert);
                break;
            }
            result->indexes[result->alert_count] = result->alert_count;
            result->alert_count++;
        } while (s_take(&reader, ','));
        if (reader.status == S_OK && !s_take(&reader, ']'))
            reader.status = S_DECLINE;
    }
    s_skip_space(&reader);
    if (reader.status == S_OK && reader.at != reader.end)
        reader.status = S_DECLINE; /* something after the array */
    if (reader.status == S_OK)
        return 1;
    alert_parse_result_clear(result);
    memset(result, 0, sizeof *result);
    return reader.status == S_OOM ? -1 : 0;
}
