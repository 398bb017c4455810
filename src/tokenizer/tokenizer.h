/* tokenizer.h — text <-> token ids, from GGUF metadata or a llama2.c tokenizer.bin.
 *
 * Kinds: SentencePiece-BPE (tokenizer.ggml.model = "llama": merges by piece score, byte fallback
 * <0xXX>, dummy-prefix space, spaces as U+2581) and byte-level BPE ("gpt2": GPT-2 byte<->unicode map,
 * ranked merges, a pre-tokenizer regex chosen by tokenizer.ggml.pre). Special (control / user-defined)
 * tokens written in the text are recognised when parse_special is set. Results reproduce llama.cpp's
 * tokenizer test vectors exactly.
 */
#ifndef LL_TOKENIZER_H
#define LL_TOKENIZER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ll_gguf;

enum ll_tok_kind { LL_TOK_SPM = 1, LL_TOK_BPE = 2, LL_TOK_WPM = 3 };

/* token types as in GGUF tokenizer.ggml.token_type */
enum ll_tok_type {
    LL_TOKTYPE_UNDEFINED = 0, LL_TOKTYPE_NORMAL = 1, LL_TOKTYPE_UNKNOWN = 2, LL_TOKTYPE_CONTROL = 3,
    LL_TOKTYPE_USER_DEFINED = 4, LL_TOKTYPE_UNUSED = 5, LL_TOKTYPE_BYTE = 6
};

typedef struct ll_tokenizer ll_tokenizer;

/* From GGUF metadata (tokenizer.ggml.*). Works on vocabulary-only files. An unsupported model or
 * pre-tokenizer is an error naming it. */
ll_tokenizer *ll_tokenizer_from_gguf(const struct ll_gguf *g);
/* From a llama2.c tokenizer.bin with n_vocab pieces (types derived as llama.cpp's converter does:
 * 0 unknown, 1-2 control, <0xXX> byte, others normal). */
ll_tokenizer *ll_tokenizer_from_llama2c(const char *path, int32_t n_vocab);
/* From a Hugging Face tokenizer.json: WordPiece models with BertNormalizer (its switches honoured) and
 * BertPreTokenizer; special tokens from added_tokens ([UNK] required, [CLS] / [SEP] as BOS / EOS). Pieces are
 * held in the GGUF form (U+2581 before a word-initial piece, no "##"), so ids equal a GGUF conversion's. */
ll_tokenizer *ll_tokenizer_from_hf_json(const char *path);
void ll_tokenizer_free(ll_tokenizer *t);

int ll_tok_kind(const ll_tokenizer *t);
int32_t ll_tok_n_vocab(const ll_tokenizer *t);
int32_t ll_tok_bos(const ll_tokenizer *t);          /* -1 if none */
int32_t ll_tok_eos(const ll_tokenizer *t);          /* -1 if none */
int32_t ll_tok_eot(const ll_tokenizer *t);          /* end-of-turn (e.g. <|im_end|>), -1 if none */
/* The BOS rule: tokenizer.ggml.add_bos_token if present, else true for SPM and false for BPE. */
bool ll_tok_default_bos(const ll_tokenizer *t);
bool ll_tok_is_eog(const ll_tokenizer *t, int32_t id);   /* EOS, EOT, or another end-of-generation id */
int32_t ll_tok_find(const ll_tokenizer *t, const char *piece);  /* exact piece lookup, -1 if absent */
const char *ll_tok_chat_template(const ll_tokenizer *t); /* tokenizer.chat_template or NULL */

/* The raw vocabulary (for writers): piece bytes, score, type. */
const char *ll_tok_piece(const ll_tokenizer *t, int32_t id, size_t *len);
float ll_tok_score(const ll_tokenizer *t, int32_t id);
int ll_tok_type(const ll_tokenizer *t, int32_t id);

/* Encodes text[0..len). add_bos prepends BOS (WordPiece: [CLS] before and [SEP] after, as BERT reads a sequence). parse_special: special tokens written in the text are
 * matched. On success *ids is malloc'ed (caller frees) and *n set; returns 0, or -1 with error set.
 * (As in llama.cpp: CONTROL and UNKNOWN pieces are matched only with parse_special; USER_DEFINED pieces
 * always are. SPM adds its dummy-prefix space to the text at the start and after each special token.) */
int ll_tokenize(const ll_tokenizer *t, const char *text, size_t len, bool add_bos, bool parse_special,
                int32_t **ids, size_t *n);
/* Decodes ids into a malloc'ed NUL-terminated string (length in *len if non-NULL). Control tokens
 * (BOS/EOS) produce no text unless render_special; the SPM dummy-prefix space of the first piece is
 * removed, as llama.cpp's detokenizer does (also when that piece follows a leading BOS that prints
 * nothing, so that detokenize(tokenize(s)) == s with or without BOS). NULL on error (an id out of range). */
char *ll_detokenize(const ll_tokenizer *t, const int32_t *ids, size_t n, bool render_special, size_t *len);
/* The text of one token as streamed output shows it, given the previous token (llama2.c run.c rule:
 * after BOS a leading space is dropped (SPM); <0xXX> pieces become the raw byte; control tokens give
 * nothing). Writes into buf (size
 * bufsize, NUL-terminated) and returns the byte count, or -1 on error. */
int ll_token_to_text(const ll_tokenizer *t, int32_t prev, int32_t id, char *buf, size_t bufsize);

#endif
