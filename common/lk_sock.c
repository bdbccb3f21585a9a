/*  lk_sock — every ZeroMQ socket configured the same way, and lk_msg framing over them.

    Framing: DEALER/PUB/SUB carry one frame (the msgpack map); ROUTER adds the peer identity
    frame in front. Anything else (extra frames, empty frames, undecodable maps) is malformed:
    logged with its reason, counted, consumed — never asserted on.

    Transport security (see lk_sock.h): the certificates are loaded once per path and kept
    for the life of the process; the zauth actor that checks connecting clients against
    LOOKOUT_CURVE_AUTHORIZED_DIR is started with the first CURVE server socket and stopped
    at exit. Key material is never logged: messages name the files.
*/
#include "lk_sock.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_env.h"
#include "lk_log.h"

static atomic_uint_fast64_t s_malformed;

/* ---- transport security ---------------------------------------------------------------- */

/* A certificate loaded from a file, kept while its path stays the same. */
typedef struct {
    char path[PATH_MAX];
    zcert_t *cert;
} s_cert_slot_t;

static pthread_mutex_t s_curve_mutex = PTHREAD_MUTEX_INITIALIZER;
static s_cert_slot_t s_server_cert; /* LOOKOUT_CURVE_SERVER_CERT */
static s_cert_slot_t s_client_cert; /* LOOKOUT_CURVE_CLIENT_CERT */
static zactor_t *s_auth;            /* zauth, once a CURVE server socket exists */
static char s_auth_dir[PATH_MAX];   /* what s_auth was configured with */
static bool s_exit_registered;

/* Stops zauth and frees the certificates at exit, before czmq's own exit handler (which was
   registered earlier, at the first socket, and so runs later) tears the context down. */
static void s_curve_at_exit(void)
{
    pthread_mutex_lock(&s_curve_mutex);
    zactor_destroy(&s_auth);
    zcert_destroy(&s_server_cert.cert);
    zcert_destroy(&s_client_cert.cert);
    pthread_mutex_unlock(&s_curve_mutex);
}

/* The certificate at path (zcert_load reads "<path>_secret" when it exists, else the public
   "<path>"), cached in slot. The caller holds s_curve_mutex. NULL when unreadable. */
static zcert_t *s_cert_load(s_cert_slot_t *slot, const char *path)
{
    if (slot->cert && strcmp(slot->path, path) == 0)
        return slot->cert;
    zcert_destroy(&slot->cert);
    slot->path[0] = '\0';
    if (strlen(path) >= sizeof slot->path)
        return NULL;
    slot->cert = zcert_load(path);
    if (slot->cert)
        snprintf(slot->path, sizeof slot->path, "%s", path);
    return slot->cert;
}

/* True when the certificate carries a secret key (an all-zero key means public only). */
static bool s_cert_has_secret(zcert_t *cert)
{
    const byte *key = zcert_secret_key(cert);
    for (int i = 0; i < 32; i++)
        if (key[i])
            return true;
    return false;
}

/* Starts (or re-points) zauth at the directory of authorized client certificates; "*"
   admits any client key (encryption without client authentication). The caller holds
   s_curve_mutex. Returns 0, or -1 when zauth cannot start. */
static int s_auth_configure(const char *directory)
{
    if (!s_auth) {
        s_auth = zactor_new(zauth, NULL);
        if (!s_auth)
            return -1;
        if (!s_exit_registered) {
            atexit(s_curve_at_exit);
            s_exit_registered = true;
        }
    } else if (strcmp(s_auth_dir, directory) == 0)
        return 0;
    /* zauth's commands are synchronous: once answered, every later handshake is checked */
    zstr_sendx(s_auth, "CURVE", strcmp(directory, "*") == 0 ? CURVE_ALLOW_ANY : directory, NULL);
    zsock_wait(s_auth);
    snprintf(s_auth_dir, sizeof s_auth_dir, "%s", directory);
    return 0;
}

/* True when the tcp host (the text between "tcp://" and the port) is a loopback address. */
static bool s_host_loopback(const char *host, size_t length)
{
    if (length >= 2 && host[0] == '[' && host[length - 1] == ']') {
        host++;
        length -= 2;
    }
    return (length == 9 && strncasecmp(host, "localhost", 9) == 0) ||
           (length >= 4 && strncmp(host, "127.", 4) == 0) ||
           (length == 3 && strncmp(host, "::1", 3) == 0) ||
           (length == 2 && strncmp(host, "lo", 2) == 0);
}

