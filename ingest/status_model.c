/*  status_model — statuses, uptime and the public JSON of a status page (see the header).

    The reply's alerts and updates are sorted by incident id once, so each incident finds its
    own with a binary search: a page over 90 days of a busy tenant stays O(n log n).
*/
#include "status_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lk_json.h"
#include "lk_match.h"

/* ---- levels ------------------------------------------------------------------------------- */

static const char *s_level_names[STATUS_LEVEL_COUNT] = {
    "operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"};
static const char *s_level_descriptions[STATUS_LEVEL_COUNT] = {
    "All Systems Operational", "Service Under Maintenance", "Degraded Performance",
    "Partial System Outage", "Major System Outage"};

const char *status_level_name(status_level_t level)
{
    return level < STATUS_LEVEL_COUNT ? s_level_names[level] : "operational";
}

const char *status_level_description(status_level_t level)
{
    return level < STATUS_LEVEL_COUNT ? s_level_descriptions[level] : s_level_descriptions[0];
}

status_level_t status_level_of_severity(lk_severity_t severity)
{
    switch (severity) {
    case LK_SEV_CRITICAL:
        return STATUS_MAJOR_OUTAGE;
    case LK_SEV_ERROR:
        return STATUS_PARTIAL_OUTAGE;
    case LK_SEV_WARNING:
        return STATUS_DEGRADED;
    default:
        return STATUS_OPERATIONAL;
    }
}

double status_level_downtime(status_level_t level)
{
    if (level == STATUS_MAJOR_OUTAGE)
        return 1.0;
    if (level == STATUS_PARTIAL_OUTAGE)
        return STATUS_PARTIAL_WEIGHT;
    return 0.0;
}

/* ---- uptime ------------------------------------------------------------------------------- */

int64_t status_window_start(int64_t now_ms, size_t days)
{
    int64_t today = now_ms - (now_ms % STATUS_DAY_MS + STATUS_DAY_MS) % STATUS_DAY_MS;
    return today - (int64_t)(days > 0 ? days - 1 : 0) * STATUS_DAY_MS;
}

typedef struct {
    int64_t at;
    int delta; /* +1 start, -1 end */
    status_level_t level;
} s_edge_t;

static int s_edge_order(const void *a, const void *b)
{
    const s_edge_t *left = a, *right = b;
    if (left->at != right->at)
        return left->at < right->at ? -1 : 1;
    return left->delta - right->delta; /* ends before starts at the same instant */
}

/* Adds [from, to) at level to the days it spans. */
static void s_accumulate(status_day_t *days, size_t count, int64_t window_start, int64_t from,
                         int64_t to, status_level_t level)
{
    while (from < to) {
        size_t index = (size_t)((from - window_start) / STATUS_DAY_MS);
        if (index >= count)
            return;
        int64_t day_end = window_start + (int64_t)(index + 1) * STATUS_DAY_MS;
        int64_t end = to < day_end ? to : day_end;
        days[index].down_ms += (double)(end - from) * status_level_downtime(level);
        if (level > days[index].worst)
            days[index].worst = level;
        from = end;
    }
}

