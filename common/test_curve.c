/*  test_curve — transport security of lk_sock_new (lk_sock.h): CURVE over tcp between two
    sockets, refusal of clients without an authorized key, and the plaintext rules.

    Certificates are made in a temporary directory the way lookout-keygen makes them; the
    environment variables lk_sock_new reads are set per case. A refused handshake is observed
    on the server's monitor (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), so the test waits for an
    event, not for time to pass, before checking that nothing was delivered.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "lk_log.h"
#include "lk_sock.h"

static char s_dir[256];

static void s_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", s_dir, name);
}

/* Writes NAME.cert (+ _secret); authorized: also into authorized/. */
static void s_make_cert(const char *name, bool authorized)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.cert", s_dir, name);
    zcert_t *cert = zcert_new();
    assert_non_null(cert);
    assert_int_equal(zcert_save(cert, path), 0);
    if (authorized) {
        snprintf(path, sizeof path, "%s/authorized/%s.cert", s_dir, name);
        assert_int_equal(zcert_save_public(cert, path), 0);
    }
    zcert_destroy(&cert);
}

static void s_clear_env(void)
{
    unsetenv("LOOKOUT_CURVE_SERVER_CERT");
    unsetenv("LOOKOUT_CURVE_CLIENT_CERT");
    unsetenv("LOOKOUT_CURVE_AUTHORIZED_DIR");
    unsetenv("LOOKOUT_CURVE_REQUIRED");
    unsetenv("LOOKOUT_PLAINTEXT_TCP_ALLOWED");
}

static int s_setup(void **state)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/lookout-curve-XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    char path[512];
    s_path(path, sizeof path, "authorized");
    assert_int_equal(zsys_dir_create("%s", path), 0);
    s_make_cert("server", false);
    s_make_cert("ingest", true);
    s_make_cert("rogue", false);
    return 0;
}

static int s_teardown(void **state)
{
    s_clear_env();
    static const char *files[] = {
        "server.cert", "server.cert_secret", "ingest.cert",           "ingest.cert_secret",
        "rogue.cert",  "rogue.cert_secret",  "authorized/ingest.cert"};
    char path[512];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        s_path(path, sizeof path, files[i]);
        zsys_file_delete(path);
    }
    s_path(path, sizeof path, "authorized");
    zsys_dir_delete("%s", path);
    zsys_dir_delete("%s", s_dir);
    return 0;
}

static void s_use_curve(const char *client)
{
    char path[512];
    s_path(path, sizeof path, "server.cert");
    setenv("LOOKOUT_CURVE_SERVER_CERT", path, 1);
    s_path(path, sizeof path, "authorized");
    setenv("LOOKOUT_CURVE_AUTHORIZED_DIR", path, 1);
    if (client) {
        snprintf(path, sizeof path, "%s/%s.cert", s_dir, client);
        setenv("LOOKOUT_CURVE_CLIENT_CERT", path, 1);
    } else
        unsetenv("LOOKOUT_CURVE_CLIENT_CERT");
}

/* A query message to send. */
static void s_query(lk_msg_t *msg, uint64_t req)
{
    lk_msg_init(msg, LK_MSG_QUERY);
    msg->req = req;
    msg->query.kind = LK_QUERY_LIST_INCIDENTS;
}

/* Waits for the next handshake event of the monitor; returns its event code or 0. */
static int s_next_event(zsock_t *monitor, int timeout_ms)
{
    zsock_set_rcvtimeo(monitor, timeout_ms);
    zmsg_t *msg = zmsg_recv(monitor);
    if (!msg)
        return 0;
    zframe_t *head = zmsg_first(msg);
    int event = 0;
    if (head && zframe_size(head) >= 2) {
        uint16_t code;
        memcpy(&code, zframe_data(head), 2);
        event = code;
    }
    zmsg_destroy(&msg);
    return event;
}