typedef struct {
    bool tcp;      /* some endpoint is tcp:// */
    bool remote;   /* some tcp endpoint is not on loopback */
    bool binds;    /* some tcp endpoint binds */
    bool connects; /* some tcp endpoint connects */
} s_transport_t;

/* Classifies the endpoints (czmq syntax: comma list, '@' bind, '>' connect, else the
   socket type's default) by transport. */
static s_transport_t s_classify(const char *endpoints, bool serverish)
{
    s_transport_t what = {false, false, false, false};
    const char *cursor = endpoints;
    while (cursor && *cursor) {
        const char *end = strchr(cursor, ',');
        size_t length = end ? (size_t)(end - cursor) : strlen(cursor);
        bool bind = serverish;
        const char *endpoint = cursor;
        if (length > 0 && (*endpoint == '@' || *endpoint == '>')) {
            bind = *endpoint == '@';
            endpoint++;
            length--;
        }
        if (length > 6 && strncmp(endpoint, "tcp://", 6) == 0) {
            const char *host = endpoint + 6;
            size_t host_length = length - 6;
            /* "tcp://source;destination": the destination counts */
            const char *semicolon = memchr(host, ';', host_length);
            if (semicolon) {
                host_length -= (size_t)(semicolon + 1 - host);
                host = semicolon + 1;
            }
            /* the host ends at the last ':' (the port); IPv6 literals are in brackets */
            size_t colon = host_length;
            while (colon > 0 && host[colon - 1] != ':')
                colon--;
            size_t name_length = colon > 0 ? colon - 1 : host_length;
            what.tcp = true;
            if (!s_host_loopback(host, name_length))
                what.remote = true;
            if (bind)
                what.binds = true;
            else
                what.connects = true;
        }
        cursor = end ? end + 1 : NULL;
    }
    return what;
}

/* Applies CURVE to a socket whose tcp endpoints all bind (server) or all connect (client).
   Returns 0, or -1 (logged) when the configuration is incomplete or unreadable. */
static int s_curve_apply(zsock_t *sock, const char *endpoints, const s_transport_t *what,
                         const char *server_path)
{
    if (what->binds && what->connects) {
        lk_error("socket: %s: CURVE needs all tcp endpoints of a socket to bind, or all to "
                 "connect",
                 endpoints);
        return -1;
    }
    int rc = -1;
    pthread_mutex_lock(&s_curve_mutex);
    zcert_t *server = s_cert_load(&s_server_cert, server_path);
    if (!server) {
        lk_error("socket: %s: cannot read the CURVE certificate LOOKOUT_CURVE_SERVER_CERT=%s",
                 endpoints, server_path);
    } else if (what->binds) {
        const char *directory = lk_env_str("LOOKOUT_CURVE_AUTHORIZED_DIR", NULL);
        if (!s_cert_has_secret(server))
            lk_error("socket: %s: binding with CURVE needs the server's secret key (%s_secret)",
                     endpoints, server_path);
        else if (!directory)
            lk_error("socket: %s: a CURVE server needs LOOKOUT_CURVE_AUTHORIZED_DIR (the "
                     "public certificates of the clients it admits, or * for any)",
                     endpoints);
        else if (s_auth_configure(directory) != 0)
            lk_error("socket: %s: cannot start the CURVE authenticator", endpoints);
        else {
            zsock_set_zap_domain(sock, "lookout");
            zsock_set_curve_server(sock, 1);
            zcert_apply(server, zsock_resolve(sock));
            rc = 0;
        }
    } else {
        const char *client_path = lk_env_str("LOOKOUT_CURVE_CLIENT_CERT", NULL);
        zcert_t *client = client_path ? s_cert_load(&s_client_cert, client_path) : NULL;
        if (!client_path)
            lk_error("socket: %s: connecting with CURVE needs LOOKOUT_CURVE_CLIENT_CERT",
                     endpoints);
        else if (!client || !s_cert_has_secret(client))
            lk_error("socket: %s: cannot read the CURVE client certificate (with its secret "
                     "key) LOOKOUT_CURVE_CLIENT_CERT=%s",
                     endpoints, client_path);
        else {
            zcert_apply(client, zsock_resolve(sock));
            zsock_set_curve_serverkey(sock, zcert_public_txt(server));
            rc = 0;
        }
    }
    pthread_mutex_unlock(&s_curve_mutex);
    return rc;
}

