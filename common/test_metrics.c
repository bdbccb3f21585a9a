/*  Unit tests for lk_metrics (registry, exposition text, concurrency, caps) and
    lk_metrics_http (the per-process endpoint). The registry is process-wide, so every test
    uses metric names of its own and looks for its lines in the rendered text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lk_metrics.h"
#include "lk_metrics_http.h"

/* The rendered registry (caller frees). */
static char *s_render(void)
{
    size_t size = 0;
    char *text = lk_metrics_render(&size);
    assert_non_null(text);
    assert_int_equal(strlen(text), size);
    return text;
}

/* Asserts that the rendered registry contains line as a whole line. */
static void s_assert_line(const char *text, const char *line)
{
    size_t length = strlen(line);
    for (const char *at = strstr(text, line); at; at = strstr(at + 1, line))
        if ((at == text || at[-1] == '\n') && at[length] == '\n')
            return;
    fail_msg("line not found: %s\n---\n%s", line, text);
}

static void test_counter_and_gauge_text(void **state)
{
    lk_metrics_t *counter = lk_metrics_counter("t1_requests_total", "Requests.", "route,status");
    lk_metrics_inc(lk_metrics_with(counter, "/alerts", "202"));
    lk_metrics_add(lk_metrics_with(counter, "/alerts", "202"), 4);
    lk_metrics_inc(lk_metrics_with(counter, "/incidents", "200"));
    lk_metrics_t *gauge = lk_metrics_gauge("t1_depth", "Queue depth.", NULL);
    lk_metrics_set(lk_metrics_series(gauge), 7.5);
    lk_metrics_gauge_add(lk_metrics_series(gauge), -2.5);
    lk_metrics_t *idle = lk_metrics_counter("t1_idle_total", "Never touched.", NULL);
    (void)idle;

    char *text = s_render();
    s_assert_line(text, "# HELP t1_requests_total Requests.");
    s_assert_line(text, "# TYPE t1_requests_total counter");
    s_assert_line(text, "t1_requests_total{route=\"/alerts\",status=\"202\"} 5");
    s_assert_line(text, "t1_requests_total{route=\"/incidents\",status=\"200\"} 1");
    s_assert_line(text, "# TYPE t1_depth gauge");
    s_assert_line(text, "t1_depth 5");
    /* a label-less family shows 0 before its first update, so rate() has a start */
    s_assert_line(text, "t1_idle_total 0");
    /* HELP and TYPE come before the samples, once */
    assert_true(strstr(text, "# TYPE t1_requests_total") < strstr(text, "t1_requests_total{"));
    assert_null(strstr(strstr(text, "# TYPE t1_requests_total") + 1, "# TYPE t1_requests_total"));
    free(text);
    assert_true(lk_metrics_value(lk_metrics_with(counter, "/alerts", "202")) == 5);
}

static void test_registration_is_idempotent(void **state)
{
    lk_metrics_t *first = lk_metrics_counter("t2_total", "Help.", "a");
    lk_metrics_t *again = lk_metrics_counter("t2_total", "Other help text.", "a");
    assert_ptr_equal(first, again);
    lk_metrics_series_t *series = lk_metrics_with(first, "x");
    assert_ptr_equal(series, lk_metrics_with(again, "x"));
    assert_ptr_not_equal(series, lk_metrics_with(first, "y"));
}

static void test_escaping(void **state)
{
    lk_metrics_t *counter =
        lk_metrics_counter("t3_total", "Help with \\ backslash\nand newline.", "value");
    lk_metrics_inc(lk_metrics_with(counter, "quote\" back\\slash\nnewline"));
    lk_metrics_inc(lk_metrics_with(counter, ""));
    char *text = s_render();
    s_assert_line(text, "# HELP t3_total Help with \\\\ backslash\\nand newline.");
    s_assert_line(text, "t3_total{value=\"quote\\\" back\\\\slash\\nnewline\"} 1");
    s_assert_line(text, "t3_total{value=\"\"} 1");
    free(text);
}

