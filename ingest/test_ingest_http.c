/*  test_ingest_http — the HTTP API of docs/http-api.md, end to end over real HTTP.

    Two groups:
      edge      ingest alone, its peers' endpoints served by nobody and a short request
                timeout: routing, authentication, body limits, JSON and parameter checks
                (all answered without the pipeline) and the 503 answers when it is needed.
      pipeline  the real pipeline in-process: store (temporary SQLite file), correlate and
                ingest over inproc://; alerts, lifecycle commands, queries and tenancy.
    Requests are made with libcurl against the port ingest picked (http_port 0).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <curl/curl.h>
#include <czmq.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "correlate.h"
#include "ingest.h"
#include "lk_log.h"
#include "lk_uuid.h"
#include "store.h"
#include "lk_testing.h"

#define TENANT_A      "11111111-1111-4111-8111-111111111111"
#define TENANT_B      "22222222-2222-4222-8222-222222222222"
#define SERVICE_TOKEN "ingest-test-service-token-0123456789"
#define JWT_SECRET    "ingest-test-jwt-secret-0123456789abcdef"
#define UNKNOWN_ID    "0190f000-0000-7000-8000-000000000000"

/* ---- HTTP client ----------------------------------------------------------------------- */

typedef struct {
    long status;
    char *body;
    size_t body_size;
    char *headers;
    size_t headers_size;
    json_t *json; /* parsed body, NULL when it is not JSON */
} s_response_t;

static int s_port; /* the ingest under test */

static size_t s_append(char **buffer, size_t *size, const char *data, size_t length)
{
    char *grown = realloc(*buffer, *size + length + 1);
    assert_non_null(grown);
    memcpy(grown + *size, data, length);
    *size += length;
    grown[*size] = '\0';
    *buffer = grown;
    return length;
}

static size_t s_on_body(char *data, size_t size, size_t count, void *user)
{
    s_response_t *response = user;
    return s_append(&response->body, &response->body_size, data, size * count);
}

static size_t s_on_header(char *data, size_t size, size_t count, void *user)
{
    s_response_t *response = user;
    return s_append(&response->headers, &response->headers_size, data, size * count);
}

/* A request body produced piece by piece, so curl sends it chunked. */
typedef struct {
    size_t left;
} s_chunked_t;

static size_t s_read_chunked(char *buffer, size_t size, size_t count, void *user)
{
    s_chunked_t *source = user;
    size_t length = size * count;
    if (length > source->left)
        length = source->left;
    memset(buffer, ' ', length);
    source->left -= length;
    return length;
}

typedef struct {
    const char *authorization; /* full header value, NULL = none */
    const char *tenant;        /* X-Tenant-ID, NULL = none */
    size_t chunked_size;       /* > 0: send that many bytes chunked instead of body */
    bool no_service_token;     /* do not add the default service token */
} s_options_t;

/* Performs one request. With no options it authenticates as the service for TENANT_A. */
static void s_request(const char *method, const char *path, const char *body,
                      const s_options_t *options, s_response_t *response)
{
    static const s_options_t defaults = {NULL, TENANT_A, 0, false};
    if (!options)
        options = &defaults;
    memset(response, 0, sizeof *response);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s_port, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, response);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, response);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);

    struct curl_slist *headers = NULL;
    char line[2048];
    if (options->authorization) {
        snprintf(line, sizeof line, "Authorization: %s", options->authorization);
        headers = curl_slist_append(headers, line);
    } else if (!options->no_service_token) {
        headers = curl_slist_append(headers, "Authorization: Bearer " SERVICE_TOKEN);
    }
    if (options->tenant) {
        snprintf(line, sizeof line, "X-Tenant-ID: %s", options->tenant);
        headers = curl_slist_append(headers, line);
    }
    s_chunked_t chunked = {options->chunked_size};
    if (options->chunked_size > 0) {
        headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, s_read_chunked);
        curl_easy_setopt(curl, CURLOPT_READDATA, &chunked);
    } else if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (response->body)
        response->json = json_loadb(response->body, response->body_size, 0, NULL);
}

static void s_response_clear(s_response_t *response)
{
    free(response->body);
    free(response->headers);
    json_decref(response->json);
    memset(response, 0, sizeof *response);
}

/* The value of a response header (first occurrence) into out; false when absent. */
static bool s_header(const s_response_t *response, const char *name, char *out, size_t size)
{
    size_t name_length = strlen(name);
    const char *line = response->headers;
    while (line && *line) {
        const char *end = strstr(line, "\r\n");
        size_t length = end ? (size_t)(end - line) : strlen(line);
        if (length > name_length && strncasecmp(line, name, name_length) == 0 &&
            line[name_length] == ':') {
            const char *value = line + name_length + 1;
            while (*value == ' ')
                value++;
            size_t value_length = (size_t)(line + length - value);
            snprintf(out, size, "%.*s", (int)value_length, value);
            return true;
        }
        line = end ? end + 2 : NULL;
    }
    return false;
}

