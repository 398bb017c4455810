/* tokenizer.c — loading a vocabulary (GGUF tokenizer.ggml.* or a llama2.c tokenizer.bin), the special-
 * token partitioning that runs before either algorithm, and decoding.
 *
 * Behaviour follows llama.cpp's llama-vocab.cpp (the reference for the test vectors):
 * - tokenize: the text is first cut at special tokens written in it (longest special piece first, every
 *   occurrence, left to right). CONTROL and UNKNOWN pieces are cut only when parse_special is set;
 *   USER_DEFINED pieces always are (as Hugging Face's added tokens and llama.cpp do). The text between
 *   them is encoded by the SPM or BPE algorithm. SPM adds its dummy-prefix space to the first text
 *   fragment and to every fragment that follows a special token.
 * - end of turn: tokenizer.ggml.eot_token_id, else the first of a list of known pieces (<|eot_id|>,
 *   <|im_end|>, ...). Those pieces and other end-of-generation pieces are treated as control tokens even
 *   if the file says otherwise (llama.cpp does the same); ll_tok_type still reports the file's type.
 * - detokenize is the exact inverse of tokenize where the vocabulary allows it: llama.cpp's
 *   clean_up_tokenization_spaces pass for BPE (which drops spaces before punctuation) is not applied.
 *
 * The vocabulary is untrusted: array lengths, ids, piece formats and merges are all checked, and every
 * problem is reported through ll_fail naming the key and index.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/files.h"
#include "io/gguf.h"
#include "tok_internal.h"
#include "tokenizer.h"
#include "util/err.h"

static const char SPACE_ESC[] = "\xe2\x96\x81";   /* U+2581, SentencePiece's visible space */

/* ---------------------------------------------------------------- construction ---------------------- */

static ll_tokenizer *tok_new(int kind) {
    ll_tokenizer *t = ll_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->kind = kind;
    t->bos = t->eos = t->eot = t->unk = -1;
    for (int i = 0; i < 256; i++) t->byte_tok[i] = -1;
    return t;
}

void ll_tokenizer_free(ll_tokenizer *t) {
    if (!t) return;
    free(t->text);
    free(t->off);
    free(t->len);
    free(t->score);
    free(t->type);
    free(t->ctrl);
    tok_map_free(&t->pieces);
    tok_map_free(&t->raw_pieces);
    tok_map_free(&t->merges);
    free(t->eog);
    free(t->special);
    free(t->chat_template);
    tok_bpe_free_pre(t);
    free(t);
}

/* Allocates the per-piece arrays for n pieces holding text_bytes bytes in total (plus a NUL each). */
static int alloc_vocab(ll_tokenizer *t, size_t n, size_t text_bytes) {
    t->n_vocab = (int32_t)n;
    t->text = ll_malloc(text_bytes + n);
    t->off = ll_malloc(n * sizeof *t->off);
    t->len = ll_malloc(n * sizeof *t->len);
    t->score = ll_calloc(n, sizeof *t->score);
    t->type = ll_malloc(n);
    t->ctrl = ll_calloc(n, 1);
    if (!t->text || !t->off || !t->len || !t->score || !t->type || !t->ctrl) return -1;
    memset(t->type, LL_TOKTYPE_NORMAL, n);
    return 0;
}

static const char *piece(const ll_tokenizer *t, int32_t id) { return t->text + t->off[id]; }

