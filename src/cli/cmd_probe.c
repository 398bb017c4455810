/* cmd_probe.c — `layerlab probe KIND[,KIND...] MODEL ...`: inside measurements during the forward pass
 * (cosine similarity of states, block influence, attention-graph ID, MLP partition statistics, manifold
 * intrinsic dimension of states). The run and the reductions of docs/PROBES.md are the library's
 * (src/probe/run.c, ll_probe_run); this file reads the options and inputs, writes --dump files from the
 * collector after each sample, and prints JSON / .npy / .csv. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "eval/eval.h"
#include "io/csv.h"
#include "io/files.h"
#include "io/json.h"
#include "probe/idim.h"
#include "io/npy.h"
#include "model/model.h"
#include "plan/plan.h"
#include "probe/probe.h"
#include "probe/run.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

static const char *USAGE =
    "usage: layerlab probe KIND[,KIND...] MODEL (--text STR | --file F | --task NAME [--data F]) [options]\n"
    "       layerlab probe intrinsic-dim --input X.npy [--k 20] [--alpha 0.05] [--json | --out F.npy|.csv]\n"
    "KIND: cosine, block-influence, attention-id, mlp-regions, intrinsic-dim (several: comma-separated, with --json);\n"
    "  none runs the same forward passes and measures nothing (the baseline for timing probes).\n"
    "Inputs: --text one sample; --file one sample per non-empty line; --task NAME: one sample per item of an\n"
    "  eval task (arc_easy, arc_challenge, hellaswag, winogrande, lambada_openai, piqa, boolq, gsm8k; the\n"
    "  text lm-eval feeds the model, see docs/PROBES.md), from --data F or eval's default file;\n"
    "  --ids F: one sample per non-empty line of token ids separated by spaces (no tokenizer; a study's\n"
    "  prompts.csv ids column); --limit N first N samples.\n"
    "Common: --plan SPEC, --bos/--no-bos, --exact/--llamacpp, --threads N, --tokenizer TOK.bin,\n"
    "  --json | --out F.npy|F.csv (the probe's main array), --dump DIR (raw tapped tensors as .npy; DIR must\n"
    "  be new or empty, --dump-replace removes an earlier dump's files first; manifest.json is written\n"
    "  last, so a dump without it is incomplete).\n"
    "cosine:          --reduce flat|token|last (default flat), --pad (batches of 8 right-padded with id 0)\n"
    "block-influence: --span n (angular distance between states n entries apart, last token)\n"
    "attention-id:    --eps E (0.1), --threshold relative|absolute, --position P (default: last token),\n"
    "                 --all-positions, --eps-sweep a,b,..., --per-head (main array [E, H])\n"
    "mlp-regions:     --compare F2 (Hamming distance to the same position of F2's samples)\n"
    "intrinsic-dim:   --entry K (state after entry K; 0 = embeddings; default the last), --points tokens|prompts,\n"
    "                 --k 20, --alpha 0.05\n"
    "States are numbered 0..E (0 = embedding output, e = output of entry e, before the final norm); a\n"
    "parallel group's per-layer quantity is the mean over its members. See docs/PROBES.md.\n";

static const char *const FEATURE_NAMES[7] = {"pos_frac_mean", "pos_frac_min", "pos_frac_max", "pos_frac_std",
                                             "closest_min", "closest_mean", "closest_std"};

enum { K_COSINE = LL_PROBE_COSINE, K_BI = LL_PROBE_BI, K_ATTN = LL_PROBE_ATTN, K_MLP = LL_PROBE_MLP,
       K_IDIM = LL_PROBE_IDIM, K_NONE = LL_PROBE_NONE };

static int add_text(ll_probe_samples *ss, const ll_model *m, bool bos, const char *text, size_t len) {
    int32_t *ids;
    size_t n;
    if (ll_tokenize(m->tok, text, len, bos, true, &ids, &n)) return cli_lib_error(), -1;
    int rc = ll_probe_samples_add(ss, ids, (int)n);
    free(ids);
    return rc ? cli_lib_error(), -1 : 0;
}

/* One sample per item of an lm-eval task, read by eval's reader (ll_probe_task_samples says which text). */
static int load_task(ll_probe_samples *ss, const ll_model *m, bool bos, const char *task, const char *data, long long limit) {
    char *path = NULL, *fewshot = NULL;
    if (cli_task_files("probe", task, data, NULL, &path, &fewshot)) return -1;
    ll_eval_task t;
    int rc = ll_eval_load(task, path, fewshot, &t);
    free(path);
    free(fewshot);
    if (rc) return cli_lib_error(), -1;
    rc = ll_probe_task_samples(m->tok, bos, &t, (long)limit, ss);
    ll_eval_task_free(&t);
    return rc ? cli_lib_error(), -1 : 0;
}