static void s_assert_header(const s_response_t *response, const char *name, const char *expected)
{
    char value[256];
    if (!s_header(response, name, value, sizeof value))
        fail_msg("header %s missing in:\n%s", name, response->headers);
    assert_string_equal(value, expected);
}

/* Asserts the status and the JSON error shape of every response; prints the body on a
   mismatch so a failure explains itself. */
static void s_assert_status(const s_response_t *response, long status)
{
    if (response->status != status)
        fail_msg("expected %ld, got %ld: %s", status, response->status,
                 response->body ? response->body : "(no body)");
    s_assert_header(response, "Content-Type", "application/json; charset=utf-8");
    s_assert_header(response, "Cache-Control", "no-store");
    if (response->body_size > 0)
        assert_non_null(response->json);
    if (status >= 400) {
        assert_true(json_is_string(json_object_get(response->json, "error")));
        assert_non_null(json_object_get(response->json, "detail"));
    }
}

static const char *s_error(const s_response_t *response)
{
    return json_string_value(json_object_get(response->json, "error"));
}

/* A JWT for tenant, with subject sub (NULL = none), valid from now for lifetime_s. */
static char *s_jwt(const char *tenant, const char *sub, int64_t lifetime_s)
{
    char claims[512];
    int64_t now = (int64_t)time(NULL);
    if (sub)
        snprintf(claims, sizeof claims,
                 "{\"tenant_id\":\"%s\",\"sub\":\"%s\",\"iat\":%lld,\"exp\":%lld}", tenant, sub,
                 (long long)now, (long long)(now + lifetime_s));
    else
        snprintf(claims, sizeof claims, "{\"tenant_id\":\"%s\",\"iat\":%lld,\"exp\":%lld}", tenant,
                 (long long)now, (long long)(now + lifetime_s));
    char *token = auth_jwt_sign(JWT_SECRET, claims);
    assert_non_null(token);
    char *header = malloc(strlen(token) + 8);
    assert_non_null(header);
    sprintf(header, "Bearer %s", token);
    free(token);
    return header;
}

/* ---- fixtures -------------------------------------------------------------------------- */

static ingest_config_t s_ingest_config;
static zactor_t *s_ingest;
static store_config_t s_store_config;
static zactor_t *s_store;
static correlate_config_t s_correlate_config;
static zactor_t *s_correlate;
static char s_directory[512];
static char s_database_url[600];

static void s_ingest_start(const char *correlate_endpoint, const char *store_endpoint,
                           int64_t timeout_ms, size_t max_body_bytes, size_t max_batch)
{
    memset(&s_ingest_config, 0, sizeof s_ingest_config);
    s_ingest_config.http_address = "127.0.0.1";
    s_ingest_config.http_port = 0;
    s_ingest_config.http_threads = 2;
    s_ingest_config.correlate_endpoint = correlate_endpoint;
    s_ingest_config.store_query_endpoint = store_endpoint;
    s_ingest_config.request_timeout_ms = timeout_ms;
    s_ingest_config.max_body_bytes = max_body_bytes;
    s_ingest_config.max_batch = max_batch;
    s_ingest_config.service_token = strdup(SERVICE_TOKEN);
    s_ingest_config.jwt_secret = strdup(JWT_SECRET);
    s_ingest = zactor_new(ingest_actor, &s_ingest_config);
    assert_non_null(s_ingest);
    zstr_send(s_ingest, "PORT");
    char *port = zstr_recv(s_ingest);
    assert_non_null(port);
    s_port = atoi(port);
    zstr_free(&port);
    assert_true(s_port > 0);
}

static void s_ingest_stop(void)
{
    zactor_destroy(&s_ingest);
    ingest_config_clear(&s_ingest_config);
    s_port = 0;
}

static int s_edge_setup(void **state)
{
    s_ingest_start("inproc://ingest-test-nobody-correlate", "inproc://ingest-test-nobody-store",
                   300, 64 * 1024, 5);
    return 0;
}

static int s_edge_teardown(void **state)
{
    s_ingest_stop();
    return 0;
}

