/*  lookoutctl — a command-line client for the Lookout HTTP API (docs/lookoutctl.md).

        lookoutctl incidents [--status S,S] [--severity S] [--label name=value] [--limit N] [--all]
        lookoutctl show ID
        lookoutctl ack ID [--note TEXT] [--actor NAME] [--timeout DURATION]
        lookoutctl resolve ID [--note TEXT] [--actor NAME]
        lookoutctl silences [list [--all]]
        lookoutctl silences add --matcher NAME=VALUE... (--duration D | --end TIME) [--start TIME]
                                [--comment TEXT] [--created-by NAME]
        lookoutctl silences expire ID
        lookoutctl oncall [--at TIME]
        lookoutctl tail [--since SEQUENCE] [--count N]

    Where and as whom: --url / LOOKOUT_URL (default http://127.0.0.1:18013); --token /
    --token-file / LOOKOUT_TOKEN (or LOOKOUT_TOKEN_FILE), else SERVICE_TOKEN (or
    SERVICE_TOKEN_FILE): a JWT or the service token; --tenant / LOOKOUT_TENANT: X-Tenant-ID,
    which the service token needs. Output: aligned tables with relative times, or with
    --json the API's JSON as it came. Exit status: 0 done, 1 the API answered an error (its
    body is printed on stderr) or could not be reached, 2 bad usage.
*/
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_format.h"
#include "ctl_http.h"
#include "lk_env.h"
#include "lk_log.h"
#include "lk_time.h"

#define S_EXIT_OK    0
#define S_EXIT_API   1
#define S_EXIT_USAGE 2

#define S_ARGS_MAX 256

typedef struct {
    ctl_http_t http;
    bool json;
    int64_t now_ms;
} s_ctl_t;

static const char *s_usage_text =
    "usage: lookoutctl [--url URL] [--token TOKEN | --token-file PATH] [--tenant UUID] [--json]\n"
    "                  COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  incidents [--status S[,S]] [--severity MIN] [--label NAME=VALUE] [--limit N] [--all]\n"
    "  show ID\n"
    "  ack ID [--note TEXT] [--actor NAME] [--timeout DURATION]\n"
    "  resolve ID [--note TEXT] [--actor NAME]\n"
    "  silences [list [--all]]\n"
    "  silences add --matcher NAME=VALUE [--matcher ...] (--duration D | --end TIME)\n"
    "               [--start TIME] [--comment TEXT] [--created-by NAME]\n"
    "  silences expire ID\n"
    "  oncall [--at TIME]\n"
    "  tail [--since SEQUENCE] [--count N]\n"
    "\n"
    "matchers: NAME=VALUE, NAME!=VALUE, NAME=~REGEX, NAME!~REGEX\n"
    "durations: 30s, 15m, 2h, 1h30m, 1d, 1w; TIME: RFC 3339, or +DURATION / -DURATION from now\n"
    "environment: LOOKOUT_URL, LOOKOUT_TOKEN[_FILE] (else SERVICE_TOKEN[_FILE]), LOOKOUT_TENANT\n"
    "exit status: 0 ok, 1 API error (body on stderr) or unreachable, 2 usage\n";

/* Says what is wrong with the command line (the whole usage only without a problem). */
static int s_usage(const char *problem)
{
    if (problem)
        fprintf(stderr, "lookoutctl: %s (lookoutctl --help shows the usage)\n", problem);
    else
        fputs(s_usage_text, stderr);
    return S_EXIT_USAGE;
}

/* ---- argument helpers ------------------------------------------------------------------- */

/* Matches args[*i] against "--name VALUE" or "--name=VALUE"; on a match sets *value, moves *i
   past what it used and returns 1; 0 when it is another argument; -1 when the value is
   missing. */
static int s_option(int count, char **args, int *i, const char *name, const char **value)
{
    size_t length = strlen(name);
    if (strncmp(args[*i], name, length) != 0)
        return 0;
    if (args[*i][length] == '=') {
        *value = args[*i] + length + 1;
        return 1;
    }
    if (args[*i][length] != '\0')
        return 0;
    if (*i + 1 >= count)
        return -1;
    *value = args[++*i];
    return 1;
}

/* Parses a TIME argument: RFC 3339, or +DURATION / -DURATION from now. */
static bool s_parse_time(const s_ctl_t *ctl, const char *text, int64_t *ms)
{
    if (text[0] == '+' || text[0] == '-') {
        int64_t delta;
        if (!ctl_duration_parse(text + 1, &delta))
            return false;
        *ms = ctl->now_ms + (text[0] == '+' ? delta : -delta);
        return true;
    }
    return lk_time_parse(text, ms);
}

/* ---- API calls -------------------------------------------------------------------------- */

