/*  lk_yaml — YAML configuration files as a small tree of positioned nodes.

    libyaml's event parser drives a builder with an explicit stack (one frame per open
    collection, at most LK_YAML_MAX_DEPTH), so nesting never recurses on input. Aliases are
    expanded by copying, which is what makes the limits matter: every node, copies included,
    counts against LK_YAML_MAX_NODES, and aliases themselves are capped, so a document that
    doubles itself level after level fails quickly with a clear message.
*/
#include "lk_yaml.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct {
    lk_yaml_node_t *node; /* the collection being filled */
    char *anchor;         /* its anchor, registered once the collection is complete */
    char *key;            /* mappings: the key waiting for its value */
    int key_line;
    int key_column;
    bool key_is_merge;       /* the waiting key is the merge key `<<` */
    lk_yaml_node_t **merges; /* mappings: values of `<<`, applied at the end */
    size_t merge_count;
} s_frame_t;

typedef struct {
    char *name;
    lk_yaml_node_t *node;
} s_anchor_t;

typedef struct {
    lk_yaml_doc_t *doc;
    s_frame_t stack[LK_YAML_MAX_DEPTH];
    size_t depth;
    s_anchor_t anchors[LK_YAML_MAX_ALIASES];
    size_t anchor_count;
    size_t alias_count;
    size_t document_count;
    char *err;
    size_t err_size;
} s_builder_t;

/* ---- nodes ----------------------------------------------------------------------------- */

static void s_node_free(lk_yaml_node_t *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->count; i++)
        s_node_free(node->items[i]);
    free(node->items);
    free(node->text);
    free(node->key);
    free(node);
}