static int s_pipeline_setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(s_directory, sizeof s_directory, "%s/lookout-ingest-test-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(s_directory));
    snprintf(s_database_url, sizeof s_database_url, "sqlite:%s/" LK_TESTING_DB, s_directory);

    memset(&s_store_config, 0, sizeof s_store_config);
    s_store_config.database_url = s_database_url;
    s_store_config.mutation_endpoint = "inproc://ingest-test-store";
    s_store_config.query_endpoint = "inproc://ingest-test-store-query";
    s_store_config.events_endpoint = "inproc://ingest-test-store-events";
    s_store_config.batch_max = 256;
    s_store = zactor_new(store_actor, &s_store_config);
    assert_non_null(s_store);

    memset(&s_correlate_config, 0, sizeof s_correlate_config);
    s_correlate_config.frontend_endpoint = "inproc://ingest-test-correlate";
    s_correlate_config.store_endpoint = "inproc://ingest-test-store";
    s_correlate_config.store_query_endpoint = "inproc://ingest-test-store-query";
    s_correlate_config.group_by = "alertname";
    s_correlate_config.reopen_window_ms = 600000;
    s_correlate_config.store_timeout_ms = 2000;
    s_correlate_config.shard_count = 1;
    s_correlate_config.shard_index = 0;
    s_correlate = zactor_new(correlate_actor, &s_correlate_config);
    assert_non_null(s_correlate);

    s_ingest_start("inproc://ingest-test-correlate", "inproc://ingest-test-store-query", 10000,
                   1024 * 1024, 1000);
    return 0;
}

static int s_pipeline_teardown(void **state)
{
    s_ingest_stop();
    zactor_destroy(&s_correlate);
    zactor_destroy(&s_store);
    lk_testing_remove_db_dir(s_directory);
    return 0;
}

/* ---- edge: routing --------------------------------------------------------------------- */

static void test_healthz(void **state)
{
    s_response_t response;
    s_options_t anonymous = {NULL, NULL, 0, true};
    s_request("GET", "/healthz", NULL, &anonymous, &response);
    s_assert_status(&response, 200);
    assert_string_equal(json_string_value(json_object_get(response.json, "status")), "ok");
    s_response_clear(&response);

    s_request("HEAD", "/healthz", NULL, &anonymous, &response);
    assert_int_equal(response.status, 200);
    assert_int_equal(response.body_size, 0);
    s_response_clear(&response);
}

static void test_unknown_paths_are_404(void **state)
{
    static const char *paths[] = {"/",
                                  "/nope",
                                  "/incidents/",
                                  "/alerts/",
                                  "/incidents//resolve",
                                  "/incidents/" UNKNOWN_ID "/close",
                                  "/healthz/x",
                                  "/INCIDENTS"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        s_response_t response;
        s_request("GET", paths[i], NULL, NULL, &response);
        s_assert_status(&response, 404);
        assert_string_equal(s_error(&response), "not found");
        s_response_clear(&response);
    }
}

static void test_wrong_method_is_405(void **state)
{
    static const struct {
        const char *method, *path, *allow;
    } cases[] = {
        {"GET", "/alerts", "POST"},
        {"PUT", "/alerts", "POST"},
        {"POST", "/incidents", "GET, HEAD"},
        {"DELETE", "/incidents/" UNKNOWN_ID, "GET, HEAD"},
        {"GET", "/incidents/" UNKNOWN_ID "/acknowledge", "POST"},
        {"PATCH", "/incidents/" UNKNOWN_ID "/resolve", "POST"},
        {"POST", "/healthz", "GET, HEAD"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        s_response_t response;
        s_request(cases[i].method, cases[i].path, NULL, NULL, &response);
        s_assert_status(&response, 405);
        s_assert_header(&response, "Allow", cases[i].allow);
        s_response_clear(&response);
    }
}

/* ---- edge: authentication -------------------------------------------------------------- */

static void test_missing_credentials_401(void **state)
{
    s_response_t response;
    s_options_t anonymous = {NULL, TENANT_A, 0, true};
    s_request("GET", "/incidents", NULL, &anonymous, &response);
    s_assert_status(&response, 401);
    assert_string_equal(s_error(&response), "missing credentials");
    s_assert_header(&response, "WWW-Authenticate", "Bearer");
    s_response_clear(&response);

    /* Authentication comes before the body is looked at. */
    s_request("POST", "/alerts", "{not json", &anonymous, &response);
    s_assert_status(&response, 401);
    s_response_clear(&response);
}

static void test_bad_credentials(void **state)
{
    s_response_t response;
    s_options_t wrong_token = {"Bearer not-the-token", TENANT_A, 0, false};
    s_request("GET", "/incidents", NULL, &wrong_token, &response);
    s_assert_status(&response, 401);
    s_assert_header(&response, "WWW-Authenticate", "Bearer");
    s_response_clear(&response);

    s_options_t basic = {"Basic dXNlcjpwYXNz", TENANT_A, 0, false};
    s_request("GET", "/incidents", NULL, &basic, &response);
    s_assert_status(&response, 401);
    s_response_clear(&response);

    s_options_t no_tenant = {NULL, NULL, 0, false};
    s_request("GET", "/incidents", NULL, &no_tenant, &response);
    s_assert_status(&response, 400);
    s_response_clear(&response);

    s_options_t bad_tenant = {NULL, "not-a-uuid", 0, false};
    s_request("POST", "/alerts", "{\"name\":\"x\"}", &bad_tenant, &response);
    s_assert_status(&response, 400);
    s_response_clear(&response);

    char *jwt = s_jwt(TENANT_A, "alice", 3600);
    s_options_t other_tenant = {jwt, TENANT_B, 0, false};
    s_request("GET", "/incidents", NULL, &other_tenant, &response);
    s_assert_status(&response, 403);
    s_response_clear(&response);
    free(jwt);

    jwt = s_jwt(TENANT_A, "alice", -3600);
    s_options_t expired = {jwt, NULL, 0, false};
    s_request("GET", "/incidents", NULL, &expired, &response);
    s_assert_status(&response, 401);
    s_assert_header(&response, "WWW-Authenticate", "Bearer");
    s_response_clear(&response);
    free(jwt);
}

static void test_valid_jwt_passes(void **state)
{
    /* A bad incident id is answered after authentication and without the pipeline. */
    char *jwt = s_jwt(TENANT_A, "alice", 3600);
    s_options_t options = {jwt, NULL, 0, false};
    s_response_t response;
    s_request("GET", "/incidents/not-a-uuid", NULL, &options, &response);
    s_assert_status(&response, 400);
    assert_string_equal(s_error(&response), "invalid incident id");
    s_response_clear(&response);
    free(jwt);
}

/* ---- edge: bodies ---------------------------------------------------------------------- */

static void test_malformed_json_400(void **state)
{
    static const char *bodies[] = {"{\"name\": ", "not json", "42", "\"text\"", "", "[1,]"};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        s_response_t response;
        s_request("POST", "/alerts", bodies[i], NULL, &response);
        s_assert_status(&response, 400);
        assert_string_equal(s_error(&response), "invalid JSON");
        const char *detail = json_string_value(json_object_get(response.json, "detail"));
        assert_non_null(detail);
        assert_non_null(strstr(detail, "line 1, column"));
        s_response_clear(&response);
    }
}