static void test_curve_pair_talks_and_rogue_is_refused(void **state)
{
    s_clear_env();
    s_use_curve("ingest");
    zsock_t *server = lk_sock_new(ZMQ_ROUTER, "@tcp://127.0.0.1:*");
    assert_non_null(server);
    const char *endpoint = zsock_endpoint(server);
    assert_non_null(endpoint);
    char connect_to[128];
    snprintf(connect_to, sizeof connect_to, ">%s", endpoint);

    /* observe handshakes on the server */
    char monitor_endpoint[64];
    snprintf(monitor_endpoint, sizeof monitor_endpoint, "inproc://curve-monitor-%p",
             (void *)server);
    assert_int_equal(zmq_socket_monitor(zsock_resolve(server), monitor_endpoint,
                                        ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL),
                     0);
    zsock_t *monitor = zsock_new_pair(monitor_endpoint);
    assert_non_null(monitor);

    /* an authorized client talks both ways */
    zsock_t *client = lk_sock_new(ZMQ_DEALER, connect_to);
    assert_non_null(client);
    lk_msg_t msg, got;
    s_query(&msg, 41);
    assert_int_equal(lk_sock_send(client, NULL, &msg, NULL, "test>server"), 0);
    zsock_set_rcvtimeo(server, 10000);
    zframe_t *identity = NULL;
    assert_int_equal(lk_sock_recv(server, &identity, &got, NULL, "test<client"), 0);
    assert_int_equal(got.req, 41);
    lk_msg_clear(&got);
    assert_int_equal(lk_sock_send(server, identity, &msg, NULL, "test>client"), 0);
    zframe_destroy(&identity);
    zsock_set_rcvtimeo(client, 10000);
    assert_int_equal(lk_sock_recv(client, NULL, &got, NULL, "test<server"), 0);
    assert_int_equal(got.req, 41);
    lk_msg_clear(&got);
    assert_int_equal(s_next_event(monitor, 10000), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);

    /* a client whose key the server does not know is refused: its message never arrives */
    s_use_curve("rogue");
    zsock_t *rogue = lk_sock_new(ZMQ_DEALER, connect_to);
    assert_non_null(rogue);
    s_query(&msg, 42);
    assert_int_equal(lk_sock_send(rogue, NULL, &msg, NULL, "rogue>server"), 0);
    assert_int_equal(s_next_event(monitor, 10000), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);

    /* a plaintext client cannot even start the handshake */
    s_clear_env();
    zsock_t *plain = lk_sock_new(ZMQ_DEALER, connect_to);
    assert_non_null(plain); /* loopback: allowed on the client's side */
    s_query(&msg, 43);
    assert_int_equal(lk_sock_send(plain, NULL, &msg, NULL, "plain>server"), 0);
    int event = s_next_event(monitor, 10000);
    assert_true(event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);

    /* the authorized client still works, and nothing of the others was delivered */
    s_query(&msg, 44);
    assert_int_equal(lk_sock_send(client, NULL, &msg, NULL, "test>server"), 0);
    assert_int_equal(lk_sock_recv(server, &identity, &got, NULL, "test<client"), 0);
    assert_int_equal(got.req, 44);
    lk_msg_clear(&got);
    zframe_destroy(&identity);
    zsock_set_rcvtimeo(server, 200);
    assert_int_equal(lk_sock_recv(server, &identity, &got, NULL, "test<any"), -2);

    lk_msg_clear(&msg);
    zsock_destroy(&plain);
    zsock_destroy(&rogue);
    zsock_destroy(&client);
    zmq_socket_monitor(zsock_resolve(server), NULL, 0);
    zsock_destroy(&monitor);
    zsock_destroy(&server);
}

static void test_curve_misconfiguration_is_refused(void **state)
{
    s_clear_env();
    /* a server without the authorized directory */
    s_use_curve("ingest");
    unsetenv("LOOKOUT_CURVE_AUTHORIZED_DIR");
    assert_null(lk_sock_new(ZMQ_ROUTER, "@tcp://127.0.0.1:*"));
    /* a client without its own certificate */
    s_use_curve(NULL);
    assert_null(lk_sock_new(ZMQ_DEALER, ">tcp://127.0.0.1:5"));
    /* a server holding only the public half of the server certificate */
    s_use_curve("ingest");
    char path[512];
    s_path(path, sizeof path, "authorized/ingest.cert");
    setenv("LOOKOUT_CURVE_SERVER_CERT", path, 1);
    assert_null(lk_sock_new(ZMQ_ROUTER, "@tcp://127.0.0.1:*"));
    /* a certificate file that does not exist */
    setenv("LOOKOUT_CURVE_SERVER_CERT", "/nonexistent/server.cert", 1);
    assert_null(lk_sock_new(ZMQ_DEALER, ">tcp://127.0.0.1:5"));
    s_clear_env();
}

static void test_plaintext_rules(void **state)
{
    s_clear_env();
    /* loopback and local transports: plaintext by default */
    zsock_t *sock = lk_sock_new(ZMQ_ROUTER, "@tcp://127.0.0.1:*");
    assert_non_null(sock);
    zsock_destroy(&sock);
    sock = lk_sock_new(ZMQ_DEALER, ">tcp://localhost:5,>tcp://[::1]:6");
    assert_non_null(sock);
    zsock_destroy(&sock);
    sock = lk_sock_new(ZMQ_ROUTER, "inproc://test-curve-plain");
    assert_non_null(sock);
    zsock_destroy(&sock);
    /* beyond loopback: refused without CURVE */
    assert_null(lk_sock_new(ZMQ_ROUTER, "@tcp://0.0.0.0:*"));
    assert_null(lk_sock_new(ZMQ_ROUTER, "@tcp://*:*"));
    assert_null(lk_sock_new(ZMQ_DEALER, ">tcp://10.1.2.3:18101"));
    assert_null(lk_sock_new(ZMQ_DEALER, ">tcp://store.internal:18101"));
    assert_null(lk_sock_new(ZMQ_DEALER, "inproc://x,>tcp://192.168.0.1:5"));
    /* ... unless explicitly allowed */
    setenv("LOOKOUT_PLAINTEXT_TCP_ALLOWED", "true", 1);
    sock = lk_sock_new(ZMQ_DEALER, ">tcp://10.1.2.3:18101");
    assert_non_null(sock);
    zsock_destroy(&sock);
    unsetenv("LOOKOUT_PLAINTEXT_TCP_ALLOWED");
    /* CURVE required: even loopback tcp is refused in plaintext, ipc is not */
    setenv("LOOKOUT_CURVE_REQUIRED", "true", 1);
    assert_null(lk_sock_new(ZMQ_ROUTER, "@tcp://127.0.0.1:*"));
    sock = lk_sock_new(ZMQ_ROUTER, "inproc://test-curve-required");
    assert_non_null(sock);
    zsock_destroy(&sock);
    s_clear_env();
}

int main(void)
{
    lk_log_init("test_curve", LK_LOG_FATAL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curve_pair_talks_and_rogue_is_refused),
        cmocka_unit_test(test_curve_misconfiguration_is_refused),
        cmocka_unit_test(test_plaintext_rules),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
