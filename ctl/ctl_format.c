/*  ctl_format — durations, matchers, relative times and aligned tables (see ctl_format.h). */
#include "ctl_format.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct ctl_table_t {
    size_t columns;
    char *headers[CTL_TABLE_COLUMNS_MAX];
    size_t max_width[CTL_TABLE_COLUMNS_MAX];
    char **cells; /* rows * columns */
    size_t rows;
    size_t capacity;
};

/* ---- durations and times ------------------------------------------------------------------ */

bool ctl_duration_parse(const char *text, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
                 {"h", 3600000}, {"d", 86400000}, {"w", 604800000}};
    if (!text || !*text)
        return false;
    int64_t total = 0;
    const char *cursor = text;
    while (*cursor) {
        if (!isdigit((unsigned char)*cursor))
            return false;
        int64_t number = 0;
        while (isdigit((unsigned char)*cursor)) {
            if (number > (INT64_MAX - 9) / 10)
                return false;
            number = number * 10 + (*cursor++ - '0');
        }
        int64_t unit_ms = 0;
        for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
            size_t length = strlen(units[i].unit);
            /* "m" must not take the "m" of "ms" */
            if (strncmp(cursor, units[i].unit, length) == 0 &&
                !isalpha((unsigned char)cursor[length])) {
                unit_ms = units[i].ms;
                cursor += length;
                break;
            }
        }
        if (unit_ms == 0 || number > (INT64_MAX - total) / unit_ms)
            return false;
        total += number * unit_ms;
    }
    if (total <= 0)
        return false;
    *ms = total;
    return true;
}

void ctl_relative_time(int64_t then_ms, int64_t now_ms, char *buf, size_t buf_size)
{
    if (then_ms == 0) {
        snprintf(buf, buf_size, "-");
        return;
    }
    int64_t delta_ms = now_ms - then_ms;
    bool future = delta_ms < 0;
    int64_t seconds = (future ? -delta_ms : delta_ms) / 1000;
    if (seconds == 0) {
        snprintf(buf, buf_size, "just now");
        return;
    }
    /* the larger unit alone from 10 on; below, with the next one ("1h59m", not "1h") */
    char text[32];
    if (seconds < 60)
        snprintf(text, sizeof text, "%llds", (long long)seconds);
    else if (seconds < 3600)
        snprintf(text, sizeof text, "%lldm", (long long)(seconds / 60));
    else if (seconds < 86400) {
        long long hours = seconds / 3600, minutes = seconds % 3600 / 60;
        if (hours < 10 && minutes > 0)
            snprintf(text, sizeof text, "%lldh%lldm", hours, minutes);
        else
            snprintf(text, sizeof text, "%lldh", hours);
    } else {
        long long days = seconds / 86400, hours = seconds % 86400 / 3600;
        if (days < 10 && hours > 0)
            snprintf(text, sizeof text, "%lldd%lldh", days, hours);
        else
            snprintf(text, sizeof text, "%lldd", days);
    }
    if (future)
        snprintf(buf, buf_size, "in %s", text);
    else
        snprintf(buf, buf_size, "%s ago", text);
}

/* ---- matchers ----------------------------------------------------------------------------- */

bool ctl_matcher_parse(const char *text, ctl_matcher_t *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return false;
    size_t name_length = 0;
    while (isalnum((unsigned char)text[name_length]) || text[name_length] == '_')
        name_length++;
    if (name_length == 0 || isdigit((unsigned char)text[0]) || name_length >= sizeof out->name)
        return false;
    const char *op = text + name_length;
    const char *value;
    if (strncmp(op, "=~", 2) == 0) {
        out->is_regex = true;
        out->is_equal = true;
        value = op + 2;
    } else if (strncmp(op, "!~", 2) == 0) {
        out->is_regex = true;
        value = op + 2;
    } else if (strncmp(op, "!=", 2) == 0) {
        value = op + 2;
    } else if (op[0] == '=') {
        out->is_equal = true;
        value = op + 1;
    } else
        return false;
    if (strlen(value) >= sizeof out->value)
        return false;
    memcpy(out->name, text, name_length);
    strcpy(out->value, value);
    return true;
}

