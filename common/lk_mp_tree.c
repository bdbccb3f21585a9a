/*  lk_mp_tree — one msgpack object read into msgpack-c's object tree in a single pass
    (lk_mp_tree.h).

    The checks are those of the two passes it replaces, in the same order: for each object,
    in the order the bytes hold them, its header must be there, its payload must fit in what
    remains, and the objects announced but not yet read must not outnumber the bytes that
    remain. The tree's arrays come from chunks that double in size, the first sized from the
    input, so a typical message costs one allocation.
*/
#include "lk_mp_tree.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct lk_mp_chunk_t {
    lk_mp_chunk_t *next;
    size_t used;
    size_t capacity;
    max_align_t data[];
};

typedef struct {
    const unsigned char *pos;
    const unsigned char *end;
    uint64_t pending; /* objects announced and not read yet */
    size_t input_size;
    lk_mp_tree_t *tree;
} s_reader_t;

/* Bytes of tree per byte of input in the first chunk: a message's maps of short keys and
   values take about twice their wire size as msgpack_object_kv pairs. */
#define S_FIRST_CHUNK_RATIO 2
#define S_FIRST_CHUNK_MIN   512

/*  size bytes, 16-aligned, from the tree's chunks; NULL on OOM. */
static void *s_alloc(s_reader_t *reader, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    lk_mp_chunk_t *chunk = reader->tree->chunks;
    if (!chunk || chunk->capacity - chunk->used < size) {
        size_t capacity = chunk ? chunk->capacity * 2
                                : reader->input_size * S_FIRST_CHUNK_RATIO + S_FIRST_CHUNK_MIN;
        if (capacity < size)
            capacity = size;
        lk_mp_chunk_t *fresh = malloc(sizeof *fresh + capacity);
        if (!fresh)
            return NULL;
        fresh->next = chunk;
        fresh->used = 0;
        fresh->capacity = capacity;
        reader->tree->chunks = chunk = fresh;
    }
    void *memory = (char *)chunk->data + chunk->used;
    chunk->used += size;
    return memory;
}

static uint64_t s_load_be(const unsigned char *bytes, size_t width)
{
    uint64_t value = 0;
    for (size_t i = 0; i < width; i++)
        value = (value << 8) | bytes[i];
    return value;
}

/*  What one object's header announces: its type, the bytes of payload after the header (and
    its length field), and the objects it contains (elements of an array, keys and values of
    a map). */
typedef struct {
    msgpack_object_type type;
    uint64_t payload;
    uint64_t children;
} s_item_t;

/*  Reads the header at *pos, and its length field if it has one, into item; advances *pos
    past them. LK_MP_TRUNCATED when the length field is cut off, LK_MP_INVALID for 0xc1. The
    payload is not checked here. */
static lk_mp_result_t s_header(const unsigned char **pos, const unsigned char *end, s_item_t *item)
{
    unsigned char head = *(*pos)++;
    item->payload = 0;
    item->children = 0;
    size_t length_bytes = 0;
    enum { FIXED, RAW, EXT, ARRAY, MAP } shape = FIXED; /* what the length field counts */
    if (head <= 0x7f)
        item->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    else if (head >= 0xe0)
        item->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    else if (head <= 0x8f) {
        item->type = MSGPACK_OBJECT_MAP;
        item->children = 2u * (head & 0x0f);
    } else if (head <= 0x9f) {
        item->type = MSGPACK_OBJECT_ARRAY;
        item->children = head & 0x0f;
    } else if (head <= 0xbf) {
        item->type = MSGPACK_OBJECT_STR;
        item->payload = head & 0x1f;
    } else {
        switch (head) {
        case 0xc0:
            item->type = MSGPACK_OBJECT_NIL;
            break;
        case 0xc2:
        case 0xc3:
            item->type = MSGPACK_OBJECT_BOOLEAN;
            break;
        case 0xc4:
        case 0xc5:
        case 0xc6:
            item->type = MSGPACK_OBJECT_BIN;
            shape = RAW;
            length_bytes = (size_t)1 << (head - 0xc4);
            break;
        case 0xc7:
        case 0xc8:
        case 0xc9:
            item->type = MSGPACK_OBJECT_EXT;
            shape = EXT;
            length_bytes = (size_t)1 << (head - 0xc7);
            break;
        case 0xca:
            item->type = MSGPACK_OBJECT_FLOAT32;
            item->payload = 4;
            break;
        case 0xcb:
            item->type = MSGPACK_OBJECT_FLOAT64;
            item->payload = 8;
            break;
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
            item->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            item->payload = (uint64_t)1 << (head - 0xcc);
            break;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3:
            item->type = MSGPACK_OBJECT_NEGATIVE_INTEGER; /* or positive: s_read decides */
            item->payload = (uint64_t)1 << (head - 0xd0);
            break;
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            item->type = MSGPACK_OBJECT_EXT;
            item->payload = 1 + ((uint64_t)1 << (head - 0xd4)); /* type byte + data */
            break;
        case 0xd9:
        case 0xda:
        case 0xdb:
            item->type = MSGPACK_OBJECT_STR;
            shape = RAW;
            length_bytes = (size_t)1 << (head - 0xd9);
            break;
        case 0xdc:
        case 0xdd:
            item->type = MSGPACK_OBJECT_ARRAY;
            shape = ARRAY;
            length_bytes = (size_t)2 << (head - 0xdc);
            break;
        case 0xde:
        case 0xdf:
            item->type = MSGPACK_OBJECT_MAP;
            shape = MAP;
            length_bytes = (size_t)2 << (head - 0xde);
            break;
        default:
            return LK_MP_INVALID; /* 0xc1 */
        }
    }
    if (length_bytes) {
        if ((size_t)(end - *pos) < length_bytes)
            return LK_MP_TRUNCATED;
        uint64_t length = s_load_be(*pos, length_bytes);
        *pos += length_bytes;
        if (shape == RAW)
            item->payload = length;
        else if (shape == EXT)
            item->payload = length + 1; /* the type byte */
        else if (shape == ARRAY)
            item->children = length;
        else
            item->children = 2 * length;
    }
    return LK_MP_OK;
}

