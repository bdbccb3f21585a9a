/*  ctl_format — the pure parts of lookoutctl: reading durations and silence matchers from
    the command line, and writing aligned tables and relative times for people.

        ctl_table_t *table = ctl_table_new (3, (const char *[]){"ID", "STATUS", "AGE"});
        ctl_table_add (table, (const char *[]){id, "triggered", "5m ago"});
        ctl_table_print (table, stdout);
        ctl_table_destroy (&table);
*/
#ifndef CTL_FORMAT_H
#define CTL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Parses a Prometheus-style duration: one or more <number><unit> with unit ms, s, m, h, d
   or w ("2h", "1h30m", "90s", "1d"). Returns false for anything else, zero, or overflow. */
bool ctl_duration_parse(const char *text, int64_t *ms);

/* Writes how long ago (or how far ahead) then_ms is from now_ms: "just now" (under a second
   either way), "42s ago", "5m ago", "1h59m ago", "12h ago", "2d3h ago", "in 10m"; hours and
   days below 10 carry the next unit. then_ms 0 (unset) writes "-". */
void ctl_relative_time(int64_t then_ms, int64_t now_ms, char *buf, size_t buf_size);

/* A silence matcher from name=value, name!=value, name=~regex or name!~regex. */
typedef struct {
    char name[129];
    char value[4097];
    bool is_regex;
    bool is_equal;
} ctl_matcher_t;
/* Returns false when text has no operator or the name is not a label name
   ([a-zA-Z_][a-zA-Z0-9_]*) or either part is too long. */
bool ctl_matcher_parse(const char *text, ctl_matcher_t *out);

/* Display width of UTF-8 text: code points (every one counted as one column). */
size_t ctl_text_width(const char *text);

/* ---- tables ----------------------------------------------------------------------------- */

#define CTL_TABLE_COLUMNS_MAX 12

typedef struct ctl_table_t ctl_table_t;

/* A table with columns headers (copied). Aborts on OOM, as a command-line tool may. */
ctl_table_t *ctl_table_new(size_t columns, const char *const *headers);
void ctl_table_destroy(ctl_table_t **self_p);
/* Caps a column's width: longer cells are cut and end in "…". 0 = no cap. */
void ctl_table_set_max_width(ctl_table_t *self, size_t column, size_t width);
/* Appends a row of cells (copied; NULL prints as "-"); control characters become spaces so
   one row stays one line. */
void ctl_table_add(ctl_table_t *self, const char *const *cells);
size_t ctl_table_rows(const ctl_table_t *self);
/* Prints the header and the rows, columns padded to their widest cell and separated by two
   spaces; the last column is not padded. */
void ctl_table_print(const ctl_table_t *self, FILE *out);

#endif
