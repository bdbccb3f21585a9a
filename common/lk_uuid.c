/*  lk_uuid — UUIDv7: 48-bit millisecond timestamp, version 7, 74 random bits (RFC 9562).

    Within one process the 12-bit rand_a field is a counter seeded per millisecond, so ids
    made in the same millisecond still sort in creation order (RFC 9562 §6.2 method 1).
*/
#include "lk_uuid.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <openssl/rand.h>

#include "lk_log.h"
#include "lk_time.h"

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t s_last_ms;
static uint16_t s_counter;

void lk_uuid7(char out[LK_UUID_STR_LEN + 1])
{
    uint8_t bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        lk_fatal("uuid: no randomness available");
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
    snprintf(out, LK_UUID_STR_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
             bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
             bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
}

bool lk_uuid_valid(const char *text)
{
    if (!text)
        return false;
    for (int i = 0; i < LK_UUID_STR_LEN; i++) {
        char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!isxdigit((unsigned char)c)) {
            return false;
        }
    }
    return text[LK_UUID_STR_LEN] == '\0';
}