static int load_lines(ll_probe_samples *ss, const ll_model *m, bool bos, const char *path, long long limit) {
    size_t len;
    char *buf = cli_read_file(path, &len);
    if (!buf) return -1;
    int rc = 0;
    char *p = buf, *end = buf + len;
    while (p < end && (limit < 0 || ss->n < limit)) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        size_t n = (size_t)(e - p);
        if (n && p[n - 1] == '\r') n--;
        bool blank = true;
        for (size_t i = 0; i < n; i++)
            if (p[i] != ' ' && p[i] != '\t') blank = false;
        if (!blank && (rc = add_text(ss, m, bos, p, n))) break;
        p = e + 1;
    }
    free(buf);
    if (!rc && ss->n == 0) rc = -1, cli_error("%s: no non-empty lines to probe", path);
    return rc;
}

/* ------------------------------------------------------------------ output helpers ---- */

static cJSON *json_vec(const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
    return a;
}

static cJSON *json_mat(const double *v, int r, int c) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < r; i++) cJSON_AddItemToArray(a, json_vec(v + (size_t)i * c, c));
    return a;
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* Writes the main array (rows × cols; rows = 0 for a vector) as .npy (float64) or .csv. */
static int write_main(const char *path, const double *v, int rows, int cols, const char *col_prefix,
                      const char *const *names) {
    if (ends_with(path, ".npy")) {
        int64_t shape[2] = {rows ? rows : cols, cols};
        if (ll_npy_write(path, "<f8", rows ? shape : shape + 1, rows ? 2 : 1, v)) return cli_lib_error(), -1;
        return 0;
    }
    if (!ends_with(path, ".csv")) return cli_error("--out: expected a .npy or .csv file name, got '%s'", path), -1;
    if (ll_csv_write(path, names, col_prefix, rows ? rows : 1, cols, v)) return cli_lib_error(), -1;
    return 0;
}

/* ------------------------------------------------------------------ the probe run ---- */

/* What the --dump files need to know of the run. */
typedef struct {
    const char *dir;
    int kinds, S, E, H, M;
    const int *members;
    const ll_model *m;
    bool started;
} dump_ctx;

