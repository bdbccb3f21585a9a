/*  lookout-notify: a notification delivery worker (notify.h). */
#include "lk_daemon.h"
#include "notify.h"

int main(void)
{
    notify_config_t config;
    notify_config_from_env(&config);
    return lk_daemon_main("lookout-notify", notify_actor, &config);
}