/* "<0xHH>" (either case of hex digit): the byte value, else -1. */
static int byte_piece_value(const char *p, size_t n) {
    if (n != 6 || memcmp(p, "<0x", 3) || p[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* A short printable rendering of a piece for error messages. */
static const char *show(const char *p, size_t n, char buf[64]) {
    size_t w = 0, i = 0;
    for (; i < n && w < 52; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c != 0x7F) buf[w++] = (char)c;
        else w += (size_t)snprintf(buf + w, 64 - w, "\\x%02X", c);
    }
    if (i < n) buf[w++] = '.', buf[w++] = '.', buf[w++] = '.';
    buf[w] = 0;
    return buf;
}

/* The piece map, byte-piece check, byte fallback table. Pieces, types must be set. */
static int index_pieces(ll_tokenizer *t, const char *what) {
    char sb[64];
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (t->type[i] == LL_TOKTYPE_BYTE && byte_piece_value(piece(t, i), t->len[i]) < 0)
            return ll_fail("%s: token %d has type BYTE but its piece '%s' is not of the form <0xHH>", what, i,
                           show(piece(t, i), t->len[i], sb));
        if (!t->len[i]) continue;   /* empty pieces can never be matched (llama.cpp renames them) */
        if (t->len[i] > t->max_piece) t->max_piece = t->len[i];
        int32_t old;
        int r = tok_map_put(&t->pieces, piece(t, i), t->len[i], i, &old);
        if (r < 0) return -1;
        if (r == 0)
            return ll_fail("%s: duplicate piece '%s' (tokens %d and %d)", what, show(piece(t, i), t->len[i], sb),
                           old, i);
    }
    if (t->kind == LL_TOK_SPM) {
        /* llama.cpp's byte_to_token: the piece <0xHH>, else the one-byte piece */
        for (int b = 0; b < 256; b++) {
            char hex[7];
            snprintf(hex, sizeof hex, "<0x%02X>", b);
            int32_t id = tok_map_get(&t->pieces, hex, 6);
            if (id < 0) {
                char c = (char)b;
                id = tok_map_get(&t->pieces, &c, 1);
            }
            t->byte_tok[b] = id;
        }
    }
    return 0;
}

static const char *const EOT_PIECES[] = {
    /* end of a chat turn first, then end of text */
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<EOT>", "_<EOT>", "<end_of_utterance>",
    "<|endoftext|>", "<|end_of_text|>", "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>",
};

/* llama.cpp's end-of-generation pieces (including the FIM pad / repo / file-separator pieces it adds) */
static const char *const EOG_PIECES[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
    "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
    "<reponame>", "<|file_sep|>",
};

static int add_eog(ll_tokenizer *t, int32_t id) {
    if (id < 0) return 0;
    for (size_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return 0;
    int32_t *v = ll_realloc(t->eog, (t->n_eog + 1) * sizeof *v);
    if (!v) return -1;
    t->eog = v;
    t->eog[t->n_eog++] = id;
    return 0;
}

typedef struct { uint32_t len; int32_t id; } len_id;

static int by_len_desc(const void *a, const void *b) {
    const len_id *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* End of turn / generation, control promotion, and the special-token list. bos/eos/eot set from keys. */
static int finish_special(ll_tokenizer *t, bool eot_given) {
    if (!eot_given) {
        for (size_t k = 0; k < sizeof EOT_PIECES / sizeof *EOT_PIECES && t->eot < 0; k++) {
            int32_t id = tok_map_get(&t->pieces, EOT_PIECES[k], strlen(EOT_PIECES[k]));
            if (id >= 0) {
                t->eot = id;
                t->ctrl[id] = 1;
            }
        }
    }
    for (size_t k = 0; k < sizeof EOG_PIECES / sizeof *EOG_PIECES; k++) {
        int32_t id = tok_map_get(&t->pieces, EOG_PIECES[k], strlen(EOG_PIECES[k]));
        if (id >= 0) {
            t->ctrl[id] = 1;
            if (add_eog(t, id)) return -1;
        }
    }
    if (add_eog(t, t->eos) || add_eog(t, t->eot)) return -1;

    size_t n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->len[i] && (t->ctrl[i] || t->type[i] == LL_TOKTYPE_USER_DEFINED || t->type[i] == LL_TOKTYPE_UNKNOWN)) n++;
    len_id *li = ll_malloc((n ? n : 1) * sizeof *li);
    t->special = ll_malloc((n ? n : 1) * sizeof *t->special);
    if (!li || !t->special) {
        free(li);
        return -1;
    }
    n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->len[i] && (t->ctrl[i] || t->type[i] == LL_TOKTYPE_USER_DEFINED || t->type[i] == LL_TOKTYPE_UNKNOWN))
            li[n++] = (len_id){ t->len[i], i };
    qsort(li, n, sizeof *li, by_len_desc);
    for (size_t i = 0; i < n; i++) t->special[i] = li[i].id;
    t->n_special = n;
    free(li);
    return 0;
}

/* ---------------------------------------------------------------- GGUF ------------------------------ */

/* An array under key with elements of type want. 1 found, 0 absent (error if required), -1 error. */
static int get_array(const ll_gguf *g, const char *key, uint32_t want, bool required, const void **data,
                     uint64_t *n) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    if (!kv) return required ? ll_fail("%s is missing", key) : 0;
    if (kv->val.type != LL_GGUF_ARRAY)
        return ll_fail("%s is a %s, expected an array of %s", key, ll_gguf_vtype_name(kv->val.type),
                       ll_gguf_vtype_name(want));
    if (kv->val.v.arr.type != want)
        return ll_fail("%s is an array of %s, expected an array of %s", key, ll_gguf_vtype_name(kv->val.v.arr.type),
                       ll_gguf_vtype_name(want));
    *data = kv->val.v.arr.data;
    *n = kv->val.v.arr.n;
    return 1;
}

/* A token id under key: 1 set, 0 absent (out untouched), -1 error. -1 and 0xFFFFFFFF mean "none". */
static int get_id(const ll_gguf *g, const char *key, int32_t n_vocab, int32_t *out) {
    int64_t v;
    int r = ll_gguf_get_i64(g, key, &v);
    if (r <= 0) return r;
    if (v == -1 || v == (int64_t)UINT32_MAX) {
        *out = -1;
        return 1;
    }
    if (v < 0 || v >= n_vocab)
        return ll_fail("%s = %lld is not a token id (vocabulary of %d)", key, (long long)v, n_vocab);
    *out = (int32_t)v;
    return 1;
}

