/*  lookout-rules — evaluates alert rules against a Prometheus-compatible API (see rules.h). */
#include <curl/curl.h>

#include "lk_daemon.h"
#include "lk_log.h"
#include "rules.h"

int main(void)
{
    /* before any thread exists, so that every thread inherits the mask and SIGHUP waits
       for the actor to take it */
    rules_block_sighup();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        lk_fatal("cannot initialise libcurl");
    rules_config_t config;
    rules_config_from_env(&config);
    int status = lk_daemon_main("lookout-rules", rules_actor, &config);
    curl_global_cleanup();
    return status;
}
