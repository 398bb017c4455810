/* run.c — a task's items through an engine, scored as lm-eval scores them, and aggregated; perplexity over
 * windows of a token stream. The `eval` and `ppl` commands and the studies call these; nothing here prints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"
#include "util/clock.h"
#include "util/err.h"

enum { TREE_ROWS = 1024 };   /* logits rows for one item's requests in one forward (200 MB at 49152 vocab) */

void ll_eval_default_opts(ll_eval_opts *o) {
    memset(o, 0, sizeof *o);
    o->limit = -1;
    o->max_gen = 256;
    o->bootstrap_iters = 100000;
    o->n_threads = 2;
    o->exact = true;
    o->batch_tokens = 512;
}

static void progress(const ll_eval_opts *o, long done, long total, const char *fmt, double v) {
    if (!o->progress) return;
    char ex[64];
    snprintf(ex, sizeof ex, fmt, v);
    o->progress(o->progress_ctx, done, total, ex);
}

static ll_engine *make_engine(ll_model *m, const ll_eval_opts *o, int n_ctx) {
    ll_engine_opts eo = {.n_ctx = n_ctx, .n_threads = o->n_threads, .exact = o->exact,
                         .parallel_kv_mean = o->parallel_kv_mean};
    ll_engine *e = ll_engine_new(m, o->order, &eo);
    if (e && o->layer_progress) ll_engine_set_progress(e, o->layer_progress, o->progress_ctx);
    return e;
}

static int n_items(const ll_eval_task *t, const ll_eval_opts *o) {
    return o->limit >= 0 && o->limit < t->n_items ? (int)o->limit : t->n_items;
}

static const char *path_of(const ll_eval_task *t) { return t->path ? t->path : t->name; }

/* ---- a session: items tokenized, an engine sized for them ---- */

struct ll_eval_session {
    ll_model *m;
    const ll_eval_task *t;
    ll_eval_opts o;
    int n;                   /* items in the session */
    int *items;              /* [n] task item indices */
    ll_eval_toks **toks;     /* loglikelihood tasks: [n][n_req] */
    int rows;                /* logits rows */
    char **prompts;          /* gsm8k: [n] */
    int32_t **ids;           /* gsm8k prompt tokens [n] */
    int *n_ids;
    float *logits;
    ll_engine *e;
    long long n_tokens, n_truncated;
    int n_ctx;
    int batch;               /* tokens of one batched forward (<= the engine's context); <= 1: no batching */
    int *cost_tok, *cost_rows;   /* [n] each item's tokens and logits rows in a batch */
};