ll_tokenizer *ll_tokenizer_from_gguf(const struct ll_gguf *g) {
    if (!g) {
        ll_fail("ll_tokenizer_from_gguf: no file");
        return NULL;
    }
    ll_str model;
    int r = ll_gguf_get_str(g, "tokenizer.ggml.model", &model);
    if (r < 0) return NULL;
    if (r == 0) {
        ll_fail("tokenizer.ggml.model is missing (the file has no vocabulary)");
        return NULL;
    }
    int kind;
    if (model.n == 5 && !memcmp(model.s, "llama", 5)) kind = LL_TOK_SPM;
    else if (model.n == 4 && !memcmp(model.s, "gpt2", 4)) kind = LL_TOK_BPE;
    else if (model.n == 4 && !memcmp(model.s, "bert", 4)) kind = LL_TOK_WPM;
    else {
        ll_fail("tokenizer.ggml.model = '%.*s' is not supported (supported: llama, gpt2, bert)",
                (int)(model.n > 64 ? 64 : model.n), model.s);
        return NULL;
    }
    ll_tokenizer *t = tok_new(kind);
    if (!t) return NULL;

    /* pieces */
    const ll_str *toks;
    uint64_t n;
    if (get_array(g, "tokenizer.ggml.tokens", LL_GGUF_STRING, true, (const void **)&toks, &n) < 0) goto fail;
    if (n == 0 || n > INT32_MAX) {
        ll_fail("tokenizer.ggml.tokens has %llu pieces (expected 1..%d)", (unsigned long long)n, INT32_MAX);
        goto fail;
    }
    size_t bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (toks[i].n > UINT32_MAX || bytes + toks[i].n < bytes) {
            ll_fail("tokenizer.ggml.tokens[%llu] is too long", (unsigned long long)i);
            goto fail;
        }
        bytes += toks[i].n;
    }
    if (alloc_vocab(t, n, bytes)) goto fail;
    size_t at = 0;
    for (uint64_t i = 0; i < n; i++) {
        t->off[i] = at;
        t->len[i] = (uint32_t)toks[i].n;
        if (toks[i].n) memcpy(t->text + at, toks[i].s, toks[i].n);
        at += toks[i].n;
        t->text[at++] = 0;
    }

    /* scores: float32 (or int32, as llama.cpp accepts); required for SentencePiece */
    {
        const ll_gguf_kv *kv = ll_gguf_find(g, "tokenizer.ggml.scores");
        if (kv) {
            if (kv->val.type != LL_GGUF_ARRAY ||
                (kv->val.v.arr.type != LL_GGUF_FLOAT32 && kv->val.v.arr.type != LL_GGUF_INT32)) {
                ll_fail("tokenizer.ggml.scores must be an array of float32, not %s%s",
                        kv->val.type == LL_GGUF_ARRAY ? "an array of " : "a ",
                        ll_gguf_vtype_name(kv->val.type == LL_GGUF_ARRAY ? kv->val.v.arr.type : kv->val.type));
                goto fail;
            }
            if (kv->val.v.arr.n != n) {
                ll_fail("tokenizer.ggml.scores has %llu entries but there are %llu pieces",
                        (unsigned long long)kv->val.v.arr.n, (unsigned long long)n);
                goto fail;
            }
            for (uint64_t i = 0; i < n; i++) {
                if (kv->val.v.arr.type == LL_GGUF_FLOAT32) {
                    memcpy(&t->score[i], (const char *)kv->val.v.arr.data + 4 * i, 4);
                } else {
                    int32_t v;
                    memcpy(&v, (const char *)kv->val.v.arr.data + 4 * i, 4);
                    t->score[i] = (float)v;
                }
            }
        } else if (kind == LL_TOK_SPM) {
            ll_fail("tokenizer.ggml.scores is missing (a SentencePiece vocabulary merges by piece score)");
            goto fail;
        }
    }

    /* token types */
    {
        const void *data;
        uint64_t nt;
        r = get_array(g, "tokenizer.ggml.token_type", LL_GGUF_INT32, false, &data, &nt);
        if (r < 0) goto fail;
        if (r > 0) {
            if (nt != n) {
                ll_fail("tokenizer.ggml.token_type has %llu entries but there are %llu pieces", (unsigned long long)nt,
                        (unsigned long long)n);
                goto fail;
            }
            for (uint64_t i = 0; i < n; i++) {
                int32_t v;
                memcpy(&v, (const char *)data + 4 * i, 4);
                if (v < LL_TOKTYPE_UNDEFINED || v > LL_TOKTYPE_BYTE) {
                    ll_fail("tokenizer.ggml.token_type[%llu] = %d is not a token type (0..6)",
                            (unsigned long long)i, v);
                    goto fail;
                }
                t->type[i] = (uint8_t)v;
                t->ctrl[i] = v == LL_TOKTYPE_CONTROL;
            }
        }
    }
    if (index_pieces(t, "tokenizer.ggml.tokens")) goto fail;

    /* special ids and flags */
    if (kind == LL_TOK_SPM) {
        /* llama.cpp's defaults for SentencePiece vocabularies */
        if (n > 1) t->bos = 1;
        if (n > 2) t->eos = 2;
        t->unk = 0;
    }
    bool eot_given = false;
    {
        int32_t eom = -1;
        if (get_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos) < 0) goto fail;
        if (get_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos) < 0) goto fail;
        if (get_id(g, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk) < 0) goto fail;
        if (kind == LL_TOK_WPM) {   /* BERT: [CLS] opens and [SEP] closes a sequence (llama.cpp's key names) */
            if (t->bos < 0 && get_id(g, "tokenizer.ggml.cls_token_id", t->n_vocab, &t->bos) < 0) goto fail;
            if (t->eos < 0 && get_id(g, "tokenizer.ggml.seperator_token_id", t->n_vocab, &t->eos) < 0) goto fail;
        }
        if ((r = get_id(g, "tokenizer.ggml.eot_token_id", t->n_vocab, &t->eot)) < 0) goto fail;
        eot_given = r > 0;
        if (get_id(g, "tokenizer.ggml.eom_token_id", t->n_vocab, &eom) < 0 || add_eog(t, eom)) goto fail;
    }
    t->wpm_clean = t->wpm_cjk = t->wpm_strip_accents = t->wpm_lower = true;
    if ((r = ll_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &t->add_bos)) < 0) goto fail;
    t->has_add_bos = r > 0;
    t->add_space_prefix = kind == LL_TOK_SPM;
    if (kind == LL_TOK_SPM && ll_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix) < 0)
        goto fail;
    {
        ll_str tmpl;
        if ((r = ll_gguf_get_str(g, "tokenizer.chat_template", &tmpl)) < 0) goto fail;
        if (r > 0 && !(t->chat_template = ll_strndup(tmpl.s, tmpl.n))) goto fail;
    }
    if (finish_special(t, eot_given)) goto fail;

    if (kind == LL_TOK_BPE) {
        const ll_str *merges;
        uint64_t nm;
        if (get_array(g, "tokenizer.ggml.merges", LL_GGUF_STRING, true, (const void **)&merges, &nm) < 0) goto fail;
        if (nm > INT32_MAX) {
            ll_fail("tokenizer.ggml.merges has %llu entries (at most %d)", (unsigned long long)nm, INT32_MAX);
            goto fail;
        }
        for (uint64_t i = 0; i < nm; i++) {
            /* "left right": split at the first space after the first byte, as llama.cpp does */
            const char *s = merges[i].s;
            const char *sp = merges[i].n > 1 ? memchr(s + 1, ' ', merges[i].n - 1) : NULL;
            if (!sp) {
                char sb[64];
                ll_fail("tokenizer.ggml.merges[%llu] = '%s' is not two pieces separated by a space",
                        (unsigned long long)i, show(s, merges[i].n, sb));
                goto fail;
            }
            size_t ln = (size_t)(sp - s);
            if (tok_map_put_pair(&t->merges, s, ln, sp + 1, merges[i].n - ln - 1, (int32_t)i, NULL) < 0) goto fail;
        }
        ll_str pre;
        if ((r = ll_gguf_get_str(g, "tokenizer.ggml.pre", &pre)) < 0) goto fail;
        if (tok_bpe_init_pre(t, r > 0 ? pre.s : NULL, r > 0 ? pre.n : 0)) goto fail;
        tok_bpe_init_bytemap(t);
    }
    return t;