/* Prints the API's error answer (or why there was none) on stderr; returns S_EXIT_API. */
static int s_api_error(const ctl_response_t *response)
{
    if (response->status == 0)
        fprintf(stderr, "lookoutctl: no answer: %s\n", response->error);
    else
        fprintf(stderr, "lookoutctl: HTTP %ld: %s%s", response->status,
                response->body && *response->body ? response->body : "(empty body)",
                response->body && response->size && response->body[response->size - 1] == '\n'
                    ? ""
                    : "\n");
    return S_EXIT_API;
}

/* Performs a request; returns 0 with *doc parsed (caller decrefs; NULL for an empty body)
   and the raw response kept in *response for --json, or S_EXIT_API after printing the
   error. */
static int s_call(const s_ctl_t *ctl, const char *method, const char *path, const char *body,
                  ctl_response_t *response, json_t **doc)
{
    *doc = NULL;
    if (ctl_http_request(&ctl->http, method, path, body, response) != 0 || response->status < 200 ||
        response->status >= 300) {
        int rc = s_api_error(response);
        ctl_response_clear(response);
        return rc;
    }
    if (response->size > 0) {
        json_error_t error;
        *doc = json_loadb(response->body, response->size, 0, &error);
        if (!*doc) {
            fprintf(stderr, "lookoutctl: the answer to %s %s is not JSON: %s\n", method, path,
                    error.text);
            ctl_response_clear(response);
            return S_EXIT_API;
        }
    }
    return 0;
}

/* Prints a raw answer body as it came, ending in a newline. */
static void s_print_raw(const ctl_response_t *response)
{
    fwrite(response->body, 1, response->size, stdout);
    if (response->size == 0 || response->body[response->size - 1] != '\n')
        fputc('\n', stdout);
}

/* ---- formatting helpers ----------------------------------------------------------------- */

static const char *s_str(const json_t *object, const char *key)
{
    const char *text = json_string_value(json_object_get(object, key));
    return text ? text : "-";
}

/* A relative time ("5m ago") for an RFC 3339 member; "-" when absent or null. */
static const char *s_ago(const s_ctl_t *ctl, const json_t *object, const char *key, char *buf,
                         size_t buf_size)
{
    int64_t ms;
    const char *text = json_string_value(json_object_get(object, key));
    if (!text || !lk_time_parse(text, &ms))
        return "-";
    ctl_relative_time(ms, ctl->now_ms, buf, buf_size);
    return buf;
}

/* "name=value, name=value" of a labels object (sorted by name, as the API returns them). */
static void s_labels_text(const json_t *labels, char *buf, size_t buf_size)
{
    buf[0] = '\0';
    size_t used = 0;
    const char *name;
    const json_t *value;
    json_object_foreach((json_t *)labels, name, value)
    {
        int n = snprintf(buf + used, buf_size - used, "%s%s=%s", used ? ", " : "", name,
                         json_string_value(value) ? json_string_value(value) : "");
        if (n < 0 || (size_t)n >= buf_size - used)
            break;
        used += (size_t)n;
    }
}

/* ---- incidents -------------------------------------------------------------------------- */

static void s_incidents_table(const s_ctl_t *ctl, const json_t *incidents)
{
    ctl_table_t *table = ctl_table_new(
        7, (const char *[]){"ID", "STATUS", "SEVERITY", "FIRING", "CREATED", "UPDATED", "TITLE"});
    ctl_table_set_max_width(table, 6, 70);
    size_t index;
    const json_t *incident;
    json_array_foreach(incidents, index, incident)
    {
        char firing[48], created[32], updated[32];
        snprintf(firing, sizeof firing, "%lld/%lld",
                 (long long)json_integer_value(json_object_get(incident, "firing_count")),
                 (long long)json_integer_value(json_object_get(incident, "alert_count")));
        ctl_table_add(table,
                      (const char *[]){s_str(incident, "id"), s_str(incident, "status"),
                                       s_str(incident, "severity"), firing,
                                       s_ago(ctl, incident, "created_at", created, sizeof created),
                                       s_ago(ctl, incident, "updated_at", updated, sizeof updated),
                                       s_str(incident, "title")});
    }
    if (ctl_table_rows(table) == 0)
        printf("no incidents\n");
    else
        ctl_table_print(table, stdout);
    ctl_table_destroy(&table);
}

/* Appends "&name=escaped value" (or "?…" first) to query. */
static bool s_query_add(char *query, size_t query_size, const char *name, const char *value)
{
    char *escaped = ctl_http_escape(value);
    if (!escaped)
        return false;
    size_t used = strlen(query);
    int n = snprintf(query + used, query_size - used, "%s%s=%s", used ? "&" : "?", name, escaped);
    free(escaped);
    return n > 0 && (size_t)n < query_size - used;
}

