/*  tz — TZif reader and POSIX TZ rules (see tz.h).

    A zone is its transitions (UTC instants, each with the index of the local time type that
    starts there), its local time types (offset east of UTC, DST flag) and, from version 2
    files on, the footer's POSIX TZ string, which extends the table past its last transition.
    Before the first transition the first local time type applies (RFC 8536 §3.2).
*/
#include "tz.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FILE_MAX     (512 * 1024) /* larger is not a zoneinfo file */
#define S_NAME_MAX     64
#define S_DAY_S        86400
#define S_DEFAULT_RULE "M3.2.0,M11.1.0" /* POSIX's default when a DST name has no rule */

/* One end of a DST period in a POSIX rule: Jn, n or Mm.w.d, plus a local time. */
typedef struct {
    char kind; /* 'J', 'N' or 'M' */
    int day;   /* J: 1..365 (no Feb 29), N: 0..365 */
    int month, week, weekday;
    int32_t time_s; /* local time of day of the change, may be negative or past 24h */
} s_rule_date_t;

typedef struct {
    bool present;
    int32_t std_utoff_s; /* east of UTC */
    bool has_dst;
    int32_t dst_utoff_s;
    s_rule_date_t start, end;
} s_rule_t;

struct tz_t {
    int64_t *times; /* transition instants, ascending */
    uint8_t *type_of;
    size_t count;
    int32_t *utoff_s; /* per local time type */
    size_t type_count;
    s_rule_t rule; /* the footer, when present */
};

/* ---- calendar -------------------------------------------------------------------------- */

