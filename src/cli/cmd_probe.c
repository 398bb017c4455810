/* cmd_probe.c — `layerlab probe KIND[,KIND...] MODEL ...`: inside measurements during the forward pass
 * (cosine similarity of states, block influence, attention-graph ID, MLP partition statistics, manifold
 * intrinsic dimension of states). Per-sample tensors come from the collector in src/probe/probe.c; this
 * file reads the inputs, folds samples into the reductions documented in docs/PROBES.md and writes
 * JSON / .npy / .csv. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "eval/eval.h"
#include "io/csv.h"
#include "io/files.h"
#include "io/npy.h"
#include "model/model.h"
#include "plan/plan.h"
#include "probe/probe.h"
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
    "  --limit N first N samples.\n"
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

enum { K_COSINE = 1, K_BI = 2, K_ATTN = 4, K_MLP = 8, K_IDIM = 16, K_NONE = 32 };

typedef struct {
    int32_t *ids;
    int n;
} sample;

typedef struct {
    sample *s;
    int n, cap;
} sample_set;

static void samples_free(sample_set *ss) {
    for (int i = 0; i < ss->n; i++) free(ss->s[i].ids);
    free(ss->s);
    memset(ss, 0, sizeof *ss);
}

static int samples_add(sample_set *ss, int32_t *ids, int n) {
    if (ss->n == ss->cap) {
        int cap = ss->cap ? ss->cap * 2 : 16;
        sample *ns = realloc(ss->s, (size_t)cap * sizeof *ns);
        if (!ns) return cli_error("out of memory"), -1;
        ss->s = ns;
        ss->cap = cap;
    }
    ss->s[ss->n].ids = ids;
    ss->s[ss->n].n = n;
    ss->n++;
    return 0;
}

static int add_text(sample_set *ss, const ll_model *m, bool bos, const char *text, size_t len) {
    int32_t *ids;
    size_t n;
    if (ll_tokenize(m->tok, text, len, bos, true, &ids, &n)) return cli_lib_error(), -1;
    if (n == 0) { free(ids); return 0; }
    if (samples_add(ss, ids, (int)n)) { free(ids); return -1; }
    return 0;
}

static int add_tokens(sample_set *ss, const int32_t *a, int na, const int32_t *b, int nb) {
    int n = na + nb;
    if (n == 0) return 0;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    if (!ids) return cli_error("out of memory"), -1;
    memcpy(ids, a, (size_t)na * sizeof *ids);
    if (nb) memcpy(ids + na, b, (size_t)nb * sizeof *ids);
    if (samples_add(ss, ids, n)) { free(ids); return -1; }
    return 0;
}

/* One sample per item of an lm-eval task, read by src/eval/tasks.c (the `eval` command's reader):
 * multiple choice: the context the choices share; winogrande: the gold option's request input;
 * lambada_openai: its request input (context + continuation tokens without the last, as lm-eval
 * feeds the model); gsm8k: the zero-shot prompt "Question: ...\nAnswer:". */
static int load_task(sample_set *ss, const ll_model *m, bool bos, const char *task, const char *data, long long limit) {
    char *path = NULL, *fewshot = NULL;
    if (cli_task_files("probe", task, data, NULL, &path, &fewshot)) return -1;
    ll_eval_task t;
    int rc = ll_eval_load(task, path, fewshot, &t);
    free(path);
    free(fewshot);
    if (rc) return cli_lib_error(), -1;
    int n = t.n_items;
    if (limit >= 0 && limit < n) n = (int)limit;
    for (int i = 0; i < n && !rc; i++) {
        const ll_eval_item *it = &t.items[i];
        if (t.kind == LL_EVAL_GEN) {
            size_t lq = strlen(it->question);
            char *text = malloc(lq + 32);
            if (!text) { rc = cli_error("out of memory"); break; }
            int k = snprintf(text, lq + 32, "Question: %s\nAnswer:", it->question);
            rc = add_text(ss, m, bos, text, (size_t)k);
            free(text);
            continue;
        }
        bool shared = t.kind == LL_EVAL_MC;
        for (int r = 1; r < it->n_req && shared; r++) shared = !strcmp(it->req[r].ctx, it->req[0].ctx);
        const ll_eval_req *req = &it->req[shared || it->gold < 0 ? 0 : it->gold];
        ll_eval_toks tk;
        if (ll_eval_encode(m->tok, bos, req, &tk)) { rc = cli_lib_error(); break; }
        rc = shared ? add_tokens(ss, tk.ctx, tk.n_ctx, NULL, 0) : add_tokens(ss, tk.ctx, tk.n_ctx, tk.cont, tk.n_cont - 1);
        ll_eval_toks_free(&tk);
    }
    ll_eval_task_free(&t);
    if (!rc && ss->n == 0) rc = cli_error("%s: no samples", task);
    return rc ? -1 : 0;
}

