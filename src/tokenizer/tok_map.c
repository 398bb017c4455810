/* tok_map.c — the tokenizer's small containers: a byte-string -> int32 hash map (open addressing,
 * linear probing, keys copied into one arena), a growable id list and the merge work queue (binary
 * min-heap). */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "util/err.h"

/* FNV-1a over the bytes, finished with a 64-bit mixer so that linear probing sees well-spread values. */
static uint64_t fnv_feed(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t finish(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

#define FNV_INIT 0xcbf29ce484222325ull

/* A pair key is stored as 4 bytes of little-endian length of a, then a, then b. */
static void pair_prefix(size_t an, unsigned char p[4]) {
    p[0] = (unsigned char)an;
    p[1] = (unsigned char)(an >> 8);
    p[2] = (unsigned char)(an >> 16);
    p[3] = (unsigned char)(an >> 24);
}

void tok_map_free(tok_map *m) {
    free(m->hash);
    free(m->koff);
    free(m->klen);
    free(m->val);
    free(m->keys);
    memset(m, 0, sizeof *m);
}

static int grow(tok_map *m) {
    size_t ncap = m->cap ? m->cap * 2 : 64;
    uint64_t *h = ll_calloc(ncap, sizeof *h);
    size_t *ko = ll_malloc(ncap * sizeof *ko);
    uint32_t *kl = ll_malloc(ncap * sizeof *kl);
    int32_t *v = ll_malloc(ncap * sizeof *v);
    if (!h || !ko || !kl || !v) {
        free(h), free(ko), free(kl), free(v);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->hash[i]) continue;
        size_t j = m->hash[i] & (ncap - 1);
        while (h[j]) j = (j + 1) & (ncap - 1);
        h[j] = m->hash[i];
        ko[j] = m->koff[i];
        kl[j] = m->klen[i];
        v[j] = m->val[i];
    }
    free(m->hash), free(m->koff), free(m->klen), free(m->val);
    m->hash = h, m->koff = ko, m->klen = kl, m->val = v;
    m->cap = ncap;
    return 0;
}

/* Finds the slot of key (a ++ b when pair, else a alone). Returns the slot index; *found tells whether
 * it holds the key (else it is the empty slot where the key belongs). m->cap must be nonzero. */
static size_t find_slot(const tok_map *m, uint64_t h, bool pair, const void *a, size_t an, const void *b,
                        size_t bn, bool *found) {
    size_t total = pair ? 4 + an + bn : an;
    unsigned char pre[4];
    if (pair) pair_prefix(an, pre);
    size_t j = h & (m->cap - 1);
    while (m->hash[j]) {
        if (m->hash[j] == h && m->klen[j] == total) {
            const char *k = m->keys + m->koff[j];
            bool eq = pair ? !memcmp(k, pre, 4) && !memcmp(k + 4, a, an) && !memcmp(k + 4 + an, b, bn)
                           : !memcmp(k, a, an);
            if (eq) {
                *found = true;
                return j;
            }
        }
        j = (j + 1) & (m->cap - 1);
    }
    *found = false;
    return j;
}

static uint64_t hash_key(bool pair, const void *a, size_t an, const void *b, size_t bn) {
    uint64_t h = FNV_INIT;
    if (pair) {
        unsigned char pre[4];
        pair_prefix(an, pre);
        h = fnv_feed(h, pre, 4);
        h = fnv_feed(h, a, an);
        h = fnv_feed(h, b, bn);
    } else {
        h = fnv_feed(h, a, an);
    }
    return finish(h);
}

static int put(tok_map *m, bool pair, const void *a, size_t an, const void *b, size_t bn, int32_t val,
               int32_t *old) {
    size_t total = pair ? 4 + an + bn : an;
    if (an > UINT32_MAX - 8 || bn > UINT32_MAX - 8 || total > UINT32_MAX)
        return ll_fail("tokenizer: key of %zu bytes is too long", total);
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m)) return -1;
    uint64_t h = hash_key(pair, a, an, b, bn);
    bool found;
    size_t j = find_slot(m, h, pair, a, an, b, bn, &found);
    if (found) {
        if (old) *old = m->val[j];
        return 0;
    }
    if (m->keys_len + total > m->keys_cap) {
        size_t ncap = m->keys_cap ? m->keys_cap : 4096;
        while (ncap < m->keys_len + total) ncap *= 2;
        char *k = ll_realloc(m->keys, ncap);
        if (!k) return -1;
        m->keys = k;
        m->keys_cap = ncap;
    }
    char *k = m->keys + m->keys_len;
    if (pair) {
        unsigned char pre[4];
        pair_prefix(an, pre);
        memcpy(k, pre, 4);
        if (an) memcpy(k + 4, a, an);
        if (bn) memcpy(k + 4 + an, b, bn);
    } else if (an) {
        memcpy(k, a, an);
    }
    m->hash[j] = h;
    m->koff[j] = m->keys_len;
    m->klen[j] = (uint32_t)total;
    m->val[j] = val;
    m->keys_len += total;
    m->count++;
    return 1;
}

static int32_t get(const tok_map *m, bool pair, const void *a, size_t an, const void *b, size_t bn) {
    if (!m->count) return -1;
    bool found;
    size_t j = find_slot(m, hash_key(pair, a, an, b, bn), pair, a, an, b, bn, &found);
    return found ? m->val[j] : -1;
}

int tok_map_put(tok_map *m, const void *key, size_t n, int32_t val, int32_t *old) {
    return put(m, false, key, n, NULL, 0, val, old);
}

int32_t tok_map_get(const tok_map *m, const void *key, size_t n) { return get(m, false, key, n, NULL, 0); }

int tok_map_put_pair(tok_map *m, const void *a, size_t an, const void *b, size_t bn, int32_t val, int32_t *old) {
    return put(m, true, a, an, b, bn, val, old);
}

int32_t tok_map_get_pair(const tok_map *m, const void *a, size_t an, const void *b, size_t bn) {
    return get(m, true, a, an, b, bn);
}

int tok_ids_push(tok_ids *o, int32_t id) {
    if (o->n == o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 64;
        int32_t *v = ll_realloc(o->v, ncap * sizeof *v);
        if (!v) return -1;
        o->v = v;
        o->cap = ncap;
    }
    o->v[o->n++] = id;
    return 0;
}

static bool before(const tok_bigram *a, const tok_bigram *b) {
    return a->pri < b->pri || (a->pri == b->pri && a->left < b->left);
}

int tok_heap_push(tok_heap *h, tok_bigram b) {
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 64;
        tok_bigram *v = ll_realloc(h->v, ncap * sizeof *v);
        if (!v) return -1;
        h->v = v;
        h->cap = ncap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&b, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = b;
    return 0;
}

tok_bigram tok_heap_pop(tok_heap *h) {
    tok_bigram top = h->v[0];
    tok_bigram last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c])) c++;
        if (!before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}
