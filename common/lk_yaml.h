/*  lk_yaml — YAML configuration files as a small tree of positioned nodes (over libyaml).

    A document is read whole into memory (at most LK_YAML_MAX_BYTES), parsed into scalars,
    sequences and mappings that remember where they were written (1-based line and column),
    and then read with the typed getters below, whose errors always name the place and the
    field: "lookout.yaml:12:7: rules[2].duration: expected a duration like 30s, 5m, 1h".

    Untrusted input stays bounded: nesting deeper than LK_YAML_MAX_DEPTH, more than
    LK_YAML_MAX_ALIASES aliases or more than LK_YAML_MAX_NODES nodes after alias expansion
    (the "billion laughs" document) are errors, never an allocation storm.

    Supported YAML: one document; block and flow styles; anchors and aliases (an alias is a
    deep copy of the anchored node); the merge key `<<` (a mapping or a list of mappings whose
    keys are added where the mapping does not set them). Keys must be scalars and unique
    within a mapping. Tags are ignored. Null is an empty plain scalar, `~` or `null`.
*/
#ifndef LK_YAML_H
#define LK_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LK_YAML_MAX_BYTES   (4 * 1024 * 1024) /* largest file accepted */
#define LK_YAML_MAX_DEPTH   32                /* deepest nesting of collections */
#define LK_YAML_MAX_ALIASES 64                /* aliases (*name) in one document */
#define LK_YAML_MAX_NODES   100000            /* nodes, counting every alias copy */

typedef enum { LK_YAML_SCALAR = 0, LK_YAML_SEQUENCE, LK_YAML_MAPPING } lk_yaml_kind_t;

typedef struct lk_yaml_node_t lk_yaml_node_t;

/* One node. Everything it points to belongs to its document. */
struct lk_yaml_node_t {
    lk_yaml_kind_t kind;
    const char *file; /* the document's name (for error messages) */
    int line;         /* 1-based position of the node's first character */
    int column;
    char *text; /* scalar: its value (NUL-free, NUL-terminated); else NULL */
    size_t text_len;
    bool quoted;  /* scalar written quoted or as a block: never null by its form */
    char *key;    /* a mapping's entry: its key; NULL otherwise */
    int key_line; /* position of the key (the entry's line in errors) */
    int key_column;
    lk_yaml_node_t **items; /* sequence items, or mapping values (each with its key) */
    size_t count;
};

typedef struct {
    char *file;           /* the name given at load, used in every error */
    lk_yaml_node_t *root; /* NULL when the document is empty */
    size_t node_count;
    lk_yaml_node_t **discarded; /* merge-key sources kept alive for anchors */
    size_t discarded_count;
} lk_yaml_doc_t;

/* Reads and parses the file at path. Returns a document (caller destroys) or NULL with
   err = "PATH:LINE:COL: message" (or "PATH: message" when the file cannot be read). */
lk_yaml_doc_t *lk_yaml_load_file(const char *path, char *err, size_t err_size);
/* Parses size bytes of text; name stands for the file in positions and errors. */
lk_yaml_doc_t *lk_yaml_load_string(const char *name, const char *text, size_t size, char *err,
                                   size_t err_size);
/* Frees the document and every node; accepts NULL; sets *self_p to NULL. */
void lk_yaml_destroy(lk_yaml_doc_t **self_p);

/* ---- reading the tree ------------------------------------------------------------------ */

/* The value of key in mapping, or NULL when absent (or mapping is NULL / not a mapping). */
const lk_yaml_node_t *lk_yaml_get(const lk_yaml_node_t *mapping, const char *key);
/* True for a missing node or a null scalar (empty plain, `~`, `null`). */
bool lk_yaml_is_null(const lk_yaml_node_t *node);
/* "scalar", "list" or "mapping": for messages. */
const char *lk_yaml_kind_name(lk_yaml_kind_t kind);

/* Writes "FILE:LINE:COL: PATH: message" into err (the position is node's key when it has
   one, else the node's own; PATH is left out when NULL or ""). Always returns -1 so that
   callers can `return lk_yaml_error (...)`. */
int lk_yaml_error(char *err, size_t err_size, const lk_yaml_node_t *node, const char *path,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The typed getters. Each returns 0 and sets *out, or -1 with err naming position and path.
   A missing (NULL) node is an error "PATH: is required" only where a parent is known, so
   callers look keys up with lk_yaml_require when a field must be present. */

/* mapping's value for key, or NULL with err "MAPPING-POS: PATH.key: is required" (path is
   the mapping's path). */
const lk_yaml_node_t *lk_yaml_require(const lk_yaml_node_t *mapping, const char *path,
                                      const char *key, char *err, size_t err_size);
/* Fails unless node is of kind ("expected a list, found a scalar"). */
int lk_yaml_expect(const lk_yaml_node_t *node, lk_yaml_kind_t kind, const char *path, char *err,
                   size_t err_size);
/* A non-null scalar of min_len..max_len bytes; *out is a heap copy the caller frees. */
int lk_yaml_string(const lk_yaml_node_t *node, const char *path, size_t min_len, size_t max_len,
                   char **out, char *err, size_t err_size);
/* A decimal integer in [min, max]. */
int lk_yaml_int(const lk_yaml_node_t *node, const char *path, int64_t min, int64_t max,
                int64_t *out, char *err, size_t err_size);
/* true/false (also True/TRUE/False/FALSE). */
int lk_yaml_bool(const lk_yaml_node_t *node, const char *path, bool *out, char *err,
                 size_t err_size);
/* A Prometheus-style duration (see lk_yaml_parse_duration) of at least min_ms, in ms. */
int lk_yaml_duration(const lk_yaml_node_t *node, const char *path, int64_t min_ms, int64_t *out,
                     char *err, size_t err_size);
/* Fails on the first key of mapping that is not in known (a NULL-terminated list), naming it
   and listing the known keys, so that a misspelt key never passes silently. */
int lk_yaml_check_keys(const lk_yaml_node_t *mapping, const char *path, const char *const *known,
                       char *err, size_t err_size);

/* Parses a Prometheus duration: "0", or one or more of <digits><unit> with units in
   decreasing order, each at most once: y (365d), w, d, h, m, s, ms — e.g. "90s", "1h30m",
   "500ms". Returns false for anything else (empty, no unit, negative, overflow). */
bool lk_yaml_parse_duration(const char *text, int64_t *ms);
/* Writes a duration the way lk_yaml_parse_duration reads it ("1h30m", "0s") into buf. */
void lk_yaml_format_duration(int64_t ms, char *buf, size_t buf_size);

/* Formats a field path such as "status_pages[2].components[0].match" into out. Paths only
   name places in error messages, so an absurdly long one is cut rather than refused. */
void lk_yaml_path(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