static void test_deep_json_400(void **state)
{
    char body[200];
    memset(body, '[', 40);
    memset(body + 40, ']', 40);
    body[80] = '\0';
    s_response_t response;
    s_request("POST", "/alerts", body, NULL, &response);
    s_assert_status(&response, 400);
    assert_non_null(strstr(json_string_value(json_object_get(response.json, "detail")), "32"));
    s_response_clear(&response);
}

static void test_body_too_large_413(void **state)
{
    /* Declared length over the 64 KiB limit of this ingest. */
    size_t size = 70 * 1024;
    char *body = malloc(size + 1);
    assert_non_null(body);
    memset(body, ' ', size);
    body[size] = '\0';
    s_response_t response;
    s_request("POST", "/alerts", body, NULL, &response);
    s_assert_status(&response, 413);
    s_response_clear(&response);
    free(body);

    /* No declared length: found out while reading. */
    s_options_t chunked = {NULL, TENANT_A, 200 * 1024, false};
    s_request("POST", "/alerts", NULL, &chunked, &response);
    s_assert_status(&response, 413);
    s_response_clear(&response);

    /* A chunked body under the limit is read whole. */
    s_options_t small = {NULL, TENANT_A, 1000, false};
    s_request("POST", "/alerts", NULL, &small, &response);
    s_assert_status(&response, 400);
    assert_string_equal(s_error(&response), "invalid JSON");
    s_response_clear(&response);
}

static void test_too_many_alerts_413(void **state)
{
    /* This ingest allows 5 per request. */
    s_response_t response;
    s_request("POST", "/alerts",
              "[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"d\"},"
              "{\"name\":\"e\"},{\"name\":\"f\"}]",
              NULL, &response);
    s_assert_status(&response, 413);
    assert_string_equal(s_error(&response), "too many alerts");
    s_response_clear(&response);
}

static void test_nothing_valid_needs_no_pipeline(void **state)
{
    /* Nobody serves correlate here: these answers prove it was not asked. */
    s_response_t response;
    s_request("POST", "/alerts", "[]", NULL, &response);
    s_assert_status(&response, 202);
    assert_int_equal(json_integer_value(json_object_get(response.json, "accepted")), 0);
    assert_int_equal(json_array_size(json_object_get(response.json, "alerts")), 0);
    s_response_clear(&response);

    s_request("POST", "/alerts", "[{\"labels\":{\"bad-name\":\"x\"}}, {\"status\":\"maybe\"}]",
              NULL, &response);
    s_assert_status(&response, 400);
    assert_string_equal(s_error(&response), "some alerts are invalid");
    assert_int_equal(json_integer_value(json_object_get(response.json, "accepted")), 0);
    assert_int_equal(json_integer_value(json_object_get(response.json, "rejected")), 2);
    json_t *errors = json_object_get(response.json, "errors");
    assert_true(json_array_size(errors) >= 2);
    assert_true(json_equal(errors, json_object_get(response.json, "detail")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(errors, 0), "index")), 0);
    s_response_clear(&response);
}