fail:
    ll_tokenizer_free(t);
    return NULL;
}

/* ---------------------------------------------------------------- tokenizer.json -------------------- */

/* a boolean member: *out, or def when absent or null; -1 (error set) when of another type */
static int json_flag(const cJSON *o, const char *key, bool def, bool *out, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) { *out = def; return 0; }
    if (!cJSON_IsBool(v)) return ll_fail("%s: normalizer.%s must be true, false or null", path, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

ll_tokenizer *ll_tokenizer_from_hf_json(const char *path) {
    size_t len;
    char *js = ll_read_file(path, "tokenizer", &len);
    if (!js) return NULL;
    cJSON *root = cJSON_ParseWithLength(js, len);
    free(js);
    ll_tokenizer *t = NULL;
    if (!root) {
        ll_fail("%s: not valid JSON", path);
        return NULL;
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    if (!cJSON_IsString(type)) {
        ll_fail("%s: model.type is missing (not a Hugging Face tokenizer.json?)", path);
        goto fail;
    }
    if (strcmp(type->valuestring, "WordPiece")) {
        ll_fail("%s: model.type '%.64s' is not supported from tokenizer.json (supported: WordPiece)", path,
                type->valuestring);
        goto fail;
    }
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
    const char *cont = cJSON_IsString(prefix) ? prefix->valuestring : "##";
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(model, "max_input_chars_per_word");
    if (mx && (!cJSON_IsNumber(mx) || mx->valuedouble != 100)) {
        ll_fail("%s: model.max_input_chars_per_word must be 100 (BERT's), got another value", path);
        goto fail;
    }
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!cJSON_IsObject(vocab) || !vocab->child) {
        ll_fail("%s: model.vocab must be a non-empty object of piece -> id", path);
        goto fail;
    }
    /* ids: every one of 0..n-1 exactly once */
    int64_t n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= INT32_MAX || e->valuedouble != (int32_t)e->valuedouble) {
            ll_fail("%s: model.vocab['%.64s'] is not a token id", path, e->string);
            goto fail;
        }
        if ((int64_t)e->valueint + 1 > n) n = (int64_t)e->valueint + 1;
    }
    if (n != cJSON_GetArraySize(vocab)) {
        ll_fail("%s: model.vocab has %d pieces but ids up to %lld (ids must be 0..n-1, each once)", path,
                cJSON_GetArraySize(vocab), (long long)n - 1);
        goto fail;
    }
    if (!(t = tok_new(LL_TOK_WPM))) goto fail;
    const size_t cl = strlen(cont);
    char **txt = ll_calloc((size_t)n, sizeof *txt);
    size_t bytes = 0;
    bool ok = txt != NULL;
    cJSON_ArrayForEach(e, vocab) {
        if (!ok) break;
        int32_t id = e->valueint;
        if (txt[id]) {
            ll_fail("%s: id %d is given to two pieces of model.vocab", path, id);
            ok = false;
            break;
        }
        const char *k = e->string;
        size_t kl = strlen(k);
        /* the GGUF form: a continuation piece without its prefix, a word-initial one after U+2581 */
        bool is_cont = kl >= cl && cl > 0 && !memcmp(k, cont, cl);
        txt[id] = ll_malloc(kl + 4);
        if (!txt[id]) { ok = false; break; }
        if (is_cont) memcpy(txt[id], k + cl, kl - cl + 1);
        else memcpy(txt[id], SPACE_ESC, 3), memcpy(txt[id] + 3, k, kl + 1);
        bytes += strlen(txt[id]);
    }
    if (ok) {   /* special tokens keep their text and are control (the unknown token: unknown) */
        const cJSON *a;
        cJSON_ArrayForEach(a, added) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id"), *c = cJSON_GetObjectItemCaseSensitive(a, "content");
            if (!cJSON_IsNumber(id) || id->valueint < 0 || id->valueint >= n || !cJSON_IsString(c)) {
                ll_fail("%s: an added_tokens entry has no id in 0..%lld or no content", path, (long long)n - 1);
                ok = false;
                break;
            }
            char *d = ll_strndup(c->valuestring, strlen(c->valuestring));
            if (!d) { ok = false; break; }
            bytes -= strlen(txt[id->valueint]);
            free(txt[id->valueint]);
            txt[id->valueint] = d;
            bytes += strlen(d);
        }
    }
    if (ok && alloc_vocab(t, (size_t)n, bytes)) ok = false;
    if (ok) {
        size_t at = 0;
        for (int64_t i = 0; i < n; i++) {
            size_t l = strlen(txt[i]);
            t->off[i] = at;
            t->len[i] = (uint32_t)l;
            memcpy(t->text + at, txt[i], l + 1);
            at += l + 1;
        }
        const cJSON *a;
        cJSON_ArrayForEach(a, added) {
            int32_t id = cJSON_GetObjectItemCaseSensitive(a, "id")->valueint;
            t->type[id] = LL_TOKTYPE_CONTROL;
            t->ctrl[id] = 1;
        }
    }
    for (int64_t i = 0; txt && i < n; i++) free(txt[i]);
    free(txt);
    if (!ok || index_pieces(t, "model.vocab")) goto fail;
    /* unknown, [CLS], [SEP] */
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    const char *names[3] = {cJSON_IsString(unk) ? unk->valuestring : "[UNK]", "[CLS]", "[SEP]"};
    int32_t *ids[3] = {&t->unk, &t->bos, &t->eos};
    for (int k = 0; k < 3; k++) {   /* added tokens keep their text, so the piece map finds them */
        int32_t id = tok_map_get(&t->pieces, names[k], strlen(names[k]));
        if (id >= 0 && t->ctrl[id]) *ids[k] = id;
    }
    if (t->unk < 0) {
        ll_fail("%s: the unknown token '%.64s' is not among added_tokens", path, names[0]);
        goto fail;
    }
    t->type[t->unk] = LL_TOKTYPE_UNKNOWN;
    t->ctrl[t->unk] = 0;
    /* the normaliser: BertNormalizer, or none */
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (norm && !cJSON_IsNull(norm)) {
        const cJSON *nt = cJSON_GetObjectItemCaseSensitive(norm, "type");
        if (!cJSON_IsString(nt) || strcmp(nt->valuestring, "BertNormalizer")) {
            ll_fail("%s: normalizer '%.64s' is not supported with WordPiece (supported: BertNormalizer)", path,
                    cJSON_IsString(nt) ? nt->valuestring : "?");
            goto fail;
        }
        if (json_flag(norm, "clean_text", true, &t->wpm_clean, path) ||
            json_flag(norm, "handle_chinese_chars", true, &t->wpm_cjk, path) ||
            json_flag(norm, "lowercase", true, &t->wpm_lower, path) ||
            json_flag(norm, "strip_accents", t->wpm_lower, &t->wpm_strip_accents, path))
            goto fail;
    }
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(pre, "type");
    if (!cJSON_IsString(pt) || strcmp(pt->valuestring, "BertPreTokenizer")) {
        ll_fail("%s: pre_tokenizer '%.64s' is not supported with WordPiece (supported: BertPreTokenizer)", path,
                cJSON_IsString(pt) ? pt->valuestring : "none");
        goto fail;
    }
    if (finish_special(t, false)) goto fail;
    cJSON_Delete(root);
    return t;
