/*  fuzz_msg — the internal wire protocol (lk_msg_decode) and lookout-tap's renderer.

    Anything a peer can put in a frame goes through lk_msg_decode. A message that decodes
    must encode again, and that encoding must be a fixed point: decoding and re-encoding it
    gives the same bytes (nothing is lost or invented on the way through a process).
    lk_msgpack_to_json must render any msgpack it accepts as valid JSON.
*/
#include <jansson.h>

#include "fuzz.h"
#include "lk_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    char *json = lk_msgpack_to_json(data, size);
    if (json) {
        json_t *parsed = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        FUZZ_CHECK(parsed != NULL);
        json_decref(parsed);
        free(json);
    }

    lk_msg_t msg;
    char err[256] = "";
    if (lk_msg_decode(data, size, &msg, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0] != '\0' && msg.type == LK_MSG_INVALID);
        return 0;
    }
    FUZZ_CHECK(msg.type > LK_MSG_INVALID && msg.type < LK_MSG_TYPE_COUNT);
    char *first = NULL, *second = NULL;
    size_t first_size = 0, second_size = 0;
    FUZZ_CHECK(lk_msg_encode(&msg, &first, &first_size) == 0);
    lk_msg_clear(&msg);
    int rc = lk_msg_decode(first, first_size, &msg, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "a re-encoded message does not decode: %s\n", err);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(lk_msg_encode(&msg, &second, &second_size) == 0);
    FUZZ_CHECK(first_size == second_size && memcmp(first, second, first_size) == 0);
    lk_msg_clear(&msg);
    free(first);
    free(second);
    return 0;
}
