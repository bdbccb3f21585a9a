/*  delivery — retry decisions and Retry-After parsing (see delivery.h). */
#include "delivery.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/*  Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t s_days_from_civil(int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

/*  Jan..Dec → 1..12; 0 when not a month abbreviation. */
static int s_month(const char *name)
{
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++)
        if (strncmp(name, months[i], 3) == 0 && name[3] == '\0')
            return i + 1;
    return 0;
}

static bool s_weekday(const char *name, bool long_form)
{
    static const char *days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char *long_days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                      "Friday", "Saturday", "Sunday"};
    for (int i = 0; i < 7; i++)
        if (strcmp(name, long_form ? long_days[i] : days[i]) == 0)
            return true;
    return false;
}

/*  The fields of an HTTP-date once one of its forms matched. */
typedef struct {
    char weekday[16], month[8], zone[8];
    int day, year, hour, minute, second;
} s_date_t;

/*  IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
static bool s_imf_fixdate(const char *value, s_date_t *date)
{
    int consumed = 0;
    return sscanf(value, "%3[A-Za-z], %2d %3s %4d %2d:%2d:%2d %3s%n", date->weekday, &date->day,
                  date->month, &date->year, &date->hour, &date->minute, &date->second, date->zone,
                  &consumed) == 8 &&
           (size_t)consumed == strlen(value) && s_weekday(date->weekday, false) &&
           strcmp(date->zone, "GMT") == 0;
}

/*  RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit years: RFC 9110 reads them as the
    nearest year, here 1970..2069). */
static bool s_rfc850(const char *value, s_date_t *date)
{
    int consumed = 0;
    if (sscanf(value, "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d %3s%n", date->weekday,
               &date->day, date->month, &date->year, &date->hour, &date->minute, &date->second,
               date->zone, &consumed) != 8 ||
        (size_t)consumed != strlen(value) || !s_weekday(date->weekday, true) ||
        strcmp(date->zone, "GMT") != 0)
        return false;
    date->year += date->year < 70 ? 2000 : 1900;
    return true;
}

/*  asctime: "Sun Nov  6 08:49:37 1994". */
static bool s_asctime(const char *value, s_date_t *date)
{
    int consumed = 0;
    return sscanf(value, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", date->weekday, date->month,
                  &date->day, &date->hour, &date->minute, &date->second, &date->year,
                  &consumed) == 7 &&
           (size_t)consumed == strlen(value) && s_weekday(date->weekday, false);
}

bool delivery_parse_http_date(const char *value, int64_t *epoch_ms)
{
    s_date_t date;
    memset(&date, 0, sizeof date);
    if (strlen(value) > 40 ||
        !(s_imf_fixdate(value, &date) || s_rfc850(value, &date) || s_asctime(value, &date)))
        return false;
    int month = s_month(date.month);
    if (!month || date.day < 1 || date.day > 31 || date.hour > 23 || date.minute > 59 ||
        date.second > 60 || date.year < 1970 || date.year > 9999)
        return false;
    int64_t days = s_days_from_civil(date.year, month, date.day);
    *epoch_ms = ((days * 24 + date.hour) * 60 + date.minute) * 60000LL + date.second * 1000LL;
    return true;
}

bool delivery_parse_retry_after(const char *value, int64_t now_ms, int64_t *delay_ms)
{
    if (!value)
        return false;
    while (*value == ' ' || *value == '\t')
        value++;
    char trimmed[64];
    size_t length = strlen(value);
    while (length > 0 && (value[length - 1] == ' ' || value[length - 1] == '\t' ||
                          value[length - 1] == '\r' || value[length - 1] == '\n'))
        length--;
    if (length == 0 || length >= sizeof trimmed)
        return false;
    memcpy(trimmed, value, length);
    trimmed[length] = '\0';
    bool digits = true;
    for (size_t i = 0; i < length && digits; i++)
        digits = isdigit((unsigned char)trimmed[i]);
    int64_t delay;
    if (digits) {
        if (length > 9)
            delay = DELIVERY_RETRY_AFTER_MAX_MS;
        else {
            long seconds = 0;
            for (size_t i = 0; i < length; i++)
                seconds = seconds * 10 + (trimmed[i] - '0');
            delay = seconds * 1000LL;
        }
    } else {
        int64_t at_ms;
        if (!delivery_parse_http_date(trimmed, &at_ms))
            return false;
        delay = at_ms - now_ms;
    }
    if (delay < 0)
        delay = 0;
    if (delay > DELIVERY_RETRY_AFTER_MAX_MS)
        delay = DELIVERY_RETRY_AFTER_MAX_MS;
    *delay_ms = delay;
    return true;
}

int64_t delivery_backoff_ms(uint32_t attempt, int64_t initial_ms, int64_t max_ms, uint64_t random)
{
    if (attempt == 0)
        attempt = 1;
    int64_t base = initial_ms;
    for (uint32_t i = 1; i < attempt && base < max_ms; i++)
        base *= 2;
    if (base > max_ms)
        base = max_ms;
    if (base <= 1)
        return base;
    int64_t half = base / 2;
    return half + (int64_t)(random % (uint64_t)(base - half + 1));
}

bool delivery_retryable_status(long status)
{
    return status == 408 || status == 425 || status == 429 || (status >= 500 && status <= 599);
}

delivery_outcome_t delivery_decide(long http_status, const char *retry_after, uint32_t attempt,
                                   uint32_t max_attempts, int64_t initial_ms, int64_t max_ms,
                                   int64_t now_ms, uint64_t random)
{
    delivery_outcome_t outcome = {.status = LK_NOTIFY_FAILED, .next_attempt_at_ms = 0};
    if (http_status >= 200 && http_status <= 299) {
        outcome.status = LK_NOTIFY_SENT;
        return outcome;
    }
    bool retryable = http_status == 0 || delivery_retryable_status(http_status);
    if (!retryable || attempt >= max_attempts)
        return outcome;
    int64_t delay_ms;
    if (!delivery_parse_retry_after(retry_after, now_ms, &delay_ms))
        delay_ms = delivery_backoff_ms(attempt, initial_ms, max_ms, random);
    outcome.status = LK_NOTIFY_RETRY;
    outcome.next_attempt_at_ms = now_ms + delay_ms;
    return outcome;
}