/* ---- edge: query parameters and ids ---------------------------------------------------- */

static void test_bad_list_parameters_400(void **state)
{
    static const struct {
        const char *query, *parameter;
    } cases[] = {
        {"status=open", "status"},
        {"status=triggered,", "status"},
        {"status=triggered&status=resolved", "status"},
        {"severity=loud", "severity"},
        {"since=yesterday", "since"},
        {"until=2026-13-01T00:00:00Z", "until"},
        {"limit=0", "limit"},
        {"limit=501", "limit"},
        {"limit=ten", "limit"},
        {"limit=-5", "limit"},
        {"label.bad-name=x", "label.bad-name"},
        {"label.=x", "label."},
        {"label.a=1&label.a=2", "label.a"},
        {"colour=red", "colour"},
        {"cursor=", "cursor"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[512];
        snprintf(path, sizeof path, "/incidents?%s", cases[i].query);
        s_response_t response;
        s_request("GET", path, NULL, NULL, &response);
        s_assert_status(&response, 400);
        json_t *detail = json_object_get(response.json, "detail");
        const char *parameter = json_string_value(json_object_get(detail, "parameter"));
        if (!parameter || strcmp(parameter, cases[i].parameter) != 0)
            fail_msg("%s: %s", cases[i].query, response.body);
        s_response_clear(&response);
    }
    /* Names that are not UTF-8 are still named, as far as JSON allows. */
    s_response_t response;
    s_request("GET", "/incidents?%FF=1", NULL, NULL, &response);
    s_assert_status(&response, 400);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(response.json, "detail"), "parameter")),
        "(not UTF-8)");
    s_response_clear(&response);

    char path[400];
    char cursor[300];
    memset(cursor, 'c', 257);
    cursor[257] = '\0';
    snprintf(path, sizeof path, "/incidents?cursor=%s", cursor);
    s_request("GET", path, NULL, NULL, &response);
    s_assert_status(&response, 400);
    s_response_clear(&response);
}

static void test_bad_command_requests_400(void **state)
{
    s_response_t response;
    s_request("POST", "/incidents/12345/acknowledge", NULL, NULL, &response);
    s_assert_status(&response, 400);
    assert_string_equal(s_error(&response), "invalid incident id");
    s_response_clear(&response);

    static const char *bodies[] = {"{\"actor\": 5}", "{\"actor\": \"\"}", "[1]", "{\"note\": true}",
                                   "{\"actor\": "};
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        s_request("POST", "/incidents/" UNKNOWN_ID "/resolve", bodies[i], NULL, &response);
        s_assert_status(&response, 400);
        s_response_clear(&response);
    }
}

/* ---- edge: pipeline missing ------------------------------------------------------------ */

static void s_assert_unavailable(const s_response_t *response)
{
    s_assert_status(response, 503);
    s_assert_header(response, "Retry-After", "1");
    assert_string_equal(s_error(response), "pipeline unavailable");
    assert_true(json_is_string(json_object_get(response->json, "detail")));
}

static void test_pipeline_unavailable_503(void **state)
{
    s_response_t response;
    s_request("POST", "/alerts", "{\"name\":\"HighCPU\",\"labels\":{\"host\":\"a\"}}", NULL,
              &response);
    s_assert_unavailable(&response);
    s_response_clear(&response);

    s_request("GET", "/incidents?status=triggered", NULL, NULL, &response);
    s_assert_unavailable(&response);
    s_response_clear(&response);

    s_request("GET", "/incidents/" UNKNOWN_ID, NULL, NULL, &response);
    s_assert_unavailable(&response);
    s_response_clear(&response);

    s_request("POST", "/incidents/" UNKNOWN_ID "/acknowledge", "{\"note\":\"x\"}", NULL, &response);
    s_assert_unavailable(&response);
    s_response_clear(&response);

    /* The server keeps answering after timeouts. */
    s_options_t anonymous = {NULL, NULL, 0, true};
    s_request("GET", "/healthz", NULL, &anonymous, &response);
    s_assert_status(&response, 200);
    s_response_clear(&response);
}

/* ---- pipeline -------------------------------------------------------------------------- */

/* The incident of the first alert result of a POST /alerts reply. */
static const char *s_result_incident(const s_response_t *response, size_t i)
{
    json_t *alerts = json_object_get(response->json, "alerts");
    return json_string_value(json_object_get(json_array_get(alerts, i), "incident_id"));
}