static int s_cmd_incidents(s_ctl_t *ctl, int count, char **args)
{
    char query[4096] = "";
    bool all = false;
    const char *limit = "50";
    for (int i = 0; i < count; i++) {
        const char *value = NULL;
        int found;
        if ((found = s_option(count, args, &i, "--status", &value)) != 0) {
            if (found < 0 || !s_query_add(query, sizeof query, "status", value))
                return s_usage("--status takes a comma list of statuses");
        } else if ((found = s_option(count, args, &i, "--severity", &value)) != 0) {
            if (found < 0 || !s_query_add(query, sizeof query, "severity", value))
                return s_usage("--severity takes the lowest severity to show");
        } else if ((found = s_option(count, args, &i, "--label", &value)) != 0) {
            const char *equals = found > 0 ? strchr(value, '=') : NULL;
            if (!equals || equals == value)
                return s_usage("--label takes NAME=VALUE");
            char name[160];
            snprintf(name, sizeof name, "label.%.*s", (int)(equals - value), value);
            if (!s_query_add(query, sizeof query, name, equals + 1))
                return s_usage("query too long");
        } else if ((found = s_option(count, args, &i, "--limit", &value)) != 0) {
            if (found < 0 || atoi(value) < 1 || atoi(value) > 500)
                return s_usage("--limit takes 1..500");
            limit = value;
        } else if (strcmp(args[i], "--all") == 0)
            all = true;
        else
            return s_usage("incidents: unknown argument");
    }
    if (!s_query_add(query, sizeof query, "limit", limit))
        return s_usage("query too long");

    json_t *merged = json_array();
    const char *next = NULL;
    char *cursor = NULL;
    int rc = 0;
    do {
        char path[8192];
        snprintf(path, sizeof path, "/incidents%s", query);
        if (cursor) {
            char *escaped = ctl_http_escape(cursor);
            snprintf(path + strlen(path), sizeof path - strlen(path), "&cursor=%s",
                     escaped ? escaped : "");
            free(escaped);
        }
        ctl_response_t response;
        json_t *doc;
        rc = s_call(ctl, "GET", path, NULL, &response, &doc);
        if (rc != 0)
            break;
        if (ctl->json && !all)
            s_print_raw(&response);
        json_array_extend(merged, json_object_get(doc, "incidents"));
        next = json_string_value(json_object_get(doc, "next_cursor"));
        free(cursor);
        cursor = next ? strdup(next) : NULL;
        json_decref(doc);
        ctl_response_clear(&response);
    } while (all && cursor);
    if (rc == 0 && ctl->json && all) {
        json_t *whole = json_pack("{s:O, s:n}", "incidents", merged, "next_cursor");
        char *text = json_dumps(whole, JSON_COMPACT);
        printf("%s\n", text ? text : "");
        free(text);
        json_decref(whole);
    } else if (rc == 0 && !ctl->json) {
        s_incidents_table(ctl, merged);
        if (cursor)
            fprintf(stderr, "(more incidents: --all, or a larger --limit)\n");
    }
    free(cursor);
    json_decref(merged);
    return rc;
}

/* An incident id from the command line, safe to put in a path. */
static bool s_id_ok(const char *id)
{
    size_t length = strlen(id);
    if (length == 0 || length > 64)
        return false;
    for (const char *c = id; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F') ||
              *c == '-'))
            return false;
    return true;
}

