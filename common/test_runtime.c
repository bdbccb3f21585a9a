/*  Unit tests for the common runtime: time, UUIDv7, environment, sockets, tap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lk_env.h"
#include "lk_sock.h"
#include "lk_tap.h"
#include "lk_time.h"
#include "lk_uuid.h"

static void test_time_round_trip(void **state)
{
    int64_t samples[] = {0, 1, 999, 1732262400123, 951782400000 /* 2000-02-29 */, 4102444799999};
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        char text[32];
        lk_time_format(samples[i], text, sizeof text);
        int64_t parsed = -1;
        assert_true(lk_time_parse(text, &parsed));
        assert_int_equal(parsed, samples[i]);
    }
    char text[32];
    lk_time_format(1732262400123, text, sizeof text);
    assert_string_equal(text, "2024-11-22T08:00:00.123Z");
}

static void test_time_parse_forms(void **state)
{
    int64_t ms = 0;
    assert_true(lk_time_parse("2024-11-22T08:00:00Z", &ms));
    assert_int_equal(ms, 1732262400000);
    assert_true(lk_time_parse("2024-11-22T09:30:00+01:30", &ms));
    assert_int_equal(ms, 1732262400000);
    assert_true(lk_time_parse("2024-11-22T07:00:00.5-01:00", &ms));
    assert_int_equal(ms, 1732262400500);
    assert_true(lk_time_parse("2024-11-22T08:00:00.123456789Z", &ms));
    assert_int_equal(ms, 1732262400123);
    const char *bad[] = {"",
                         "2024-11-22",
                         "2024-11-22T08:00:00",
                         "2024-13-01T00:00:00Z",
                         "2023-02-29T00:00:00Z",
                         "2024-11-31T00:00:00Z",
                         "2024-11-22T24:00:00Z",
                         "2024-11-22T08:00:00Zjunk",
                         "2024-11-22T08:00:00.Z",
                         "2024-11-22T08:00:00+0100",
                         "tomorrow"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(lk_time_parse(bad[i], &ms));
    assert_false(lk_time_parse(NULL, &ms));
}

static void test_uuid7(void **state)
{
    char previous[LK_UUID_STR_LEN + 1] = "";
    for (int i = 0; i < 20000; i++) {
        char id[LK_UUID_STR_LEN + 1];
        lk_uuid7(id);
        assert_true(lk_uuid_valid(id));
        assert_int_equal(id[14], '7');
        assert_non_null(strchr("89ab", id[19]));
        assert_true(strcmp(previous, id) < 0); /* time-ordered within the process */
        strcpy(previous, id);
    }
    assert_true(lk_uuid_valid("00000000-0000-0000-0000-000000000001"));
    assert_true(lk_uuid_valid("ABCDEF00-0000-4000-8000-00000000000F"));
    assert_false(lk_uuid_valid("00000000-0000-0000-0000-00000000000"));
    assert_false(lk_uuid_valid("00000000-0000-0000-0000-0000000000011"));
    assert_false(lk_uuid_valid("00000000x0000-0000-0000-000000000001"));
    assert_false(lk_uuid_valid("g0000000-0000-0000-0000-000000000001"));
    assert_false(lk_uuid_valid(NULL));
    /* short texts are not read past their NUL (ASan); every position is checked */
    assert_false(lk_uuid_valid(""));
    assert_false(lk_uuid_valid("0000000"));
    assert_false(lk_uuid_valid("00000000-0000-0000-0000-00000000000g"));
    assert_false(lk_uuid_valid("0000000-00000-0000-0000-000000000001"));
    assert_false(lk_uuid_valid("00000000-0000-0000-0000-0000000000-1"));
    char id[] = "01234567-89ab-cdef-0123-456789abcdef";
    assert_true(lk_uuid_valid(id));
    for (size_t i = 0; i < sizeof id - 1; i++) {
        char saved = id[i];
        id[i] = saved == '-' ? '0' : 'x';
        assert_false(lk_uuid_valid(id));
        id[i] = saved;
    }
    /* every byte value at every position against the plain definition (the check reads
       eight digits at a time) */
    for (size_t i = 0; i < sizeof id - 1; i++) {
        char saved = id[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        for (int byte = 1; byte < 256; byte++) {
            id[i] = (char)byte;
            bool hex = (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'f') ||
                       (byte >= 'A' && byte <= 'F');
            if (lk_uuid_valid(id) != (dash ? byte == '-' : hex))
                fail_msg("position %zu, byte 0x%02x", i, (unsigned)byte);
        }
        id[i] = saved;
    }
}

static void test_env(void **state)
{
    unsetenv("LK_TEST_INT");
    assert_int_equal(lk_env_int("LK_TEST_INT", 42, 0, 100), 42);
    setenv("LK_TEST_INT", "17", 1);
    assert_int_equal(lk_env_int("LK_TEST_INT", 42, 0, 100), 17);
    setenv("LK_TEST_BOOL", "Yes", 1);
    assert_true(lk_env_bool("LK_TEST_BOOL", false));
    setenv("LK_TEST_BOOL", "off", 1);
    assert_false(lk_env_bool("LK_TEST_BOOL", true));
    setenv("LK_TEST_STR", "", 1);
    assert_string_equal(lk_env_str("LK_TEST_STR", "dflt"), "dflt");

    char path[] = "/tmp/lk_secret_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret\n", 7), 7);
    close(fd);
    unsetenv("LK_TEST_SECRET");
    setenv("LK_TEST_SECRET_FILE", path, 1);
    char *secret = lk_env_secret("LK_TEST_SECRET");
    assert_string_equal(secret, "s3cret");
    free(secret);
    setenv("LK_TEST_SECRET", "direct", 1);
    secret = lk_env_secret("LK_TEST_SECRET");
    assert_string_equal(secret, "direct");
    free(secret);
    unlink(path);
    unsetenv("LK_TEST_SECRET_FILE");
    unsetenv("LK_TEST_SECRET");
    assert_null(lk_env_secret("LK_TEST_SECRET"));
}

