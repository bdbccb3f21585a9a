/*  lk_match — Alertmanager label matchers: parsing, compiling and matching.

    A matcher is `name=value`, `name!=value`, `name=~regex` or `name!~regex` (lk_matcher_t in
    lk_model.h). Values may be double-quoted with Go-style escapes (\", \\, \n) or written
    bare up to the next comma. A list is comma-separated and may be wrapped in braces:
    `{severity="critical", node=~"edge-.*"}`. As in Alertmanager, a regex must match the
    whole label value (it is anchored as ^(?:regex)$ — here ^(regex)$ in POSIX extended
    syntax) and a label an alert does not have matches as the empty string, so
    `team!~".+"` selects alerts without a team.

    A matchset is a list of matchers compiled once (regcomp) and then evaluated any number
    of times, from any thread: every matcher must match.

        lk_matchset_t *set = lk_matchset_new (matchers, count, err, sizeof err);
        if (lk_matchset_matches (set, &alert->labels)) ...
        lk_matchset_destroy (&set);
*/
#ifndef LK_MATCH_H
#define LK_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "lk_model.h"

#define LK_MATCHER_NAME_MAX  256  /* bytes of a label name in a matcher */
#define LK_MATCHER_VALUE_MAX 4096 /* bytes of a value or regex */

typedef struct lk_matchset_t lk_matchset_t;

/* Parses text (one matcher or a comma list, optionally in braces) and appends the matchers
   to *matchers / *count (growing the array). Returns 0, or -1 with a one-line reason in err
   ("expected one of =, !=, =~, !~ after 'node'"); on failure nothing is appended. Regexes
   are checked for syntax only when compiled (lk_matchset_new). */
int lk_matchers_parse(const char *text, lk_matcher_t **matchers, size_t *count, char *err,
                      size_t err_size);

/* Checks one matcher: a label name [a-zA-Z_][a-zA-Z0-9_]*, sizes within bounds, and a
   regex that compiles. Returns 0, or -1 with a reason in err. */
int lk_matcher_check(const lk_matcher_t *matcher, char *err, size_t err_size);

/* Compiles count matchers (copied). Returns the set, or NULL with a reason in err (a bad
   name or a regex that does not compile: "node=~"(": regex: parentheses not balanced").
   count 0 is a set that matches everything. */
lk_matchset_t *lk_matchset_new(const lk_matcher_t *matchers, size_t count, char *err,
                               size_t err_size);
/* Frees the set; accepts NULL; sets *self_p to NULL. */
void lk_matchset_destroy(lk_matchset_t **self_p);

/* True when every matcher of the set matches labels. */
bool lk_matchset_matches(const lk_matchset_t *self, const lk_labels_t *labels);
/* The set's matchers (its own copies). */
const lk_matcher_t *lk_matchset_matchers(const lk_matchset_t *self, size_t *count);

/* True when matcher matches the value (NULL = the label is absent, which matches as ""). A
   regex matcher must have been compiled into a set: use lk_matchset_matches for those. */
bool lk_matcher_matches_value(const lk_matcher_t *matcher, const char *value);

/* Renders matchers the way Alertmanager prints them in route keys: `{a="b",c=~"d.*"}`
   (values quoted like Go's strconv.Quote). Returns a heap string, or NULL on OOM. */
char *lk_matchers_format(const lk_matcher_t *matchers, size_t count);

#endif
