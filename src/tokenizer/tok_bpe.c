/* tok_bpe.c — byte-level BPE (GPT-2 style), as llama.cpp's llm_tokenizer_bpe does it.
 *
 * 1. Pre-tokenize: the pre-tokenizer's regexes run one after another; each splits every chunk the
 *    previous one produced into its matches and the gaps between them (a chunk is a separate subject, so
 *    look-aheads never see past it). Regexes are PCRE2 in UTF + UCP mode.
 * 2. Each chunk's bytes are mapped to GPT-2's stand-in code points (printable bytes stand for themselves,
 *    the others for U+0100..U+0143), giving a word made of vocabulary characters.
 * 3. The word is merged pair by pair, lowest merge rank first (ties: leftmost), over its characters.
 *
 * Whitespace: the regexes use an explicit class, the Unicode White_Space property (as llama.cpp's own
 * tables and the Hugging Face tokenizers' regex engine do), instead of PCRE2's \s, which differs from it
 * (PCRE2 also matches U+180E).
 *
 * Text that is not valid UTF-8 is first decoded as llama.cpp's unicode_cpts_from_utf8 decodes it and
 * written out again (utf8_normalize): a byte that starts no complete sequence becomes U+FFFD and decoding
 * goes on at the next byte; overlong forms decode to their code point (C0 80 -> U+0000) and lone
 * surrogates are kept, as llama.cpp keeps them. (A 4-byte form above U+10FFFF makes llama.cpp throw out of
 * llama_tokenize; here its first byte becomes U+FFFD, as Python's decoder would do.) Surrogates are given
 * to PCRE2 as U+E000, a code point of the same regex classes in llama.cpp's tables (neither letter, number
 * nor space) and the same length, so chunk offsets are those of the text.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "util/err.h"

/* White_Space: 9-D, 20, 85, A0, 1680, 2000-200A, 2028, 2029, 202F, 205F, 3000 */
#define WS "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}" \
           "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
#define S "[" WS "]"
#define NS "[^" WS "]"

/* GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static const char RE_GPT2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+|" S "+(?!" NS ")|" S "+";

/* StarCoder / SmolLM: every digit alone first, then GPT-2's regex */
static const char RE_DIGIT[] = "\\p{N}";

/* Llama 3 (case-insensitive contractions written out, as llama.cpp does):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
 *   |\s*[\r\n]+|\s+(?!\S)|\s+ */
static const char RE_LLAMA3[] =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
    "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|" S "*[\\r\\n]+|" S "+(?!" NS ")|" S "+";

void tok_bpe_init_bytemap(ll_tokenizer *t) {
    for (int i = 0; i < 0x144; i++) t->byte_dec[i] = -1;
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        bool self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        int cp = self ? b : 256 + extra++;
        memset(t->byte_enc[b], 0, sizeof t->byte_enc[b]);
        if (cp < 0x80) {
            t->byte_enc[b][0] = (char)cp;
            t->byte_enc_len[b] = 1;
        } else {
            t->byte_enc[b][0] = (char)(0xC0 | (cp >> 6));
            t->byte_enc[b][1] = (char)(0x80 | (cp & 0x3F));
            t->byte_enc_len[b] = 2;
        }
        t->byte_dec[cp] = (int16_t)b;
    }
}

static int compile(ll_tokenizer *t, const char *pattern) {
    int err;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &erroff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return ll_fail("tokenizer: pre-tokenizer regex does not compile at offset %zu: %s", (size_t)erroff,
                       (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* optional: without JIT the interpreter runs */
    t->regex[t->n_regex++] = re;
    return 0;
}

int tok_bpe_init_pre(ll_tokenizer *t, const char *pre, size_t pre_len) {
#define IS(s) (pre_len == sizeof(s) - 1 && !memcmp(pre, s, pre_len))
    if (!pre || IS("gpt-2")) {
        t->pre = TOK_PRE_GPT2;
        return compile(t, RE_GPT2);
    }
    if (IS("starcoder") || IS("smollm")) {
        t->pre = TOK_PRE_STARCODER;
        if (compile(t, RE_DIGIT)) return -1;
        return compile(t, RE_GPT2);
    }
    if (IS("llama-bpe") || IS("llama3") || IS("llama-v3")) {
        t->pre = TOK_PRE_LLAMA3;
        t->ignore_merges = true;
        return compile(t, RE_LLAMA3);
    }
#undef IS
    return ll_fail("tokenizer.ggml.pre = '%.*s' is not a supported pre-tokenizer (supported: gpt-2, "
                   "starcoder, smollm, llama-bpe)", (int)(pre_len > 64 ? 64 : pre_len), pre);
}

void tok_bpe_free_pre(ll_tokenizer *t) {
    for (int i = 0; i < t->n_regex; i++) pcre2_code_free((pcre2_code *)t->regex[i]);
    t->n_regex = 0;
}

/* ---- pre-tokenization ---- */

typedef struct { size_t off, len; } chunk;
typedef struct { chunk *v; size_t n, cap; } chunks;

static int chunk_add(chunks *c, size_t off, size_t len) {
    if (!len) return 0;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        chunk *v = ll_realloc(c->v, ncap * sizeof *v);
        if (!v) return -1;
        c->v = v;
        c->cap = ncap;
    }
    c->v[c->n++] = (chunk){ off, len };
    return 0;
}

/* Splits every chunk of in by re into matches and gaps, appending them to out. */
static int split(const pcre2_code *re, const char *text, const chunks *in, chunks *out) {
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) return ll_fail("out of memory (regex match data)");
    int rc = -1;
    for (size_t i = 0; i < in->n; i++) {
        const char *subj = text + in->v[i].off;
        size_t n = in->v[i].len, pos = 0, prev = 0;
        while (pos < n) {
            int m = pcre2_match(re, (PCRE2_SPTR)subj, n, pos, 0, md, NULL);
            if (m == PCRE2_ERROR_NOMATCH) break;
            if (m < 0) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(m, msg, sizeof msg);
                ll_fail("tokenizer: pre-tokenizer regex failed: %s", (const char *)msg);
                goto done;
            }
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t s = ov[0], e = ov[1];
            if (e <= s) {        /* an empty match (none of our regexes has one): step over a byte */
                pos = s + 1;
                continue;
            }
            if (chunk_add(out, in->v[i].off + prev, s - prev)) goto done;
            if (chunk_add(out, in->v[i].off + s, e - s)) goto done;
            prev = pos = e;
        }
        if (chunk_add(out, in->v[i].off + prev, n - prev)) goto done;
    }
    rc = 0;
