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

/* 0x80 in every byte of x (all below 0x80) that lies in [lo, hi], 0 in the others: adding
   0x80 - lo sets a byte's top bit when it is >= lo, adding 0x7f - hi when it is > hi, and
   with every byte below 0x80 no sum carries into the next byte. */
static inline uint64_t s_bytes_in(uint64_t x, uint8_t lo, uint8_t hi)
{
    const uint64_t ones = 0x0101010101010101ULL, tops = 0x8080808080808080ULL;
    return (x + (0x80 - lo) * ones) & ~(x + (0x7f - hi) * ones) & tops;
}

/* True when the 8 bytes of x are all hex digits (either case). */
static inline bool s_hex8(uint64_t x)
{
    const uint64_t tops = 0x8080808080808080ULL;
    if (x & tops)
        return false;
    uint64_t lower = x | 0x2020202020202020ULL; /* 'A'-'F' → 'a'-'f'; digits keep 0x30-0x39 */
    return (s_bytes_in(x, '0', '9') | s_bytes_in(lower, 'a', 'f')) == tops;
}

bool lk_uuid_valid(const char *text)
{
    if (!text)
        return false;
    /* the length first (nothing past a short text's NUL is read), then the dashes, then the
       32 digits eight at a time (not isxdigit: a locale lookup per character): it runs for
       every id of every message decoded and every row stored */
    if (strnlen(text, LK_UUID_STR_LEN + 1) != LK_UUID_STR_LEN)
        return false;
    if (text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
        return false;
    /* the groups 8-4-4-4-12 as four words of eight digits (byte order does not matter) */
    uint64_t words[4];
    memcpy(&words[0], text, 8);
    memcpy((char *)&words[1], text + 9, 4);
    memcpy((char *)&words[1] + 4, text + 14, 4);
    memcpy((char *)&words[2], text + 19, 4);
    memcpy((char *)&words[2] + 4, text + 24, 4);
    memcpy(&words[3], text + 28, 8);
    return s_hex8(words[0]) && s_hex8(words[1]) && s_hex8(words[2]) && s_hex8(words[3]);
}
