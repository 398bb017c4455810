/* test_gguf_rw.c — GGUF writer -> reader round trip, reader -> writer copy, and the real vocab files.
 *
 * 1. Writes a GGUF v3 with every scalar type, strings (one with an embedded NUL), an array of every
 *    scalar type, a string array, a nested array (array of int32 arrays, one empty), general.alignment = 64
 *    and five tensors (F32 2-D and 3-D, F16, Q8_0, an empty F32) and checks every value, type, shape,
 *    offset and byte on reading it back, plus the typed getters' conversions and errors.
 * 2. Copies every key/value and tensor of that file into a new writer, writes it, and checks the copy
 *    matches value for value (deep copies, nested arrays included).
 * 3. Writer misuse: each bad call fails with a message and leaves nothing behind.
 * 4. Opens the four vocabulary-only files in $SHARED/tokenizer-tests and checks known values.
 *
 * `test_gguf_rw --write PATH` only writes the file of step 1 (scripts/check_gguf_pyreader.py checks it
 * with the gguf Python package; keep the two in sync).
 */
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "io/gguf.h"
#include "tensor/dtype.h"
#include "util/err.h"

/* ---------------------------------------------------------------- the file's contents */

static const uint8_t a_u8[] = {0, 1, 255};
static const int8_t a_i8[] = {-128, 0, 127};
static const uint16_t a_u16[] = {0, 65535, 1234};
static const int16_t a_i16[] = {-32768, 32767, -1};
static const uint32_t a_u32[] = {0, 4294967295u, 42};
static const int32_t a_i32[] = {INT32_MIN, INT32_MAX, -7};
static const float a_f32[] = {1.5f, -0.25f, 3.0e38f};
static const uint8_t a_bool[] = {1, 0, 1};
static const uint64_t a_u64[] = {0, UINT64_MAX, 1ull << 40};
static const int64_t a_i64[] = {INT64_MIN, INT64_MAX, -3};
static const double a_f64[] = {0.1, -1e300, 2.5};
static const char *const a_str[] = {"alpha", "", "\xce\xb3"};     /* "γ" */
static const int32_t n0[] = {1, 2, 3}, n2[] = {-4};

#define N_TENSORS 5
static float t_f32[6], t_3d[12];
static uint16_t t_f16[5];
static uint8_t t_q8[4 * 34];
static const int64_t ne_f32[] = {3, 2}, ne_3d[] = {2, 3, 2}, ne_f16[] = {5}, ne_q8[] = {64, 2}, ne_empty[] = {0, 4};

static void fill_tensors(void) {
    for (int i = 0; i < 6; i++) t_f32[i] = (float)i * 0.5f - 1.0f;
    for (int i = 0; i < 12; i++) t_3d[i] = (float)(i * i);
    for (int i = 0; i < 5; i++) t_f16[i] = (uint16_t)(0x3c00 + i);        /* 1.0, 1.0009765625, ... */
    for (int i = 0; i < (int)sizeof t_q8; i++) t_q8[i] = (uint8_t)(i * 37 + 11);
}

static int add_nested(ll_gguf_writer *w) {
    ll_gguf_value inner[3], outer = {.type = LL_GGUF_ARRAY};
    const int32_t *datas[3] = {n0, NULL, n2};
    const uint64_t counts[3] = {3, 0, 1};
    for (int i = 0; i < 3; i++) {
        inner[i] = (ll_gguf_value){.type = LL_GGUF_ARRAY};
        inner[i].v.arr.type = LL_GGUF_INT32;
        inner[i].v.arr.n = counts[i];
        inner[i].v.arr.data = (void *)(uintptr_t)datas[i];
    }
    outer.v.arr.type = LL_GGUF_ARRAY;
    outer.v.arr.n = 3;
    outer.v.arr.data = inner;
    return ll_gguf_writer_set(w, "test.nested", &outer);
}

