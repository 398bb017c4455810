/* test_gguf_malformed.c — the GGUF reader against broken files.
 *
 * A small valid GGUF (7 keys incl. strings, a string array, a nested array; 3 tensors F32/Q8_0/F16) is
 * described by a `spec` and serialized by hand here (independent of the writer). Each case changes one
 * thing in the spec and must make ll_gguf_from_memory fail with a message of the form
 * "LABEL: byte N: ..." that contains the expected phrase; every message is printed so a human can judge
 * it. Then every byte prefix of the valid file and every single-bit flip of it are tried (no crash, and a
 * failure always carries a well-formed message). Buffers are malloc'ed at their exact size so the
 * sanitizers see any read past the end.
 *
 * `test_gguf_malformed --write DIR` writes DIR/valid.gguf and DIR/NN-name.gguf for every malformed case
 * and exits (used by test_gguf_malformed_cli.sh and the fuzz seed corpus).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "io/gguf.h"
#include "util/err.h"

/* ---------------------------------------------------------------- byte buffer */

typedef struct { uint8_t *p; size_t n, cap; } buf;

static void put(buf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) { fprintf(stderr, "out of memory\n"); exit(2); }
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}
static void put_le(buf *b, uint64_t v, int n) {
    uint8_t x[8];
    for (int i = 0; i < n; i++) x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, (size_t)n);
}
static void put_u8(buf *b, uint8_t v) { put(b, &v, 1); }
static void put_u32(buf *b, uint32_t v) { put_le(b, v, 4); }
static void put_u64(buf *b, uint64_t v) { put_le(b, v, 8); }
static void put_strn(buf *b, const void *s, uint64_t n) { put_u64(b, n); put(b, s, (size_t)n); }
static void put_str(buf *b, const char *s) { put_strn(b, s, strlen(s)); }
static void put_f32(buf *b, float f) { uint32_t u; memcpy(&u, &f, 4); put_u32(b, u); }

/* ---------------------------------------------------------------- the file description */

enum { T_STR = 8, T_ARR = 9, T_U8 = 0, T_I32 = 5, T_U32 = 4, T_F32 = 6, T_BOOL = 7, T_U64 = 10 };
enum { G_F32 = 0, G_F16 = 1, G_Q8_0 = 8 };
#define AUTO UINT64_C(0xa5a5a5a5a5a5a5a5)   /* "compute it" marker for counts, offsets, data_len */
#define MAX_KV 16
#define MAX_T 8

typedef struct {
    const char *name;          /* name_bytes bytes of it are written (0 => strlen) ... */
    size_t name_bytes;
    uint64_t claimed_len;      /* ... after this length field (0 => name_bytes) */
    uint32_t n_dims;
    int64_t ne[4];
    uint32_t type;
    uint64_t offset;           /* AUTO: packed after the previous tensor, aligned */
    uint64_t nbytes;           /* bytes this tensor takes in the data section (for AUTO offsets) */
} tinfo;

typedef struct {
    char magic[4];
    uint32_t version;
    uint64_t n_tensors, n_kv;  /* AUTO: the real counts */
    buf kv[MAX_KV];            /* each: a complete encoded key/value pair */
    int nkv;
    tinfo t[MAX_T];
    int nt;
    uint64_t align;            /* padding used when serializing */
    uint64_t data_len;         /* AUTO: up to the end of the last tensor (no trailing padding) */
    int64_t cut;               /* >= 0: truncate the serialized file to this many bytes */
    int cut_after_infos;       /* >= 1: truncate to (end of tensor infos + cut_after_infos - 1) */
} spec;

static buf *kv_new(spec *s, const char *key) {
    if (s->nkv == MAX_KV) { fprintf(stderr, "too many kv\n"); exit(2); }
    buf *b = &s->kv[s->nkv++];
    memset(b, 0, sizeof *b);
    put_str(b, key);
    return b;
}
static buf *kv_set(spec *s, int i, const char *key) {        /* replaces pair i */
    s->kv[i].n = 0;
    put_str(&s->kv[i], key);
    return &s->kv[i];
}

