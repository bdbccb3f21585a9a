/*  fuzz_incident — the incident map of the events outbox (lk_incident_decode).

    store reads these back from its own table and consumers receive them in events; a
    decodable incident must re-encode to a fixed point like a message does (fuzz_msg.c).
*/
#include <jansson.h>

#include "fuzz.h"
#include "lk_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    lk_incident_t incident;
    memset(&incident, 0, sizeof incident);
    char err[256] = "";
    if (lk_incident_decode(data, size, &incident, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0] != '\0');
        lk_incident_clear(&incident);
        return 0;
    }
    char *first = NULL, *second = NULL;
    size_t first_size = 0, second_size = 0;
    FUZZ_CHECK(lk_incident_encode(&incident, &first, &first_size) == 0);
    lk_incident_clear(&incident);
    int rc = lk_incident_decode(first, first_size, &incident, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "a re-encoded incident does not decode: %s\n", err);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(lk_incident_encode(&incident, &second, &second_size) == 0);
    FUZZ_CHECK(first_size == second_size && memcmp(first, second, first_size) == 0);
    /* the tap renders it too */
    char *json = lk_msgpack_to_json(first, first_size);
    FUZZ_CHECK(json != NULL);
    free(json);
    lk_incident_clear(&incident);
    free(first);
    free(second);
    return 0;
}