static int write_test_file(const char *path) {
    fill_tensors();
    ll_gguf_writer *w = ll_gguf_writer_new();
    if (!w) return -1;
    int rc = 0;
    ll_gguf_value v;
    rc |= ll_gguf_writer_set_str(w, "general.architecture", "llama");
    rc |= ll_gguf_writer_set_u32(w, "general.alignment", 64);
    v = (ll_gguf_value){.type = LL_GGUF_UINT8, .v.u = 200};          rc |= ll_gguf_writer_set(w, "test.u8", &v);
    v = (ll_gguf_value){.type = LL_GGUF_INT8, .v.i = -100};          rc |= ll_gguf_writer_set(w, "test.i8", &v);
    v = (ll_gguf_value){.type = LL_GGUF_UINT16, .v.u = 60000};       rc |= ll_gguf_writer_set(w, "test.u16", &v);
    v = (ll_gguf_value){.type = LL_GGUF_INT16, .v.i = -30000};       rc |= ll_gguf_writer_set(w, "test.i16", &v);
    rc |= ll_gguf_writer_set_u32(w, "test.u32", 4000000000u);
    rc |= ll_gguf_writer_set_i32(w, "test.i32", -2000000000);
    rc |= ll_gguf_writer_set_f32(w, "test.f32", 3.25f);
    rc |= ll_gguf_writer_set_bool(w, "test.bool", true);
    v = (ll_gguf_value){.type = LL_GGUF_UINT64, .v.u = (1ull << 63) + 5}; rc |= ll_gguf_writer_set(w, "test.u64", &v);
    v = (ll_gguf_value){.type = LL_GGUF_INT64, .v.i = -(INT64_C(1) << 62) - 7}; rc |= ll_gguf_writer_set(w, "test.i64", &v);
    v = (ll_gguf_value){.type = LL_GGUF_FLOAT64, .v.f = -1.0 / 3.0}; rc |= ll_gguf_writer_set(w, "test.f64", &v);
    rc |= ll_gguf_writer_set_str(w, "test.str", "hello, GGUF \xe2\x9c\x93");
    v = (ll_gguf_value){.type = LL_GGUF_STRING, .v.str = {"a\0b", 3}}; rc |= ll_gguf_writer_set(w, "test.str_nul", &v);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.u8", LL_GGUF_UINT8, a_u8, 3);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.i8", LL_GGUF_INT8, a_i8, 3);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.u16", LL_GGUF_UINT16, a_u16, 3);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.i16", LL_GGUF_INT16, a_i16, 3);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.u32", LL_GGUF_UINT32, a_u32, 3);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.i32", LL_GGUF_INT32, a_i32, 3);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.f32", LL_GGUF_FLOAT32, a_f32, 3);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.bool", LL_GGUF_BOOL, a_bool, 3);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.u64", LL_GGUF_UINT64, a_u64, 3);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.i64", LL_GGUF_INT64, a_i64, 3);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.f64", LL_GGUF_FLOAT64, a_f64, 3);
    rc |= ll_gguf_writer_set_arr(w, "test.arr.empty", LL_GGUF_UINT32, NULL, 0);
    rc |= ll_gguf_writer_set_arr_str(w, "test.arr.str", a_str, NULL, 3);
    rc |= add_nested(w);
    rc |= ll_gguf_writer_add_tensor(w, "t.f32", LL_TYPE_F32, 2, ne_f32, t_f32, sizeof t_f32);
    rc |= ll_gguf_writer_add_tensor(w, "t.f16", LL_TYPE_F16, 1, ne_f16, t_f16, sizeof t_f16);
    rc |= ll_gguf_writer_add_tensor(w, "t.q8_0", LL_TYPE_Q8_0, 2, ne_q8, t_q8, sizeof t_q8);
    rc |= ll_gguf_writer_add_tensor(w, "t.3d", LL_TYPE_F32, 3, ne_3d, t_3d, sizeof t_3d);
    rc |= ll_gguf_writer_add_tensor(w, "t.empty", LL_TYPE_F32, 2, ne_empty, NULL, 0);
    if (!rc) rc = ll_gguf_writer_write(w, path);
    ll_gguf_writer_free(w);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- checks */