static const char *s_result_outcome(const s_response_t *response, size_t i)
{
    json_t *alerts = json_object_get(response->json, "alerts");
    return json_string_value(json_object_get(json_array_get(alerts, i), "outcome"));
}

/* Returns the incident with id in a GET /incidents reply, or NULL. */
static json_t *s_find_incident(const s_response_t *response, const char *id)
{
    json_t *list = json_object_get(response->json, "incidents");
    size_t i;
    json_t *incident;
    json_array_foreach(list, i, incident)
    {
        if (strcmp(json_string_value(json_object_get(incident, "id")), id) == 0)
            return incident;
    }
    return NULL;
}

static const char *s_incident_field(const s_response_t *response, const char *field)
{
    return json_string_value(json_object_get(json_object_get(response->json, "incident"), field));
}

static void test_walk_through(void **state)
{
    const char *alert = "{\"name\":\"HighCPU\",\"labels\":{\"host\":\"web-1\"},"
                        "\"severity\":\"critical\",\"annotations\":{\"summary\":\"CPU hot\"}}";
    s_response_t response;
    s_request("POST", "/alerts", alert, NULL, &response);
    s_assert_status(&response, 202);
    assert_int_equal(json_integer_value(json_object_get(response.json, "accepted")), 1);
    assert_int_equal(json_integer_value(json_object_get(response.json, "rejected")), 0);
    assert_int_equal(json_array_size(json_object_get(response.json, "errors")), 0);
    assert_string_equal(s_result_outcome(&response, 0), "new");
    char id[64];
    assert_non_null(s_result_incident(&response, 0));
    snprintf(id, sizeof id, "%s", s_result_incident(&response, 0));
    assert_true(lk_uuid_valid(id));
    char fingerprint[32];
    snprintf(fingerprint, sizeof fingerprint, "%s",
             json_string_value(json_object_get(
                 json_array_get(json_object_get(response.json, "alerts"), 0), "fingerprint")));
    assert_int_equal(strlen(fingerprint), 16);
    s_response_clear(&response);

    /* The re-send Prometheus makes every minute changes nothing. */
    s_request("POST", "/alerts", alert, NULL, &response);
    s_assert_status(&response, 202);
    assert_string_equal(s_result_outcome(&response, 0), "unchanged");
    assert_string_equal(s_result_incident(&response, 0), id);
    s_response_clear(&response);

    s_request("GET", "/incidents", NULL, NULL, &response);
    s_assert_status(&response, 200);
    json_t *listed = s_find_incident(&response, id);
    assert_non_null(listed);
    assert_string_equal(json_string_value(json_object_get(listed, "status")), "triggered");
    assert_string_equal(json_string_value(json_object_get(listed, "severity")), "critical");
    assert_string_equal(json_string_value(json_object_get(listed, "tenant_id")), TENANT_A);
    assert_true(json_object_get(response.json, "next_cursor") != NULL);
    s_response_clear(&response);

    char path[256];
    snprintf(path, sizeof path, "/incidents/%s", id);
    s_request("GET", path, NULL, NULL, &response);
    s_assert_status(&response, 200);
    assert_string_equal(s_incident_field(&response, "id"), id);
    json_t *alerts = json_object_get(response.json, "alerts");
    assert_int_equal(json_array_size(alerts), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(alerts, 0), "fingerprint")), fingerprint);
    json_t *timeline = json_object_get(response.json, "timeline");
    assert_true(json_array_size(timeline) >= 1);
    s_response_clear(&response);

    /* Upper-case ids name the same incident. */
    char upper[256];
    snprintf(upper, sizeof upper, "/incidents/%s", id);
    for (char *at = upper + strlen("/incidents/"); *at; at++)
        *at = (char)toupper((unsigned char)*at);
    s_request("GET", upper, NULL, NULL, &response);
    s_assert_status(&response, 200);
    s_response_clear(&response);

    /* Acknowledge as alice (the JWT subject is the default actor). */
    char *jwt = s_jwt(TENANT_A, "alice", 3600);
    s_options_t alice = {jwt, NULL, 0, false};
    snprintf(path, sizeof path, "/incidents/%s/acknowledge", id);
    s_request("POST", path, NULL, &alice, &response);
    s_assert_status(&response, 200);
    assert_true(json_is_true(json_object_get(response.json, "changed")));
    assert_string_equal(s_incident_field(&response, "status"), "acknowledged");
    assert_string_equal(s_incident_field(&response, "acknowledged_by"), "alice");
    s_response_clear(&response);

    s_request("POST", path, "{\"note\":\"still looking\"}", &alice, &response);
    s_assert_status(&response, 200);
    assert_true(json_is_false(json_object_get(response.json, "changed")));
    assert_string_equal(s_incident_field(&response, "status"), "acknowledged");
    s_response_clear(&response);
    free(jwt);

    snprintf(path, sizeof path, "/incidents/%s/resolve", id);
    s_request("POST", path, "{\"actor\":\"bob\",\"note\":\"fixed the cron job\"}", NULL, &response);
    s_assert_status(&response, 200);
    assert_true(json_is_true(json_object_get(response.json, "changed")));
    assert_string_equal(s_incident_field(&response, "status"), "resolved");
    assert_string_equal(s_incident_field(&response, "resolved_by"), "bob");
    s_response_clear(&response);

    s_request("POST", path, NULL, NULL, &response);
    s_assert_status(&response, 200);
    assert_true(json_is_false(json_object_get(response.json, "changed")));
    s_response_clear(&response);

    /* A resolved incident cannot be acknowledged. */
    snprintf(path, sizeof path, "/incidents/%s/acknowledge", id);
    s_request("POST", path, NULL, NULL, &response);
    s_assert_status(&response, 409);
    s_response_clear(&response);

    /* Filters see the new state. */
    s_request("GET", "/incidents?status=resolved&severity=error", NULL, NULL, &response);
    s_assert_status(&response, 200);
    assert_non_null(s_find_incident(&response, id));
    s_response_clear(&response);
    s_request("GET", "/incidents?status=triggered,acknowledged", NULL, NULL, &response);
    s_assert_status(&response, 200);
    assert_null(s_find_incident(&response, id));
    s_response_clear(&response);
    s_request("GET", "/incidents?label.alertname=HighCPU", NULL, NULL, &response);
    s_assert_status(&response, 200);
    assert_non_null(s_find_incident(&response, id));
    s_response_clear(&response);
    s_request("GET", "/incidents?label.alertname=Other", NULL, NULL, &response);
    s_assert_status(&response, 200);
    assert_null(s_find_incident(&response, id));
    s_response_clear(&response);

    snprintf(path, sizeof path, "/incidents/%s", id);
    s_request("GET", path, NULL, NULL, &response);
    s_assert_status(&response, 200);
    timeline = json_object_get(response.json, "timeline");
    /* triggered (and alert added), acknowledged, resolved: oldest first. */
    assert_true(json_array_size(timeline) >= 3);
    json_int_t previous = 0;
    size_t i;
    json_t *event;
    json_array_foreach(timeline, i, event)
    {
        json_int_t sequence = json_integer_value(json_object_get(event, "sequence"));
        assert_true(sequence > previous);
        previous = sequence;
    }
    s_response_clear(&response);
}

