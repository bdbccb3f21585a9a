/*  lk_uuid — UUIDv7 generation (time-ordered, RFC 9562) and UUID text validation. */
#ifndef LK_UUID_H
#define LK_UUID_H

#include <stdbool.h>

#define LK_UUID_STR_LEN 36 /* without the terminating NUL */

/* Writes a new lower-case UUIDv7 ("0190f...-....-7...-....-............") into out[37]. */
void lk_uuid7(char out[LK_UUID_STR_LEN + 1]);
/* True when text is a canonical 8-4-4-4-12 hex UUID (any version, either case). */
bool lk_uuid_valid(const char *text);

#endif