static void check_scalar_u(const ll_gguf *g, const char *key, uint32_t type, uint64_t want) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    CHECK(kv && kv->val.type == type && kv->val.v.u == want, "%s", key);
}
static void check_scalar_i(const ll_gguf *g, const char *key, uint32_t type, int64_t want) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    CHECK(kv && kv->val.type == type && kv->val.v.i == want, "%s", key);
}
static void check_arr(const ll_gguf *g, const char *key, uint32_t et, const void *want, size_t bytes) {
    const void *d = NULL;
    uint64_t n = 0;
    int rc = ll_gguf_get_arr(g, key, et, &d, &n);
    CHECK(rc == 1 && n == 3 && memcmp(d, want, bytes) == 0, "%s: rc %d n %llu", key, rc, (unsigned long long)n);
}

static const struct { const char *name; uint32_t type, n_dims; const int64_t *ne; const void *data; size_t nbytes; }
    want_t[N_TENSORS] = {
        {"t.f32", LL_TYPE_F32, 2, ne_f32, t_f32, sizeof t_f32},
        {"t.f16", LL_TYPE_F16, 1, ne_f16, t_f16, sizeof t_f16},
        {"t.q8_0", LL_TYPE_Q8_0, 2, ne_q8, t_q8, sizeof t_q8},
        {"t.3d", LL_TYPE_F32, 3, ne_3d, t_3d, sizeof t_3d},
        {"t.empty", LL_TYPE_F32, 2, ne_empty, NULL, 0},
};

