/*  lk_match — Alertmanager label matchers (see lk_match.h).

    The parser is a small hand-written scanner over `name op value` items separated by
    commas; quoted values use the escapes Go's strconv.Unquote accepts for ASCII. A
    matchset owns copies of its matchers and one compiled regex_t per regex matcher;
    regexec on a compiled pattern is thread-safe, so a set is shared read-only.
*/
#include "lk_match.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lk_matchset_t {
    lk_matcher_t *matchers;
    size_t count;
    regex_t *regexes; /* [count]; compiled only where matchers[i].is_regex */
    size_t compiled;  /* matchers [0, compiled) are checked and their regexes compiled */
};

/* ---- parsing ----------------------------------------------------------------------------- */

static bool s_name_valid(const char *name, size_t length)
{
    if (length == 0 || length > LK_MATCHER_NAME_MAX ||
        !(isalpha((unsigned char)name[0]) || name[0] == '_'))
        return false;
    for (size_t i = 1; i < length; i++)
        if (!(isalnum((unsigned char)name[i]) || name[i] == '_'))
            return false;
    return true;
}

static const char *s_skip_blank(const char *at)
{
    while (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r')
        at++;
    return at;
}

/* Reads a double-quoted value starting at *at (on the quote) into a heap string. Returns
   NULL with err set when unterminated or badly escaped (or on OOM). */
static char *s_read_quoted(const char **at, char *err, size_t err_size)
{
    const char *cursor = *at + 1;
    size_t capacity = strlen(cursor) + 1;
    char *value = malloc(capacity);
    if (!value) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    size_t length = 0;
    while (*cursor && *cursor != '"') {
        char c = *cursor++;
        if (c == '\\') {
            char escaped = *cursor++;
            switch (escaped) {
            case '"':
            case '\\':
                c = escaped;
                break;
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            default:
                snprintf(err, err_size, "unknown escape '\\%c' in a quoted value",
                         escaped ? escaped : ' ');
                free(value);
                return NULL;
            }
        }
        value[length++] = c;
    }
    if (*cursor != '"') {
        snprintf(err, err_size, "unterminated quoted value");
        free(value);
        return NULL;
    }
    value[length] = '\0';
    *at = cursor + 1;
    return value;
}

/* Reads a bare value up to a comma, a closing brace or the end, trimmed. */
static char *s_read_bare(const char **at, char *err, size_t err_size)
{
    const char *start = *at;
    const char *end = start + strcspn(start, ",}");
    const char *stop = end;
    while (stop > start && isspace((unsigned char)stop[-1]))
        stop--;
    char *value = strndup(start, (size_t)(stop - start));
    if (!value)
        snprintf(err, err_size, "out of memory");
    *at = end;
    return value;
}

/* Parses one `name op value` at *at into matcher. Returns 0 or -1 with err set. */
static int s_parse_one(const char **at, lk_matcher_t *matcher, char *err, size_t err_size)
{
    const char *cursor = s_skip_blank(*at);
    const char *name = cursor;
    while (isalnum((unsigned char)*cursor) || *cursor == '_')
        cursor++;
    size_t name_length = (size_t)(cursor - name);
    if (!s_name_valid(name, name_length)) {
        snprintf(err, err_size, "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) at '%.20s'", name);
        return -1;
    }
    cursor = s_skip_blank(cursor);
    bool is_equal, is_regex;
    if (cursor[0] == '=' && cursor[1] == '~') {
        is_equal = true;
        is_regex = true;
        cursor += 2;
    } else if (cursor[0] == '!' && cursor[1] == '~') {
        is_equal = false;
        is_regex = true;
        cursor += 2;
    } else if (cursor[0] == '!' && cursor[1] == '=') {
        is_equal = false;
        is_regex = false;
        cursor += 2;
    } else if (cursor[0] == '=') {
        is_equal = true;
        is_regex = false;
        cursor += 1;
    } else {
        snprintf(err, err_size, "expected one of =, !=, =~, !~ after '%.*s'", (int)name_length,
                 name);
        return -1;
    }
    cursor = s_skip_blank(cursor);
    char *value = *cursor == '"' ? s_read_quoted(&cursor, err, err_size)
                                 : s_read_bare(&cursor, err, err_size);
    if (!value)
        return -1;
    if (strlen(value) > LK_MATCHER_VALUE_MAX) {
        snprintf(err, err_size, "value of '%.*s' longer than %d bytes", (int)name_length, name,
                 LK_MATCHER_VALUE_MAX);
        free(value);
        return -1;
    }
    matcher->name = strndup(name, name_length);
    if (!matcher->name) {
        free(value);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    matcher->value = value;
    matcher->is_equal = is_equal;
    matcher->is_regex = is_regex;
    *at = cursor;
    return 0;
}

int lk_matchers_parse(const char *text, lk_matcher_t **matchers, size_t *count, char *err,
                      size_t err_size)
{
    const char *at = s_skip_blank(text ? text : "");
    bool braced = *at == '{';
    if (braced)
        at = s_skip_blank(at + 1);
    lk_matcher_t *parsed = NULL;
    size_t parsed_count = 0;
    while (*at && !(braced && *at == '}')) {
        lk_matcher_t *grown = realloc(parsed, (parsed_count + 1) * sizeof *grown);
        if (!grown) {
            snprintf(err, err_size, "out of memory");
            goto failed;
        }
        parsed = grown;
        memset(&parsed[parsed_count], 0, sizeof *parsed);
        if (s_parse_one(&at, &parsed[parsed_count], err, err_size) != 0)
            goto failed;
        parsed_count++;
        at = s_skip_blank(at);
        if (*at == ',')
            at = s_skip_blank(at + 1);
        else if (*at && !(braced && *at == '}')) {
            snprintf(err, err_size, "expected ',' between matchers at '%.20s'", at);
            goto failed;
        }
    }
    if (braced) {
        if (*at != '}') {
            snprintf(err, err_size, "missing closing '}'");
            goto failed;
        }
        at = s_skip_blank(at + 1);
        if (*at) {
            snprintf(err, err_size, "unexpected text after '}': '%.20s'", at);
            goto failed;
        }
    }
    if (parsed_count == 0) {
        snprintf(err, err_size, "expected at least one matcher such as name=\"value\"");
        goto failed;
    }
    lk_matcher_t *grown = realloc(*matchers, (*count + parsed_count) * sizeof *grown);
    if (!grown) {
        snprintf(err, err_size, "out of memory");
        goto failed;
    }
    memcpy(grown + *count, parsed, parsed_count * sizeof *parsed);
    *matchers = grown;
    *count += parsed_count;
    free(parsed);
    return 0;

failed:
    lk_matchers_clear(&parsed, &parsed_count);
    return -1;
}

/* ---- compiling and matching -------------------------------------------------------------- */

/* Compiles value anchored to the whole string. Returns 0 or regcomp's code (message in
   err). */
static int s_compile(regex_t *regex, const char *value, char *err, size_t err_size)
{
    size_t length = strlen(value);
    char *anchored = malloc(length + 5);
    if (!anchored) {
        snprintf(err, err_size, "out of memory");
        return REG_ESPACE;
    }
    snprintf(anchored, length + 5, "^(%s)$", value);
    int rc = regcomp(regex, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0) {
        char reason[128];
        regerror(rc, regex, reason, sizeof reason);
        snprintf(err, err_size, "regex \"%.60s\": %s", value, reason);
    }
    return rc;
}

int lk_matcher_check(const lk_matcher_t *matcher, char *err, size_t err_size)
{
    if (!matcher->name || !s_name_valid(matcher->name, strlen(matcher->name))) {
        snprintf(err, err_size, "matcher name '%.40s' is not a label name",
                 matcher->name ? matcher->name : "");
        return -1;
    }
    if (!matcher->value || strlen(matcher->value) > LK_MATCHER_VALUE_MAX) {
        snprintf(err, err_size, "matcher '%s': value missing or longer than %d bytes",
                 matcher->name, LK_MATCHER_VALUE_MAX);
        return -1;
    }
    if (matcher->is_regex) {
        regex_t regex;
        if (s_compile(&regex, matcher->value, err, err_size) != 0)
            return -1;
        regfree(&regex);
    }
    return 0;
}

lk_matchset_t *lk_matchset_new(const lk_matcher_t *matchers, size_t count, char *err,
                               size_t err_size)
{
    lk_matchset_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    if (count) {
        self->regexes = calloc(count, sizeof(regex_t));
        if (!self->regexes || lk_matchers_copy(&self->matchers, matchers, count) != 0) {
            snprintf(err, err_size, "out of memory");
            free(self->regexes);
            free(self);
            return NULL;
        }
    }
    self->count = count;
    for (size_t i = 0; i < count; i++) {
        const lk_matcher_t *matcher = &self->matchers[i];
        if (!matcher->name || !s_name_valid(matcher->name, strlen(matcher->name)) ||
            !matcher->value || strlen(matcher->value) > LK_MATCHER_VALUE_MAX) {
            lk_matcher_check(matcher, err, err_size);
            lk_matchset_destroy(&self);
            return NULL;
        }
        if (matcher->is_regex && s_compile(&self->regexes[i], matcher->value, err, err_size)) {
            lk_matchset_destroy(&self);
            return NULL;
        }
        self->compiled = i + 1;
    }
    return self;
}

void lk_matchset_destroy(lk_matchset_t **self_p)
{
    lk_matchset_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->compiled; i++)
        if (self->matchers[i].is_regex)
            regfree(&self->regexes[i]);
    free(self->regexes);
    lk_matchers_clear(&self->matchers, &self->count);
    free(self);
    *self_p = NULL;
}

bool lk_matcher_matches_value(const lk_matcher_t *matcher, const char *value)
{
    bool equal = strcmp(value ? value : "", matcher->value) == 0;
    return matcher->is_equal ? equal : !equal;
}

bool lk_matchset_matches(const lk_matchset_t *self, const lk_labels_t *labels)
{
    for (size_t i = 0; i < self->count; i++) {
        const lk_matcher_t *matcher = &self->matchers[i];
        const char *value = lk_labels_get(labels, matcher->name);
        bool match;
        if (matcher->is_regex)
            match = regexec(&self->regexes[i], value ? value : "", 0, NULL, 0) == 0;
        else
            match = strcmp(value ? value : "", matcher->value) == 0;
        if (match != matcher->is_equal)
            return false;
    }
    return true;
}

const lk_matcher_t *lk_matchset_matchers(const lk_matchset_t *self, size_t *count)
{
    *count = self->count;
    return self->matchers;
}

/* ---- rendering --------------------------------------------------------------------------- */

char *lk_matchers_format(const lk_matcher_t *matchers, size_t count)
{
    size_t capacity = 3;
    for (size_t i = 0; i < count; i++)
        capacity += strlen(matchers[i].name) + 4 * strlen(matchers[i].value) + 8;
    char *text = malloc(capacity);
    if (!text)
        return NULL;
    size_t length = 0;
    text[length++] = '{';
    for (size_t i = 0; i < count; i++) {
        const lk_matcher_t *matcher = &matchers[i];
        const char *op = matcher->is_regex ? (matcher->is_equal ? "=~" : "!~")
                                           : (matcher->is_equal ? "=" : "!=");
        length += (size_t)snprintf(text + length, capacity - length, "%s%s%s\"", i ? "," : "",
                                   matcher->name, op);
        for (const unsigned char *p = (const unsigned char *)matcher->value; *p; p++) {
            if (*p == '"' || *p == '\\') {
                text[length++] = '\\';
                text[length++] = (char)*p;
            } else if (*p == '\n') {
                memcpy(text + length, "\\n", 2);
                length += 2;
            } else if (*p < 0x20 || *p == 0x7f)
                length += (size_t)snprintf(text + length, capacity - length, "\\x%02x", *p);
            else
                text[length++] = (char)*p;
        }
        text[length++] = '"';
    }
    text[length++] = '}';
    text[length] = '\0';
    return text;
}
