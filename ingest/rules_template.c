/*  rules_template — the alert-rule template language of lookout-rules (see rules.h):
    Prometheus-style {{ $labels.x }}, {{ $value }}, pipelines and the functions alert
    annotations use (printf, humanize, humanizeDuration, ...), expanded with limits on the
    output so a rule cannot make an alert of unbounded size; and the value formatting that
    Prometheus uses for $value.
*/
#include "rules.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== templates ========================================================================== */

/* A growing string; at most RULES_EXPANSION_MAX bytes unless unlimited is set. */
typedef struct {
    char *data;
    size_t size;
    size_t capacity;
    bool unlimited;
} s_buf_t;

static int s_buf_add(s_buf_t *buf, const char *text, size_t size)
{
    if (!buf->unlimited && buf->size + size > RULES_EXPANSION_MAX)
        return -1;
    if (buf->size + size + 1 > buf->capacity) {
        size_t capacity = buf->capacity ? buf->capacity : 64;
        while (capacity < buf->size + size + 1)
            capacity *= 2;
        char *grown = realloc(buf->data, capacity);
        if (!grown)
            return -1;
        buf->data = grown;
        buf->capacity = capacity;
    }
    memcpy(buf->data + buf->size, text, size);
    buf->size += size;
    buf->data[buf->size] = '\0';
    return 0;
}

