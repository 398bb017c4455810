/* run.c — the probes' forwards and reductions (run.h; definitions in docs/PROBES.md). */
#include "probe/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"
#include "util/clock.h"
#include "util/err.h"

/* ---- samples ---- */

void ll_probe_samples_free(ll_probe_samples *ss) {
    for (int i = 0; i < ss->n; i++) free(ss->s[i].ids);
    free(ss->s);
    memset(ss, 0, sizeof *ss);
}

int ll_probe_samples_add(ll_probe_samples *ss, const int32_t *ids, int n) {
    if (n <= 0) return 0;
    if (ss->n == ss->cap) {
        int cap = ss->cap ? ss->cap * 2 : 16;
        ll_probe_sample *ns = ll_realloc(ss->s, (size_t)cap * sizeof *ns);
        if (!ns) return -1;
        ss->s = ns;
        ss->cap = cap;
    }
    int32_t *c = ll_malloc((size_t)n * sizeof *c);
    if (!c) return -1;
    memcpy(c, ids, (size_t)n * sizeof *c);
    ss->s[ss->n].ids = c;
    ss->s[ss->n].n = n;
    ss->n++;
    return 0;
}

static int add_text(ll_probe_samples *ss, const struct ll_tokenizer *tok, bool bos, const char *text, size_t len) {
    int32_t *ids;
    size_t n;
    if (ll_tokenize(tok, text, len, bos, true, &ids, &n)) return -1;
    int rc = ll_probe_samples_add(ss, ids, (int)n);
    free(ids);
    return rc;
}

int ll_probe_task_samples(const struct ll_tokenizer *tok, bool bos, const ll_eval_task *t, long limit,
                          ll_probe_samples *ss) {
    int n = t->n_items, rc = 0;
    if (limit >= 0 && limit < n) n = (int)limit;
    for (int i = 0; i < n && !rc; i++) {
        const ll_eval_item *it = &t->items[i];
        if (t->kind == LL_EVAL_GEN) {
            size_t lq = strlen(it->question);
            char *text = ll_malloc(lq + 32);
            if (!text) return -1;
            int k = snprintf(text, lq + 32, "Question: %s\nAnswer:", it->question);
            rc = add_text(ss, tok, bos, text, (size_t)k);
            free(text);
            continue;
        }
        bool shared = t->kind == LL_EVAL_MC;
        for (int q = 1; q < it->n_req && shared; q++) shared = !strcmp(it->req[q].ctx, it->req[0].ctx);
        const ll_eval_req *req = &it->req[shared || it->gold < 0 ? 0 : it->gold];
        ll_eval_toks tk;
        if (ll_eval_encode(tok, bos, req, &tk)) return -1;
        int na = tk.n_ctx, nb = shared ? 0 : tk.n_cont - 1;
        int32_t *ids = ll_malloc((size_t)(na + nb + 1) * sizeof *ids);
        if (!ids) rc = -1;
        else {
            memcpy(ids, tk.ctx, (size_t)na * sizeof *ids);
            if (nb > 0) memcpy(ids + na, tk.cont, (size_t)nb * sizeof *ids);
            rc = ll_probe_samples_add(ss, ids, na + (nb > 0 ? nb : 0));
            free(ids);
        }
        ll_eval_toks_free(&tk);
    }
    if (!rc && ss->n == 0) rc = ll_fail("%s: no samples", t->name);
    return rc;
}

int ll_probe_samples_pad8(ll_probe_samples *ss) {
    for (int b = 0; b < ss->n; b += 8) {
        int mx = 0, end = b + 8 < ss->n ? b + 8 : ss->n;
        for (int i = b; i < end; i++) mx = ss->s[i].n > mx ? ss->s[i].n : mx;
        for (int i = b; i < end; i++) {
            int32_t *ni = ll_realloc(ss->s[i].ids, (size_t)mx * sizeof *ni);
            if (!ni) return -1;
            for (int t = ss->s[i].n; t < mx; t++) ni[t] = 0;
            ss->s[i].ids = ni;
            ss->s[i].n = mx;
        }
    }
    return 0;
}