static int dump_sample(const dump_ctx *A, const ll_probe *p, const ll_model *m, int idx, const ll_probe_sample *s) {
    char path[4096];
    int T = s->n, D = m->n_embd;
    int64_t sh[5];
    snprintf(path, sizeof path, "%s/sample%d_tokens.npy", A->dir, idx);
    sh[0] = T;
    if (ll_npy_write(path, "<i4", sh, 1, s->ids)) return -1;
    if (A->kinds & (K_COSINE | K_BI | K_IDIM)) {
        float *h = malloc((size_t)A->S * T * D * sizeof *h);
        if (!h) return ll_fail("out of memory");
        for (int a = 0; a < A->S; a++) memcpy(h + (size_t)a * T * D, ll_probe_state(p, a), (size_t)T * D * sizeof *h);
        snprintf(path, sizeof path, "%s/sample%d_hidden.npy", A->dir, idx);
        sh[0] = A->S, sh[1] = T, sh[2] = D;
        int rc = ll_npy_write(path, "<f4", sh, 3, h);
        free(h);
        if (rc) return -1;
    }
    if (A->kinds & K_ATTN) {
        int nq = ll_probe_n_queries(p);
        /* repack the stored [E][M][H][nq_store][max_T] into [E][M][H][nq][T] */
        const float *rows = ll_probe_attn_rows(p);
        int32_t *qp = malloc((size_t)nq * sizeof *qp);
        if (!qp) return ll_fail("out of memory");
        for (int q = 0; q < nq; q++) qp[q] = ll_probe_query_pos(p, q);
        snprintf(path, sizeof path, "%s/sample%d_attn_positions.npy", A->dir, idx);
        sh[0] = nq;
        int rc = ll_npy_write(path, "<i4", sh, 1, qp);
        free(qp);
        if (rc) return -1;
        int nqs, mT;
        ll_probe_dims(p, &nqs, &mT);
        size_t n = (size_t)A->E * A->M * A->H * nq * T;
        float *r = malloc(n * sizeof *r);
        if (!r) return ll_fail("out of memory");
        size_t o = 0;
        for (size_t emh = 0; emh < (size_t)A->E * A->M * A->H; emh++)
            for (int q = 0; q < nq; q++)
                for (int t = 0; t < T; t++) r[o++] = rows[(emh * nqs + q) * (size_t)mT + t];
        snprintf(path, sizeof path, "%s/sample%d_attn.npy", A->dir, idx);
        sh[0] = A->E, sh[1] = A->M, sh[2] = A->H, sh[3] = nq, sh[4] = T;
        rc = ll_npy_write(path, "<f4", sh, 5, r);
        free(r);
        if (rc) return -1;
    }
    if (A->kinds & K_MLP) {
        int nqs, mT, F = m->n_ff;
        ll_probe_dims(p, &nqs, &mT);
        const float *g = ll_probe_gates(p);
        size_t n = (size_t)A->E * A->M * T * F;
        float *r = malloc(n * sizeof *r);
        if (!r) return ll_fail("out of memory");
        for (size_t em = 0; em < (size_t)A->E * A->M; em++)
            memcpy(r + em * T * F, g + em * (size_t)mT * F, (size_t)T * F * sizeof *r);
        snprintf(path, sizeof path, "%s/sample%d_gates.npy", A->dir, idx);
        sh[0] = A->E, sh[1] = A->M, sh[2] = T, sh[3] = F;
        int rc = ll_npy_write(path, "<f4", sh, 4, r);
        free(r);
        if (rc) return -1;
    }
    return 0;
}

/* The files a dump writes (and so the only ones --dump-replace removes): members.npy, gate_norms.npy,
 * manifest.json, sampleN_{tokens,hidden,attn_positions,attn,gates}.npy, and temporary files of these. */