done:
    pcre2_match_data_free(md);
    return rc;
}

/* ---- merging one word ---- */

typedef struct {
    tok_sym *sym;
    size_t sym_cap;
    tok_heap heap;
} bpe_work;

static int try_pair(const ll_tokenizer *t, const char *w, const tok_sym *sym, int32_t l, int32_t r, tok_heap *h) {
    if (l < 0 || r < 0) return 0;
    int32_t rank = tok_map_get_pair(&t->merges, w + sym[l].start, sym[l].n, w + sym[r].start, sym[r].n);
    if (rank < 0) return 0;
    tok_bigram b = { (double)rank, l, r, sym[l].n + sym[r].n };
    return tok_heap_push(h, b);
}

/* A symbol that is no piece: one piece per character (each stands for one byte), or <unk>. */
static int fallback(const ll_tokenizer *t, const char *s, size_t n, tok_ids *out) {
    for (size_t i = 0; i < n;) {
        size_t l = tok_utf8_len((unsigned char)s[i]);
        if (l > n - i) l = n - i;
        int32_t id = tok_map_get(&t->pieces, s + i, l);
        if (id < 0) id = t->unk;
        if (id < 0) {
            unsigned char b0 = (unsigned char)s[i];
            int cp = l == 2 ? ((b0 & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3F) : b0;
            int byte = cp < 0x144 ? t->byte_dec[cp] : -1;
            return ll_fail("tokenizer: byte 0x%02X has no piece in the vocabulary and there is no unknown token",
                           byte >= 0 ? byte : b0);
        }
        if (tok_ids_push(out, id)) return -1;
        i += l;
    }
    return 0;
}

static int encode_word(const ll_tokenizer *t, const char *w, size_t n, bpe_work *wk, tok_ids *out) {
    if (t->ignore_merges) {
        int32_t id = tok_map_get(&t->pieces, w, n);
        if (id >= 0) return tok_ids_push(out, id);
    }
    if (n > wk->sym_cap) {
        tok_sym *s = ll_realloc(wk->sym, n * sizeof *s);
        if (!s) return -1;
        wk->sym = s;
        wk->sym_cap = n;
    }
    tok_sym *sym = wk->sym;
    int32_t ns = 0;
    for (size_t off = 0; off < n; ns++) {
        size_t l = tok_utf8_len((unsigned char)w[off]);
        if (l > n - off) l = n - off;
        sym[ns].prev = ns - 1;
        sym[ns].next = off + l == n ? -1 : ns + 1;
        sym[ns].start = off;
        sym[ns].n = l;
        off += l;
    }
    wk->heap.n = 0;
    for (int32_t i = 1; i < ns; i++)
        if (try_pair(t, w, sym, i - 1, i, &wk->heap)) return -1;
    while (wk->heap.n) {
        tok_bigram b = tok_heap_pop(&wk->heap);
        tok_sym *L = &sym[b.left], *R = &sym[b.right];
        if (!L->n || !R->n || L->n + R->n != b.size) continue;
        L->n += R->n;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0) sym[R->next].prev = b.left;
        if (try_pair(t, w, sym, L->prev, b.left, &wk->heap)) return -1;
        if (try_pair(t, w, sym, b.left, L->next, &wk->heap)) return -1;
    }
    for (int32_t i = 0; i != -1; i = sym[i].next) {
        int32_t id = tok_map_get(&t->pieces, w + sym[i].start, sym[i].n);
        if (id >= 0) {
            if (tok_ids_push(out, id)) return -1;
        } else if (fallback(t, w + sym[i].start, sym[i].n, out)) {
            return -1;
        }
    }
    return 0;
}

