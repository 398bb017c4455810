/* run.c — a task's items through an engine, scored as lm-eval scores them, and aggregated; perplexity over
 * windows of a token stream. The `eval` and `ppl` commands and the studies call these; nothing here prints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/eval.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

enum { TREE_ROWS = 1024 };   /* logits rows for one item's requests in one forward (200 MB at 49152 vocab) */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void ll_eval_default_opts(ll_eval_opts *o) {
    memset(o, 0, sizeof *o);
    o->limit = -1;
    o->max_gen = 256;
    o->bootstrap_iters = 100000;
    o->n_threads = 2;
    o->exact = true;
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

/* ---- loglikelihood tasks (multiple choice, winogrande, lambada) ---- */

static int run_loglik(ll_model *m, const ll_eval_task *t, const ll_eval_opts *o, ll_eval_results *r) {
    int n = r->n, n_vocab = m->n_vocab, rc = -1;
    ll_eval_toks **toks = ll_calloc((size_t)n, sizeof *toks);
    float *logits = NULL;
    ll_engine *e = NULL;
    if (!toks) return -1;
    /* tokenize every request first: the longest input sizes the KV cache */
    int max_in = 1;
    long long max_item = 0;
    for (int i = 0; i < n; i++) {
        const ll_eval_item *it = &t->items[i];
        long long item_in = 0;
        if (it->n_req > 64) { ll_fail("%s:%ld: more than 64 choices", path_of(t), it->line); goto done; }
        if (!(toks[i] = ll_calloc((size_t)(it->n_req ? it->n_req : 1), sizeof **toks))) goto done;
        for (int q = 0; q < it->n_req; q++) {
            if (ll_eval_encode(m->tok, o->bos, &it->req[q], &toks[i][q])) {
                ll_fail_prefix("%s:%ld: ", path_of(t), it->line);
                goto done;
            }
            ll_eval_toks *k = &toks[i][q];
            int in = k->n_ctx + k->n_cont - 1;
            if (in > o->max_len) {   /* lm-eval: (context + continuation)[-(max_length + 1):][:-1] */
                if (k->n_cont > o->max_len) {
                    ll_fail("%s:%ld: a continuation of %d tokens is longer than the maximum length of %d", path_of(t),
                            it->line, k->n_cont, o->max_len);
                    goto done;
                }
                int drop = in - o->max_len;   /* < n_ctx, since n_cont <= max_len */
                memmove(k->ctx, k->ctx + drop, (size_t)(k->n_ctx - drop) * sizeof *k->ctx);
                k->n_ctx -= drop;
                in = o->max_len;
                r->n_truncated++;
            }
            if (in > max_in) max_in = in;
            r->n_tokens += in;
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
    r->n_ctx = max_in;
    if (!(e = make_engine(m, o, rows))) goto done;
    if (!(logits = ll_malloc((size_t)rows * (size_t)n_vocab * sizeof *logits))) goto done;
    long n_acc = 0;
    for (int i = 0; i < n; i++) {
        const ll_eval_item *it = &t->items[i];
        ll_eval_item_result *ir = &r->items[i];
        double ll[64];
        bool greedy[64];
        if (ll_eval_score(e, n_vocab, toks[i], it->n_req, logits, rows, ll, greedy)) {
            ll_fail_prefix("%s item %d (%s:%ld): ", t->name, i, path_of(t), it->line);
            goto done;
        }
        ir->n_req = it->n_req;
        if (!(ir->ll = ll_calloc((size_t)it->n_req, sizeof *ir->ll)) ||
            !(ir->greedy = ll_calloc((size_t)it->n_req, sizeof *ir->greedy)) ||
            !(ir->n_cont = ll_calloc((size_t)it->n_req, sizeof *ir->n_cont)))
            goto done;
        for (int q = 0; q < it->n_req; q++) {
            ir->ll[q] = ll[q];
            ir->greedy[q] = greedy[q];
            ir->n_cont[q] = toks[i][q].n_cont;
        }
        if (t->kind == LL_EVAL_LOGLIK) {
            ir->acc = greedy[0] ? 1.0 : 0.0;
        } else {
            int pred = 0, pred_norm = 0;
            double norm[64];
            for (int q = 0; q < it->n_req; q++) {
                norm[q] = ll[q] / (double)ll_utf8_len(it->choices[q]);
                if (ll[q] > ll[pred]) pred = q;
                if (norm[q] > norm[pred_norm]) pred_norm = q;
            }
            ir->pred = pred;
            ir->pred_norm = pred_norm;
            ir->acc = pred == it->gold;
            ir->acc_norm = pred_norm == it->gold;
        }
        n_acc += ir->acc != 0;
        progress(o, i + 1, n, "acc %.4f", (double)n_acc / (double)(i + 1));
    }
    rc = 0;
done:
    for (int i = 0; i < n; i++) {
        if (!toks[i]) continue;
        for (int q = 0; q < t->items[i].n_req; q++) ll_eval_toks_free(&toks[i][q]);
        free(toks[i]);
    }
    free(toks);
    free(logits);
    ll_engine_free(e);
    return rc;
}

/* ---- gsm8k: greedy generation, strict and flexible extraction ---- */

static int run_gen(ll_model *m, const ll_eval_task *t, const ll_eval_opts *o, ll_eval_results *r) {
    int n = r->n, n_vocab = m->n_vocab, rc = -1;
    int32_t **ids = ll_calloc((size_t)n, sizeof *ids);
    int *n_ids = ll_calloc((size_t)n, sizeof *n_ids);
    float *logits = ll_malloc((size_t)n_vocab * sizeof *logits);
    char *eos_text = NULL;
    ll_engine *e = NULL;
    if (!ids || !n_ids || !logits) goto done;
    if (ll_eval_fewshot_prompts(t, n, 1234, &r->prompts)) goto done;
    /* lm-eval keeps the last max_length - max_gen_toks prompt tokens */
    int max_prompt = o->max_len - o->max_gen, longest = 1;
    if (max_prompt < 1) {
        ll_fail("the maximum length of %d leaves no room for %d generated tokens", o->max_len, o->max_gen);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        size_t k;
        if (ll_tokenize(m->tok, r->prompts[i], strlen(r->prompts[i]), o->bos, true, &ids[i], &k)) goto done;
        if ((long long)k > max_prompt) {
            memmove(ids[i], ids[i] + (k - (size_t)max_prompt), (size_t)max_prompt * sizeof **ids);
            k = (size_t)max_prompt;
        }
        n_ids[i] = (int)k;
        if (n_ids[i] > longest) longest = n_ids[i];
    }
    r->n_ctx = longest + o->max_gen;
    if (!(e = make_engine(m, o, longest + o->max_gen))) goto done;
    /* lm-eval's stop strings, plus the decoded EOS token */
    const char *stops[4] = {"Question:", "</s>", "<|im_end|>", NULL};
    int n_stops = 3;
    int32_t eos = ll_tok_eos(m->tok);
    if (eos >= 0 && (eos_text = ll_detokenize(m->tok, &eos, 1, true, NULL))) {
        bool have = false;
        for (int s = 0; s < n_stops; s++) have |= !strcmp(stops[s], eos_text);
        if (!have && *eos_text) stops[n_stops++] = eos_text;
    }
    long n_ok = 0;
    for (int i = 0; i < n; i++) {
        ll_eval_item_result *ir = &r->items[i];
        char *ns = NULL, *nf = NULL;
        if (ll_eval_generate(e, m->tok, n_vocab, ids[i], n_ids[i], o->max_gen, eos, stops, n_stops, logits,
                             &ir->response, &ir->n_gen) ||
            !(ir->strict = ll_gsm8k_strict(ir->response)) || !(ir->flexible = ll_gsm8k_flexible(ir->response)) ||
            !(ir->gold = ll_gsm8k_normalize(t->items[i].target)) || !(ns = ll_gsm8k_normalize(ir->strict)) ||
            !(nf = ll_gsm8k_normalize(ir->flexible))) {
            ll_fail_prefix("%s item %d (%s:%ld): ", t->name, i, path_of(t), t->items[i].line);
            free(ns);
            free(nf);
            goto done;
        }
        r->generated_tokens += ir->n_gen;
        ir->em_strict = !strcmp(ns, ir->gold);
        ir->em_flexible = !strcmp(nf, ir->gold);
        free(ns);
        free(nf);
        n_ok += ir->em_flexible != 0;
        progress(o, i + 1, n, "flexible %.4f", (double)n_ok / (double)(i + 1));
    }
    rc = 0;
done:
    if (ids)
        for (int i = 0; i < n; i++) free(ids[i]);
    free(ids);
    free(n_ids);
    free(logits);
    free(eos_text);
    ll_engine_free(e);
    return rc;
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

int ll_eval_run(ll_model *m, const ll_eval_task *t, const ll_eval_opts *opts, ll_eval_results *r) {
    memset(r, 0, sizeof *r);
    if (!m->tok) return ll_fail("%s: a llama2.c checkpoint needs a tokenizer", m->path);
    ll_eval_opts o = *opts;
    if (o.bos && ll_tok_bos(m->tok) < 0) return ll_fail("--bos: the model has no BOS token");
    if (o.max_len > m->n_ctx_train)
        return ll_fail("the maximum length %d is beyond the model's context of %d", o.max_len, m->n_ctx_train);
    if (o.max_len == 0) o.max_len = m->n_ctx_train;   /* lm-eval's hf backend: max_position_embeddings */
    r->max_len = o.max_len;
    r->n = n_items(t, &o);
    if (!(r->items = ll_calloc((size_t)(r->n ? r->n : 1), sizeof *r->items))) return -1;
    double t0 = now_s();
    int rc = t->kind == LL_EVAL_GEN ? run_gen(m, t, &o, r) : run_loglik(m, t, &o, r);
    r->seconds = now_s() - t0;
    if (!rc) rc = ll_eval_aggregate(t, r, o.bootstrap_iters);
    if (rc) ll_eval_results_free(r);
    return rc;
}

void ll_eval_results_free(ll_eval_results *r) {
    if (r->items)
        for (int i = 0; i < r->n; i++) {
            ll_eval_item_result *ir = &r->items[i];
            free(ir->ll);
            free(ir->greedy);
            free(ir->n_cont);
            free(ir->response);
            free(ir->strict);
            free(ir->flexible);
            free(ir->gold);
        }
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

int ll_ppl_run(ll_engine *e, int n_vocab, const int32_t *ids, size_t n, const ll_ppl_opts *o, ll_ppl_result *r) {
    memset(r, 0, sizeof *r);
    int W = o->ctx;
    if (W < 2) return ll_fail("perplexity windows need at least 2 tokens (got %d)", W);
    float *logits = ll_malloc((size_t)W * (size_t)n_vocab * sizeof *logits);
    if (!logits) return -1;
    int rc = -1;
    double total = 0;
    if (!o->llamacpp) {
        /* consecutive windows of W tokens; every token after the first of its window is scored */
        size_t n_windows = (n + (size_t)W - 1) / (size_t)W;
        r->windows = (long long)n_windows;
        for (size_t w = 0; w < n_windows; w++) {
            size_t start = w * (size_t)W, len_w = n - start < (size_t)W ? n - start : (size_t)W;
            if (len_w < 2) break;
            if (ll_engine_forward(e, ids + start, (int)len_w, 0, logits, LL_LOGITS_ALL)) {
                ll_fail_prefix("window %zu of %zu (tokens %zu..%zu): ", w + 1, n_windows, start, start + len_w - 1);
                goto done;
            }
            for (size_t t = 0; t + 1 < len_w; t++)
                total += ll_nll_row(logits + t * (size_t)n_vocab, n_vocab, ids[start + t + 1], NULL);
            r->scored += (long long)len_w - 1;
            if (o->progress) {
                char ex[64];
                snprintf(ex, sizeof ex, "ppl so far %.4f", exp(total / (double)r->scored));
                o->progress(o->progress_ctx, (long)(w + 1), (long)n_windows, ex);
            }
        }
    } else {
        /* llama.cpp's perplexity tool: n / W windows, the first token of each becomes BOS when asked, only
         * the second half of each window is scored */
        if ((long long)n < 2LL * W) {
            ll_fail("the llama.cpp protocol needs at least %d tokens (2 x the context), the text has %zu", 2 * W, n);
            goto done;
        }
        int32_t *win = ll_malloc((size_t)W * sizeof *win);
        if (!win) goto done;
        long n_chunk = (long)(n / (size_t)W);
        int first = W / 2;
        r->windows = n_chunk;
        for (long k = 0; k < n_chunk; k++) {
            memcpy(win, ids + (size_t)k * (size_t)W, (size_t)W * sizeof *win);
            if (o->bos_id >= 0 && o->bos) win[0] = o->bos_id;
            if (ll_engine_forward(e, win, W, 0, logits, LL_LOGITS_ALL)) {
                free(win);
                ll_fail_prefix("window %ld of %ld (tokens %ld..): ", k + 1, n_chunk, k * W);
                goto done;
            }
            for (int p = first; p < W - 1; p++)
                total += ll_nll_row(logits + (size_t)p * (size_t)n_vocab, n_vocab, ids[(size_t)k * (size_t)W + (size_t)p + 1], NULL);
            r->scored += W - 1 - first;
            if (o->progress) {
                char ex[64];
                snprintf(ex, sizeof ex, "ppl %.4f", exp(total / (double)r->scored));
                o->progress(o->progress_ctx, k + 1, n_chunk, ex);
            }
        }
        free(win);
    }
    r->mean_nll = total / (double)r->scored;
    r->ppl = exp(r->mean_nll);
    rc = 0;
done:
    free(logits);
    return rc;
}