static void test_histogram(void **state)
{
    const double bounds[] = {0.1, 1, 2.5};
    lk_metrics_t *histogram = lk_metrics_histogram("t4_seconds", "Latency.", "route", bounds, 3);
    lk_metrics_series_t *series = lk_metrics_with(histogram, "/x");
    lk_metrics_observe(series, 0.05);
    lk_metrics_observe(series, 0.1); /* on a bound: counted in that bucket (le) */
    lk_metrics_observe(series, 2);
    lk_metrics_observe(series, 100);
    char *text = s_render();
    s_assert_line(text, "# TYPE t4_seconds histogram");
    s_assert_line(text, "t4_seconds_bucket{route=\"/x\",le=\"0.1\"} 2");
    s_assert_line(text, "t4_seconds_bucket{route=\"/x\",le=\"1\"} 2");
    s_assert_line(text, "t4_seconds_bucket{route=\"/x\",le=\"2.5\"} 3");
    s_assert_line(text, "t4_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4");
    s_assert_line(text, "t4_seconds_sum{route=\"/x\"} 102.15");
    s_assert_line(text, "t4_seconds_count{route=\"/x\"} 4");
    free(text);
    assert_true(lk_metrics_value(series) == 4);
    assert_true(fabs(lk_metrics_sum(series) - 102.15) < 1e-9);

    lk_metrics_t *plain = lk_metrics_histogram(
        "t4_batch_size", "Sizes.", NULL, lk_metrics_size_buckets, lk_metrics_size_bucket_count);
    lk_metrics_observe(lk_metrics_series(plain), 3);
    text = s_render();
    s_assert_line(text, "t4_batch_size_bucket{le=\"1\"} 0");
    s_assert_line(text, "t4_batch_size_bucket{le=\"4\"} 1");
    s_assert_line(text, "t4_batch_size_bucket{le=\"+Inf\"} 1");
    s_assert_line(text, "t4_batch_size_sum 3");
    s_assert_line(text, "t4_batch_size_count 1");
    free(text);
}

static void test_format_double(void **state)
{
    char buf[48];
    lk_metrics_format_double(0, buf, sizeof buf);
    assert_string_equal(buf, "0");
    lk_metrics_format_double(42, buf, sizeof buf);
    assert_string_equal(buf, "42");
    lk_metrics_format_double(-3, buf, sizeof buf);
    assert_string_equal(buf, "-3");
    lk_metrics_format_double(0.1, buf, sizeof buf);
    assert_string_equal(buf, "0.1");
    lk_metrics_format_double(0.0005, buf, sizeof buf);
    assert_string_equal(buf, "0.0005");
    lk_metrics_format_double(1.0 / 3.0, buf, sizeof buf);
    assert_true(strtod(buf, NULL) == 1.0 / 3.0);
    lk_metrics_format_double(INFINITY, buf, sizeof buf);
    assert_string_equal(buf, "+Inf");
    lk_metrics_format_double(-INFINITY, buf, sizeof buf);
    assert_string_equal(buf, "-Inf");
    lk_metrics_format_double(NAN, buf, sizeof buf);
    assert_string_equal(buf, "NaN");
    lk_metrics_format_double(1e20, buf, sizeof buf);
    assert_true(strtod(buf, NULL) == 1e20);
}

static double s_answer_fn(void *arg)
{
    return *(double *)arg;
}

static void test_fn_metrics_and_text_blocks(void **state)
{
    static double value = 12.25;
    lk_metrics_gauge_fn("t5_computed", "Computed at scrape time.", s_answer_fn, &value);
    lk_metrics_set_text("t5", strdup("# HELP t5_block_total A block.\n"
                                     "# TYPE t5_block_total counter\nt5_block_total 3\n"));
    char *text = s_render();
    s_assert_line(text, "t5_computed 12.25");
    s_assert_line(text, "t5_block_total 3");
    free(text);
    value = 13;
    lk_metrics_set_text("t5", strdup("t5_block_total 4\n"));
    text = s_render();
    s_assert_line(text, "t5_computed 13");
    s_assert_line(text, "t5_block_total 4");
    assert_null(strstr(text, "t5_block_total 3"));
    free(text);
    lk_metrics_set_text("t5", NULL);
    text = s_render();
    assert_null(strstr(text, "t5_block_total"));
    free(text);
}

static void test_process_metrics(void **state)
{
    lk_metrics_process_init("lookout-test");
    lk_metrics_process_init("lookout-test"); /* idempotent */
    char *text = s_render();
    assert_non_null(strstr(text, "\nprocess_start_time_seconds "));
    assert_non_null(strstr(text, "\nprocess_cpu_seconds_total "));
    assert_non_null(strstr(text, "\nprocess_resident_memory_bytes "));
    assert_non_null(strstr(text, "\nprocess_open_fds "));
    assert_non_null(strstr(text, "\nlookout_build_info{program=\"lookout-test\",version=\""));
    s_assert_line(text, "lookout_malformed_messages_total 0");
    s_assert_line(text, "# TYPE process_cpu_seconds_total counter");
    double start = atof(strstr(text, "\nprocess_start_time_seconds ") + 28);
    assert_true(start > 1.7e9); /* seconds since the epoch, not milliseconds */
    assert_true(start < 1e10);
    free(text);
}

