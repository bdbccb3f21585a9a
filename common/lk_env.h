/*  lk_env — typed reads of environment variables.

    Every variable a program reads is documented in env.example; these helpers give one
    behaviour for defaults and bad values: a malformed or out-of-range value is a fatal
    configuration error naming the variable (never silently replaced by the default).
*/
#ifndef LK_ENV_H
#define LK_ENV_H

#include <stdbool.h>
#include <stdint.h>

/* Returns the value, or fallback when unset or empty. The string belongs to the environment. */
const char *lk_env_str(const char *name, const char *fallback);
/* Integer in [min, max]; fallback when unset; exits via lk_fatal when malformed/out of range. */
int64_t lk_env_int(const char *name, int64_t fallback, int64_t min, int64_t max);
/* true for 1/true/yes/on, false for 0/false/no/off; fallback when unset; fatal otherwise. */
bool lk_env_bool(const char *name, bool fallback);
/* Reads a secret from NAME or from the file named by NAME_FILE (trailing newline stripped).
   Returns a heap string the caller frees, or NULL when neither is set. */
char *lk_env_secret(const char *name);

#endif
