/* model.c — opens GGUF files, Hugging Face directories (through hf.c) and llama2.c checkpoints into an ll_model,
 * binding weights in place by the architecture's tensor table (tensors.c) and checking every shape against the
 * hyperparameters. */
#include "model.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "io/gguf.h"
#include "io/files.h"
#include "io/safetensors.h"
#include "model/model_impl.h"
#include "tensor/dtype.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"
#include "util/sha256.h"

#define MAX_DIM (1 << 20)      /* sanity bound for any hyperparameter */

/* ---------------------------------------------------------------- GGUF ---- */

static int get_u32_key(const ll_gguf *g, const char *key, int required, int def, int lo, int hi, int *out) {
    uint64_t v;
    int rc = ll_gguf_get_u64(g, key, &v);
    if (rc < 0) return ll_fail_prefix("%s: ", g->path);
    if (rc == 0) {
        if (required) return ll_fail("%s: required metadata key '%s' is missing", g->path, key);
        *out = def;
        return 0;
    }
    if (v < (uint64_t)lo || v > (uint64_t)hi)
        return ll_fail("%s: metadata '%s' = %llu is out of range [%d, %d]", g->path, key, (unsigned long long)v, lo, hi);
    *out = (int)v;
    return 0;
}

static int get_f32_key(const ll_gguf *g, const char *key, int required, float def, float *out) {
    double v;
    int rc = ll_gguf_get_f64(g, key, &v);
    if (rc < 0) return ll_fail_prefix("%s: ", g->path);
    if (rc == 0) {
        if (required) return ll_fail("%s: required metadata key '%s' is missing", g->path, key);
        *out = def;
        return 0;
    }
    if (!isfinite(v)) return ll_fail("%s: metadata '%s' is not finite", g->path, key);
    *out = (float)v;
    return 0;
}

/* the tensor of ts named name, or NULL */
static const ll_gguf_tensor *tset_find(const ll_tset *ts, const char *name) {
    size_t n = strlen(name);
    for (uint64_t i = 0; i < ts->n; i++)
        if (ts->t[i].name.n == n && !memcmp(ts->t[i].name.s, name, n)) return &ts->t[i];
    return NULL;
}