static void test_series_cap(void **state)
{
    lk_metrics_t *counter = lk_metrics_counter("t6_total", "Capped.", "id");
    char id[32];
    for (int i = 0; i < LK_METRICS_SERIES_MAX; i++) {
        snprintf(id, sizeof id, "%d", i);
        lk_metrics_inc(lk_metrics_with(counter, id));
    }
    lk_metrics_series_t *first_extra = lk_metrics_with(counter, "one-too-many");
    lk_metrics_series_t *second_extra = lk_metrics_with(counter, "two-too-many");
    assert_ptr_equal(first_extra, second_extra); /* the sink */
    lk_metrics_inc(first_extra);
    /* existing series are still found */
    assert_true(lk_metrics_value(lk_metrics_with(counter, "17")) == 1);
    lk_metrics_process_init("lookout-test");
    char *text = s_render();
    assert_null(strstr(text, "one-too-many"));
    s_assert_line(text, "t6_total{id=\"2047\"} 1");
    const char *dropped = strstr(text, "\nlookout_metrics_series_dropped_total ");
    assert_non_null(dropped);
    assert_true(atof(dropped + 38) >= 2);
    free(text);
}

static void test_tenant_cap(void **state)
{
    /* read once, at the first lk_metrics_tenant call of the process (this one) */
    setenv("LOOKOUT_METRICS_TENANT_LIMIT", "2", 1);
    assert_string_equal(lk_metrics_tenant(NULL), "");
    assert_string_equal(lk_metrics_tenant(""), "");
    const char *a = "11111111-1111-4111-8111-111111111111";
    const char *b = "22222222-2222-4222-8222-222222222222";
    const char *c = "33333333-3333-4333-8333-333333333333";
    assert_string_equal(lk_metrics_tenant(a), a);
    assert_string_equal(lk_metrics_tenant(b), b);
    assert_string_equal(lk_metrics_tenant(c), LK_METRICS_OTHER);
    assert_string_equal(lk_metrics_tenant(a), a); /* admitted tenants stay admitted */
    char copy[40];
    snprintf(copy, sizeof copy, "%s", b);
    assert_string_equal(lk_metrics_tenant(copy), b);
}

/* ---- concurrency ----------------------------------------------------------------------- */

#define S_THREADS    8
#define S_PER_THREAD 50000

typedef struct {
    lk_metrics_t *counter;
    lk_metrics_t *histogram;
    lk_metrics_t *gauge;
    int index;
    lk_metrics_series_t *created;
} s_worker_t;

static void *s_worker(void *arg)
{
    s_worker_t *worker = arg;
    /* every thread races to create the same new series first */
    worker->created = lk_metrics_with(worker->counter, "shared", "race");
    char label[16];
    snprintf(label, sizeof label, "w%d", worker->index % 3);
    for (int i = 0; i < S_PER_THREAD; i++) {
        lk_metrics_inc(lk_metrics_with(worker->counter, "shared", label));
        lk_metrics_observe(lk_metrics_series(worker->histogram), (i % 4) * 0.5);
        lk_metrics_gauge_add(lk_metrics_series(worker->gauge), 1);
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    const double bounds[] = {0.25, 0.75};
    lk_metrics_t *counter = lk_metrics_counter("t7_total", "Concurrent.", "kind,worker");
    lk_metrics_t *histogram = lk_metrics_histogram("t7_seconds", "Concurrent.", NULL, bounds, 2);
    lk_metrics_t *gauge = lk_metrics_gauge("t7_level", "Concurrent.", NULL);
    pthread_t threads[S_THREADS];
    s_worker_t workers[S_THREADS];
    for (int i = 0; i < S_THREADS; i++) {
        workers[i] = (s_worker_t){counter, histogram, gauge, i, NULL};
        assert_int_equal(pthread_create(&threads[i], NULL, s_worker, &workers[i]), 0);
    }
    /* a scrape in the middle must not disturb anything */
    char *during = s_render();
    free(during);
    for (int i = 0; i < S_THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 1; i < S_THREADS; i++)
        assert_ptr_equal(workers[i].created, workers[0].created);
    double total = 0;
    const char *labels[] = {"w0", "w1", "w2"};
    for (int i = 0; i < 3; i++)
        total += lk_metrics_value(lk_metrics_with(counter, "shared", labels[i]));
    assert_true(total == (double)S_THREADS * S_PER_THREAD);
    lk_metrics_series_t *observed = lk_metrics_series(histogram);
    assert_true(lk_metrics_value(observed) == (double)S_THREADS * S_PER_THREAD);
    /* each thread observes 0, 0.5, 1, 1.5 in turn: an exact sum of 0.75 per observation */
    assert_true(lk_metrics_sum(observed) == 0.75 * S_THREADS * S_PER_THREAD);
    assert_true(lk_metrics_value(lk_metrics_series(gauge)) == (double)S_THREADS * S_PER_THREAD);
    char *text = s_render();
    char line[128];
    snprintf(line, sizeof line, "t7_seconds_bucket{le=\"0.25\"} %d", S_THREADS * S_PER_THREAD / 4);
    s_assert_line(text, line);
    snprintf(line, sizeof line, "t7_seconds_bucket{le=\"0.75\"} %d", S_THREADS * S_PER_THREAD / 2);
    s_assert_line(text, line);
    snprintf(line, sizeof line, "t7_seconds_count %d", S_THREADS * S_PER_THREAD);
    s_assert_line(text, line);
    free(text);
}

/* ---- the HTTP endpoint ----------------------------------------------------------------- */

/* GET path from 127.0.0.1:port; returns the whole response (caller frees). */
static char *s_http_get(int port, const char *method, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&address, sizeof address), 0);
    char request[256];
    int length =
        snprintf(request, sizeof request,
                 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", method, path);
    assert_int_equal(write(fd, request, (size_t)length), length);
    size_t capacity = 1 << 16, used = 0;
    char *response = malloc(capacity);
    assert_non_null(response);
    ssize_t got;
    while ((got = read(fd, response + used, capacity - used - 1)) > 0) {
        used += (size_t)got;
        if (used + 1 == capacity) {
            capacity *= 2;
            response = realloc(response, capacity);
            assert_non_null(response);
        }
    }
    response[used] = '\0';
    close(fd);
    return response;
}