void status_uptime(const status_interval_t *intervals, size_t count, int64_t now_ms, size_t days,
                   status_day_t *out, double *overall)
{
    int64_t window_start = status_window_start(now_ms, days);
    for (size_t i = 0; i < days; i++) {
        out[i] = (status_day_t){.start_ms = window_start + (int64_t)i * STATUS_DAY_MS};
        int64_t end = out[i].start_ms + STATUS_DAY_MS;
        out[i].measured_ms = (end < now_ms ? end : now_ms) - out[i].start_ms;
    }
    s_edge_t *edges = count ? malloc(2 * count * sizeof *edges) : NULL;
    size_t edge_count = 0;
    for (size_t i = 0; edges && i < count; i++) {
        int64_t start = intervals[i].start_ms < window_start ? window_start : intervals[i].start_ms;
        int64_t end = intervals[i].end_ms > now_ms ? now_ms : intervals[i].end_ms;
        if (end <= start || intervals[i].level >= STATUS_LEVEL_COUNT)
            continue;
        edges[edge_count++] = (s_edge_t){start, +1, intervals[i].level};
        edges[edge_count++] = (s_edge_t){end, -1, intervals[i].level};
    }
    /* sweep: between two edges the component is at the highest level still open */
    if (edge_count)
        qsort(edges, edge_count, sizeof *edges, s_edge_order);
    int open[STATUS_LEVEL_COUNT] = {0};
    for (size_t i = 0; i < edge_count; i++) {
        open[edges[i].level] += edges[i].delta;
        if (i + 1 == edge_count || edges[i + 1].at == edges[i].at)
            continue;
        status_level_t level = STATUS_OPERATIONAL;
        for (int l = STATUS_LEVEL_COUNT - 1; l > 0; l--)
            if (open[l] > 0) {
                level = (status_level_t)l;
                break;
            }
        if (level != STATUS_OPERATIONAL)
            s_accumulate(out, days, window_start, edges[i].at, edges[i + 1].at, level);
    }
    free(edges);
    double measured = 0, down = 0;
    for (size_t i = 0; i < days; i++) {
        measured += (double)out[i].measured_ms;
        down += out[i].down_ms;
        if (out[i].down_ms <= 0 || out[i].measured_ms <= 0)
            out[i].uptime = 100.0;
        else {
            double share = 100.0 * (1.0 - out[i].down_ms / (double)out[i].measured_ms);
            /* floored, so a day with any downtime never rounds up to 100 */
            out[i].uptime = share <= 0 ? 0.0 : floor(share * 100.0) / 100.0;
        }
    }
    if (overall) {
        if (down <= 0 || measured <= 0)
            *overall = 100.0;
        else {
            double share = 100.0 * (1.0 - down / measured);
            *overall = share <= 0 ? 0.0 : floor(share * 100.0) / 100.0;
        }
    }
}

/* ---- maintenance -------------------------------------------------------------------------- */

bool status_silence_covers(const lk_silence_t *silence, const lk_status_component_t *component)
{
    lk_labels_t pinned = {0};
    bool ok = true;
    for (size_t i = 0; ok && i < component->matcher_count; i++) {
        const lk_matcher_t *matcher = &component->matchers[i];
        if (matcher->is_equal && !matcher->is_regex)
            ok = lk_labels_set(&pinned, matcher->name, matcher->value) == 0;
    }
    bool names_pinned = false;
    for (size_t i = 0; ok && i < silence->matcher_count; i++)
        names_pinned = names_pinned || lk_labels_get(&pinned, silence->matchers[i].name);
    bool covers = false;
    if (ok && names_pinned) {
        char err[128];
        lk_matchset_t *set =
            lk_matchset_new(silence->matchers, silence->matcher_count, err, sizeof err);
        covers = set && lk_matchset_matches(set, &pinned);
        lk_matchset_destroy(&set);
    }
    lk_labels_clear(&pinned);
    return covers;
}

/* ---- the page ----------------------------------------------------------------------------- */

static int s_alert_order(const void *a, const void *b)
{
    return strcmp(((const lk_alert_t *)a)->incident_id, ((const lk_alert_t *)b)->incident_id);
}

static int s_update_order(const void *a, const void *b)
{
    const lk_incident_update_t *left = a, *right = b;
    int by_incident = strcmp(left->incident_id, right->incident_id);
    if (by_incident)
        return by_incident;
    if (left->created_at_ms != right->created_at_ms)
        return left->created_at_ms < right->created_at_ms ? -1 : 1;
    return strcmp(left->id, right->id);
}

/* The first index of a sorted array whose incident id is not below id. */
static size_t s_lower_bound(const void *items, size_t count, size_t item_size, size_t id_offset,
                            const char *id)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        const char *at = (const char *)items + middle * item_size + id_offset;
        if (strcmp(at, id) < 0)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

/* What the page needs to know of one incident. */
typedef struct {
    const lk_incident_t *incident;
    uint64_t components; /* bit i: page component i concerns it */
    size_t first_update; /* its public updates: reply->updates[first, first + count) */
    size_t update_count;
    bool is_public;
    bool open;
    status_level_t impact;
} s_incident_view_t;

/* Which components an incident concerns: matched against each of its alerts' labels. */
static uint64_t s_components_of(const lk_status_page_t *page, const lk_incident_t *incident,
                                const lk_msg_t *reply)
{
    size_t first = s_lower_bound(reply->alerts, reply->alert_count, sizeof(lk_alert_t),
                                 offsetof(lk_alert_t, incident_id), incident->id);
    bool any_alert =
        first < reply->alert_count && strcmp(reply->alerts[first].incident_id, incident->id) == 0;
    uint64_t mask = 0;
    for (size_t c = 0; c < page->component_count && c < 64; c++) {
        const lk_matchset_t *set = page->components[c].matchset;
        if (!any_alert && lk_matchset_matches(set, &incident->group_labels))
            mask |= 1ull << c;
        for (size_t a = first; any_alert && a < reply->alert_count &&
                               strcmp(reply->alerts[a].incident_id, incident->id) == 0;
             a++)
            if (lk_matchset_matches(set, &reply->alerts[a].labels)) {
                mask |= 1ull << c;
                break;
            }
    }
    return mask;
}

