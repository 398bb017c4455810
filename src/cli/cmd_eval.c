/* cmd_eval.c — `layerlab eval`: benchmarks scored as lm-evaluation-harness 0.4.x scores them, under any
 * plan (docs/EVAL.md). The task data and prompts are src/eval/tasks.c; the scoring is src/eval/score.c. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "io/files.h"
#include "eval/eval.h"
#include "model/model.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

static const char *USAGE =
    "usage: layerlab eval MODEL --task TASK [--data F] [--limit N] [--plan SPEC] [--bos] [--samples F.jsonl] [--json]\n"
    "                     [--fewshot-data F] [--bootstrap-iters N] [--max-gen-toks N] [--max-length N]\n"
    "                     [--exact|--llamacpp] [--threads N]\n"
    "       layerlab eval MODEL --task ppl --data TEXT [--protocol windows|llamacpp] [--ctx N] [--max-tokens N]\n"
    "TASK: arc_easy arc_challenge hellaswag winogrande lambada_openai piqa boolq gsm8k ppl.\n"
    "Scores as lm-evaluation-harness 0.4.x does (its task YAMLs, `hf` backend): zero-shot except gsm8k\n"
    "(5-shot, random.Random(1234)), no BOS unless --bos, acc = argmax of summed loglikelihood, acc_norm =\n"
    "argmax of loglikelihood / characters of the choice, stderr as lm-eval computes it.\n"
    "Data: --data F, else $LAYERLAB_DATA/<file>, else <dir of layerlab>/../../shared/data/<file>.\n"
    "--limit N scores the first N items; --samples writes one JSON line per item.\n"
    "--max-length N (default: the model's context): longer requests keep their last N + 1 tokens and gsm8k\n"
    "prompts their last N - max-gen-toks, as lm-eval left-truncates them.\n"
    "ppl: --protocol windows is `layerlab ppl`; llamacpp is llama.cpp's perplexity tool (windows of --ctx\n"
    "tokens, default 512; the first token of each window becomes BOS where the model adds one; only the\n"
    "second half of each window is scored).\n";

static void add_num(cJSON *o, const char *k, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

/* writes the lines to path through a temporary file renamed at the end (no partial file) */
static int write_lines(const char *path, char **lines, long n) {
    ll_out out;
    if (ll_out_open(&out, path, false)) return cli_lib_error();
    for (long i = 0; i < n; i++) { fputs(lines[i], out.f); fputc('\n', out.f); }
    return ll_out_close(&out, true) ? cli_lib_error() : 0;
}

static char *json_line(cJSON *o) {
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) cli_error("out of memory printing JSON");
    return s;
}

static void print_metric(const char *name, double v, double se) {
    if (isfinite(se)) printf("%-22s %.4f ± %.4f\n", name, v, se);
    else printf("%-22s %.4f\n", name, v);
}

/* ---- ppl ---- */

/* llama.cpp's perplexity tool: n_chunk = tokens / ctx windows; in each, the first token becomes BOS if
 * the model adds one; the logits at positions ctx/2 .. ctx-2 score the next tokens */
