/*  lookout-publish — the events outbox to Kafka (publish.h). */
#include "lk_daemon.h"
#include "publish.h"

int main(void)
{
    publish_config_t config;
    publish_config_from_env(&config);
    int status = lk_daemon_main("lookout-publish", publish_actor, &config);
    publish_config_clear(&config);
    return status;
}
