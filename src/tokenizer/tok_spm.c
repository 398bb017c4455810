/* tok_spm.c — SentencePiece-BPE encoding, as llama.cpp's llm_tokenizer_spm and llama2.c's encode do it.
 *
 * The text (spaces already escaped to U+2581, except for llama2.c vocabularies) is split into code
 * points; then, repeatedly, the adjacent pair whose concatenation is the highest-scoring piece is merged
 * (ties: the leftmost pair). Symbols that end up as no piece fall back to byte pieces <0xXX>, or to <unk>
 * when the vocabulary has no byte pieces.
 */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "util/err.h"

static int try_pair(const ll_tokenizer *t, const char *text, const tok_sym *sym, int32_t l, int32_t r,
                    tok_heap *h) {
    if (l < 0 || r < 0) return 0;
    size_t size = sym[l].n + sym[r].n;
    int32_t id = tok_map_get(t->llama2c ? &t->raw_pieces : &t->pieces, text + sym[l].start, size);
    if (id < 0) return 0;
    tok_bigram b = { -(double)t->score[id], l, r, size };
    return tok_heap_push(h, b);
}

/* A symbol that is no piece: its bytes as byte pieces, or one <unk>. */
static int fallback(const ll_tokenizer *t, const unsigned char *s, size_t n, tok_ids *out) {
    bool all = true;
    for (size_t i = 0; i < n; i++) all = all && t->byte_tok[s[i]] >= 0;
    if (all) {
        for (size_t i = 0; i < n; i++)
            if (tok_ids_push(out, t->byte_tok[s[i]])) return -1;
        return 0;
    }
    if (t->unk >= 0) return tok_ids_push(out, t->unk);
    return ll_fail("tokenizer: the text has a character (first byte 0x%02X) that is no piece, and the "
                   "vocabulary has neither byte pieces <0xXX> nor an unknown token", s[0]);
}

int tok_spm_encode(const ll_tokenizer *t, const char *text, size_t n, tok_ids *out) {
    if (!n) return 0;
    int rc = -1;
    tok_heap heap = { 0 };
    tok_sym *sym = ll_malloc(n * sizeof *sym);
    if (!sym) return -1;

    /* one symbol per code point */
    int32_t ns = 0;
    for (size_t off = 0; off < n; ns++) {
        size_t l;
        if (t->llama2c) {
            /* run.c: a byte and the continuation bytes after it, at most 4 bytes */
            l = 1;
            while (off + l < n && l < 4 && ((unsigned char)text[off + l] & 0xC0) == 0x80) l++;
        } else {
            /* llama.cpp: the length its first byte announces, cut at the end of the text */
            l = tok_utf8_len((unsigned char)text[off]);
            if (l > n - off) l = n - off;
        }
        sym[ns].prev = ns - 1;
        sym[ns].next = off + l == n ? -1 : ns + 1;
        sym[ns].start = off;
        sym[ns].n = l;
        off += l;
    }

    for (int32_t i = 1; i < ns; i++)
        if (try_pair(t, text, sym, i - 1, i, &heap)) goto done;

    while (heap.n) {
        tok_bigram b = tok_heap_pop(&heap);
        tok_sym *L = &sym[b.left], *R = &sym[b.right];
        if (!L->n || !R->n || L->n + R->n != b.size) continue;   /* stale: one side changed */
        L->n += R->n;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0) sym[R->next].prev = b.left;
        if (try_pair(t, text, sym, L->prev, b.left, &heap)) goto done;
        if (try_pair(t, text, sym, b.left, L->next, &heap)) goto done;
    }

    for (int32_t i = 0; i != -1; i = sym[i].next) {
        int32_t id = tok_map_get(t->llama2c ? &t->raw_pieces : &t->pieces, text + sym[i].start, sym[i].n);
        if (id >= 0) {
            if (tok_ids_push(out, id)) goto done;
        } else if (fallback(t, (const unsigned char *)text + sym[i].start, sym[i].n, out)) {
            goto done;
        }
    }
    rc = 0;
done:
    free(sym);
    free(heap.v);
    return rc;
}
