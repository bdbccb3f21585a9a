/*  fuzz_time — RFC 3339 timestamps (lk_time_parse), in every alert format and query.

    A parsed time in years 1..9998 formats back to text that parses to the same
    millisecond (lk_time_format writes milliseconds, so finer fractions are cut by both).
*/
#include "fuzz.h"
#include "lk_time.h"

#define FUZZ_YEAR_1_MS    (-62135596800000LL) /* 0001-01-01T00:00:00Z */
#define FUZZ_YEAR_9999_MS 253370764800000LL   /* 9999-01-01T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    char *text = fuzz_cstring(data, size);
    if (!text)
        return 0;
    int64_t epoch_ms = 0;
    if (lk_time_parse(text, &epoch_ms) && epoch_ms >= FUZZ_YEAR_1_MS &&
        epoch_ms < FUZZ_YEAR_9999_MS) {
        char formatted[64];
        lk_time_format(epoch_ms, formatted, sizeof formatted);
        int64_t again = 0;
        FUZZ_CHECK(lk_time_parse(formatted, &again));
        FUZZ_CHECK(again == epoch_ms);
    }
    free(text);
    return 0;
}