static void check_file(const char *path) {
    ll_gguf *g = ll_gguf_open(path);
    CHECK(g != NULL, "open %s: %s", path, ll_errmsg());
    if (!g) return;
    CHECK(g->version == 3, "version %u", g->version);
    CHECK(g->alignment == 64, "alignment %llu", (unsigned long long)g->alignment);
    CHECK(g->n_kv == 29, "n_kv %llu", (unsigned long long)g->n_kv);
    CHECK(g->data_offset % 64 == 0, "data offset %llu", (unsigned long long)g->data_offset);
    CHECK(!strcmp(g->kv[0].key.s, "general.architecture") && !strcmp(g->kv[28].key.s, "test.nested"),
          "insertion order kept");

    check_scalar_u(g, "general.alignment", LL_GGUF_UINT32, 64);
    check_scalar_u(g, "test.u8", LL_GGUF_UINT8, 200);
    check_scalar_i(g, "test.i8", LL_GGUF_INT8, -100);
    check_scalar_u(g, "test.u16", LL_GGUF_UINT16, 60000);
    check_scalar_i(g, "test.i16", LL_GGUF_INT16, -30000);
    check_scalar_u(g, "test.u32", LL_GGUF_UINT32, 4000000000u);
    check_scalar_i(g, "test.i32", LL_GGUF_INT32, -2000000000);
    check_scalar_u(g, "test.bool", LL_GGUF_BOOL, 1);
    check_scalar_u(g, "test.u64", LL_GGUF_UINT64, (1ull << 63) + 5);
    check_scalar_i(g, "test.i64", LL_GGUF_INT64, -(INT64_C(1) << 62) - 7);
    const ll_gguf_kv *kv = ll_gguf_find(g, "test.f32");
    CHECK(kv && kv->val.type == LL_GGUF_FLOAT32 && kv->val.v.f == 3.25, "test.f32");
    kv = ll_gguf_find(g, "test.f64");
    CHECK(kv && kv->val.type == LL_GGUF_FLOAT64 && kv->val.v.f == -1.0 / 3.0, "test.f64");

    ll_str s;
    CHECK(ll_gguf_get_str(g, "general.architecture", &s) == 1 && s.n == 5 && !strcmp(s.s, "llama"), "arch");
    CHECK(ll_gguf_get_str(g, "test.str", &s) == 1 && !strcmp(s.s, "hello, GGUF \xe2\x9c\x93"), "test.str");
    CHECK(ll_gguf_get_str(g, "test.str_nul", &s) == 1 && s.n == 3 && !memcmp(s.s, "a\0b", 4), "test.str_nul");

    check_arr(g, "test.arr.u8", LL_GGUF_UINT8, a_u8, sizeof a_u8);
    check_arr(g, "test.arr.i8", LL_GGUF_INT8, a_i8, sizeof a_i8);
    check_arr(g, "test.arr.u16", LL_GGUF_UINT16, a_u16, sizeof a_u16);
    check_arr(g, "test.arr.i16", LL_GGUF_INT16, a_i16, sizeof a_i16);
    check_arr(g, "test.arr.u32", LL_GGUF_UINT32, a_u32, sizeof a_u32);
    check_arr(g, "test.arr.i32", LL_GGUF_INT32, a_i32, sizeof a_i32);
    check_arr(g, "test.arr.f32", LL_GGUF_FLOAT32, a_f32, sizeof a_f32);
    check_arr(g, "test.arr.bool", LL_GGUF_BOOL, a_bool, sizeof a_bool);
    check_arr(g, "test.arr.u64", LL_GGUF_UINT64, a_u64, sizeof a_u64);
    check_arr(g, "test.arr.i64", LL_GGUF_INT64, a_i64, sizeof a_i64);
    check_arr(g, "test.arr.f64", LL_GGUF_FLOAT64, a_f64, sizeof a_f64);
    const void *d;
    uint64_t n;
    CHECK(ll_gguf_get_arr(g, "test.arr.empty", LL_GGUF_UINT32, &d, &n) == 1 && n == 0, "empty array");
    CHECK(ll_gguf_get_arr(g, "test.arr.str", LL_GGUF_STRING, &d, &n) == 1 && n == 3, "string array");
    if (n == 3) {
        const ll_str *ss = d;
        for (int i = 0; i < 3; i++)
            CHECK(ss[i].n == strlen(a_str[i]) && !strcmp(ss[i].s, a_str[i]), "string %d", i);
    }
    CHECK(ll_gguf_get_arr(g, "test.nested", LL_GGUF_ARRAY, &d, &n) == 1 && n == 3, "nested");
    if (n == 3) {
        const ll_gguf_value *in = d;
        CHECK(in[0].type == LL_GGUF_ARRAY && in[0].v.arr.type == LL_GGUF_INT32 && in[0].v.arr.n == 3 &&
              !memcmp(in[0].v.arr.data, n0, sizeof n0), "nested[0]");
        CHECK(in[1].type == LL_GGUF_ARRAY && in[1].v.arr.type == LL_GGUF_INT32 && in[1].v.arr.n == 0, "nested[1]");
        CHECK(in[2].type == LL_GGUF_ARRAY && in[2].v.arr.type == LL_GGUF_INT32 && in[2].v.arr.n == 1 &&
              ((const int32_t *)in[2].v.arr.data)[0] == -4, "nested[2]");
    }

    /* typed getters: conversions, range errors, type errors, absence */
    uint64_t u;
    int64_t i;
    double f;
    bool b;
    CHECK(ll_gguf_get_u64(g, "test.u8", &u) == 1 && u == 200, "u64 <- u8");
    CHECK(ll_gguf_get_u64(g, "test.bool", &u) == 1 && u == 1, "u64 <- bool");
    CHECK(ll_gguf_get_u64(g, "test.i8", &u) == -1 && strstr(ll_errmsg(), "test.i8"), "u64 <- negative: %s", ll_errmsg());
    CHECK(ll_gguf_get_i64(g, "test.i16", &i) == 1 && i == -30000, "i64 <- i16");
    CHECK(ll_gguf_get_i64(g, "test.u32", &i) == 1 && i == 4000000000, "i64 <- u32");
    CHECK(ll_gguf_get_i64(g, "test.u64", &i) == -1, "i64 <- u64 > INT64_MAX: %s", ll_errmsg());
    CHECK(ll_gguf_get_f64(g, "test.f32", &f) == 1 && f == 3.25, "f64 <- f32");
    CHECK(ll_gguf_get_f64(g, "test.i32", &f) == 1 && f == -2e9, "f64 <- i32");
    CHECK(ll_gguf_get_f64(g, "test.str", &f) == -1, "f64 <- str");
    CHECK(ll_gguf_get_bool(g, "test.bool", &b) == 1 && b, "bool");
    CHECK(ll_gguf_get_bool(g, "test.u8", &b) == -1 && strstr(ll_errmsg(), "expected bool"), "bool <- u8: %s",
          ll_errmsg());
    CHECK(ll_gguf_get_str(g, "test.u32", &s) == -1, "str <- u32");
    CHECK(ll_gguf_get_arr(g, "test.arr.u8", LL_GGUF_INT8, &d, &n) == -1 && strstr(ll_errmsg(), "array of uint8"),
          "arr type mismatch: %s", ll_errmsg());
    CHECK(ll_gguf_get_arr(g, "test.u8", LL_GGUF_UINT8, &d, &n) == -1, "arr <- scalar");
    CHECK(ll_gguf_get_u64(g, "no.such.key", &u) == 0 && ll_gguf_get_str(g, "no.such.key", &s) == 0, "absent");
    CHECK(ll_gguf_find(g, "test") == NULL && ll_gguf_find(g, "test.u8x") == NULL, "no prefix matches");

    /* tensors */
    CHECK(g->n_tensors == N_TENSORS, "n_tensors %llu", (unsigned long long)g->n_tensors);
    for (int k = 0; k < N_TENSORS && (uint64_t)k < g->n_tensors; k++) {
        const ll_gguf_tensor *t = ll_gguf_find_tensor(g, want_t[k].name);
        CHECK(t == &g->tensors[k], "tensor %s found in order", want_t[k].name);
        if (!t) continue;
        CHECK(t->type == want_t[k].type && t->n_dims == want_t[k].n_dims, "%s type/n_dims", t->name.s);
        for (uint32_t dd = 0; dd < 4; dd++)
            CHECK(t->ne[dd] == (dd < t->n_dims ? want_t[k].ne[dd] : 1), "%s ne[%u] = %lld", t->name.s, dd,
                  (long long)t->ne[dd]);
        CHECK(t->offset % 64 == 0, "%s offset %llu aligned", t->name.s, (unsigned long long)t->offset);
        CHECK(t->nbytes == want_t[k].nbytes, "%s nbytes %zu", t->name.s, t->nbytes);
        CHECK(!t->nbytes || !memcmp(t->data, want_t[k].data, t->nbytes), "%s bytes", t->name.s);
        CHECK((const uint8_t *)t->data == g->base + g->data_offset + t->offset, "%s data pointer", t->name.s);
    }
    CHECK(ll_gguf_find_tensor(g, "t.missing") == NULL, "missing tensor");
    CHECK(g->size % 64 == 0, "file padded to the alignment: %zu", g->size);
    ll_gguf_close(g);
}