/* A malformed frame is rejected and counted; the socket keeps serving the next message. */
static void test_sock_malformed_then_valid(void **state)
{
    zsock_t *router = lk_sock_new(ZMQ_ROUTER, "@inproc://lk-test-router");
    zsock_t *dealer = lk_sock_new(ZMQ_DEALER, ">inproc://lk-test-router");
    assert_non_null(router);
    assert_non_null(dealer);
    zsock_set_rcvtimeo(router, 5000);
    zsock_set_rcvtimeo(dealer, 5000);
    uint64_t before = lk_sock_malformed_total();

    zstr_send(dealer, "this is not msgpack");
    zframe_t *identity = NULL;
    lk_msg_t msg;
    assert_int_equal(lk_sock_recv(router, &identity, &msg, NULL, "test"), -1);
    assert_null(identity);
    assert_int_equal(lk_sock_malformed_total(), before + 1);

    zstr_sendm(dealer, "two");
    zstr_send(dealer, "frames");
    assert_int_equal(lk_sock_recv(router, &identity, &msg, NULL, "test"), -1);
    assert_int_equal(lk_sock_malformed_total(), before + 2);

    lk_msg_t command;
    lk_msg_init(&command, LK_MSG_COMMAND);
    command.req = 7;
    strcpy(command.tenant_id, "00000000-0000-0000-0000-000000000001");
    strcpy(command.incident_id, "0190f000-0000-7000-8000-000000000001");
    command.action = LK_ACTION_ACKNOWLEDGE;
    command.actor = strdup("alice");
    assert_int_equal(lk_sock_send(dealer, NULL, &command, NULL, NULL), 0);
    assert_int_equal(lk_sock_recv(router, &identity, &msg, NULL, "test"), 0);
    assert_non_null(identity);
    assert_int_equal(msg.type, LK_MSG_COMMAND);
    assert_int_equal(msg.req, 7);
    assert_string_equal(msg.actor, "alice");

    lk_msg_t reply;
    lk_msg_init(&reply, LK_MSG_COMMAND_REPLY);
    reply.req = 7;
    reply.status = LK_STATUS_NOT_FOUND;
    reply.error = strdup("no such incident");
    assert_int_equal(lk_sock_send(router, identity, &reply, NULL, NULL), 0);
    lk_msg_t answer;
    assert_int_equal(lk_sock_recv(dealer, NULL, &answer, NULL, "test"), 0);
    assert_int_equal(answer.status, LK_STATUS_NOT_FOUND);
    assert_string_equal(answer.error, "no such incident");

    lk_msg_clear(&answer);
    lk_msg_clear(&reply);
    lk_msg_clear(&command);
    lk_msg_clear(&msg);
    zframe_destroy(&identity);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

static void test_tap_mirrors(void **state)
{
    lk_tap_t *disabled = lk_tap_new(NULL);
    assert_null(disabled);
    lk_tap_mirror(disabled, "nothing", "x", 1); /* a disabled tap accepts every call */

    lk_tap_t *tap = lk_tap_new("inproc://lk-test-tap");
    assert_non_null(tap);
    zsock_t *sub = zsock_new_sub(">inproc://lk-test-tap", "");
    zsock_set_rcvtimeo(sub, 200);
    /* PUB drops until the subscription arrives: mirror until one gets through. */
    char *label = NULL;
    for (int attempt = 0; attempt < 50 && !label; attempt++) {
        lk_tap_mirror(tap, "a>b", "\x80", 1);
        label = zstr_recv(sub);
    }
    assert_non_null(label);
    assert_string_equal(label, "a>b");
    zframe_t *body = zframe_recv(sub);
    assert_int_equal(zframe_size(body), 1);
    assert_int_equal(zframe_data(body)[0], 0x80);
    zframe_destroy(&body);
    free(label);
    zsock_destroy(&sub);
    lk_tap_destroy(&tap);
    assert_null(tap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_round_trip),
        cmocka_unit_test(test_time_parse_forms),
        cmocka_unit_test(test_uuid7),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_sock_malformed_then_valid),
        cmocka_unit_test(test_tap_mirrors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