/* Writes "FILE:LINE:COL: message" into the builder's error buffer; returns -1. */
static int s_fail(s_builder_t *b, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_fail(s_builder_t *b, int line, int column, const char *fmt, ...)
{
    char message[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    snprintf(b->err, b->err_size, "%s:%d:%d: %s", b->doc->file, line, column, message);
    return -1;
}

/* A new node counted against the document's limit; NULL (error set) past the limit. */
static lk_yaml_node_t *s_node_new(s_builder_t *b, lk_yaml_kind_t kind, int line, int column)
{
    if (b->doc->node_count >= LK_YAML_MAX_NODES) {
        s_fail(b, line, column, "too many nodes (limit %d, counting alias copies)",
               LK_YAML_MAX_NODES);
        return NULL;
    }
    lk_yaml_node_t *node = calloc(1, sizeof *node);
    if (!node) {
        s_fail(b, line, column, "out of memory");
        return NULL;
    }
    b->doc->node_count++;
    node->kind = kind;
    node->file = b->doc->file;
    node->line = line;
    node->column = column;
    return node;
}

static int s_push(lk_yaml_node_t ***items, size_t *count, lk_yaml_node_t *node)
{
    lk_yaml_node_t **grown = realloc(*items, (*count + 1) * sizeof **items);
    if (!grown)
        return -1;
    grown[(*count)++] = node;
    *items = grown;
    return 0;
}

/* Collection levels below and including node: 0 for a scalar. */
static size_t s_height(const lk_yaml_node_t *node)
{
    if (node->kind == LK_YAML_SCALAR)
        return 0;
    size_t highest = 0;
    for (size_t i = 0; i < node->count; i++) {
        size_t height = s_height(node->items[i]);
        if (height > highest)
            highest = height;
    }
    return highest + 1;
}

/* Deep copy (an alias or a merged entry), counted against the node limit; errors are
   reported at line:column, where the copy was asked for. */
static lk_yaml_node_t *s_copy(s_builder_t *b, const lk_yaml_node_t *source, int line, int column)
{
    lk_yaml_node_t *copy = s_node_new(b, source->kind, line, column);
    if (!copy)
        return NULL;
    copy->line = source->line;
    copy->column = source->column;
    copy->quoted = source->quoted;
    copy->key_line = source->key_line;
    copy->key_column = source->key_column;
    copy->text_len = source->text_len;
    if ((source->text && !(copy->text = strdup(source->text))) ||
        (source->key && !(copy->key = strdup(source->key)))) {
        s_node_free(copy);
        s_fail(b, line, column, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < source->count; i++) {
        lk_yaml_node_t *item = s_copy(b, source->items[i], line, column);
        if (!item || s_push(&copy->items, &copy->count, item) != 0) {
            if (item) {
                s_node_free(item);
                s_fail(b, line, column, "out of memory");
            }
            s_node_free(copy);
            return NULL;
        }
    }
    return copy;
}

/* ---- building -------------------------------------------------------------------------- */

static int s_register_anchor(s_builder_t *b, const char *name, lk_yaml_node_t *node)
{
    for (size_t i = 0; i < b->anchor_count; i++)
        if (strcmp(b->anchors[i].name, name) == 0) {
            b->anchors[i].node = node; /* YAML lets a later anchor reuse a name */
            return 0;
        }
    if (b->anchor_count >= LK_YAML_MAX_ALIASES)
        return s_fail(b, node->line, node->column, "too many anchors (limit %d)",
                      LK_YAML_MAX_ALIASES);
    char *copy = strdup(name);
    if (!copy)
        return s_fail(b, node->line, node->column, "out of memory");
    b->anchors[b->anchor_count].name = copy;
    b->anchors[b->anchor_count].node = node;
    b->anchor_count++;
    return 0;
}

static const lk_yaml_node_t *s_find_key(const lk_yaml_node_t *mapping, const char *key)
{
    for (size_t i = 0; i < mapping->count; i++)
        if (strcmp(mapping->items[i]->key, key) == 0)
            return mapping->items[i];
    return NULL;
}

/* Hands a complete node to its parent: the root, a list item, a mapping key or value.
   Takes ownership of node in every case (freed on error). */
static int s_attach(s_builder_t *b, lk_yaml_node_t *node)
{
    if (b->depth == 0) {
        b->doc->root = node;
        return 0;
    }
    s_frame_t *top = &b->stack[b->depth - 1];
    if (top->node->kind == LK_YAML_SEQUENCE) {
        if (s_push(&top->node->items, &top->node->count, node) != 0) {
            s_node_free(node);
            return s_fail(b, top->node->line, top->node->column, "out of memory");
        }
        return 0;
    }
    if (!top->key) {
        /* node is a key: collections and aliases were refused before they got here */
        assert(node->kind == LK_YAML_SCALAR);
        bool is_merge = !node->quoted && strcmp(node->text, "<<") == 0;
        const lk_yaml_node_t *previous = is_merge ? NULL : s_find_key(top->node, node->text);
        if (previous) {
            int rc =
                s_fail(b, node->line, node->column, "duplicate key '%s' (first set at line %d)",
                       node->text, previous->key_line);
            s_node_free(node);
            return rc;
        }
        top->key = node->text;
        top->key_line = node->line;
        top->key_column = node->column;
        top->key_is_merge = is_merge;
        node->text = NULL;
        s_node_free(node);
        return 0;
    }
    node->key = top->key;
    node->key_line = top->key_line;
    node->key_column = top->key_column;
    top->key = NULL;
    int rc = top->key_is_merge ? s_push(&top->merges, &top->merge_count, node)
                               : s_push(&top->node->items, &top->node->count, node);
    if (rc != 0) {
        s_node_free(node);
        return s_fail(b, top->node->line, top->node->column, "out of memory");
    }
    return 0;
}

/* True when the next node would be a mapping key (which must then be a plain scalar). */
static bool s_expecting_key(const s_builder_t *b)
{
    if (b->depth == 0)
        return false;
    const s_frame_t *top = &b->stack[b->depth - 1];
    return top->node->kind == LK_YAML_MAPPING && !top->key;
}

/* Adds the entries of one merge source that mapping does not set yet. */
static int s_merge_one(s_builder_t *b, lk_yaml_node_t *mapping, const lk_yaml_node_t *source)
{
    if (source->kind != LK_YAML_MAPPING)
        return s_fail(b, source->line, source->column,
                      "<<: expected a mapping or a list of mappings");
    for (size_t i = 0; i < source->count; i++) {
        const lk_yaml_node_t *entry = source->items[i];
        if (s_find_key(mapping, entry->key))
            continue; /* keys written in the mapping, or merged earlier, win */
        if (b->depth + s_height(entry) > LK_YAML_MAX_DEPTH)
            return s_fail(b, entry->line, entry->column, "nesting deeper than %d levels",
                          LK_YAML_MAX_DEPTH);
        lk_yaml_node_t *copy = s_copy(b, entry, source->line, source->column);
        if (!copy)
            return -1;
        if (s_push(&mapping->items, &mapping->count, copy) != 0) {
            s_node_free(copy);
            return s_fail(b, entry->line, entry->column, "out of memory");
        }
    }
    return 0;
}

/* Applies the frame's `<<` values, then parks them in the document (they may be anchor
   targets that later aliases copy). */
static int s_apply_merges(s_builder_t *b, s_frame_t *frame)
{
    int rc = 0;
    for (size_t i = 0; i < frame->merge_count && rc == 0; i++) {
        const lk_yaml_node_t *source = frame->merges[i];
        if (source->kind == LK_YAML_SEQUENCE)
            for (size_t j = 0; j < source->count && rc == 0; j++)
                rc = s_merge_one(b, frame->node, source->items[j]);
        else
            rc = s_merge_one(b, frame->node, source);
    }
    for (size_t i = 0; i < frame->merge_count; i++) {
        if (s_push(&b->doc->discarded, &b->doc->discarded_count, frame->merges[i]) != 0) {
            s_node_free(frame->merges[i]);
            if (rc == 0)
                rc = s_fail(b, frame->node->line, frame->node->column, "out of memory");
        }
    }
    free(frame->merges);
    frame->merges = NULL;
    frame->merge_count = 0;
    return rc;
}

static void s_frame_clear(s_frame_t *frame)
{
    s_node_free(frame->node);
    free(frame->anchor);
    free(frame->key);
    for (size_t i = 0; i < frame->merge_count; i++)
        s_node_free(frame->merges[i]);
    free(frame->merges);
    memset(frame, 0, sizeof *frame);
}

static int s_start_collection(s_builder_t *b, lk_yaml_kind_t kind, const yaml_event_t *event,
                              const yaml_char_t *anchor)
{
    int line = (int)event->start_mark.line + 1;
    int column = (int)event->start_mark.column + 1;
    if (s_expecting_key(b))
        return s_fail(b, line, column, "mapping keys must be plain text, not a %s",
                      lk_yaml_kind_name(kind));
    if (b->depth >= LK_YAML_MAX_DEPTH)
        return s_fail(b, line, column, "nesting deeper than %d levels", LK_YAML_MAX_DEPTH);
    lk_yaml_node_t *node = s_node_new(b, kind, line, column);
    if (!node)
        return -1;
    s_frame_t *frame = &b->stack[b->depth++];
    memset(frame, 0, sizeof *frame);
    frame->node = node;
    if (anchor && !(frame->anchor = strdup((const char *)anchor)))
        return s_fail(b, line, column, "out of memory");
    return 0;
}

static int s_end_collection(s_builder_t *b)
{
    s_frame_t *frame = &b->stack[b->depth - 1];
    if (frame->merge_count && s_apply_merges(b, frame) != 0)
        return -1;
    lk_yaml_node_t *node = frame->node;
    char *anchor = frame->anchor;
    frame->node = NULL;
    frame->anchor = NULL;
    b->depth--;
    int rc = anchor ? s_register_anchor(b, anchor, node) : 0;
    free(anchor);
    if (rc != 0) {
        s_node_free(node);
        return -1;
    }
    return s_attach(b, node);
}

static int s_scalar(s_builder_t *b, const yaml_event_t *event)
{
    int line = (int)event->start_mark.line + 1;
    int column = (int)event->start_mark.column + 1;
    const char *value = (const char *)event->data.scalar.value;
    size_t length = event->data.scalar.length;
    if (memchr(value, '\0', length))
        return s_fail(b, line, column, "text contains a NUL character");
    if (event->data.scalar.anchor && s_expecting_key(b))
        return s_fail(b, line, column, "anchors on mapping keys are not supported");
    lk_yaml_node_t *node = s_node_new(b, LK_YAML_SCALAR, line, column);
    if (!node)
        return -1;
    node->text = malloc(length + 1);
    if (!node->text) {
        s_node_free(node);
        return s_fail(b, line, column, "out of memory");
    }
    memcpy(node->text, value, length);
    node->text[length] = '\0';
    node->text_len = length;
    node->quoted = event->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    if (event->data.scalar.anchor &&
        s_register_anchor(b, (const char *)event->data.scalar.anchor, node) != 0) {
        s_node_free(node);
        return -1;
    }
    return s_attach(b, node);
}

static int s_alias(s_builder_t *b, const yaml_event_t *event)
{
    int line = (int)event->start_mark.line + 1;
    int column = (int)event->start_mark.column + 1;
    const char *name = (const char *)event->data.alias.anchor;
    if (s_expecting_key(b))
        return s_fail(b, line, column, "aliases cannot be mapping keys");
    if (++b->alias_count > LK_YAML_MAX_ALIASES)
        return s_fail(b, line, column, "too many aliases (limit %d)", LK_YAML_MAX_ALIASES);
    const lk_yaml_node_t *target = NULL;
    for (size_t i = 0; i < b->anchor_count; i++)
        if (strcmp(b->anchors[i].name, name) == 0)
            target = b->anchors[i].node;
    if (!target) /* also an alias to a collection that is still open: a cycle */
        return s_fail(b, line, column, "unknown anchor '%s' (define &%s before using *%s)", name,
                      name, name);
    if (b->depth + s_height(target) > LK_YAML_MAX_DEPTH)
        return s_fail(b, line, column, "nesting deeper than %d levels", LK_YAML_MAX_DEPTH);
    lk_yaml_node_t *copy = s_copy(b, target, line, column);
    if (!copy)
        return -1;
    copy->line = line; /* errors about the copy point where it is used */
    copy->column = column;
    free(copy->key); /* the key is the one it gets where it is used, if any */
    copy->key = NULL;
    return s_attach(b, copy);
}

static int s_event(s_builder_t *b, const yaml_event_t *event)
{
    switch (event->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->document_count > 1)
            return s_fail(b, (int)event->start_mark.line + 1, (int)event->start_mark.column + 1,
                          "only one YAML document is allowed");
        return 0;
    case YAML_SCALAR_EVENT:
        return s_scalar(b, event);
    case YAML_ALIAS_EVENT:
        return s_alias(b, event);
    case YAML_SEQUENCE_START_EVENT:
        return s_start_collection(b, LK_YAML_SEQUENCE, event, event->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return s_start_collection(b, LK_YAML_MAPPING, event, event->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return s_end_collection(b);
    default:
        return 0;
    }
}

static void s_parser_error(s_builder_t *b, const yaml_parser_t *parser)
{
    const char *problem = parser->problem ? parser->problem : "invalid YAML";
    if (parser->error == YAML_READER_ERROR) {
        snprintf(b->err, b->err_size, "%s: byte %zu: %s", b->doc->file, parser->problem_offset,
                 problem);
        return;
    }
    if (parser->context)
        s_fail(b, (int)parser->problem_mark.line + 1, (int)parser->problem_mark.column + 1,
               "%s %s at line %d", problem, parser->context, (int)parser->context_mark.line + 1);
    else
        s_fail(b, (int)parser->problem_mark.line + 1, (int)parser->problem_mark.column + 1, "%s",
               problem);
}

lk_yaml_doc_t *lk_yaml_load_string(const char *name, const char *text, size_t size, char *err,
                                   size_t err_size)
{
    assert(name && (text || size == 0) && err && err_size);
    err[0] = '\0';
    if (size > LK_YAML_MAX_BYTES) {
        snprintf(err, err_size, "%s: larger than %d bytes", name, LK_YAML_MAX_BYTES);
        return NULL;
    }
    lk_yaml_doc_t *doc = calloc(1, sizeof *doc);
    if (!doc || !(doc->file = strdup(name))) {
        free(doc);
        snprintf(err, err_size, "%s: out of memory", name);
        return NULL;
    }
    s_builder_t *b = calloc(1, sizeof *b);
    yaml_parser_t parser;
    if (!b || !yaml_parser_initialize(&parser)) {
        free(b);
        snprintf(err, err_size, "%s: out of memory", name);
        lk_yaml_destroy(&doc);
        return NULL;
    }
    b->doc = doc;
    b->err = err;
    b->err_size = err_size;
    yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""), size);
    int rc = 0;
    for (;;) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            s_parser_error(b, &parser);
            rc = -1;
            break;
        }
        rc = s_event(b, &event);
        bool done = event.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&event);
        if (rc != 0 || done)
            break;
    }
    yaml_parser_delete(&parser);
    while (b->depth > 0)
        s_frame_clear(&b->stack[--b->depth]);
    for (size_t i = 0; i < b->anchor_count; i++)
        free(b->anchors[i].name);
    free(b);
    if (rc != 0)
        lk_yaml_destroy(&doc);
    return doc;
}

