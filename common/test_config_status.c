/*  test_config_status — the `status_pages:` section (lk_config_status.h): defaults,
    matchers, look-ups by slug and host, and every error naming file:line:column and field.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "lk_config.h"

#define TENANT "2f0c6d7e-1111-4222-8333-444455556666"

/* Loads text; asserts success and returns the configuration. */
static lk_config_t *s_load_ok(const char *text)
{
    lk_config_t *config = NULL;
    char err[512];
    if (lk_config_load_string("status.yaml", text, strlen(text), &config, err, sizeof err) != 0)
        fail_msg("unexpected error: %s", err);
    return config;
}

/* Loads text; asserts failure with an error that contains expected. */
static void s_load_fails(const char *text, const char *expected)
{
    lk_config_t *config = NULL;
    char err[512];
    int rc = lk_config_load_string("status.yaml", text, strlen(text), &config, err, sizeof err);
    if (rc == 0) {
        lk_config_destroy(&config);
        fail_msg("loaded, expected an error containing: %s", expected);
    }
    assert_null(config);
    if (!strstr(err, expected))
        fail_msg("error '%s' does not contain '%s'", err, expected);
}

static void test_full_page(void **state)
{
    (void)state;
    lk_config_t *config = s_load_ok("status_pages:\n"
                                    "  - slug: acme\n"
                                    "    tenant: 2F0C6D7E-1111-4222-8333-444455556666\n"
                                    "    title: Acme Cloud status\n"
                                    "    hosts: [Status.Acme.Example, status2.acme.example]\n"
                                    "    components:\n"
                                    "      - name: API\n"
                                    "        description: REST API\n"
                                    "        match: ['service=\"api\"', 'env=~\"prod|eu\"']\n"
                                    "      - name: Database\n"
                                    "        match: '{service=\"db\"}'\n"
                                    "        public: false\n"
                                    "  - slug: internal-2\n"
                                    "    tenant: " TENANT "\n"
                                    "    public: false\n");
    const lk_status_config_t *status = &config->status;
    assert_int_equal(status->page_count, 2);
    const lk_status_page_t *page = &status->pages[0];
    assert_string_equal(page->slug, "acme");
    assert_string_equal(page->tenant_id, TENANT); /* lower-cased */
    assert_string_equal(page->title, "Acme Cloud status");
    assert_true(page->is_public);
    assert_int_equal(page->host_count, 2);
    assert_string_equal(page->hosts[0], "status.acme.example");
    assert_int_equal(page->component_count, 2);
    const lk_status_component_t *api = &page->components[0];
    assert_string_equal(api->name, "API");
    assert_string_equal(api->description, "REST API");
    assert_true(api->is_public);
    assert_int_equal(api->matcher_count, 2);
    assert_int_equal(api->line, 7);
    const lk_status_component_t *db = &page->components[1];
    assert_null(db->description);
    assert_false(db->is_public);
    assert_int_equal(db->matcher_count, 1);

    /* the compiled matchers select the alerts' labels */
    lk_labels_t labels = {0};
    assert_int_equal(lk_labels_set(&labels, "service", "api"), 0);
    assert_int_equal(lk_labels_set(&labels, "env", "eu"), 0);
    assert_true(lk_matchset_matches(api->matchset, &labels));
    assert_false(lk_matchset_matches(db->matchset, &labels));
    assert_int_equal(lk_labels_set(&labels, "env", "staging"), 0);
    assert_false(lk_matchset_matches(api->matchset, &labels));
    lk_labels_clear(&labels);

    const lk_status_page_t *internal = &status->pages[1];
    assert_string_equal(internal->title, "internal-2"); /* default: the slug */
    assert_false(internal->is_public);
    assert_int_equal(internal->component_count, 0);

    assert_ptr_equal(lk_status_page_find(status, "acme"), page);
    assert_ptr_equal(lk_status_page_find(status, "internal-2"), internal);
    assert_null(lk_status_page_find(status, "ACME"));
    assert_null(lk_status_page_find(status, "nope"));
    assert_ptr_equal(lk_status_page_for_host(status, "status.acme.example"), page);
    assert_ptr_equal(lk_status_page_for_host(status, "STATUS2.acme.example:8080"), page);
    assert_null(lk_status_page_for_host(status, "acme.example"));
    assert_null(lk_status_page_for_host(status, "status.acme.example.evil"));
    assert_null(lk_status_page_for_host(status, ":80"));
    assert_null(lk_status_page_for_host(status, NULL));
    lk_config_destroy(&config);
}