static bool dump_file_ours(const char *name) {
    char base[256];
    snprintf(base, sizeof base, "%s", name);
    char *tmp = strstr(base, ".tmp-");
    if (tmp) *tmp = 0;
    if (!strcmp(base, "members.npy") || !strcmp(base, "gate_norms.npy") || !strcmp(base, "manifest.json")) return true;
    if (strncmp(base, "sample", 6)) return false;
    const char *c = base + 6;
    if (*c < '0' || *c > '9') return false;
    while (*c >= '0' && *c <= '9') c++;
    static const char *const kinds[] = {"_tokens.npy", "_hidden.npy", "_attn_positions.npy", "_attn.npy", "_gates.npy"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (!strcmp(c, kinds[i])) return true;
    return false;
}

/* manifest.json, written last: a dump without it was interrupted. */
static int dump_manifest(const dump_ctx *A, ll_model *m, const cli_common *c, const char *kinds, int n_samples,
                         long long n_tokens) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "what", "layerlab probe --dump");
    cJSON_AddStringToObject(o, "probes", kinds);
    cJSON_AddStringToObject(o, "plan", c->plan ? c->plan : "full");
    cJSON_AddNumberToObject(o, "n_samples", n_samples);
    cJSON_AddBoolToObject(o, "complete", true);
    cJSON *files = cJSON_AddArrayToObject(o, "per_sample_files");
    cJSON_AddItemToArray(files, cJSON_CreateString("sampleN_tokens.npy"));
    if (A->kinds & (K_COSINE | K_BI | K_IDIM)) cJSON_AddItemToArray(files, cJSON_CreateString("sampleN_hidden.npy"));
    if (A->kinds & K_ATTN) {
        cJSON_AddItemToArray(files, cJSON_CreateString("sampleN_attn_positions.npy"));
        cJSON_AddItemToArray(files, cJSON_CreateString("sampleN_attn.npy"));
    }
    if (A->kinds & K_MLP) cJSON_AddItemToArray(files, cJSON_CreateString("sampleN_gates.npy"));
    cli_provenance(o, m, cli_bos(c, m), -1, n_tokens);
    char *txt = ll_json_exact_numbers(o) ? NULL : cJSON_Print(o);
    cJSON_Delete(o);
    if (!txt) return ll_fail("out of memory");
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", A->dir);
    ll_out out;
    int rc = ll_out_open(&out, path, false);
    if (!rc) {
        fputs(txt, out.f);
        fputc('\n', out.f);
        rc = ll_out_close(&out, true);
    }
    free(txt);
    return rc;
}

static int dump_common(const dump_ctx *A, const ll_probe *p, const ll_model *m) {
    char path[4096];
    int64_t sh[3];
    snprintf(path, sizeof path, "%s/members.npy", A->dir);
    sh[0] = A->E;
    if (ll_npy_write(path, "<i4", sh, 1, A->members)) return -1;
    if (A->kinds & K_MLP) {
        int F = m->n_ff;
        double *nr = calloc((size_t)A->E * A->M * F, sizeof *nr);
        if (!nr) return ll_fail("out of memory");
        for (int e = 0; e < A->E; e++)
            for (int j = 0; j < A->members[e]; j++)
                memcpy(nr + ((size_t)e * A->M + j) * F, ll_probe_gate_norms(p, e, j), (size_t)F * sizeof *nr);
        snprintf(path, sizeof path, "%s/gate_norms.npy", A->dir);
        sh[0] = A->E, sh[1] = A->M, sh[2] = F;
        int rc = ll_npy_write(path, "<f8", sh, 3, nr);
        free(nr);
        if (rc) return -1;
    }
    return 0;
}

/* ll_probe_run's per-sample hook: the common files before the first sample, then the sample's */
static int dump_hook(void *ctx, const ll_probe *p, int i, const ll_probe_sample *s) {
    dump_ctx *d = ctx;
    if (!d->started && dump_common(d, p, d->m)) return -1;
    d->started = true;
    return dump_sample(d, p, d->m, i, s);
}

static int parse_kinds(const char *s, int *kinds) {
    *kinds = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (!strcmp(tok, "cosine")) *kinds |= K_COSINE;
        else if (!strcmp(tok, "block-influence")) *kinds |= K_BI;
        else if (!strcmp(tok, "attention-id")) *kinds |= K_ATTN;
        else if (!strcmp(tok, "mlp-regions")) *kinds |= K_MLP;
        else if (!strcmp(tok, "intrinsic-dim")) *kinds |= K_IDIM;
        else if (!strcmp(tok, "none")) *kinds |= K_NONE;
        else return cli_error("probe: unknown KIND '%s' (cosine, block-influence, attention-id, mlp-regions, intrinsic-dim)", tok), -1;
    }
    if (!*kinds) return cli_error("probe: no KIND given\n%s", USAGE), -1;
    return 0;
}