static int begin_loglik(ll_eval_session *S) {
    const ll_eval_task *t = S->t;
    const ll_eval_opts *o = &S->o;
    ll_model *m = S->m;
    if (!(S->toks = ll_calloc((size_t)S->n, sizeof *S->toks))) return -1;
    /* tokenize every request first: the longest input sizes the KV cache */
    int max_in = 1;
    long long max_item = 0;
    for (int k = 0; k < S->n; k++) {
        const ll_eval_item *it = &t->items[S->items[k]];
        long long item_in = 0;
        if (it->n_req > 64) return ll_fail("%s:%ld: more than 64 choices", path_of(t), it->line);
        if (!(S->toks[k] = ll_calloc((size_t)(it->n_req ? it->n_req : 1), sizeof **S->toks))) return -1;
        for (int q = 0; q < it->n_req; q++) {
            if (ll_eval_encode(m->tok, o->bos, &it->req[q], &S->toks[k][q])) return ll_fail_prefix("%s:%ld: ", path_of(t), it->line);
            ll_eval_toks *x = &S->toks[k][q];
            int in = x->n_ctx + x->n_cont - 1;
            if (in > o->max_len) {   /* lm-eval: (context + continuation)[-(max_length + 1):][:-1] */
                if (x->n_cont > o->max_len)
                    return ll_fail("%s:%ld: a continuation of %d tokens is longer than the maximum length of %d",
                                   path_of(t), it->line, x->n_cont, o->max_len);
                int drop = in - o->max_len;   /* < n_ctx, since n_cont <= max_len */
                memmove(x->ctx, x->ctx + drop, (size_t)(x->n_ctx - drop) * sizeof *x->ctx);
                x->n_ctx -= drop;
                in = o->max_len;
                S->n_truncated++;
            }
            if (in > max_in) max_in = in;
            S->n_tokens += in;
            item_in += in;
        }
        if (item_in > max_item) max_item = item_in;
    }
    /* an item's requests run as one tree forward after their shared prefix when that fits in the rows
     * below (at most the sum of their inputs); longer items run request by request */
    int rows = max_in;
    if (max_item > rows) rows = max_item < TREE_ROWS ? (int)max_item : TREE_ROWS;
    if (rows > m->n_ctx_train) rows = m->n_ctx_train;
    if (rows < max_in) rows = max_in;
    S->rows = rows;
    S->n_ctx = max_in;
    /* batching: the engine's cache holds a batch's tokens (slots; positions stay each item's own) */
    int ctx = rows;
    S->batch = o->batch_tokens < m->n_ctx_train ? o->batch_tokens : m->n_ctx_train;
    if (m->sliding_window > 0 && S->batch > m->sliding_window) S->batch = m->sliding_window;
    /* --parallel-kv mean averages a group's K/V after each forward: the continuations of a batched item
     * would read its prefix's K/V before the averaging, those of an item alone after it */
    if (o->parallel_kv_mean) S->batch = 0;
    if (S->batch > 1) {
        if (!(S->cost_tok = ll_malloc((size_t)S->n * sizeof *S->cost_tok)) ||
            !(S->cost_rows = ll_malloc((size_t)S->n * sizeof *S->cost_rows)))
            return -1;
        for (int k = 0; k < S->n; k++)
            ll_eval_batch_cost(S->toks[k], t->items[S->items[k]].n_req, &S->cost_tok[k], &S->cost_rows[k]);
        if (S->batch > ctx) ctx = S->batch;
    }
    if (!(S->e = make_engine(m, o, ctx))) return -1;
    if (!(S->logits = ll_malloc((size_t)rows * (size_t)m->n_vocab * sizeof *S->logits))) return -1;
    return 0;
}

static int fill_loglik(ll_eval_session *S, int k, const double *ll, const bool *greedy, ll_eval_item_result *ir);

static int item_loglik(ll_eval_session *S, int k, ll_eval_item_result *ir) {
    const ll_eval_task *t = S->t;
    int i = S->items[k];
    const ll_eval_item *it = &t->items[i];
    double ll[64];
    bool greedy[64];
    memset(ir, 0, sizeof *ir);
    if (ll_eval_score(S->e, S->m->n_vocab, S->toks[k], it->n_req, S->logits, S->rows, ll, greedy))
        return ll_fail_prefix("%s item %d (%s:%ld): ", t->name, i, path_of(t), it->line);
    return fill_loglik(S, k, ll, greedy, ir);
}

int ll_eval_item_score(const ll_eval_task *t, int i, ll_eval_item_result *ir) {
    const ll_eval_item *it = &t->items[i];
    if (t->kind == LL_EVAL_GEN) return 0;
    if (ir->n_req != it->n_req) return ll_fail("%s item %d: %d loglikelihoods for %d requests", t->name, i, ir->n_req, it->n_req);
    if (t->kind == LL_EVAL_LOGLIK) {
        ir->acc = ir->greedy[0] ? 1.0 : 0.0;
        return 0;
    }
    int pred = 0, pred_norm = 0;
    double norm[64];
    for (int q = 0; q < it->n_req && q < 64; q++) {
        norm[q] = ir->ll[q] / (double)ll_utf8_len(it->choices[q]);
        if (ir->ll[q] > ir->ll[pred]) pred = q;
        if (norm[q] > norm[pred_norm]) pred_norm = q;
    }
    ir->pred = pred;
    ir->pred_norm = pred_norm;
    ir->acc = pred == it->gold;
    ir->acc_norm = pred_norm == it->gold;
    return 0;
}