static int s_cmd_show(s_ctl_t *ctl, int count, char **args)
{
    if (count != 1)
        return s_usage("show takes one incident id");
    if (!s_id_ok(args[0]))
        return s_usage("show: not an incident id");
    char path[128];
    snprintf(path, sizeof path, "/incidents/%s", args[0]);
    ctl_response_t response;
    json_t *doc;
    int rc = s_call(ctl, "GET", path, NULL, &response, &doc);
    if (rc != 0)
        return rc;
    if (ctl->json) {
        s_print_raw(&response);
        json_decref(doc);
        ctl_response_clear(&response);
        return 0;
    }
    const json_t *incident = json_object_get(doc, "incident");
    char a[32], b[32], labels[2048];
    printf("Incident      %s\n", s_str(incident, "id"));
    printf("Title         %s\n", s_str(incident, "title"));
    if (json_string_value(json_object_get(incident, "summary")))
        printf("Summary       %s\n", s_str(incident, "summary"));
    printf("Status        %s\n", s_str(incident, "status"));
    printf("Severity      %s\n", s_str(incident, "severity"));
    printf("Alerts        %lld firing of %lld\n",
           (long long)json_integer_value(json_object_get(incident, "firing_count")),
           (long long)json_integer_value(json_object_get(incident, "alert_count")));
    printf("Created       %s (%s)\n", s_str(incident, "created_at"),
           s_ago(ctl, incident, "created_at", a, sizeof a));
    printf("Updated       %s (%s)\n", s_str(incident, "updated_at"),
           s_ago(ctl, incident, "updated_at", b, sizeof b));
    if (json_string_value(json_object_get(incident, "acknowledged_at")))
        printf("Acknowledged  %s by %s\n", s_ago(ctl, incident, "acknowledged_at", a, sizeof a),
               s_str(incident, "acknowledged_by"));
    if (json_string_value(json_object_get(incident, "resolved_at")))
        printf("Resolved      %s by %s\n", s_ago(ctl, incident, "resolved_at", a, sizeof a),
               s_str(incident, "resolved_by"));
    if (json_integer_value(json_object_get(incident, "reopen_count")) > 0)
        printf("Reopened      %lld times\n",
               (long long)json_integer_value(json_object_get(incident, "reopen_count")));
    s_labels_text(json_object_get(incident, "group_labels"), labels, sizeof labels);
    printf("Group         %s\n", labels[0] ? labels : "-");
    if (json_string_value(json_object_get(incident, "policy")))
        printf("Policy        %s\n", s_str(incident, "policy"));

    const json_t *alerts = json_object_get(doc, "alerts");
    printf("\nAlerts (%zu)\n", json_array_size(alerts));
    ctl_table_t *table = ctl_table_new(
        6, (const char *[]){"FINGERPRINT", "STATUS", "SEVERITY", "NAME", "STARTED", "LABELS"});
    ctl_table_set_max_width(table, 5, 80);
    size_t index;
    const json_t *alert;
    json_array_foreach(alerts, index, alert)
    {
        s_labels_text(json_object_get(alert, "labels"), labels, sizeof labels);
        ctl_table_add(table, (const char *[]){s_str(alert, "fingerprint"), s_str(alert, "status"),
                                              s_str(alert, "severity"), s_str(alert, "name"),
                                              s_ago(ctl, alert, "starts_at", a, sizeof a), labels});
    }
    if (ctl_table_rows(table) > 0)
        ctl_table_print(table, stdout);
    ctl_table_destroy(&table);

    const json_t *timeline = json_object_get(doc, "timeline");
    printf("\nTimeline (%zu)\n", json_array_size(timeline));
    table = ctl_table_new(5, (const char *[]){"SEQ", "WHEN", "EVENT", "ACTOR", "NOTE"});
    ctl_table_set_max_width(table, 4, 60);
    const json_t *event;
    json_array_foreach(timeline, index, event)
    {
        char sequence[32], type[96];
        snprintf(sequence, sizeof sequence, "%lld",
                 (long long)json_integer_value(json_object_get(event, "sequence")));
        /* an alert_* event may name several alerts (docs/events.md) */
        size_t named = json_array_size(json_object_get(event, "fingerprints"));
        if (named > 1)
            snprintf(type, sizeof type, "%s (%zu alerts)", s_str(event, "type"), named);
        else
            snprintf(type, sizeof type, "%s", s_str(event, "type"));
        ctl_table_add(table, (const char *[]){sequence, s_ago(ctl, event, "at", a, sizeof a), type,
                                              s_str(event, "actor"), s_str(event, "note")});
    }
    if (ctl_table_rows(table) > 0)
        ctl_table_print(table, stdout);
    ctl_table_destroy(&table);
    json_decref(doc);
    ctl_response_clear(&response);
    return 0;
}

/* ack and resolve. */
static int s_cmd_transition(s_ctl_t *ctl, bool acknowledge, int count, char **args)
{
    const char *id = NULL;
    const char *problem = NULL; /* a usage error: body is freed before it is reported */
    json_t *body = json_object();
    for (int i = 0; i < count && !problem; i++) {
        const char *value = NULL;
        int found;
        if ((found = s_option(count, args, &i, "--note", &value)) != 0) {
            if (found < 0)
                problem = "--note takes a text";
            else
                json_object_set_new(body, "note", json_string(value));
        } else if ((found = s_option(count, args, &i, "--actor", &value)) != 0) {
            if (found < 0)
                problem = "--actor takes a name";
            else
                json_object_set_new(body, "actor", json_string(value));
        } else if (acknowledge && (found = s_option(count, args, &i, "--timeout", &value)) != 0) {
            int64_t ms;
            if (found < 0 || !ctl_duration_parse(value, &ms) || ms < 1000)
                problem = "--timeout takes a duration of at least 1s (e.g. 30m)";
            else
                json_object_set_new(body, "ack_timeout_s", json_integer(ms / 1000));
        } else if (args[i][0] == '-' || id)
            problem = acknowledge ? "ack: unknown argument" : "resolve: unknown argument";
        else
            id = args[i];
    }
    if (problem) {
        json_decref(body);
        return s_usage(problem);
    }
    if (!id || !s_id_ok(id)) {
        json_decref(body);
        return s_usage("an incident id is required");
    }
    char path[160];
    snprintf(path, sizeof path, "/incidents/%s/%s", id, acknowledge ? "acknowledge" : "resolve");
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ctl_response_t response;
    json_t *doc;
    int rc = s_call(ctl, "POST", path, text ? text : "{}", &response, &doc);
    free(text);
    if (rc != 0)
        return rc;
    if (ctl->json)
        s_print_raw(&response);
    else {
        const json_t *incident = json_object_get(doc, "incident");
        bool changed = json_is_true(json_object_get(doc, "changed"));
        if (changed)
            printf("%s %s\n", s_str(incident, "id"), acknowledge ? "acknowledged" : "resolved");
        else
            printf("%s unchanged: already %s\n", s_str(incident, "id"), s_str(incident, "status"));
    }
    json_decref(doc);
    ctl_response_clear(&response);
    return 0;
}