static void base_spec(spec *s) {
    memset(s, 0, sizeof *s);
    memcpy(s->magic, "GGUF", 4);
    s->version = 3;
    s->n_tensors = s->n_kv = AUTO;
    s->align = 32;
    s->data_len = AUTO;
    s->cut = -1;
    buf *b;
    b = kv_new(s, "general.architecture"); put_u32(b, T_STR); put_str(b, "llama");          /* kv 0 */
    b = kv_new(s, "general.alignment"); put_u32(b, T_U32); put_u32(b, 32);                  /* kv 1 */
    b = kv_new(s, "llama.block_count"); put_u32(b, T_U32); put_u32(b, 2);                   /* kv 2 */
    b = kv_new(s, "tokenizer.ggml.tokens"); put_u32(b, T_ARR); put_u32(b, T_STR); put_u64(b, 3); /* kv 3 */
    put_str(b, "a"); put_str(b, "b"); put_str(b, "<s>");
    b = kv_new(s, "test.nested"); put_u32(b, T_ARR); put_u32(b, T_ARR); put_u64(b, 2);     /* kv 4 */
    put_u32(b, T_I32); put_u64(b, 2); put_u32(b, 1); put_u32(b, 2);
    put_u32(b, T_I32); put_u64(b, 1); put_u32(b, 3);
    b = kv_new(s, "test.flag"); put_u32(b, T_BOOL); put_u8(b, 1);                           /* kv 5 */
    b = kv_new(s, "test.scale"); put_u32(b, T_F32); put_f32(b, 0.5f);                       /* kv 6 */
    s->t[0] = (tinfo){"tok_embd.weight", 0, 0, 2, {4, 2, 1, 1}, G_F32, AUTO, 32};
    s->t[1] = (tinfo){"blk.0.attn_q.weight", 0, 0, 2, {32, 1, 1, 1}, G_Q8_0, AUTO, 34};
    s->t[2] = (tinfo){"output_norm.weight", 0, 0, 1, {4, 1, 1, 1}, G_F16, AUTO, 8};
    s->nt = 3;
}

static void free_spec(spec *s) {
    for (int i = 0; i < MAX_KV; i++) free(s->kv[i].p);
}

static buf serialize(const spec *s) {
    buf b = {0};
    put(&b, s->magic, 4);
    put_u32(&b, s->version);
    put_u64(&b, s->n_tensors == AUTO ? (uint64_t)s->nt : s->n_tensors);
    put_u64(&b, s->n_kv == AUTO ? (uint64_t)s->nkv : s->n_kv);
    for (int i = 0; i < s->nkv; i++) put(&b, s->kv[i].p, s->kv[i].n);
    uint64_t off = 0, end = 0;
    for (int i = 0; i < s->nt; i++) {
        const tinfo *t = &s->t[i];
        size_t nb = t->name_bytes ? t->name_bytes : strlen(t->name);
        put_u64(&b, t->claimed_len ? t->claimed_len : nb);
        put(&b, t->name, nb);
        put_u32(&b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims && d < 8; d++) put_u64(&b, (uint64_t)(d < 4 ? t->ne[d] : 1));
        put_u32(&b, t->type);
        uint64_t o = t->offset == AUTO ? off : t->offset;
        put_u64(&b, o);
        if (t->offset == AUTO) {
            end = off + t->nbytes;
            off = (end + s->align - 1) / s->align * s->align;
        }
    }
    size_t infos_end = b.n;
    while (b.n % s->align) put_u8(&b, 0);
    uint64_t dl = s->data_len == AUTO ? end : s->data_len;
    for (uint64_t i = 0; i < dl; i++) put_u8(&b, (uint8_t)(i * 7 + 1));
    if (s->cut_after_infos) b.n = infos_end + (size_t)s->cut_after_infos - 1;
    if (s->cut >= 0 && (size_t)s->cut < b.n) b.n = (size_t)s->cut;
    return b;
}

/* ---------------------------------------------------------------- the cases */

