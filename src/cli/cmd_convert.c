/* cmd_convert.c — `layerlab convert IN.bin --tokenizer TOK.bin -o OUT.gguf`: a llama2.c checkpoint
 * as a GGUF v3 file (arch llama, fp32 tensors, tokenizer model llama with scores and token types). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io/gguf.h"
#include "model/model.h"
#include "tensor/dtype.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

static const char *USAGE =
    "usage: layerlab convert IN.bin --tokenizer TOK.bin -o OUT.gguf [--name NAME]\n"
    "Writes a llama2.c checkpoint as GGUF v3 (architecture llama, F32 tensors, SentencePiece vocabulary\n"
    "with scores and token types) that llama.cpp loads.\n";

/* The GGUF spelling of a llama2.c piece: spaces as U+2581; BOS/EOS/UNK under their SentencePiece names. */
static char *gguf_piece(const ll_tokenizer *t, int32_t id) {
    size_t len;
    const char *p = ll_tok_piece(t, id, &len);
    int type = ll_tok_type(t, id);
    if (type == LL_TOKTYPE_UNKNOWN) return strdup("<unk>");
    if (id == ll_tok_bos(t)) return strdup("<s>");
    if (id == ll_tok_eos(t)) return strdup("</s>");
    char *out = malloc(len * 3 + 1);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == ' ') {
            memcpy(out + k, "\xe2\x96\x81", 3);
            k += 3;
        } else {
            out[k++] = p[i];
        }
    }
    out[k] = 0;
    return out;
}

static int add_mat(ll_gguf_writer *w, const char *name, const ll_mat *m) {
    int64_t ne[2] = {m->ncols, m->nrows};
    return ll_gguf_writer_add_tensor(w, name, m->type, 2, ne, m->data, (size_t)m->nrows * m->row_bytes);
}

static int add_vec(ll_gguf_writer *w, const char *name, const float *v, int64_t n) {
    return ll_gguf_writer_add_tensor(w, name, LL_TYPE_F32, 1, &n, v, (size_t)n * sizeof(float));
}

int cmd_convert(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    const char *out = NULL, *name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "-o") || !strcmp(a, "--out")) { if (!(out = cli_out_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--name")) { if (!(name = cli_value(argc, argv, &i))) return 1; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("convert: unknown option '%s'\n%s", a, USAGE);
    }
    if (!out) return cli_error("convert: -o OUT.gguf is required\n%s", USAGE);
    if (!c.tokenizer) return cli_error("convert: --tokenizer TOK.bin is required");
    ll_model *m = cli_open_model(&c, false);
    if (!m) return 1;
    int rc = 1;
    ll_gguf_writer *w = NULL;
    char **pieces = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    int V = m->n_vocab;
    if (m->format != LL_FORMAT_LLAMA2C) { cli_error("convert: %s is not a llama2.c checkpoint", c.model); goto done; }
    if (!(w = ll_gguf_writer_new())) { cli_lib_error(); goto done; }
    pieces = calloc((size_t)V, sizeof *pieces);
    scores = malloc((size_t)V * sizeof *scores);
    types = malloc((size_t)V * sizeof *types);
    if (!pieces || !scores || !types) { cli_error("out of memory"); goto done; }
    for (int i = 0; i < V; i++) {
        if (!(pieces[i] = gguf_piece(m->tok, i))) { cli_error("out of memory"); goto done; }
        scores[i] = ll_tok_score(m->tok, i);
        types[i] = ll_tok_type(m->tok, i);
    }
    const char *base = strrchr(c.model, '/');
    base = base ? base + 1 : c.model;
    int e = 0;
    e |= ll_gguf_writer_set_str(w, "general.architecture", "llama");
    e |= ll_gguf_writer_set_str(w, "general.name", name ? name : base);
    e |= ll_gguf_writer_set_u32(w, "general.file_type", 0); /* all F32 */
    e |= ll_gguf_writer_set_u32(w, "llama.context_length", (uint32_t)m->n_ctx_train);
    e |= ll_gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)m->n_embd);
    e |= ll_gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)m->n_ff);
    e |= ll_gguf_writer_set_u32(w, "llama.block_count", (uint32_t)m->n_layer);
    e |= ll_gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)m->n_head);
    e |= ll_gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)m->n_head_kv);
    e |= ll_gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)m->rope_dim);
    e |= ll_gguf_writer_set_f32(w, "llama.rope.freq_base", m->rope_base);
    e |= ll_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", m->rms_eps);
    e |= ll_gguf_writer_set_u32(w, "llama.vocab_size", (uint32_t)V);
    e |= ll_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    e |= ll_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)pieces, NULL, (uint64_t)V);
    e |= ll_gguf_writer_set_arr(w, "tokenizer.ggml.scores", LL_GGUF_FLOAT32, scores, (uint64_t)V);
    e |= ll_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", LL_GGUF_INT32, types, (uint64_t)V);
    if (ll_tok_bos(m->tok) >= 0) e |= ll_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)ll_tok_bos(m->tok));
    if (ll_tok_eos(m->tok) >= 0) e |= ll_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)ll_tok_eos(m->tok));
    e |= ll_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    e |= ll_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
    e |= ll_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false);
    e |= add_mat(w, "token_embd.weight", &m->tok_embd);
    e |= add_vec(w, "output_norm.weight", m->output_norm, m->n_embd);
    if (!m->tied_output) e |= add_mat(w, "output.weight", &m->output);
    for (int l = 0; l < m->n_layer && !e; l++) {
        const ll_layer *L = &m->layers[l];
        char nm[64];
#define T(suffix, mat) snprintf(nm, sizeof nm, "blk.%d.%s.weight", l, suffix); e |= add_mat(w, nm, &L->mat);
        T("attn_q", wq) T("attn_k", wk) T("attn_v", wv) T("attn_output", wo)
        T("ffn_gate", w_gate) T("ffn_down", w_down) T("ffn_up", w_up)
#undef T
        snprintf(nm, sizeof nm, "blk.%d.attn_norm.weight", l);
        e |= add_vec(w, nm, L->attn_norm, m->n_embd);
        snprintf(nm, sizeof nm, "blk.%d.ffn_norm.weight", l);
        e |= add_vec(w, nm, L->ffn_norm, m->n_embd);
    }
    if (e || ll_gguf_writer_write(w, out)) { cli_lib_error(); goto done; }
    fprintf(stderr, "layerlab: wrote %s (%d layers, %d tokens)\n", out, m->n_layer, V);
    rc = 0;
done:
    if (pieces)
        for (int i = 0; i < V; i++) free(pieces[i]);
    free(pieces);
    free(scores);
    free(types);
    ll_gguf_writer_free(w);
    ll_model_free(m);
    return rc;
}
