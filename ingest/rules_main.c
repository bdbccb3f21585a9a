/*  lookout-rules — evaluates alert rules against a Prometheus-compatible API (see rules.h). */
#include <curl/curl.h>

#include "lk_daemon.h"
#include "lk_log.h"
#include "rules.h"

int main(void)
{
    /* SIGHUP reaches the actor as the pipe command RELOAD (lk_daemon.h). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        lk_fatal("cannot initialise libcurl");
    rules_config_t config;
    rules_config_from_env(&config);
    int status = lk_daemon_main("lookout-rules", rules_actor, &config);
    curl_global_cleanup();
    return status;
}