lk_yaml_doc_t *lk_yaml_load_file(const char *path, char *err, size_t err_size)
{
    assert(path && err && err_size);
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    /* Read in chunks up to the limit: works for pipes and /proc files too, and a file that
       grows while being read cannot push us past the cap. */
    size_t capacity = 64 * 1024, size = 0;
    char *text = malloc(capacity);
    bool too_large = false, failed = !text;
    while (!failed) {
        if (size == capacity) {
            if (capacity > LK_YAML_MAX_BYTES) {
                too_large = true;
                break;
            }
            char *grown = realloc(text, capacity * 2);
            if (!grown) {
                failed = true;
                break;
            }
            text = grown;
            capacity *= 2;
        }
        size_t got = fread(text + size, 1, capacity - size, file);
        size += got;
        if (got == 0) {
            failed = ferror(file) != 0;
            break;
        }
        if (size > LK_YAML_MAX_BYTES) {
            too_large = true;
            break;
        }
    }
    fclose(file);
    lk_yaml_doc_t *doc = NULL;
    if (too_large)
        snprintf(err, err_size, "%s: larger than %d bytes", path, LK_YAML_MAX_BYTES);
    else if (failed)
        snprintf(err, err_size, "%s: cannot read", path);
    else
        doc = lk_yaml_load_string(path, text, size, err, err_size);
    free(text);
    return doc;
}

