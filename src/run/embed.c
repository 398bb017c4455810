/* embed.c — sentence embeddings (see embed.h). */
#include "run/embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"
#include "util/err.h"

ll_embed_opts ll_embed_default_opts(void) {
    ll_embed_opts o;
    memset(&o, 0, sizeof o);
    o.pool = -1;
    o.normalize = -1;
    o.exact = true;
    o.n_threads = 2;
    return o;
}

static int effective_max_len(const ll_model *m, int max_len) {
    int lim = m->n_ctx_train;
    if (m->sliding_window > 0 && m->sliding_window < lim) lim = m->sliding_window;
    if (max_len <= 0) max_len = m->max_seq_len > 0 ? m->max_seq_len : lim;
    return max_len < lim ? max_len : lim;
}

int ll_embed_ids(const ll_model *m, const char *text, int max_len, int32_t **ids, int *n, bool *truncated) {
    *ids = NULL;
    *n = 0;
    if (truncated) *truncated = false;
    if (!m->tok) return ll_fail("%s: the model has no tokenizer to embed text with", m->path);
    max_len = effective_max_len(m, max_len);
    int32_t *raw = NULL;
    size_t nr = 0;
    const bool wpm = ll_tok_kind(m->tok) == LL_TOK_WPM;
    /* BERT: [CLS] text [SEP] (sentence-transformers); decoders: the model's BOS rule */
    if (ll_tokenize(m->tok, text, strlen(text), wpm ? false : ll_tok_default_bos(m->tok), false, &raw, &nr)) return -1;
    int32_t cls = ll_tok_bos(m->tok), sep = ll_tok_eos(m->tok);
    int extra = wpm ? (cls >= 0) + (sep >= 0) : 0;
    if (max_len < extra + 1) { free(raw); return ll_fail("max_len %d leaves no room for text tokens", max_len); }
    size_t keep = nr;
    if ((long long)nr + extra > max_len) {
        keep = (size_t)(max_len - extra);
        if (truncated) *truncated = true;
    }
    int32_t *out = ll_malloc((keep + (size_t)extra + 1) * sizeof *out);
    if (!out) { free(raw); return -1; }
    int k = 0;
    if (wpm && cls >= 0) out[k++] = cls;
    for (size_t i = 0; i < keep; i++) out[k++] = raw[i];
    if (wpm && sep >= 0) out[k++] = sep;
    free(raw);
    if (k == 0) { free(out); return ll_fail("the text has no tokens"); }
    *ids = out;
    *n = k;
    return 0;
}

void ll_embed_pool(const float *hidden, int T, int D, int pool, bool normalize, float *out) {
    if (pool == LL_POOL_CLS) {
        memcpy(out, hidden, (size_t)D * sizeof *out);
    } else {
        for (int i = 0; i < D; i++) {
            double s = 0;
            for (int t = 0; t < T; t++) s += hidden[(size_t)t * D + i];
            out[i] = (float)(s / T);
        }
    }
    if (normalize) {   /* as torch.nn.functional.normalize: x / max(||x||, 1e-12) */
        double ss = 0;
        for (int i = 0; i < D; i++) ss += (double)out[i] * out[i];
        double nrm = sqrt(ss);
        if (nrm < 1e-12) nrm = 1e-12;
        for (int i = 0; i < D; i++) out[i] = (float)(out[i] / nrm);
    }
}

int ll_embed_texts(ll_model *m, const char *const *texts, int n, const ll_embed_opts *o, ll_embed_result *r) {
    memset(r, 0, sizeof *r);
    if (n < 1) return ll_fail("no texts to embed");
    const int D = m->n_embd, max_len = effective_max_len(m, o->max_len);
    r->pool = o->pool >= 0 ? o->pool : m->pooling != LL_POOL_NONE ? m->pooling : LL_POOL_MEAN;
    if (r->pool != LL_POOL_MEAN && r->pool != LL_POOL_CLS) return ll_fail("pooling must be mean or cls");
    r->normalized = o->normalize >= 0 ? o->normalize == 1 : m->pool_normalize;
    r->n = n;
    r->dim = D;
    r->vec = ll_malloc((size_t)n * D * sizeof *r->vec);
    r->n_tokens = ll_calloc((size_t)n, sizeof *r->n_tokens);
    float *hidden = ll_malloc((size_t)max_len * D * sizeof *hidden);
    ll_engine_opts eo = {.n_ctx = max_len, .n_threads = o->n_threads, .exact = o->exact};
    ll_engine *e = r->vec && r->n_tokens && hidden ? ll_engine_new(m, o->order, &eo) : NULL;
    int rc = -1;
    if (!e) goto done;
    for (int i = 0; i < n; i++) {
        int32_t *ids;
        int T;
        bool cut;
        if (ll_embed_ids(m, texts[i], max_len, &ids, &T, &cut)) { ll_fail_prefix("text %d: ", i + 1); goto done; }
        r->n_tokens[i] = T;
        r->n_truncated += cut;
        int frc = ll_engine_forward_hidden(e, ids, T, 0, hidden);
        free(ids);
        if (frc) { ll_fail_prefix("text %d: ", i + 1); goto done; }
        ll_embed_pool(hidden, T, D, r->pool, r->normalized, r->vec + (size_t)i * D);
        if (o->progress) o->progress(o->progress_ctx, i + 1, n, NULL);
    }
    rc = 0;
done:
    ll_engine_free(e);
    free(hidden);
    if (rc) ll_embed_result_free(r);
    return rc;
}

void ll_embed_result_free(ll_embed_result *r) {
    free(r->vec);
    free(r->n_tokens);
    memset(r, 0, sizeof *r);
}
