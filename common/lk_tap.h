/*  lk_tap — mirror every message a process sends or receives to a debugging PUB socket.

    Each process binds its tap at the endpoint in its LOOKOUT_<PROCESS>_TAP variable (unset =
    no tap, zero cost). Frames: [label] [msgpack payload], label such as
    "ingest>correlate" or "store<correlate". `lookout-tap ENDPOINT...` subscribes and prints
    one JSON line per message. A PUB socket drops when nobody listens or a listener is slow:
    tapping can never slow or block the pipeline. Thread-safe (one mutex around the send).
*/
#ifndef LK_TAP_H
#define LK_TAP_H

#include <stddef.h>

typedef struct lk_tap_t lk_tap_t;

/* Binds a PUB socket at endpoint. NULL or "" endpoint returns NULL (a disabled tap, which
   every function accepts). Exits via lk_fatal when the endpoint cannot be bound. */
lk_tap_t *lk_tap_new(const char *endpoint);
void lk_tap_destroy(lk_tap_t **self_p);
/* Publishes [label][data]; never blocks. */
void lk_tap_mirror(lk_tap_t *self, const char *label, const void *data, size_t size);

#endif