static json_t *s_update_json(const lk_incident_update_t *update)
{
    const char *stage = lk_incident_stage_name(update->stage);
    return json_pack("{s:s, s:o, s:o}", "message", update->message ? update->message : "", "status",
                     stage ? json_string(stage) : json_null(), "created_at",
                     lk_json_time(update->created_at_ms));
}

/* The stage the page shows: resolved once the incident is; else the latest public update's
   stage; else investigating (triggered) or identified (acknowledged). */
static const char *s_stage(const s_incident_view_t *view, const lk_msg_t *reply)
{
    if (!view->open)
        return "resolved";
    for (size_t i = view->update_count; i > 0; i--) {
        const lk_incident_update_t *update = &reply->updates[view->first_update + i - 1];
        const char *stage = lk_incident_stage_name(update->stage);
        if (stage && update->visibility == LK_UPDATE_PUBLIC)
            return stage;
    }
    return view->incident->status == LK_INCIDENT_ACKNOWLEDGED ? "identified" : "investigating";
}

static const char *s_impact_phrase(status_level_t level)
{
    switch (level) {
    case STATUS_MAJOR_OUTAGE:
        return "major outage";
    case STATUS_PARTIAL_OUTAGE:
        return "partial outage";
    case STATUS_DEGRADED:
        return "degraded performance";
    default:
        return "incident";
    }
}

/* The public title: the latest public update's title, else "<public components>: <impact>". */
static json_t *s_title(const lk_status_page_t *page, const s_incident_view_t *view,
                       const lk_msg_t *reply)
{
    for (size_t i = view->update_count; i > 0; i--) {
        const lk_incident_update_t *update = &reply->updates[view->first_update + i - 1];
        if (update->title && *update->title && update->visibility == LK_UPDATE_PUBLIC)
            return json_string(update->title);
    }
    char text[1024];
    size_t length = 0;
    for (size_t c = 0; c < page->component_count && c < 64; c++) {
        if (!(view->components & (1ull << c)) || !page->components[c].is_public)
            continue;
        int written = snprintf(text + length, sizeof text - length, "%s%s", length ? ", " : "",
                               page->components[c].name);
        if (written < 0 || (size_t)written >= sizeof text - length) {
            length = sizeof text - 1;
            break;
        }
        length += (size_t)written;
    }
    if (length == 0)
        return json_string(view->impact > STATUS_MAINTENANCE ? "Service disruption" : "Incident");
    snprintf(text + length, sizeof text - length, ": %s", s_impact_phrase(view->impact));
    return json_string(text);
}

static json_t *s_incident_json(const lk_status_page_t *page, const s_incident_view_t *view,
                               const lk_msg_t *reply)
{
    const lk_incident_t *incident = view->incident;
    json_t *components = json_array();
    for (size_t c = 0; components && c < page->component_count && c < 64; c++)
        if ((view->components & (1ull << c)) && page->components[c].is_public)
            json_array_append_new(components, json_string(page->components[c].name));
    json_t *updates = json_array();
    size_t shown = 0;
    for (size_t i = view->update_count; updates && i > 0 && shown < STATUS_UPDATES_SHOWN; i--) {
        const lk_incident_update_t *update = &reply->updates[view->first_update + i - 1];
        if (update->visibility != LK_UPDATE_PUBLIC)
            continue; /* store sends public ones only; this keeps it so */
        json_array_append_new(updates, s_update_json(update));
        shown++;
    }
    json_t *latest = updates && json_array_size(updates) ? json_array_get(updates, 0) : NULL;
    int64_t resolved_at = view->open                 ? 0
                          : incident->resolved_at_ms ? incident->resolved_at_ms
                                                     : incident->updated_at_ms;
    return json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:O, s:o}", "id", incident->id, "title",
                     s_title(page, view, reply), "impact", status_level_name(view->impact),
                     "status", s_stage(view, reply), "created_at",
                     lk_json_time(incident->created_at_ms), "resolved_at",
                     lk_json_time(resolved_at), "components", components, "latest_update",
                     latest ? latest : json_null(), "updates", updates);
}

