/*  fuzz — what every fuzz target of fuzz/ shares.

    Each target defines LLVMFuzzerTestOneInput; libFuzzer drives it in the fuzzing build
    (LOOKOUT_FUZZ=ON, clang) and fuzz_replay.c feeds it the checked-in corpus in the normal
    build, so the same code runs in both. A target reports a finding by crashing: a
    sanitizer report, or FUZZ_CHECK failing on a property the code promises (a decoded
    message encodes again, a valid alert survives the wire).
*/
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the failed property and where, so libFuzzer saves the input. */
#define FUZZ_CHECK(condition)                                                                      \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Silences the log (parsers may warn about what they reject) once per process. */
static inline void fuzz_init(void)
{
    static int done;
    if (!done) {
        lk_log_init("fuzz", LK_LOG_FATAL);
        done = 1;
    }
}

/* A NUL-terminated copy of data[0..size) for the C-string entry points, or NULL on OOM.
   Embedded NULs stay: the function under test sees the text up to the first one. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
    }
    return text;
}

#endif
