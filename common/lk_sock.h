/*  lk_sock — ZeroMQ sockets configured one way everywhere, and lk_msg over them.

    Endpoints use czmq syntax: "@tcp://127.0.0.1:18101" binds, ">tcp://..." connects, a plain
    "tcp://..." uses the socket type's czmq default (ROUTER/PUB bind, DEALER/SUB connect).
    Every socket gets: send/receive high-water marks (LOOKOUT_ZMQ_HWM, default 10000), linger
    0, ZMTP heartbeats (1 s interval, 5 s timeout) so dead peers are noticed, and reconnect
    back-off 100 ms .. 2 s. A full HWM makes sends fail with EAGAIN (never block forever);
    callers answer "unavailable" instead of dropping silently.
*/
#ifndef LK_SOCK_H
#define LK_SOCK_H

#include <czmq.h>
#include <stdint.h>

#include "lk_msg.h"
#include "lk_tap.h"

/* Creates a czmq socket of type (ZMQ_ROUTER, ZMQ_DEALER, ZMQ_PUB, ZMQ_SUB, ...) attached to
   endpoints. Returns NULL (logged) when the endpoint is invalid or cannot be bound. */
zsock_t *lk_sock_new(int type, const char *endpoints);

/* Encodes and sends msg. identity: the peer's identity frame for ROUTER sockets (not
   consumed), NULL otherwise. tap_label: e.g. "correlate>store". Returns 0, or -1 when the
   message could not be queued (HWM reached, peer gone): nothing was sent. */
int lk_sock_send(zsock_t *sock, zframe_t *identity, const lk_msg_t *msg, lk_tap_t *tap,
                 const char *tap_label);

/* Receives one message. For ROUTER sockets *identity receives the peer identity frame
   (caller destroys); pass NULL for other socket types. Returns 0 with msg filled; -1 when
   the frames were malformed (logged with the reason, counted, consumed: msg is cleared);
   -2 when interrupted or the socket is closing. */
int lk_sock_recv(zsock_t *sock, zframe_t **identity, lk_msg_t *msg, lk_tap_t *tap,
                 const char *tap_label);

/* Malformed internal messages received by this process so far (all sockets). */
uint64_t lk_sock_malformed_total(void);

#endif