/* One code point at s[0..n) as llama.cpp's unicode_cpt_from_utf8 reads it: its length, or 0 if the bytes
 * start no sequence it accepts. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned char c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    size_t l = (c & 0x40) == 0 ? 0 : (c & 0x20) == 0 ? 2 : (c & 0x10) == 0 ? 3 : (c & 0x08) == 0 ? 4 : 0;
    if (!l || l > n) return 0;
    for (size_t i = 1; i < l; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    uint32_t v = l == 2 ? (c & 0x1Fu) : l == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t i = 1; i < l; i++) v = (v << 6) | (s[i] & 0x3Fu);
    if (v > 0x10FFFF) return 0;
    *cp = v;
    return l;
}

static size_t utf8_encode(uint32_t cp, unsigned char *o) {
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { o[0] = (unsigned char)(0xC0 | (cp >> 6)); o[1] = (unsigned char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* text[0..n) decoded and re-encoded as llama.cpp does (see the top of this file) into *norm, and the same
 * with surrogates as U+E000 into *subject (the regexes' input); both malloc'ed, of length *len. Returns 1
 * when the text was valid UTF-8 and is used as it is (nothing allocated), 0 when normalized, -1 on error. */
static int utf8_normalize(const char *text, size_t n, char **norm, char **subject, size_t *len) {
    const unsigned char *s = (const unsigned char *)text;
    bool clean = true;
    for (size_t i = 0; i < n && clean;) {
        uint32_t cp;
        size_t l = utf8_decode(s + i, n - i, &cp);
        clean = l > 0 && (l == 1 || cp >= (l == 2 ? 0x80u : l == 3 ? 0x800u : 0x10000u)) && (cp < 0xD800 || cp > 0xDFFF);
        i += l;
    }
    if (clean) return 1;
    unsigned char *a = ll_malloc(3 * n + 1), *b = ll_malloc(3 * n + 1);   /* a byte grows to at most 3 */
    if (!a || !b) { free(a); free(b); return -1; }
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = utf8_decode(s + i, n - i, &cp);
        if (!l) { cp = 0xFFFD; l = 1; }
        size_t k = utf8_encode(cp, a + w);
        if (cp >= 0xD800 && cp <= 0xDFFF) utf8_encode(0xE000, b + w);
        else memcpy(b + w, a + w, k);
        w += k;
        i += l;
    }
    *norm = (char *)a;
    *subject = (char *)b;
    *len = w;
    return 0;
}

int tok_bpe_encode(const ll_tokenizer *t, const char *text_in, size_t n_in, tok_ids *out) {
    if (!n_in) return 0;
    int rc = -1;
    chunks a = { 0 }, b = { 0 };
    bpe_work wk = { 0 };
    char *word = NULL, *norm = NULL, *subject = NULL;
    const char *text = text_in, *subj = text_in;
    size_t n = n_in;
    int u = utf8_normalize(text_in, n_in, &norm, &subject, &n);
    if (u < 0) return -1;
    if (u == 0) { text = norm; subj = subject; }
    if (!n) { rc = 0; goto done; }
    if (chunk_add(&a, 0, n)) goto done;
    for (int r = 0; r < t->n_regex; r++) {
        b.n = 0;
        if (split((const pcre2_code *)t->regex[r], subj, &a, &b)) goto done;
        chunks tmp = a;
        a = b;
        b = tmp;
    }
    size_t maxlen = 0;
    for (size_t i = 0; i < a.n; i++)
        if (a.v[i].len > maxlen) maxlen = a.v[i].len;
    if (!(word = ll_malloc(2 * maxlen))) goto done;
    for (size_t i = 0; i < a.n; i++) {
        const unsigned char *s = (const unsigned char *)text + a.v[i].off;
        size_t wn = 0;
        for (size_t j = 0; j < a.v[i].len; j++) {
            memcpy(word + wn, t->byte_enc[s[j]], t->byte_enc_len[s[j]]);
            wn += t->byte_enc_len[s[j]];
        }
        if (encode_word(t, word, wn, &wk, out)) goto done;
    }
    rc = 0;
done:
    free(a.v);
    free(b.v);
    free(wk.sym);
    free(wk.heap.v);
    free(word);
    free(norm);
    free(subject);
    return rc;
}

size_t tok_bpe_decode_piece(const ll_tokenizer *t, const char *piece, size_t len, char *out) {
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)piece[i];
        if (c < 0x80) {
            int b = t->byte_dec[c];
            out[w++] = b >= 0 ? (char)b : (char)c;
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0 && i + 1 < len && ((unsigned char)piece[i + 1] & 0xC0) == 0x80) {
            int cp = ((c & 0x1F) << 6) | ((unsigned char)piece[i + 1] & 0x3F);
            if (cp < 0x144 && t->byte_dec[cp] >= 0) {
                out[w++] = (char)t->byte_dec[cp];
                i += 2;
                continue;
            }
        }
        /* not a stand-in: keep the character's bytes */
        size_t l = tok_utf8_len(c);
        if (l > len - i) l = len - i;
        memcpy(out + w, piece + i, l);
        w += l;
        i += l;
    }
    return w;
}
