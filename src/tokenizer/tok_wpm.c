/* tok_wpm.c — WordPiece (BERT): the normaliser and pre-tokenizer of Hugging Face's BertTokenizer, then greedy
 * longest-match pieces per word.
 *
 * Normalisation, in the order of the `tokenizers` library's BertNormalizer (each step can be off in a
 * tokenizer.json; a GGUF vocabulary has them all, as llama.cpp does):
 *   1. clean: code points 0, U+FFFD and control characters (category C*, except \t \n \r) are dropped; white
 *      space (the Unicode White_Space property) becomes ' ';
 *   2. CJK ideographs (BERT's ranges) get a space on each side, so each is a word of its own;
 *   3. accents: canonical decomposition (NFD, utf8proc), then nonspacing marks (Mn) are dropped;
 *   4. lower case (utf8proc's simple case mapping).
 * Pre-tokenizer (BertPreTokenizer): words end at white space; punctuation (ASCII punctuation and every P*
 * code point) is a word of its own.
 * Pieces: in GGUF vocabularies (llama.cpp's conversion) a piece that starts a word carries U+2581 and a
 * continuation piece has no "##"; so each word is matched as U+2581 + word, longest piece first from the left.
 * A word of more than 100 code points, or with a position no piece matches, becomes the unknown token.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok_internal.h"
#include "util/err.h"

#define WPM_MAX_WORD_CHARS 100 /* BertTokenizer's max_input_chars_per_word */

/* the Unicode White_Space property */
static bool wpm_space(int32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static bool wpm_control(int32_t c) {
    if (c == '\t' || c == '\n' || c == '\r') return false;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CS ||
           k == UTF8PROC_CATEGORY_CO || k == UTF8PROC_CATEGORY_CN;
}

static bool wpm_punct(int32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

/* BERT's CJK ranges, as the tokenizers library has them (0x2B920, where the Python BertTokenizer says 0x2B820) */
static bool wpm_cjk(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* One code point of s[0..n) (n ≥ 1); *len its bytes. Invalid UTF-8 decodes to U+FFFD, one byte at a time. */
static int32_t wpm_decode(const unsigned char *s, size_t n, size_t *len) {
    utf8proc_int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate(s, (utf8proc_ssize_t)(n > 4 ? 4 : n), &c);
    if (k <= 0) {
        *len = 1;
        return 0xFFFD;
    }
    *len = (size_t)k;
    return c;
}

/* Appends the pieces of one word (code points w[0..n)) to out. */
static int wpm_word(const ll_tokenizer *t, const int32_t *w, size_t n, char *buf, tok_ids *out) {
    if (n > WPM_MAX_WORD_CHARS) return tok_ids_push(out, t->unk);
    size_t len = 3;
    memcpy(buf, "\xe2\x96\x81", 3);
    for (size_t i = 0; i < n; i++) len += (size_t)utf8proc_encode_char(w[i], (utf8proc_uint8_t *)buf + len);
    const size_t first = out->n;
    for (size_t i = 0; i < len;) {
        size_t j = len - i > t->max_piece ? i + t->max_piece : len;
        int32_t id = -1;
        for (; j > i; j--)
            if ((id = tok_map_get(&t->pieces, buf + i, j - i)) >= 0) break;
        if (id < 0) {   /* a position no piece matches: the whole word is unknown */
            out->n = first;
            return tok_ids_push(out, t->unk);
        }
        if (tok_ids_push(out, id)) return -1;
        i = j;
    }
    return 0;
}

int tok_wpm_encode(const ll_tokenizer *t, const char *text, size_t n, tok_ids *out) {
    if (t->unk < 0) return ll_fail("a WordPiece vocabulary needs an unknown token (tokenizer.ggml.unknown_token_id)");
    const unsigned char *s = (const unsigned char *)text;
    /* 1-2: clean, space out CJK, as UTF-8 for utf8proc */
    unsigned char *clean = ll_malloc(3 * n + 1);
    if (!clean) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t l;
        int32_t c = wpm_decode(s + i, n - i, &l);
        i += l;
        if (t->wpm_clean && (c == 0 || c == 0xFFFD || wpm_control(c))) continue;
        if (t->wpm_clean && wpm_space(c)) {
            clean[m++] = ' ';
        } else if (t->wpm_cjk && wpm_cjk(c)) {
            clean[m++] = ' ';
            m += (size_t)utf8proc_encode_char(c, clean + m);
            clean[m++] = ' ';
        } else {
            m += (size_t)utf8proc_encode_char(c, clean + m);
        }
    }
    /* 3: NFD (code points); a decomposition can only lengthen the text a few times over */
    int32_t *cp = NULL;
    utf8proc_ssize_t ncp = 0;
    if (m > 0) {
        utf8proc_ssize_t cap = (utf8proc_ssize_t)m + 16;
        for (;;) {
            int32_t *nb = ll_realloc(cp, (size_t)cap * sizeof *cp);
            if (!nb) { free(cp); free(clean); return -1; }
            cp = nb;
            ncp = utf8proc_decompose(clean, (utf8proc_ssize_t)m, cp, cap, t->wpm_strip_accents ? UTF8PROC_DECOMPOSE : 0);
            if (ncp < 0) {
                free(cp);
                free(clean);
                return ll_fail("WordPiece: Unicode decomposition failed: %s", utf8proc_errmsg(ncp));
            }
            if (ncp <= cap) break;
            cap = ncp;
        }
    }
    free(clean);
    /* 3-4 and the pre-tokenizer, one word at a time */
    int32_t *word = ll_malloc(((size_t)ncp + 1) * sizeof *word);
    char *buf = ll_malloc(4 * (size_t)ncp + 8);
    int rc = word && buf ? 0 : -1;
    size_t wn = 0;
    for (utf8proc_ssize_t i = 0; i <= ncp && !rc; i++) {
        int32_t c = i < ncp ? cp[i] : ' ';
        if (i < ncp && t->wpm_strip_accents && utf8proc_category(c) == UTF8PROC_CATEGORY_MN) continue;
        if (t->wpm_lower) c = utf8proc_tolower(c);
        bool space = wpm_space(c), punct = !space && wpm_punct(c);
        if (space || punct) {
            if (wn) rc = wpm_word(t, word, wn, buf, out);
            wn = 0;
            if (punct && !rc) rc = wpm_word(t, &c, 1, buf, out);
            continue;
        }
        word[wn++] = c;
    }
    free(word);
    free(buf);
    free(cp);
    return rc;
}