/* ---- silences --------------------------------------------------------------------------- */

static void s_matchers_text(const json_t *matchers, char *buf, size_t buf_size)
{
    buf[0] = '\0';
    size_t used = 0;
    size_t index;
    const json_t *matcher;
    json_array_foreach(matchers, index, matcher)
    {
        bool regex = json_is_true(json_object_get(matcher, "isRegex"));
        const json_t *equal = json_object_get(matcher, "isEqual");
        bool is_equal = !equal || json_is_true(equal);
        const char *op = regex ? (is_equal ? "=~" : "!~") : (is_equal ? "=" : "!=");
        int n = snprintf(buf + used, buf_size - used, "%s%s%s\"%s\"", used ? " " : "",
                         s_str(matcher, "name"), op, s_str(matcher, "value"));
        if (n < 0 || (size_t)n >= buf_size - used)
            break;
        used += (size_t)n;
    }
}

static int s_silences_list(s_ctl_t *ctl, int count, char **args)
{
    bool all = false;
    for (int i = 0; i < count; i++) {
        if (strcmp(args[i], "--all") == 0)
            all = true;
        else
            return s_usage("silences list: unknown argument");
    }
    ctl_response_t response;
    json_t *doc;
    int rc = s_call(ctl, "GET",
                    all ? "/silences?limit=1000" : "/silences?state=pending,active&limit=1000",
                    NULL, &response, &doc);
    if (rc != 0)
        return rc;
    if (ctl->json) {
        s_print_raw(&response);
    } else {
        ctl_table_t *table = ctl_table_new(7, (const char *[]){"ID", "STATE", "MATCHERS", "STARTS",
                                                               "ENDS", "CREATED BY", "COMMENT"});
        ctl_table_set_max_width(table, 2, 60);
        ctl_table_set_max_width(table, 6, 50);
        size_t index;
        const json_t *silence;
        json_array_foreach(json_object_get(doc, "silences"), index, silence)
        {
            char matchers[2048], starts[32], ends[32];
            s_matchers_text(json_object_get(silence, "matchers"), matchers, sizeof matchers);
            ctl_table_add(table, (const char *[]){
                                     s_str(silence, "id"),
                                     s_str(json_object_get(silence, "status"), "state"), matchers,
                                     s_ago(ctl, silence, "startsAt", starts, sizeof starts),
                                     s_ago(ctl, silence, "endsAt", ends, sizeof ends),
                                     s_str(silence, "createdBy"), s_str(silence, "comment")});
        }
        if (ctl_table_rows(table) == 0)
            printf("no silences\n");
        else
            ctl_table_print(table, stdout);
        ctl_table_destroy(&table);
    }
    json_decref(doc);
    ctl_response_clear(&response);
    return 0;
}

