/*  test_mp_tree — lk_mp_tree against msgpack-c's own unpacker.

    For every input: where msgpack_unpack_next succeeds, lk_mp_tree_read must succeed on the
    same bytes with the same tree (types, values, float bits, strings pointing at the same
    input bytes); where it needs more bytes, lk_mp_tree_read must say truncated; where it
    refuses the bytes (0xc1) or the nesting, lk_mp_tree_read must refuse them too (it may say
    truncated first, when the objects announced outnumber the bytes left); and lk_mp_span
    must agree with lk_mp_tree_read save for the depth limit it does not have. Inputs: a
    message holding every msgpack type and length form, every prefix of it, nestings around
    the depth limit, and seeded random mutations and random bytes.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "lk_mp_tree.h"

/* msgpack-c allocates a container's array as soon as it reads its header, so a mutated
   header can ask it for tens of gigabytes; under AddressSanitizer anything past 64 MB comes
   back as NULL at once (msgpack-c then refuses the input) instead of ending the test or
   poisoning gigabytes of shadow memory. */
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=64";
}
#endif

/* ---- comparing trees ------------------------------------------------------------------ */

static bool s_same(const msgpack_object *a, const msgpack_object *b, const char *base_a,
                   const char *base_b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case MSGPACK_OBJECT_NIL:
        return true;
    case MSGPACK_OBJECT_BOOLEAN:
        return a->via.boolean == b->via.boolean;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return a->via.u64 == b->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return a->via.i64 == b->via.i64;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return memcmp(&a->via.f64, &b->via.f64, sizeof a->via.f64) == 0; /* NaN bits too */
    case MSGPACK_OBJECT_STR:
        return a->via.str.size == b->via.str.size &&
               (a->via.str.size == 0 || a->via.str.ptr - base_a == b->via.str.ptr - base_b);
    case MSGPACK_OBJECT_BIN:
        return a->via.bin.size == b->via.bin.size &&
               (a->via.bin.size == 0 || a->via.bin.ptr - base_a == b->via.bin.ptr - base_b);
    case MSGPACK_OBJECT_EXT:
        return a->via.ext.type == b->via.ext.type && a->via.ext.size == b->via.ext.size &&
               (a->via.ext.size == 0 || a->via.ext.ptr - base_a == b->via.ext.ptr - base_b);
    case MSGPACK_OBJECT_ARRAY:
        if (a->via.array.size != b->via.array.size)
            return false;
        for (uint32_t i = 0; i < a->via.array.size; i++)
            if (!s_same(&a->via.array.ptr[i], &b->via.array.ptr[i], base_a, base_b))
                return false;
        return true;
    case MSGPACK_OBJECT_MAP:
        if (a->via.map.size != b->via.map.size)
            return false;
        for (uint32_t i = 0; i < a->via.map.size; i++)
            if (!s_same(&a->via.map.ptr[i].key, &b->via.map.ptr[i].key, base_a, base_b) ||
                !s_same(&a->via.map.ptr[i].val, &b->via.map.ptr[i].val, base_a, base_b))
                return false;
        return true;
    }
    return false;
}

typedef struct {
    size_t ok, truncated, refused;
} s_tally_t;

/*  Reads data both ways and checks they agree (see the top of this file). The input is
    copied to a buffer of exactly its size, so a read past it is caught under ASan. */