#define CASE(fn) static void fn(spec *s)
CASE(c_empty) { s->cut = 0; }
CASE(c_magic_only) { s->cut = 4; }
CASE(c_cut_in_counts) { s->cut = 13; }
CASE(c_bad_magic) { memcpy(s->magic, "GGML", 4); }
CASE(c_magic_case) { memcpy(s->magic, "gguf", 4); }
CASE(c_version0) { s->version = 0; }
CASE(c_version1) { s->version = 1; }
CASE(c_version4) { s->version = 4; }
CASE(c_big_endian) { s->version = 0x03000000u; }
CASE(c_n_kv_huge) { s->n_kv = 1ull << 60; }
CASE(c_n_kv_max) { s->n_kv = UINT64_MAX; }
CASE(c_n_kv_plus_one) { s->n_kv = 8; }
CASE(c_n_tensors_huge) { s->n_tensors = 1ull << 62; }
CASE(c_n_tensors_neg) { s->n_tensors = UINT64_MAX; }
CASE(c_n_tensors_plus_one) { s->n_tensors = 4; }
CASE(c_key_len_huge) { buf *b = &s->kv[2]; b->n = 0; put_u64(b, 1ull << 63); put_u32(b, T_U32); put_u32(b, 2); }
CASE(c_key_len_past_end) { buf *b = &s->kv[6]; b->n = 0; put_u64(b, 60000); put(b, "test", 4); }
CASE(c_key_too_long) {
    buf *b = &s->kv[2];
    b->n = 0;
    put_u64(b, 65536);
    for (int i = 0; i < 65536; i++) put_u8(b, 'k');
    put_u32(b, T_U32); put_u32(b, 2);
}
CASE(c_key_empty) { buf *b = kv_set(s, 2, ""); put_u32(b, T_U32); put_u32(b, 2); }
CASE(c_key_nul) { buf *b = &s->kv[2]; b->n = 0; put_strn(b, "llama\0x", 7); put_u32(b, T_U32); put_u32(b, 2); }
CASE(c_key_dup) { buf *b = kv_set(s, 6, "llama.block_count"); put_u32(b, T_U32); put_u32(b, 3); }
CASE(c_str_len_huge) { buf *b = kv_set(s, 0, "general.architecture"); put_u32(b, T_STR); put_u64(b, UINT64_MAX); }
CASE(c_str_len_past_end) {
    buf *b = kv_set(s, 0, "general.architecture");
    put_u32(b, T_STR); put_u64(b, 5000); put(b, "llama", 5);
}
CASE(c_vtype_invalid) { buf *b = kv_set(s, 2, "llama.block_count"); put_u32(b, 13); put_u32(b, 2); }
CASE(c_vtype_huge) { buf *b = kv_set(s, 2, "llama.block_count"); put_u32(b, 0xffffffffu); put_u32(b, 2); }
CASE(c_bool_2) { buf *b = kv_set(s, 5, "test.flag"); put_u32(b, T_BOOL); put_u8(b, 2); }
CASE(c_bool_arr_5) {
    buf *b = kv_set(s, 5, "test.flag");
    put_u32(b, T_ARR); put_u32(b, T_BOOL); put_u64(b, 3); put_u8(b, 0); put_u8(b, 1); put_u8(b, 5);
}
CASE(c_arr_elem_type_invalid) {
    buf *b = kv_set(s, 3, "tokenizer.ggml.tokens"); put_u32(b, T_ARR); put_u32(b, 99); put_u64(b, 1); put_u32(b, 0);
}
CASE(c_arr_count_huge) {
    buf *b = kv_set(s, 3, "tokenizer.ggml.tokens"); put_u32(b, T_ARR); put_u32(b, T_U32); put_u64(b, 1ull << 61);
}
CASE(c_arr_count_one_too_many) {
    /* a u32 array claiming exactly one element more than the rest of the file holds */
    buf *b = kv_set(s, 3, "tokenizer.ggml.tokens");
    put_u32(b, T_ARR); put_u32(b, T_U32); put_u64(b, 0);      /* count patched by c_arr_fixup */
}
CASE(c_str_arr_count_huge) {
    buf *b = kv_set(s, 3, "tokenizer.ggml.tokens"); put_u32(b, T_ARR); put_u32(b, T_STR); put_u64(b, UINT64_MAX / 8);
}
CASE(c_str_arr_elem_len_huge) {
    buf *b = kv_set(s, 3, "tokenizer.ggml.tokens");
    put_u32(b, T_ARR); put_u32(b, T_STR); put_u64(b, 2); put_str(b, "a"); put_u64(b, 1ull << 40);
}
CASE(c_nested_bomb) {
    buf *b = kv_set(s, 4, "test.nested"); put_u32(b, T_ARR); put_u32(b, T_ARR); put_u64(b, 1ull << 59);
    put_u32(b, T_ARR); put_u64(b, 1ull << 59);
}
CASE(c_nested_inner_bomb) {
    buf *b = kv_set(s, 4, "test.nested"); put_u32(b, T_ARR); put_u32(b, T_ARR); put_u64(b, 2);
    put_u32(b, T_I32); put_u64(b, 1); put_u32(b, 7);
    put_u32(b, T_I32); put_u64(b, 1ull << 62);
}
CASE(c_nested_too_deep) {
    buf *b = kv_set(s, 4, "test.nested"); put_u32(b, T_ARR);
    for (int d = 0; d < LL_GGUF_MAX_NESTING; d++) { put_u32(b, T_ARR); put_u64(b, 1); }
    put_u32(b, T_I32); put_u64(b, 1); put_u32(b, 1);
}
CASE(c_align_zero) { buf *b = kv_set(s, 1, "general.alignment"); put_u32(b, T_U32); put_u32(b, 0); }
CASE(c_align_three) { buf *b = kv_set(s, 1, "general.alignment"); put_u32(b, T_U32); put_u32(b, 3); }
CASE(c_align_u64) { buf *b = kv_set(s, 1, "general.alignment"); put_u32(b, T_U64); put_u64(b, 32); }
CASE(c_align_string) { buf *b = kv_set(s, 1, "general.alignment"); put_u32(b, T_STR); put_str(b, "32"); }
CASE(c_tname_empty) { s->t[1].name = ""; }
CASE(c_tname_nul) { s->t[1].name = "blk\0q"; s->t[1].name_bytes = 5; }
CASE(c_tname_len_huge) { s->t[1].name = "x"; s->t[1].claimed_len = 1ull << 50; }
CASE(c_tname_dup) { s->t[2].name = "tok_embd.weight"; }
CASE(c_ndims_0) { s->t[2].n_dims = 0; }
CASE(c_ndims_5) { s->t[2].n_dims = 5; }
CASE(c_ndims_huge) { s->t[2].n_dims = 0x10000000u; }
CASE(c_ne_negative) { s->t[0].ne[1] = -2; }
CASE(c_ne_min) { s->t[0].ne[0] = INT64_MIN; }
CASE(c_ne_overflow) { s->t[0].ne[0] = INT64_C(1) << 62; s->t[0].ne[1] = 4; }
CASE(c_ne_overflow_4d) {
    s->t[0].n_dims = 4;
    for (int d = 0; d < 4; d++) s->t[0].ne[d] = INT64_C(1) << 16;
}
CASE(c_nbytes_overflow) {  /* elements fit in int64 but the F32 byte count 4 * 2^62 does not fit */
    s->t[0].ne[0] = INT64_C(1) << 61; s->t[0].ne[1] = 2;
}
CASE(c_type_unknown) { s->t[1].type = 99; }
CASE(c_type_removed) { s->t[1].type = 4; }        /* Q4_2: removed from ggml long ago */
CASE(c_type_negative) { s->t[1].type = 0xffffffffu; }
CASE(c_block_mismatch) { s->t[1].ne[0] = 16; }    /* Q8_0 blocks are 32 */
CASE(c_offset_past_end) { s->t[2].offset = 4096; }
CASE(c_offset_misaligned) { s->t[1].offset = 33; }
CASE(c_offset_wraps) { s->t[2].offset = UINT64_MAX - 31; }   /* aligned, and data_offset + it wraps into the header */
CASE(c_data_truncated) { s->data_len = 100; }     /* last tensor ends at 104 */
CASE(c_overlap) { s->t[1].offset = 0; }
CASE(c_overlap_partial) { s->t[0].ne[0] = 12; }   /* t0 grows to 96 bytes and now covers t1 at 32 */
CASE(c_cut_in_padding) { s->cut_after_infos = 2; }  /* one byte after the infos: data start is past the end */