static int64_t s_floor_div(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/*  Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t s_days_from_civil(int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = s_floor_div(year, 400);
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

/*  The year of a day number. */
static int64_t s_year_of_day(int64_t days)
{
    days += 719468;
    int64_t era = s_floor_div(days, 146097);
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_index = (5 * day_of_year + 2) / 153;
    return year_of_era + era * 400 + (month_index >= 10);
}

static bool s_leap(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int s_month_length(int64_t year, int month)
{
    static const int lengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return lengths[month - 1] + (month == 2 && s_leap(year));
}

/*  The day number a rule date falls on in year. */
static int64_t s_rule_day(const s_rule_date_t *date, int64_t year)
{
    int64_t january_first = s_days_from_civil(year, 1, 1);
    if (date->kind == 'J')
        return january_first + date->day - 1 + (s_leap(year) && date->day >= 60);
    if (date->kind == 'N')
        return january_first + date->day;
    int64_t first = s_days_from_civil(year, date->month, 1);
    int first_weekday = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    int64_t day = first + (date->weekday - first_weekday + 7) % 7 + 7 * (date->week - 1);
    int64_t last = first + s_month_length(year, date->month) - 1;
    while (day > last)
        day -= 7;
    return day;
}

/* ---- POSIX TZ strings ------------------------------------------------------------------ */

/*  A zone abbreviation: 3+ letters, or <...> of letters, digits, '+' and '-'. */
static bool s_posix_name(const char **cursor)
{
    const char *c = *cursor;
    size_t length = 0;
    if (*c == '<') {
        c++;
        while (*c && *c != '>' && (isalnum((unsigned char)*c) || *c == '+' || *c == '-')) {
            c++;
            length++;
        }
        if (*c != '>' || length < 3)
            return false;
        c++;
    } else {
        while (isalpha((unsigned char)*c)) {
            c++;
            length++;
        }
        if (length < 3)
            return false;
    }
    *cursor = c;
    return true;
}

/*  [+-]hh[:mm[:ss]] with hours up to max_hours; seconds, sign applied. */
static bool s_posix_time(const char **cursor, int max_hours, int32_t *seconds)
{
    const char *c = *cursor;
    int sign = 1;
    if (*c == '+' || *c == '-')
        sign = *c++ == '-' ? -1 : 1;
    int parts[3] = {0, 0, 0};
    for (int part = 0; part < 3; part++) {
        if (!isdigit((unsigned char)*c))
            return false;
        int value = 0, digits = 0;
        while (isdigit((unsigned char)*c) && digits < 3) {
            value = value * 10 + (*c++ - '0');
            digits++;
        }
        parts[part] = value;
        if (*c != ':')
            break;
        c++;
    }
    if (parts[0] > max_hours || parts[1] > 59 || parts[2] > 59)
        return false;
    *seconds = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    *cursor = c;
    return true;
}

/*  A number of at most max. */
static bool s_posix_number(const char **cursor, int min, int max, int *out)
{
    const char *c = *cursor;
    int value = 0, digits = 0;
    while (isdigit((unsigned char)*c) && digits < 4) {
        value = value * 10 + (*c++ - '0');
        digits++;
    }
    if (digits == 0 || value < min || value > max)
        return false;
    *out = value;
    *cursor = c;
    return true;
}

/*  ,date[/time] */
static bool s_posix_rule_date(const char **cursor, s_rule_date_t *date)
{
    const char *c = *cursor;
    if (*c++ != ',')
        return false;
    if (*c == 'M') {
        c++;
        date->kind = 'M';
        if (!s_posix_number(&c, 1, 12, &date->month) || *c++ != '.' ||
            !s_posix_number(&c, 1, 5, &date->week) || *c++ != '.' ||
            !s_posix_number(&c, 0, 6, &date->weekday))
            return false;
    } else if (*c == 'J') {
        c++;
        date->kind = 'J';
        if (!s_posix_number(&c, 1, 365, &date->day))
            return false;
    } else {
        date->kind = 'N';
        if (!s_posix_number(&c, 0, 365, &date->day))
            return false;
    }
    date->time_s = 2 * 3600;
    if (*c == '/') {
        c++;
        if (!s_posix_time(&c, 167, &date->time_s))
            return false;
    }
    *cursor = c;
    return true;
}

/*  std offset [dst [offset] [,start[/time],end[/time]]] */
static bool s_posix_parse(const char *text, s_rule_t *rule)
{
    memset(rule, 0, sizeof *rule);
    const char *c = text;
    int32_t offset_s;
    if (!s_posix_name(&c) || !s_posix_time(&c, 24, &offset_s))
        return false;
    rule->std_utoff_s = -offset_s; /* POSIX offsets are west of UTC */
    if (*c) {
        if (!s_posix_name(&c))
            return false;
        rule->has_dst = true;
        rule->dst_utoff_s = rule->std_utoff_s + 3600;
        if (*c && *c != ',') {
            if (!s_posix_time(&c, 24, &offset_s))
                return false;
            rule->dst_utoff_s = -offset_s;
        }
        const char *rules = *c ? c : "," S_DEFAULT_RULE;
        if (!s_posix_rule_date(&rules, &rule->start) || !s_posix_rule_date(&rules, &rule->end) ||
            *rules)
            return false;
    }
    rule->present = true;
    return true;
}

/*  Offset east of UTC at utc_s by the rule. */
static int32_t s_rule_offset(const s_rule_t *rule, int64_t utc_s)
{
    if (!rule->has_dst)
        return rule->std_utoff_s;
    int64_t year = s_year_of_day(s_floor_div(utc_s + rule->std_utoff_s, S_DAY_S));
    int64_t start =
        s_rule_day(&rule->start, year) * S_DAY_S + rule->start.time_s - rule->std_utoff_s;
    int64_t end = s_rule_day(&rule->end, year) * S_DAY_S + rule->end.time_s - rule->dst_utoff_s;
    bool dst = start < end ? (utc_s >= start && utc_s < end) : !(utc_s >= end && utc_s < start);
    return dst ? rule->dst_utoff_s : rule->std_utoff_s;
}

/* ---- TZif ------------------------------------------------------------------------------ */

static uint32_t s_be32(const unsigned char *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
}

static int64_t s_be64(const unsigned char *bytes)
{
    return (int64_t)((uint64_t)s_be32(bytes) << 32 | s_be32(bytes + 4));
}

/*  The counts of one TZif header. */
typedef struct {
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} s_header_t;

static bool s_header(const unsigned char *bytes, size_t size, s_header_t *header, char *version)
{
    if (size < 44 || memcmp(bytes, "TZif", 4) != 0)
        return false;
    *version = (char)bytes[4];
    header->isutcnt = s_be32(bytes + 20);
    header->isstdcnt = s_be32(bytes + 24);
    header->leapcnt = s_be32(bytes + 28);
    header->timecnt = s_be32(bytes + 32);
    header->typecnt = s_be32(bytes + 36);
    header->charcnt = s_be32(bytes + 40);
    /* RFC 8536 §3.1: at least one type; the indicator counts are 0 or typecnt */
    return header->typecnt > 0 && header->typecnt <= 256 &&
           (header->isutcnt == 0 || header->isutcnt == header->typecnt) &&
           (header->isstdcnt == 0 || header->isstdcnt == header->typecnt) &&
           header->timecnt <= 100000 && header->leapcnt <= 10000 && header->charcnt <= 10000;
}

/*  Bytes of a data block with times of time_size bytes. */
static size_t s_block_size(const s_header_t *header, size_t time_size)
{
    return (size_t)header->timecnt * time_size + header->timecnt + (size_t)header->typecnt * 6 +
           header->charcnt + (size_t)header->leapcnt * (time_size + 4) + header->isstdcnt +
           header->isutcnt;
}

tz_t *tz_parse(const void *data, size_t size)
{
    const unsigned char *bytes = data;
    s_header_t header;
    char version;
    if (!bytes || !s_header(bytes, size, &header, &version))
        return NULL;
    size_t time_size = 4;
    size_t block = 44;
    size_t v1_size = s_block_size(&header, 4);
    if (v1_size > size - 44)
        return NULL;
    if (version >= '2') {
        /* the 64-bit block follows the version 1 one, with its own header */
        size_t second = 44 + v1_size;
        if (!s_header(bytes + second, size - second, &header, &version))
            return NULL;
        block = second + 44;
        time_size = 8;
        if (s_block_size(&header, 8) > size - block)
            return NULL;
    }
    tz_t *zone = calloc(1, sizeof *zone);
    if (!zone)
        return NULL;
    zone->count = header.timecnt;
    zone->type_count = header.typecnt;
    zone->times = calloc(header.timecnt ? header.timecnt : 1, sizeof *zone->times);
    zone->type_of = calloc(header.timecnt ? header.timecnt : 1, 1);
    zone->utoff_s = calloc(header.typecnt, sizeof *zone->utoff_s);
    if (!zone->times || !zone->type_of || !zone->utoff_s) {
        tz_destroy(&zone);
        return NULL;
    }
    const unsigned char *cursor = bytes + block;
    for (size_t i = 0; i < header.timecnt; i++, cursor += time_size) {
        zone->times[i] = time_size == 8 ? s_be64(cursor) : (int32_t)s_be32(cursor);
        if (i > 0 && zone->times[i] <= zone->times[i - 1]) {
            tz_destroy(&zone);
            return NULL;
        }
    }
    for (size_t i = 0; i < header.timecnt; i++, cursor++) {
        if (*cursor >= header.typecnt) {
            tz_destroy(&zone);
            return NULL;
        }
        zone->type_of[i] = *cursor;
    }
    for (size_t i = 0; i < header.typecnt; i++, cursor += 6) {
        int32_t offset = (int32_t)s_be32(cursor);
        if (offset <= -25 * 3600 || offset >= 26 * 3600) {
            tz_destroy(&zone);
            return NULL;
        }
        zone->utoff_s[i] = offset;
    }
    if (time_size == 8) {
        /* the footer: "\n" POSIX-TZ "\n" after the 64-bit block */
        const unsigned char *footer = bytes + block + s_block_size(&header, 8);
        const unsigned char *end = bytes + size;
        if (footer < end && *footer == '\n') {
            const unsigned char *close = memchr(footer + 1, '\n', (size_t)(end - footer - 1));
            size_t length = close ? (size_t)(close - footer - 1) : 0;
            if (close && length > 0 && length < 128) {
                char text[128];
                memcpy(text, footer + 1, length);
                text[length] = '\0';
                s_posix_parse(text, &zone->rule); /* an unusable rule leaves the table alone */
            }
        }
    }
    return zone;
}

void tz_destroy(tz_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tz_t *self = *self_p;
    free(self->times);
    free(self->type_of);
    free(self->utoff_s);
    free(self);
    *self_p = NULL;
}

int32_t tz_offset_s(const tz_t *zone, int64_t utc_s)
{
    if (!zone)
        return 0;
    if (zone->count == 0 || utc_s < zone->times[0]) {
        if (zone->count == 0 && zone->rule.present)
            return s_rule_offset(&zone->rule, utc_s);
        return zone->utoff_s[0];
    }
    if (utc_s >= zone->times[zone->count - 1] && zone->rule.present)
        return s_rule_offset(&zone->rule, utc_s);
    size_t low = 0, high = zone->count; /* the last transition at or before utc_s */
    while (high - low > 1) {
        size_t middle = low + (high - low) / 2;
        if (zone->times[middle] <= utc_s)
            low = middle;
        else
            high = middle;
    }
    return zone->utoff_s[zone->type_of[low]];
}

int64_t tz_local_to_utc_s(const tz_t *zone, int64_t local_s)
{
    /* offsets a day either side: DST changes are far more than two days apart */
    int32_t before = tz_offset_s(zone, local_s - S_DAY_S);
    int32_t after = tz_offset_s(zone, local_s + S_DAY_S);
    int64_t first = local_s - before, second = local_s - after;
    bool first_ok = tz_offset_s(zone, first) == before;
    bool second_ok = tz_offset_s(zone, second) == after;
    if (first_ok && second_ok)
        return first < second ? first : second; /* repeated hour: the earlier */
    if (first_ok)
        return first;
    if (second_ok)
        return second;
    return first; /* skipped hour: as if the clock had not jumped */
}

/* ---- the cache ------------------------------------------------------------------------- */

typedef struct s_cached_t {
    char name[S_NAME_MAX + 1];
    tz_t *zone;
    struct s_cached_t *next;
} s_cached_t;

static pthread_mutex_t s_cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static s_cached_t *s_cache;

/*  A zone name is a relative path of ordinary characters below the zoneinfo folder. */
static bool s_name_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length > S_NAME_MAX || name[0] == '/' || strstr(name, ".."))
        return false;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("/_+-", *c))
            return false;
    return true;
}

