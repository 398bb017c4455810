/* fuzz_gguf.c — libFuzzer target for the GGUF reader.
 *
 * Feeds the input to ll_gguf_from_memory (the input buffer is exactly the input size, so ASan sees any
 * read past it). When the file opens, every key is read through every typed getter, array elements are
 * walked (strings and nested arrays included), every tensor's first and last data byte is read, and
 * lookups by name must find the same entries. A failure must leave a non-empty message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "util/err.h"

static volatile uint64_t sink;

static void walk(const ll_gguf_value *v, int depth) {
    if (depth > LL_GGUF_MAX_NESTING) abort();
    switch (v->type) {
    case LL_GGUF_STRING:
        if (v->v.str.s[v->v.str.n] != 0) abort();          /* NUL-terminated as promised */
        if (v->v.str.n) sink += (unsigned char)v->v.str.s[v->v.str.n - 1];
        break;
    case LL_GGUF_ARRAY: {
        uint64_t n = v->v.arr.n;
        if (v->v.arr.type == LL_GGUF_STRING) {
            const ll_str *s = v->v.arr.data;
            for (uint64_t i = 0; i < n; i++) {
                if (s[i].s[s[i].n] != 0) abort();
                sink += s[i].n;
            }
        } else if (v->v.arr.type == LL_GGUF_ARRAY) {
            const ll_gguf_value *e = v->v.arr.data;
            for (uint64_t i = 0; i < n; i++) {
                if (e[i].type != LL_GGUF_ARRAY) abort();
                walk(&e[i], depth + 1);
            }
        } else if (n) {
            static const size_t w[LL_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
            if (v->v.arr.type >= LL_GGUF_VTYPE_COUNT || !w[v->v.arr.type]) abort();
            const uint8_t *d = v->v.arr.data;
            sink += d[0] + d[n * w[v->v.arr.type] - 1];
        }
        break;
    }
    default:
        if (v->type >= LL_GGUF_VTYPE_COUNT) abort();
        sink += v->v.u;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ll_clear_error();
    ll_gguf *g = ll_gguf_from_memory(data, size, "fuzz.gguf");
    if (!g) {
        const char *m = ll_errmsg();
        if (!m[0] || strncmp(m, "fuzz.gguf: ", 11) != 0 || strchr(m, '\n')) {
            fprintf(stderr, "bad error message: '%s'\n", m);
            abort();
        }
        return 0;
    }
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const ll_gguf_kv *kv = &g->kv[i];
        const char *key = kv->key.s;
        if (ll_gguf_find(g, key) != kv) abort();
        uint64_t u;
        int64_t s;
        double f;
        bool b;
        ll_str str;
        const void *d;
        uint64_t n;
        sink += (uint64_t)ll_gguf_get_u64(g, key, &u) + (uint64_t)ll_gguf_get_i64(g, key, &s) +
                (uint64_t)ll_gguf_get_f64(g, key, &f) + (uint64_t)ll_gguf_get_bool(g, key, &b) +
                (uint64_t)ll_gguf_get_str(g, key, &str);
        for (uint32_t t = 0; t < LL_GGUF_VTYPE_COUNT; t++) sink += (uint64_t)ll_gguf_get_arr(g, key, t, &d, &n);
        walk(&kv->val, 0);
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const ll_gguf_tensor *t = &g->tensors[i];
        if (ll_gguf_find_tensor(g, t->name.s) != t) abort();
        const uint8_t *p = t->data;
        if (p < g->base || t->nbytes > g->size || (size_t)(p - g->base) > g->size - t->nbytes) abort();
        if (t->nbytes) sink += p[0] + p[t->nbytes - 1];
    }
    ll_gguf_close(g);
    return 0;
}
