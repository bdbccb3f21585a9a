/*  lk_sock — every ZeroMQ socket configured the same way, and lk_msg framing over them.

    Framing: DEALER/PUB/SUB carry one frame (the msgpack map); ROUTER adds the peer identity
    frame in front. Anything else (extra frames, empty frames, undecodable maps) is malformed:
    logged with its reason, counted, consumed — never asserted on.
*/
#include "lk_sock.h"

#include <stdatomic.h>

#include "lk_env.h"
#include "lk_log.h"

static atomic_uint_fast64_t s_malformed;

zsock_t *lk_sock_new(int type, const char *endpoints)
{
    zsock_t *sock = zsock_new(type);
    if (!sock)
        return NULL;
    int hwm = (int)lk_env_int("LOOKOUT_ZMQ_HWM", 10000, 10, 10000000);
    zsock_set_sndhwm(sock, hwm);
    zsock_set_rcvhwm(sock, hwm);
    zsock_set_linger(sock, 0);
    zsock_set_heartbeat_ivl(sock, 1000);
    zsock_set_heartbeat_timeout(sock, 5000);
    zsock_set_heartbeat_ttl(sock, 6000);
    zsock_set_reconnect_ivl(sock, 100);
    zsock_set_reconnect_ivl_max(sock, 2000);
    if (type == ZMQ_ROUTER)
        zsock_set_router_mandatory(sock, 0); /* a reply to a vanished peer is dropped */
    if (type == ZMQ_SUB)
        zsock_set_subscribe(sock, "");
    bool serverish = type == ZMQ_ROUTER || type == ZMQ_PUB || type == ZMQ_PULL;
    if (zsock_attach(sock, endpoints, serverish) != 0) {
        lk_error("socket: cannot attach to %s: %s", endpoints, zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
        return NULL;
    }
    return sock;
}

int lk_sock_send(zsock_t *sock, zframe_t *identity, const lk_msg_t *msg, lk_tap_t *tap,
                 const char *tap_label)
{
    char *data = NULL;
    size_t size = 0;
    if (lk_msg_encode(msg, &data, &size) != 0) {
        lk_error("socket: cannot encode %s", lk_msg_type_name(msg->type));
        return -1;
    }
    void *handle = zsock_resolve(sock);
    int rc = 0;
    if (identity && zmq_send(handle, zframe_data(identity), zframe_size(identity),
                             ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        rc = -1;
    if (rc == 0 && zmq_send(handle, data, size, ZMQ_DONTWAIT) < 0)
        rc = -1;
    if (rc == 0)
        lk_tap_mirror(tap, tap_label, data, size);
    free(data);
    return rc;
}

int lk_sock_recv(zsock_t *sock, zframe_t **identity, lk_msg_t *msg, lk_tap_t *tap,
                 const char *tap_label)
{
    lk_msg_init(msg, LK_MSG_INVALID);
    zmsg_t *frames = zmsg_recv(sock);
    if (!frames)
        return -2;
    const char *problem = NULL;
    if (identity) {
        *identity = zmsg_pop(frames);
        if (!*identity)
            problem = "no identity frame";
    }
    zframe_t *body = zmsg_pop(frames);
    if (!problem && !body)
        problem = "no message frame";
    if (!problem && zmsg_size(frames) > 0)
        problem = "unexpected extra frames";
    char reason[256] = "";
    if (!problem) {
        lk_tap_mirror(tap, tap_label, zframe_data(body), zframe_size(body));
        if (lk_msg_decode(zframe_data(body), zframe_size(body), msg, reason, sizeof reason) != 0)
            problem = reason;
    }
    zframe_destroy(&body);
    zmsg_destroy(&frames);
    if (problem) {
        atomic_fetch_add(&s_malformed, 1);
        lk_warn("socket: malformed message on %s rejected: %s", tap_label ? tap_label : "?",
                problem);
        if (identity)
            zframe_destroy(identity);
        lk_msg_clear(msg);
        return -1;
    }
    return 0;
}

uint64_t lk_sock_malformed_total(void)
{
    return atomic_load(&s_malformed);
}