static int load_lines(sample_set *ss, const ll_model *m, bool bos, const char *path, long long limit) {
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

typedef struct {
    /* options */
    int kinds;
    bool pad;
    int reduce; /* 0 flat, 1 token, 2 last */
    int span;
    bool per_head;
    int entry_k; /* intrinsic-dim state; -1 = last */
    bool points_prompts;
    long long idim_k;
    double idim_alpha;
    const char *dump, *compare, *out;
    /* sizes */
    int S, E, H, M;
    const int *members;
    /* cosine accumulators: per batch and overall */
    double *b_flat, *b_last, *b_var, *flat, *last, *var, *tok;
    double tok_count;
    int b_n, n_batches;
    double *ang; /* [S-span] sums */
    /* attention */
    int n_eps;
    double *id_sum, *head_sum, *dens_sum, *ent_sum, *max_sum; /* id_sum [n_eps][E] */
    /* mlp */
    double *feat, *ham, *ham_cmp;
    double ham_cmp_n;
    /* intrinsic dimension points */
    double *pts;
    long long n_pts, cap_pts;
    int n_samples;
    long long n_tokens;
} acc;

static double dotd(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static double cosd(double ab, double aa, double bb) { return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0; }

static void flush_batch(acc *A) {
    if (!A->b_n) return;
    int S = A->S;
    for (int i = 0; i < S * S; i++) {
        A->flat[i] += A->b_flat[i] / A->b_n;
        A->last[i] += A->b_last[i] / A->b_n;
        A->b_flat[i] = A->b_last[i] = 0;
    }
    for (int i = 0; i < S; i++) {
        A->var[i] += A->b_var[i] / A->b_n;
        A->b_var[i] = 0;
    }
    A->b_n = 0;
    A->n_batches++;
}

static void fold_states(acc *A, const ll_probe *p, int T, int D) {
    int S = A->S;
    size_t n = (size_t)T * D;
    double *nn = calloc((size_t)S, sizeof *nn), *ln = calloc((size_t)S, sizeof *ln);
    double *tn = calloc((size_t)S * T, sizeof *tn);
    if (!nn || !ln || !tn) { free(nn); free(ln); free(tn); return; }
    for (int a = 0; a < S; a++) {
        const float *x = ll_probe_state(p, a);
        nn[a] = dotd(x, x, n);
        for (int t = 0; t < T; t++) tn[(size_t)a * T + t] = dotd(x + (size_t)t * D, x + (size_t)t * D, (size_t)D);
        ln[a] = tn[(size_t)a * T + T - 1];
        double sum = 0;
        for (size_t i = 0; i < n; i++) sum += x[i];
        double mean = sum / (double)n, ss = 0;
        for (size_t i = 0; i < n; i++) ss += ((double)x[i] - mean) * ((double)x[i] - mean);
        A->b_var[a] += ss / (double)n;
    }
    for (int a = 0; a < S; a++) {
        const float *x = ll_probe_state(p, a);
        for (int b = a; b < S; b++) {
            const float *y = ll_probe_state(p, b);
            double f = 0, tk = 0, lc = 0;
            for (int t = 0; t < T; t++) {
                double d = dotd(x + (size_t)t * D, y + (size_t)t * D, (size_t)D);
                f += d;
                tk += cosd(d, tn[(size_t)a * T + t], tn[(size_t)b * T + t]);
                if (t == T - 1) lc = cosd(d, ln[a], ln[b]);
            }
            double fc = cosd(f, nn[a], nn[b]);
            A->b_flat[a * S + b] += fc;
            A->b_last[a * S + b] += lc;
            A->tok[a * S + b] += tk;
            if (b != a) {
                A->b_flat[b * S + a] += fc;
                A->b_last[b * S + a] += lc;
                A->tok[b * S + a] += tk;
            }
            if (A->span > 0 && b == a + A->span) {
                double c = lc > 1 ? 1 : lc < -1 ? -1 : lc;
                A->ang[a] += acos(c) / M_PI;
            }
        }
    }
    A->tok_count += T;
    A->b_n++;
    free(nn);
    free(ln);
    free(tn);
}

static void fold_attention(acc *A, const ll_probe *p, int T) {
    (void)T;
    int E = A->E, H = A->H, nq = ll_probe_n_queries(p);
    for (int e = 0; e < E; e++) {
        int M = A->members[e];
        for (int k = 0; k < A->n_eps; k++) {
            double s = 0;
            for (int j = 0; j < M; j++)
                for (int h = 0; h < H; h++)
                    for (int q = 0; q < nq; q++) s += ll_probe_attn_count(p, k, e, j, h, q);
            A->id_sum[(size_t)k * E + e] += s / (M * nq);
        }
        double dens = 0, ent = 0, mx = 0;
        for (int h = 0; h < H; h++) {
            double hs = 0;
            for (int j = 0; j < M; j++)
                for (int q = 0; q < nq; q++) {
                    double c = ll_probe_attn_count(p, 0, e, j, h, q);
                    hs += c;
                    dens += c / (H * (double)(ll_probe_query_pos(p, q) + 1));
                    ent += ll_probe_attn_entropy(p, e, j, h, q);
                    mx += ll_probe_attn_max(p, e, j, h, q);
                }
            A->head_sum[(size_t)e * H + h] += hs / (M * nq);
        }
        A->dens_sum[e] += dens / (M * nq);
        A->ent_sum[e] += ent / ((double)M * nq * H);
        A->max_sum[e] += mx / ((double)M * nq * H);
    }
}

/* The seven SplineLLM features of one (entry, member) over T tokens; std is the sample std (ddof = 1). */
static void spline_features(const double *pf, const double *cl, int T, double out[7]) {
    double sp = 0, mn = INFINITY, mxv = -INFINITY, sc = 0, cmin = INFINITY;
    for (int t = 0; t < T; t++) {
        sp += pf[t];
        if (pf[t] < mn) mn = pf[t];
        if (pf[t] > mxv) mxv = pf[t];
        sc += cl[t];
        if (cl[t] < cmin) cmin = cl[t];
    }
    double mp = sp / T, mc = sc / T, vp = 0, vc = 0;
    for (int t = 0; t < T; t++) {
        vp += (pf[t] - mp) * (pf[t] - mp);
        vc += (cl[t] - mc) * (cl[t] - mc);
    }
    out[0] = mp;
    out[1] = mn;
    out[2] = mxv;
    out[3] = T > 1 ? sqrt(vp / (T - 1)) : NAN;
    out[4] = cmin;
    out[5] = mc;
    out[6] = T > 1 ? sqrt(vc / (T - 1)) : NAN;
}

static void fold_gates(acc *A, const ll_probe *p, int T, int F) {
    for (int e = 0; e < A->E; e++) {
        int M = A->members[e];
        double f[7], sum[7] = {0}, ham = 0;
        for (int j = 0; j < M; j++) {
            spline_features(ll_probe_pos_frac(p, e, j), ll_probe_closest(p, e, j), T, f);
            for (int i = 0; i < 7; i++) sum[i] += f[i];
            const uint8_t *sg = ll_probe_signs(p, e, j);
            double h = 0;
            for (int t = 0; t + 1 < T; t++) {
                const uint8_t *a = sg + (size_t)t * F, *b = a + F;
                int d = 0;
                for (int k = 0; k < F; k++) d += a[k] != b[k];
                h += d;
            }
            ham += T > 1 ? h / (T - 1) : NAN;
        }
        for (int i = 0; i < 7; i++) A->feat[(size_t)e * 7 + i] += sum[i] / M;
        A->ham[e] += ham / M;
    }
}

static int add_points(acc *A, const ll_probe *p, int T, int D) {
    int s = A->entry_k < 0 ? A->S - 1 : A->entry_k;
    const float *x = ll_probe_state(p, s);
    int first = A->points_prompts ? T - 1 : 0;
    long long need = A->n_pts + (T - first);
    if (need > A->cap_pts) {
        long long cap = A->cap_pts ? A->cap_pts : 256;
        while (cap < need) cap *= 2;
        double *np = realloc(A->pts, (size_t)cap * D * sizeof *np);
        if (!np) return cli_error("out of memory for %lld points", need), -1;
        A->pts = np;
        A->cap_pts = cap;
    }
    for (int t = first; t < T; t++) {
        double *dst = A->pts + (size_t)A->n_pts * D;
        for (int i = 0; i < D; i++) dst[i] = x[(size_t)t * D + i];
        A->n_pts++;
    }
    return 0;
}

static int dump_sample(const acc *A, const ll_probe *p, const ll_model *m, int idx, const sample *s) {
    char path[4096];
    int T = s->n, D = m->n_embd;
    int64_t sh[5];
    snprintf(path, sizeof path, "%s/sample%d_tokens.npy", A->dump, idx);
    sh[0] = T;
    if (ll_npy_write(path, "<i4", sh, 1, s->ids)) return -1;
    if (A->kinds & (K_COSINE | K_BI | K_IDIM)) {
        float *h = malloc((size_t)A->S * T * D * sizeof *h);
        if (!h) return ll_fail("out of memory");
        for (int a = 0; a < A->S; a++) memcpy(h + (size_t)a * T * D, ll_probe_state(p, a), (size_t)T * D * sizeof *h);
        snprintf(path, sizeof path, "%s/sample%d_hidden.npy", A->dump, idx);
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
        snprintf(path, sizeof path, "%s/sample%d_attn_positions.npy", A->dump, idx);
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
        snprintf(path, sizeof path, "%s/sample%d_attn.npy", A->dump, idx);
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
        snprintf(path, sizeof path, "%s/sample%d_gates.npy", A->dump, idx);
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
static int dump_manifest(const acc *A, ll_model *m, const cli_common *c, const char *kinds, int n_samples) {
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
    cli_provenance(o, m, cli_bos(c, m), -1, A->n_tokens);
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    if (!txt) return ll_fail("out of memory");
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", A->dump);
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

static int dump_common(const acc *A, const ll_probe *p, const ll_model *m) {
    char path[4096];
    int64_t sh[3];
    snprintf(path, sizeof path, "%s/members.npy", A->dump);
    sh[0] = A->E;
    if (ll_npy_write(path, "<i4", sh, 1, A->members)) return -1;
    if (A->kinds & K_MLP) {
        int F = m->n_ff;
        double *nr = calloc((size_t)A->E * A->M * F, sizeof *nr);
        if (!nr) return ll_fail("out of memory");
        for (int e = 0; e < A->E; e++)
            for (int j = 0; j < A->members[e]; j++)
                memcpy(nr + ((size_t)e * A->M + j) * F, ll_probe_gate_norms(p, e, j), (size_t)F * sizeof *nr);
        snprintf(path, sizeof path, "%s/gate_norms.npy", A->dump);
        sh[0] = A->E, sh[1] = A->M, sh[2] = F;
        int rc = ll_npy_write(path, "<f8", sh, 3, nr);
        free(nr);
        if (rc) return -1;
    }
    return 0;
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
    acc A;
    memset(&A, 0, sizeof A);
    if (parse_kinds(argv[1], &A.kinds)) return 1;
    bool dump_replace = false;
    cli_common c;
    cli_common_init(&c);
    const char *text = NULL, *file = NULL, *task = NULL, *data = NULL;
    long long limit = -1, ll;
    double eps = 0.1;
    ll_probe_opts po = {.position = -1, .relative = true, .n_eps = 1};
    A.entry_k = -1;
    A.idim_k = 20;
    A.idim_alpha = 0.05;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
#define VAL() if (!(v = cli_value(argc, argv, &i))) return 1
        if (!strcmp(a, "--text")) { VAL(); text = v; continue; }
        if (!strcmp(a, "--file")) { VAL(); file = v; continue; }
        if (!strcmp(a, "--task")) { VAL(); task = v; continue; }
        if (!strcmp(a, "--data")) { VAL(); data = v; continue; }
        if (!strcmp(a, "--limit")) { VAL(); if (cli_parse_int(a, v, 1, 1LL << 40, &limit)) return 1; continue; }
        if (!strcmp(a, "--out") || !strcmp(a, "-o")) { if (!(A.out = cli_out_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--dump")) { VAL(); A.dump = v; continue; }
        if (!strcmp(a, "--dump-replace")) { dump_replace = true; continue; }
        if (!strcmp(a, "--pad")) { A.pad = true; continue; }
        if (!strcmp(a, "--reduce")) {
            VAL();
            if (!strcmp(v, "flat")) A.reduce = 0;
            else if (!strcmp(v, "token")) A.reduce = 1;
            else if (!strcmp(v, "last")) A.reduce = 2;
            else return cli_error("--reduce: expected flat, token or last, got '%s'", v);
            continue;
        }
        if (!strcmp(a, "--span")) { VAL(); if (cli_parse_int(a, v, 1, 1 << 16, &ll)) return 1; A.span = (int)ll; continue; }
        if (!strcmp(a, "--eps")) { VAL(); if (cli_parse_float(a, v, 0, 1, &eps)) return 1; continue; }
        if (!strcmp(a, "--threshold")) {
            VAL();
            if (!strcmp(v, "relative")) po.relative = true;
            else if (!strcmp(v, "absolute")) po.relative = false;
            else return cli_error("--threshold: expected relative or absolute, got '%s'", v);
            continue;
        }
        if (!strcmp(a, "--position")) { VAL(); if (cli_parse_int(a, v, 0, 1 << 24, &ll)) return 1; po.position = (int)ll; continue; }
        if (!strcmp(a, "--all-positions")) { po.all_positions = true; continue; }
        if (!strcmp(a, "--eps-sweep")) { VAL(); if (parse_eps_list(v, po.eps, &po.n_eps)) return 1; continue; }
        if (!strcmp(a, "--per-head")) { A.per_head = true; continue; }
        if (!strcmp(a, "--compare")) { VAL(); A.compare = v; continue; }
        if (!strcmp(a, "--entry")) { VAL(); if (cli_parse_int(a, v, 0, 1 << 16, &ll)) return 1; A.entry_k = (int)ll; continue; }
        if (!strcmp(a, "--points")) {
            VAL();
            if (!strcmp(v, "tokens")) A.points_prompts = false;
            else if (!strcmp(v, "prompts")) A.points_prompts = true;
            else return cli_error("--points: expected tokens or prompts, got '%s'", v);
            continue;
        }
        if (!strcmp(a, "--k")) { VAL(); if (cli_parse_int(a, v, 2, 1 << 20, &A.idim_k)) return 1; continue; }
        if (!strcmp(a, "--alpha")) { VAL(); if (cli_parse_float(a, v, 0, 1, &A.idim_alpha)) return 1; continue; }
#undef VAL
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("probe: unknown option '%s'\n%s", a, USAGE);
    }
    po.eps[0] = eps;
    if ((text != NULL) + (file != NULL) + (task != NULL) != 1) return cli_error("probe: give exactly one of --text, --file, --task");
    int nk = __builtin_popcount((unsigned)A.kinds);
    if (nk > 1 && (A.kinds & K_IDIM)) return cli_error("probe: intrinsic-dim runs alone (it prints its own result)");
    if (nk > 1 && A.out) return cli_error("probe: --out writes one probe's array; with several kinds use --json");
    if (A.compare && !(A.kinds & K_MLP)) return cli_error("probe: --compare is for mlp-regions");

    ll_model *m = cli_open_model(&c, false);
    if (!m) return 1;
    int rc = 1;
    sample_set ss = {0}, cmp = {0};
    ll_engine *e = NULL;
    ll_probe *p = NULL;
    uint8_t *saved = NULL;
    if (!m->tok) { cli_error("%s: a llama2.c checkpoint needs --tokenizer TOK.bin", c.model); goto done; }
    bool bos = cli_bos(&c, m);
    if (text) {
        if (add_text(&ss, m, bos, text, strlen(text))) goto done;
        if (!ss.n) { cli_error("probe: --text gives no tokens"); goto done; }
    } else if (file) {
        if (load_lines(&ss, m, bos, file, limit)) goto done;
    } else if (load_task(&ss, m, bos, task, data, limit)) {
        goto done;
    }
    if (A.compare) {
        if (load_lines(&cmp, m, bos, A.compare, ss.n)) goto done;
        if (cmp.n < ss.n) { cli_error("--compare: %s has %d samples, the input has %d", A.compare, cmp.n, ss.n); goto done; }
    }
    if (A.pad) { /* the Painters harness: batches of 8, right-padded with id 0, no attention mask */
        for (int b = 0; b < ss.n; b += 8) {
            int mx = 0, end = b + 8 < ss.n ? b + 8 : ss.n;
            for (int i = b; i < end; i++) mx = ss.s[i].n > mx ? ss.s[i].n : mx;
            for (int i = b; i < end; i++) {
                int32_t *ni = realloc(ss.s[i].ids, (size_t)mx * sizeof *ni);
                if (!ni) { cli_error("out of memory"); goto done; }
                for (int t = ss.s[i].n; t < mx; t++) ni[t] = 0;
                ss.s[i].ids = ni;
                ss.s[i].n = mx;
            }
        }
    }
    int max_T = 0;
    for (int i = 0; i < ss.n; i++) max_T = ss.s[i].n > max_T ? ss.s[i].n : max_T;
    for (int i = 0; i < cmp.n; i++) max_T = cmp.s[i].n > max_T ? cmp.s[i].n : max_T;
    if (max_T > m->n_ctx_train) { cli_error("probe: a sample of %d tokens exceeds the model's context of %d", max_T, m->n_ctx_train); goto done; }
    if (!(e = cli_engine(&c, m, max_T))) goto done;
    const ll_order *ord = ll_engine_order(e);
    po.states = (A.kinds & (K_COSINE | K_BI | K_IDIM)) != 0;
    po.attention = (A.kinds & K_ATTN) != 0;
    po.gates = (A.kinds & K_MLP) != 0;
    po.keep_raw = A.dump != NULL;
    if (!(p = ll_probe_new(m, ord, &po, max_T))) { cli_lib_error(); goto done; }
    ll_probe_attach(p, e);
    A.S = ll_probe_n_states(p);
    A.E = A.S - 1;
    A.H = m->n_head;
    A.M = ll_probe_max_members(p);
    int *members = malloc((size_t)A.E * sizeof *members);
    if (!members) { cli_error("out of memory"); goto done; }
    for (int i = 0; i < A.E; i++) members[i] = ord->entries[i].n;
    A.members = members;
    if (A.span >= A.S) { cli_error("--span %d: the plan has %d states (0..%d)", A.span, A.S, A.E); goto done; }
    if (A.entry_k > A.E) { cli_error("--entry %d: the plan has entries 1..%d (0 = embeddings)", A.entry_k, A.E); goto done; }
    if (!po.all_positions && po.position >= 0)
        for (int i = 0; i < ss.n; i++)
            if (po.position >= ss.s[i].n) { cli_error("--position %d: sample %d has only %d tokens", po.position, i, ss.s[i].n); goto done; }
    size_t S2 = (size_t)A.S * A.S;
    A.n_eps = po.n_eps;
    double **bufs[] = {&A.b_flat, &A.b_last, &A.flat, &A.last, &A.tok};
    for (size_t i = 0; i < 5; i++)
        if (!(*bufs[i] = calloc(S2, sizeof(double)))) { cli_error("out of memory"); goto done; }
    if (!(A.b_var = calloc((size_t)A.S, sizeof(double))) || !(A.var = calloc((size_t)A.S, sizeof(double))) ||
        !(A.ang = calloc((size_t)A.S, sizeof(double))) || !(A.id_sum = calloc((size_t)A.n_eps * A.E, sizeof(double))) ||
        !(A.head_sum = calloc((size_t)A.E * A.H, sizeof(double))) || !(A.dens_sum = calloc((size_t)A.E, sizeof(double))) ||
        !(A.ent_sum = calloc((size_t)A.E, sizeof(double))) || !(A.max_sum = calloc((size_t)A.E, sizeof(double))) ||
        !(A.feat = calloc((size_t)A.E * 7, sizeof(double))) || !(A.ham = calloc((size_t)A.E, sizeof(double))) ||
        !(A.ham_cmp = calloc((size_t)A.E, sizeof(double)))) {
        cli_error("out of memory");
        goto done;
    }
    if (A.dump) {
        if (ll_dir_prepare(A.dump, dump_replace, dump_file_ours, "--dump") || dump_common(&A, p, m)) {
            cli_lib_error();
            goto done;
        }
    }
    size_t sign_bytes = (size_t)A.M * max_T * m->n_ff;
    if (A.compare && !(saved = malloc((size_t)A.E * sign_bytes))) { cli_error("out of memory"); goto done; }
    double t_start = cli_now();
    cli_progress pg;
    cli_progress_start(&pg, "probe samples", ss.n, e);
    for (int i = 0; i < ss.n; i++) {
        const sample *s = &ss.s[i];
        if (ll_probe_begin(p, s->n) || ll_engine_forward(e, s->ids, s->n, 0, NULL, LL_LOGITS_NONE)) {
            ll_fail_prefix("probe: sample %d of %d: ", i, ss.n);
            cli_lib_error();
            goto done;
        }
        A.n_tokens += s->n;
        if (A.kinds & (K_COSINE | K_BI)) {
            fold_states(&A, p, s->n, m->n_embd);
            if (!A.pad || A.b_n == 8) flush_batch(&A);
        }
        if (A.kinds & K_ATTN) fold_attention(&A, p, s->n);
        if (A.kinds & K_MLP) fold_gates(&A, p, s->n, m->n_ff);
        if ((A.kinds & K_IDIM) && add_points(&A, p, s->n, m->n_embd)) goto done;
        if (A.dump && dump_sample(&A, p, m, i, s)) { cli_lib_error(); goto done; }
        if (A.compare) { /* same positions of the paired sample: Hamming distance between the sign codes */
            int F = m->n_ff, T1 = s->n;
            for (int en = 0; en < A.E; en++)
                for (int j = 0; j < A.members[en]; j++)
                    memcpy(saved + (size_t)en * sign_bytes + (size_t)j * max_T * F, ll_probe_signs(p, en, j), (size_t)T1 * F);
            const sample *s2 = &cmp.s[i];
            if (ll_probe_begin(p, s2->n) || ll_engine_forward(e, s2->ids, s2->n, 0, NULL, LL_LOGITS_NONE)) {
                ll_fail_prefix("probe: --compare sample %d of %d: ", i, ss.n);
                cli_lib_error();
                goto done;
            }
            int Tm = T1 < s2->n ? T1 : s2->n;
            for (int en = 0; en < A.E; en++) {
                double h = 0;
                for (int j = 0; j < A.members[en]; j++) {
                    const uint8_t *a = saved + (size_t)en * sign_bytes + (size_t)j * max_T * F, *b = ll_probe_signs(p, en, j);
                    for (size_t k = 0; k < (size_t)Tm * F; k++) h += a[k] != b[k];
                }
                A.ham_cmp[en] += h / ((double)A.members[en] * Tm);
            }
            A.ham_cmp_n++;
        }
        A.n_samples++;
        cli_progress_update(&pg, i + 1, NULL);
    }
    cli_progress_stop(&pg);
    if (A.dump && dump_manifest(&A, m, &c, argv[1], ss.n)) { cli_lib_error(); goto done; }
    flush_batch(&A);
    double seconds = cli_now() - t_start;

    /* ---- results ---- */
    int S = A.S, E = A.E, N = A.n_samples;
    for (size_t i = 0; i < S2; i++) {
        A.flat[i] /= A.n_batches;
        A.last[i] /= A.n_batches;
        A.tok[i] /= A.tok_count;
    }
    for (int i = 0; i < S; i++) A.var[i] /= A.n_batches;
    for (int i = 0; i < S; i++) A.ang[i] /= N;
    for (int i = 0; i < A.n_eps * E; i++) A.id_sum[i] /= N;
    for (int i = 0; i < E * A.H; i++) A.head_sum[i] /= N;
    for (int i = 0; i < E; i++) {
        A.dens_sum[i] /= N;
        A.ent_sum[i] /= N;
        A.max_sum[i] /= N;
        A.ham[i] /= N;
        if (A.ham_cmp_n) A.ham_cmp[i] /= A.ham_cmp_n;
    }
    for (int i = 0; i < E * 7; i++) A.feat[i] /= N;
    double *bi = calloc((size_t)E, sizeof *bi);
    if (!bi) { cli_error("out of memory"); goto done; }
    for (int i = 0; i < E; i++) bi[i] = 1.0 - A.tok[i * S + i + 1];
    const double *cosm = A.reduce == 0 ? A.flat : A.reduce == 1 ? A.tok : A.last;
    const char *reduce_name = A.reduce == 0 ? "flat" : A.reduce == 1 ? "token" : "last";

    if (A.kinds & K_IDIM) {
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddNumberToObject(extra, "entry", A.entry_k < 0 ? E : A.entry_k);
        cJSON_AddStringToObject(extra, "points", A.points_prompts ? "prompts" : "tokens");
        cJSON_AddNumberToObject(extra, "n_samples", N);
        if (c.plan) cJSON_AddStringToObject(extra, "plan", c.plan);
        cli_provenance(extra, m, bos, max_T, A.n_tokens);
        rc = idim_report(A.pts, A.n_pts, m->n_embd, (int)A.idim_k, A.idim_alpha, c.model, c.json, A.out, extra);
        free(bi);
        goto done;
    }
    if (A.out) {
        int r = 0;
        if (A.kinds & K_COSINE) r = write_main(A.out, cosm, S, S, "state", NULL);
        else if (A.kinds & K_BI) r = A.span ? write_main(A.out, A.ang, 0, S - A.span, "state", NULL) : write_main(A.out, bi, 0, E, "entry", NULL);
        else if (A.kinds & K_ATTN) r = A.per_head ? write_main(A.out, A.head_sum, E, A.H, "head", NULL) : write_main(A.out, A.id_sum, 0, E, "entry", NULL);
        else if (A.kinds & K_MLP) r = write_main(A.out, A.feat, E, 7, "feature", FEATURE_NAMES);
        free(bi);
        if (r) goto done;
        fprintf(stderr, "layerlab: wrote %s\n", A.out);
        rc = 0;
        goto done;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "plan", c.plan ? c.plan : "full");
    cJSON_AddNumberToObject(j, "entries", E);
    cJSON_AddItemToObject(j, "members", cJSON_CreateIntArray(A.members, E));
    cJSON_AddNumberToObject(j, "n_samples", N);
    cJSON_AddNumberToObject(j, "n_tokens", (double)A.n_tokens);
    cJSON_AddNumberToObject(j, "seconds", seconds);
    if (A.kinds & K_COSINE) {
        cJSON_AddStringToObject(j, "reduce", reduce_name);
        cJSON_AddBoolToObject(j, "pad", A.pad);
        cJSON_AddItemToObject(j, "cosine", json_mat(cosm, S, S));
        cJSON_AddItemToObject(j, "variance", json_vec(A.var, S));
    }
    if (A.kinds & K_BI) {
        cJSON_AddItemToObject(j, "block_influence", json_vec(bi, E));
        if (A.span) {
            cJSON_AddNumberToObject(j, "span", A.span);
            cJSON_AddItemToObject(j, "angular_distance", json_vec(A.ang, S - A.span));
        }
    }
    if (A.kinds & K_ATTN) {
        cJSON_AddNumberToObject(j, "eps", eps);
        cJSON_AddStringToObject(j, "threshold", po.relative ? "relative" : "absolute");
        if (po.all_positions) cJSON_AddStringToObject(j, "position", "all");
        else if (po.position < 0) cJSON_AddStringToObject(j, "position", "last");
        else cJSON_AddNumberToObject(j, "position", po.position);
        cJSON_AddItemToObject(j, "attention_id", json_vec(A.id_sum, E));
        cJSON_AddItemToObject(j, "per_head", json_mat(A.head_sum, E, A.H));
        cJSON_AddItemToObject(j, "density", json_vec(A.dens_sum, E));
        cJSON_AddItemToObject(j, "entropy", json_vec(A.ent_sum, E));
        cJSON_AddItemToObject(j, "max_weight", json_vec(A.max_sum, E));
        if (A.n_eps > 1) {
            cJSON *sw = cJSON_AddObjectToObject(j, "eps_sweep");
            cJSON_AddItemToObject(sw, "eps", json_vec(po.eps + 1, A.n_eps - 1));
            cJSON_AddItemToObject(sw, "attention_id", json_mat(A.id_sum + E, A.n_eps - 1, E));
        }
    }
    if (A.kinds & K_MLP) {
        cJSON *fn = cJSON_CreateStringArray(FEATURE_NAMES, 7);
        cJSON_AddItemToObject(j, "feature_names", fn);
        cJSON_AddStringToObject(j, "std", "sample (ddof=1)");
        cJSON_AddItemToObject(j, "features", json_mat(A.feat, E, 7));
        cJSON_AddItemToObject(j, "hamming_consecutive", json_vec(A.ham, E));
        if (A.compare) cJSON_AddItemToObject(j, "hamming_compare", json_vec(A.ham_cmp, E));
    }
    free(bi);
    cli_provenance(j, m, bos, max_T, A.n_tokens);
    if (!c.json) { /* a compact human-readable view: the main vector(s) per entry */
        char *s = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (!s) { cli_error("out of memory"); goto done; }
        puts(s);
        free(s);
        rc = 0;
        goto done;
    }
    rc = cli_print_json(j);
done:
    free(saved);
    free((void *)A.members);
    double *all[] = {A.b_flat, A.b_last, A.b_var, A.flat, A.last, A.var, A.tok, A.ang, A.id_sum, A.head_sum,
                     A.dens_sum, A.ent_sum, A.max_sum, A.feat, A.ham, A.ham_cmp, A.pts};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    ll_probe_free(p);
    ll_engine_free(e);
    samples_free(&ss);
    samples_free(&cmp);
    ll_model_free(m);
    return rc;
}

static double logadd(double a, double b) {
    if (isinf(a) && a < 0) return b;
    double hi = a > b ? a : b, lo = a > b ? b : a;
    return hi + log1p(exp(lo - hi));
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
    /* log-sum-exp over log C(n,i) = lgamma(n+1) - lgamma(i+1) - lgamma(n-i+1) */
    double r = -INFINITY, r0 = -INFINITY;
    for (long long i = 0; i <= d && i <= N; i++)
        r = logadd(r, lgamma((double)N + 1) - lgamma((double)i + 1) - lgamma((double)(N - i) + 1));
    for (long long i = 0; i < d && i <= N - 1; i++)
        r0 = logadd(r0, lgamma((double)N) - lgamma((double)i + 1) - lgamma((double)(N - 1 - i) + 1));
    double l10 = log(10.0), lr = r / l10, lr0 = isinf(r0) ? -INFINITY : (r0 + log(2.0)) / l10;
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
