/* tok_internal.h — the tokenizer's private state, shared by the files of src/tokenizer/ only.
 *
 * tokenizer.c  loading (GGUF, llama2.c), accessors, special-token partitioning, tokenize/detokenize
 * tok_spm.c    SentencePiece-BPE encoding (merge by piece score, byte fallback)
 * tok_bpe.c    byte-level BPE: GPT-2 byte<->unicode map, pre-tokenizer regexes (PCRE2), ranked merges
 * tok_wpm.c    WordPiece (BERT): BertTokenizer's normaliser (utf8proc) and pre-tokenizer, longest-match pieces
 * tok_map.c    a byte-string -> int32 hash map (pieces, merge pairs)
 */
#ifndef LL_TOK_INTERNAL_H
#define LL_TOK_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer.h"

/* ---- tok_map: open addressing, linear probing; keys are copied into the map ---- */
typedef struct {
    uint64_t *hash;   /* per slot; 0 = empty (stored hashes are never 0) */
    size_t *koff;     /* key offset in keys */
    uint32_t *klen;
    int32_t *val;
    size_t cap;       /* power of two, or 0 before the first insert */
    size_t count;
    char *keys;
    size_t keys_len, keys_cap;
} tok_map;

void tok_map_free(tok_map *m);
/* Inserts key -> val. Returns 1 if inserted, 0 if the key was already present (its value is left as it
 * was and stored in *old if old is non-NULL), -1 on allocation failure (error set). */
int tok_map_put(tok_map *m, const void *key, size_t n, int32_t val, int32_t *old);
/* The value for key, or -1. */
int32_t tok_map_get(const tok_map *m, const void *key, size_t n);
/* Pairs (for merges): the key is the pair (a, b), distinct from any other split of the same bytes. */
int tok_map_put_pair(tok_map *m, const void *a, size_t an, const void *b, size_t bn, int32_t val, int32_t *old);
int32_t tok_map_get_pair(const tok_map *m, const void *a, size_t an, const void *b, size_t bn);

/* ---- growable id list ---- */
typedef struct { int32_t *v; size_t n, cap; } tok_ids;
int tok_ids_push(tok_ids *o, int32_t id);

/* ---- pre-tokenizers of byte-level BPE (tokenizer.ggml.pre) ---- */
enum tok_pre { TOK_PRE_NONE = 0, TOK_PRE_GPT2, TOK_PRE_STARCODER, TOK_PRE_LLAMA3 };
#define TOK_MAX_REGEX 2

struct ll_tokenizer {
    int kind;                     /* LL_TOK_SPM, LL_TOK_BPE or LL_TOK_WPM */
    int32_t n_vocab;

    /* the vocabulary as given (what ll_tok_piece returns): piece i is text[off[i] .. off[i]+len[i]) */
    char *text;
    size_t *off;
    uint32_t *len;
    float *score;
    uint8_t *type;                /* enum ll_tok_type as read */
    uint8_t *ctrl;                /* 1: behaves as a control token (type CONTROL, or an end-of-generation
                                     piece promoted to control as llama.cpp does) */
    tok_map pieces;               /* piece bytes -> id (empty pieces are not in it) */
    size_t max_piece;             /* the longest piece, bytes */

    int32_t bos, eos, eot, unk;   /* -1 if none */
    int32_t *eog;                 /* end-of-generation ids (EOS, EOT, and pieces like <|im_end|>) */
    size_t n_eog;
    bool has_add_bos, add_bos;    /* tokenizer.ggml.add_bos_token */
    char *chat_template;

    /* special tokens for partitioning: CONTROL, USER_DEFINED and UNKNOWN pieces, longest first */
    int32_t *special;
    size_t n_special;

    /* SPM */
    bool add_space_prefix;        /* dummy-prefix space before text that starts the input or follows a
                                     special token */
    bool llama2c;                 /* llama2.c vocabulary: encode as run.c does (code points split run.c's
                                     way, text matched against the pieces as the file has them, with
                                     plain spaces: raw_pieces; a U+2581 in the text stays U+2581) */
    tok_map raw_pieces;           /* llama2.c: the file's piece bytes -> id */
    int32_t byte_tok[256];        /* byte fallback ids, -1 if the vocabulary has none for that byte */

    /* WordPiece: BertNormalizer's switches (a GGUF vocabulary: all on, as llama.cpp's tokenizer does) */
    bool wpm_clean, wpm_cjk, wpm_strip_accents, wpm_lower;

    /* BPE */
    tok_map merges;               /* (left, right) -> rank */
    int pre;                      /* enum tok_pre */
    bool ignore_merges;           /* a pre-tokenized word that is itself a piece is emitted whole */
    int n_regex;
    void *regex[TOK_MAX_REGEX];   /* pcre2_code_8 * */
    char byte_enc[256][3];        /* GPT-2 map: byte -> UTF-8 of its stand-in code point (NUL-padded) */
    uint8_t byte_enc_len[256];
    int16_t byte_dec[0x144];      /* stand-in code point -> byte, -1 if not a stand-in */
};

/* tok_spm.c: encodes one text fragment (dummy prefix already added; spaces already escaped to U+2581
 * unless llama2c). */
int tok_spm_encode(const ll_tokenizer *t, const char *text, size_t n, tok_ids *out);

/* tok_wpm.c: encodes one raw text fragment (no special tokens in it). */
int tok_wpm_encode(const ll_tokenizer *t, const char *text, size_t n, tok_ids *out);

/* tok_bpe.c */
void tok_bpe_init_bytemap(ll_tokenizer *t);
/* Selects and compiles the pre-tokenizer for tokenizer.ggml.pre (NULL = absent). */
int tok_bpe_init_pre(ll_tokenizer *t, const char *pre, size_t pre_len);
void tok_bpe_free_pre(ll_tokenizer *t);
/* Encodes one raw text fragment (no special tokens in it). */
int tok_bpe_encode(const ll_tokenizer *t, const char *text, size_t n, tok_ids *out);
/* Appends the bytes a BPE piece stands for (stand-in code points -> bytes; other code points are kept as
 * their UTF-8). Returns the number of bytes written to out (out needs room for len bytes). */
size_t tok_bpe_decode_piece(const ll_tokenizer *t, const char *piece, size_t len, char *out);

/* UTF-8 sequence length from its first byte, as llama.cpp's unicode_len_utf8 (1 for stray continuation
 * bytes, 4 for 0xF0..0xFF). */
static inline size_t tok_utf8_len(unsigned char c) {
    static const uint8_t lookup[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
    return lookup[c >> 4];
}

/* ---- the merge work queue shared by SPM and BPE: a binary min-heap on (pri, left) ---- */
typedef struct {
    double pri;        /* SPM: -score of the merged piece; BPE: merge rank */
    int32_t left, right;
    size_t size;       /* byte length of the merged text when queued (stale entries are skipped) */
} tok_bigram;

typedef struct { tok_bigram *v; size_t n, cap; } tok_heap;
int tok_heap_push(tok_heap *h, tok_bigram b);
tok_bigram tok_heap_pop(tok_heap *h);

/* The symbols being merged: a doubly linked list over the text, in text order. */
typedef struct {
    int32_t prev, next;
    size_t start, n;   /* bytes [start, start+n) of the encoded text; n == 0 once merged away */
} tok_sym;

#endif
