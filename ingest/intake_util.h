/*  intake_util — what the ecosystem intake parsers (Alertmanager API v2 and webhook,
    PagerDuty Events v2) share: an error list that reports every bad field with its element
    index, Prometheus label and annotation sets, timestamps as Go renders them, and the
    integration keys of the YAML configuration.

    The parsers fill an alert_parse_result_t (alert_parse.h); these helpers keep its
    conventions: an element with any error is dropped whole, the valid ones are kept with
    their request positions, and the error list stops at INTAKE_ERRORS_MAX entries with one
    closing entry saying so.
*/
#ifndef INGEST_INTAKE_UTIL_H
#define INGEST_INTAKE_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert_parse.h"
#include "lk_config.h"

#define INTAKE_ERRORS_MAX           1000
#define INTAKE_LABELS_MAX           64
#define INTAKE_LABEL_NAME_MAX       1024
#define INTAKE_LABEL_VALUE_MAX      4096
#define INTAKE_ANNOTATIONS_MAX      64
#define INTAKE_ANNOTATION_VALUE_MAX 16384
#define INTAKE_URL_MAX              4096

/* Parsing state for one request body. */
typedef struct {
    alert_parse_result_t *result;
    size_t errors_capacity;
    bool element_bad; /* the element being parsed has at least one error */
    bool errors_cut;  /* INTAKE_ERRORS_MAX reached: later errors are not listed */
    bool oom;
} intake_parser_t;

/* Starts parsing a body of count elements into result (zeroed here): allocates room for
   count alerts. Returns 0, -1 on OOM (result left empty). */
int intake_parser_begin(intake_parser_t *parser, alert_parse_result_t *result, size_t count);

/* Marks the start of element index: clears the element's error flag and returns the slot
   its alert is parsed into (zeroed). */
lk_alert_t *intake_element_begin(intake_parser_t *parser);

/* Ends element index: keeps the alert when the element had no error, else clears it.
   Returns true when kept. */
bool intake_element_end(intake_parser_t *parser, size_t index);

/* Ends parsing. Returns 0, or -1 after OOM with result cleared and *reason set. */
int intake_parser_end(intake_parser_t *parser, const char **reason);

/* Reports a problem with field (a JSON path, "" for the element itself) of element index;
   message is printf-formatted. Marks the element bad. */
void intake_error(intake_parser_t *parser, size_t index, const char *field, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* True when name[0..len) is a Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*, at most
   INTAKE_LABEL_NAME_MAX bytes. */
bool intake_label_name_valid(const char *name, size_t len);

/* Reads member `key` of object, an object of string values, into *set: names must be label
   names, at most max_count entries, values at most max_value bytes. drop_empty: entries
   with an empty value are left out (Alertmanager removes empty labels before it computes a
   fingerprint). required: a missing or null member is an error. Every bad entry is
   reported as "<key>.<name>". */
void intake_string_map(intake_parser_t *parser, size_t index, const json_t *object, const char *key,
                       bool required, bool drop_empty, size_t max_count, size_t max_value,
                       lk_labels_t *set);

/* Reads optional string member `key` of at most max_bytes into *out (NULL when absent, null
   or ""). Returns false after reporting an error when present but unusable. */
bool intake_optional_string(intake_parser_t *parser, size_t index, const json_t *object,
                            const char *key, size_t max_bytes, const char **out);

/* Reads optional timestamp member `key` (RFC 3339) into *epoch_ms, 0 when absent, null, ""
   or Go's zero time (0001-01-01T00:00:00Z, what Alertmanager sends for "no end"). Returns
   false after reporting an error when malformed or before 1970. */
bool intake_optional_time(intake_parser_t *parser, size_t index, const json_t *object,
                          const char *key, int64_t *epoch_ms);

/* Duplicates text into *field; flags OOM. NULL stays NULL. */
void intake_dup(intake_parser_t *parser, char **field, const char *text);

/* The severity an alert's labels imply: labels.severity when it is a known level (see
   lk_severity_parse), else warning. */
lk_severity_t intake_label_severity(const lk_labels_t *labels);

/* The integration whose key equals key[0..key_len), or NULL. Every configured key is
   compared in full, in constant time, whatever matches, so the time taken says nothing
   about the keys. */
const lk_integration_t *intake_integration_find(const lk_config_t *config, const char *key,
                                                size_t key_len);

#endif
