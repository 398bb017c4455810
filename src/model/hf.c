/* hf.c — Hugging Face model directories: config.json (read with cJSON) for the hyperparameters, model.safetensors
 * for the weights. Each tensor is renamed to its GGUF name by the architecture's table (tensors.c) and, where
 * llama.cpp's converter transforms it, transformed the same way into memory the model owns: llama's Q/K rows
 * regrouped for adjacent-pair RoPE, Gemma's norm weights w stored as 1 + w, GPT-NeoX's fused Q/K/V rows regrouped
 * by projection. So the same model from safetensors and from its GGUF conversion is the same ll_model, and gives
 * the same bits. A tensor the table does not name is an error, except the few that carry nothing the forward
 * uses (each architecture lists them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "io/files.h"
#include "io/safetensors.h"
#include "model/model_impl.h"
#include "tensor/dtype.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

#define MAX_CONFIG (16u << 20)

/* a small text file (config.json and its siblings) through the project's input reader, refused past max bytes */
static char *read_text(const char *path, size_t max, size_t *len) {
    int fd = ll_open_input(path, "model configuration");
    if (fd < 0) return NULL;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_size > max) {
        close(fd);
        ll_fail("'%s' is larger than %zu bytes", path, max);
        return NULL;
    }
    size_t n = 0;
    char *buf = ll_read_fd(fd, path, &n);
    close(fd);
    if (len) *len = n;
    return buf;
}

/* a JSON object from a file, or NULL with the error set */
static cJSON *read_json(const char *path) {
    char *text = read_text(path, MAX_CONFIG, NULL);
    if (!text) return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        ll_fail("%s: not a JSON object", path);
        return NULL;
    }
    return j;
}

static bool file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* ---- config.json ---- */

typedef struct {
    const char *path;
    const cJSON *c;
} cfg_t;