static void s_check(const void *data, size_t size, s_tally_t *tally)
{
    char *input = malloc(size ? size : 1);
    assert_non_null(input);
    if (size)
        memcpy(input, data, size);

    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t offset = 0;
    msgpack_unpack_return expected = msgpack_unpack_next(&unpacked, input, size, &offset);

    lk_mp_tree_t tree;
    size_t used = 0;
    lk_mp_result_t result = lk_mp_tree_read(&tree, input, size, &used);

    /* the walk without a tree agrees, save for the depth it does not limit */
    size_t span = 0;
    lk_mp_result_t walked = lk_mp_span(input, size, &span);
    if (result == LK_MP_TOO_DEEP)
        assert_int_not_equal(walked, LK_MP_TOO_DEEP);
    else {
        assert_int_equal(walked, result);
        if (result == LK_MP_OK)
            assert_int_equal(span, used);
    }

    switch (expected) {
    case MSGPACK_UNPACK_SUCCESS:
    case MSGPACK_UNPACK_EXTRA_BYTES:
        assert_int_equal(result, LK_MP_OK);
        assert_int_equal(used, offset);
        assert_true(s_same(&unpacked.data, &tree.root, input, input));
        tally->ok++;
        break;
    case MSGPACK_UNPACK_CONTINUE:
        assert_int_equal(result, LK_MP_TRUNCATED);
        tally->truncated++;
        break;
    case MSGPACK_UNPACK_PARSE_ERROR:
        assert_true(result == LK_MP_INVALID || result == LK_MP_TRUNCATED);
        tally->refused++;
        break;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        assert_true(result == LK_MP_TOO_DEEP || result == LK_MP_TRUNCATED);
        tally->refused++;
        break;
    }
    lk_mp_tree_destroy(&tree);
    msgpack_unpacked_destroy(&unpacked);
    free(input);
}

/* ---- inputs ------------------------------------------------------------------------------ */

static void s_pack_raw(msgpack_packer *pk, size_t size, bool bin)
{
    char *bytes = malloc(size ? size : 1);
    assert_non_null(bytes);
    for (size_t i = 0; i < size; i++)
        bytes[i] = (char)('a' + i % 26);
    if (bin) {
        msgpack_pack_bin(pk, size);
        msgpack_pack_bin_body(pk, bytes, size);
    } else {
        msgpack_pack_str(pk, size);
        msgpack_pack_str_body(pk, bytes, size);
    }
    free(bytes);
}