/*  Reads and parses the zone file; UTC exists even without one. */
static tz_t *s_load(const char *name)
{
    const char *dir = getenv("TZDIR");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    tz_t *zone = NULL;
    FILE *file = fopen(path, "rb");
    if (file) {
        unsigned char *data = malloc(S_FILE_MAX);
        size_t size = data ? fread(data, 1, S_FILE_MAX, file) : 0;
        if (data && size < S_FILE_MAX)
            zone = tz_parse(data, size);
        free(data);
        fclose(file);
    }
    if (!zone && strcmp(name, "UTC") == 0 && (zone = calloc(1, sizeof *zone))) {
        zone->type_count = 1;
        zone->utoff_s = calloc(1, sizeof *zone->utoff_s);
        if (!zone->utoff_s)
            tz_destroy(&zone);
    }
    return zone;
}

const tz_t *tz_get(const char *name)
{
    if (!name || !s_name_valid(name))
        return NULL;
    pthread_mutex_lock(&s_cache_mutex);
    s_cached_t *entry = s_cache;
    while (entry && strcmp(entry->name, name) != 0)
        entry = entry->next;
    if (!entry) {
        tz_t *zone = s_load(name);
        if (zone && (entry = calloc(1, sizeof *entry))) {
            snprintf(entry->name, sizeof entry->name, "%s", name);
            entry->zone = zone;
            entry->next = s_cache;
            s_cache = entry;
        } else
            tz_destroy(&zone);
    }
    const tz_t *found = entry ? entry->zone : NULL;
    pthread_mutex_unlock(&s_cache_mutex);
    return found;
}