static void test_empty_and_absent(void **state)
{
    (void)state;
    lk_config_t *config = s_load_ok("status_pages: []\n");
    assert_int_equal(config->status.page_count, 0);
    assert_null(lk_status_page_find(&config->status, "x"));
    lk_config_destroy(&config);
    config = s_load_ok("rules: []\n");
    assert_int_equal(config->status.page_count, 0);
    lk_config_destroy(&config);
}

static void test_slug_rule(void **state)
{
    (void)state;
    assert_true(lk_status_slug_valid("acme"));
    assert_true(lk_status_slug_valid("0-status-2"));
    assert_false(lk_status_slug_valid(""));
    assert_false(lk_status_slug_valid("-acme"));
    assert_false(lk_status_slug_valid("Acme"));
    assert_false(lk_status_slug_valid("acme.json"));
    assert_false(lk_status_slug_valid("a/b"));
    assert_false(lk_status_slug_valid(NULL));
    char long_slug[LK_STATUS_SLUG_MAX + 2];
    memset(long_slug, 'a', sizeof long_slug - 1);
    long_slug[sizeof long_slug - 1] = '\0';
    assert_false(lk_status_slug_valid(long_slug));
    long_slug[LK_STATUS_SLUG_MAX] = '\0';
    assert_true(lk_status_slug_valid(long_slug));
}

static void test_errors(void **state)
{
    (void)state;
    s_load_fails("status_pages: {}\n", "status.yaml:1:15: status_pages: expected a list");
    s_load_fails("status_pages:\n  - tenant: " TENANT "\n", "status_pages[0].slug: is required");
    s_load_fails("status_pages:\n  - slug: Acme\n    tenant: " TENANT "\n",
                 "status.yaml:2:11: status_pages[0].slug: expected lower-case letters");
    s_load_fails("status_pages:\n  - slug: acme\n    tenant: nope\n",
                 "status.yaml:3:13: status_pages[0].tenant: expected a tenant UUID");
    s_load_fails("status_pages:\n  - slug: acme\n    tenant: " TENANT "\n    titel: x\n",
                 "status_pages[0]: unknown key 'titel'");
    s_load_fails("status_pages:\n  - slug: acme\n    tenant: " TENANT "\n"
                 "  - slug: acme\n    tenant: " TENANT "\n",
                 "status.yaml:4:11: status_pages[1].slug: duplicate slug 'acme'");
    s_load_fails("status_pages:\n  - slug: a\n    tenant: " TENANT "\n    hosts: [x.example]\n"
                 "  - slug: b\n    tenant: " TENANT "\n    hosts: [X.example]\n",
                 "status_pages[1].hosts[0]: host 'x.example' already serves status_pages[0]");
    s_load_fails("status_pages:\n  - slug: a\n    tenant: " TENANT
                 "\n    hosts: [x.example, x.example]\n",
                 "status_pages[0].hosts[1]: host 'x.example' is listed twice");
    s_load_fails("status_pages:\n  - slug: a\n    tenant: " TENANT
                 "\n    hosts: ['https://x.example/']\n",
                 "status_pages[0].hosts[0]: expected a host name");
    s_load_fails("status_pages:\n  - slug: a\n    tenant: " TENANT "\n    public: maybe\n",
                 "status_pages[0].public");
    s_load_fails("status_pages:\n  - slug: a\n    tenant: " TENANT "\n    components:\n"
                 "      - name: API\n",
                 "status_pages[0].components[0].match: is required");
    s_load_fails("status_pages:\n  - slug: a\n    tenant: " TENANT "\n    components:\n"
                 "      - name: API\n        match: []\n",
                 "status_pages[0].components[0].match: expected at least one matcher");
    s_load_fails("status_pages:\n  - slug: a\n    tenant: " TENANT "\n    components:\n"
                 "      - name: API\n        match: ['service=~\"(\"']\n",
                 "status.yaml:6:16: status_pages[0].components[0].match");
    s_load_fails("status_pages:\n  - slug: a\n    tenant: " TENANT "\n    components:\n"
                 "      - name: API\n        match: ['service']\n",
                 "status_pages[0].components[0].match[0]");
    s_load_fails("status_pages:\n  - slug: a\n    tenant: " TENANT "\n    components:\n"
                 "      - {name: API, match: 'a=\"1\"'}\n      - {name: API, match: 'a=\"2\"'}\n",
                 "status_pages[0].components[1].name: duplicate component name 'API'");
    s_load_fails("status_pages:\n  - slug: a\n    tenant: " TENANT "\n    components:\n"
                 "      - {name: API, match: 'a=\"1\"', colour: red}\n",
                 "status_pages[0].components[0]: unknown key 'colour'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_page),
        cmocka_unit_test(test_empty_and_absent),
        cmocka_unit_test(test_slug_rule),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("common_config_status", tests, NULL, NULL);
}