/* the per-item result of scored requests */
static int fill_loglik(ll_eval_session *S, int k, const double *ll, const bool *greedy, ll_eval_item_result *ir) {
    const ll_eval_task *t = S->t;
    int i = S->items[k];
    const ll_eval_item *it = &t->items[i];
    memset(ir, 0, sizeof *ir);
    ir->n_req = it->n_req;
    if (!(ir->ll = ll_calloc((size_t)it->n_req, sizeof *ir->ll)) ||
        !(ir->greedy = ll_calloc((size_t)it->n_req, sizeof *ir->greedy)) ||
        !(ir->n_cont = ll_calloc((size_t)it->n_req, sizeof *ir->n_cont)))
        return -1;
    for (int q = 0; q < it->n_req; q++) {
        ir->ll[q] = ll[q];
        ir->greedy[q] = greedy[q];
        ir->n_cont[q] = S->toks[k][q].n_cont;
    }
    return ll_eval_item_score(t, i, ir);
}

/* items k..k+n-1 one per forward, into r[0..n); on an error the results made so far are freed */
static int one_by_one(ll_eval_session *S, int k, int n, ll_eval_item_result *r, int *n_done) {
    for (int j = 0; j < n; j++)
        if (ll_eval_run_item(S, k + j, &r[j])) {
            for (int q = 0; q < j; q++) ll_eval_item_result_free(&r[q]);
            return -1;
        }
    *n_done = n;
    return 0;
}

int ll_eval_run_batch(ll_eval_session *S, int k, int max_n, ll_eval_item_result *r, int *n_done) {
    *n_done = 0;
    if (k < 0 || k >= S->n || max_n < 1) return ll_fail("items %d.. (%d) of a session of %d", k, max_n, S->n);
    int n = 0, tok = 0, rows = 0;
    if (S->t->kind != LL_EVAL_GEN && S->batch > 1)
        while (n < max_n && k + n < S->n && tok + S->cost_tok[k + n] <= S->batch && rows + S->cost_rows[k + n] <= S->rows &&
               S->t->items[S->items[k + n]].n_req > 0) {
            tok += S->cost_tok[k + n];
            rows += S->cost_rows[k + n];
            n++;
        }
    if (n <= 1) return one_by_one(S, k, 1, r, n_done);   /* too long to share a forward, or gsm8k */
    const ll_eval_toks **items = ll_malloc((size_t)n * sizeof *items);
    int *n_req = ll_malloc((size_t)n * sizeof *n_req);
    double *llv = ll_malloc((size_t)n * 64 * sizeof *llv), **llp = ll_malloc((size_t)n * sizeof *llp);
    bool *gr = ll_malloc((size_t)n * 64 * sizeof *gr), **grp = ll_malloc((size_t)n * sizeof *grp);
    int rc = !items || !n_req || !llv || !llp || !gr || !grp ? -1 : 0;
    for (int j = 0; !rc && j < n; j++) {
        items[j] = S->toks[k + j];
        n_req[j] = S->t->items[S->items[k + j]].n_req;
        llp[j] = llv + (size_t)j * 64;
        grp[j] = gr + (size_t)j * 64;
    }
    /* a batch that fails (a non-finite value, say) runs its items one at a time, so the error names the item
     * and its position as it would without batching */
    bool failed = !rc && ll_eval_score_batch(S->e, S->m->n_vocab, items, n_req, n, S->logits, llp, grp);
    for (int j = 0; !rc && !failed && j < n; j++)
        if (fill_loglik(S, k + j, llp[j], grp[j], &r[j])) {
            for (int q = 0; q <= j; q++) ll_eval_item_result_free(&r[q]);
            rc = -1;
        }
    free(items);
    free(n_req);
    free(llv);
    free(llp);
    free(gr);
    free(grp);
    if (failed) {
        ll_clear_error();
        return one_by_one(S, k, n, r, n_done);
    }
    if (!rc) *n_done = n;
    return rc;
}