/*  Steps past item's payload and counts its children as announced: LK_MP_TRUNCATED when the
    payload does not fit, or the objects announced and not read yet outnumber the bytes left
    (each needs one at least). *body: where the payload starts. */
static lk_mp_result_t s_consume(const unsigned char **pos, const unsigned char *end,
                                uint64_t *pending, const s_item_t *item, const unsigned char **body)
{
    size_t remaining = (size_t)(end - *pos);
    if (item->payload > remaining)
        return LK_MP_TRUNCATED;
    *body = *pos;
    *pos += item->payload;
    *pending += item->children;
    return *pending > remaining - item->payload ? LK_MP_TRUNCATED : LK_MP_OK;
}

static lk_mp_result_t s_read(s_reader_t *reader, msgpack_object *object, unsigned depth);

/*  Reads count elements of an array, or count entries (key and value) of a map, into a fresh
    array of object. The two loops stay apart: one loop choosing the slot per child cost
    correlate 1.7% more instructions per new alert (callgrind). */
static lk_mp_result_t s_read_children(s_reader_t *reader, msgpack_object *object, uint64_t count,
                                      unsigned depth)
{
    if (object->type == MSGPACK_OBJECT_MAP) {
        object->via.map.size = (uint32_t)count;
        object->via.map.ptr = NULL;
        if (count == 0)
            return LK_MP_OK;
        msgpack_object_kv *pairs = s_alloc(reader, (size_t)count * sizeof *pairs);
        if (!pairs)
            return LK_MP_NOMEM;
        object->via.map.ptr = pairs;
        for (uint64_t i = 0; i < count; i++) {
            lk_mp_result_t result = s_read(reader, &pairs[i].key, depth + 1);
            if (result == LK_MP_OK)
                result = s_read(reader, &pairs[i].val, depth + 1);
            if (result != LK_MP_OK)
                return result;
        }
        return LK_MP_OK;
    }
    object->via.array.size = (uint32_t)count;
    object->via.array.ptr = NULL;
    if (count == 0)
        return LK_MP_OK;
    msgpack_object *items = s_alloc(reader, (size_t)count * sizeof *items);
    if (!items)
        return LK_MP_NOMEM;
    object->via.array.ptr = items;
    for (uint64_t i = 0; i < count; i++) {
        lk_mp_result_t result = s_read(reader, &items[i], depth + 1);
        if (result != LK_MP_OK)
            return result;
    }
    return LK_MP_OK;
}