/* Binds a 2-D tensor (ne0 = cols, ne1 = rows) after checking its shape and type. */
static int bind_mat(const ll_tset *ts, const ll_gguf_tensor *t, const char *name, int64_t cols, int64_t rows, ll_mat *m) {
    if (t->n_dims > 2 || t->ne[0] != cols || t->ne[1] != rows)
        return ll_fail("%s: tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]", ts->path, name,
                       (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                       (long long)cols, (long long)rows);
    const ll_type_traits *tt = ll_type_get(t->type);
    if (!tt || !tt->to_float || !tt->vec_dot)
        return ll_fail("%s: tensor '%s' has type %s, which layerlab cannot compute with", ts->path, name,
                       ll_type_name(t->type));
    m->type = t->type;
    m->data = t->data;
    m->ncols = cols;
    m->nrows = rows;
    m->row_bytes = ll_row_size(t->type, cols);
    return 0;
}

/* A 1-D tensor of n elements as an fp32 copy the model owns. */
static float *bind_vec(ll_model *m, const ll_tset *ts, const ll_gguf_tensor *t, const char *name, int64_t n) {
    if (t->n_dims != 1 || t->ne[0] != n) {
        ll_fail("%s: tensor '%s' has %u dims, ne0 %lld; expected a vector of %lld", ts->path, name, t->n_dims,
                (long long)t->ne[0], (long long)n);
        return NULL;
    }
    const ll_type_traits *tt = ll_type_get(t->type);
    if (!tt || !tt->to_float) {
        ll_fail("%s: tensor '%s' has type %s, which layerlab cannot compute with", ts->path, name, ll_type_name(t->type));
        return NULL;
    }
    float *v = ll_model_own(m, ll_malloc((size_t)(n ? n : 1) * sizeof *v));
    if (v) tt->to_float(t->data, v, n);
    return v;
}

void *ll_model_own(ll_model *m, void *p) {
    if (!p) return NULL;
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? 2 * m->cap_owned : 64;
        void **o = ll_realloc(m->owned, (size_t)cap * sizeof *o);
        if (!o) { free(p); return NULL; }
        m->owned = o;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = p;
    return p;
}

static int arch_id(const char *name) {
    const ll_arch_desc *d = ll_arch_desc_find(name);
    return d ? d->id : ARCH_NONE;
}

/* "<arch>.<suffix>" */
static const char *akey(const ll_model *m, const char *suffix) {
    static _Thread_local char buf[128];
    snprintf(buf, sizeof buf, "%s.%s", m->arch, suffix);
    return buf;
}

static int load_gguf_hparams(ll_model *m, const ll_gguf *g) {
    ll_str arch;
    int rc = ll_gguf_get_str(g, "general.architecture", &arch);
    if (rc < 0) return ll_fail_prefix("%s: ", g->path);
    if (rc == 0) return ll_fail("%s: metadata 'general.architecture' is missing", g->path);
    if (strlen(arch.s) >= sizeof m->arch || !arch_id(arch.s))
        return ll_fail("%s: architecture '%.40s' is not supported (layerlab runs %s)", g->path, arch.s, ll_arch_names());
    snprintf(m->arch, sizeof m->arch, "%s", arch.s);
    const int A = arch_id(m->arch);
    const bool ln = A == ARCH_GPTNEOX || A == ARCH_BERT;
    if (get_u32_key(g, akey(m, "block_count"), 1, 0, 1, 4096, &m->n_layer) ||
        get_u32_key(g, akey(m, "embedding_length"), 1, 0, 1, MAX_DIM, &m->n_embd) ||
        get_u32_key(g, akey(m, "feed_forward_length"), 1, 0, 1, MAX_DIM, &m->n_ff) ||
        get_u32_key(g, akey(m, "attention.head_count"), 1, 0, 1, 4096, &m->n_head) ||
        get_u32_key(g, akey(m, "attention.head_count_kv"), 0, m->n_head, 1, 4096, &m->n_head_kv) ||
        get_u32_key(g, akey(m, "context_length"), 1, 0, 1, 1 << 24, &m->n_ctx_train) ||
        get_f32_key(g, akey(m, ln ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon"), 1, 0, &m->rms_eps) ||
        get_f32_key(g, akey(m, "rope.freq_base"), 0, 10000.0f, &m->rope_base) ||
        get_f32_key(g, akey(m, "rope.freq_base_swa"), 0, 0.0f, &m->rope_base_swa) ||
        get_u32_key(g, akey(m, "attention.sliding_window"), 0, 0, 0, 1 << 24, &m->sliding_window) ||
        get_u32_key(g, akey(m, "attention.key_length"), 0, 0, 1, MAX_DIM, &m->head_dim))
        return -1;
    int hd_v = 0;
    if (get_u32_key(g, akey(m, "attention.value_length"), 0, m->head_dim, 0, MAX_DIM, &hd_v)) return -1;
    if (hd_v != m->head_dim) return ll_fail("%s: key_length %d != value_length %d is not supported", g->path, m->head_dim, hd_v);
    if (get_u32_key(g, akey(m, "rope.dimension_count"), 0, 0, 2, MAX_DIM, &m->rope_dim)) return -1;
    if (A == ARCH_GPTNEOX) {
        bool par = true;
        if (ll_gguf_get_bool(g, akey(m, "use_parallel_residual"), &par) < 0) return ll_fail_prefix("%s: ", g->path);
        m->parallel_residual = par;
    }
    if (A == ARCH_BERT) {
        bool causal = false;
        if (ll_gguf_get_bool(g, akey(m, "attention.causal"), &causal) < 0) return ll_fail_prefix("%s: ", g->path);
        if (causal) return ll_fail("%s: %s is true; a causal bert is not supported", g->path, akey(m, "attention.causal"));
        if (get_u32_key(g, akey(m, "pooling_type"), 0, LL_POOL_NONE, 0, 2, &m->pooling) ||
            get_u32_key(g, akey(m, "token_type_count"), 0, 2, 1, 1 << 16, &m->n_tok_types))
            return -1;
    }
    m->rope_pos_scale = 1.0f;
    ll_str st;
    rc = ll_gguf_get_str(g, akey(m, "rope.scaling.type"), &st);
    if (rc < 0) return ll_fail_prefix("%s: ", g->path);
    float factor = 0;
    if (get_f32_key(g, akey(m, "rope.scaling.factor"), 0, 0, &factor)) return -1;
    if (rc == 1 && strcmp(st.s, "none") != 0) {
        if (strcmp(st.s, "linear") != 0)
            return ll_fail("%s: RoPE scaling type '%.40s' is not supported (supported: none, linear)", g->path, st.s);
        if (factor <= 0) return ll_fail("%s: RoPE linear scaling needs %s > 0", g->path, akey(m, "rope.scaling.factor"));
        if (A == ARCH_GEMMA3)   /* Gemma 3 scales its global layers only: not implemented */
            return ll_fail("%s: RoPE scaling on gemma3 (global layers only) is not supported", g->path);
        m->rope_pos_scale = 1.0f / factor;
    } else if (rc == 0) {
        float lin = 0;
        if (get_f32_key(g, akey(m, "rope.scale_linear"), 0, 0, &lin)) return -1;
        if (lin > 0) m->rope_pos_scale = 1.0f / lin;
    }
    uint64_t vocab = 0;
    if (ll_gguf_get_u64(g, akey(m, "vocab_size"), &vocab) == 1) m->n_vocab = (int)(vocab > INT32_MAX ? 0 : vocab);
    return ll_model_finish_hparams(m, g->path);
}

int ll_model_finish_hparams(ll_model *m, const char *path) {
    const int A = arch_id(m->arch);
    if (m->n_head_kv < 1) m->n_head_kv = m->n_head;
    if (!m->head_dim) {
        if (m->n_embd % m->n_head)
            return ll_fail("%s: embedding_length %d is not a multiple of head_count %d", path, m->n_embd, m->n_head);
        m->head_dim = m->n_embd / m->n_head;
    }
    if (m->n_head % m->n_head_kv)
        return ll_fail("%s: head_count %d is not a multiple of head_count_kv %d", path, m->n_head, m->n_head_kv);
    if (A == ARCH_BERT) {
        m->rope_dim = 0;   /* absolute position embeddings, no RoPE */
    } else {
        if (!m->rope_dim) m->rope_dim = m->head_dim;
        if (m->rope_dim > m->head_dim || m->rope_dim % 2)
            return ll_fail("%s: rope.dimension_count %d must be even and at most the head size %d", path, m->rope_dim,
                           m->head_dim);
        if (m->rope_base <= 0) return ll_fail("%s: rope.freq_base must be positive", path);
    }
    if (m->rms_eps <= 0) return ll_fail("%s: the norms' epsilon must be positive", path);
    if (m->rope_pos_scale <= 0) m->rope_pos_scale = 1.0f;
    m->embd_scale = 1.0f;
    m->causal = A != ARCH_BERT;
    m->has_head = A != ARCH_BERT;
    m->norm = A == ARCH_GPTNEOX || A == ARCH_BERT ? LL_NORM_LAYER : LL_NORM_RMS;
    m->rope_neox = A == ARCH_QWEN2 || A == ARCH_QWEN3 || A == ARCH_GEMMA3 || A == ARCH_GPTNEOX;
    if (A == ARCH_GEMMA3) {
        /* as llama.cpp and transformers' Gemma 3: every 6th layer global (the file's rope.freq_base), the others
         * within the sliding window with RoPE base 10000, embeddings scaled by sqrt(n_embd) */
        m->swa_pattern = 6;
        if (!(m->rope_base_swa > 0)) m->rope_base_swa = 10000.0f;
        m->embd_scale = sqrtf((float)m->n_embd);
    }
    return 0;
}

static int64_t sym_value(const ll_model *m, int s) {
    switch (s) {
    case SYM_1: return 1;
    case SYM_D: return m->n_embd;
    case SYM_Q: return (int64_t)m->n_head * m->head_dim;
    case SYM_KV: return (int64_t)m->n_head_kv * m->head_dim;
    case SYM_F: return m->n_ff;
    case SYM_HD: return m->head_dim;
    case SYM_V: return m->n_vocab;
    case SYM_CTX: return m->n_ctx_train;
    case SYM_TT: return m->n_tok_types;
    case SYM_QKV: return (int64_t)(m->n_head + 2 * m->n_head_kv) * m->head_dim;
    default: return m->rope_dim / 2;
    }
}

/* Fused Q/K/V rows (q, then k, then v): views for the three matrices, or copies of the three bias parts. */
static int split_qkv(ll_model *m, ll_layer *L, bool mat) {
    const int64_t q = sym_value(m, SYM_Q), kv = sym_value(m, SYM_KV);
    if (mat) {
        ll_mat all = L->wq;
        L->wq.nrows = q;
        L->wk = all, L->wk.nrows = kv, L->wk.data = (const char *)all.data + (size_t)q * all.row_bytes;
        L->wv = all, L->wv.nrows = kv, L->wv.data = (const char *)all.data + (size_t)(q + kv) * all.row_bytes;
        return 0;
    }
    float *b = L->bq;
    if (!(L->bk = ll_model_own(m, ll_malloc((size_t)kv * sizeof(float)))) ||
        !(L->bv = ll_model_own(m, ll_malloc((size_t)kv * sizeof(float)))))
        return -1;
    memcpy(L->bk, b + q, (size_t)kv * sizeof(float));
    memcpy(L->bv, b + q + kv, (size_t)kv * sizeof(float));
    return 0;
}

/* Binds every tensor of the architecture's table from ts (GGUF names); a tensor of ts that no entry takes is an
 * error (it would be ignored). */
static int bind_tensors(ll_model *m, const ll_tset *ts) {
    const ll_arch_desc *d = ll_arch_desc_find(m->arch);
    char *used = ll_calloc(ts->n ? ts->n : 1, 1);
    if (!used) return -1;
    int rc = -1;
    const ll_gguf_tensor *te = tset_find(ts, "token_embd.weight");
    if (!te) { ll_fail("%s: tensor 'token_embd.weight' is missing", ts->path); goto done; }
    if (te->ne[1] < 1 || te->ne[1] > INT32_MAX) { ll_fail("%s: token_embd.weight has a bad vocabulary size", ts->path); goto done; }
    if (m->n_vocab && m->n_vocab != te->ne[1]) {
        ll_fail("%s: the vocabulary size %d disagrees with token_embd.weight (%lld rows)", ts->path, m->n_vocab,
                (long long)te->ne[1]);
        goto done;
    }
    m->n_vocab = (int)te->ne[1];
    m->layers = ll_calloc((size_t)m->n_layer, sizeof *m->layers);
    if (!m->layers) goto done;
    for (int l = -1; l < m->n_layer; l++) {   /* -1: the model's own tensors */
        for (int k = 0; k < d->n_specs; k++) {
            const ll_tspec *s = &d->specs[k];
            if ((l < 0) != !!(s->flags & TS_MODEL)) continue;
            char nm[128];
            if (l < 0) snprintf(nm, sizeof nm, "%s", s->gguf);
            else snprintf(nm, sizeof nm, "blk.%d.%s", l, s->gguf);
            const ll_gguf_tensor *t = tset_find(ts, nm);
            if (!t) {
                if (s->flags & TS_REQ) { ll_fail("%s: tensor '%s' is missing", ts->path, nm); goto done; }
                continue;
            }
            char *base = l < 0 ? (char *)m : (char *)&m->layers[l];
            void *field = base + s->off;
            if (s->flags & TS_MAT) {
                if (bind_mat(ts, t, nm, sym_value(m, s->cols), sym_value(m, s->rows), field)) goto done;
            } else {
                float *v = bind_vec(m, ts, t, nm, sym_value(m, s->cols));
                if (!v) goto done;
                *(float **)field = v;
            }
            if ((s->flags & TS_QKV) && split_qkv(m, &m->layers[l], s->flags & TS_MAT)) goto done;
            used[t - ts->t] = 1;
        }
    }
    if (m->has_head && !m->output.data) {
        m->output = m->tok_embd;
        m->tied_output = true;
    }
    if (m->rope_factors)
        for (int i = 0; i < m->rope_dim / 2; i++)
            if (!(m->rope_factors[i] > 0) || !isfinite(m->rope_factors[i])) {
                ll_fail("%s: rope_freqs.weight[%d] must be positive and finite", ts->path, i);
                goto done;
            }
    for (uint64_t i = 0; i < ts->n; i++) {
        if (!used[i]) {
            ll_fail("%s: tensor '%.80s' is not supported by layerlab's %s engine (it would be ignored)", ts->path,
                    ts->t[i].name.s, m->arch);
            goto done;
        }
    }
    m->n_params = 0;
    for (uint64_t i = 0; i < ts->n; i++) {
        const ll_gguf_tensor *t = &ts->t[i];
        m->n_params += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    }
    rc = 0;
done:
    free(used);
    return rc;
}

/* ----------------------------------------------------------- llama2.c ---- */

static int map_file(const char *path, void **map, size_t *size) {
    if (ll_map_input(path, "model", map, size)) return -1;
    if (*size == 0) return ll_fail("'%s' is empty", path);
    return 0;
}

static ll_mat f32_mat(const float *p, int64_t cols, int64_t rows) {
    ll_mat m = {LL_TYPE_F32, p, cols, rows, (size_t)cols * sizeof(float), NULL};
    return m;
}

static float *copy_vec(ll_model *m, const float *p, int n) {
    float *v = ll_model_own(m, ll_malloc((size_t)n * sizeof *v));
    if (v) memcpy(v, p, (size_t)n * sizeof *v);
    return v;
}

/* Layout (llama2.c run.c): Config {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}
 * as int32, vocab_size negative when the classifier is separate; then fp32 tensors in this order:
 * token_embedding[V,D], rms_att[L,D], wq[L,D,D], wk[L,KV,D], wv[L,KV,D], wo[L,D,D], rms_ffn[L,D],
 * w1[L,F,D], w2[L,D,F], w3[L,F,D], rms_final[D], freq_cis_real[S,hd/2], freq_cis_imag[S,hd/2], wcls[V,D]. */
static int load_llama2c(ll_model *m, const void *base, size_t size, int bind) {
    const char *path = m->path;
    if (size < 28) return ll_fail("%s: file too small for a llama2.c header (%zu bytes, need 28)", path, size);
    int32_t c[7];
    memcpy(c, base, sizeof c);
    static const char *names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
    for (int i = 0; i < 7; i++) {
        long long v = i == 5 ? llabs((long long)c[i]) : c[i];
        if (v < 1 || v > (i == 5 || i == 6 ? (1 << 24) : MAX_DIM))
            return ll_fail("%s: llama2.c header field %s = %d at offset %d is out of range (not a GGUF or llama2.c "
                           "checkpoint?)", path, names[i], c[i], i * 4);
    }
    int shared = c[5] > 0;
    m->n_embd = c[0]; m->n_ff = c[1]; m->n_layer = c[2]; m->n_head = c[3]; m->n_head_kv = c[4];
    m->n_vocab = shared ? c[5] : -c[5]; m->n_ctx_train = c[6];
    if (m->n_layer > 4096 || m->n_head > 4096) return ll_fail("%s: n_layers or n_heads is absurd", path);
    if (m->n_embd % m->n_head) return ll_fail("%s: dim %d is not a multiple of n_heads %d", path, m->n_embd, m->n_head);
    if (m->n_head_kv > m->n_head || m->n_head % m->n_head_kv)
        return ll_fail("%s: n_heads %d is not a multiple of n_kv_heads %d", path, m->n_head, m->n_head_kv);
    m->head_dim = m->n_embd / m->n_head;
    if (m->head_dim % 2) return ll_fail("%s: head size %d is odd; RoPE needs pairs", path, m->head_dim);
    m->rope_dim = m->head_dim;
    snprintf(m->arch, sizeof m->arch, "llama");
    m->rms_eps = 1e-5f;       /* run.c's rmsnorm */
    m->rope_base = 10000.0f;  /* run.c's RoPE */
    m->rope_pos_scale = 1.0f;
    if (ll_model_finish_hparams(m, path)) return -1;
    /* Expected size, in floats; every term < 2^20 * 2^20 * 4096 < 2^53, sums checked in double. */
    double D = m->n_embd, F = m->n_ff, L = m->n_layer, V = m->n_vocab, S = m->n_ctx_train, hd = m->head_dim;
    double KV = (double)m->n_head_kv * m->head_dim;
    double floats = V * D + L * D + L * D * D + 2 * L * KV * D + L * D * D + L * D + 3 * L * F * D + D + S * hd +
                    (shared ? 0 : V * D);
    double expect = 28 + 4 * floats;
    if (expect > 1e15) return ll_fail("%s: llama2.c header implies an absurd size (%.3g bytes)", path, expect);
    if ((double)size != expect)
        return ll_fail("%s: llama2.c checkpoint is %zu bytes, but its header (dim %d, hidden %d, layers %d, heads %d/%d, "
                       "vocab %d, seq_len %d) implies %.0f bytes", path, size, c[0], c[1], c[2], c[3], c[4], c[5], c[6], expect);
    m->n_params = (int64_t)(floats - S * hd);
    if (!bind) return 0;
    const float *p = (const float *)((const char *)base + 28);
    int64_t d = m->n_embd, f = m->n_ff, kv = (int64_t)m->n_head_kv * m->head_dim;
    const float *emb = p; p += (int64_t)m->n_vocab * d;
    const float *rms_att = p; p += m->n_layer * d;
    const float *wq = p; p += m->n_layer * d * d;
    const float *wk = p; p += m->n_layer * kv * d;
    const float *wv = p; p += m->n_layer * kv * d;
    const float *wo = p; p += m->n_layer * d * d;
    const float *rms_ffn = p; p += m->n_layer * d;
    const float *w1 = p; p += m->n_layer * f * d;
    const float *w2 = p; p += m->n_layer * d * f;
    const float *w3 = p; p += m->n_layer * f * d;
    const float *rms_final = p; p += d;
    p += (int64_t)m->n_ctx_train * m->head_dim; /* freq_cis_real and _imag: unused, RoPE is computed */
    const float *wcls = shared ? emb : p;
    m->tok_embd = f32_mat(emb, d, m->n_vocab);
    m->output = f32_mat(wcls, d, m->n_vocab);
    m->tied_output = shared;
    if (!(m->output_norm = copy_vec(m, rms_final, m->n_embd))) return -1;
    m->layers = ll_calloc((size_t)m->n_layer, sizeof *m->layers);
    if (!m->layers) return -1;
    for (int l = 0; l < m->n_layer; l++) {
        ll_layer *Ly = &m->layers[l];
        Ly->wq = f32_mat(wq + l * d * d, d, d);
        Ly->wk = f32_mat(wk + l * kv * d, d, kv);
        Ly->wv = f32_mat(wv + l * kv * d, d, kv);
        Ly->wo = f32_mat(wo + l * d * d, d, d);
        Ly->w_gate = f32_mat(w1 + l * f * d, d, f);
        Ly->w_down = f32_mat(w2 + l * d * f, f, d);
        Ly->w_up = f32_mat(w3 + l * f * d, d, f);
        if (!(Ly->attn_norm = copy_vec(m, rms_att + l * d, m->n_embd))) return -1;
        if (!(Ly->ffn_norm = copy_vec(m, rms_ffn + l * d, m->n_embd))) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- common ---- */

/* A Hugging Face model: config.json and model.safetensors (path is the directory, or the .safetensors file with
 * config.json beside it); the tokenizer from tokenizer.json when there is a WordPiece one. */
static int open_hf(ll_model *m, const char *path, int bind) {
    m->format = LL_FORMAT_HF;
    ll_tset ts;
    if (ll_hf_load(m, path, &ts)) return -1;
    if (bind && bind_tensors(m, &ts)) return -1;
    return 0;
}

static ll_model *open_any(const char *path, const char *tok_path, int bind) {
    ll_model *m = ll_calloc(1, sizeof *m);
    if (!m) return NULL;
    m->path = ll_strndup(path, strlen(path));
    if (!m->path) goto fail;
    void *map = NULL;
    size_t size = 0;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {   /* a Hugging Face model directory */
        if (tok_path) { ll_fail("'%s' is a directory (a Hugging Face model); --tokenizer is for llama2.c checkpoints", path); goto fail; }
        if (open_hf(m, path, bind)) goto fail;
        return m;
    }
    if (map_file(path, &map, &size)) goto fail;
    if (ll_st_sniff(map, size)) {   /* a .safetensors file: its config.json is beside it */
        munmap(map, size);
        if (tok_path) { ll_fail("--tokenizer is for llama2.c checkpoints; '%s' is a safetensors file", path); goto fail; }
        if (open_hf(m, path, bind)) goto fail;
        return m;
    }
    if (size >= 4 && memcmp(map, "GGUF", 4) == 0) {
        munmap(map, size);
        if (tok_path) { ll_fail("--tokenizer is for llama2.c checkpoints; '%s' is a GGUF file with its own vocabulary", path); goto fail; }
        m->format = LL_FORMAT_GGUF;
        if (!(m->gguf = ll_gguf_open(path))) goto fail;
        if (!(m->tok = ll_tokenizer_from_gguf(m->gguf))) { ll_fail_prefix("%s: ", path); goto fail; }
        if (bind) {
            ll_tset ts = {path, m->gguf->tensors, m->gguf->n_tensors};
            if (load_gguf_hparams(m, m->gguf) || bind_tensors(m, &ts)) goto fail;
        } else {   /* vocabulary-only open: the layer count is known (for `plan`) when valid */
            ll_str arch;
            if (ll_gguf_get_str(m->gguf, "general.architecture", &arch) == 1 && strlen(arch.s) < sizeof m->arch)
                snprintf(m->arch, sizeof m->arch, "%s", arch.s);
            if (!m->arch[0] || get_u32_key(m->gguf, akey(m, "block_count"), 0, 0, 0, 4096, &m->n_layer)) m->n_layer = 0;
        }
        if (bind && ll_tok_n_vocab(m->tok) != m->n_vocab) {
            ll_fail("%s: the vocabulary has %d tokens but the model has %d rows of embeddings", path,
                    ll_tok_n_vocab(m->tok), m->n_vocab);
            goto fail;
        }
    } else {
        m->format = LL_FORMAT_LLAMA2C;
        m->map = map;
        m->map_size = size;
        if (load_llama2c(m, map, size, bind)) goto fail;
        if (tok_path && !(m->tok = ll_tokenizer_from_llama2c(tok_path, m->n_vocab))) goto fail;
    }
    return m;
fail:
    ll_model_free(m);
    return NULL;
}

ll_model *ll_model_open(const char *path, const char *tokenizer_path) { return open_any(path, tokenizer_path, 1); }
ll_model *ll_model_open_vocab(const char *path, const char *tokenizer_path) { return open_any(path, tokenizer_path, 0); }

/* The model's 2-D weights that run through ll_matmul, i < 7 · n_layer + 1: each layer's seven, then the head. */
static ll_mat *model_mat(ll_model *m, int i) {
    if (i == 7 * m->n_layer) return &m->output;
    ll_layer *L = &m->layers[i / 7];
    ll_mat *ms[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    return ms[i % 7];
}

int ll_model_pack(ll_model *m) {
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    int rc = 0;
    for (int i = 0; !m->packed && m->layers && i < 7 * m->n_layer + 1; i++) {
        ll_mat *W = model_mat(m, i);
        size_t sz = ll_lane_pack_size(W->type, W->nrows, W->ncols);
        if (!sz || W->pack) continue;
        void *p = NULL;
        if (posix_memalign(&p, 64, sz) != 0 || !p) {
            rc = ll_fail("out of memory (%zu bytes to repack a weight for --llamacpp)", sz);
            break;
        }
        ll_lane_pack(W->type, W->data, W->row_bytes, W->nrows, W->ncols, p);
        W->pack = p;
    }
    if (!rc) m->packed = true;
    pthread_mutex_unlock(&mu);
    return rc;
}

void ll_model_free(ll_model *m) {
    if (!m) return;
    if (m->layers) {
        for (int i = 0; i < 7 * m->n_layer + 1; i++) free((void *)model_mat(m, i)->pack);
        free(m->layers);
    }
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    ll_tokenizer_free(m->tok);
    ll_gguf_close(m->gguf);
    ll_st_close(m->st);
    if (m->map) munmap(m->map, m->map_size);
    free(m->path);
    free(m);
}

const char *ll_model_sha256(ll_model *m) {
    if (!m->sha256[0]) {
        if (m->gguf) ll_sha256_hex(m->gguf->base, m->gguf->size, m->sha256);
        else if (m->st) ll_sha256_hex(m->st->base, m->st->size, m->sha256);
        else if (m->map) ll_sha256_hex(m->map, m->map_size, m->sha256);
    }
    return m->sha256;
}