void lk_yaml_destroy(lk_yaml_doc_t **self_p)
{
    assert(self_p);
    lk_yaml_doc_t *self = *self_p;
    if (!self)
        return;
    s_node_free(self->root);
    for (size_t i = 0; i < self->discarded_count; i++)
        s_node_free(self->discarded[i]);
    free(self->discarded);
    free(self->file);
    free(self);
    *self_p = NULL;
}

/* ---- reading --------------------------------------------------------------------------- */

const lk_yaml_node_t *lk_yaml_get(const lk_yaml_node_t *mapping, const char *key)
{
    if (!mapping || mapping->kind != LK_YAML_MAPPING)
        return NULL;
    return s_find_key(mapping, key);
}

bool lk_yaml_is_null(const lk_yaml_node_t *node)
{
    if (!node)
        return true;
    if (node->kind != LK_YAML_SCALAR || node->quoted)
        return false;
    const char *text = node->text;
    return !*text || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 ||
           strcmp(text, "Null") == 0 || strcmp(text, "NULL") == 0;
}

const char *lk_yaml_kind_name(lk_yaml_kind_t kind)
{
    switch (kind) {
    case LK_YAML_SCALAR:
        return "scalar";
    case LK_YAML_SEQUENCE:
        return "list";
    case LK_YAML_MAPPING:
        return "mapping";
    }
    return "?";
}