fail:
    cJSON_Delete(root);
    ll_tokenizer_free(t);
    return NULL;
}

/* ---------------------------------------------------------------- llama2.c -------------------------- */

static uint32_t rd_u32(const unsigned char *p) {
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

ll_tokenizer *ll_tokenizer_from_llama2c(const char *path, int32_t n_vocab) {
    if (n_vocab <= 0) {
        ll_fail("%s: vocabulary size %d is not positive", path, n_vocab);
        return NULL;
    }
    FILE *f = ll_fopen_input(path, "tokenizer");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size == cap) {
            cap = cap ? cap * 2 : 65536;
            unsigned char *nb = ll_realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + size, 1, cap - size, f);
        size += got;
        if (got == 0) break;
    }
    bool rerr = ferror(f);
    fclose(f);
    ll_tokenizer *t = NULL;
    if (rerr) {
        ll_fail("%s: read error", path);
        goto fail;
    }

    /* layout: int32 max_token_length, then per piece float32 score, int32 len, len bytes */
    if (size < 4) {
        ll_fail("%s: %zu bytes is too short for a llama2.c tokenizer (no max_token_length)", path, size);
        goto fail;
    }
    size_t pos = 4, text_bytes = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        if (size - pos < 8) {
            ll_fail("%s: offset %zu: file ends at piece %d, expected %d pieces", path, pos, i, n_vocab);
            goto fail;
        }
        int32_t len = (int32_t)rd_u32(buf + pos + 4);
        if (len < 0 || (size_t)len > size - pos - 8) {
            ll_fail("%s: offset %zu: piece %d has length %d but %zu bytes remain", path, pos + 4, i, len,
                    size - pos - 8);
            goto fail;
        }
        pos += 8 + (size_t)len;
        text_bytes += 3 * (size_t)len + 5;   /* room for escaped spaces or a renamed piece */
    }
    if (pos != size) {
        ll_fail("%s: %zu bytes follow the %d pieces (is the vocabulary size right?)", path, size - pos, n_vocab);
        goto fail;
    }

    if (!(t = tok_new(LL_TOK_SPM)) || alloc_vocab(t, (size_t)n_vocab, text_bytes)) goto fail;
    pos = 4;
    size_t at = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        float score;
        memcpy(&score, buf + pos, 4);
        uint32_t len = rd_u32(buf + pos + 4);
        const char *p = (const char *)buf + pos + 8;
        pos += 8 + len;
        t->score[i] = score;
        t->off[i] = at;
        /* as llama.cpp's convert-llama2c-to-ggml: 0 <unk>, 1 <s>, 2 </s>, empty pieces control,
         * <0xHH> byte pieces, spaces written as U+2581 */
        const char *fixed = i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : NULL;
        if (fixed) {
            size_t fl = strlen(fixed);
            memcpy(t->text + at, fixed, fl);
            at += fl;
            t->type[i] = i == 0 ? LL_TOKTYPE_UNKNOWN : LL_TOKTYPE_CONTROL;
        } else {
            for (uint32_t j = 0; j < len; j++) {
                if (p[j] == ' ') {
                    memcpy(t->text + at, SPACE_ESC, 3);
                    at += 3;
                } else {
                    t->text[at++] = p[j];
                }
            }
            t->type[i] = len == 0 ? LL_TOKTYPE_CONTROL
                         : byte_piece_value(p, len) >= 0 ? LL_TOKTYPE_BYTE
                                                          : LL_TOKTYPE_NORMAL;
        }
        t->len[i] = (uint32_t)(at - t->off[i]);
        t->ctrl[i] = t->type[i] == LL_TOKTYPE_CONTROL;
        t->text[at++] = 0;
        /* run.c looks pieces up as the file has them */
        if (len) {
            int32_t old;
            int r = tok_map_put(&t->raw_pieces, p, len, i, &old);
            if (r < 0) goto fail;
            if (r == 0) {
                char sb[64];
                ll_fail("%s: duplicate piece '%s' (pieces %d and %d)", path, show(p, len, sb), old, i);
                goto fail;
            }
        }
    }
    free(buf);
    buf = NULL;
    if (index_pieces(t, path)) goto fail;
    t->unk = 0;
    if (n_vocab > 1) t->bos = 1;
    if (n_vocab > 2) t->eos = 2;
    t->add_space_prefix = true;
    t->llama2c = true;
    if (finish_special(t, false)) goto fail;
    return t;