/*  A map holding every type and every length form msgpack has. */
static void s_pack_everything(msgpack_sbuffer *buffer)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 9);

    msgpack_pack_str_with_body(&pk, "ints", 4);
    static const int64_t ints[] = {
        0,         1,  127, 128, 255,  256,  65535,  65536,  INT32_MAX, 4294967295LL, 4294967296LL,
        INT64_MAX, -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN, INT64_MIN};
    msgpack_pack_array(&pk, sizeof ints / sizeof ints[0] + 8);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        msgpack_pack_int64(&pk, ints[i]);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    /* signed forms holding non-negative values: msgpack-c makes them positive integers */
    static const unsigned char signed_positive[] = {0xd0, 0x05, 0xd1, 0x00, 0x07, 0xd2, 0x00,
                                                    0x00, 0x00, 0x09, 0xd3, 0x00, 0x00, 0x00,
                                                    0x00, 0x00, 0x00, 0x00, 0x0b};
    msgpack_sbuffer_write(buffer, (const char *)signed_positive, sizeof signed_positive);
    /* unsigned forms wider than needed */
    static const unsigned char wide_unsigned[] = {0xcc, 0x01, 0xcd, 0x00, 0x02,
                                                  0xce, 0x00, 0x00, 0x00, 0x03};
    msgpack_sbuffer_write(buffer, (const char *)wide_unsigned, sizeof wide_unsigned);

    msgpack_pack_str_with_body(&pk, "floats", 6);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_float(&pk, 1.5f);
    msgpack_pack_float(&pk, -0.0f);
    msgpack_pack_double(&pk, 3.25);
    msgpack_pack_double(&pk, 1e300);
    static const unsigned char nan32[] = {0xca, 0x7f, 0xc0, 0x00, 0x01};
    msgpack_sbuffer_write(buffer, (const char *)nan32, sizeof nan32);

    msgpack_pack_str_with_body(&pk, "scalars", 7);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_nil(&pk);
    msgpack_pack_true(&pk);
    msgpack_pack_false(&pk);

    msgpack_pack_str_with_body(&pk, "strings", 7);
    static const size_t lengths[] = {0, 1, 31, 32, 255, 256, 65535, 65536};
    msgpack_pack_array(&pk, 2 * sizeof lengths / sizeof lengths[0]);
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        s_pack_raw(&pk, lengths[i], false);
        s_pack_raw(&pk, lengths[i], true);
    }

    msgpack_pack_str_with_body(&pk, "ext", 3);
    static const size_t ext_sizes[] = {1, 2, 4, 8, 16, 0, 3, 255, 256, 65536};
    msgpack_pack_array(&pk, sizeof ext_sizes / sizeof ext_sizes[0]);
    for (size_t i = 0; i < sizeof ext_sizes / sizeof ext_sizes[0]; i++) {
        char *bytes = calloc(1, ext_sizes[i] + 1);
        assert_non_null(bytes);
        msgpack_pack_ext(&pk, ext_sizes[i], (int8_t)(i % 2 ? -5 : 7));
        msgpack_pack_ext_body(&pk, bytes, ext_sizes[i]);
        free(bytes);
    }

    msgpack_pack_str_with_body(&pk, "containers", 10);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_array(&pk, 0);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_array(&pk, 16); /* array 16 */
    for (int i = 0; i < 16; i++)
        msgpack_pack_int(&pk, i);
    msgpack_pack_map(&pk, 16); /* map 16, keys of other types than strings */
    for (int i = 0; i < 16; i++) {
        msgpack_pack_int(&pk, i);
        msgpack_pack_nil(&pk);
    }
    static const unsigned char array32[] = {0xdd, 0x00, 0x00, 0x00, 0x02, 0x01, 0x02};
    msgpack_sbuffer_write(buffer, (const char *)array32, sizeof array32);
    static const unsigned char map32[] = {0xdf, 0x00, 0x00, 0x00, 0x01, 0xa1, 'k', 0xc0};
    msgpack_sbuffer_write(buffer, (const char *)map32, sizeof map32);

    msgpack_pack_str_with_body(&pk, "large", 5);
    msgpack_pack_array(&pk, 70000); /* array 32, past any first chunk */
    for (int i = 0; i < 70000; i++)
        msgpack_pack_int(&pk, i % 100);

    msgpack_pack_str_with_body(&pk, "nested", 6);
    for (int i = 0; i < 20; i++) {
        msgpack_pack_map(&pk, 1);
        msgpack_pack_str_with_body(&pk, "n", 1);
    }
    msgpack_pack_array(&pk, 0);

    msgpack_pack_str_with_body(&pk, "dup", 3);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_int(&pk, 2);
}

static void test_every_type(void **state)
{
    (void)state;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    s_pack_everything(&buffer);
    s_tally_t tally = {0};
    s_check(buffer.data, buffer.size, &tally);
    assert_int_equal(tally.ok, 1);
    msgpack_sbuffer_destroy(&buffer);
}

static void test_every_prefix(void **state)
{
    (void)state;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    s_pack_everything(&buffer);
    s_tally_t tally = {0};
    /* every prefix of the head (the large parts' prefixes are alike), then every 997th */
    for (size_t size = 0; size < buffer.size; size += size < 2000 ? 1 : 997)
        s_check(buffer.data, size, &tally);
    assert_int_equal(tally.ok, 0);
    assert_true(tally.truncated > 2000);
    /* with bytes after the object: read up to its end */
    char *longer = malloc(buffer.size + 3);
    assert_non_null(longer);
    memcpy(longer, buffer.data, buffer.size);
    memcpy(longer + buffer.size, "\x01\x02\x03", 3);
    s_check(longer, buffer.size + 3, &tally);
    assert_int_equal(tally.ok, 1);
    free(longer);
    msgpack_sbuffer_destroy(&buffer);
}

/*  depth containers nested (arrays of one element, or maps of one pair), the innermost
    holding inner (an empty array, or a scalar when inner is 0). */
static void s_nest(unsigned char *out, size_t *size, int depth, bool maps, bool empty_innermost)
{
    size_t used = 0;
    for (int i = 0; i < depth; i++) {
        if (maps) {
            out[used++] = 0x81;
            out[used++] = 0x00; /* key 0 */
        } else
            out[used++] = 0x91;
    }
    out[used++] = empty_innermost ? 0x90 : 0x2a;
    *size = used;
}

