/*  store_map — turns lk_* domain structs into statement parameters and rows back into
    structs, in the column order of STORE_INCIDENT_COLUMNS / STORE_ALERT_COLUMNS /
    STORE_EVENT_COLUMNS (store_db.h). Label sets are stored as JSON objects; unset times (0)
    and absent optional strings are stored as NULL.
*/
#ifndef STORE_MAP_H
#define STORE_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "lk_model.h"
#include "store_db.h"

/* JSON text of the columns a struct needs, owned by the caller of the *_params functions
   and freed with store_map_json_clear once the statement ran. */
typedef struct {
    char *first;
    char *second;
} store_map_json_t;

void store_map_json_clear(store_map_json_t *json);

/* Fills params[STORE_INCIDENT_PARAMS] from incident. Returns 0, or -1 on OOM. The params
   point into incident and json, which must outlive the statement. */
int store_map_incident_params(const lk_incident_t *incident, store_param_t *params,
                              store_map_json_t *json);
/* Fills params[STORE_ALERT_PARAMS]; same contract. */
int store_map_alert_params(const lk_alert_t *alert, store_param_t *params, store_map_json_t *json);
/* Fills params[STORE_EVENT_PARAMS] with the event under sequence and the incident blob. */
void store_map_event_params(const lk_event_t *event, uint64_t sequence, const void *blob,
                            size_t blob_size, store_param_t *params);

/* Read the current row from column first on into *out (initialised here). Return 0, or -1
   with a reason in err when a stored value does not parse (out is then cleared). */
int store_map_read_incident(store_rows_t *rows, int first, lk_incident_t *out, char *err,
                            size_t err_size);
int store_map_read_alert(store_rows_t *rows, int first, lk_alert_t *out, char *err,
                         size_t err_size);
int store_map_read_event(store_rows_t *rows, int first, lk_event_t *out, char *err,
                         size_t err_size);

/* The JSON object text of a label set (sorted keys, compact): heap string or NULL on OOM or
   when a name or value is not valid UTF-8. */
char *store_map_labels_json(const lk_labels_t *labels);
/* Parses a JSON object of strings into *labels (initialised here). Returns 0 or -1. */
int store_map_labels_parse(const char *text, lk_labels_t *labels);
/* The JSON array text of count strings: heap string, or NULL on OOM / invalid UTF-8. */
char *store_map_strings_json(char *const *items, size_t count);
/* Parses a JSON array of at most LK_INCIDENT_SOURCES_MAX strings (NULL text = empty) into a
   new array (*items, *count). Returns 0 or -1 (nothing allocated). */
int store_map_strings_parse(const char *text, char ***items, uint32_t *count);

/* True when text is valid UTF-8 (what PostgreSQL text columns and JSON accept); NULL is
   valid (an absent optional string). */
bool store_map_utf8_valid(const char *text);

#endif