/*  Reads one object at reader->pos into object. depth: non-empty containers around it. */
static lk_mp_result_t s_read(s_reader_t *reader, msgpack_object *object, unsigned depth)
{
    if (reader->pos >= reader->end)
        return LK_MP_TRUNCATED;
    reader->pending--;
    unsigned char head = *reader->pos;
    if (head >= 0xa0 && head <= 0xbf) {
        /* a short string, most of any message (every key): s_header and s_consume, in short */
        size_t length = head & 0x1f;
        size_t remaining = (size_t)(reader->end - ++reader->pos);
        if (length > remaining)
            return LK_MP_TRUNCATED;
        object->type = MSGPACK_OBJECT_STR;
        object->via.str.size = (uint32_t)length;
        object->via.str.ptr = (const char *)reader->pos;
        reader->pos += length;
        return reader->pending > remaining - length ? LK_MP_TRUNCATED : LK_MP_OK;
    }
    s_item_t item;
    const unsigned char *body = NULL;
    lk_mp_result_t result = s_header(&reader->pos, reader->end, &item);
    if (result == LK_MP_OK)
        result = s_consume(&reader->pos, reader->end, &reader->pending, &item, &body);
    if (result != LK_MP_OK)
        return result;

    object->type = item.type;
    size_t payload = (size_t)item.payload;
    switch (item.type) {
    case MSGPACK_OBJECT_NIL:
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        object->via.boolean = head == 0xc3;
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        object->via.u64 = head <= 0x7f ? head : s_load_be(body, payload);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        if (head >= 0xe0)
            object->via.i64 = (int8_t)head;
        else {
            /* sign-extend the big-endian value; msgpack-c makes the non-negative ones
               positive integers */
            uint64_t raw = s_load_be(body, payload);
            unsigned shift = 64 - 8 * (unsigned)payload;
            int64_t value = shift ? (int64_t)(raw << shift) >> shift : (int64_t)raw;
            if (value >= 0) {
                object->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
                object->via.u64 = (uint64_t)value;
            } else
                object->via.i64 = value;
        }
        break;
    case MSGPACK_OBJECT_FLOAT32: {
        uint32_t bits = (uint32_t)s_load_be(body, 4);
        float value;
        memcpy(&value, &bits, sizeof value);
        object->via.f64 = value;
        break;
    }
    case MSGPACK_OBJECT_FLOAT64: {
        uint64_t bits = s_load_be(body, 8);
        memcpy(&object->via.f64, &bits, sizeof object->via.f64);
        break;
    }
    case MSGPACK_OBJECT_STR:
        object->via.str.size = (uint32_t)payload;
        object->via.str.ptr = (const char *)body;
        break;
    case MSGPACK_OBJECT_BIN:
        object->via.bin.size = (uint32_t)payload;
        object->via.bin.ptr = (const char *)body;
        break;
    case MSGPACK_OBJECT_EXT:
        object->via.ext.type = (int8_t)body[0];
        object->via.ext.size = (uint32_t)(payload - 1);
        object->via.ext.ptr = (const char *)body + 1;
        break;
    case MSGPACK_OBJECT_ARRAY:
    case MSGPACK_OBJECT_MAP:
        /* msgpack-c refuses a container, even an empty one, inside LK_MP_MAX_DEPTH open
           non-empty ones */
        if (depth >= LK_MP_MAX_DEPTH)
            return LK_MP_TOO_DEEP;
        return s_read_children(reader, object,
                               item.type == MSGPACK_OBJECT_MAP ? item.children / 2 : item.children,
                               depth);
    }
    return LK_MP_OK;
}

lk_mp_result_t lk_mp_tree_read(lk_mp_tree_t *tree, const void *data, size_t size, size_t *used)
{
    tree->chunks = NULL;
    memset(&tree->root, 0, sizeof tree->root);
    s_reader_t reader = {.pending = 1, .input_size = size, .tree = tree};
    if (data) {
        reader.pos = data;
        reader.end = reader.pos + size;
    }
    lk_mp_result_t result = s_read(&reader, &tree->root, 0);
    if (result == LK_MP_OK && used)
        *used = (size_t)(reader.pos - (const unsigned char *)data);
    return result;
}

lk_mp_result_t lk_mp_span(const void *data, size_t size, size_t *span)
{
    const unsigned char *pos = data;
    const unsigned char *end = data ? pos + size : NULL;
    uint64_t pending = 1;
    while (pending > 0) {
        if (pos >= end)
            return LK_MP_TRUNCATED;
        pending--;
        s_item_t item;
        const unsigned char *body;
        lk_mp_result_t result = s_header(&pos, end, &item);
        if (result == LK_MP_OK)
            result = s_consume(&pos, end, &pending, &item, &body);
        if (result != LK_MP_OK)
            return result;
    }
    if (span)
        *span = (size_t)(pos - (const unsigned char *)data);
    return LK_MP_OK;
}

void lk_mp_tree_destroy(lk_mp_tree_t *tree)
{
    while (tree->chunks) {
        lk_mp_chunk_t *next = tree->chunks->next;
        free(tree->chunks);
        tree->chunks = next;
    }
}