static int s_verror(char *err, size_t err_size, const char *file, int line, int column,
                    const char *path, const char *fmt, va_list args)
{
    char message[512];
    vsnprintf(message, sizeof message, fmt, args);
    if (path && *path)
        snprintf(err, err_size, "%s:%d:%d: %s: %s", file, line, column, path, message);
    else
        snprintf(err, err_size, "%s:%d:%d: %s", file, line, column, message);
    return -1;
}

int lk_yaml_error(char *err, size_t err_size, const lk_yaml_node_t *node, const char *path,
                  const char *fmt, ...)
{
    assert(node);
    va_list args;
    va_start(args, fmt);
    s_verror(err, err_size, node->file, node->line, node->column, path, fmt, args);
    va_end(args);
    return -1;
}

/* Same, positioned at node's key (for problems with the key itself). */
static int s_key_error(char *err, size_t err_size, const lk_yaml_node_t *node, const char *path,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int s_key_error(char *err, size_t err_size, const lk_yaml_node_t *node, const char *path,
                       const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    s_verror(err, err_size, node->file, node->key ? node->key_line : node->line,
             node->key ? node->key_column : node->column, path, fmt, args);
    va_end(args);
    return -1;
}

/* What a node is, for "expected X, found Y". */
static const char *s_found(const lk_yaml_node_t *node)
{
    return lk_yaml_is_null(node) ? "nothing" : lk_yaml_kind_name(node->kind);
}

const lk_yaml_node_t *lk_yaml_require(const lk_yaml_node_t *mapping, const char *path,
                                      const char *key, char *err, size_t err_size)
{
    assert(mapping && key);
    const lk_yaml_node_t *node = lk_yaml_get(mapping, key);
    if (!node) {
        char field[256];
        snprintf(field, sizeof field, "%s%s%s", path && *path ? path : "", path && *path ? "." : "",
                 key);
        lk_yaml_error(err, err_size, mapping, field, "is required");
    }
    return node;
}

int lk_yaml_expect(const lk_yaml_node_t *node, lk_yaml_kind_t kind, const char *path, char *err,
                   size_t err_size)
{
    assert(node);
    if (node->kind == kind && !(kind == LK_YAML_SCALAR && lk_yaml_is_null(node)))
        return 0;
    return lk_yaml_error(err, err_size, node, path, "expected a %s, found %s",
                         lk_yaml_kind_name(kind), s_found(node));
}

int lk_yaml_string(const lk_yaml_node_t *node, const char *path, size_t min_len, size_t max_len,
                   char **out, char *err, size_t err_size)
{
    assert(node && out);
    if (node->kind != LK_YAML_SCALAR || lk_yaml_is_null(node))
        return lk_yaml_error(err, err_size, node, path, "expected a string, found %s",
                             s_found(node));
    if (node->text_len < min_len)
        return min_len == 1 ? lk_yaml_error(err, err_size, node, path, "must not be empty")
                            : lk_yaml_error(err, err_size, node, path, "must be at least %zu bytes",
                                            min_len);
    if (node->text_len > max_len)
        return lk_yaml_error(err, err_size, node, path, "longer than %zu bytes", max_len);
    *out = strdup(node->text);
    if (!*out)
        return lk_yaml_error(err, err_size, node, path, "out of memory");
    return 0;
}

int lk_yaml_int(const lk_yaml_node_t *node, const char *path, int64_t min, int64_t max,
                int64_t *out, char *err, size_t err_size)
{
    assert(node && out);
    if (node->kind == LK_YAML_SCALAR && !lk_yaml_is_null(node)) {
        char *end = NULL;
        errno = 0;
        long long value = strtoll(node->text, &end, 10);
        if (!errno && end != node->text && !*end && value >= min && value <= max) {
            *out = value;
            return 0;
        }
    }
    return lk_yaml_error(err, err_size, node, path, "expected an integer from %lld to %lld",
                         (long long)min, (long long)max);
}

int lk_yaml_bool(const lk_yaml_node_t *node, const char *path, bool *out, char *err,
                 size_t err_size)
{
    assert(node && out);
    if (node->kind == LK_YAML_SCALAR) {
        static const char *const yes[] = {"true", "True", "TRUE"};
        static const char *const no[] = {"false", "False", "FALSE"};
        for (size_t i = 0; i < 3; i++) {
            if (strcmp(node->text, yes[i]) == 0) {
                *out = true;
                return 0;
            }
            if (strcmp(node->text, no[i]) == 0) {
                *out = false;
                return 0;
            }
        }
    }
    return lk_yaml_error(err, err_size, node, path, "expected true or false");
}

int lk_yaml_duration(const lk_yaml_node_t *node, const char *path, int64_t min_ms, int64_t *out,
                     char *err, size_t err_size)
{
    assert(node && out);
    int64_t ms = 0;
    if (node->kind != LK_YAML_SCALAR || !lk_yaml_parse_duration(node->text, &ms))
        return lk_yaml_error(err, err_size, node, path, "expected a duration like 30s, 5m, 1h");
    if (ms < min_ms) {
        char minimum[32];
        lk_yaml_format_duration(min_ms, minimum, sizeof minimum);
        return lk_yaml_error(err, err_size, node, path, "must be at least %s", minimum);
    }
    *out = ms;
    return 0;
}

/* Edit distance, capped: only small distances matter for "did you mean". */
static size_t s_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diagonal + cost;
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[lb];
}