static void test_depth_limit(void **state)
{
    (void)state;
    unsigned char bytes[256];
    size_t size;
    s_tally_t tally = {0};
    for (int depth = LK_MP_MAX_DEPTH - 2; depth <= LK_MP_MAX_DEPTH + 2; depth++)
        for (int maps = 0; maps < 2; maps++)
            for (int empty = 0; empty < 2; empty++) {
                s_nest(bytes, &size, depth, maps, empty);
                s_check(bytes, size, &tally);
            }
    assert_true(tally.ok > 0);
    assert_true(tally.refused > 0);
    /* the walk without a tree has no limit and no stack: 100,000 nested arrays */
    size_t deep_size = 100001;
    unsigned char *deep = malloc(deep_size);
    assert_non_null(deep);
    memset(deep, 0x91, deep_size - 1);
    deep[deep_size - 1] = 0xc0;
    size_t span = 0;
    assert_int_equal(lk_mp_span(deep, deep_size, &span), LK_MP_OK);
    assert_int_equal(span, deep_size);
    lk_mp_tree_t deep_tree;
    assert_int_equal(lk_mp_tree_read(&deep_tree, deep, deep_size, NULL), LK_MP_TOO_DEEP);
    lk_mp_tree_destroy(&deep_tree);
    free(deep);
    /* the limit itself: 32 open arrays around a scalar is fine, around an empty array not */
    lk_mp_tree_t tree;
    s_nest(bytes, &size, LK_MP_MAX_DEPTH, false, false);
    assert_int_equal(lk_mp_tree_read(&tree, bytes, size, NULL), LK_MP_OK);
    lk_mp_tree_destroy(&tree);
    s_nest(bytes, &size, LK_MP_MAX_DEPTH, false, true);
    assert_int_equal(lk_mp_tree_read(&tree, bytes, size, NULL), LK_MP_TOO_DEEP);
    lk_mp_tree_destroy(&tree);
}

