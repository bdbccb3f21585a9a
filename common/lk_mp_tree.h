/*  lk_mp_tree — one msgpack object read into msgpack-c's object tree in a single pass.

    lk_msg's decoder reads every message of the pipeline. It used to walk the bytes twice:
    once to check every length against the buffer (so that a header claiming billions of
    elements cannot make msgpack-c allocate gigabytes) and once in msgpack-c's unpacker, which
    builds the tree in its zone. This reader does both in one walk and allocates the tree's
    arrays from a few large chunks. The tree is the same msgpack_object tree msgpack-c builds
    (same types, strings pointing into the input), so the field decoders are unchanged; the
    tests check the two against each other on valid, mutated and hostile input.

        lk_mp_tree_t tree;
        size_t used;
        if (lk_mp_tree_read(&tree, data, size, &used) == LK_MP_OK)
            ... tree.root ...
        lk_mp_tree_destroy(&tree);   (also after a failure)

    Limits, as msgpack-c's: at most LK_MP_MAX_DEPTH non-empty containers nested. A container
    may not announce more elements than bytes remain after everything announced before it
    (each element takes at least one byte), which bounds the memory by the input's size.
*/
#ifndef LK_MP_TREE_H
#define LK_MP_TREE_H

#include <msgpack.h>
#include <stddef.h>

#define LK_MP_MAX_DEPTH 32

typedef enum {
    LK_MP_OK = 0,
    LK_MP_TRUNCATED, /* the input ends inside the object, or a container announces more
                        elements than bytes remain */
    LK_MP_INVALID,   /* 0xc1, the one byte msgpack never uses */
    LK_MP_TOO_DEEP,  /* more than LK_MP_MAX_DEPTH non-empty containers nested */
    LK_MP_NOMEM
} lk_mp_result_t;

typedef struct lk_mp_chunk_t lk_mp_chunk_t;

typedef struct {
    msgpack_object root;   /* valid after LK_MP_OK; strings and raw bytes point into the input */
    lk_mp_chunk_t *chunks; /* the arrays of the tree's containers */
} lk_mp_tree_t;

/*  Reads the first msgpack object at data (size bytes) into tree; *used is its length in
    bytes on LK_MP_OK (the caller decides what bytes after it mean). The input must outlive
    the tree. Call lk_mp_tree_destroy whatever the result. */
lk_mp_result_t lk_mp_tree_read(lk_mp_tree_t *tree, const void *data, size_t size, size_t *used);

/*  Walks the first msgpack object at data with the same checks as lk_mp_tree_read but
    builds nothing and has no depth limit (it keeps no stack): LK_MP_OK with its length in
    *span, LK_MP_TRUNCATED or LK_MP_INVALID. */
lk_mp_result_t lk_mp_span(const void *data, size_t size, size_t *span);

/*  Frees what lk_mp_tree_read allocated; the tree may be read again afterwards. */
void lk_mp_tree_destroy(lk_mp_tree_t *tree);

#endif