static int begin_gen(ll_eval_session *S) {
    const ll_eval_task *t = S->t;
    const ll_eval_opts *o = &S->o;
    ll_model *m = S->m;
    int n = S->n, last = 0;
    for (int k = 0; k < n; k++) last = S->items[k] > last ? S->items[k] : last;
    if (!(S->ids = ll_calloc((size_t)(n ? n : 1), sizeof *S->ids)) || !(S->n_ids = ll_calloc((size_t)(n ? n : 1), sizeof *S->n_ids)) ||
        !(S->prompts = ll_calloc((size_t)(n ? n : 1), sizeof *S->prompts)) ||
        !(S->logits = ll_malloc((size_t)m->n_vocab * sizeof *S->logits)))
        return -1;
    /* the prompts of items 0..last (one random.Random(1234) runs through the items in order) */
    char **all = NULL;
    if (n && ll_eval_fewshot_prompts(t, last + 1, 1234, &all)) return -1;
    for (int k = 0; k < n; k++) {
        S->prompts[k] = all[S->items[k]];
        all[S->items[k]] = NULL;
    }
    for (int i = 0; n && i <= last; i++) free(all[i]);
    free(all);
    /* lm-eval keeps the last max_length - max_gen_toks prompt tokens */
    int max_prompt = o->max_len - o->max_gen, longest = 1;
    if (max_prompt < 1) return ll_fail("the maximum length of %d leaves no room for %d generated tokens", o->max_len, o->max_gen);
    for (int k = 0; k < n; k++) {
        size_t len;
        if (ll_tokenize(m->tok, S->prompts[k], strlen(S->prompts[k]), o->bos, true, &S->ids[k], &len)) return -1;
        if ((long long)len > max_prompt) {
            memmove(S->ids[k], S->ids[k] + (len - (size_t)max_prompt), (size_t)max_prompt * sizeof **S->ids);
            len = (size_t)max_prompt;
        }
        S->n_ids[k] = (int)len;
        if (S->n_ids[k] > longest) longest = S->n_ids[k];
    }
    S->n_ctx = longest + o->max_gen;
    if (!(S->e = make_engine(m, o, longest + o->max_gen))) return -1;
    return 0;
}

int ll_eval_gen_answer(ll_engine *e, const ll_tokenizer *tok, int n_vocab, const int32_t *ids, int n, int max_gen,
                       const char *target, float *logits, ll_eval_item_result *ir) {
    memset(ir, 0, sizeof *ir);
    /* lm-eval's stop strings, plus the decoded EOS token */
    const char *stops[4] = {"Question:", "</s>", "<|im_end|>", NULL};
    int n_stops = 3;
    int32_t eos = ll_tok_eos(tok);
    char *eos_text = eos >= 0 ? ll_detokenize(tok, &eos, 1, true, NULL) : NULL;
    if (eos_text) {
        bool have = false;
        for (int q = 0; q < n_stops; q++) have |= !strcmp(stops[q], eos_text);
        if (!have && *eos_text) stops[n_stops++] = eos_text;
    }
    char *ns = NULL, *nf = NULL;
    int rc = 0;
    if (ll_eval_generate(e, tok, n_vocab, ids, n, max_gen, eos, stops, n_stops, logits, &ir->response, &ir->n_gen) ||
        !(ir->strict = ll_gsm8k_strict(ir->response)) || !(ir->flexible = ll_gsm8k_flexible(ir->response)) ||
        !(ir->gold = ll_gsm8k_normalize(target)) || !(ns = ll_gsm8k_normalize(ir->strict)) ||
        !(nf = ll_gsm8k_normalize(ir->flexible)))
        rc = -1;
    else {
        ir->em_strict = !strcmp(ns, ir->gold);
        ir->em_flexible = !strcmp(nf, ir->gold);
    }
    free(ns);
    free(nf);
    free(eos_text);
    return rc;
}

static int item_gen(ll_eval_session *S, int k, ll_eval_item_result *ir) {
    const ll_eval_task *t = S->t;
    int i = S->items[k];
    if (ll_eval_gen_answer(S->e, S->m->tok, S->m->n_vocab, S->ids[k], S->n_ids[k], S->o.max_gen, t->items[i].target,
                           S->logits, ir))
        return ll_fail_prefix("%s item %d (%s:%ld): ", t->name, i, path_of(t), t->items[i].line);
    return 0;
}