static void test_hostile_headers(void **state)
{
    (void)state;
    lk_mp_tree_t tree;
    /* 4 billion elements announced in 5 bytes: refused before anything is allocated */
    static const unsigned char huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(lk_mp_tree_read(&tree, huge_array, sizeof huge_array, NULL), LK_MP_TRUNCATED);
    assert_null(tree.chunks);
    lk_mp_tree_destroy(&tree);
    static const unsigned char huge_str[] = {0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'};
    assert_int_equal(lk_mp_tree_read(&tree, huge_str, sizeof huge_str, NULL), LK_MP_TRUNCATED);
    lk_mp_tree_destroy(&tree);
    static const unsigned char never_used[] = {0x92, 0x01, 0xc1};
    assert_int_equal(lk_mp_tree_read(&tree, never_used, sizeof never_used, NULL), LK_MP_INVALID);
    lk_mp_tree_destroy(&tree);
    assert_int_equal(lk_mp_tree_read(&tree, NULL, 0, NULL), LK_MP_TRUNCATED);
    lk_mp_tree_destroy(&tree);
    /* one element more than bytes remain: refused at the header, before allocating, and
       before what follows is read */
    static const unsigned char one_short[] = {0x92, 0x01};
    assert_int_equal(lk_mp_tree_read(&tree, one_short, sizeof one_short, NULL), LK_MP_TRUNCATED);
    assert_null(tree.chunks);
    lk_mp_tree_destroy(&tree);
    static const unsigned char short_then_invalid[] = {0x93, 0xc1, 0x01};
    assert_int_equal(lk_mp_tree_read(&tree, short_then_invalid, sizeof short_then_invalid, NULL),
                     LK_MP_TRUNCATED);
    lk_mp_tree_destroy(&tree);
    /* the count is checked after every object too, short strings included: after "x" and
       after 5, two elements remain announced in one byte */
    static const unsigned char after_string[] = {0x93, 0xa1, 'x', 0xc1};
    assert_int_equal(lk_mp_tree_read(&tree, after_string, sizeof after_string, NULL),
                     LK_MP_TRUNCATED);
    lk_mp_tree_destroy(&tree);
    static const unsigned char after_int[] = {0x93, 0xcc, 0x05, 0xc1};
    assert_int_equal(lk_mp_tree_read(&tree, after_int, sizeof after_int, NULL), LK_MP_TRUNCATED);
    lk_mp_tree_destroy(&tree);
    /* nested announcements count together: 3 arrays of 3 in 8 bytes cannot fit */
    static const unsigned char crowded[] = {0x93, 0x93, 0x93, 0x01, 0x01, 0x01, 0x01, 0x01};
    assert_int_equal(lk_mp_tree_read(&tree, crowded, sizeof crowded, NULL), LK_MP_TRUNCATED);
    lk_mp_tree_destroy(&tree);
}

/*  xorshift64: a fixed sequence, so a failure reproduces. */
static uint64_t s_next(uint64_t *seed)
{
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    return *seed;
}

static void test_mutations(void **state)
{
    (void)state;
    /* a smaller message than s_pack_everything, so that mutations land in every part */
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_str_with_body(&pk, "mutation_batch", 14);
    msgpack_pack_str_with_body(&pk, "alerts", 6);
    msgpack_pack_array(&pk, 2);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_map(&pk, 4);
        msgpack_pack_str_with_body(&pk, "labels", 6);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_str_with_body(&pk, "alertname", 9);
        msgpack_pack_str_with_body(&pk, "HighCPU", 7);
        msgpack_pack_str_with_body(&pk, "instance", 8);
        msgpack_pack_str_with_body(&pk, "edge-1:9100", 11);
        msgpack_pack_str_with_body(&pk, "value", 5);
        msgpack_pack_double(&pk, 97.5);
        msgpack_pack_str_with_body(&pk, "starts_at", 9);
        msgpack_pack_int64(&pk, 1763900000000LL);
        msgpack_pack_str_with_body(&pk, "ext", 3);
        msgpack_pack_ext(&pk, 2, 1);
        msgpack_pack_ext_body(&pk, "xy", 2);
    }
    msgpack_pack_str_with_body(&pk, "req", 3);
    msgpack_pack_uint64(&pk, 12345);
    msgpack_pack_str_with_body(&pk, "flags", 5);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_true(&pk);
    msgpack_pack_float(&pk, 0.5f);
    msgpack_pack_int(&pk, -3);

    s_tally_t tally = {0};
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    unsigned char *copy = malloc(buffer.size + 8);
    assert_non_null(copy);
    for (int round = 0; round < 200000; round++) {
        memcpy(copy, buffer.data, buffer.size);
        size_t size = buffer.size;
        int edits = 1 + (int)(s_next(&seed) % 3);
        for (int edit = 0; edit < edits; edit++) {
            size_t at = s_next(&seed) % size;
            switch (s_next(&seed) % 4) {
            case 0: /* any byte */
                copy[at] = (unsigned char)s_next(&seed);
                break;
            case 1: /* one bit */
                copy[at] ^= (unsigned char)(1u << (s_next(&seed) % 8));
                break;
            case 2: /* a header byte of some type */
                copy[at] = (unsigned char)(0xc0 + s_next(&seed) % 0x20);
                break;
            default: /* cut short */
                size = at + 1;
                break;
            }
        }
        s_check(copy, size, &tally);
    }
    /* the mix must reach every outcome, or it tests less than it claims */
    assert_true(tally.ok > 1000);
    assert_true(tally.truncated > 1000);
    assert_true(tally.refused > 100);
    for (int round = 0; round < 100000; round++) {
        size_t size = s_next(&seed) % 24;
        for (size_t i = 0; i < size; i++)
            copy[i] = (unsigned char)s_next(&seed);
        s_check(copy, size, &tally);
    }
    free(copy);
    msgpack_sbuffer_destroy(&buffer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),  cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_depth_limit), cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