void rules_format_value(double value, char *buf, size_t buf_size)
{
    assert(buf && buf_size);
    if (isnan(value)) {
        snprintf(buf, buf_size, "NaN");
        return;
    }
    if (isinf(value)) {
        snprintf(buf, buf_size, value > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (value == 0) {
        snprintf(buf, buf_size, signbit(value) ? "-0" : "0");
        return;
    }
    /* Go's %v (strconv 'g' with the shortest precision): the fewest digits that read back
       as the same double, in %e form when the decimal exponent is below -4 or at least 6
       ("123456", "1.234567e+06", "1e-05", "0.0001"). */
    char digits[64];
    int precision = 1;
    for (; precision <= 17; precision++) {
        snprintf(digits, sizeof digits, "%.*e", precision - 1, value);
        if (strtod(digits, NULL) == value)
            break;
    }
    int exponent = atoi(strchr(digits, 'e') + 1);
    if (exponent < -4 || exponent >= 6)
        snprintf(buf, buf_size, "%s", digits);
    else {
        int decimals = precision - 1 - exponent;
        snprintf(buf, buf_size, "%.*f", decimals > 0 ? decimals : 0, value);
    }
}

/* Go's "%.4g" followed by suffix (C's %g is the same except for NaN and infinities). */
static void s_format_g4(double value, const char *suffix, char *buf, size_t buf_size)
{
    if (isnan(value) || isinf(value)) {
        char text[8];
        rules_format_value(value, text, sizeof text);
        snprintf(buf, buf_size, "%s%s", text, suffix);
    } else
        snprintf(buf, buf_size, "%.4g%s", value, suffix);
}

/* Prometheus's humanize family (template/template.go), same output. */
static void s_humanize(double value, char *buf, size_t buf_size)
{
    static const char *const big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
    static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    const char *prefix = "";
    if (value == 0 || isnan(value) || isinf(value)) {
        s_format_g4(value, "", buf, buf_size);
        return;
    }
    if (fabs(value) >= 1) {
        for (size_t i = 0; i < 8 && fabs(value) >= 1000; i++) {
            prefix = big[i];
            value /= 1000;
        }
    } else {
        for (size_t i = 0; i < 8 && fabs(value) < 1; i++) {
            prefix = small[i];
            value *= 1000;
        }
    }
    s_format_g4(value, prefix, buf, buf_size);
}

static void s_humanize1024(double value, char *buf, size_t buf_size)
{
    static const char *const big[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
    const char *prefix = "";
    if (fabs(value) <= 1 || isnan(value) || isinf(value)) {
        s_format_g4(value, "", buf, buf_size);
        return;
    }
    for (size_t i = 0; i < 8 && fabs(value) >= 1024; i++) {
        prefix = big[i];
        value /= 1024;
    }
    s_format_g4(value, prefix, buf, buf_size);
}

static void s_humanize_duration(double value, char *buf, size_t buf_size)
{
    static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    if (isnan(value) || isinf(value)) {
        s_format_g4(value, "", buf, buf_size);
        return;
    }
    if (value == 0) {
        s_format_g4(value, "s", buf, buf_size);
        return;
    }
    if (fabs(value) >= 1) {
        const char *sign = value < 0 ? "-" : "";
        value = fabs(value);
        long long duration = value < 9.2e18 ? (long long)value : 9200000000000000000LL;
        long long seconds = duration % 60, minutes = (duration / 60) % 60;
        long long hours = (duration / 3600) % 24, days = duration / 86400;
        if (days)
            snprintf(buf, buf_size, "%s%lldd %lldh %lldm %llds", sign, days, hours, minutes,
                     seconds);
        else if (hours)
            snprintf(buf, buf_size, "%s%lldh %lldm %llds", sign, hours, minutes, seconds);
        else if (minutes)
            snprintf(buf, buf_size, "%s%lldm %llds", sign, minutes, seconds);
        else
            snprintf(buf, buf_size, "%s%.4gs", sign, value);
        return;
    }
    const char *prefix = "";
    for (size_t i = 0; i < 8 && fabs(value) < 1; i++) {
        prefix = small[i];
        value *= 1000;
    }
    char suffix[8];
    snprintf(suffix, sizeof suffix, "%ss", prefix);
    s_format_g4(value, suffix, buf, buf_size);
}

typedef enum { S_VAL_NUMBER = 0, S_VAL_STRING, S_VAL_LABELS } s_val_kind_t;

/* A template value: a number, a string (owned), or the series' label map. */
typedef struct {
    s_val_kind_t kind;
    double number;
    char *string;
} s_val_t;

#define S_TEMPLATE_MAX_ARGS  8
#define S_TEMPLATE_MAX_DEPTH 8

typedef struct {
    const char *cursor; /* in the action being evaluated */
    const char *end;
    const lk_labels_t *labels;
    double value;
    bool checking; /* no real series: conversions that depend on data cannot fail */
    int depth;
    char *err;
    size_t err_size;
} s_template_t;

static void s_val_clear(s_val_t *val)
{
    free(val->string);
    memset(val, 0, sizeof *val);
}

static int s_val_string(s_val_t *val, const char *text, size_t size)
{
    memset(val, 0, sizeof *val);
    val->kind = S_VAL_STRING;
    val->string = strndup(text, size);
    return val->string ? 0 : -1;
}

/* Renders a value as Go's text/template prints it. Returns a heap string or NULL (OOM). */
static char *s_val_print(const s_template_t *t, const s_val_t *val)
{
    if (val->kind == S_VAL_STRING)
        return strdup(val->string);
    if (val->kind == S_VAL_NUMBER) {
        char text[64];
        rules_format_value(val->number, text, sizeof text);
        return strdup(text);
    }
    s_buf_t buf = {0};
    int rc = s_buf_add(&buf, "map[", 4);
    for (size_t i = 0; rc == 0 && i < t->labels->count; i++) {
        const lk_label_t *label = &t->labels->items[i];
        rc = (i ? s_buf_add(&buf, " ", 1) : 0) ||
             s_buf_add(&buf, label->name, strlen(label->name)) || s_buf_add(&buf, ":", 1) ||
             s_buf_add(&buf, label->value, strlen(label->value));
    }
    if (rc == 0)
        rc = s_buf_add(&buf, "]", 1);
    if (rc != 0) {
        free(buf.data);
        return NULL;
    }
    return buf.data;
}

static int s_template_fail(s_template_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int s_template_fail(s_template_t *t, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(t->err, t->err_size, fmt, args);
    va_end(args);
    return -1;
}

static void s_skip_space(s_template_t *t)
{
    while (t->cursor < t->end && isspace((unsigned char)*t->cursor))
        t->cursor++;
}

static bool s_is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool s_is_ident(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Reads an identifier at the cursor into name (NUL-terminated, truncated to size). */
static size_t s_read_ident(s_template_t *t, char *name, size_t size)
{
    const char *start = t->cursor;
    while (t->cursor < t->end && s_is_ident(*t->cursor))
        t->cursor++;
    size_t length = (size_t)(t->cursor - start);
    snprintf(name, size, "%.*s", (int)length, start);
    return length;
}

/* A value as a number (strings are parsed, as Prometheus's functions do). */
static int s_to_number(s_template_t *t, const char *function, const s_val_t *val, double *out)
{
    if (val->kind == S_VAL_NUMBER) {
        *out = val->number;
        return 0;
    }
    if (val->kind == S_VAL_STRING) {
        char *end = NULL;
        *out = strtod(val->string, &end);
        if (end != val->string && !*end)
            return 0;
        if (t->checking) {
            *out = 0;
            return 0;
        }
        return s_template_fail(t, "%s: cannot convert \"%.64s\" to a number", function,
                               val->string);
    }
    return s_template_fail(t, "%s: expected a number, got the label map", function);
}

static int s_parse_pipeline(s_template_t *t, s_val_t *out);

/* A string literal "..." (Go escapes \\ \" \n \t \r) or a raw `...`. */
static int s_parse_string(s_template_t *t, s_val_t *out)
{
    char quote = *t->cursor++;
    s_buf_t buf = {0};
    int rc = s_buf_add(&buf, "", 0);
    while (rc == 0 && t->cursor < t->end && *t->cursor != quote) {
        char c = *t->cursor++;
        if (quote == '"' && c == '\\' && t->cursor < t->end) {
            char escaped = *t->cursor++;
            switch (escaped) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case '\\':
            case '"':
                c = escaped;
                break;
            default:
                free(buf.data);
                return s_template_fail(t, "unsupported escape \\%c in a string", escaped);
            }
        }
        rc = s_buf_add(&buf, &c, 1);
    }
    if (rc != 0 || t->cursor >= t->end) {
        free(buf.data);
        return s_template_fail(t, rc ? "string too long" : "unterminated string");
    }
    t->cursor++;
    memset(out, 0, sizeof *out);
    out->kind = S_VAL_STRING;
    out->string = buf.data;
    return 0;
}

/* After $labels or .Labels: an optional ".NAME" picks one label ("" when absent, as with
   Prometheus's missingkey=zero). */
static int s_parse_labels_field(s_template_t *t, s_val_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = S_VAL_LABELS;
    if (t->cursor >= t->end || *t->cursor != '.')
        return 0;
    t->cursor++;
    char name[256];
    if (t->cursor >= t->end || !s_is_ident_start(*t->cursor) ||
        s_read_ident(t, name, sizeof name) >= sizeof name)
        return s_template_fail(t, "expected a label name after '.'");
    if (t->cursor < t->end && *t->cursor == '.')
        return s_template_fail(t, "a label has no fields");
    const char *value = lk_labels_get(t->labels, name);
    return s_val_string(out, value ? value : "", value ? strlen(value) : 0) == 0
               ? 0
               : s_template_fail(t, "out of memory");
}

static int s_parse_operand(s_template_t *t, s_val_t *out)
{
    s_skip_space(t);
    if (t->cursor >= t->end)
        return s_template_fail(t, "missing value");
    char c = *t->cursor;
    if (c == '(') {
        if (++t->depth > S_TEMPLATE_MAX_DEPTH)
            return s_template_fail(t, "parentheses nested too deeply");
        t->cursor++;
        if (s_parse_pipeline(t, out) != 0)
            return -1;
        s_skip_space(t);
        if (t->cursor >= t->end || *t->cursor != ')') {
            s_val_clear(out);
            return s_template_fail(t, "missing ')'");
        }
        t->cursor++;
        t->depth--;
        return 0;
    }
    if (c == '"' || c == '`')
        return s_parse_string(t, out);
    if (isdigit((unsigned char)c) ||
        ((c == '-' || c == '+' || c == '.') && t->cursor + 1 < t->end &&
         isdigit((unsigned char)t->cursor[1]))) {
        char number[64];
        size_t length = 0;
        while (t->cursor < t->end && length + 1 < sizeof number &&
               (isalnum((unsigned char)*t->cursor) || strchr("+-.", *t->cursor)))
            number[length++] = *t->cursor++;
        number[length] = '\0';
        char *end = NULL;
        memset(out, 0, sizeof *out);
        out->kind = S_VAL_NUMBER;
        out->number = strtod(number, &end);
        if (*end)
            return s_template_fail(t, "bad number '%s'", number);
        return 0;
    }
    char name[64];
    if (c == '$') {
        t->cursor++;
        s_read_ident(t, name, sizeof name);
        if (strcmp(name, "value") == 0) {
            memset(out, 0, sizeof *out);
            out->kind = S_VAL_NUMBER;
            out->number = t->value;
            return 0;
        }
        if (strcmp(name, "labels") == 0)
            return s_parse_labels_field(t, out);
        return s_template_fail(t, "unknown variable $%s (supported: $labels, $value)", name);
    }
    if (c == '.') {
        t->cursor++;
        s_read_ident(t, name, sizeof name);
        if (strcmp(name, "Value") == 0) {
            memset(out, 0, sizeof *out);
            out->kind = S_VAL_NUMBER;
            out->number = t->value;
            return 0;
        }
        if (strcmp(name, "Labels") == 0)
            return s_parse_labels_field(t, out);
        return s_template_fail(t, "unknown field .%s (supported: .Labels, .Value)", name);
    }
    return s_template_fail(t, "unexpected '%c'", c);
}

/* printf with Go's verbs, mapped onto C's: %v %s (any value), %d (number, truncated),
   %f %F %e %E %g %G (number), %%, with flags -+ #0, width and precision up to 99. */
static int s_printf(s_template_t *t, const s_val_t *args, size_t count, s_val_t *out)
{
    if (count < 1 || args[0].kind != S_VAL_STRING)
        return s_template_fail(t, "printf: the first argument must be a format string");
    s_buf_t buf = {0};
    int rc = s_buf_add(&buf, "", 0);
    size_t next = 1;
    for (const char *f = args[0].string; rc == 0 && *f; f++) {
        if (*f != '%') {
            rc = s_buf_add(&buf, f, 1);
            continue;
        }
        char spec[32] = "%";
        size_t used = 1;
        bool left_align = false;
        f++;
        while (*f && strchr("-+ #0", *f) && used < 8) {
            left_align = left_align || *f == '-';
            spec[used++] = *f++;
        }
        size_t flags_end = used;
        for (int digits = 0; isdigit((unsigned char)*f); digits++) {
            if (digits == 2) {
                free(buf.data);
                return s_template_fail(t, "printf: width or precision above 99");
            }
            spec[used++] = *f++;
        }
        bool has_precision = *f == '.';
        if (has_precision) {
            spec[used++] = *f++;
            for (int digits = 0; isdigit((unsigned char)*f); digits++) {
                if (digits == 2) {
                    free(buf.data);
                    return s_template_fail(t, "printf: width or precision above 99");
                }
                spec[used++] = *f++;
            }
        }
        char verb = *f;
        if (verb == '%' && used == 1) {
            rc = s_buf_add(&buf, "%", 1);
            continue;
        }
        if (!verb || !strchr("vsdfFeEgG", verb)) {
            free(buf.data);
            return verb ? s_template_fail(t, "printf: unsupported verb %%%c", verb)
                        : s_template_fail(t, "printf: format ends in the middle of a verb");
        }
        if (next >= count) {
            free(buf.data);
            return s_template_fail(t, "printf: missing argument for %%%c", verb);
        }
        const s_val_t *arg = &args[next++];
        char *text = NULL;
        int length = -1;
        if (verb == 'v' || verb == 's' || ((verb == 'g' || verb == 'G') && !has_precision)) {
            /* Go's %g without precision is its shortest form, i.e. %v */
            char *printed = NULL;
            if (arg->kind == S_VAL_NUMBER || verb != 'g') {
                printed = s_val_print(t, arg);
            } else {
                double number = 0;
                if (s_to_number(t, "printf", arg, &number) != 0) {
                    free(buf.data);
                    return -1;
                }
                s_val_t as_number = {.kind = S_VAL_NUMBER, .number = number};
                printed = s_val_print(t, &as_number);
            }
            if (printed) {
                /* of the flags only '-' applies to text; width and precision do */
                char text_spec[32];
                snprintf(text_spec, sizeof text_spec, "%%%s%.*ss", left_align ? "-" : "",
                         (int)(used - flags_end), spec + flags_end);
                length = snprintf(NULL, 0, text_spec, printed);
                if (length >= 0 && (text = malloc((size_t)length + 1)))
                    snprintf(text, (size_t)length + 1, text_spec, printed);
                free(printed);
            }
        } else {
            double number = 0;
            if (s_to_number(t, "printf", arg, &number) != 0) {
                free(buf.data);
                return -1;
            }
            if (verb == 'd') {
                if (strchr(spec, '#')) {
                    free(buf.data);
                    return s_template_fail(t, "printf: flag '#' does not apply to %%d");
                }
                spec[used++] = 'l';
                spec[used++] = 'l';
                spec[used++] = 'd';
                spec[used] = '\0';
                long long integer =
                    isfinite(number) && fabs(number) < 9.2e18 ? (long long)number : 0;
                length = snprintf(NULL, 0, spec, integer);
                if (length >= 0 && (text = malloc((size_t)length + 1)))
                    snprintf(text, (size_t)length + 1, spec, integer);
            } else {
                spec[used++] = verb;
                spec[used] = '\0';
                length = snprintf(NULL, 0, spec, number);
                if (length >= 0 && (text = malloc((size_t)length + 1)))
                    snprintf(text, (size_t)length + 1, spec, number);
            }
        }
        if (!text) {
            free(buf.data);
            return s_template_fail(t, "out of memory");
        }
        rc = s_buf_add(&buf, text, (size_t)length);
        free(text);
    }
    if (rc == 0 && next < count) {
        free(buf.data);
        return s_template_fail(t, "printf: %zu arguments left over", count - next);
    }
    if (rc != 0) {
        free(buf.data);
        return s_template_fail(t, "printf: output too long");
    }
    memset(out, 0, sizeof *out);
    out->kind = S_VAL_STRING;
    out->string = buf.data;
    return 0;
}

/* Calls function with its arguments (the piped value, if any, is the last one). */
static int s_call(s_template_t *t, const char *function, s_val_t *args, size_t count, s_val_t *out)
{
    if (strcmp(function, "printf") == 0)
        return s_printf(t, args, count, out);
    if (strcmp(function, "index") == 0) {
        if (count != 2 || args[0].kind != S_VAL_LABELS || args[1].kind != S_VAL_STRING)
            return s_template_fail(t, "index: expected index $labels \"name\"");
        const char *value = lk_labels_get(t->labels, args[1].string);
        return s_val_string(out, value ? value : "", value ? strlen(value) : 0) == 0
                   ? 0
                   : s_template_fail(t, "out of memory");
    }
    static const char *const one_argument[] = {"humanize",
                                               "humanize1024",
                                               "humanizePercentage",
                                               "humanizeDuration",
                                               "toUpper",
                                               "toLower",
                                               "title",
                                               NULL};
    size_t which = 0;
    while (one_argument[which] && strcmp(one_argument[which], function) != 0)
        which++;
    if (!one_argument[which]) {
        static const char *const control[] = {"if",     "else",     "end",   "range", "with",
                                              "define", "template", "block", NULL};
        for (size_t i = 0; control[i]; i++)
            if (strcmp(control[i], function) == 0)
                return s_template_fail(t, "'%s' is not supported", function);
        return s_template_fail(t, "unknown function '%s'", function);
    }
    if (count != 1)
        return s_template_fail(t, "%s: expected 1 argument, got %zu", function, count);
    char text[128];
    if (which <= 3) {
        double number = 0;
        if (s_to_number(t, function, &args[0], &number) != 0)
            return -1;
        if (which == 0)
            s_humanize(number, text, sizeof text);
        else if (which == 1)
            s_humanize1024(number, text, sizeof text);
        else if (which == 2)
            s_format_g4(number * 100, "%", text, sizeof text);
        else
            s_humanize_duration(number, text, sizeof text);
        return s_val_string(out, text, strlen(text)) == 0 ? 0 : s_template_fail(t, "out of memory");
    }
    char *printed = s_val_print(t, &args[0]);
    if (!printed)
        return s_template_fail(t, "out of memory");
    bool word_start = true;
    for (char *c = printed; *c; c++) {
        if (which == 4)
            *c = (char)toupper((unsigned char)*c);
        else if (which == 5)
            *c = (char)tolower((unsigned char)*c);
        else {
            if (word_start && isalpha((unsigned char)*c))
                *c = (char)toupper((unsigned char)*c);
            word_start = !isalnum((unsigned char)*c);
        }
    }
    memset(out, 0, sizeof *out);
    out->kind = S_VAL_STRING;
    out->string = printed;
    return 0;
}

/* One command of a pipeline: a function call with arguments, or a single value. piped, if
   not NULL, is the previous command's result (moved into the call as its last argument). */
static int s_parse_command(s_template_t *t, s_val_t *piped, s_val_t *out)
{
    s_skip_space(t);
    if (t->cursor >= t->end || *t->cursor == '|' || *t->cursor == ')')
        return s_template_fail(t, "missing value");
    if (!s_is_ident_start(*t->cursor)) {
        if (piped)
            return s_template_fail(t, "only a function can follow '|'");
        if (s_parse_operand(t, out) != 0)
            return -1;
        s_skip_space(t);
        if (t->cursor < t->end && *t->cursor != '|' && *t->cursor != ')') {
            s_val_clear(out);
            return s_template_fail(t,
                                   "unexpected '%c' after a value (only functions take "
                                   "arguments)",
                                   *t->cursor);
        }
        return 0;
    }
    char function[64];
    s_read_ident(t, function, sizeof function);
    s_val_t args[S_TEMPLATE_MAX_ARGS + 1];
    size_t count = 0;
    int rc = 0;
    for (;;) {
        s_skip_space(t);
        if (t->cursor >= t->end || *t->cursor == '|' || *t->cursor == ')')
            break;
        if (count == S_TEMPLATE_MAX_ARGS) {
            rc = s_template_fail(t, "%s: too many arguments", function);
            break;
        }
        if (s_parse_operand(t, &args[count]) != 0) {
            rc = -1;
            break;
        }
        count++;
    }
    if (rc == 0 && piped) {
        args[count++] = *piped;
        memset(piped, 0, sizeof *piped);
    }
    if (rc == 0)
        rc = s_call(t, function, args, count, out);
    for (size_t i = 0; i < count; i++)
        s_val_clear(&args[i]);
    return rc;
}

static int s_parse_pipeline(s_template_t *t, s_val_t *out)
{
    if (s_parse_command(t, NULL, out) != 0)
        return -1;
    for (;;) {
        s_skip_space(t);
        if (t->cursor >= t->end || *t->cursor != '|')
            return 0;
        t->cursor++;
        s_val_t next;
        int rc = s_parse_command(t, out, &next);
        s_val_clear(out);
        if (rc != 0)
            return -1;
        *out = next;
    }
}

/* Finds the "}}" closing the action that starts at text (after "{{"), skipping string
   literals. Returns NULL when there is none. */
static const char *s_action_end(const char *text)
{
    for (const char *c = text; *c; c++) {
        if (*c == '"' || *c == '`') {
            char quote = *c;
            for (c++; *c && *c != quote; c++)
                if (quote == '"' && *c == '\\' && c[1])
                    c++;
            if (!*c)
                return NULL;
        } else if (c[0] == '}' && c[1] == '}')
            return c;
    }
    return NULL;
}

static char *s_expand(const char *text, const lk_labels_t *labels, double value, bool checking,
                      char *err, size_t err_size)
{
    static const lk_labels_t no_labels = {0};
    s_template_t t = {.labels = labels ? labels : &no_labels,
                      .value = value,
                      .checking = checking,
                      .err = err,
                      .err_size = err_size};
    s_buf_t out = {0};
    bool too_long = s_buf_add(&out, "", 0) != 0;
    bool failed = false;
    const char *cursor = text;
    while (!too_long && !failed && *cursor) {
        const char *open = strstr(cursor, "{{");
        if (!open) {
            too_long = s_buf_add(&out, cursor, strlen(cursor)) != 0;
            break;
        }
        const char *action = open + 2;
        const char *literal_end = open;
        if (action[0] == '-' && isspace((unsigned char)action[1])) { /* {{- trims before */
            action += 2;
            while (literal_end > cursor && isspace((unsigned char)literal_end[-1]))
                literal_end--;
        }
        if (s_buf_add(&out, cursor, (size_t)(literal_end - cursor)) != 0) {
            too_long = true;
            break;
        }
        const char *close = s_action_end(action);
        if (!close) {
            failed = true;
            snprintf(err, err_size, "unclosed action (missing '}}')");
            break;
        }
        const char *action_end = close;
        cursor = close + 2;
        if (action_end - action >= 2 && action_end[-1] == '-' &&
            isspace((unsigned char)action_end[-2])) { /* -}} trims after */
            action_end -= 2;
            while (isspace((unsigned char)*cursor))
                cursor++;
        }
        const char *first = action; /* a Go comment action produces nothing */
        while (first < action_end && isspace((unsigned char)*first))
            first++;
        if (action_end - first >= 4 && first[0] == '/' && first[1] == '*' &&
            action_end[-2] == '*' && action_end[-1] == '/')
            continue;
        t.cursor = action;
        t.end = action_end;
        t.depth = 0;
        s_val_t result;
        if (s_parse_pipeline(&t, &result) != 0) {
            failed = true;
            break;
        }
        s_skip_space(&t);
        if (t.cursor < t.end) {
            s_val_clear(&result);
            failed = true;
            s_template_fail(&t, "unexpected '%c'", *t.cursor);
            break;
        }
        char *printed = s_val_print(&t, &result);
        s_val_clear(&result);
        too_long = !printed || s_buf_add(&out, printed, strlen(printed)) != 0;
        free(printed);
    }
    if (too_long)
        snprintf(err, err_size, "expansion longer than %d bytes", RULES_EXPANSION_MAX);
    if (too_long || failed) {
        free(out.data);
        return NULL;
    }
    return out.data;
}

char *rules_expand_template(const char *text, const lk_labels_t *labels, double value, char *err,
                            size_t err_size)
{
    assert(text && err && err_size);
    err[0] = '\0';
    return s_expand(text, labels, value, false, err, err_size);
}

int rules_check_template(const char *text, char *err, size_t err_size)
{
    assert(text && err && err_size);
    err[0] = '\0';
    char *expanded = s_expand(text, NULL, 0, true, err, err_size);
    free(expanded);
    return expanded ? 0 : -1;
}