fail:
    free(buf);
    ll_tokenizer_free(t);
    return NULL;
}

/* ---------------------------------------------------------------- accessors ------------------------- */

int ll_tok_kind(const ll_tokenizer *t) { return t->kind; }
int32_t ll_tok_n_vocab(const ll_tokenizer *t) { return t->n_vocab; }
int32_t ll_tok_bos(const ll_tokenizer *t) { return t->bos; }
int32_t ll_tok_eos(const ll_tokenizer *t) { return t->eos; }
int32_t ll_tok_eot(const ll_tokenizer *t) { return t->eot; }
bool ll_tok_default_bos(const ll_tokenizer *t) {
    return t->has_add_bos ? t->add_bos : t->kind == LL_TOK_SPM || t->kind == LL_TOK_WPM;
}
const char *ll_tok_chat_template(const ll_tokenizer *t) { return t->chat_template; }

bool ll_tok_is_eog(const ll_tokenizer *t, int32_t id) {
    if (id < 0) return false;
    for (size_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return true;
    return false;
}

int32_t ll_tok_find(const ll_tokenizer *t, const char *p) { return p ? tok_map_get(&t->pieces, p, strlen(p)) : -1; }

const char *ll_tok_piece(const ll_tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->n_vocab) {
        ll_fail("token id %d is out of range (vocabulary of %d)", id, t->n_vocab);
        return NULL;
    }
    if (len) *len = t->len[id];
    return piece(t, id);
}