static void test_http_endpoint(void **state)
{
    lk_metrics_t *counter = lk_metrics_counter("t8_total", "Served.", NULL);
    lk_metrics_add(lk_metrics_series(counter), 9);
    lk_metrics_http_t *server = lk_metrics_http_new("lookout-test", "127.0.0.1", 0);
    assert_non_null(server);
    int port = lk_metrics_http_port(server);
    assert_true(port > 0);

    char *response = s_http_get(port, "GET", "/healthz");
    assert_non_null(strstr(response, "HTTP/1.1 503"));
    assert_non_null(strstr(response, "\"status\":\"starting\""));
    free(response);
    lk_metrics_http_set_ready(server, true);
    response = s_http_get(port, "GET", "/healthz");
    assert_non_null(strstr(response, "HTTP/1.1 200"));
    assert_non_null(strstr(response, "{\"status\":\"ok\",\"program\":\"lookout-test\"}"));
    free(response);

    response = s_http_get(port, "GET", "/metrics");
    assert_non_null(strstr(response, "HTTP/1.1 200"));
    assert_non_null(strstr(response, "text/plain; version=0.0.4"));
    assert_non_null(strstr(response, "\nt8_total 9\n"));
    free(response);

    response = s_http_get(port, "POST", "/metrics");
    assert_non_null(strstr(response, "HTTP/1.1 405"));
    free(response);
    response = s_http_get(port, "GET", "/nothing");
    assert_non_null(strstr(response, "HTTP/1.1 404"));
    free(response);

    /* a second server cannot take the same port: NULL, not a crash */
    assert_null(lk_metrics_http_new("lookout-test", "127.0.0.1", port));
    lk_metrics_http_destroy(&server);
    assert_null(server);
    lk_metrics_http_destroy(&server);
}

static void test_default_ports_and_start(void **state)
{
    assert_int_equal(lk_metrics_http_default_port("lookout-store"), 18021);
    assert_int_equal(lk_metrics_http_default_port("lookout-notify"), 18050);
    assert_int_equal(lk_metrics_http_default_port("lookout-ingest"), 18040);
    assert_int_equal(lk_metrics_http_default_port("something-else"), 0);
    /* an unknown program without a port variable has no endpoint */
    assert_null(lk_metrics_http_start("lookout-unit-test"));
    /* the port variable is derived from the program name; LOOKOUT_PROCESS_NUM is added */
    lk_metrics_http_t *probe = lk_metrics_http_new("probe", "127.0.0.1", 0);
    assert_non_null(probe);
    int free_port = lk_metrics_http_port(probe);
    lk_metrics_http_destroy(&probe);
    char text[16];
    snprintf(text, sizeof text, "%d", free_port - 1);
    setenv("LOOKOUT_UNIT_TEST_METRICS_PORT", text, 1);
    setenv("LOOKOUT_UNIT_TEST_METRICS_ADDRESS", "127.0.0.1", 1);
    setenv("LOOKOUT_PROCESS_NUM", "1", 1);
    lk_metrics_http_t *server = lk_metrics_http_start("lookout-unit-test");
    unsetenv("LOOKOUT_PROCESS_NUM");
    assert_non_null(server);
    assert_int_equal(lk_metrics_http_port(server), free_port);
    lk_metrics_http_destroy(&server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_gauge_text),
        cmocka_unit_test(test_registration_is_idempotent),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_format_double),
        cmocka_unit_test(test_fn_metrics_and_text_blocks),
        cmocka_unit_test(test_process_metrics),
        cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_tenant_cap),
        cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_http_endpoint),
        cmocka_unit_test(test_default_ports_and_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