/* Decides how a socket's tcp endpoints are secured (lk_sock.h) and applies CURVE when
   configured. Returns 0, or -1 (logged) when the socket must not be created. */
static int s_secure(zsock_t *sock, const char *endpoints, bool serverish)
{
    s_transport_t what = s_classify(endpoints, serverish);
    if (!what.tcp)
        return 0; /* ipc:// and inproc:// stay inside the host */
    const char *server_path = lk_env_str("LOOKOUT_CURVE_SERVER_CERT", NULL);
    if (server_path)
        return s_curve_apply(sock, endpoints, &what, server_path);
    if (lk_env_bool("LOOKOUT_CURVE_REQUIRED", false)) {
        lk_error("socket: %s: LOOKOUT_CURVE_REQUIRED is set but LOOKOUT_CURVE_SERVER_CERT is "
                 "not: refusing plaintext tcp",
                 endpoints);
        return -1;
    }
    if (what.remote && !lk_env_bool("LOOKOUT_PLAINTEXT_TCP_ALLOWED", false)) {
        lk_error("socket: %s: tcp beyond loopback needs CURVE (LOOKOUT_CURVE_SERVER_CERT, "
                 "lookout-keygen) or LOOKOUT_PLAINTEXT_TCP_ALLOWED=true",
                 endpoints);
        return -1;
    }
    return 0;
}

/* ---- sockets --------------------------------------------------------------------------- */

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
    if (endpoints && lk_sock_attach(sock, endpoints, serverish) != 0) {
        zsock_destroy(&sock);
        return NULL;
    }
    return sock;
}

int lk_sock_attach(zsock_t *sock, const char *endpoints, bool serverish)
{
    if (s_secure(sock, endpoints, serverish) != 0)
        return -1;
    if (zsock_attach(sock, endpoints, serverish) != 0) {
        lk_error("socket: cannot attach to %s: %s", endpoints, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

int lk_sock_send_bytes(zsock_t *sock, zframe_t *identity, const void *data, size_t size,
                       lk_tap_t *tap, const char *tap_label)
{
    void *handle = zsock_resolve(sock);
    if (identity && zmq_send(handle, zframe_data(identity), zframe_size(identity),
                             ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    if (zmq_send(handle, data, size, ZMQ_DONTWAIT) < 0)
        return -1;
    lk_tap_mirror(tap, tap_label, data, size);
    return 0;
}

/*  zmq_msg_init_data's release of a frame whose buffer lk_msg_encode allocated. */
static void s_free_frame(void *data, void *hint)
{
    (void)hint;
    free(data);
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
    if (tap) { /* the tap mirrors what was sent: the buffer must outlive the send */
        int rc = lk_sock_send_bytes(sock, identity, data, size, tap, tap_label);
        free(data);
        return rc;
    }
    /* the encoded buffer becomes the frame: libzmq would otherwise allocate a second one and
       copy the message into it (a batch of 64 alerts is 40-60 KB) */
    void *handle = zsock_resolve(sock);
    if (identity && zmq_send(handle, zframe_data(identity), zframe_size(identity),
                             ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        free(data);
        return -1;
    }
    zmq_msg_t frame;
    if (zmq_msg_init_data(&frame, data, size, s_free_frame, NULL) != 0) {
        free(data);
        return -1;
    }
    if (zmq_msg_send(&frame, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame); /* frees data */
        return -1;
    }
    return 0;
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

void lk_sock_unexpected(const lk_msg_t *msg, const char *tap_label)
{
    atomic_fetch_add(&s_malformed, 1);
    lk_warn("socket: unexpected %s (req %llu) on %s rejected", lk_msg_type_name(msg->type),
            (unsigned long long)msg->req, tap_label ? tap_label : "?");
}

uint64_t lk_sock_malformed_total(void)
{
    return atomic_load(&s_malformed);
}
