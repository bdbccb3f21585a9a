/*  lk_daemon — the shared daemon skeleton: logging, signals, one actor, clean exit.

    Signals are handled synchronously in the main thread only. SIGTERM, SIGINT and SIGHUP are
    blocked before any thread exists (so every thread, ZeroMQ's included, inherits the mask)
    and the main thread takes them with sigtimedwait:
      SIGTERM / SIGINT  stop the actor ("$TERM") and return 0;
      SIGHUP            sends "RELOAD" to the actor pipe; an actor that has configuration to
                        reload does so and answers "OK" or "ERROR <reason>" (logged here),
                        the others ignore the command.
    No thread is ever interrupted in a system call, so no zmq_poll returns EINTR and no
    actor can mistake a reload for termination.
*/
#include "lk_daemon.h"

#include <string.h>
#include <pthread.h>
#include <signal.h>

#include <openssl/crypto.h>

#include "lk_env.h"
#include "lk_log.h"
#include "lk_metrics_http.h"

/* How often the main thread looks at the actor pipe between signals. */
#define S_WATCH_MS 250

typedef struct {
    zactor_fn *actor;
    void *args;
} s_shell_t;

/* Runs the actor, then frees what OpenSSL keeps for this thread (the random generators
   lk_uuid draws from). czmq's actor threads are detached: the process can end before such a
   thread's own exit handlers run, which the sanitizer build reports as leaks. */
static void s_actor_shell(zsock_t *pipe, void *args)
{
    s_shell_t *shell = args;
    shell->actor(pipe, shell->args);
    OPENSSL_thread_stop();
}

bool lk_daemon_interrupted(void)
{
    return zsys_interrupted != 0;
}

int lk_daemon_main(const char *program, zactor_fn *actor, void *args)
{
    lk_log_init(program, lk_log_level_parse(lk_env_str("LOOKOUT_LOG_LEVEL", "info")));
    signal(SIGPIPE, SIG_IGN);
    sigset_t handled;
    sigemptyset(&handled);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &handled, NULL);
    zsys_init();
    zsys_handler_set(NULL); /* czmq must not install handlers of its own */
    zsys_set_linger(0);

    lk_info("starting");
    /* after the signal mask, so its thread inherits it; before the actor, so a slow start
       (correlate's snapshot load) is visible as /healthz 503 */
    lk_metrics_http_t *metrics = lk_metrics_http_start(program);
    s_shell_t shell = {actor, args};
    zactor_t *running = zactor_new(s_actor_shell, &shell);
    if (!running)
        lk_fatal("could not start the actor");
    lk_metrics_http_set_ready(metrics, true);
    lk_info("ready");

    struct timespec watch = {.tv_sec = 0, .tv_nsec = S_WATCH_MS * 1000000L};
    while (true) {
        int signo = sigtimedwait(&handled, NULL, &watch);
        if (signo == SIGTERM || signo == SIGINT)
            break;
        if (signo == SIGHUP) {
            lk_info("SIGHUP: asking for a configuration reload");
            zstr_send(running, "RELOAD");
            continue;
        }
        if (!(zsock_events(zactor_sock(running)) & ZMQ_POLLIN))
            continue;
        /* Either the answer to a RELOAD ("OK", "ERROR reason"), or czmq's signal that the
           actor function returned, which it never does before "$TERM". */
        zmsg_t *message = zmsg_recv(zactor_sock(running));
        if (!message || zmsg_signal(message) >= 0)
            lk_fatal("the actor stopped unexpectedly");
        char *answer = zmsg_popstr(message);
        if (answer && strncmp(answer, "ERROR", 5) == 0)
            lk_error("reload refused, the previous configuration stays: %s", answer + 5);
        else
            lk_info("reload: %s", answer ? answer : "(no answer)");
        zstr_free(&answer);
        zmsg_destroy(&message);
    }
    lk_info("stopping on signal");
    zsys_interrupted = 1;
    zactor_destroy(&running);
    lk_metrics_http_destroy(&metrics);
    lk_info("stopped");
    return 0;
}