typedef struct { const char *name; void (*mod)(spec *); const char *expect; } case_t;

static const case_t cases[] = {
    {"empty-file", c_empty, "file ends early"},
    {"magic-only", c_magic_only, "file ends early: expected the version"},
    {"truncated-in-counts", c_cut_in_counts, "expected the tensor count"},
    {"bad-magic", c_bad_magic, "not a GGUF file"},
    {"lowercase-magic", c_magic_case, "not a GGUF file"},
    {"version-0", c_version0, "unsupported GGUF version 0"},
    {"version-1", c_version1, "version 1 is obsolete"},
    {"version-4", c_version4, "unsupported GGUF version 4"},
    {"big-endian", c_big_endian, "big-endian"},
    {"n-kv-huge", c_n_kv_huge, "metadata count"},
    {"n-kv-max", c_n_kv_max, "metadata count"},
    {"n-kv-one-too-many", c_n_kv_plus_one, NULL},
    {"n-tensors-huge", c_n_tensors_huge, "tensor count"},
    {"n-tensors-negative", c_n_tensors_neg, "tensor count"},
    {"n-tensors-one-too-many", c_n_tensors_plus_one, NULL},
    {"key-length-huge", c_key_len_huge, "the key is 9223372036854775808 bytes long"},
    {"key-length-past-end", c_key_len_past_end, "the key claims 60000 bytes"},
    {"key-too-long", c_key_too_long, "at most 65535 allowed"},
    {"key-empty", c_key_empty, "the key is empty"},
    {"key-with-nul", c_key_nul, "contains a NUL byte"},
    {"duplicate-key", c_key_dup, "duplicate key"},
    {"string-length-huge", c_str_len_huge, "string value claims 18446744073709551615 bytes"},
    {"string-length-past-end", c_str_len_past_end, "string value claims 5000 bytes"},
    {"value-type-13", c_vtype_invalid, "invalid value type 13"},
    {"value-type-huge", c_vtype_huge, "invalid value type 4294967295"},
    {"bool-value-2", c_bool_2, "bool value is 2"},
    {"bool-array-element-5", c_bool_arr_5, "bool array element 2 is 5"},
    {"array-element-type-99", c_arr_elem_type_invalid, "invalid array element type 99"},
    {"array-count-huge", c_arr_count_huge, "array of 2305843009213693952 uint32 elements"},
    {"array-count-one-too-many", c_arr_count_one_too_many, "uint32 elements needs at least 4 bytes each"},
    {"string-array-count-huge", c_str_arr_count_huge, "string elements"},
    {"string-array-element-huge", c_str_arr_elem_len_huge, "array string 1 claims 1099511627776 bytes"},
    {"nested-array-bomb", c_nested_bomb, "array of 576460752303423488 array elements"},
    {"nested-inner-array-bomb", c_nested_inner_bomb, "array of 4611686018427387904 int32 elements"},
    {"nested-too-deep", c_nested_too_deep, "nested more than"},
    {"alignment-0", c_align_zero, "alignment is 0; expected a nonzero power of two"},
    {"alignment-3", c_align_three, "alignment is 3; expected a nonzero power of two"},
    {"alignment-uint64", c_align_u64, "type is uint64; expected uint32"},
    {"alignment-string", c_align_string, "type is string; expected uint32"},
    {"tensor-name-empty", c_tname_empty, "the tensor name is empty"},
    {"tensor-name-with-nul", c_tname_nul, "contains a NUL byte"},
    {"tensor-name-length-huge", c_tname_len_huge, "the tensor name is 1125899906842624 bytes long"},
    {"duplicate-tensor-name", c_tname_dup, "duplicate tensor name"},
    {"n-dims-0", c_ndims_0, "n_dims is 0; expected 1 to 4"},
    {"n-dims-5", c_ndims_5, "n_dims is 5; expected 1 to 4"},
    {"n-dims-huge", c_ndims_huge, "n_dims is 268435456"},
    {"ne-negative", c_ne_negative, "ne[1] is -2; expected a non-negative count"},
    {"ne-int64-min", c_ne_min, "ne[0] is -9223372036854775808"},
    {"element-count-overflow", c_ne_overflow, "element count overflows"},
    {"element-count-overflow-4d", c_ne_overflow_4d, "element count overflows"},
    {"byte-size-overflow", c_nbytes_overflow, "size in bytes overflows"},
    {"unknown-type-99", c_type_unknown, "unknown tensor type id 99"},
    {"removed-type-4", c_type_removed, "unknown tensor type id 4"},
    {"type-id-negative", c_type_negative, "unknown tensor type id 4294967295"},
    {"ne0-not-block-multiple", c_block_mismatch, "is not a multiple of the q8_0 block size 32"},
    {"offset-past-end", c_offset_past_end, "extends past the end of the file"},
    {"offset-misaligned", c_offset_misaligned, "data offset 33 is not a multiple of the alignment 32"},
    {"offset-wraps-into-header", c_offset_wraps, "extends past the end of the file"},
    {"data-truncated", c_data_truncated, "extends past the end of the file"},
    {"tensors-overlap", c_overlap, "overlaps tensor"},
    {"tensors-overlap-partially", c_overlap_partial, "overlaps tensor"},
    {"truncated-in-padding", c_cut_in_padding, "data section should start"},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* Builds a case's bytes. */
static buf build_case(const case_t *c) {
    spec s;
    base_spec(&s);
    if (c->mod) c->mod(&s);
    if (c->mod == c_arr_count_one_too_many) {
        /* bytes after the count = the remaining kvs + infos + data; claim one u32 more than that holds */
        buf whole = serialize(&s);
        size_t count_at = 4 + 4 + 8 + 8;
        for (int i = 0; i < 3; i++) count_at += s.kv[i].n;
        count_at += s.kv[3].n - 8;
        uint64_t rest = whole.n - (count_at + 8);
        free(whole.p);
        s.kv[3].n -= 8;
        put_u64(&s.kv[3], rest / 4 + 1);
    }
    buf b = serialize(&s);
    free_spec(&s);
    return b;
}

/* Files that must open. */
CASE(v_version2) { s->version = 2; }
CASE(v_no_tensors) { s->nt = 0; }
CASE(v_no_alignment_key) { buf *b = kv_set(s, 1, "general.comment"); put_u32(b, T_STR); put_str(b, "default alignment"); }
CASE(v_empty_tensor) { s->t[s->nt++] = (tinfo){"empty", 0, 0, 2, {0, 3, 1, 1}, G_F32, AUTO, 0}; }
CASE(v_align_64) {
    buf *b = kv_set(s, 1, "general.alignment"); put_u32(b, T_U32); put_u32(b, 64);
    s->align = 64;
}
static const case_t valid_cases[] = {
    {"valid", NULL, NULL},
    {"valid-v2", v_version2, NULL},
    {"valid-no-tensors", v_no_tensors, NULL},
    {"valid-default-alignment", v_no_alignment_key, NULL},
    {"valid-empty-tensor", v_empty_tensor, NULL},
    {"valid-alignment-64", v_align_64, NULL},
};

/* ---------------------------------------------------------------- helpers */

/* Opens an exact-size copy; returns 1 if it opened (and closes it), 0 if it failed. */
static int try_open(const uint8_t *p, size_t n, const char *label, char *msg, size_t msgcap) {
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    ll_clear_error();
    ll_gguf *g = ll_gguf_from_memory(n ? copy : NULL, n, label);
    snprintf(msg, msgcap, "%s", g ? "" : ll_errmsg());
    if (g) {
        /* touch every tensor byte range end */
        volatile uint8_t sink = 0;
        for (uint64_t i = 0; i < g->n_tensors; i++)
            if (g->tensors[i].nbytes) {
                const uint8_t *d = g->tensors[i].data;
                sink ^= d[0] ^ d[g->tensors[i].nbytes - 1];
            }
        (void)sink;
        ll_gguf_close(g);
    }
    free(copy);
    return g != NULL;
}

/* "LABEL: byte N: ..." */
static int well_formed(const char *msg, const char *label) {
    size_t n = strlen(label);
    if (strncmp(msg, label, n) != 0 || strncmp(msg + n, ": byte ", 7) != 0) return 0;
    const char *p = msg + n + 7;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') p++;
    return p[0] == ':' && p[1] == ' ' && p[2] && !strchr(msg, '\n');
}

static int write_file(const char *dir, const char *name, const buf *b) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->p, 1, b->n, f) != b->n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_all(const char *dir) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    buf v = build_case(&valid_cases[0]);
    int rc = write_file(dir, "valid.gguf", &v);
    for (size_t i = 0; i < N_CASES && !rc; i++) {
        char name[128];
        buf b = build_case(&cases[i]);
        snprintf(name, sizeof name, "%02zu-%s.gguf", i + 1, cases[i].name);
        rc = write_file(dir, name, &b);
        free(b.p);
    }
    /* a few truncations of the valid file: inside the header, a key, a tensor info, the data */
    const size_t cuts[] = {7, 20, 60, v.n / 2, v.n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0] && !rc; k++) {
        char name[128];
        buf b = v;
        b.n = cuts[k];
        snprintf(name, sizeof name, "%02zu-truncated-at-%zu.gguf", N_CASES + k + 1, cuts[k]);
        rc = write_file(dir, name, &b);
    }
    free(v.p);
    return rc ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--write") == 0) return write_all(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--write DIR]\n", argv[0]);
        return 2;
    }
    char msg[1024];

    /* valid variants open */
    for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
        buf b = build_case(&valid_cases[i]);
        int ok = try_open(b.p, b.n, valid_cases[i].name, msg, sizeof msg);
        CHECK(ok, "valid file '%s' did not open: %s", valid_cases[i].name, msg);
        free(b.p);
    }
    {   /* and the base has what the spec says */
        buf b = build_case(&valid_cases[0]);
        ll_gguf *g = ll_gguf_from_memory(b.p, b.n, "valid");
        CHECK(g != NULL, "%s", ll_errmsg());
        if (g) {
            CHECK(g->n_kv == 7 && g->n_tensors == 3, "n_kv %llu n_tensors %llu", (unsigned long long)g->n_kv,
                  (unsigned long long)g->n_tensors);
            CHECK(g->tensors[2].offset == 96 && g->tensors[2].nbytes == 8, "layout");
            CHECK((const uint8_t *)g->tensors[2].data + 8 == b.p + b.n, "last tensor ends at the file end");
            ll_gguf_close(g);
        }
        free(b.p);
    }

    /* every malformed case fails with a clear, well-formed message */
    printf("malformed cases (%zu):\n", N_CASES);
    for (size_t i = 0; i < N_CASES; i++) {
        char label[128];
        snprintf(label, sizeof label, "%02zu-%s.gguf", i + 1, cases[i].name);
        buf b = build_case(&cases[i]);
        int ok = try_open(b.p, b.n, label, msg, sizeof msg);
        free(b.p);
        CHECK(!ok, "%s: opened but should have failed", label);
        if (ok) continue;
        printf("  %s\n", msg);
        CHECK(well_formed(msg, label), "%s: message not of the form 'LABEL: byte N: ...': %s", label, msg);
        if (cases[i].expect)
            CHECK(strstr(msg, cases[i].expect) != NULL, "%s: message lacks '%s': %s", label, cases[i].expect, msg);
    }

    /* every prefix of the valid file fails */
    buf v = build_case(&valid_cases[0]);
    int prefix_bad = 0;
    printf("truncations (every prefix of the %zu-byte valid file; a sample of messages):\n", v.n);
    for (size_t n = 0; n < v.n; n++) {
        int ok = try_open(v.p, n, "valid.gguf", msg, sizeof msg);
        if (ok || !well_formed(msg, "valid.gguf")) {
            prefix_bad++;
            CHECK(0, "prefix of %zu bytes: %s", n, ok ? "opened" : msg);
        }
        if (n % 61 == 0 || n == v.n - 1) printf("  [%zu] %s\n", n, msg);
    }
    CHECK(prefix_bad == 0, "%d prefixes misbehaved", prefix_bad);

    /* every single-bit flip: either opens or fails with a well-formed message (and never crashes) */
    int flips_failed = 0, flips_bad = 0;
    for (size_t i = 0; i < v.n; i++)
        for (int bit = 0; bit < 8; bit++) {
            v.p[i] ^= (uint8_t)(1u << bit);
            int ok = try_open(v.p, v.n, "flip.gguf", msg, sizeof msg);
            v.p[i] ^= (uint8_t)(1u << bit);
            if (!ok) {
                flips_failed++;
                if (!well_formed(msg, "flip.gguf")) {
                    flips_bad++;
                    CHECK(0, "flip byte %zu bit %d: %s", i, bit, msg);
                }
            }
        }
    printf("bit flips: %zu tried, %d rejected, all messages well-formed: %s\n", v.n * 8, flips_failed,
           flips_bad ? "no" : "yes");
    free(v.p);

    /* file-level errors of ll_gguf_open */
    ll_gguf *g = ll_gguf_open("/nonexistent/dir/model.gguf");
    CHECK(!g && strstr(ll_errmsg(), "cannot open '/nonexistent/dir/model.gguf'"), "%s", ll_errmsg());
    printf("  %s\n", ll_errmsg());
    g = ll_gguf_open("/");
    CHECK(!g && strstr(ll_errmsg(), "not a regular file"), "%s", ll_errmsg());
    printf("  %s\n", ll_errmsg());
    return CHECK_DONE();
}