/* Structural equality of two values. */
static int value_eq(const ll_gguf_value *a, const ll_gguf_value *b) {
    if (a->type != b->type) return 0;
    switch (a->type) {
    case LL_GGUF_STRING: return a->v.str.n == b->v.str.n && !memcmp(a->v.str.s, b->v.str.s, a->v.str.n);
    case LL_GGUF_FLOAT32: case LL_GGUF_FLOAT64: return memcmp(&a->v.f, &b->v.f, sizeof(double)) == 0;
    case LL_GGUF_ARRAY: break;
    default: return a->v.u == b->v.u;
    }
    if (a->v.arr.type != b->v.arr.type || a->v.arr.n != b->v.arr.n) return 0;
    for (uint64_t k = 0; k < a->v.arr.n; k++) {
        ll_gguf_value x = {.type = a->v.arr.type}, y = {.type = a->v.arr.type};
        if (a->v.arr.type == LL_GGUF_STRING) {
            x.v.str = ((const ll_str *)a->v.arr.data)[k];
            y.v.str = ((const ll_str *)b->v.arr.data)[k];
        } else if (a->v.arr.type == LL_GGUF_ARRAY) {
            x = ((const ll_gguf_value *)a->v.arr.data)[k];
            y = ((const ll_gguf_value *)b->v.arr.data)[k];
        } else {
            continue;
        }
        if (!value_eq(&x, &y)) return 0;
    }
    if (a->v.arr.type != LL_GGUF_STRING && a->v.arr.type != LL_GGUF_ARRAY) {
        static const size_t w[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
        return !memcmp(a->v.arr.data, b->v.arr.data, (size_t)a->v.arr.n * w[a->v.arr.type]);
    }
    return 1;
}

/* Reader -> writer: copies everything from src into dst, then compares. */
static void check_copy(const char *src, const char *dst) {
    ll_gguf *g = ll_gguf_open(src);
    CHECK(g != NULL, "%s", ll_errmsg());
    if (!g) return;
    ll_gguf_writer *w = ll_gguf_writer_new();
    int rc = 0;
    for (uint64_t k = 0; k < g->n_kv; k++) rc |= ll_gguf_writer_set(w, g->kv[k].key.s, &g->kv[k].val);
    for (uint64_t k = 0; k < g->n_tensors; k++) {
        const ll_gguf_tensor *t = &g->tensors[k];
        rc |= ll_gguf_writer_add_tensor(w, t->name.s, t->type, t->n_dims, t->ne, t->data, t->nbytes);
    }
    CHECK(rc == 0, "copy: %s", ll_errmsg());
    CHECK(ll_gguf_writer_write(w, dst) == 0, "write copy: %s", ll_errmsg());
    ll_gguf_writer_free(w);
    ll_gguf *h = ll_gguf_open(dst);
    CHECK(h != NULL, "%s", ll_errmsg());
    if (h) {
        CHECK(h->n_kv == g->n_kv && h->n_tensors == g->n_tensors && h->size == g->size, "copy sizes");
        for (uint64_t k = 0; k < g->n_kv && k < h->n_kv; k++)
            CHECK(!strcmp(g->kv[k].key.s, h->kv[k].key.s) && value_eq(&g->kv[k].val, &h->kv[k].val),
                  "copied kv %s", g->kv[k].key.s);
        CHECK(g->size == h->size && !memcmp(g->base, h->base, g->size), "copy is byte-identical");
        ll_gguf_close(h);
    }
    ll_gguf_close(g);
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

/* whether dir holds a temporary file of path's writer (PATH.tmp-PID-N, io/files.h) */
static int tmp_left(const char *dir, const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char prefix[1100];
    snprintf(prefix, sizeof prefix, "%s.tmp", base);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strncmp(de->d_name, prefix, strlen(prefix))) found = 1;
    closedir(d);
    return found;
}

static void check_writer_errors(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/bad.gguf", dir);
    ll_gguf_writer *w = ll_gguf_writer_new();
    float x[4] = {0};
    int64_t ne4[] = {4}, ne16[] = {16}, neg[] = {-1}, ne0[] = {0};
    uint8_t two = 2;
    ll_gguf_value bad_u8 = {.type = LL_GGUF_UINT8, .v.u = 256}, bad_type = {.type = 13};
    ll_gguf_value bad_bool_arr = {.type = LL_GGUF_ARRAY};
    bad_bool_arr.v.arr.type = LL_GGUF_BOOL;
    bad_bool_arr.v.arr.n = 1;
    bad_bool_arr.v.arr.data = &two;
    ll_gguf_value deep[LL_GGUF_MAX_NESTING + 1];
    for (int k = 0; k <= LL_GGUF_MAX_NESTING; k++) {
        deep[k] = (ll_gguf_value){.type = LL_GGUF_ARRAY};
        deep[k].v.arr.type = k < LL_GGUF_MAX_NESTING ? LL_GGUF_ARRAY : LL_GGUF_INT32;
        deep[k].v.arr.n = k < LL_GGUF_MAX_NESTING ? 1 : 0;
        deep[k].v.arr.data = k < LL_GGUF_MAX_NESTING ? &deep[k + 1] : NULL;
    }
#define EXPECT_FAIL(call, phrase) do { ll_clear_error(); int r_ = (call); \
        CHECK(r_ == -1 && strstr(ll_errmsg(), phrase), "%s -> %d: %s", #call, r_, ll_errmsg()); \
        printf("  writer: %s\n", ll_errmsg()); } while (0)
    EXPECT_FAIL(ll_gguf_writer_set_u32(w, "", 1), "empty");
    EXPECT_FAIL(ll_gguf_writer_set(w, "k", &bad_u8), "out of range for uint8");
    EXPECT_FAIL(ll_gguf_writer_set(w, "k", &bad_type), "invalid value type 13");
    EXPECT_FAIL(ll_gguf_writer_set(w, "k", &bad_bool_arr), "not 0 or 1");
    EXPECT_FAIL(ll_gguf_writer_set(w, "k", &deep[0]), "nested more than");
    CHECK(ll_gguf_writer_set(w, "k", &deep[1]) == 0, "%d levels of arrays are fine: %s", LL_GGUF_MAX_NESTING,
          ll_errmsg());
    EXPECT_FAIL(ll_gguf_writer_set_arr(w, "k", LL_GGUF_STRING, a_str, 3), "scalar element types");
    EXPECT_FAIL(ll_gguf_writer_add_tensor(w, "t", LL_TYPE_F32, 1, ne4, x, 12), "nbytes is 12");
    EXPECT_FAIL(ll_gguf_writer_add_tensor(w, "t", LL_TYPE_Q8_0, 1, ne16, x, 34), "not a multiple");
    EXPECT_FAIL(ll_gguf_writer_add_tensor(w, "t", LL_TYPE_F32, 1, neg, x, 0), "negative");
    EXPECT_FAIL(ll_gguf_writer_add_tensor(w, "t", LL_TYPE_F32, 0, ne4, x, 16), "n_dims is 0");
    EXPECT_FAIL(ll_gguf_writer_add_tensor(w, "t", 99, 1, ne4, x, 16), "unknown tensor type id 99");
    CHECK(ll_gguf_writer_add_tensor(w, "t", LL_TYPE_F32, 1, ne4, x, 16) == 0, "%s", ll_errmsg());
    CHECK(ll_gguf_writer_add_tensor(w, "z", LL_TYPE_F32, 1, ne0, NULL, 0) == 0, "%s", ll_errmsg());
    EXPECT_FAIL(ll_gguf_writer_add_tensor(w, "t", LL_TYPE_F32, 1, ne4, x, 16), "duplicate tensor name 't'");
    CHECK(ll_gguf_writer_set_u32(w, "general.alignment", 48) == 0, "setting is fine; writing is not");
    EXPECT_FAIL(ll_gguf_writer_write(w, path), "nonzero power of two");
    CHECK(!exists(path) && !tmp_left(dir, path), "nothing left behind");
    ll_gguf_writer_set_u32(w, "general.alignment", 16);
    EXPECT_FAIL(ll_gguf_writer_write(w, "/nonexistent-dir/x.gguf"), "cannot create");

    /* replace in place, remove, deep copy independence */
    char sbuf[8] = "first";
    CHECK(ll_gguf_writer_set_str(w, "a", sbuf) == 0, "set a");
    CHECK(ll_gguf_writer_set_u32(w, "b", 1) == 0, "set b");
    strcpy(sbuf, "XXXXX");                      /* the writer holds its own copy */
    CHECK(ll_gguf_writer_set_u32(w, "k", 7) == 0, "replace k (was the nested array)");
    CHECK(ll_gguf_writer_remove(w, "b") == 0 && ll_gguf_writer_remove(w, "b") == 0, "remove");
    CHECK(ll_gguf_writer_write(w, path) == 0, "write: %s", ll_errmsg());
    CHECK(!tmp_left(dir, path), "tmp renamed");
    ll_gguf_writer_free(w);
    ll_gguf *g = ll_gguf_open(path);
    CHECK(g != NULL, "%s", ll_errmsg());
    if (g) {
        ll_str s;
        uint64_t u;
        CHECK(g->n_kv == 3 && !strcmp(g->kv[0].key.s, "k") && !strcmp(g->kv[2].key.s, "a"), "order after replace");
        CHECK(ll_gguf_get_u64(g, "k", &u) == 1 && u == 7, "k replaced");
        CHECK(ll_gguf_get_str(g, "a", &s) == 1 && !strcmp(s.s, "first"), "deep copy of string");
        CHECK(ll_gguf_find(g, "b") == NULL, "b removed");
        CHECK(g->alignment == 16 && g->n_tensors == 2 && g->tensors[1].nbytes == 0, "alignment/tensors");
        ll_gguf_close(g);
    }
    unlink(path);
}

static void check_vocab(const char *shared) {
    static const struct { const char *file, *model, *tok0; uint64_t n_tokens; } v[] = {
        {"ggml-vocab-llama-spm.gguf", "llama", "<unk>", 32000},
        {"ggml-vocab-gpt-2.gguf", "gpt2", "!", 50257},
        {"ggml-vocab-starcoder.gguf", "gpt2", "<|endoftext|>", 49152},
        {"ggml-vocab-bert-bge.gguf", "bert", "[PAD]", 30522},
    };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tokenizer-tests/%s", shared, v[k].file);
        ll_gguf *g = ll_gguf_open(path);
        CHECK(g != NULL, "%s", ll_errmsg());
        if (!g) continue;
        ll_str s;
        const void *d;
        uint64_t n = 0;
        CHECK(g->version == 3 && g->n_tensors == 0, "%s: v%u, %llu tensors", v[k].file, g->version,
              (unsigned long long)g->n_tensors);
        CHECK(ll_gguf_get_str(g, "tokenizer.ggml.model", &s) == 1 && !strcmp(s.s, v[k].model), "%s model", v[k].file);
        CHECK(ll_gguf_get_arr(g, "tokenizer.ggml.tokens", LL_GGUF_STRING, &d, &n) == 1 && n == v[k].n_tokens,
              "%s: %llu tokens", v[k].file, (unsigned long long)n);
        if (n) CHECK(!strcmp(((const ll_str *)d)[0].s, v[k].tok0), "%s token 0", v[k].file);
        CHECK(ll_gguf_get_arr(g, "tokenizer.ggml.token_type", LL_GGUF_INT32, &d, &n) == 1 && n == v[k].n_tokens,
              "%s token types", v[k].file);
        printf("  %s: model %s, %llu tokens, %llu keys\n", v[k].file, v[k].model, (unsigned long long)v[k].n_tokens,
               (unsigned long long)g->n_kv);
        ll_gguf_close(g);
    }
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        if (write_test_file(argv[2]) != 0) {
            fprintf(stderr, "test_gguf_rw: %s\n", ll_errmsg());
            return 1;
        }
        return 0;
    }
    const char *dir = getenv("BUILD") ? getenv("BUILD") : ".";
    char path[1024], copy[1024];
    snprintf(path, sizeof path, "%s/test_gguf_rw.%d.gguf", dir, (int)getpid());
    snprintf(copy, sizeof copy, "%s/test_gguf_rw.%d.copy.gguf", dir, (int)getpid());

    CHECK(write_test_file(path) == 0, "write: %s", ll_errmsg());
    check_file(path);
    check_copy(path, copy);
    check_file(copy);
    check_writer_errors(dir);
    unlink(path);
    unlink(copy);

    const char *shared = getenv("SHARED");
    if (shared) check_vocab(shared);
    else printf("SHARED not set: skipping the vocabulary files\n");
    return CHECK_DONE();
}
