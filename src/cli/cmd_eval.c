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
#include "io/json.h"
#include "eval/eval.h"
#include "model/model.h"
#include "plan/plan.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

static const char *USAGE =
    "usage: layerlab eval MODEL --task TASK [--data F] [--limit N] [--plan SPEC] [--bos] [--samples F.jsonl] [--json]\n"
    "                     [--fewshot-data F] [--bootstrap-iters N] [--max-gen-toks N] [--max-length N]\n"
    "                     [--exact|--llamacpp] [--threads N] [--batch-tokens N]\n"
    "       layerlab eval MODEL --task ppl --data TEXT [--protocol windows|llamacpp] [--ctx N] [--max-tokens N]\n"
    "TASK: arc_easy arc_challenge hellaswag winogrande lambada_openai piqa boolq gsm8k ppl.\n"
    "Scores as lm-evaluation-harness 0.4.x does (its task YAMLs, `hf` backend): zero-shot except gsm8k\n"
    "(5-shot, random.Random(1234)), no BOS unless --bos, acc = argmax of summed loglikelihood, acc_norm =\n"
    "argmax of loglikelihood / characters of the choice, stderr as lm-eval computes it.\n"
    "Data: --data F, else $LAYERLAB_DATA/<file>, else <dir of layerlab>/../../shared/data/<file>.\n"
    "--limit N scores the first N items; --samples writes one JSON line per item.\n"
    "--batch-tokens N (default 512): consecutive items share one forward up to N tokens, each attending only\n"
    "to its own; the scores are bit for bit those of one item per forward (--batch-tokens 0).\n"
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
    char *s = ll_json_exact_numbers(o) ? NULL : cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) cli_error("out of memory printing JSON");
    return s;
}

static void print_metric(const char *name, double v, double se) {
    if (isfinite(se)) printf("%-22s %.4f ± %.4f\n", name, v, se);
    else printf("%-22s %.4f\n", name, v);
}

/* ---- ppl ---- */

