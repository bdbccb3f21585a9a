/*  lookout-store — the sole database writer (store.h), run by the shared daemon skeleton. */
#include "lk_daemon.h"
#include "store.h"

int main(void)
{
    store_config_t config;
    store_config_from_env(&config);
    return lk_daemon_main("lookout-store", store_actor, &config);
}
