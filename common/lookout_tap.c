/*  lookout-tap — print the messages a Lookout process mirrors to its tap, as JSON lines.

    Usage: lookout-tap [--count N] [--timeout-ms MS] ENDPOINT...
    Connects a SUB socket to each ENDPOINT (a process's LOOKOUT_<PROCESS>_TAP) and prints one
    line per message: {"at": "<RFC 3339>", "label": "ingest>correlate", "msg": {...}}.
    --count stops after N messages; --timeout-ms stops after that long without a message.
*/
#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lk_msg.h"
#include "lk_sock.h"
#include "lk_time.h"

static int s_usage(void)
{
    fprintf(stderr, "usage: lookout-tap [--count N] [--timeout-ms MS] ENDPOINT...\n");
    return 2;
}

int main(int argc, char **argv)
{
    long count_limit = -1;
    int timeout_ms = -1;
    int first_endpoint = 1;
    for (; first_endpoint < argc; first_endpoint++) {
        const char *arg = argv[first_endpoint];
        if (strcmp(arg, "--count") == 0 && first_endpoint + 1 < argc)
            count_limit = atol(argv[++first_endpoint]);
        else if (strcmp(arg, "--timeout-ms") == 0 && first_endpoint + 1 < argc)
            timeout_ms = atoi(argv[++first_endpoint]);
        else if (strncmp(arg, "--", 2) == 0)
            return s_usage();
        else
            break;
    }
    if (first_endpoint >= argc)
        return s_usage();

    zsys_init();
    zsys_catch_interrupts();
    zsock_t *sub = zsock_new(ZMQ_SUB);
    zsock_set_subscribe(sub, "");
    zsock_set_rcvhwm(sub, 100000);
    for (int i = first_endpoint; i < argc; i++) {
        const char *endpoint = argv[i][0] == '>' ? argv[i] + 1 : argv[i];
        /* secured like the processes' own sockets: LOOKOUT_CURVE_* (lk_sock.h) */
        char *connect_to = zsys_sprintf(">%s", endpoint);
        int attached = connect_to ? lk_sock_attach(sub, connect_to, false) : -1;
        zstr_free(&connect_to);
        if (attached != 0) {
            fprintf(stderr, "lookout-tap: cannot connect to %s\n", argv[i]);
            zsock_destroy(&sub);
            return 1;
        }
    }
    fprintf(stderr, "lookout-tap: listening\n");

    long printed = 0;
    zpoller_t *poller = zpoller_new(sub, NULL);
    while (!zsys_interrupted && (count_limit < 0 || printed < count_limit)) {
        if (!zpoller_wait(poller, timeout_ms)) {
            if (zpoller_expired(poller))
                break;
            continue;
        }
        zmsg_t *frames = zmsg_recv(sub);
        if (!frames)
            break;
        char *label = zmsg_popstr(frames);
        zframe_t *body = zmsg_pop(frames);
        char stamp[32];
        lk_time_format(lk_now_ms(), stamp, sizeof stamp);
        char *json = body ? lk_msgpack_to_json(zframe_data(body), zframe_size(body)) : NULL;
        json_t *label_json = json_string(label ? label : "");
        char *label_text = json_dumps(label_json, JSON_ENCODE_ANY);
        printf("{\"at\":\"%s\",\"label\":%s,\"msg\":%s}\n", stamp, label_text ? label_text : "\"\"",
               json ? json : "null");
        fflush(stdout);
        free(label_text);
        json_decref(label_json);
        free(json);
        free(label);
        zframe_destroy(&body);
        zmsg_destroy(&frames);
        printed++;
    }
    zpoller_destroy(&poller);
    zsock_destroy(&sub);
    return 0;
}
