/*  lookout-correlate — dedup, grouping and incident lifecycle (correlate.h). */
#include "correlate.h"
#include "lk_daemon.h"

int main(void)
{
    correlate_config_t config;
    correlate_config_from_env(&config);
    return lk_daemon_main("lookout-correlate", correlate_actor, &config);
}