static int ppl_llamacpp(cli_common *c, const char *file, long long ctx, long long max_tokens) {
    ll_model *m = cli_open_model(c, false);
    if (!m) return 1;
    int rc = 1;
    int32_t *ids = NULL;
    float *logits = NULL;
    ll_engine *e = NULL;
    size_t n;
    bool bos = cli_bos(c, m);
    if (cli_text_ids(c, m, file, max_tokens, bos, &ids, &n)) goto done;
    if (ctx == 0) ctx = 512;
    if (ctx > m->n_ctx_train) { cli_error("eval: --ctx %lld is beyond the model's context of %d", ctx, m->n_ctx_train); goto done; }
    if ((long long)n < 2 * ctx) {
        cli_error("eval: ppl --protocol llamacpp needs at least %lld tokens (2 x --ctx), %s has %zu", 2 * ctx, file, n);
        goto done;
    }
    int W = (int)ctx, first = W / 2;
    if (!(e = cli_engine(c, m, W))) goto done;
    logits = malloc((size_t)W * (size_t)m->n_vocab * sizeof *logits);
    int32_t *win = malloc((size_t)W * sizeof *win);
    if (!logits || !win) { free(win); cli_error("out of memory for %d x %d logits", W, m->n_vocab); goto done; }
    long n_chunk = (long)(n / (size_t)W);
    double total = 0;
    long long count = 0;
    cli_progress pg;
    cli_progress_start(&pg, "ppl (llama.cpp windows)", n_chunk, e);
    for (long k = 0; k < n_chunk; k++) {
        memcpy(win, ids + (size_t)k * (size_t)W, (size_t)W * sizeof *win);
        if (bos && ll_tok_bos(m->tok) >= 0) win[0] = ll_tok_bos(m->tok);
        if (ll_engine_forward(e, win, W, 0, logits, LL_LOGITS_ALL)) {
            free(win);
            ll_fail_prefix("eval: ppl window %ld of %ld (tokens %ld..): ", k + 1, n_chunk, k * W);
            cli_lib_error();
            goto done;
        }
        for (int p = first; p < W - 1; p++)
            total += ll_nll_row(logits + (size_t)p * (size_t)m->n_vocab, m->n_vocab, ids[(size_t)k * (size_t)W + (size_t)p + 1], NULL);
        count += W - 1 - first;
        char ex[64];
        snprintf(ex, sizeof ex, "ppl %.4f", exp(total / (double)count));
        cli_progress_update(&pg, k + 1, ex);
    }
    free(win);
    double mean = total / (double)count;
    cJSON *head = NULL;
    if (c->json) {
        head = cJSON_CreateObject();
        cJSON_AddStringToObject(head, "task", "ppl");
        cJSON_AddStringToObject(head, "protocol", "llamacpp");
    }
    if (cli_print_ppl(head, c->json, count, mean, W, (long long)n_chunk, file, c->plan, m, bos, (long long)n)) goto done;
    rc = 0;
done:
    ll_engine_free(e);
    free(logits);
    free(ids);
    ll_model_free(m);
    return rc;
}

/* `layerlab ppl` itself, with the options passed through */
static int ppl_windows(const cli_common *c, const char *file, const char *ctx_s, const char *max_s) {
    const char *av[24];
    int ac = 0;
    av[ac++] = "ppl";
    av[ac++] = c->model;
    av[ac++] = file;
    if (ctx_s) { av[ac++] = "--ctx"; av[ac++] = ctx_s; }
    if (max_s) { av[ac++] = "--max-tokens"; av[ac++] = max_s; }
    if (c->json) av[ac++] = "--json";
    if (c->bos == 1) av[ac++] = "--bos";
    if (c->bos == 0) av[ac++] = "--no-bos";
    if (c->plan) { av[ac++] = "--plan"; av[ac++] = c->plan; }
    if (c->parallel_kv_mean) { av[ac++] = "--parallel-kv"; av[ac++] = "mean"; }
    av[ac++] = c->exact ? "--exact" : "--llamacpp";
    char th[16];
    snprintf(th, sizeof th, "%d", c->threads);
    av[ac++] = "--threads";
    av[ac++] = th;
    if (c->tokenizer) { av[ac++] = "--tokenizer"; av[ac++] = c->tokenizer; }
    av[ac] = NULL;
    return cmd_ppl(ac, (char **)av);
}

/* ---- the benchmark tasks ---- */

enum { TREE_ROWS = 1024 };   /* logits rows for one item's requests in one forward (200 MB at 49152 vocab) */

typedef struct {
    cli_common *c;
    const char *task, *data, *samples;
    long limit;
    int bootstrap_iters;
    int max_gen;
    int max_len;      /* lm-eval's max_length: longer requests keep their last max_len + 1 tokens */
} eval_opts;

