/*  lk_daemon — the one daemon skeleton every Lookout program runs in (postfix style).

    A program's main is:
        int main (void) {
            store_config_t config;
            store_config_from_env (&config);
            return lk_daemon_main ("lookout-store", store_actor, &config);
        }
    lk_daemon_main sets up logging (LOOKOUT_LOG_LEVEL), ignores SIGPIPE, starts the actor (a
    zactor: a thread plus a pipe; it calls zsock_signal (pipe, 0) once ready and returns on
    "$TERM"), then waits for signals in the main thread: SIGTERM/SIGINT stop the actor and
    return 0; SIGHUP sends the actor the pipe command "RELOAD" (actors with a configuration
    file reload it; others ignore the command). Signals are blocked in every other thread, so
    actors never see EINTR. An actor that meets a fatal condition (lost database, unusable
    configuration) calls lk_fatal, which exits 1 so the supervisor restarts it.
*/
#ifndef LK_DAEMON_H
#define LK_DAEMON_H

#include <czmq.h>

/* Runs the actor until SIGTERM/SIGINT. Returns the process exit status. */
int lk_daemon_main(const char *program, zactor_fn *actor, void *args);

/* True once a termination signal arrived (set just before the actor is told "$TERM"). */
bool lk_daemon_interrupted(void);

#endif
