/*  lk_config_status — the `status_pages:` section (see the header).

    Every page and component is checked as a whole at load: slugs and host names unique over
    the file, component names unique within a page, matchers that parse and compile. A
    component must name at least one matcher: a component without one would match every
    incident of its tenant, which is never what a page means.
*/
#include "lk_config_status.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lk_config.h"
#include "lk_yaml.h"

#define S_FIELD_MAX 256

/* ---- field readers ------------------------------------------------------------------------ */

bool lk_status_slug_valid(const char *slug)
{
    size_t length = slug ? strlen(slug) : 0;
    if (length == 0 || length > LK_STATUS_SLUG_MAX)
        return false;
    if (!(islower((unsigned char)slug[0]) || isdigit((unsigned char)slug[0])))
        return false;
    for (const char *c = slug; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-'))
            return false;
    return true;
}

/* A DNS host name: letters, digits, '-' and '.', not starting or ending with '.'. */
static bool s_host_valid(const char *host)
{
    size_t length = strlen(host);
    if (length == 0 || length > LK_STATUS_HOST_MAX || host[0] == '.' || host[length - 1] == '.')
        return false;
    for (const char *c = host; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '.'))
            return false;
    return true;
}

/* An optional boolean key of mapping into *out (left alone when absent or null). */
static int s_read_bool(const lk_yaml_node_t *mapping, const char *path, const char *key, bool *out,
                       char *err, size_t err_size)
{
    const lk_yaml_node_t *node = lk_yaml_get(mapping, key);
    if (!node || lk_yaml_is_null(node))
        return 0;
    char field[S_FIELD_MAX];
    lk_yaml_path(field, sizeof field, "%s.%s", path, key);
    return lk_yaml_bool(node, field, out, err, err_size);
}

/* `match:` — one matcher string (or a comma list) or a list of them, as routes take them;
   at least one matcher. Fills the component's matchers and compiled set. */
static int s_read_match(const lk_yaml_node_t *node, const char *field,
                        lk_status_component_t *component, char *err, size_t err_size)
{
    char reason[256];
    if (node->kind == LK_YAML_SCALAR && !lk_yaml_is_null(node)) {
        if (lk_matchers_parse(node->text, &component->matchers, &component->matcher_count, reason,
                              sizeof reason) != 0)
            return lk_yaml_error(err, err_size, node, field, "%s", reason);
    } else if (node->kind == LK_YAML_SEQUENCE) {
        for (size_t i = 0; i < node->count; i++) {
            const lk_yaml_node_t *item = node->items[i];
            char item_field[S_FIELD_MAX];
            lk_yaml_path(item_field, sizeof item_field, "%s[%zu]", field, i);
            if (item->kind != LK_YAML_SCALAR || lk_yaml_is_null(item))
                return lk_yaml_error(err, err_size, item, item_field,
                                     "expected a matcher string such as 'service=\"api\"'");
            if (lk_matchers_parse(item->text, &component->matchers, &component->matcher_count,
                                  reason, sizeof reason) != 0)
                return lk_yaml_error(err, err_size, item, item_field, "%s", reason);
        }
    }
    if (component->matcher_count == 0)
        return lk_yaml_error(err, err_size, node, field,
                             "expected at least one matcher such as ['service=\"api\"'] (the "
                             "incidents whose alerts it matches concern the component)");
    component->matchset =
        lk_matchset_new(component->matchers, component->matcher_count, reason, sizeof reason);
    if (!component->matchset)
        return lk_yaml_error(err, err_size, node, field, "%s", reason);
    return 0;
}

/* ---- components and pages ------------------------------------------------------------------ */

static void s_component_clear(lk_status_component_t *component)
{
    free(component->name);
    free(component->description);
    lk_matchers_clear(&component->matchers, &component->matcher_count);
    lk_matchset_destroy(&component->matchset);
    memset(component, 0, sizeof *component);
}