static int run_loglik(const eval_opts *o, ll_model *m, ll_eval_task *t, int n, bool bos) {
    int rc = 1, n_vocab = m->n_vocab;
    ll_eval_toks **toks = calloc((size_t)n, sizeof *toks);
    double *acc = calloc((size_t)n, sizeof *acc), *accn = calloc((size_t)n, sizeof *accn);
    double *lls_doc = calloc((size_t)n, sizeof *lls_doc);
    char **lines = o->samples ? calloc((size_t)n, sizeof *lines) : NULL;
    float *logits = NULL;
    ll_engine *e = NULL;
    if (!toks || !acc || !accn || !lls_doc || (o->samples && !lines)) { cli_error("out of memory"); goto done; }
    /* tokenize every request first: the longest input sizes the KV cache */
    int max_in = 1;
    long long n_tok = 0, n_trunc = 0;
    long long max_item = 0;
    for (int i = 0; i < n; i++) {
        ll_eval_item *it = &t->items[i];
        long long item_in = 0;
        if (!(toks[i] = calloc((size_t)it->n_req, sizeof **toks))) { cli_error("out of memory"); goto done; }
        for (int r = 0; r < it->n_req; r++) {
            if (ll_eval_encode(m->tok, bos, &it->req[r], &toks[i][r])) {
                cli_error("%s:%ld: %s", o->data, it->line, ll_errmsg());
                goto done;
            }
            ll_eval_toks *q = &toks[i][r];
            int in = q->n_ctx + q->n_cont - 1;
            if (in > o->max_len) {   /* lm-eval: (context + continuation)[-(max_length + 1):][:-1] */
                if (q->n_cont > o->max_len) {
                    cli_error("%s:%ld: a continuation of %d tokens is longer than the maximum length of %d", o->data,
                              it->line, q->n_cont, o->max_len);
                    goto done;
                }
                int drop = in - o->max_len;   /* < n_ctx, since n_cont <= max_len */
                memmove(q->ctx, q->ctx + drop, (size_t)(q->n_ctx - drop) * sizeof *q->ctx);
                q->n_ctx -= drop;
                in = o->max_len;
                n_trunc++;
            }
            if (in > max_in) max_in = in;
            n_tok += in;
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
    if (n_trunc)
        fprintf(stderr, "layerlab: eval: %lld request(s) longer than the maximum length of %d tokens keep their last %d "
                "tokens, as lm-eval left-truncates them\n", n_trunc, o->max_len, o->max_len + 1);
    if (!(e = cli_engine(o->c, m, rows))) goto done;
    if (!(logits = malloc((size_t)rows * (size_t)n_vocab * sizeof *logits))) {
        cli_error("out of memory for %d x %d logits", rows, n_vocab);
        goto done;
    }
    cli_progress pg;
    cli_progress_start(&pg, t->name, n, e);
    long n_acc = 0;
    for (int i = 0; i < n; i++) {
        ll_eval_item *it = &t->items[i];
        double ll[64];
        bool greedy[64];
        if (it->n_req > 64) { cli_error("%s:%ld: more than 64 choices", o->data, it->line); goto done; }
        if (ll_eval_score(e, n_vocab, toks[i], it->n_req, logits, rows, ll, greedy)) {
            ll_fail_prefix("eval: %s item %d (%s:%ld): ", t->name, i, o->data, it->line);
            cli_lib_error();
            goto done;
        }
        cJSON *s = lines ? cJSON_CreateObject() : NULL;
        if (s) cJSON_AddNumberToObject(s, "doc_id", i);
        if (t->kind == LL_EVAL_LOGLIK) {
            acc[i] = greedy[0] ? 1.0 : 0.0;
            lls_doc[i] = ll[0];
            if (s) {
                cJSON_AddStringToObject(s, "target", it->target);
                cJSON_AddNumberToObject(s, "loglikelihood", ll[0]);
                cJSON_AddBoolToObject(s, "is_greedy", greedy[0]);
                cJSON_AddNumberToObject(s, "n_tokens", toks[i][0].n_cont);
                cJSON_AddNumberToObject(s, "acc", acc[i]);
            }
        } else {
            int pred = 0, pred_norm = 0;
            double norm[64];
            for (int r = 0; r < it->n_req; r++) {
                norm[r] = ll[r] / (double)ll_utf8_len(it->choices[r]);
                if (ll[r] > ll[pred]) pred = r;
                if (norm[r] > norm[pred_norm]) pred_norm = r;
            }
            acc[i] = pred == it->gold;
            accn[i] = pred_norm == it->gold;
            if (s) {
                cJSON_AddNumberToObject(s, "gold", it->gold);
                cJSON_AddNumberToObject(s, "pred", pred);
                cJSON_AddNumberToObject(s, "pred_norm", pred_norm);
                cJSON *a = cJSON_AddArrayToObject(s, "loglikelihoods");
                cJSON *l = cJSON_AddArrayToObject(s, "lengths");
                cJSON *g = cJSON_AddArrayToObject(s, "is_greedy");
                cJSON *nt = cJSON_AddArrayToObject(s, "n_tokens");
                for (int r = 0; r < it->n_req; r++) {
                    cJSON_AddItemToArray(a, cJSON_CreateNumber(ll[r]));
                    cJSON_AddItemToArray(l, cJSON_CreateNumber((double)ll_utf8_len(it->choices[r])));
                    cJSON_AddItemToArray(g, cJSON_CreateBool(greedy[r]));
                    cJSON_AddItemToArray(nt, cJSON_CreateNumber(toks[i][r].n_cont));
                }
                cJSON_AddNumberToObject(s, "acc", acc[i]);
                cJSON_AddNumberToObject(s, "acc_norm", accn[i]);
            }
        }
        if (s && !(lines[i] = json_line(s))) goto done;
        n_acc += acc[i] != 0;
        char ex[64];
        snprintf(ex, sizeof ex, "acc %.4f", (double)n_acc / (double)(i + 1));
        cli_progress_update(&pg, i + 1, ex);
    }
    double secs = cli_now() - pg.t0;
    double a = ll_py_mean(acc, n), ase = ll_mean_stderr(acc, n);
    double an = ll_py_mean(accn, n), anse = ll_mean_stderr(accn, n);
    double ppl = NAN, pplse = NAN;
    if (t->kind == LL_EVAL_LOGLIK) {
        ppl = exp(-ll_py_mean(lls_doc, n));
        pplse = ll_perplexity_bootstrap_stderr(lls_doc, n, o->bootstrap_iters);
    }
    if (lines && write_lines(o->samples, lines, n)) goto done;
    if (o->c->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "task", t->name);
        cJSON_AddNumberToObject(j, "n", n);
        add_num(j, "acc", a);
        add_num(j, "acc_stderr", ase);
        if (t->has_acc_norm) { add_num(j, "acc_norm", an); add_num(j, "acc_norm_stderr", anse); }
        if (t->kind == LL_EVAL_LOGLIK) { add_num(j, "perplexity", ppl); add_num(j, "perplexity_stderr", pplse); }
        cJSON_AddStringToObject(j, "data", o->data);
        if (o->limit >= 0) cJSON_AddNumberToObject(j, "limit", (double)o->limit); else cJSON_AddNullToObject(j, "limit");
        cJSON_AddNumberToObject(j, "num_fewshot", 0);
        cJSON_AddStringToObject(j, "plan", o->c->plan ? o->c->plan : "full");
        cJSON_AddStringToObject(j, "compute", o->c->exact ? "exact" : "llamacpp");
        cJSON_AddNumberToObject(j, "max_length", o->max_len);
        cJSON_AddNumberToObject(j, "truncated_requests", (double)n_trunc);
        cJSON_AddNumberToObject(j, "seconds", secs);
        cli_provenance(j, m, bos, max_in, n_tok);
        if (cli_print_json(j)) goto done;
    } else {
        printf("task %s  n %d\n", t->name, n);
        print_metric("acc", a, ase);
        if (t->has_acc_norm) print_metric("acc_norm", an, anse);
        if (t->kind == LL_EVAL_LOGLIK) print_metric("perplexity", ppl, pplse);
    }
    rc = 0;
done:
    if (toks)
        for (int i = 0; i < n; i++) {
            if (!toks[i]) continue;
            for (int r = 0; r < t->items[i].n_req; r++) ll_eval_toks_free(&toks[i][r]);
            free(toks[i]);
        }
    if (lines)
        for (int i = 0; i < n; i++) free(lines[i]);
    free(lines);
    free(toks);
    free(acc);
    free(accn);
    free(lls_doc);
    free(logits);
    ll_engine_free(e);
    return rc;
}

static int run_gsm8k(const eval_opts *o, ll_model *m, ll_eval_task *t, int n, bool bos) {
    int rc = 1, n_vocab = m->n_vocab;
    char **prompts = NULL;
    int32_t **ids = calloc((size_t)n, sizeof *ids);
    int *n_ids = calloc((size_t)n, sizeof *n_ids);
    double *ems = calloc((size_t)n, sizeof *ems), *emf = calloc((size_t)n, sizeof *emf);
    char **lines = o->samples ? calloc((size_t)n, sizeof *lines) : NULL;
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    ll_engine *e = NULL;
    if (!ids || !n_ids || !ems || !emf || !logits || (o->samples && !lines)) { cli_error("out of memory"); goto done; }
    if (ll_eval_fewshot_prompts(t, n, 1234, &prompts)) { cli_lib_error(); goto done; }
    /* lm-eval keeps the last max_length - max_gen_toks prompt tokens */
    int max_prompt = o->max_len - o->max_gen, longest = 1;
    if (max_prompt < 1) { cli_error("eval: the maximum length of %d leaves no room for %d generated tokens", o->max_len, o->max_gen); goto done; }
    for (int i = 0; i < n; i++) {
        size_t k;
        if (ll_tokenize(m->tok, prompts[i], strlen(prompts[i]), bos, true, &ids[i], &k)) { cli_lib_error(); goto done; }
        if ((long long)k > max_prompt) {
            memmove(ids[i], ids[i] + (k - (size_t)max_prompt), (size_t)max_prompt * sizeof **ids);
            k = (size_t)max_prompt;
        }
        n_ids[i] = (int)k;
        if (n_ids[i] > longest) longest = n_ids[i];
    }
    if (!(e = cli_engine(o->c, m, longest + o->max_gen))) goto done;
    /* lm-eval's stop strings, plus the decoded EOS token */
    const char *stops[4] = {"Question:", "</s>", "<|im_end|>", NULL};
    int n_stops = 3;
    int32_t eos = ll_tok_eos(m->tok);
    char *eos_text = NULL;
    if (eos >= 0 && (eos_text = ll_detokenize(m->tok, &eos, 1, true, NULL))) {
        bool have = false;
        for (int s = 0; s < n_stops; s++) have |= !strcmp(stops[s], eos_text);
        if (!have && *eos_text) stops[n_stops++] = eos_text;
    }
    cli_progress pg;
    cli_progress_start(&pg, t->name, n, e);
    long n_ok = 0, n_gen_total = 0;
    for (int i = 0; i < n && rc; i++) {
        char *resp = NULL, *strict = NULL, *flex = NULL, *gold = NULL, *ns = NULL, *nf = NULL;
        int n_gen = 0;
        if (ll_eval_generate(e, m->tok, n_vocab, ids[i], n_ids[i], o->max_gen, eos, stops, n_stops, logits, &resp, &n_gen) ||
            !(strict = ll_gsm8k_strict(resp)) || !(flex = ll_gsm8k_flexible(resp)) ||
            !(gold = ll_gsm8k_normalize(t->items[i].target)) || !(ns = ll_gsm8k_normalize(strict)) ||
            !(nf = ll_gsm8k_normalize(flex))) {
            ll_fail_prefix("eval: %s item %d (%s:%ld): ", t->name, i, o->data, t->items[i].line);
            cli_lib_error();
            free(resp); free(strict); free(flex); free(gold); free(ns); free(nf);
            break;
        }
        n_gen_total += n_gen;
        ems[i] = !strcmp(ns, gold);
        emf[i] = !strcmp(nf, gold);
        if (lines) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddNumberToObject(s, "doc_id", i);
            cJSON_AddStringToObject(s, "prompt", prompts[i]);
            cJSON_AddStringToObject(s, "response", resp);
            cJSON_AddStringToObject(s, "extracted_strict", strict);
            cJSON_AddStringToObject(s, "extracted_flexible", flex);
            cJSON_AddStringToObject(s, "gold", gold);
            cJSON_AddStringToObject(s, "target", t->items[i].target);
            cJSON_AddNumberToObject(s, "exact_match_strict", ems[i]);
            cJSON_AddNumberToObject(s, "exact_match_flexible", emf[i]);
            cJSON_AddNumberToObject(s, "n_generated", n_gen);
            lines[i] = json_line(s);
        }
        free(resp); free(strict); free(flex); free(gold); free(ns); free(nf);
        if (lines && !lines[i]) break;
        n_ok += emf[i] != 0;
        char ex[64];
        snprintf(ex, sizeof ex, "flexible %.4f", (double)n_ok / (double)(i + 1));
        cli_progress_update(&pg, i + 1, ex);
        if (i == n - 1) rc = 0;
    }
    free(eos_text);
    if (rc) goto done;
    rc = 1;
    double secs = cli_now() - pg.t0;
    double s = ll_py_mean(ems, n), sse = ll_mean_stderr(ems, n), f = ll_py_mean(emf, n), fse = ll_mean_stderr(emf, n);
    if (lines && write_lines(o->samples, lines, n)) goto done;
    if (o->c->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "task", t->name);
        cJSON_AddNumberToObject(j, "n", n);
        add_num(j, "exact_match_strict", s);
        add_num(j, "exact_match_strict_stderr", sse);
        add_num(j, "exact_match_flexible", f);
        add_num(j, "exact_match_flexible_stderr", fse);
        cJSON_AddStringToObject(j, "data", o->data);
        if (o->limit >= 0) cJSON_AddNumberToObject(j, "limit", (double)o->limit); else cJSON_AddNullToObject(j, "limit");
        cJSON_AddNumberToObject(j, "num_fewshot", t->num_fewshot);
        cJSON_AddNumberToObject(j, "fewshot_seed", 1234);
        cJSON_AddNumberToObject(j, "max_gen_toks", o->max_gen);
        cJSON_AddNumberToObject(j, "max_length", o->max_len);
        cJSON_AddNumberToObject(j, "generated_tokens", (double)n_gen_total);
        cJSON_AddStringToObject(j, "plan", o->c->plan ? o->c->plan : "full");
        cJSON_AddStringToObject(j, "compute", o->c->exact ? "exact" : "llamacpp");
        cJSON_AddNumberToObject(j, "seconds", secs);
        cli_provenance(j, m, bos, longest + o->max_gen, -1);
        if (cli_print_json(j)) goto done;
    } else {
        printf("task %s  n %d  (%d-shot)\n", t->name, n, t->num_fewshot);
        print_metric("exact_match,strict", s, sse);
        print_metric("exact_match,flexible", f, fse);
    }
    rc = 0;