static int parse_eps_list(const char *s, double *eps, int *n) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    *n = 1; /* eps[0] is the main ε */
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (*n >= LL_PROBE_MAX_EPS) return cli_error("--eps-sweep: at most %d values", LL_PROBE_MAX_EPS - 1), -1;
        if (cli_parse_float("--eps-sweep", tok, 0, 1, &eps[*n])) return -1;
        (*n)++;
    }
    if (*n == 1) return cli_error("--eps-sweep: expected a comma-separated list such as 0.01,0.05,0.1"), -1;
    return 0;
}

int cmd_probe(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2;
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--input")) {
            if (strcmp(argv[1], "intrinsic-dim")) return cli_error("probe: --input is for intrinsic-dim only");
            return cmd_probe_idim(argc - 1, argv + 1);
        }
    ll_probe_run_opts ro;
    ll_probe_run_default_opts(&ro);
    if (parse_kinds(argv[1], &ro.kinds)) return 1;
    bool dump_replace = false, per_head = false;
    int reduce = 0; /* 0 flat, 1 token, 2 last */
    const char *dump = NULL, *compare = NULL, *out = NULL;
    long long idim_k = 20;
    double idim_alpha = 0.05;
    cli_common c;
    cli_common_init(&c);
    const char *text = NULL, *file = NULL, *task = NULL, *data = NULL, *ids = NULL;
    long long limit = -1, ll;
    double eps = 0.1;
    ll_probe_opts *po = &ro.tap;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
