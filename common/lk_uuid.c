/*  lk_uuid — UUIDv7: 48-bit millisecond timestamp, version 7, 74 random bits (RFC 9562).

    Within one process the 12-bit rand_a field is a counter seeded per millisecond, so ids
    made in the same millisecond still sort in creation order (RFC 9562 §6.2 method 1).
*/
#include "lk_uuid.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "lk_log.h"
#include "lk_time.h"

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t s_last_ms;
static uint16_t s_counter;

/* Random bytes are drawn from the CSPRNG a few kilobytes at a time: one RAND_bytes call per
   id cost more than everything else correlate does for a new alert. The buffer is per
   thread, and a forked child draws afresh (its pid differs) so parent and child never hand
   out the same bits. */
#define S_RANDOM_POOL 4096
static __thread uint8_t s_random[S_RANDOM_POOL];
static __thread size_t s_random_used = S_RANDOM_POOL;
static __thread pid_t s_random_pid;

static void s_random_bytes(uint8_t *out, size_t size)
{
    pid_t pid = getpid();
    if (s_random_used + size > S_RANDOM_POOL || s_random_pid != pid) {
        if (RAND_bytes(s_random, S_RANDOM_POOL) != 1)
            lk_fatal("uuid: no randomness available");
        s_random_used = 0;
        s_random_pid = pid;
    }
    memcpy(out, s_random + s_random_used, size);
    s_random_used += size;
}

void lk_uuid7(char out[LK_UUID_STR_LEN + 1])
{
    uint8_t bytes[16];
    s_random_bytes(bytes, sizeof bytes);
    int64_t now = lk_now_ms();
    pthread_mutex_lock(&s_lock);
    if (now <= s_last_ms) {
        now = s_last_ms;
        if (++s_counter > 0x0fff) { /* counter exhausted: borrow the next millisecond */
            now = ++s_last_ms;
            s_counter = bytes[6] & 0x03;
        }
    } else {
        s_last_ms = now;
        s_counter = (uint16_t)(((bytes[6] & 0x03) << 8) | bytes[7]); /* leave headroom */
    }
    uint16_t counter = s_counter;
    pthread_mutex_unlock(&s_lock);

    for (int i = 0; i < 6; i++)
        bytes[i] = (uint8_t)((uint64_t)now >> (40 - 8 * i));
    bytes[6] = (uint8_t)(0x70 | ((counter >> 8) & 0x0f));
    bytes[7] = (uint8_t)(counter & 0xff);
    bytes[8] = (uint8_t)(0x80 | (bytes[8] & 0x3f));
    /* 8-4-4-4-12 lower-case hex, written by hand (snprintf was a third of the cost) */
    static const char hex[] = "0123456789abcdef";
    char *cursor = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *cursor++ = '-';
        *cursor++ = hex[bytes[i] >> 4];
        *cursor++ = hex[bytes[i] & 0x0f];
    }
    *cursor = '\0';
}

bool lk_uuid_valid(const char *text)
{
    if (!text)
        return false;
    /* not isxdigit: a locale lookup per character */
    static const bool hex[256] = {
        ['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true, ['5'] = true,
        ['6'] = true, ['7'] = true, ['8'] = true, ['9'] = true, ['a'] = true, ['b'] = true,
        ['c'] = true, ['d'] = true, ['e'] = true, ['f'] = true, ['A'] = true, ['B'] = true,
        ['C'] = true, ['D'] = true, ['E'] = true, ['F'] = true};
    /* the length first (nothing past a short text's NUL is read), then the dashes, then
       32 digits without a branch each: it runs for every id of every row stored */
    if (strnlen(text, LK_UUID_STR_LEN + 1) != LK_UUID_STR_LEN)
        return false;
    if (text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
        return false;
    static const uint8_t digits[32] = {0,  1,  2,  3,  4,  5,  6,  7,  9,  10, 11,
                                       12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25,
                                       26, 27, 28, 29, 30, 31, 32, 33, 34, 35};
    bool all = true;
    for (int i = 0; i < 32; i++)
        all &= hex[(unsigned char)text[digits[i]]];
    return all;
}