static int s_silences_add(s_ctl_t *ctl, int count, char **args)
{
    json_t *matchers = json_array();
    json_t *body = json_pack("{s:o}", "matchers", matchers);
    int64_t start_ms = 0, end_ms = 0, duration_ms = 0;
    for (int i = 0; i < count; i++) {
        const char *value = NULL;
        int found;
        if ((found = s_option(count, args, &i, "--matcher", &value)) != 0) {
            ctl_matcher_t matcher;
            if (found < 0 || !ctl_matcher_parse(value, &matcher)) {
                json_decref(body);
                return s_usage("--matcher takes NAME=VALUE, NAME!=VALUE, NAME=~RE or NAME!~RE");
            }
            json_array_append_new(matchers,
                                  json_pack("{s:s, s:s, s:b, s:b}", "name", matcher.name, "value",
                                            matcher.value, "isRegex", matcher.is_regex, "isEqual",
                                            matcher.is_equal));
        } else if ((found = s_option(count, args, &i, "--duration", &value)) != 0) {
            if (found < 0 || !ctl_duration_parse(value, &duration_ms)) {
                json_decref(body);
                return s_usage("--duration takes a duration such as 2h or 1h30m");
            }
        } else if ((found = s_option(count, args, &i, "--start", &value)) != 0) {
            if (found < 0 || !s_parse_time(ctl, value, &start_ms)) {
                json_decref(body);
                return s_usage("--start takes RFC 3339 or +DURATION");
            }
        } else if ((found = s_option(count, args, &i, "--end", &value)) != 0) {
            if (found < 0 || !s_parse_time(ctl, value, &end_ms)) {
                json_decref(body);
                return s_usage("--end takes RFC 3339 or +DURATION");
            }
        } else if ((found = s_option(count, args, &i, "--comment", &value)) != 0) {
            if (found < 0) {
                json_decref(body);
                return s_usage("--comment takes a text");
            }
            json_object_set_new(body, "comment", json_string(value));
        } else if ((found = s_option(count, args, &i, "--created-by", &value)) != 0) {
            if (found < 0) {
                json_decref(body);
                return s_usage("--created-by takes a name");
            }
            json_object_set_new(body, "createdBy", json_string(value));
        } else {
            json_decref(body);
            return s_usage("silences add: unknown argument");
        }
    }
    if (json_array_size(matchers) == 0 || (duration_ms == 0) == (end_ms == 0)) {
        json_decref(body);
        return s_usage("silences add needs --matcher and one of --duration or --end");
    }
    char text_time[32];
    if (start_ms) {
        lk_time_format(start_ms, text_time, sizeof text_time);
        json_object_set_new(body, "startsAt", json_string(text_time));
    }
    if (!end_ms)
        end_ms = (start_ms ? start_ms : ctl->now_ms) + duration_ms;
    lk_time_format(end_ms, text_time, sizeof text_time);
    json_object_set_new(body, "endsAt", json_string(text_time));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ctl_response_t response;
    json_t *doc;
    int rc = s_call(ctl, "POST", "/silences", text, &response, &doc);
    free(text);
    if (rc != 0)
        return rc;
    if (ctl->json)
        s_print_raw(&response);
    else /* the id alone, so a script can keep it: id=$(lookoutctl silences add ...) */
        printf("%s\n", s_str(doc, "id"));
    json_decref(doc);
    ctl_response_clear(&response);
    return 0;
}

static int s_silences_expire(s_ctl_t *ctl, int count, char **args)
{
    if (count != 1 || !s_id_ok(args[0]))
        return s_usage("silences expire takes one silence id");
    char path[128];
    snprintf(path, sizeof path, "/silences/%s", args[0]);
    ctl_response_t response;
    json_t *doc;
    int rc = s_call(ctl, "DELETE", path, NULL, &response, &doc);
    if (rc != 0)
        return rc;
    if (ctl->json)
        s_print_raw(&response);
    else
        printf("%s %s\n", s_str(doc, "id"), s_str(json_object_get(doc, "status"), "state"));
    json_decref(doc);
    ctl_response_clear(&response);
    return 0;
}

static int s_cmd_silences(s_ctl_t *ctl, int count, char **args)
{
    if (count == 0 || args[0][0] == '-')
        return s_silences_list(ctl, count, args);
    if (strcmp(args[0], "list") == 0)
        return s_silences_list(ctl, count - 1, args + 1);
    if (strcmp(args[0], "add") == 0)
        return s_silences_add(ctl, count - 1, args + 1);
    if (strcmp(args[0], "expire") == 0)
        return s_silences_expire(ctl, count - 1, args + 1);
    return s_usage("silences: list, add or expire");
}

/* ---- on-call ---------------------------------------------------------------------------- */