/* ---- accumulators ---- */

typedef struct {
    const ll_probe_run_opts *o;
    int S, E, H, M;
    const int *members;
    double *b_flat, *b_last, *b_var;   /* the current batch */
    double *flat, *last, *var, *tok;
    double tok_count;
    int b_n, n_batches;
    double *ang, *id_sum, *head_sum, *dens_sum, *ent_sum, *max_sum, *feat, *ham, *ham_cmp;
    double ham_cmp_n;
    double *pts;
    long long n_pts, cap_pts;
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

static int fold_states(acc *A, const ll_probe *p, int T_all, int D) {
    int S = A->S, t0 = A->o->first_position < T_all ? A->o->first_position : T_all - 1, T = T_all - t0;
    size_t n = (size_t)T * D;
    double *nn = ll_calloc((size_t)S, sizeof *nn), *ln = ll_calloc((size_t)S, sizeof *ln);
    double *tn = ll_calloc((size_t)S * T, sizeof *tn);
    if (!nn || !ln || !tn) { free(nn); free(ln); free(tn); return -1; }
    for (int a = 0; a < S; a++) {
        const float *x = ll_probe_state(p, a) + (size_t)t0 * D;
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
        const float *x = ll_probe_state(p, a) + (size_t)t0 * D;
        for (int b = a; b < S; b++) {
            const float *y = ll_probe_state(p, b) + (size_t)t0 * D;
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
            if (A->o->span > 0 && b == a + A->o->span) {
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
    return 0;
}

static void fold_attention(acc *A, const ll_probe *p, int n_eps) {
    int E = A->E, H = A->H, nq = ll_probe_n_queries(p);
    for (int e = 0; e < E; e++) {
        int M = A->members[e];
        for (int k = 0; k < n_eps; k++) A->id_sum[(size_t)k * E + e] += ll_probe_attn_id(p, k, e);
        double dens = 0, ent = 0, mx = 0;
        for (int h = 0; h < H; h++) {
            double hs = 0;
            for (int j = 0; j < M; j++)
                for (int q = 0; q < nq; q++) {
                    double c = ll_probe_attn_count(p, 0, e, j, h, q);
                    hs += c;
                    dens += c / (H * (double)ll_probe_query_keys(p, q));
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
    int s = A->o->entry_k < 0 ? A->S - 1 : A->o->entry_k;
    const float *x = ll_probe_state(p, s);
    int first = A->o->points_prompts ? T - 1 : 0;
    long long need = A->n_pts + (T - first);
    if (need > A->cap_pts) {
        long long cap = A->cap_pts ? A->cap_pts : 256;
        while (cap < need) cap *= 2;
        double *np = ll_realloc(A->pts, (size_t)cap * D * sizeof *np);
        if (!np) return ll_fail("out of memory for %lld points", need);
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

/* ---- the run ---- */

int ll_probe_samples_parse_ids(const char *name, const char *buf, size_t len, int32_t n_vocab, long limit,
                               ll_probe_samples *out) {
    const char *p = buf, *end = buf + len;
    long line = 0;
    int32_t *ids = NULL;
    size_t cap = 0;
    int rc = 0;
    while (p < end && !rc && (limit < 0 || out->n < limit)) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
        line++;
        size_t n = 0;
        for (const char *q = p; q < e && !rc;) {
            if (*q == ' ' || *q == '\t' || *q == '\r') { q++; continue; }
            long long v = 0;
            const char *d = q;
            while (q < e && *q >= '0' && *q <= '9' && v <= (long long)INT32_MAX) v = v * 10 + (*q++ - '0');
            if (q == d || (q < e && *q != ' ' && *q != '\t' && *q != '\r')) {
                rc = ll_fail("%s:%ld: expected token ids (non-negative integers separated by spaces), found '%c'", name,
                             line, *q ? *q : '?');
                break;
            }
            if (v >= n_vocab) { rc = ll_fail("%s:%ld: token id %lld is outside the vocabulary (0..%d)", name, line, v, n_vocab - 1); break; }
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 256;
                int32_t *ni = ll_realloc(ids, nc * sizeof *ni);
                if (!ni) { rc = -1; break; }
                ids = ni, cap = nc;
            }
            ids[n++] = (int32_t)v;
        }
        if (!rc && n) rc = ll_probe_samples_add(out, ids, (int)n);
        p = e + 1;
    }
    free(ids);
    if (!rc && out->n == 0) rc = ll_fail("%s: no lines of token ids", name);
    return rc;
}

void ll_probe_run_default_opts(ll_probe_run_opts *o) {
    memset(o, 0, sizeof *o);
    o->entry_k = -1;
    o->tap.position = -1;
    o->tap.relative = true;
    o->tap.n_eps = 1;
    o->tap.eps[0] = 0.1;
    o->n_threads = 2;
    o->exact = true;
}

/* Hamming distance between the sign codes of sample i (saved) and of its paired sample (in p now), at the
 * positions both have, per entry. */
static void fold_compare(acc *A, const ll_probe *p, const uint8_t *saved, size_t sign_bytes, int max_T, int F, int T1,
                         int T2) {
    int Tm = T1 < T2 ? T1 : T2;
    for (int en = 0; en < A->E; en++) {
        double h = 0;
        for (int j = 0; j < A->members[en]; j++) {
            const uint8_t *a = saved + (size_t)en * sign_bytes + (size_t)j * max_T * F, *b = ll_probe_signs(p, en, j);
            for (size_t k = 0; k < (size_t)Tm * F; k++) h += a[k] != b[k];
        }
        A->ham_cmp[en] += h / ((double)A->members[en] * Tm);
    }
    A->ham_cmp_n++;
}

int ll_probe_run(ll_model *m, const ll_probe_samples *ss, const ll_probe_run_opts *o, ll_probe_results *r) {
    memset(r, 0, sizeof *r);
    acc A;
    memset(&A, 0, sizeof A);
    A.o = o;
    int rc = -1, kinds = o->kinds;
    ll_engine *e = NULL;
    ll_probe *p = NULL;
    uint8_t *saved = NULL;
    const ll_probe_samples *cmp = o->compare;
    if (cmp && cmp->n < ss->n) return ll_fail("--compare: %d samples, the input has %d", cmp->n, ss->n);
    if (o->pad && !m->causal)   /* pads are attended to without a mask: every real token's state would change */
        return ll_fail("%s: --pad is for decoders (the paper's right-padded batches); an encoder (%s) attends to "
                       "every token, pads included, so its samples run unpadded", m->path, m->arch);
    int max_T = 0;
    for (int i = 0; i < ss->n; i++) max_T = ss->s[i].n > max_T ? ss->s[i].n : max_T;
    for (int i = 0; cmp && i < cmp->n; i++) max_T = cmp->s[i].n > max_T ? cmp->s[i].n : max_T;
    if (max_T < 1) return ll_fail("no samples to probe");
    if (max_T > m->n_ctx_train) return ll_fail("a sample of %d tokens exceeds the model's context of %d", max_T, m->n_ctx_train);
    ll_engine_opts eo = {.n_ctx = max_T, .n_threads = o->n_threads, .exact = o->exact,
                         .parallel_kv_mean = o->parallel_kv_mean};
    if (!(e = ll_engine_new(m, o->order, &eo))) return -1;
    if (o->layer_progress) ll_engine_set_progress(e, o->layer_progress, o->progress_ctx);
    const ll_order *ord = ll_engine_order(e);
    ll_probe_opts po = o->tap;
    po.states = (kinds & (LL_PROBE_COSINE | LL_PROBE_BI | LL_PROBE_IDIM)) != 0;
    po.attention = (kinds & LL_PROBE_ATTN) != 0;
    po.gates = (kinds & LL_PROBE_MLP) != 0;
    if (!(p = ll_probe_new(m, ord, &po, max_T))) goto done;
    ll_probe_attach(p, e);
    A.S = ll_probe_n_states(p);
    A.E = A.S - 1;
    A.H = m->n_head;
    A.M = ll_probe_max_members(p);
    int *members = ll_malloc((size_t)A.E * sizeof *members);
    if (!members) goto done;
    for (int i = 0; i < A.E; i++) members[i] = ord->entries[i].n;
    A.members = members;
    r->members = members;
    r->S = A.S, r->E = A.E, r->H = A.H, r->M = A.M, r->D = m->n_embd, r->max_T = max_T, r->n_eps = po.n_eps;
    if (o->span >= A.S) { ll_fail("--span %d: the plan has %d states (0..%d)", o->span, A.S, A.E); goto done; }
    if (o->entry_k > A.E) { ll_fail("--entry %d: the plan has entries 1..%d (0 = embeddings)", o->entry_k, A.E); goto done; }
    if (!po.all_positions && po.position >= 0)
        for (int i = 0; i < ss->n; i++)
            if (po.position >= ss->s[i].n) {
                ll_fail("--position %d: sample %d has only %d tokens", po.position, i, ss->s[i].n);
                goto done;
            }
    size_t S2 = (size_t)A.S * A.S;
    double **bufs[] = {&A.b_flat, &A.b_last, &A.flat, &A.last, &A.tok};
    for (size_t i = 0; i < 5; i++)
        if (!(*bufs[i] = ll_calloc(S2, sizeof(double)))) goto done;
    if (!(A.b_var = ll_calloc((size_t)A.S, sizeof(double))) || !(A.var = ll_calloc((size_t)A.S, sizeof(double))) ||
        !(A.ang = ll_calloc((size_t)A.S, sizeof(double))) || !(A.id_sum = ll_calloc((size_t)po.n_eps * A.E, sizeof(double))) ||
        !(A.head_sum = ll_calloc((size_t)A.E * A.H, sizeof(double))) || !(A.dens_sum = ll_calloc((size_t)A.E, sizeof(double))) ||
        !(A.ent_sum = ll_calloc((size_t)A.E, sizeof(double))) || !(A.max_sum = ll_calloc((size_t)A.E, sizeof(double))) ||
        !(A.feat = ll_calloc((size_t)A.E * 7, sizeof(double))) || !(A.ham = ll_calloc((size_t)A.E, sizeof(double))) ||
        !(A.ham_cmp = ll_calloc((size_t)A.E, sizeof(double))))
        goto done;
    int F = m->n_ff;
    size_t sign_bytes = (size_t)A.M * max_T * F;
    if (cmp && !(saved = ll_malloc((size_t)A.E * sign_bytes))) goto done;
    double t_start = ll_now();
    for (int i = 0; i < ss->n; i++) {
        const ll_probe_sample *s = &ss->s[i];
        if (ll_probe_begin(p, s->n) || ll_engine_forward(e, s->ids, s->n, 0, NULL, LL_LOGITS_NONE)) {
            ll_fail_prefix("sample %d of %d: ", i, ss->n);
            goto done;
        }
        r->n_tokens += s->n;
        if (kinds & (LL_PROBE_COSINE | LL_PROBE_BI)) {
            if (fold_states(&A, p, s->n, m->n_embd)) goto done;
            if (!o->pad || A.b_n == 8) flush_batch(&A);
        }
        if (kinds & LL_PROBE_ATTN) fold_attention(&A, p, po.n_eps);
        if (kinds & LL_PROBE_MLP) fold_gates(&A, p, s->n, F);
        if ((kinds & LL_PROBE_IDIM) && add_points(&A, p, s->n, m->n_embd)) goto done;
        if (o->on_sample && o->on_sample(o->sample_ctx, p, i, s)) goto done;
        if (cmp) {
            for (int en = 0; en < A.E; en++)
                for (int j = 0; j < A.members[en]; j++)
                    memcpy(saved + (size_t)en * sign_bytes + (size_t)j * max_T * F, ll_probe_signs(p, en, j),
                           (size_t)s->n * F);
            const ll_probe_sample *s2 = &cmp->s[i];
            if (ll_probe_begin(p, s2->n) || ll_engine_forward(e, s2->ids, s2->n, 0, NULL, LL_LOGITS_NONE)) {
                ll_fail_prefix("--compare sample %d of %d: ", i, ss->n);
                goto done;
            }
            fold_compare(&A, p, saved, sign_bytes, max_T, F, s->n, s2->n);
        }
        r->n_samples++;
        if (o->progress) o->progress(o->progress_ctx, i + 1, ss->n, NULL);
    }
    flush_batch(&A);
    r->seconds = ll_now() - t_start;

    /* ---- the means ---- */
    int S = A.S, E = A.E, N = r->n_samples;
    for (size_t i = 0; i < S2; i++) {
        A.flat[i] /= A.n_batches;
        A.last[i] /= A.n_batches;
        A.tok[i] /= A.tok_count;
    }
    for (int i = 0; i < S; i++) A.var[i] /= A.n_batches;
    for (int i = 0; i < S; i++) A.ang[i] /= N;
    for (int i = 0; i < po.n_eps * E; i++) A.id_sum[i] /= N;
    for (int i = 0; i < E * A.H; i++) A.head_sum[i] /= N;
    for (int i = 0; i < E; i++) {
        A.dens_sum[i] /= N;
        A.ent_sum[i] /= N;
        A.max_sum[i] /= N;
        A.ham[i] /= N;
        if (A.ham_cmp_n) A.ham_cmp[i] /= A.ham_cmp_n;
    }
    for (int i = 0; i < E * 7; i++) A.feat[i] /= N;
    if (!(r->block_influence = ll_calloc((size_t)E, sizeof(double)))) goto done;
    for (int i = 0; i < E; i++) r->block_influence[i] = 1.0 - A.tok[i * S + i + 1];
    /* hand the arrays over */
    r->cos_flat = A.flat, A.flat = NULL;
    r->cos_token = A.tok, A.tok = NULL;
    r->cos_last = A.last, A.last = NULL;
    r->variance = A.var, A.var = NULL;
    r->angular = A.ang, A.ang = NULL;
    r->attn_id = A.id_sum, A.id_sum = NULL;
    r->per_head = A.head_sum, A.head_sum = NULL;
    r->density = A.dens_sum, A.dens_sum = NULL;
    r->entropy = A.ent_sum, A.ent_sum = NULL;
    r->max_weight = A.max_sum, A.max_sum = NULL;
    r->features = A.feat, A.feat = NULL;
    r->hamming = A.ham, A.ham = NULL;
    if (cmp) r->hamming_compare = A.ham_cmp, A.ham_cmp = NULL;
    r->points = A.pts, A.pts = NULL;
    r->n_points = A.n_pts;
    rc = 0;
done:
    free(saved);
    double *all[] = {A.b_flat, A.b_last, A.b_var, A.flat, A.last, A.var, A.tok, A.ang, A.id_sum, A.head_sum,
                     A.dens_sum, A.ent_sum, A.max_sum, A.feat, A.ham, A.ham_cmp, A.pts};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    ll_probe_free(p);
    ll_engine_free(e);
    if (rc) ll_probe_results_free(r);
    return rc;
}

void ll_probe_results_free(ll_probe_results *r) {
    double *all[] = {r->cos_flat, r->cos_token, r->cos_last, r->variance, r->block_influence, r->angular, r->attn_id,
                     r->per_head, r->density, r->entropy, r->max_weight, r->features, r->hamming, r->hamming_compare,
                     r->points};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    free(r->members);
    memset(r, 0, sizeof *r);
}