void ll_eval_end(ll_eval_session *S) {
    if (!S) return;
    if (S->toks)
        for (int k = 0; k < S->n; k++) {
            if (!S->toks[k]) continue;
            for (int q = 0; q < S->t->items[S->items[k]].n_req; q++) ll_eval_toks_free(&S->toks[k][q]);
            free(S->toks[k]);
        }
    free(S->toks);
    if (S->ids)
        for (int k = 0; k < S->n; k++) free(S->ids[k]);
    free(S->ids);
    free(S->n_ids);
    if (S->prompts)
        for (int k = 0; k < S->n; k++) free(S->prompts[k]);
    free(S->prompts);
    free(S->logits);
    free(S->items);
    free(S->cost_tok);
    free(S->cost_rows);
    ll_engine_free(S->e);
    free(S);
}

ll_eval_session *ll_eval_begin(ll_model *m, const ll_eval_task *t, const int *items, int n, const ll_eval_opts *opts) {
    if (!m->tok) { ll_fail("%s: a llama2.c checkpoint needs a tokenizer", m->path); return NULL; }
    if (opts->bos && ll_tok_bos(m->tok) < 0) { ll_fail("--bos: the model has no BOS token"); return NULL; }
    if (opts->max_len > m->n_ctx_train) {
        ll_fail("the maximum length %d is beyond the model's context of %d", opts->max_len, m->n_ctx_train);
        return NULL;
    }
    ll_eval_session *S = ll_calloc(1, sizeof *S);
    if (!S) return NULL;
    S->m = m;
    S->t = t;
    S->o = *opts;
    if (S->o.max_len == 0) S->o.max_len = m->n_ctx_train;   /* lm-eval's hf backend: max_position_embeddings */
    S->n = n;
    if (!(S->items = ll_malloc((size_t)(n ? n : 1) * sizeof *S->items))) { free(S); return NULL; }
    for (int k = 0; k < n; k++) {
        if (items[k] < 0 || items[k] >= t->n_items) {
            ll_fail("%s: item %d does not exist (the task has %d)", t->name, items[k], t->n_items);
            ll_eval_end(S);
            return NULL;
        }
        S->items[k] = items[k];
    }
    if (t->kind == LL_EVAL_GEN ? begin_gen(S) : begin_loglik(S)) {
        ll_eval_end(S);
        return NULL;
    }
    return S;
}

int ll_eval_run_item(ll_eval_session *S, int k, ll_eval_item_result *r) {
    if (k < 0 || k >= S->n) return ll_fail("item %d of a session of %d", k, S->n);
    return S->t->kind == LL_EVAL_GEN ? item_gen(S, k, r) : item_loglik(S, k, r);
}

ll_engine *ll_eval_session_engine(ll_eval_session *S) { return S->e; }

const char *ll_eval_session_prompt(const ll_eval_session *S, int k) { return S->prompts ? S->prompts[k] : NULL; }

void ll_eval_session_info(const ll_eval_session *S, long long *n_tokens, long long *n_truncated, int *n_ctx, int *max_len) {
    if (n_tokens) *n_tokens = S->n_tokens;
    if (n_truncated) *n_truncated = S->n_truncated;
    if (n_ctx) *n_ctx = S->n_ctx;
    if (max_len) *max_len = S->o.max_len;
}