#define VAL() if (!(v = cli_value(argc, argv, &i))) return 1
        if (!strcmp(a, "--text")) { VAL(); text = v; continue; }
        if (!strcmp(a, "--file")) { VAL(); file = v; continue; }
        if (!strcmp(a, "--ids")) { VAL(); ids = v; continue; }
        if (!strcmp(a, "--task")) { VAL(); task = v; continue; }
        if (!strcmp(a, "--data")) { VAL(); data = v; continue; }
        if (!strcmp(a, "--limit")) { VAL(); if (cli_parse_int(a, v, 1, 1LL << 40, &limit)) return 1; continue; }
        if (!strcmp(a, "--out") || !strcmp(a, "-o")) { if (!(out = cli_out_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--dump")) { VAL(); dump = v; continue; }
        if (!strcmp(a, "--dump-replace")) { dump_replace = true; continue; }
        if (!strcmp(a, "--pad")) { ro.pad = true; continue; }
        if (!strcmp(a, "--reduce")) {
            VAL();
            if (!strcmp(v, "flat")) reduce = 0;
            else if (!strcmp(v, "token")) reduce = 1;
            else if (!strcmp(v, "last")) reduce = 2;
            else return cli_error("--reduce: expected flat, token or last, got '%s'", v);
            continue;
        }
        if (!strcmp(a, "--span")) { VAL(); if (cli_parse_int(a, v, 1, 1 << 16, &ll)) return 1; ro.span = (int)ll; continue; }
        if (!strcmp(a, "--eps")) { VAL(); if (cli_parse_float(a, v, 0, 1, &eps)) return 1; continue; }
        if (!strcmp(a, "--threshold")) {
            VAL();
            if (!strcmp(v, "relative")) po->relative = true;
            else if (!strcmp(v, "absolute")) po->relative = false;
            else return cli_error("--threshold: expected relative or absolute, got '%s'", v);
            continue;
        }
        if (!strcmp(a, "--position")) { VAL(); if (cli_parse_int(a, v, 0, 1 << 24, &ll)) return 1; po->position = (int)ll; continue; }
        if (!strcmp(a, "--all-positions")) { po->all_positions = true; continue; }
        if (!strcmp(a, "--eps-sweep")) { VAL(); if (parse_eps_list(v, po->eps, &po->n_eps)) return 1; continue; }
        if (!strcmp(a, "--per-head")) { per_head = true; continue; }
        if (!strcmp(a, "--compare")) { VAL(); compare = v; continue; }
        if (!strcmp(a, "--entry")) { VAL(); if (cli_parse_int(a, v, 0, 1 << 16, &ll)) return 1; ro.entry_k = (int)ll; continue; }
        if (!strcmp(a, "--points")) {
            VAL();
            if (!strcmp(v, "tokens")) ro.points_prompts = false;
            else if (!strcmp(v, "prompts")) ro.points_prompts = true;
            else return cli_error("--points: expected tokens or prompts, got '%s'", v);
            continue;
        }
        if (!strcmp(a, "--k")) { VAL(); if (cli_parse_int(a, v, 2, 1 << 20, &idim_k)) return 1; continue; }
        if (!strcmp(a, "--alpha")) { VAL(); if (cli_parse_float(a, v, 0, 1, &idim_alpha)) return 1; continue; }
#undef VAL
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("probe: unknown option '%s'\n%s", a, USAGE);
    }
    po->eps[0] = eps;
    po->keep_raw = dump != NULL;
    int kinds = ro.kinds;
    if ((text != NULL) + (file != NULL) + (task != NULL) + (ids != NULL) != 1)
        return cli_error("probe: give exactly one of --text, --file, --task, --ids");
    int nk = __builtin_popcount((unsigned)kinds);
    if (nk > 1 && (kinds & K_IDIM)) return cli_error("probe: intrinsic-dim runs alone (it prints its own result)");
    if (nk > 1 && out) return cli_error("probe: --out writes one probe's array; with several kinds use --json");
    if (compare && !(kinds & K_MLP)) return cli_error("probe: --compare is for mlp-regions");

    ll_model *m = cli_open_model(&c, false);
    if (!m) return 1;
    int rc = 1;
    ll_probe_samples ss = {0}, cmp = {0};
    ll_order order = {0, NULL, 0};
    ll_probe_results R;
    memset(&R, 0, sizeof R);
    if (!m->tok) { cli_error("%s: a llama2.c checkpoint needs --tokenizer TOK.bin", c.model); goto done; }
    bool bos = cli_bos(&c, m);
    if (text) {
        if (add_text(&ss, m, bos, text, strlen(text))) goto done;
        if (!ss.n) { cli_error("probe: --text gives no tokens"); goto done; }
    } else if (file) {
        if (load_lines(&ss, m, bos, file, limit)) goto done;
    } else if (ids) {
        size_t len;
        char *buf = cli_read_file(ids, &len);
        int prc = buf ? ll_probe_samples_parse_ids(ids, buf, len, m->n_vocab, (long)limit, &ss) : -1;
        free(buf);
        if (prc) { if (buf) cli_lib_error(); goto done; }
    } else if (load_task(&ss, m, bos, task, data, limit)) {
        goto done;
    }
    if (compare) {
        if (load_lines(&cmp, m, bos, compare, ss.n)) goto done;
        if (cmp.n < ss.n) { cli_error("--compare: %s has %d samples, the input has %d", compare, cmp.n, ss.n); goto done; }
        ro.compare = &cmp;
    }
    if (ro.pad && ll_probe_samples_pad8(&ss)) { cli_lib_error(); goto done; }   /* the Painters harness: batches of 8, right-padded with id 0 */
    if (c.plan ? ll_plan_parse(c.plan, m->n_layer, &order) : ll_order_full(&order, m->n_layer)) { cli_lib_error(); goto done; }
    ro.order = &order;
    ro.n_threads = c.threads;
    ro.exact = c.exact;
    ro.parallel_kv_mean = c.parallel_kv_mean;
    int M = 1;
    int *members = malloc((size_t)order.n_entries * sizeof *members);
    if (!members) { cli_error("out of memory"); goto done; }
    for (int i = 0; i < order.n_entries; i++) {
        members[i] = order.entries[i].n;
        if (members[i] > M) M = members[i];
    }
    dump_ctx dc = {dump, kinds, order.n_entries + 1, order.n_entries, m->n_head, M, members, m, false};
    if (dump) {
        if (ll_dir_prepare(dump, dump_replace, dump_file_ours, "--dump")) { free(members); cli_lib_error(); goto done; }
        ro.on_sample = dump_hook;
        ro.sample_ctx = &dc;
    }
    cli_progress pg;
    cli_progress_start(&pg, "probe samples", ss.n, NULL);
    ro.progress = cli_progress_cb;
    ro.layer_progress = cli_progress_layer_cb;
    ro.progress_ctx = &pg;
    int prc = ll_probe_run(m, &ss, &ro, &R);
    cli_progress_stop(&pg);
    if (prc) {
        free(members);
        ll_fail_prefix("probe: ");
        cli_lib_error();
        goto done;
    }
    if (dump && dump_manifest(&dc, m, &c, argv[1], ss.n, R.n_tokens)) { free(members); cli_lib_error(); goto done; }
    free(members);

    /* ---- results ---- */
    int S = R.S, E = R.E, N = R.n_samples;
    const double *cosm = reduce == 0 ? R.cos_flat : reduce == 1 ? R.cos_token : R.cos_last;
    const char *reduce_name = reduce == 0 ? "flat" : reduce == 1 ? "token" : "last";

    if (kinds & K_IDIM) {
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddNumberToObject(extra, "entry", ro.entry_k < 0 ? E : ro.entry_k);
        cJSON_AddStringToObject(extra, "points", ro.points_prompts ? "prompts" : "tokens");
        cJSON_AddNumberToObject(extra, "n_samples", N);
        if (c.plan) cJSON_AddStringToObject(extra, "plan", c.plan);
        cli_provenance(extra, m, bos, R.max_T, R.n_tokens);
        rc = idim_report(R.points, R.n_points, m->n_embd, (int)idim_k, idim_alpha, c.model, c.json, out, extra);
        goto done;
    }
    if (out) {
        int r = 0;
        if (kinds & K_COSINE) r = write_main(out, cosm, S, S, "state", NULL);
        else if (kinds & K_BI) r = ro.span ? write_main(out, R.angular, 0, S - ro.span, "state", NULL) : write_main(out, R.block_influence, 0, E, "entry", NULL);
        else if (kinds & K_ATTN) r = per_head ? write_main(out, R.per_head, E, R.H, "head", NULL) : write_main(out, R.attn_id, 0, E, "entry", NULL);
        else if (kinds & K_MLP) r = write_main(out, R.features, E, 7, "feature", FEATURE_NAMES);
        if (r) goto done;
        fprintf(stderr, "layerlab: wrote %s\n", out);
        rc = 0;
        goto done;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "plan", c.plan ? c.plan : "full");
    cJSON_AddNumberToObject(j, "entries", E);
    cJSON_AddItemToObject(j, "members", cJSON_CreateIntArray(R.members, E));
    cJSON_AddNumberToObject(j, "n_samples", N);
    cJSON_AddNumberToObject(j, "n_tokens", (double)R.n_tokens);
    cJSON_AddNumberToObject(j, "seconds", R.seconds);
    if (kinds & K_COSINE) {
        cJSON_AddStringToObject(j, "reduce", reduce_name);
        cJSON_AddBoolToObject(j, "pad", ro.pad);
        cJSON_AddItemToObject(j, "cosine", json_mat(cosm, S, S));
        cJSON_AddItemToObject(j, "variance", json_vec(R.variance, S));
    }
    if (kinds & K_BI) {
        cJSON_AddItemToObject(j, "block_influence", json_vec(R.block_influence, E));
        if (ro.span) {
            cJSON_AddNumberToObject(j, "span", ro.span);
            cJSON_AddItemToObject(j, "angular_distance", json_vec(R.angular, S - ro.span));
        }
    }
    if (kinds & K_ATTN) {
        cJSON_AddNumberToObject(j, "eps", eps);
        cJSON_AddStringToObject(j, "threshold", po->relative ? "relative" : "absolute");
        if (po->all_positions) cJSON_AddStringToObject(j, "position", "all");
        else if (po->position < 0) cJSON_AddStringToObject(j, "position", "last");
        else cJSON_AddNumberToObject(j, "position", po->position);
        cJSON_AddItemToObject(j, "attention_id", json_vec(R.attn_id, E));
        cJSON_AddItemToObject(j, "per_head", json_mat(R.per_head, E, R.H));
        cJSON_AddItemToObject(j, "density", json_vec(R.density, E));
        cJSON_AddItemToObject(j, "entropy", json_vec(R.entropy, E));
        cJSON_AddItemToObject(j, "max_weight", json_vec(R.max_weight, E));
        if (R.n_eps > 1) {
            cJSON *sw = cJSON_AddObjectToObject(j, "eps_sweep");
            cJSON_AddItemToObject(sw, "eps", json_vec(po->eps + 1, R.n_eps - 1));
            cJSON_AddItemToObject(sw, "attention_id", json_mat(R.attn_id + E, R.n_eps - 1, E));
        }
    }
    if (kinds & K_MLP) {
        cJSON *fn = cJSON_CreateStringArray(FEATURE_NAMES, 7);
        cJSON_AddItemToObject(j, "feature_names", fn);
        cJSON_AddStringToObject(j, "std", "sample (ddof=1)");
        cJSON_AddItemToObject(j, "features", json_mat(R.features, E, 7));
        cJSON_AddItemToObject(j, "hamming_consecutive", json_vec(R.hamming, E));
        if (compare) cJSON_AddItemToObject(j, "hamming_compare", json_vec(R.hamming_compare, E));
    }
    cli_provenance(j, m, bos, R.max_T, R.n_tokens);
    if (!c.json) { /* a compact human-readable view: the main vector(s) per entry */
        char *s = ll_json_exact_numbers(j) ? NULL : cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (!s) { cli_error("out of memory"); goto done; }
        puts(s);
        free(s);
        rc = 0;
        goto done;
    }
    rc = cli_print_json(j);
done:
    ll_probe_results_free(&R);
    ll_order_free(&order);
    ll_probe_samples_free(&ss);
    ll_probe_samples_free(&cmp);
    ll_model_free(m);
    return rc;
}

/* `layerlab regions-bound N d`: log10 of the hyperplane-arrangement region counts. */
int cmd_regions_bound(int argc, char **argv) {
    static const char *U =
        "usage: layerlab regions-bound N d [--json]\n"
        "log10 of R(N,d) = sum_{i<=d} C(N,i) (regions of N hyperplanes in general position in R^d) and of\n"
        "R0(N,d) = 2 sum_{i<d} C(N-1,i) (central arrangement: bias-free layers such as Llama's MLP gates).\n";
    long long N = -1, d = -1;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return fputs(U, stdout), 0;
        if (!strcmp(argv[i], "--json")) { json = true; continue; }
        long long *dst = N < 0 ? &N : d < 0 ? &d : NULL;
        if (!dst) return cli_error("regions-bound: unexpected argument '%s'\n%s", argv[i], U);
        if (cli_parse_int(N < 0 ? "N" : "d", argv[i], N < 0 ? 1 : 0, 1LL << 40, dst)) return 1;
    }
    if (N < 0 || d < 0) return cli_error("regions-bound: give N and d\n%s", U);
    double lr, lr0;
    ll_regions_bound(N, d, &lr, &lr0);
    if (json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "N", (double)N);
        cJSON_AddNumberToObject(j, "d", (double)d);
        cJSON_AddNumberToObject(j, "log10_R", lr);
        if (isinf(lr0)) cJSON_AddNullToObject(j, "log10_R0");
        else cJSON_AddNumberToObject(j, "log10_R0", lr0);
        cJSON *p = cJSON_AddObjectToObject(j, "provenance");
        cJSON_AddStringToObject(p, "tool", "layerlab");
        cJSON_AddStringToObject(p, "version", LAYERLAB_VERSION);
        return cli_print_json(j);
    }
    printf("log10_R %.10g\nlog10_R0 %.10g\n", lr, lr0);
    return 0;
}