static void test_batch_with_invalid_elements(void **state)
{
    s_response_t response;
    s_request("POST", "/alerts",
              "[{\"name\":\"DiskFull\",\"labels\":{\"host\":\"db-1\"}},"
              " {\"name\":\"DiskFull\",\"labels\":{\"bad-name\":\"x\"}},"
              " {\"name\":\"DiskFull\",\"labels\":{\"host\":\"db-2\"},\"severity\":\"error\"}]",
              NULL, &response);
    s_assert_status(&response, 400);
    assert_string_equal(s_error(&response), "some alerts are invalid");
    assert_int_equal(json_integer_value(json_object_get(response.json, "accepted")), 2);
    assert_int_equal(json_integer_value(json_object_get(response.json, "rejected")), 1);
    json_t *errors = json_object_get(response.json, "errors");
    assert_int_equal(json_array_size(errors), 1);
    json_t *error = json_array_get(errors, 0);
    assert_int_equal(json_integer_value(json_object_get(error, "index")), 1);
    assert_string_equal(json_string_value(json_object_get(error, "field")), "labels.bad-name");
    assert_true(json_equal(errors, json_object_get(response.json, "detail")));
    json_t *alerts = json_object_get(response.json, "alerts");
    assert_int_equal(json_array_size(alerts), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(alerts, 0), "index")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(alerts, 1), "index")), 2);
    /* Grouped by alertname: both valid alerts join one incident. */
    char id[64];
    snprintf(id, sizeof id, "%s", s_result_incident(&response, 0));
    assert_string_equal(s_result_incident(&response, 1), id);
    s_response_clear(&response);

    /* The valid ones were committed. */
    char path[256];
    snprintf(path, sizeof path, "/incidents/%s", id);
    s_request("GET", path, NULL, NULL, &response);
    s_assert_status(&response, 200);
    assert_int_equal(json_array_size(json_object_get(response.json, "alerts")), 2);
    assert_string_equal(s_incident_field(&response, "severity"), "error");
    s_response_clear(&response);
}