/* ---- tables ------------------------------------------------------------------------------- */

size_t ctl_text_width(const char *text)
{
    size_t width = 0;
    for (const unsigned char *c = (const unsigned char *)text; c && *c; c++)
        if ((*c & 0xC0) != 0x80) /* not a continuation byte */
            width++;
    return width;
}

static char *s_copy(const char *text)
{
    char *copy = strdup(text ? text : "-");
    if (!copy) {
        fputs("lookoutctl: out of memory\n", stderr);
        exit(1);
    }
    for (char *c = copy; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    return copy;
}

ctl_table_t *ctl_table_new(size_t columns, const char *const *headers)
{
    ctl_table_t *self = calloc(1, sizeof *self);
    if (!self || columns == 0 || columns > CTL_TABLE_COLUMNS_MAX) {
        fputs("lookoutctl: bad table\n", stderr);
        exit(1);
    }
    self->columns = columns;
    for (size_t i = 0; i < columns; i++)
        self->headers[i] = s_copy(headers[i]);
    return self;
}

void ctl_table_destroy(ctl_table_t **self_p)
{
    ctl_table_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->columns; i++)
        free(self->headers[i]);
    for (size_t i = 0; i < self->rows * self->columns; i++)
        free(self->cells[i]);
    free(self->cells);
    free(self);
    *self_p = NULL;
}

void ctl_table_set_max_width(ctl_table_t *self, size_t column, size_t width)
{
    if (column < self->columns)
        self->max_width[column] = width;
}

void ctl_table_add(ctl_table_t *self, const char *const *cells)
{
    if (self->rows == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 16;
        char **grown = realloc(self->cells, capacity * self->columns * sizeof *grown);
        if (!grown) {
            fputs("lookoutctl: out of memory\n", stderr);
            exit(1);
        }
        self->cells = grown;
        self->capacity = capacity;
    }
    for (size_t i = 0; i < self->columns; i++)
        self->cells[self->rows * self->columns + i] = s_copy(cells[i]);
    self->rows++;
}

size_t ctl_table_rows(const ctl_table_t *self)
{
    return self->rows;
}

/* Writes text cut to width columns ("…" as the last one when cut), padded to pad columns. */
static void s_write_cell(FILE *out, const char *text, size_t width, size_t pad)
{
    size_t shown = 0;
    size_t full = ctl_text_width(text);
    const unsigned char *c = (const unsigned char *)text;
    size_t limit = full > width ? width - 1 : full;
    while (*c && shown < limit) {
        fputc(*c++, out);
        while ((*c & 0xC0) == 0x80)
            fputc(*c++, out);
        shown++;
    }
    if (full > width) {
        fputs("…", out);
        shown++;
    }
    for (; shown < pad; shown++)
        fputc(' ', out);
}

void ctl_table_print(const ctl_table_t *self, FILE *out)
{
    size_t widths[CTL_TABLE_COLUMNS_MAX];
    for (size_t col = 0; col < self->columns; col++) {
        widths[col] = ctl_text_width(self->headers[col]);
        for (size_t row = 0; row < self->rows; row++) {
            size_t width = ctl_text_width(self->cells[row * self->columns + col]);
            if (width > widths[col])
                widths[col] = width;
        }
        if (self->max_width[col] > 1 && widths[col] > self->max_width[col])
            widths[col] = self->max_width[col];
    }
    for (size_t row = 0; row <= self->rows; row++) {
        for (size_t col = 0; col < self->columns; col++) {
            const char *text =
                row == 0 ? self->headers[col] : self->cells[(row - 1) * self->columns + col];
            bool last = col + 1 == self->columns;
            s_write_cell(out, text, widths[col], last ? 0 : widths[col]);
            if (!last)
                fputs("  ", out);
        }
        fputc('\n', out);
    }
}