done:
    if (prompts)
        for (int i = 0; i < n; i++) free(prompts[i]);
    free(prompts);
    if (ids)
        for (int i = 0; i < n; i++) free(ids[i]);
    if (lines)
        for (int i = 0; i < n; i++) free(lines[i]);
    free(lines);
    free(ids);
    free(n_ids);
    free(ems);
    free(emf);
    free(logits);
    ll_engine_free(e);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    eval_opts o = {.c = &c, .limit = -1, .bootstrap_iters = 100000, .max_gen = 256};
    const char *fewshot = NULL, *protocol = "windows", *ctx_s = NULL, *max_s = NULL;
    long long ctx = 0, max_tokens = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long long x;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "--task")) { if (!(o.task = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--data")) { if (!(o.data = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--fewshot-data")) { if (!(fewshot = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--samples")) { if (!(o.samples = cli_out_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--protocol")) { if (!(protocol = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--limit")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, INT32_MAX, &x)) return 1;
            o.limit = (long)x;
            continue;
        }
        if (!strcmp(a, "--bootstrap-iters")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 0, 10000000, &x)) return 1;
            o.bootstrap_iters = (int)x;
            continue;
        }
        if (!strcmp(a, "--max-gen-toks")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 1 << 20, &x)) return 1;
            o.max_gen = (int)x;
            continue;
        }
        if (!strcmp(a, "--max-length")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 2, 1 << 24, &x)) return 1;
            o.max_len = (int)x;
            continue;
        }
        if (!strcmp(a, "--ctx")) {
            if (!(ctx_s = cli_value(argc, argv, &i)) || cli_parse_int(a, ctx_s, 2, 1 << 24, &ctx)) return 1;
            continue;
        }
        if (!strcmp(a, "--max-tokens")) {
            if (!(max_s = cli_value(argc, argv, &i)) || cli_parse_int(a, max_s, 2, INT32_MAX, &max_tokens)) return 1;
            continue;
        }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("eval: unknown option '%s'\n%s", a, USAGE);
    }
    if (!o.task) return cli_error("eval: --task is required\n%s", USAGE);
    if (!c.model) return cli_error("eval: no MODEL given\n%s", USAGE);
    if (!strcmp(o.task, "ppl")) {
        if (!o.data) return cli_error("eval: --task ppl needs --data TEXTFILE");
        if (!strcmp(protocol, "windows")) return ppl_windows(&c, o.data, ctx_s, max_s);
        if (!strcmp(protocol, "llamacpp")) return ppl_llamacpp(&c, o.data, ctx, max_tokens);
        return cli_error("eval: --protocol: expected 'windows' or 'llamacpp', got '%s'", protocol);
    }
    if (ctx_s || max_s || strcmp(protocol, "windows")) return cli_error("eval: --ctx, --max-tokens and --protocol are for --task ppl");
    char *data_own = NULL, *fewshot_own = NULL;
    if (cli_task_files("eval", o.task, o.data, fewshot, &data_own, &fewshot_own)) return 1;
    o.data = data_own;
    fewshot = fewshot_own;
    int rc = 1;
    ll_eval_task t;
    ll_model *m = NULL;
    if (ll_eval_load(o.task, o.data, fewshot, &t)) { cli_lib_error(); goto out; }
    if (!(m = cli_open_model(&c, false))) goto free_task;
    if (!m->tok) { cli_error("%s: a llama2.c checkpoint needs --tokenizer TOK.bin", c.model); goto free_model; }
    bool bos = c.bos == 1;   /* lm-eval with add_bos_token=False: no BOS unless --bos */
    if (bos && ll_tok_bos(m->tok) < 0) { cli_error("eval: --bos: the model has no BOS token"); goto free_model; }
    if (o.max_len > m->n_ctx_train) {
        cli_error("eval: --max-length %d is beyond the model's context of %d", o.max_len, m->n_ctx_train);
        goto free_model;
    }
    if (o.max_len == 0) o.max_len = m->n_ctx_train;   /* lm-eval's hf backend: max_position_embeddings */
    int n = t.n_items;
    if (o.limit >= 0 && o.limit < n) n = (int)o.limit;
    rc = t.kind == LL_EVAL_GEN ? run_gsm8k(&o, m, &t, n, bos) : run_loglik(&o, m, &t, n, bos);
free_model:
    ll_model_free(m);
free_task:
    ll_eval_task_free(&t);
out:
    free(data_own);
    free(fewshot_own);
    return rc;
}