static int s_cmd_oncall(s_ctl_t *ctl, int count, char **args)
{
    char path[256] = "/oncall";
    for (int i = 0; i < count; i++) {
        const char *value = NULL;
        int found = s_option(count, args, &i, "--at", &value);
        int64_t ms;
        if (found <= 0 || !s_parse_time(ctl, value, &ms))
            return s_usage("oncall takes --at TIME (RFC 3339 or +DURATION)");
        char at[32];
        lk_time_format(ms, at, sizeof at);
        char *escaped = ctl_http_escape(at);
        snprintf(path, sizeof path, "/oncall?at=%s", escaped ? escaped : "");
        free(escaped);
    }
    ctl_response_t response;
    json_t *doc;
    int rc = s_call(ctl, "GET", path, NULL, &response, &doc);
    if (rc != 0)
        return rc;
    if (ctl->json) {
        s_print_raw(&response);
        json_decref(doc);
        ctl_response_clear(&response);
        return 0;
    }
    printf("On call at %s\n\n", s_str(doc, "at"));
    ctl_table_t *table =
        ctl_table_new(5, (const char *[]){"SCHEDULE", "USER", "FROM", "UNTIL", "OVERRIDE"});
    size_t index, inner;
    const json_t *schedule, *shift;
    json_array_foreach(json_object_get(doc, "schedules"), index, schedule)
    {
        const json_t *on_call = json_object_get(schedule, "on_call");
        if (json_array_size(on_call) == 0)
            ctl_table_add(table,
                          (const char *[]){s_str(schedule, "name"), "(nobody)", "-", "-", "-"});
        json_array_foreach(on_call, inner, shift)
        {
            char from[32], until[32];
            ctl_table_add(
                table,
                (const char *[]){s_str(schedule, "name"), s_str(shift, "user"),
                                 s_ago(ctl, shift, "from", from, sizeof from),
                                 s_ago(ctl, shift, "until", until, sizeof until),
                                 json_is_true(json_object_get(shift, "override")) ? "yes" : "no"});
        }
    }
    if (ctl_table_rows(table) == 0)
        printf("no schedules\n");
    else
        ctl_table_print(table, stdout);
    ctl_table_destroy(&table);

    table = ctl_table_new(4, (const char *[]){"POLICY", "LEVEL", "TARGET", "ON CALL"});
    const json_t *policy, *level, *target;
    json_array_foreach(json_object_get(doc, "policies"), index, policy)
    {
        json_array_foreach(json_object_get(policy, "levels"), inner, level)
        {
            size_t t;
            json_array_foreach(json_object_get(level, "targets"), t, target)
            {
                char level_text[16], target_text[300], people[1024] = "";
                snprintf(level_text, sizeof level_text, "%lld",
                         (long long)json_integer_value(json_object_get(level, "level")));
                snprintf(target_text, sizeof target_text, "%s:%s", s_str(target, "type"),
                         s_str(target, "name"));
                size_t used = 0, p;
                const json_t *person;
                json_array_foreach(json_object_get(target, "on_call"), p, person)
                {
                    int n = snprintf(people + used, sizeof people - used, "%s%s", used ? ", " : "",
                                     json_string_value(person) ? json_string_value(person) : "");
                    if (n < 0 || (size_t)n >= sizeof people - used)
                        break;
                    used += (size_t)n;
                }
                ctl_table_add(table, (const char *[]){s_str(policy, "name"), level_text,
                                                      target_text, used ? people : "-"});
            }
        }
    }
    if (ctl_table_rows(table) > 0) {
        printf("\n");
        ctl_table_print(table, stdout);
    }
    ctl_table_destroy(&table);
    json_decref(doc);
    ctl_response_clear(&response);
    return 0;
}

/* ---- tail ------------------------------------------------------------------------------- */

typedef struct {
    const s_ctl_t *ctl;
    char last_id[64];
    long remaining; /* events still to print; -1 = no limit */
} s_tail_t;

static bool s_on_event(void *arg, const char *id, const char *event, const char *data)
{
    s_tail_t *tail = arg;
    if (id && *id)
        snprintf(tail->last_id, sizeof tail->last_id, "%s", id);
    if (strcmp(event, "gap") == 0) {
        fprintf(stderr, "lookoutctl: events were removed by retention before this point: %s\n",
                data);
        return true;
    }
    if (tail->ctl->json)
        printf("%s\n", data);
    else {
        json_t *doc = json_loads(data, 0, NULL);
        const json_t *item = json_object_get(doc, "event");
        const json_t *incident = json_object_get(doc, "incident");
        printf("%-24s  %-8s  %-22s  %-36s  %-12s  %-8s  %s\n", s_str(item, "at"),
               id && *id ? id : "-", s_str(item, "type"), s_str(item, "incident_id"),
               s_str(incident, "status"), s_str(incident, "severity"), s_str(incident, "title"));
        json_decref(doc);
    }
    fflush(stdout);
    if (tail->remaining > 0 && --tail->remaining == 0)
        return false;
    return true;
}