int lk_yaml_check_keys(const lk_yaml_node_t *mapping, const char *path, const char *const *known,
                       char *err, size_t err_size)
{
    assert(mapping && known);
    for (size_t i = 0; i < mapping->count; i++) {
        const lk_yaml_node_t *entry = mapping->items[i];
        bool found = false;
        const char *closest = NULL;
        size_t closest_distance = 3; /* suggest only near misses */
        for (size_t k = 0; known[k] && !found; k++) {
            found = strcmp(entry->key, known[k]) == 0;
            size_t distance = s_distance(entry->key, known[k]);
            if (distance < closest_distance) {
                closest_distance = distance;
                closest = known[k];
            }
        }
        if (found)
            continue;
        char list[512] = "";
        size_t used = 0;
        for (size_t k = 0; known[k] && used < sizeof list; k++)
            used +=
                (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", known[k]);
        if (closest)
            return s_key_error(err, err_size, entry, path,
                               "unknown key '%s' (did you mean '%s'? known keys: %s)", entry->key,
                               closest, list);
        return s_key_error(err, err_size, entry, path, "unknown key '%s' (known keys: %s)",
                           entry->key, list);
    }
    return 0;
}

/* ---- durations ------------------------------------------------------------------------- */

static const struct {
    const char *unit;
    int64_t ms;
} s_units[] = {
    {"y", 365LL * 86400000},
    {"w", 7LL * 86400000},
    {"d", 86400000},
    {"h", 3600000},
    {"m", 60000},
    {"s", 1000},
    {"ms", 1},
};
#define S_UNIT_COUNT (sizeof s_units / sizeof *s_units)

bool lk_yaml_parse_duration(const char *text, int64_t *ms)
{
    assert(ms);
    if (!text || !*text)
        return false;
    if (strcmp(text, "0") == 0) {
        *ms = 0;
        return true;
    }
    const char *cursor = text;
    size_t next_unit = 0;
    int64_t total = 0;
    while (*cursor) {
        if (!isdigit((unsigned char)*cursor))
            return false;
        int64_t count = 0;
        while (isdigit((unsigned char)*cursor)) {
            if (count > (INT64_MAX - 9) / 10)
                return false;
            count = count * 10 + (*cursor++ - '0');
        }
        const char *unit = cursor;
        while (isalpha((unsigned char)*cursor))
            cursor++;
        size_t unit_len = (size_t)(cursor - unit);
        size_t index = next_unit;
        while (index < S_UNIT_COUNT && (strlen(s_units[index].unit) != unit_len ||
                                        strncmp(s_units[index].unit, unit, unit_len) != 0))
            index++;
        if (index == S_UNIT_COUNT)
            return false; /* no unit, unknown unit, or units out of order / repeated */
        if (count > (INT64_MAX - total) / s_units[index].ms)
            return false;
        total += count * s_units[index].ms;
        next_unit = index + 1;
    }
    *ms = total;
    return true;
}

void lk_yaml_format_duration(int64_t ms, char *buf, size_t buf_size)
{
    assert(buf && buf_size);
    buf[0] = '\0';
    if (ms <= 0) {
        snprintf(buf, buf_size, "0s");
        return;
    }
    size_t used = 0;
    for (size_t i = 0; i < S_UNIT_COUNT && ms > 0 && used < buf_size; i++) {
        if (ms < s_units[i].ms)
            continue;
        used += (size_t)snprintf(buf + used, buf_size - used, "%lld%s",
                                 (long long)(ms / s_units[i].ms), s_units[i].unit);
        ms %= s_units[i].ms;
    }
}

void lk_yaml_path(char *out, size_t size, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(out, size, fmt, args);
    va_end(args);
}