/* "YYYY-MM-DD" of a UTC day start. */
static json_t *s_date(int64_t day_start_ms)
{
    time_t seconds = (time_t)(day_start_ms / 1000);
    struct tm tm;
    char text[16];
    if (!gmtime_r(&seconds, &tm) || strftime(text, sizeof text, "%Y-%m-%d", &tm) == 0)
        return json_string("");
    return json_string(text);
}

/* Fills views[] for every incident of the reply. */
static void s_views(const lk_status_page_t *page, const lk_msg_t *reply, s_incident_view_t *views)
{
    for (size_t i = 0; i < reply->incident_count; i++) {
        s_incident_view_t *view = &views[i];
        const lk_incident_t *incident = &reply->incidents[i];
        view->incident = incident;
        view->components = s_components_of(page, incident, reply);
        view->first_update =
            s_lower_bound(reply->updates, reply->update_count, sizeof(lk_incident_update_t),
                          offsetof(lk_incident_update_t, incident_id), incident->id);
        view->update_count = 0;
        bool public_update = false;
        while (view->first_update + view->update_count < reply->update_count &&
               strcmp(reply->updates[view->first_update + view->update_count].incident_id,
                      incident->id) == 0) {
            public_update = public_update ||
                            reply->updates[view->first_update + view->update_count].visibility ==
                                LK_UPDATE_PUBLIC;
            view->update_count++;
        }
        bool public_component = false;
        for (size_t c = 0; c < page->component_count && c < 64; c++)
            public_component = public_component ||
                               ((view->components & (1ull << c)) && page->components[c].is_public);
        view->is_public = public_component || public_update;
        view->open = incident->status == LK_INCIDENT_TRIGGERED ||
                     incident->status == LK_INCIDENT_ACKNOWLEDGED;
        view->impact = status_level_of_severity(incident->severity);
    }
}

/* The components' JSON (public ones only), and the highest of their statuses in *worst. */
static json_t *s_components_json(const lk_status_page_t *page, const lk_msg_t *reply,
                                 const s_incident_view_t *views, int64_t now_ms,
                                 status_level_t *worst)
{
    json_t *components = json_array();
    status_interval_t *intervals =
        reply->incident_count ? malloc(reply->incident_count * sizeof *intervals) : NULL;
    if (reply->incident_count && !intervals) {
        json_decref(components);
        return NULL;
    }
    for (size_t c = 0; components && c < page->component_count && c < 64; c++) {
        const lk_status_component_t *component = &page->components[c];
        if (!component->is_public)
            continue;
        status_level_t level = STATUS_OPERATIONAL;
        size_t interval_count = 0;
        for (size_t i = 0; i < reply->incident_count; i++) {
            const s_incident_view_t *view = &views[i];
            if (!(view->components & (1ull << c)))
                continue;
            if (view->open && view->impact > level)
                level = view->impact;
            const lk_incident_t *incident = view->incident;
            int64_t end = view->open                 ? now_ms
                          : incident->resolved_at_ms ? incident->resolved_at_ms
                                                     : incident->updated_at_ms;
            intervals[interval_count++] =
                (status_interval_t){incident->created_at_ms, end, view->impact};
        }
        for (size_t s = 0; level < STATUS_MAINTENANCE && s < reply->silence_count; s++) {
            const lk_silence_t *silence = &reply->silences[s];
            if (lk_silence_state(silence, now_ms) == LK_SILENCE_ACTIVE &&
                status_silence_covers(silence, component))
                level = STATUS_MAINTENANCE;
        }
        if (level > *worst)
            *worst = level;
        status_day_t days[STATUS_WINDOW_DAYS];
        double overall;
        status_uptime(intervals, interval_count, now_ms, STATUS_WINDOW_DAYS, days, &overall);
        json_t *uptime = json_array();
        json_t *worst_days = json_array();
        for (size_t d = 0; uptime && worst_days && d < STATUS_WINDOW_DAYS; d++) {
            json_array_append_new(uptime, json_real(days[d].uptime));
            json_array_append_new(worst_days, json_string(status_level_name(days[d].worst)));
        }
        json_t *item = json_pack(
            "{s:s, s:o, s:s, s:f, s:o, s:o}", "name", component->name, "description",
            component->description ? json_string(component->description) : json_null(), "status",
            status_level_name(level), "uptime_percent", overall, "uptime_days",
            uptime ? uptime : json_null(), "worst_days", worst_days ? worst_days : json_null());
        if (!item || json_array_append_new(components, item) != 0) {
            json_decref(components);
            components = NULL;
        }
    }
    free(intervals);
    return components;
}

