/*  lk_sock — ZeroMQ sockets configured one way everywhere, and lk_msg over them.

    Endpoints use czmq syntax: "@tcp://127.0.0.1:18101" binds, ">tcp://..." connects, a plain
    "tcp://..." uses the socket type's czmq default (ROUTER/PUB bind, DEALER/SUB connect).
    Every socket gets: send/receive high-water marks (LOOKOUT_ZMQ_HWM, default 10000), linger
    0, ZMTP heartbeats (1 s interval, 5 s timeout) so dead peers are noticed, and reconnect
    back-off 100 ms .. 2 s. A full HWM makes sends fail with EAGAIN (never block forever);
    callers answer "unavailable" instead of dropping silently.

    Transport security (docs/security.md): ipc:// and inproc:// never leave the host and
    stay plaintext. tcp:// is secured with CURVE (encryption and client authentication,
    czmq zcert/zauth) once LOOKOUT_CURVE_SERVER_CERT names the servers' certificate file
    (made by lookout-keygen):
      - a socket that binds tcp uses that certificate's secret key ("<file>_secret") and
        admits only clients whose public certificates are in LOOKOUT_CURVE_AUTHORIZED_DIR
        ("*" = any client key: encryption only); every other handshake is refused;
      - a socket that connects tcp uses LOOKOUT_CURVE_CLIENT_CERT (its own key pair) and
        trusts only the server key of LOOKOUT_CURVE_SERVER_CERT (the public file suffices).
    Without a certificate, tcp on loopback (127.0.0.0/8, ::1, localhost) stays plaintext so
    the quick start works; tcp beyond loopback is refused unless
    LOOKOUT_PLAINTEXT_TCP_ALLOWED=true (e.g. a network that encrypts by itself);
    LOOKOUT_CURVE_REQUIRED=true refuses plaintext tcp even on loopback. A refused or
    misconfigured endpoint makes lk_sock_new return NULL (logged), and the process exits.
*/
#ifndef LK_SOCK_H
#define LK_SOCK_H

#include <czmq.h>
#include <stdint.h>

#include "lk_msg.h"
#include "lk_tap.h"

/* Creates a czmq socket of type (ZMQ_ROUTER, ZMQ_DEALER, ZMQ_PUB, ZMQ_SUB, ...) attached to
   endpoints, secured as above. Returns NULL (logged) when the endpoint is invalid, cannot
   be bound, or its transport security is refused or misconfigured. */
zsock_t *lk_sock_new(int type, const char *endpoints);

/* Attaches a socket made by lk_sock_new(type, NULL) — for options that must be set before
   the first bind or connect — to endpoints, with the same transport security; serverish:
   the czmq default direction of plain endpoints (true = bind). Returns 0, or -1 (logged):
   nothing was attached. */
int lk_sock_attach(zsock_t *sock, const char *endpoints, bool serverish);

/* Encodes and sends msg. identity: the peer's identity frame for ROUTER sockets (not
   consumed), NULL otherwise. tap_label: e.g. "correlate>store". Returns 0, or -1 when the
   message could not be queued (HWM reached, peer gone): nothing was sent. */
int lk_sock_send(zsock_t *sock, zframe_t *identity, const lk_msg_t *msg, lk_tap_t *tap,
                 const char *tap_label);

/* Sends bytes an lk_msg_encode-compatible encoder produced (lk_event_msg_encode), like
   lk_sock_send. Returns 0, or -1 when they could not be queued. */
int lk_sock_send_bytes(zsock_t *sock, zframe_t *identity, const void *data, size_t size,
                       lk_tap_t *tap, const char *tap_label);
/* Receives one message. For ROUTER sockets *identity receives the peer identity frame
   (caller destroys); pass NULL for other socket types. Returns 0 with msg filled; -1 when
   the frames were malformed (logged with the reason, counted, consumed: msg is cleared);
   -2 when interrupted or the socket is closing. */
int lk_sock_recv(zsock_t *sock, zframe_t **identity, lk_msg_t *msg, lk_tap_t *tap,
                 const char *tap_label);

/* A well-formed message of a type the receiving socket does not take (a query on the
   mutation socket, a reply sent to a server): logged once with its type and tap_label and
   counted with the malformed ones; the receiver then drops it or answers "invalid". */
void lk_sock_unexpected(const lk_msg_t *msg, const char *tap_label);

/* Malformed internal messages received by this process so far (all sockets), including
   those of an unexpected type (lk_sock_unexpected). */
uint64_t lk_sock_malformed_total(void);

#endif