int ll_eval_aggregate(const ll_eval_task *t, ll_eval_results *r, int bootstrap_iters) {
    int n = r->n;
    double *a = ll_calloc((size_t)(n ? n : 1), sizeof *a), *b = ll_calloc((size_t)(n ? n : 1), sizeof *b);
    if (!a || !b) { free(a); free(b); return -1; }
    r->acc = r->acc_stderr = r->acc_norm = r->acc_norm_stderr = r->ppl = r->ppl_stderr = NAN;
    r->em_strict = r->em_strict_stderr = r->em_flexible = r->em_flexible_stderr = NAN;
    if (t->kind == LL_EVAL_GEN) {
        for (int i = 0; i < n; i++) { a[i] = r->items[i].em_strict; b[i] = r->items[i].em_flexible; }
        r->em_strict = ll_py_mean(a, n);
        r->em_strict_stderr = ll_mean_stderr(a, n);
        r->em_flexible = ll_py_mean(b, n);
        r->em_flexible_stderr = ll_mean_stderr(b, n);
    } else {
        for (int i = 0; i < n; i++) { a[i] = r->items[i].acc; b[i] = r->items[i].acc_norm; }
        r->acc = ll_py_mean(a, n);
        r->acc_stderr = ll_mean_stderr(a, n);
        if (t->has_acc_norm) {
            r->acc_norm = ll_py_mean(b, n);
            r->acc_norm_stderr = ll_mean_stderr(b, n);
        }
        if (t->kind == LL_EVAL_LOGLIK) {
            for (int i = 0; i < n; i++) b[i] = r->items[i].ll[0];
            r->ppl = exp(-ll_py_mean(b, n));
            r->ppl_stderr = ll_perplexity_bootstrap_stderr(b, n, bootstrap_iters);
        }
    }
    free(a);
    free(b);
    return 0;
}

int ll_eval_run(ll_model *m, const ll_eval_task *t, const ll_eval_opts *o, ll_eval_results *r) {
    memset(r, 0, sizeof *r);
    int n = n_items(t, o);
    int *idx = ll_malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!idx) return -1;
    for (int i = 0; i < n; i++) idx[i] = i;
    ll_eval_session *S = ll_eval_begin(m, t, idx, n, o);
    free(idx);
    if (!S) return -1;
    double t0 = ll_now();
    int rc = -1;
    r->n = n;
    if (!(r->items = ll_calloc((size_t)(n ? n : 1), sizeof *r->items))) goto done;
    if (t->kind == LL_EVAL_GEN && !(r->prompts = ll_calloc((size_t)(n ? n : 1), sizeof *r->prompts))) goto done;
    long n_ok = 0;
    for (int i = 0; i < n;) {
        int got;
        if (ll_eval_run_batch(S, i, n - i, &r->items[i], &got)) goto done;
        for (int end = i + got; i < end; i++) {
            if (t->kind == LL_EVAL_GEN) {
                r->generated_tokens += r->items[i].n_gen;
                n_ok += r->items[i].em_flexible != 0;
                if (!(r->prompts[i] = ll_strndup(S->prompts[i], strlen(S->prompts[i])))) goto done;
                progress(o, i + 1, n, "flexible %.4f", (double)n_ok / (double)(i + 1));
            } else {
                n_ok += r->items[i].acc != 0;
                progress(o, i + 1, n, "acc %.4f", (double)n_ok / (double)(i + 1));
            }
        }
    }
    ll_eval_session_info(S, &r->n_tokens, &r->n_truncated, &r->n_ctx, &r->max_len);
    r->seconds = ll_now() - t0;
    rc = ll_eval_aggregate(t, r, o->bootstrap_iters);
done:
    ll_eval_end(S);
    if (rc) ll_eval_results_free(r);
    return rc;
}

void ll_eval_item_result_free(ll_eval_item_result *ir) {
    free(ir->ll);
    free(ir->greedy);
    free(ir->n_cont);
    free(ir->response);
    free(ir->strict);
    free(ir->flexible);
    free(ir->gold);
    memset(ir, 0, sizeof *ir);
}

void ll_eval_results_free(ll_eval_results *r) {
    if (r->items)
        for (int i = 0; i < r->n; i++) ll_eval_item_result_free(&r->items[i]);
    if (r->prompts)
        for (int i = 0; i < r->n; i++) free(r->prompts[i]);
    free(r->prompts);
    free(r->items);
    memset(r, 0, sizeof *r);
}

/* ---- perplexity over windows ---- */

void ll_ppl_default_opts(ll_ppl_opts *o) {
    memset(o, 0, sizeof *o);
    o->ctx = 512;
}