float ll_tok_score(const ll_tokenizer *t, int32_t id) { return id >= 0 && id < t->n_vocab ? t->score[id] : 0.0f; }
int ll_tok_type(const ll_tokenizer *t, int32_t id) { return id >= 0 && id < t->n_vocab ? t->type[id] : -1; }

/* ---------------------------------------------------------------- tokenize -------------------------- */

typedef struct { int32_t tok; size_t off, len; } frag;   /* tok >= 0: a special token; else text */
typedef struct { frag *v; size_t n, cap; } frags;

static int frag_add(frags *f, int32_t tok, size_t off, size_t len) {
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 16;
        frag *v = ll_realloc(f->v, ncap * sizeof *v);
        if (!v) return -1;
        f->v = v;
        f->cap = ncap;
    }
    f->v[f->n++] = (frag){ tok, off, len };
    return 0;
}

/* llama.cpp's tokenizer_st_partition: for each special piece, longest first, cut every occurrence out
 * of the text fragments. */
static int partition(const ll_tokenizer *t, const char *text, size_t len, bool parse_special, frags *out) {
    frags a = { 0 }, b = { 0 };
    if (len && frag_add(&a, -1, 0, len)) return -1;
    for (size_t k = 0; k < t->n_special && a.n; k++) {
        int32_t s = t->special[k];
        if (!parse_special && (t->ctrl[s] || t->type[s] == LL_TOKTYPE_UNKNOWN)) continue;
        const char *p = piece(t, s);
        size_t pl = t->len[s];
        bool any = false;
        for (size_t i = 0; i < a.n && !any; i++)
            any = a.v[i].tok < 0 && memmem(text + a.v[i].off, a.v[i].len, p, pl);
        if (!any) continue;
        b.n = 0;
        for (size_t i = 0; i < a.n; i++) {
            frag f = a.v[i];
            if (f.tok >= 0) {
                if (frag_add(&b, f.tok, 0, 0)) goto oom;
                continue;
            }
            size_t cur = f.off, end = f.off + f.len;
            const char *m;
            while (cur < end && (m = memmem(text + cur, end - cur, p, pl))) {
                size_t at = (size_t)(m - text);
                if (at > cur && frag_add(&b, -1, cur, at - cur)) goto oom;
                if (frag_add(&b, s, 0, 0)) goto oom;
                cur = at + pl;
            }
            if (cur < end && frag_add(&b, -1, cur, end - cur)) goto oom;
        }
        frags tmp = a;
        a = b;
        b = tmp;
    }
    free(b.v);
    *out = a;
    return 0;
oom:
    free(a.v);
    free(b.v);
    return -1;
}

/* SPM: the fragment with spaces escaped (llama2.c: as is), after an optional dummy-prefix space. */
static int spm_fragment(const ll_tokenizer *t, const char *s, size_t n, bool prefix, tok_ids *out) {
    char *buf = ll_malloc(3 * n + 3);
    if (!buf) return -1;
    size_t w = 0;
    if (prefix) {
        if (t->llama2c) {
            buf[w++] = ' ';
        } else {
            memcpy(buf, SPACE_ESC, 3);
            w = 3;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ' && !t->llama2c) {
            memcpy(buf + w, SPACE_ESC, 3);
            w += 3;
        } else {
            buf[w++] = s[i];
        }
    }
    int rc = tok_spm_encode(t, buf, w, out);
    free(buf);
    return rc;
}

