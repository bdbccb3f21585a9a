/*  lk_daemon — the shared daemon skeleton: logging, signals, one actor, clean exit. */
#include "lk_daemon.h"

#include <signal.h>

#include "lk_env.h"
#include "lk_log.h"

bool lk_daemon_interrupted(void)
{
    return zsys_interrupted != 0;
}

int lk_daemon_main(const char *program, zactor_fn *actor, void *args)
{
    lk_log_init(program, lk_log_level_parse(lk_env_str("LOOKOUT_LOG_LEVEL", "info")));
    signal(SIGPIPE, SIG_IGN);
    zsys_init();
    zsys_handler_reset();
    zsys_catch_interrupts(); /* SIGINT and SIGTERM set zsys_interrupted */
    zsys_set_linger(0);

    lk_info("starting");
    zactor_t *running = zactor_new(actor, args);
    if (!running)
        lk_fatal("could not start the actor");
    lk_info("ready");
    /* The actor owns all the work; the main thread only waits for a signal. The actor exits
       the process itself (lk_fatal) when it loses a resource it needs. */
    while (!zsys_interrupted) {
        int rc = zsock_wait(zactor_sock(running));
        if (!zsys_interrupted)
            lk_fatal("the actor stopped unexpectedly (%d)", rc);
    }
    lk_info("stopping on signal");
    zactor_destroy(&running);
    lk_info("stopped");
    return 0;
}