long long ll_ppl_n_windows(size_t n, const ll_ppl_opts *o) {
    if (o->ctx < 2) return 0;
    size_t W = (size_t)o->ctx;
    if (o->llamacpp) return n < 2 * W ? 0 : (long long)(n / W);
    long long k = (long long)((n + W - 1) / W);
    if (k > 0 && n - (size_t)(k - 1) * W < 2) k--;   /* a last window of one token has nothing to score */
    return k;
}

int ll_ppl_window(ll_engine *e, int n_vocab, const int32_t *ids, size_t n, const ll_ppl_opts *o, long long w, float *logits,
                  double *total, long long *scored) {
    int W = o->ctx;
    long long nw = ll_ppl_n_windows(n, o);
    if (W < 2) return ll_fail("perplexity windows need at least 2 tokens (got %d)", W);
    if (o->llamacpp && nw == 0)
        return ll_fail("the llama.cpp protocol needs at least %d tokens (2 x the context), the text has %zu", 2 * W, n);
    if (w < 0 || w >= nw) return ll_fail("window %lld of a text with %lld windows", w + 1, nw);
    size_t start = (size_t)w * (size_t)W;
    if (!o->llamacpp) {
        /* consecutive windows of W tokens; every token after the first of its window is scored */
        size_t len_w = n - start < (size_t)W ? n - start : (size_t)W;
        if (ll_engine_forward(e, ids + start, (int)len_w, 0, logits, LL_LOGITS_ALL))
            return ll_fail_prefix("window %lld of %lld (tokens %zu..%zu): ", w + 1, nw, start, start + len_w - 1);
        for (size_t t = 0; t + 1 < len_w; t++) *total += ll_nll_row(logits + t * (size_t)n_vocab, n_vocab, ids[start + t + 1], NULL);
        *scored += (long long)len_w - 1;
        return 0;
    }
    /* llama.cpp's perplexity tool: n / W windows, the first token of each becomes BOS when asked, only the
     * second half of each window is scored */
    int32_t *win = ll_malloc((size_t)W * sizeof *win);
    if (!win) return -1;
    memcpy(win, ids + start, (size_t)W * sizeof *win);
    if (o->bos_id >= 0 && o->bos) win[0] = o->bos_id;
    int rc = ll_engine_forward(e, win, W, 0, logits, LL_LOGITS_ALL);
    free(win);
    if (rc) return ll_fail_prefix("window %lld of %lld (tokens %zu..): ", w + 1, nw, start);
    for (int p = W / 2; p < W - 1; p++) *total += ll_nll_row(logits + (size_t)p * (size_t)n_vocab, n_vocab, ids[start + (size_t)p + 1], NULL);
    *scored += W - 1 - W / 2;
    return 0;
}

int ll_ppl_run(ll_engine *e, int n_vocab, const int32_t *ids, size_t n, const ll_ppl_opts *o, ll_ppl_result *r) {
    memset(r, 0, sizeof *r);
    int W = o->ctx;
    if (W < 2) return ll_fail("perplexity windows need at least 2 tokens (got %d)", W);
    long long nw = ll_ppl_n_windows(n, o);
    if (o->llamacpp && nw == 0)
        return ll_fail("the llama.cpp protocol needs at least %d tokens (2 x the context), the text has %zu", 2 * W, n);
    float *logits = ll_malloc((size_t)W * (size_t)n_vocab * sizeof *logits);
    if (!logits) return -1;
    /* the windows' counts as reported: the non-llama.cpp count includes a last window of one token */
    r->windows = o->llamacpp ? nw : (long long)((n + (size_t)W - 1) / (size_t)W);
    double total = 0;
    for (long long w = 0; w < nw; w++) {
        if (ll_ppl_window(e, n_vocab, ids, n, o, w, logits, &total, &r->scored)) { free(logits); return -1; }
        if (o->progress) {
            char ex[64];
            snprintf(ex, sizeof ex, o->llamacpp ? "ppl %.4f" : "ppl so far %.4f", exp(total / (double)r->scored));
            o->progress(o->progress_ctx, (long)(w + 1), (long)nw, ex);
        }
    }
    free(logits);
    r->mean_nll = total / (double)r->scored;
    r->ppl = exp(r->mean_nll);
    return 0;
}
