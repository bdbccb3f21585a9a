/*  fuzz_rules_response — Prometheus /api/v1/query responses as lookout-rules reads them
    (rules_parse_response). The query API is another service's output: a wrong or hostile
    answer must fail the evaluation cleanly. A parsed result gives label sets that are
    valid sets (sorted, unique names) and at most RULES_MAX_SERIES samples.
*/
#include "fuzz.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    rules_result_t result;
    memset(&result, 0, sizeof result);
    char err[512] = "";
    if (rules_parse_response((const char *)data, size, &result, err, sizeof err) == 0) {
        FUZZ_CHECK(result.count <= RULES_MAX_SERIES);
        for (size_t i = 0; i < result.count; i++) {
            const lk_labels_t *labels = &result.samples[i].labels;
            for (size_t j = 0; j < labels->count; j++) {
                FUZZ_CHECK(labels->items[j].name && labels->items[j].value);
                if (j > 0)
                    FUZZ_CHECK(strcmp(labels->items[j - 1].name, labels->items[j].name) < 0);
            }
        }
        rules_result_clear(&result);
        FUZZ_CHECK(result.samples == NULL && result.count == 0);
    } else {
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err));
        FUZZ_CHECK(result.samples == NULL);
    }
    return 0;
}