static int s_cmd_tail(s_ctl_t *ctl, int count, char **args)
{
    s_tail_t tail = {.ctl = ctl, .remaining = -1};
    const char *since = NULL;
    for (int i = 0; i < count; i++) {
        const char *value = NULL;
        int found;
        if ((found = s_option(count, args, &i, "--since", &value)) != 0) {
            if (found < 0 || strspn(value, "0123456789") != strlen(value) || !*value)
                return s_usage("--since takes an event sequence number");
            since = value;
        } else if ((found = s_option(count, args, &i, "--count", &value)) != 0) {
            if (found < 0 || atol(value) < 1)
                return s_usage("--count takes a positive number");
            tail.remaining = atol(value);
        } else
            return s_usage("tail: unknown argument");
    }
    if (!ctl->json)
        printf("%-24s  %-8s  %-22s  %-36s  %-12s  %-8s  %s\n", "AT", "SEQ", "EVENT", "INCIDENT",
               "STATUS", "SEVERITY", "TITLE");
    fflush(stdout);
    /* follows the stream for good, resuming after the last event seen when the connection
       drops (the server sends what was missed: Last-Event-ID) */
    unsigned int backoff_s = 1;
    while (true) {
        char path[128] = "/events";
        if (!tail.last_id[0] && since)
            snprintf(path, sizeof path, "/events?since=%s", since);
        ctl_response_t response;
        bool stopped = false;
        int rc =
            ctl_http_stream(&ctl->http, path, tail.last_id, s_on_event, &tail, &stopped, &response);
        if (stopped)
            return 0;
        if (rc == 1) {
            int status = s_api_error(&response);
            ctl_response_clear(&response);
            return status;
        }
        if (rc < 0)
            fprintf(stderr, "lookoutctl: stream interrupted (%s); reconnecting in %u s\n",
                    response.error, backoff_s);
        ctl_response_clear(&response);
        sleep(backoff_s);
        backoff_s = rc < 0 && backoff_s < 16 ? backoff_s * 2 : 1;
    }
}

/* ---- main ------------------------------------------------------------------------------- */

static char *s_read_token_file(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return NULL;
    char buf[8192];
    size_t size = fread(buf, 1, sizeof buf - 1, file);
    fclose(file);
    buf[size] = '\0';
    while (size > 0 && (buf[size - 1] == '\n' || buf[size - 1] == '\r'))
        buf[--size] = '\0';
    char *token = strdup(buf);
    explicit_bzero(buf, sizeof buf);
    return token;
}

int main(int argc, char **argv)
{
    lk_log_init("lookoutctl", LK_LOG_WARN);
    s_ctl_t ctl = {.http = {.timeout_s = 30}, .now_ms = lk_now_ms()};
    const char *url = NULL, *token = NULL, *token_file = NULL, *tenant = NULL;
    char *rest[S_ARGS_MAX];
    int rest_count = 0;
    /* global options may come anywhere; everything else belongs to the command */
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        int found;
        if ((found = s_option(argc, argv, &i, "--url", &value)) != 0)
            url = value;
        else if ((found = s_option(argc, argv, &i, "--token-file", &value)) != 0)
            token_file = value;
        else if ((found = s_option(argc, argv, &i, "--token", &value)) != 0)
            token = value;
        else if ((found = s_option(argc, argv, &i, "--tenant", &value)) != 0)
            tenant = value;
        else if (strcmp(argv[i], "--json") == 0)
            ctl.json = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
                 strcmp(argv[i], "help") == 0) {
            fputs(s_usage_text, stdout);
            return S_EXIT_OK;
        } else if (rest_count == S_ARGS_MAX)
            return s_usage("too many arguments");
        else
            rest[rest_count++] = argv[i];
        if (found < 0)
            return s_usage("an option lacks its value");
    }
    if (rest_count == 0)
        return s_usage("no command given");

    ctl.http.url = url ? url : lk_env_str("LOOKOUT_URL", "http://127.0.0.1:18013");
    char *owned_token = NULL;
    if (token_file) {
        owned_token = s_read_token_file(token_file);
        if (!owned_token) {
            fprintf(stderr, "lookoutctl: cannot read %s\n", token_file);
            return S_EXIT_USAGE;
        }
    } else if (!token) {
        owned_token = lk_env_secret("LOOKOUT_TOKEN");
        if (!owned_token || !*owned_token) {
            free(owned_token);
            owned_token = lk_env_secret("SERVICE_TOKEN");
        }
    }
    ctl.http.token = token ? token : owned_token;
    ctl.http.tenant = tenant ? tenant : lk_env_str("LOOKOUT_TENANT", NULL);

    const char *command = rest[0];
    int count = rest_count - 1;
    char **args = rest + 1;
    int rc;
    if (strcmp(command, "incidents") == 0)
        rc = s_cmd_incidents(&ctl, count, args);
    else if (strcmp(command, "show") == 0)
        rc = s_cmd_show(&ctl, count, args);
    else if (strcmp(command, "ack") == 0 || strcmp(command, "acknowledge") == 0)
        rc = s_cmd_transition(&ctl, true, count, args);
    else if (strcmp(command, "resolve") == 0)
        rc = s_cmd_transition(&ctl, false, count, args);
    else if (strcmp(command, "silences") == 0 || strcmp(command, "silence") == 0)
        rc = s_cmd_silences(&ctl, count, args);
    else if (strcmp(command, "oncall") == 0)
        rc = s_cmd_oncall(&ctl, count, args);
    else if (strcmp(command, "tail") == 0)
        rc = s_cmd_tail(&ctl, count, args);
    else
        rc = s_usage("unknown command");
    if (owned_token) {
        explicit_bzero(owned_token, strlen(owned_token));
        free(owned_token);
    }
    return rc;
}
