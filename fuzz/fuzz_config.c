/*  fuzz_config — the YAML configuration file (lk_config_load_string).

    Loading either succeeds or fails with one message naming where; a loaded configuration
    must be destroyable, and a failed load leaves nothing behind.
*/
#include "fuzz.h"
#include "lk_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    lk_config_t *config = NULL;
    char err[512];
    err[0] = '\0';
    if (lk_config_load_string("fuzz.yaml", (const char *)data, size, &config, err, sizeof err) ==
        0) {
        FUZZ_CHECK(config != NULL);
        for (size_t i = 0; i < config->rule_count; i++)
            FUZZ_CHECK(config->rules[i].name && config->rules[i].query);
        for (size_t i = 0; i < config->integration_count; i++)
            FUZZ_CHECK(config->integrations[i].routing_key &&
                       strlen(config->integrations[i].routing_key) == LK_INTEGRATION_KEY_LEN);
        lk_config_destroy(&config);
        FUZZ_CHECK(config == NULL);
    } else {
        FUZZ_CHECK(config == NULL);
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err));
    }
    return 0;
}