static int s_parse_component(const lk_yaml_node_t *node, const char *path,
                             lk_status_component_t *component, char *err, size_t err_size)
{
    static const char *const known[] = {"name", "description", "match", "public", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    component->line = node->line;
    component->column = node->column;
    component->is_public = true;
    char field[S_FIELD_MAX];

    const lk_yaml_node_t *name = lk_yaml_require(node, path, "name", err, err_size);
    lk_yaml_path(field, sizeof field, "%s.name", path);
    if (!name || lk_yaml_string(name, field, 1, LK_STATUS_COMPONENT_NAME_MAX, &component->name, err,
                                err_size) != 0)
        return -1;
    const lk_yaml_node_t *description = lk_yaml_get(node, "description");
    if (description && !lk_yaml_is_null(description)) {
        lk_yaml_path(field, sizeof field, "%s.description", path);
        if (lk_yaml_string(description, field, 0, LK_STATUS_DESCRIPTION_MAX,
                           &component->description, err, err_size) != 0)
            return -1;
    }
    const lk_yaml_node_t *match = lk_yaml_require(node, path, "match", err, err_size);
    lk_yaml_path(field, sizeof field, "%s.match", path);
    if (!match || s_read_match(match, field, component, err, err_size) != 0)
        return -1;
    return s_read_bool(node, path, "public", &component->is_public, err, err_size);
}

static void s_page_clear(lk_status_page_t *page)
{
    free(page->slug);
    free(page->title);
    for (size_t i = 0; i < page->host_count; i++)
        free(page->hosts[i]);
    free(page->hosts);
    for (size_t i = 0; i < page->component_count; i++)
        s_component_clear(&page->components[i]);
    free(page->components);
    memset(page, 0, sizeof *page);
}

static int s_parse_hosts(const lk_yaml_node_t *node, const char *path, lk_status_page_t *page,
                         char *err, size_t err_size)
{
    char field[S_FIELD_MAX];
    lk_yaml_path(field, sizeof field, "%s.hosts", path);
    if (lk_yaml_expect(node, LK_YAML_SEQUENCE, field, err, err_size) != 0)
        return -1;
    if (node->count > LK_STATUS_HOSTS_MAX)
        return lk_yaml_error(err, err_size, node, field, "at most %d host names",
                             LK_STATUS_HOSTS_MAX);
    if (node->count == 0)
        return 0;
    page->hosts = calloc(node->count, sizeof *page->hosts);
    if (!page->hosts)
        return lk_yaml_error(err, err_size, node, field, "out of memory");
    for (size_t i = 0; i < node->count; i++) {
        char item_field[2 * S_FIELD_MAX];
        lk_yaml_path(item_field, sizeof item_field, "%s[%zu]", field, i);
        char *host = NULL;
        if (lk_yaml_string(node->items[i], item_field, 1, LK_STATUS_HOST_MAX, &host, err,
                           err_size) != 0)
            return -1;
        page->hosts[page->host_count++] = host;
        for (char *c = host; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (!s_host_valid(host))
            return lk_yaml_error(err, err_size, node->items[i], item_field,
                                 "expected a host name such as status.example.com (no scheme, "
                                 "port or path)");
    }
    return 0;
}

static int s_parse_page(const lk_yaml_node_t *node, const char *path, lk_status_page_t *page,
                        char *err, size_t err_size)
{
    static const char *const known[] = {"slug",   "tenant",     "title", "hosts",
                                        "public", "components", NULL};
    if (lk_yaml_expect(node, LK_YAML_MAPPING, path, err, err_size) != 0 ||
        lk_yaml_check_keys(node, path, known, err, err_size) != 0)
        return -1;
    page->line = node->line;
    page->column = node->column;
    page->is_public = true;
    char field[S_FIELD_MAX];

    const lk_yaml_node_t *slug = lk_yaml_require(node, path, "slug", err, err_size);
    lk_yaml_path(field, sizeof field, "%s.slug", path);
    if (!slug ||
        lk_yaml_string(slug, field, 1, LK_STATUS_SLUG_MAX, &page->slug, err, err_size) != 0)
        return -1;
    if (!lk_status_slug_valid(page->slug))
        return lk_yaml_error(err, err_size, slug, field,
                             "expected lower-case letters, digits and '-', starting with a "
                             "letter or digit (it is a URL path segment: /status/<slug>)");

    const lk_yaml_node_t *tenant = lk_yaml_require(node, path, "tenant", err, err_size);
    if (!tenant)
        return -1;
    lk_yaml_path(field, sizeof field, "%s.tenant", path);
    if (tenant->kind != LK_YAML_SCALAR || !lk_uuid_valid(tenant->text))
        return lk_yaml_error(err, err_size, tenant, field, "expected a tenant UUID like %s",
                             LK_SYSTEM_TENANT);
    for (size_t i = 0; i < LK_UUID_STR_LEN; i++)
        page->tenant_id[i] = (char)tolower((unsigned char)tenant->text[i]);
    page->tenant_id[LK_UUID_STR_LEN] = '\0';

    const lk_yaml_node_t *title = lk_yaml_get(node, "title");
    lk_yaml_path(field, sizeof field, "%s.title", path);
    if (title && !lk_yaml_is_null(title)) {
        if (lk_yaml_string(title, field, 1, LK_STATUS_TITLE_MAX, &page->title, err, err_size))
            return -1;
    } else if (!(page->title = strdup(page->slug)))
        return lk_yaml_error(err, err_size, node, field, "out of memory");

    const lk_yaml_node_t *hosts = lk_yaml_get(node, "hosts");
    if (hosts && !lk_yaml_is_null(hosts) && s_parse_hosts(hosts, path, page, err, err_size))
        return -1;
    if (s_read_bool(node, path, "public", &page->is_public, err, err_size) != 0)
        return -1;

    const lk_yaml_node_t *components = lk_yaml_get(node, "components");
    lk_yaml_path(field, sizeof field, "%s.components", path);
    if (!components || lk_yaml_is_null(components))
        return 0; /* a page without components shows its public incidents only */
    if (lk_yaml_expect(components, LK_YAML_SEQUENCE, field, err, err_size) != 0)
        return -1;
    if (components->count > LK_STATUS_COMPONENTS_MAX)
        return lk_yaml_error(err, err_size, components, field, "at most %d components",
                             LK_STATUS_COMPONENTS_MAX);
    if (components->count == 0)
        return 0;
    page->components = calloc(components->count, sizeof *page->components);
    if (!page->components)
        return lk_yaml_error(err, err_size, components, field, "out of memory");
    for (size_t i = 0; i < components->count; i++) {
        char item_path[2 * S_FIELD_MAX];
        lk_yaml_path(item_path, sizeof item_path, "%s[%zu]", field, i);
        lk_status_component_t *component = &page->components[i];
        page->component_count = i + 1; /* so that clear frees a half-read component */
        if (s_parse_component(components->items[i], item_path, component, err, err_size))
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(page->components[j].name, component->name) == 0) {
                char name_field[3 * S_FIELD_MAX];
                lk_yaml_path(name_field, sizeof name_field, "%s.name", item_path);
                return lk_yaml_error(err, err_size, lk_yaml_get(components->items[i], "name"),
                                     name_field, "duplicate component name '%s' (%s[%zu], line %d)",
                                     component->name, field, j, page->components[j].line);
            }
    }
    return 0;
}

int lk_config_parse_status_pages(const lk_yaml_node_t *node, lk_config_t *config, char *err,
                                 size_t err_size)
{
    lk_status_config_t *status = &config->status;
    if (lk_yaml_expect(node, LK_YAML_SEQUENCE, "status_pages", err, err_size) != 0)
        return -1;
    if (node->count > LK_STATUS_PAGES_MAX)
        return lk_yaml_error(err, err_size, node, "status_pages", "at most %d pages",
                             LK_STATUS_PAGES_MAX);
    if (node->count == 0)
        return 0;
    status->pages = calloc(node->count, sizeof *status->pages);
    if (!status->pages)
        return lk_yaml_error(err, err_size, node, "status_pages", "out of memory");
    for (size_t i = 0; i < node->count; i++) {
        char path[64];
        lk_yaml_path(path, sizeof path, "status_pages[%zu]", i);
        lk_status_page_t *page = &status->pages[i];
        status->page_count = i + 1; /* so that clear frees a half-read page */
        if (s_parse_page(node->items[i], path, page, err, err_size) != 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            const lk_status_page_t *earlier = &status->pages[j];
            char field[96];
            if (strcmp(earlier->slug, page->slug) == 0) {
                lk_yaml_path(field, sizeof field, "%s.slug", path);
                return lk_yaml_error(err, err_size, lk_yaml_get(node->items[i], "slug"), field,
                                     "duplicate slug '%s' (status_pages[%zu], line %d)", page->slug,
                                     j, earlier->line);
            }
            for (size_t h = 0; h < page->host_count; h++)
                for (size_t k = 0; k < earlier->host_count; k++)
                    if (strcmp(page->hosts[h], earlier->hosts[k]) == 0) {
                        lk_yaml_path(field, sizeof field, "%s.hosts[%zu]", path, h);
                        return lk_yaml_error(err, err_size,
                                             lk_yaml_get(node->items[i], "hosts")->items[h], field,
                                             "host '%s' already serves status_pages[%zu] (line %d)",
                                             page->hosts[h], j, earlier->line);
                    }
        }
        for (size_t h = 0; h < page->host_count; h++)
            for (size_t k = 0; k < h; k++)
                if (strcmp(page->hosts[h], page->hosts[k]) == 0) {
                    char field[96];
                    lk_yaml_path(field, sizeof field, "%s.hosts[%zu]", path, h);
                    return lk_yaml_error(err, err_size,
                                         lk_yaml_get(node->items[i], "hosts")->items[h], field,
                                         "host '%s' is listed twice", page->hosts[h]);
                }
    }
    return 0;
}

void lk_status_config_clear(lk_status_config_t *status)
{
    if (!status)
        return;
    for (size_t i = 0; i < status->page_count; i++)
        s_page_clear(&status->pages[i]);
    free(status->pages);
    memset(status, 0, sizeof *status);
}

/* ---- look-ups -------------------------------------------------------------------------------- */

const lk_status_page_t *lk_status_page_find(const lk_status_config_t *status, const char *slug)
{
    for (size_t i = 0; status && slug && i < status->page_count; i++)
        if (strcmp(status->pages[i].slug, slug) == 0)
            return &status->pages[i];
    return NULL;
}

const lk_status_page_t *lk_status_page_for_host(const lk_status_config_t *status, const char *host)
{
    if (!status || !host)
        return NULL;
    /* "[v6]:port" is never a configured name; "name:port" is compared without its port */
    size_t length = strcspn(host, ":");
    if (length == 0 || length > LK_STATUS_HOST_MAX)
        return NULL;
    for (size_t i = 0; i < status->page_count; i++)
        for (size_t h = 0; h < status->pages[i].host_count; h++) {
            const char *name = status->pages[i].hosts[h];
            if (strlen(name) == length && strncasecmp(name, host, length) == 0)
                return &status->pages[i];
        }
    return NULL;
}
