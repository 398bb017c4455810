/* fuzz_safetensors.c — libFuzzer target for the safetensors reader.
 *
 * Feeds the input to ll_st_from_memory (the buffer is exactly the input, so ASan sees any read past it). When
 * the file opens, every tensor's first and last data byte is read, each must lie inside the input, the tensors
 * must tile the data section in order, lookups by name must find them, and metadata strings must be
 * NUL-terminated. A failure must leave a non-empty message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "util/err.h"

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ll_st *s = ll_st_from_memory(data, size, "fuzz");
    if (!s) {
        if (!ll_errmsg()[0]) abort();
        return 0;
    }
    const uint8_t *end = data + size, *prev = NULL;
    for (uint64_t i = 0; i < s->n_tensors; i++) {
        const ll_gguf_tensor *t = &s->tensors[i];
        const uint8_t *p = t->data;
        if (p < data || p > end || t->nbytes > (size_t)(end - p)) abort();
        if (prev && p != prev) abort();
        prev = p + t->nbytes;
        if (t->nbytes) sink += p[0] + p[t->nbytes - 1];
        if (t->name.s[t->name.n] != 0 || !s->dtype[i]) abort();
        if (ll_st_find_tensor(s, t->name.s) != t) abort();
        if (t->n_dims < 1 || t->n_dims > 4) abort();
    }
    if (s->n_tensors && prev != end) abort();
    for (uint64_t i = 0; i < s->n_meta; i++)
        if (s->meta_key[i].s[s->meta_key[i].n] || s->meta_val[i].s[s->meta_val[i].n]) abort();
    ll_st_close(s);
    return 0;
}