/* llama.cpp's perplexity tool (ll_ppl_run with llamacpp set) */
static int ppl_llamacpp(cli_common *c, const char *file, long long ctx, long long max_tokens) {
    ll_model *m = cli_open_model(c, false);
    if (!m) return 1;
    int rc = 1;
    int32_t *ids = NULL;
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
    if (!(e = cli_engine(c, m, (int)ctx))) goto done;
    cli_progress pg;
    cli_progress_start(&pg, "ppl (llama.cpp windows)", (long)(n / (size_t)ctx), e);
    ll_ppl_opts po;
    ll_ppl_default_opts(&po);
    po.ctx = (int)ctx;
    po.llamacpp = true;
    po.bos = bos;
    po.bos_id = ll_tok_bos(m->tok);
    po.progress = cli_progress_cb;
    po.progress_ctx = &pg;
    ll_ppl_result pr;
    if (ll_ppl_run(e, m->n_vocab, ids, n, &po, &pr)) {
        ll_fail_prefix("eval: ppl ");
        cli_lib_error();
        goto done;
    }
    cJSON *head = NULL;
    if (c->json) {
        head = cJSON_CreateObject();
        cJSON_AddStringToObject(head, "task", "ppl");
        cJSON_AddStringToObject(head, "protocol", "llamacpp");
    }
    if (cli_print_ppl(head, c->json, pr.scored, pr.mean_nll, (int)ctx, pr.windows, file, c->plan, m, bos, (long long)n))
        goto done;
    rc = 0;
done:
    ll_engine_free(e);
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

/* ---- the benchmark tasks: ll_eval_run, then the output ---- */

typedef struct {
    cli_common *c;
    const char *task, *data, *samples;
    long limit;
    int bootstrap_iters;
    int max_gen;
    int max_len;      /* lm-eval's max_length: longer requests keep their last max_len + 1 tokens */
    int batch_tokens;
} eval_opts;

/* one --samples line per item */
static char *sample_line(const ll_eval_task *t, const ll_eval_results *r, int i) {
    const ll_eval_item *it = &t->items[i];
    const ll_eval_item_result *ir = &r->items[i];
    cJSON *s = cJSON_CreateObject();
    cJSON_AddNumberToObject(s, "doc_id", i);
    if (t->kind == LL_EVAL_GEN) {
        cJSON_AddStringToObject(s, "prompt", r->prompts[i]);
        cJSON_AddStringToObject(s, "response", ir->response);
        cJSON_AddStringToObject(s, "extracted_strict", ir->strict);
        cJSON_AddStringToObject(s, "extracted_flexible", ir->flexible);
        cJSON_AddStringToObject(s, "gold", ir->gold);
        cJSON_AddStringToObject(s, "target", it->target);
        cJSON_AddNumberToObject(s, "exact_match_strict", ir->em_strict);
        cJSON_AddNumberToObject(s, "exact_match_flexible", ir->em_flexible);
        cJSON_AddNumberToObject(s, "n_generated", ir->n_gen);
    } else if (t->kind == LL_EVAL_LOGLIK) {
        cJSON_AddStringToObject(s, "target", it->target);
        cJSON_AddNumberToObject(s, "loglikelihood", ir->ll[0]);
        cJSON_AddBoolToObject(s, "is_greedy", ir->greedy[0]);
        cJSON_AddNumberToObject(s, "n_tokens", ir->n_cont[0]);
        cJSON_AddNumberToObject(s, "acc", ir->acc);
    } else {
        cJSON_AddNumberToObject(s, "gold", it->gold);
        cJSON_AddNumberToObject(s, "pred", ir->pred);
        cJSON_AddNumberToObject(s, "pred_norm", ir->pred_norm);
        cJSON *a = cJSON_AddArrayToObject(s, "loglikelihoods");
        cJSON *l = cJSON_AddArrayToObject(s, "lengths");
        cJSON *g = cJSON_AddArrayToObject(s, "is_greedy");
        cJSON *nt = cJSON_AddArrayToObject(s, "n_tokens");
        for (int q = 0; q < ir->n_req; q++) {
            cJSON_AddItemToArray(a, cJSON_CreateNumber(ir->ll[q]));
            cJSON_AddItemToArray(l, cJSON_CreateNumber((double)ll_utf8_len(it->choices[q])));
            cJSON_AddItemToArray(g, cJSON_CreateBool(ir->greedy[q]));
            cJSON_AddItemToArray(nt, cJSON_CreateNumber(ir->n_cont[q]));
        }
        cJSON_AddNumberToObject(s, "acc", ir->acc);
        cJSON_AddNumberToObject(s, "acc_norm", ir->acc_norm);
    }
    return json_line(s);
}

static int write_samples(const char *path, const ll_eval_task *t, const ll_eval_results *r) {
    char **lines = calloc((size_t)(r->n ? r->n : 1), sizeof *lines);
    int rc = lines ? 0 : cli_error("out of memory");
    for (int i = 0; !rc && i < r->n; i++)
        if (!(lines[i] = sample_line(t, r, i))) rc = 1;
    if (!rc) rc = write_lines(path, lines, r->n);
    if (lines)
        for (int i = 0; i < r->n; i++) free(lines[i]);
    free(lines);
    return rc;
}

static int print_results(const eval_opts *o, ll_model *m, const ll_eval_task *t, const ll_eval_results *r, bool bos) {
    if (!o->c->json) {
        if (t->kind == LL_EVAL_GEN) {
            printf("task %s  n %d  (%d-shot)\n", t->name, r->n, t->num_fewshot);
            print_metric("exact_match,strict", r->em_strict, r->em_strict_stderr);
            print_metric("exact_match,flexible", r->em_flexible, r->em_flexible_stderr);
        } else {
            printf("task %s  n %d\n", t->name, r->n);
            print_metric("acc", r->acc, r->acc_stderr);
            if (t->has_acc_norm) print_metric("acc_norm", r->acc_norm, r->acc_norm_stderr);
            if (t->kind == LL_EVAL_LOGLIK) print_metric("perplexity", r->ppl, r->ppl_stderr);
        }
        return 0;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "task", t->name);
    cJSON_AddNumberToObject(j, "n", r->n);
    if (t->kind == LL_EVAL_GEN) {
        add_num(j, "exact_match_strict", r->em_strict);
        add_num(j, "exact_match_strict_stderr", r->em_strict_stderr);
        add_num(j, "exact_match_flexible", r->em_flexible);
        add_num(j, "exact_match_flexible_stderr", r->em_flexible_stderr);
    } else {
        add_num(j, "acc", r->acc);
        add_num(j, "acc_stderr", r->acc_stderr);
        if (t->has_acc_norm) { add_num(j, "acc_norm", r->acc_norm); add_num(j, "acc_norm_stderr", r->acc_norm_stderr); }
        if (t->kind == LL_EVAL_LOGLIK) { add_num(j, "perplexity", r->ppl); add_num(j, "perplexity_stderr", r->ppl_stderr); }
    }
    cJSON_AddStringToObject(j, "data", o->data);
    if (o->limit >= 0) cJSON_AddNumberToObject(j, "limit", (double)o->limit); else cJSON_AddNullToObject(j, "limit");
    cJSON_AddNumberToObject(j, "num_fewshot", t->kind == LL_EVAL_GEN ? t->num_fewshot : 0);
    if (t->kind == LL_EVAL_GEN) {
        cJSON_AddNumberToObject(j, "fewshot_seed", 1234);
        cJSON_AddNumberToObject(j, "max_gen_toks", o->max_gen);
        cJSON_AddNumberToObject(j, "max_length", r->max_len);
        cJSON_AddNumberToObject(j, "generated_tokens", (double)r->generated_tokens);
    }
    cJSON_AddStringToObject(j, "plan", o->c->plan ? o->c->plan : "full");
    cJSON_AddStringToObject(j, "compute", o->c->exact ? "exact" : "llamacpp");
    if (t->kind != LL_EVAL_GEN) {
        cJSON_AddNumberToObject(j, "max_length", r->max_len);
        cJSON_AddNumberToObject(j, "truncated_requests", (double)r->n_truncated);
    }
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    cli_provenance(j, m, bos, r->n_ctx, t->kind == LL_EVAL_GEN ? -1 : r->n_tokens);
    return cli_print_json(j);
}

static int run_task(const eval_opts *o, ll_model *m, ll_eval_task *t, bool bos) {
    int rc = 1;
    ll_order order = {0, NULL, 0};
    if (o->c->plan && ll_plan_parse(o->c->plan, m->n_layer, &order)) return cli_lib_error();
    ll_eval_opts eo;
    ll_eval_default_opts(&eo);
    eo.limit = o->limit;
    eo.bos = bos;
    eo.max_len = o->max_len;
    eo.max_gen = o->max_gen;
    eo.bootstrap_iters = o->bootstrap_iters;
    eo.order = o->c->plan ? &order : NULL;
    eo.n_threads = o->c->threads;
    eo.exact = o->c->exact;
    eo.parallel_kv_mean = o->c->parallel_kv_mean;
    eo.batch_tokens = o->batch_tokens;
    cli_progress pg;
    long n = o->limit >= 0 && o->limit < t->n_items ? o->limit : t->n_items;
    cli_progress_start(&pg, t->name, n, NULL);
    eo.progress = cli_progress_cb;
    eo.layer_progress = cli_progress_layer_cb;
    eo.progress_ctx = &pg;
    ll_eval_results r;
    if (ll_eval_run(m, t, &eo, &r)) {
        cli_progress_stop(&pg);
        ll_fail_prefix("eval: ");
        cli_lib_error();
        goto done;
    }
    cli_progress_stop(&pg);
    if (r.n_truncated)
        fprintf(stderr, "layerlab: eval: %lld request(s) longer than the maximum length of %d tokens keep their last %d "
                "tokens, as lm-eval left-truncates them\n", r.n_truncated, r.max_len, r.max_len + 1);
    if (o->samples && write_samples(o->samples, t, &r)) goto done_r;
    if (print_results(o, m, t, &r, bos)) goto done_r;
    rc = 0;
done_r:
    ll_eval_results_free(&r);
done:
    ll_order_free(&order);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    eval_opts o = {.c = &c, .limit = -1, .bootstrap_iters = 100000, .max_gen = 256, .batch_tokens = 512};
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
        if (!strcmp(a, "--batch-tokens")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 0, 1 << 20, &x)) return 1;
            o.batch_tokens = (int)x;
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
    rc = run_task(&o, m, &t, bos);
free_model:
    ll_model_free(m);
free_task:
    ll_eval_task_free(&t);
out:
    free(data_own);
    free(fewshot_own);
    return rc;
}