/* Maintenance windows (active and scheduled silences) that cover a public component. */
static json_t *s_maintenances_json(const lk_status_page_t *page, const lk_msg_t *reply,
                                   int64_t now_ms)
{
    json_t *maintenances = json_array();
    for (size_t s = 0; maintenances && s < reply->silence_count; s++) {
        const lk_silence_t *silence = &reply->silences[s];
        lk_silence_state_t state = lk_silence_state(silence, now_ms);
        if (state == LK_SILENCE_EXPIRED)
            continue;
        json_t *names = json_array();
        for (size_t c = 0; names && c < page->component_count; c++)
            if (page->components[c].is_public &&
                status_silence_covers(silence, &page->components[c]))
                json_array_append_new(names, json_string(page->components[c].name));
        if (!names || json_array_size(names) == 0) {
            json_decref(names);
            continue;
        }
        json_array_append_new(maintenances,
                              json_pack("{s:s, s:o, s:o, s:o}", "status",
                                        state == LK_SILENCE_ACTIVE ? "in_progress" : "scheduled",
                                        "starts_at", lk_json_time(silence->starts_at_ms), "ends_at",
                                        lk_json_time(silence->ends_at_ms), "components", names));
    }
    return maintenances;
}

json_t *status_page_json(const lk_status_page_t *page, lk_msg_t *reply, int64_t now_ms)
{
    if (reply->alert_count > 1)
        qsort(reply->alerts, reply->alert_count, sizeof *reply->alerts, s_alert_order);
    if (reply->update_count > 1)
        qsort(reply->updates, reply->update_count, sizeof *reply->updates, s_update_order);
    s_incident_view_t *views =
        reply->incident_count ? calloc(reply->incident_count, sizeof *views) : NULL;
    if (reply->incident_count && !views)
        return NULL;
    s_views(page, reply, views);

    status_level_t worst = STATUS_OPERATIONAL;
    json_t *components = s_components_json(page, reply, views, now_ms, &worst);
    json_t *incidents = json_array();
    json_t *history = json_array();
    bool any_component = false;
    for (size_t c = 0; c < page->component_count; c++)
        any_component = any_component || page->components[c].is_public;
    /* reply->incidents are newest first */
    for (size_t i = 0; incidents && history && i < reply->incident_count; i++) {
        const s_incident_view_t *view = &views[i];
        if (!view->is_public)
            continue;
        if (view->open) {
            /* without public components the incidents themselves set the page's status */
            if (!any_component && view->impact > worst)
                worst = view->impact;
            json_array_append_new(incidents, s_incident_json(page, view, reply));
        } else if (json_array_size(history) < STATUS_HISTORY_MAX)
            json_array_append_new(history, s_incident_json(page, view, reply));
    }
    json_t *dates = json_array();
    int64_t window_start = status_window_start(now_ms, STATUS_WINDOW_DAYS);
    for (size_t d = 0; dates && d < STATUS_WINDOW_DAYS; d++)
        json_array_append_new(dates, s_date(window_start + (int64_t)d * STATUS_DAY_MS));
    json_t *levels = json_array();
    for (int l = 0; levels && l < STATUS_LEVEL_COUNT; l++)
        json_array_append_new(levels, json_string(status_level_name((status_level_t)l)));
    char url[LK_STATUS_SLUG_MAX + 16];
    snprintf(url, sizeof url, "/status/%s", page->slug);
    free(views);
    json_t *maintenances = s_maintenances_json(page, reply, now_ms);
    if (!components || !incidents || !history || !dates || !levels || !maintenances) {
        json_decref(components);
        json_decref(incidents);
        json_decref(history);
        json_decref(dates);
        json_decref(levels);
        json_decref(maintenances);
        return NULL;
    }
    return json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "page",
                     "slug", page->slug, "title", page->title, "url", url, "status", "level",
                     status_level_name(worst), "description", status_level_description(worst),
                     "components", components, "incidents", incidents, "maintenances", maintenances,
                     "history", history, "days", dates, "levels", levels, "generated_at",
                     lk_json_time(now_ms));
}
