/*  lookout-escalate: escalation policies, on-call schedules and their timers (escalate.h). */
#include "escalate.h"
#include "lk_daemon.h"

int main(void)
{
    escalate_config_t config;
    escalate_config_from_env(&config);
    return lk_daemon_main("lookout-escalate", escalate_actor, &config);
}