static void test_other_tenant_sees_nothing(void **state)
{
    s_response_t response;
    s_request("POST", "/alerts", "{\"name\":\"TenantAOnly\"}", NULL, &response);
    s_assert_status(&response, 202);
    char id[64];
    snprintf(id, sizeof id, "%s", s_result_incident(&response, 0));
    s_response_clear(&response);

    s_options_t tenant_b = {NULL, TENANT_B, 0, false};
    s_request("GET", "/incidents", NULL, &tenant_b, &response);
    s_assert_status(&response, 200);
    assert_int_equal(json_array_size(json_object_get(response.json, "incidents")), 0);
    assert_true(json_is_null(json_object_get(response.json, "next_cursor")));
    s_response_clear(&response);

    char path[256];
    snprintf(path, sizeof path, "/incidents/%s", id);
    s_request("GET", path, NULL, &tenant_b, &response);
    s_assert_status(&response, 404);
    s_response_clear(&response);

    snprintf(path, sizeof path, "/incidents/%s/acknowledge", id);
    s_request("POST", path, NULL, &tenant_b, &response);
    s_assert_status(&response, 404);
    s_response_clear(&response);

    snprintf(path, sizeof path, "/incidents/%s/resolve", id);
    s_request("POST", path, NULL, &tenant_b, &response);
    s_assert_status(&response, 404);
    s_response_clear(&response);

    /* Still untouched for its owner. */
    snprintf(path, sizeof path, "/incidents/%s", id);
    s_request("GET", path, NULL, NULL, &response);
    s_assert_status(&response, 200);
    assert_string_equal(s_incident_field(&response, "status"), "triggered");
    s_response_clear(&response);
}

static void test_unknown_incident_404(void **state)
{
    s_response_t response;
    s_request("GET", "/incidents/" UNKNOWN_ID, NULL, NULL, &response);
    s_assert_status(&response, 404);
    assert_string_equal(s_error(&response), "incident not found");
    s_response_clear(&response);

    s_request("POST", "/incidents/" UNKNOWN_ID "/acknowledge", NULL, NULL, &response);
    s_assert_status(&response, 404);
    s_response_clear(&response);
}

static void test_pagination(void **state)
{
    /* Three incidents of their own (one per alertname) for a tenant of their own. */
    static const char *tenant = "33333333-3333-4333-8333-333333333333";
    s_options_t options = {NULL, tenant, 0, false};
    s_response_t response;
    s_request("POST", "/alerts", "[{\"name\":\"P1\"},{\"name\":\"P2\"},{\"name\":\"P3\"}]",
              &options, &response);
    s_assert_status(&response, 202);
    s_response_clear(&response);

    char path[512] = "/incidents?limit=2";
    size_t seen = 0;
    for (int page = 0; page < 3; page++) {
        s_request("GET", path, NULL, &options, &response);
        s_assert_status(&response, 200);
        seen += json_array_size(json_object_get(response.json, "incidents"));
        const char *cursor = json_string_value(json_object_get(response.json, "next_cursor"));
        if (!cursor) {
            s_response_clear(&response);
            break;
        }
        char *escaped = curl_easy_escape(NULL, cursor, 0);
        snprintf(path, sizeof path, "/incidents?limit=2&cursor=%s", escaped);
        curl_free(escaped);
        s_response_clear(&response);
    }
    assert_int_equal(seen, 3);
}

int main(void)
{
    lk_log_init("test_ingest_http", LK_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest edge[] = {
        cmocka_unit_test(test_healthz),
        cmocka_unit_test(test_unknown_paths_are_404),
        cmocka_unit_test(test_wrong_method_is_405),
        cmocka_unit_test(test_missing_credentials_401),
        cmocka_unit_test(test_bad_credentials),
        cmocka_unit_test(test_valid_jwt_passes),
        cmocka_unit_test(test_malformed_json_400),
        cmocka_unit_test(test_deep_json_400),
        cmocka_unit_test(test_body_too_large_413),
        cmocka_unit_test(test_too_many_alerts_413),
        cmocka_unit_test(test_nothing_valid_needs_no_pipeline),
        cmocka_unit_test(test_bad_list_parameters_400),
        cmocka_unit_test(test_bad_command_requests_400),
        cmocka_unit_test(test_pipeline_unavailable_503),
    };
    const struct CMUnitTest pipeline[] = {
        cmocka_unit_test(test_walk_through),
        cmocka_unit_test(test_batch_with_invalid_elements),
        cmocka_unit_test(test_other_tenant_sees_nothing),
        cmocka_unit_test(test_unknown_incident_404),
        cmocka_unit_test(test_pagination),
    };
    int failed = cmocka_run_group_tests_name("ingest_edge", edge, s_edge_setup, s_edge_teardown);
    failed += cmocka_run_group_tests_name("ingest_pipeline", pipeline, s_pipeline_setup,
                                          s_pipeline_teardown);
    curl_global_cleanup();
    return failed == 0 ? 0 : 1;
}