static const cJSON *cfg_item(const cfg_t *c, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->c, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

/* an integer key: absent/null -> def (or an error when required) */
static int cfg_int(const cfg_t *c, const char *key, bool required, int def, int lo, int hi, int *out) {
    const cJSON *v = cfg_item(c, key);
    if (!v) {
        if (required) return ll_fail("%s: '%s' is missing", c->path, key);
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
        return ll_fail("%s: '%s' must be an integer in [%d, %d]", c->path, key, lo, hi);
    *out = (int)v->valuedouble;
    return 0;
}

static int cfg_num(const cfg_t *c, const char *key, bool required, double def, double *out) {
    const cJSON *v = cfg_item(c, key);
    if (!v) {
        if (required) return ll_fail("%s: '%s' is missing", c->path, key);
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return ll_fail("%s: '%s' must be a finite number", c->path, key);
    *out = v->valuedouble;
    return 0;
}

static int cfg_bool(const cfg_t *c, const char *key, bool def, bool *out) {
    const cJSON *v = cfg_item(c, key);
    if (!v) { *out = def; return 0; }
    if (!cJSON_IsBool(v)) return ll_fail("%s: '%s' must be true or false", c->path, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* a string key, or def when absent */
static const char *cfg_str(const cfg_t *c, const char *key, const char *def) {
    const cJSON *v = cfg_item(c, key);
    return v && cJSON_IsString(v) ? v->valuestring : def;
}

/* The activation must be the one the architecture's forward computes. */
static int want_act(const cfg_t *c, const char *key, const char *def, const char *want) {
    const char *a = cfg_str(c, key, def);
    if (!a || strcmp(a, want) != 0)
        return ll_fail("%s: %s '%.40s' is not supported for this architecture (layerlab computes '%s')", c->path, key,
                       a ? a : "(not a string)", want);
    return 0;
}

static int no_rope_scaling(const cfg_t *c) {
    const cJSON *rs = cfg_item(c, "rope_scaling");
    if (rs) {
        cfg_t sub = {c->path, rs};
        const char *type = cfg_str(&sub, "rope_type", cfg_str(&sub, "type", "?"));
        if (strcmp(type, "default") != 0)
            return ll_fail("%s: rope_scaling of type '%.40s' is not supported from config.json", c->path, type);
    }
    return 0;
}

/* RoPE: the base, and no scaling (transformers 4's rope_theta / rope_scaling, or 5's rope_parameters). */
static int cfg_rope(const cfg_t *c, const char *base_key, ll_model *m) {
    double base = 10000.0;
    const cJSON *rp = cfg_item(c, "rope_parameters");
    if (rp && cJSON_IsObject(rp)) {
        cfg_t sub = {c->path, rp};
        if (cfg_num(&sub, "rope_theta", false, 10000.0, &base)) return -1;
        const char *type = cfg_str(&sub, "rope_type", "default");
        if (strcmp(type, "default") != 0)
            return ll_fail("%s: rope_parameters.rope_type '%.40s' is not supported from config.json (only default)", c->path, type);
    } else if (cfg_num(c, base_key, false, 10000.0, &base)) {
        return -1;
    }
    if (no_rope_scaling(c)) return -1;
    m->rope_base = (float)base;
    return 0;
}

static int read_config(ll_model *m, const cfg_t *c, int *arch, bool *tied) {
    const char *mt = cfg_str(c, "model_type", NULL);
    if (!mt) return ll_fail("%s: 'model_type' is missing", c->path);
    int A = ARCH_NONE;
    bool tie_def = false;
    if (!strcmp(mt, "llama") || !strcmp(mt, "mistral")) A = ARCH_LLAMA;
    else if (!strcmp(mt, "qwen2")) A = ARCH_QWEN2;
    else if (!strcmp(mt, "qwen3")) A = ARCH_QWEN3;
    else if (!strcmp(mt, "gemma3_text")) A = ARCH_GEMMA3, tie_def = true;
    else if (!strcmp(mt, "gpt_neox")) A = ARCH_GPTNEOX;
    else if (!strcmp(mt, "bert")) A = ARCH_BERT;
    if (!A)
        return ll_fail("%s: model_type '%.40s' is not supported (layerlab reads llama, mistral, qwen2, qwen3, "
                       "gemma3_text, gpt_neox, bert)", c->path, mt);
    *arch = A;
    snprintf(m->arch, sizeof m->arch, "%s", ll_arch_desc_by_id(A)->name);
    const bool ln = A == ARCH_GPTNEOX || A == ARCH_BERT;
    double eps = 0;
    if (cfg_int(c, "num_hidden_layers", true, 0, 1, 4096, &m->n_layer) ||
        cfg_int(c, "hidden_size", true, 0, 1, 1 << 20, &m->n_embd) ||
        cfg_int(c, "intermediate_size", true, 0, 1, 1 << 20, &m->n_ff) ||
        cfg_int(c, "num_attention_heads", true, 0, 1, 4096, &m->n_head) ||
        cfg_int(c, "num_key_value_heads", false, m->n_head, 1, 4096, &m->n_head_kv) ||
        cfg_int(c, "max_position_embeddings", true, 0, 1, 1 << 24, &m->n_ctx_train) ||
        cfg_int(c, "head_dim", false, 0, 1, 1 << 20, &m->head_dim) ||
        cfg_int(c, "vocab_size", false, 0, 1, INT32_MAX, &m->n_vocab) ||
        cfg_num(c, ln ? "layer_norm_eps" : "rms_norm_eps", true, 0, &eps) ||
        cfg_bool(c, "tie_word_embeddings", tie_def, tied))
        return -1;
    m->rms_eps = (float)eps;
    switch (A) {
    case ARCH_LLAMA:
    case ARCH_QWEN2:
    case ARCH_QWEN3: {
        if (cfg_rope(c, "rope_theta", m) || want_act(c, "hidden_act", "silu", "silu")) return -1;
        bool mlp_bias = false, use_sw = A != ARCH_QWEN2;
        if (cfg_bool(c, "mlp_bias", false, &mlp_bias) || cfg_bool(c, "use_sliding_window", A != ARCH_QWEN2, &use_sw))
            return -1;
        if (mlp_bias) return ll_fail("%s: mlp_bias is not supported", c->path);
        if (use_sw && cfg_int(c, "sliding_window", false, 0, 0, 1 << 24, &m->sliding_window)) return -1;
        break;
    }
    case ARCH_GEMMA3: {
        double local = 10000.0, qscale = 0;
        int pattern = 6;
        /* transformers 5: rope_parameters per attention type {full_attention: {...}, sliding_attention: {...}} */
        const cJSON *rp = cfg_item(c, "rope_parameters");
        const cJSON *full = rp ? cJSON_GetObjectItemCaseSensitive(rp, "full_attention") : NULL;
        const cJSON *slide = rp ? cJSON_GetObjectItemCaseSensitive(rp, "sliding_attention") : NULL;
        if (full || slide) {
            if (!cJSON_IsObject(full) || !cJSON_IsObject(slide))
                return ll_fail("%s: rope_parameters needs both full_attention and sliding_attention", c->path);
            cfg_t f = {c->path, full}, sl = {c->path, slide};
            if (no_rope_scaling(c) || cfg_rope(&f, "rope_theta", m)) return -1;
            float global = m->rope_base;
            if (cfg_rope(&sl, "rope_theta", m)) return -1;
            local = m->rope_base;
            m->rope_base = global;
        } else if (cfg_rope(c, "rope_theta", m) || cfg_num(c, "rope_local_base_freq", false, 10000.0, &local)) {
            return -1;
        }
        if (cfg_int(c, "sliding_window", true, 0, 1, 1 << 24, &m->sliding_window) ||
            cfg_int(c, "sliding_window_pattern", false, 6, 1, 4096, &pattern) ||
            want_act(c, "hidden_activation", "gelu_pytorch_tanh", "gelu_pytorch_tanh"))
            return -1;
        if (pattern != 6) return ll_fail("%s: sliding_window_pattern %d is not supported (Gemma 3's is 6)", c->path, pattern);
        int hd = m->head_dim ? m->head_dim : m->n_embd / m->n_head;
        if (cfg_num(c, "query_pre_attn_scalar", false, hd, &qscale)) return -1;
        if (qscale != hd)
            return ll_fail("%s: query_pre_attn_scalar %g differs from head_dim %d: not supported", c->path, qscale, hd);
        if (cfg_item(c, "final_logit_softcapping") || cfg_item(c, "attn_logit_softcapping"))
            return ll_fail("%s: logit soft-capping is not supported", c->path);
        const cJSON *lt = cfg_item(c, "layer_types");
        if (lt) {
            if (!cJSON_IsArray(lt) || cJSON_GetArraySize(lt) != m->n_layer)
                return ll_fail("%s: layer_types must list the %d layers", c->path, m->n_layer);
            for (int l = 0; l < m->n_layer; l++) {
                const cJSON *s = cJSON_GetArrayItem(lt, l);
                const char *want = (l + 1) % 6 ? "sliding_attention" : "full_attention";
                if (!cJSON_IsString(s) || strcmp(s->valuestring, want) != 0)
                    return ll_fail("%s: layer_types[%d] must be '%s' (layerlab runs Gemma 3's 5 local : 1 global "
                                   "pattern)", c->path, l, want);
            }
        }
        m->rope_base_swa = (float)local;
        break;
    }
    case ARCH_GPTNEOX: {
        double pct = 1.0;
        bool par = true;
        if (cfg_rope(c, "rotary_emb_base", m) || want_act(c, "hidden_act", "gelu", "gelu") ||
            cfg_bool(c, "use_parallel_residual", true, &par))
            return -1;
        const cJSON *rp = cfg_item(c, "rope_parameters");
        cfg_t sub = {c->path, rp};
        if (rp && cJSON_IsObject(rp) && cfg_item(&sub, "partial_rotary_factor")) {
            if (cfg_num(&sub, "partial_rotary_factor", false, 1.0, &pct)) return -1;
        } else if (cfg_num(c, cfg_item(c, "rotary_pct") ? "rotary_pct" : "partial_rotary_factor", false, 1.0, &pct)) {
            return -1;
        }
        if (!(pct > 0 && pct <= 1)) return ll_fail("%s: rotary_pct must be in (0, 1]", c->path);
        int hd = m->n_embd / m->n_head;
        m->rope_dim = (int)(pct * hd);   /* as transformers and llama.cpp's converter round it */
        m->parallel_residual = par;
        break;
    }
    case ARCH_BERT: {
        if (want_act(c, "hidden_act", "gelu", "gelu") ||
            want_act(c, "position_embedding_type", "absolute", "absolute") ||
            cfg_int(c, "type_vocab_size", false, 2, 1, 1 << 16, &m->n_tok_types))
            return -1;
        bool dec = false;
        if (cfg_bool(c, "is_decoder", false, &dec)) return -1;
        if (dec) return ll_fail("%s: a BERT decoder (is_decoder) is not supported", c->path);
        break;
    }
    }
    return 0;
}

/* ---- tensors ---- */

typedef struct {
    ll_model *m;
    const ll_st *st;
    char *used;
    ll_gguf_tensor *out;
    uint64_t n_out;
    char *names;       /* arena of GGUF names */
    size_t names_len, names_cap;
} hf_ctx;

static const ll_gguf_tensor *st_find(const ll_st *st, const char *name) { return ll_st_find_tensor(st, name); }

/* a copy of t's bytes the model owns, aligned */
static void *own_copy(ll_model *m, const ll_gguf_tensor *t) {
    void *p = NULL;
    if (posix_memalign(&p, 64, t->nbytes ? t->nbytes : 1) != 0) { ll_fail("out of memory (%zu bytes)", t->nbytes); return NULL; }
    if (!ll_model_own(m, p)) return NULL;
    if (t->nbytes) memcpy(p, t->data, t->nbytes);
    return p;
}

/* dst row r <- src row map(r), rows of rb bytes */
static void regroup(char *dst, const char *src, size_t rb, int64_t nrows, int kind, int n_head, int hd) {
    for (int64_t r = 0; r < nrows; r++) {
        int64_t from;
        if (kind == HF_QKV_HEADS) {   /* GGUF (c, h, i) <- HF (h, c, i) */
            int64_t c = r / ((int64_t)n_head * hd), h = r / hd % n_head, i = r % hd;
            from = (h * 3 + c) * hd + i;
        } else {                      /* GGUF (h, i, j) <- HF (h, j, i): i < hd/2, j < 2 */
            int64_t h = r / hd, w = r % hd, i = w / 2, j = w % 2;
            from = h * hd + j * (hd / 2) + i;
        }
        memcpy(dst + (size_t)r * rb, src + (size_t)from * rb, rb);
    }
}

static int add_tensor(hf_ctx *c, const char *gguf_name, const ll_gguf_tensor *src, unsigned flags) {
    ll_model *m = c->m;
    ll_gguf_tensor t = *src;
    const ll_type_traits *tt = ll_type_get(t.type);
    size_t esz = t.type == LL_TYPE_F32 ? 4 : 2;
    if (!tt || (t.type != LL_TYPE_F32 && t.type != LL_TYPE_F16 && t.type != LL_TYPE_BF16))
        return ll_fail("%s: tensor '%s' has dtype %s; layerlab reads F32, F16 and BF16 weights from safetensors",
                       c->st->path, src->name.s, c->st->dtype[src - c->st->tensors]);
    int perm = flags & (HF_PERM | HF_PERM_KV | HF_QKV_HEADS);
    bool misaligned = (uintptr_t)t.data % esz != 0;
    if (perm || misaligned || (flags & HF_PLUS1)) {
        void *p = own_copy(m, &t);
        if (!p) return -1;
        if (perm) {
            /* rows: ne[1] for a matrix, the elements of a vector */
            bool vec = t.n_dims == 1;
            int64_t nrows = vec ? t.ne[0] : t.ne[1];
            size_t rb = vec ? esz : t.nbytes / (size_t)(nrows ? nrows : 1);
            int nh = flags & HF_PERM_KV ? m->n_head_kv : m->n_head, hd = m->head_dim;
            int64_t want = flags & HF_QKV_HEADS ? (int64_t)3 * m->n_head * hd : (int64_t)nh * hd;
            if (nrows != want)
                return ll_fail("%s: tensor '%s' has %lld rows, expected %lld", c->st->path, src->name.s,
                               (long long)nrows, (long long)want);
            regroup(p, t.data, rb, nrows, flags & HF_QKV_HEADS ? HF_QKV_HEADS : HF_PERM, nh, hd);
        }
        if (flags & HF_PLUS1) {   /* to fp32: 1 + w */
            if (t.n_dims != 1) return ll_fail("%s: tensor '%s' should be a vector", c->st->path, src->name.s);
            float *f = ll_model_own(m, ll_malloc((size_t)(t.ne[0] ? t.ne[0] : 1) * sizeof *f));
            if (!f) return -1;
            tt->to_float(p, f, t.ne[0]);
            for (int64_t i = 0; i < t.ne[0]; i++) f[i] += 1.0f;
            t.type = LL_TYPE_F32;
            t.nbytes = (size_t)t.ne[0] * 4;
            p = f;
        }
        t.data = p;
    }
    size_t len = strlen(gguf_name) + 1;
    if (c->names_len + len > c->names_cap) return ll_fail("internal: tensor name arena too small");
    memcpy(c->names + c->names_len, gguf_name, len);
    t.name.s = c->names + c->names_len;
    t.name.n = len - 1;
    c->names_len += len;
    c->out[c->n_out++] = t;
    c->used[src - c->st->tensors] = 1;
    return 0;
}

int ll_hf_load(ll_model *m, const char *path, ll_tset *ts) {
    /* the directory, the weights, the config */
    struct stat sb;
    bool isdir = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    size_t plen = strlen(path);
    char *dir = ll_model_own(m, ll_malloc(plen + 2)), *buf = ll_model_own(m, ll_malloc(plen + 64));
    if (!dir || !buf) return -1;
    memcpy(dir, path, plen + 1);
    if (!isdir) {
        char *slash = strrchr(dir, '/');
        if (slash) slash[1] = 0;
        else strcpy(dir, "./");
    } else if (plen && dir[plen - 1] != '/') {
        strcat(dir, "/");
    }
    const char *weights = path;
    if (isdir) {
        snprintf(buf, plen + 64, "%smodel.safetensors", dir);
        if (!file_exists(buf)) {
            snprintf(buf, plen + 64, "%smodel.safetensors.index.json", dir);
            if (file_exists(buf))
                return ll_fail("%s: sharded safetensors checkpoints (model.safetensors.index.json) are not supported; "
                               "merge the shards into one model.safetensors", path);
            return ll_fail("'%s' is a directory without model.safetensors (a Hugging Face model directory holds "
                           "config.json and model.safetensors)", path);
        }
        weights = ll_model_own(m, ll_strndup(buf, strlen(buf)));
        if (!weights) return -1;
    }
    char cpath[4096];
    snprintf(cpath, sizeof cpath, "%sconfig.json", dir);
    if (!file_exists(cpath)) return ll_fail("%s: config.json is missing beside the weights (looked for %s)", path, cpath);
    cJSON *root = read_json(cpath);
    if (!root) return -1;
    cfg_t cfg = {cpath, root};
    int A = 0;
    bool tied = false;
    int rc = read_config(m, &cfg, &A, &tied);
    cJSON_Delete(root);
    if (rc || ll_model_finish_hparams(m, cpath)) return -1;

    /* the tokenizer: WordPiece tokenizer.json (bert); decoders' tokenizers are read from GGUF files only */
    char tpath[4096];
    snprintf(tpath, sizeof tpath, "%stokenizer.json", dir);
    if (A == ARCH_BERT && file_exists(tpath) && !(m->tok = ll_tokenizer_from_hf_json(tpath))) return -1;
    if (A == ARCH_BERT) {   /* sentence-transformers' pooling, when the directory has it */
        snprintf(tpath, sizeof tpath, "%s1_Pooling/config.json", dir);
        cJSON *pj = NULL;
        if (file_exists(tpath)) {
            if (!(pj = read_json(tpath))) return -1;
            cfg_t pc = {tpath, pj};
            bool mean = false, cls = false;
            rc = cfg_bool(&pc, "pooling_mode_mean_tokens", false, &mean) || cfg_bool(&pc, "pooling_mode_cls_token", false, &cls);
            cJSON_Delete(pj);
            if (rc) return -1;
            m->pooling = mean ? LL_POOL_MEAN : cls ? LL_POOL_CLS : LL_POOL_NONE;
        }
        snprintf(tpath, sizeof tpath, "%ssentence_bert_config.json", dir);
        if (file_exists(tpath)) {
            if (!(pj = read_json(tpath))) return -1;
            cfg_t pc = {tpath, pj};
            rc = cfg_int(&pc, "max_seq_length", false, 0, 1, m->n_ctx_train, &m->max_seq_len);
            cJSON_Delete(pj);
            if (rc) return -1;
        }
        snprintf(tpath, sizeof tpath, "%smodules.json", dir);
        if (file_exists(tpath)) {
            char *pt = read_text(tpath, MAX_CONFIG, NULL);
            m->pool_normalize = pt && strstr(pt, "sentence_transformers.models.Normalize") != NULL;
            free(pt);
        }
    }

    if (!(m->st = ll_st_open(weights))) return -1;
    const ll_st *st = m->st;
    const ll_arch_desc *d = ll_arch_desc_by_id(A);
    hf_ctx c = {m, st, NULL, NULL, 0, NULL, 0, 0};
    c.used = ll_model_own(m, ll_calloc(st->n_tensors ? st->n_tensors : 1, 1));
    c.out = ll_model_own(m, ll_calloc(st->n_tensors ? st->n_tensors : 1, sizeof *c.out));
    c.names_cap = (size_t)(st->n_tensors + 1) * 64;
    c.names = ll_model_own(m, ll_malloc(c.names_cap));
    if (!c.used || !c.out || !c.names) return -1;
    /* BertModel's names, or a task model's (BertFor...: "bert." before them) */
    const char *pfx = A == ARCH_BERT && st_find(st, "bert.embeddings.word_embeddings.weight") ? "bert." : "";
    for (int l = -1; l < m->n_layer; l++) {
        for (int k = 0; k < d->n_specs; k++) {
            const ll_tspec *s = &d->specs[k];
            if (!s->hf || (l < 0) != !!(s->flags & TS_MODEL)) continue;
            char hn[256], gn[128];
            if (l < 0) {
                snprintf(hn, sizeof hn, "%s%s", pfx, s->hf);
                snprintf(gn, sizeof gn, "%s", s->gguf);
            } else {
                char lp[64];
                snprintf(lp, sizeof lp, d->hf_layer, l);
                snprintf(hn, sizeof hn, "%s%s%s", pfx, lp, s->hf);
                snprintf(gn, sizeof gn, "blk.%d.%s", l, s->gguf);
            }
            const ll_gguf_tensor *t = st_find(st, hn);
            if (!t) {
                if (s->flags & TS_REQ) return ll_fail("%s: tensor '%s' is missing", st->path, hn);
                if (!strcmp(s->gguf, "output.weight") && !tied)
                    return ll_fail("%s: tensor '%s' is missing and config.json does not tie the head to the embeddings",
                                   st->path, hn);
                continue;
            }
            if (add_tensor(&c, gn, t, s->flags)) return -1;
        }
    }
    for (uint64_t i = 0; i < st->n_tensors; i++) {
        if (c.used[i]) continue;
        const char *nm = st->tensors[i].name.s;
        size_t nl = strlen(nm);
        bool ignore = false;
        for (const char *const *ig = d->hf_ignore; *ig && !ignore; ig++) {
            size_t il = strlen(*ig);
            ignore = nl >= il && !strcmp(nm + nl - il, *ig);
        }
        if (!ignore)
            return ll_fail("%s: tensor '%.80s' is not supported by layerlab's %s engine (it would be ignored)", st->path,
                           nm, m->arch);
    }
    ts->path = st->path;
    ts->t = c.out;
    ts->n = c.n_out;
    return 0;
}