int ll_tokenize(const ll_tokenizer *t, const char *text, size_t len, bool add_bos, bool parse_special,
                int32_t **ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    if (!text && len) return ll_fail("ll_tokenize: no text");
    if (len > (size_t)INT32_MAX / 4) return ll_fail("ll_tokenize: text of %zu bytes is too long", len);
    frags fr = { 0 };
    tok_ids out = { 0 };
    if (partition(t, text, len, parse_special, &fr)) return -1;
    if (add_bos) {
        if (t->bos < 0) {
            ll_fail("a BOS token was requested but the vocabulary has none");
            goto fail;
        }
        if (tok_ids_push(&out, t->bos)) goto fail;
    }
    bool prev_special = true;   /* SPM: the first text fragment gets the dummy prefix */
    for (size_t i = 0; i < fr.n; i++) {
        const frag *f = &fr.v[i];
        if (f->tok >= 0) {
            if (tok_ids_push(&out, f->tok)) goto fail;
            prev_special = true;
        } else if (t->kind == LL_TOK_WPM) {
            if (tok_wpm_encode(t, text + f->off, f->len, &out)) goto fail;
        } else if (t->kind == LL_TOK_SPM) {
            if (spm_fragment(t, text + f->off, f->len, t->add_space_prefix && prev_special, &out)) goto fail;
            prev_special = false;
        } else {
            if (tok_bpe_encode(t, text + f->off, f->len, &out)) goto fail;
        }
    }
    /* BERT's special tokens enclose the sequence: [CLS] ... [SEP], as llama.cpp's add_special does for WPM */
    if (add_bos && t->kind == LL_TOK_WPM && t->eos >= 0 && tok_ids_push(&out, t->eos)) goto fail;
    free(fr.v);
    if (!out.v && !(out.v = ll_malloc(sizeof *out.v))) return -1;
    *ids = out.v;
    *n = out.n;
    return 0;
fail:
    free(fr.v);
    free(out.v);
    return -1;
}

/* ---------------------------------------------------------------- decode ---------------------------- */

/* The bytes of one token (out needs room for len[id] bytes). Control and unknown pieces only when
 * render_special; user-defined pieces as written; byte pieces as their byte; normal pieces with U+2581 as
 * space (SPM) or through the byte map (BPE); undefined and unused types give nothing. */
static size_t token_bytes(const ll_tokenizer *t, int32_t id, bool render_special, char *out) {
    const char *p = piece(t, id);
    size_t n = t->len[id];
    int type = t->type[id];
    if (t->ctrl[id] || type == LL_TOKTYPE_UNKNOWN || type == LL_TOKTYPE_USER_DEFINED) {
        if (!render_special && type != LL_TOKTYPE_USER_DEFINED) return 0;
        memcpy(out, p, n);
        return n;
    }
    if (type == LL_TOKTYPE_BYTE) {
        out[0] = (char)byte_piece_value(p, n);
        return 1;
    }
    if (type != LL_TOKTYPE_NORMAL) return 0;
    if (t->kind == LL_TOK_BPE) return tok_bpe_decode_piece(t, p, n, out);
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        if (n - i >= 3 && !memcmp(p + i, SPACE_ESC, 3)) {
            out[w++] = ' ';
            i += 3;
        } else {
            out[w++] = p[i++];
        }
    }
    return w;
}

char *ll_detokenize(const ll_tokenizer *t, const int32_t *ids, size_t n, bool render_special, size_t *len) {
    if (len) *len = 0;
    if (!ids && n) {
        ll_fail("ll_detokenize: no ids");
        return NULL;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab) {
            ll_fail("token id %d (position %zu) is out of range (vocabulary of %d)", ids[i], i, t->n_vocab);
            return NULL;
        }
        total += t->len[ids[i]];
    }
    char *s = ll_malloc(total + 1);
    if (!s) return NULL;
    /* SPM: the dummy-prefix space of the first piece goes (after leading BOS tokens that print nothing) */
    bool strip = (t->kind == LL_TOK_SPM && t->add_space_prefix) || t->kind == LL_TOK_WPM;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (strip && id == t->bos && t->ctrl[id] && !render_special) continue;
        size_t k = token_bytes(t, id, render_special, s + w);
        if (strip && k > 0 && s[w] == ' ') {
            memmove(s + w, s + w + 1, k - 1);
            k--;
        }
        strip = false;
        w += k;
    }
    s[w] = 0;
    if (len) *len = w;
    return s;
}

int ll_token_to_text(const ll_tokenizer *t, int32_t prev, int32_t id, char *buf, size_t bufsize) {
    if (id < 0 || id >= t->n_vocab) return ll_fail("token id %d is out of range (vocabulary of %d)", id, t->n_vocab);
    char small[256];
    char *tmp = t->len[id] <= sizeof small ? small : ll_malloc(t->len[id]);
    if (!tmp) return -1;
    size_t k = token_bytes(t, id, false, tmp);
    size_t skip = 0;
    /* run.c: after BOS, the leading space of a (normal) piece is dropped */
    if (t->kind == LL_TOK_SPM && t->add_space_prefix && prev >= 0 && prev == t->bos && k > 0 && tmp[0] == ' ' &&
        t->type[id] == LL_TOKTYPE_NORMAL && !t->ctrl[id])
        skip = 1;
    int rc;
    if (k - skip + 1 > bufsize || k - skip > INT32_MAX) {
        rc = ll_fail("ll_token_to_text: token %d needs %zu bytes, the buffer has %zu", id, k - skip + 1, bufsize);
    } else {
        memcpy(buf, tmp + skip, k - skip);
        buf[k - skip] = 0;
        rc = (int)(k - skip);
    }
    if (tmp != small) free(tmp);
    return rc;
}
