/*  lookout-ingest — the HTTP edge (docs/http-api.md): a thin shell around ingest_actor. */
#include "ingest.h"
#include "lk_daemon.h"

int main(void)
{
    ingest_config_t config;
    ingest_config_from_env(&config);
    int status = lk_daemon_main("lookout-ingest", ingest_actor, &config);
    ingest_config_clear(&config);
    return status;
}
