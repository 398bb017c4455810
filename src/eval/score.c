/* score.c — lm-evaluation-harness's scoring, natively: request encoding, loglikelihoods with one
 * forward over a shared prefix, greedy generation with stop strings, GSM8K answer extraction and
 * normalisation, and the aggregations with their standard errors (lm_eval/api/metrics.py). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

/* ---- text ---- */

size_t ll_utf8_len(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) n += (*p & 0xC0) != 0x80;
    return n;
}

/* Decodes one code point at s[0..n) (n ≥ 1); *len = its byte count. Invalid bytes decode to
 * themselves with length 1 (they are never whitespace). */
static uint32_t utf8_at(const unsigned char *s, size_t n, size_t *len) {
    unsigned c = s[0];
    int k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (k == 0 || (size_t)k > n) { *len = 1; return 0xFFFFFFFFu; }
    uint32_t cp = k == 1 ? c : k == 2 ? (c & 0x1F) : k == 3 ? (c & 0x0F) : (c & 0x07);
    for (int i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) { *len = 1; return 0xFFFFFFFFu; }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *len = (size_t)k;
    return cp;
}

/* Python's str.isspace(): bidirectional class WS, B or S, or category Zs */
static bool py_isspace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

size_t ll_py_rstrip_len(const char *s, size_t n) {
    size_t keep = 0, i = 0;
    while (i < n) {
        size_t l;
        uint32_t c = utf8_at((const unsigned char *)s + i, n - i, &l);
        i += l;
        if (!py_isspace(c)) keep = i;
    }
    return keep;
}

size_t ll_py_lstrip_off(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t l;
        uint32_t c = utf8_at((const unsigned char *)s + i, n - i, &l);
        if (!py_isspace(c)) break;
        i += l;
    }
    return i;
}

char *ll_hellaswag_preprocess(const char *s) {
    /* text.strip() */
    size_t n = strlen(s), a = ll_py_lstrip_off(s, n);
    size_t m = ll_py_rstrip_len(s + a, n - a);
    char *t = ll_malloc(2 * m + 1), *u = ll_malloc(2 * m + 1);
    if (!t || !u) { free(t); free(u); return NULL; }
    /* .replace(" [title]", ". ") */
    size_t k = 0;
    for (size_t i = a; i < a + m;) {
        if (i + 8 <= a + m && !memcmp(s + i, " [title]", 8)) { t[k++] = '.'; t[k++] = ' '; i += 8; }
        else t[k++] = s[i++];
    }
    t[k] = 0;
    /* re.sub("\[.*?\]", "", text): at each position, '[' + the shortest run without a newline + ']' */
    size_t q = 0;
    for (size_t i = 0; i < k;) {
        if (t[i] == '[') {
            size_t j = i + 1;
            while (j < k && t[j] != ']' && t[j] != '\n') j++;
            if (j < k && t[j] == ']') { i = j + 1; continue; }
        }
        u[q++] = t[i++];
    }
    u[q] = 0;
    /* .replace("  ", " "): non-overlapping, left to right */
    k = 0;
    for (size_t i = 0; i < q;) {
        if (i + 1 < q && u[i] == ' ' && u[i + 1] == ' ') { t[k++] = ' '; i += 2; }
        else t[k++] = u[i++];
    }
    t[k] = 0;
    free(u);
    return t;
}

/* ---- requests ---- */

void ll_eval_toks_free(ll_eval_toks *t) {
    free(t->ctx);
    free(t->cont);
    memset(t, 0, sizeof *t);
}

int ll_eval_encode(const ll_tokenizer *tok, bool bos, const ll_eval_req *r, ll_eval_toks *out) {
    memset(out, 0, sizeof *out);
    size_t lc = strlen(r->ctx), lk = strlen(r->cont);
    int32_t *whole = NULL, *ctx = NULL;
    size_t n_whole = 0, n_ctx = 0;
    if (lc == 0) {
        /* lm-eval: an empty context is the prefix token (BOS, else EOS), unless the continuation starts with it */
        int32_t *c = NULL;
        size_t nc = 0;
        if (ll_tokenize(tok, r->cont, lk, false, true, &c, &nc)) return -1;
        int32_t pre = ll_tok_bos(tok) >= 0 ? ll_tok_bos(tok) : ll_tok_eos(tok);
        if (nc == 0 || pre < 0) { free(c); return ll_fail("empty context and no prefix token"); }
        bool shift = c[0] == pre;
        out->ctx = ll_malloc(sizeof(int32_t));
        out->cont = ll_malloc((nc ? nc : 1) * sizeof(int32_t));
        if (!out->ctx || !out->cont) { free(c); ll_eval_toks_free(out); return -1; }
        out->ctx[0] = shift ? c[0] : pre;
        out->n_ctx = 1;
        out->n_cont = (int)(shift ? nc - 1 : nc);
        memcpy(out->cont, c + (shift ? 1 : 0), (size_t)out->n_cont * sizeof(int32_t));
        free(c);
        if (out->n_cont == 0) { ll_eval_toks_free(out); return ll_fail("continuation has no tokens"); }
        return 0;
    }
    /* trailing whitespace of the context moves to the continuation */
    size_t keep = ll_py_rstrip_len(r->ctx, lc);
    char *joined = ll_malloc(lc + lk + 1);
    if (!joined) return -1;
    memcpy(joined, r->ctx, lc);
    memcpy(joined + lc, r->cont, lk + 1);
    int rc = ll_tokenize(tok, joined, lc + lk, bos, true, &whole, &n_whole);
    if (!rc) rc = ll_tokenize(tok, r->ctx, keep, bos, true, &ctx, &n_ctx);
    free(joined);
    if (rc) { free(whole); return -1; }
    if (n_ctx == 0) { free(whole); free(ctx); return ll_fail("context has no tokens (only whitespace)"); }
    if (n_whole <= n_ctx) { free(whole); free(ctx); return ll_fail("continuation has no tokens"); }
    out->ctx = ctx;
    out->n_ctx = (int)n_ctx;
    out->n_cont = (int)(n_whole - n_ctx);
    out->cont = ll_malloc((size_t)out->n_cont * sizeof(int32_t));
    if (!out->cont) { free(whole); ll_eval_toks_free(out); return -1; }
    memcpy(out->cont, whole + n_ctx, (size_t)out->n_cont * sizeof(int32_t));
    free(whole);
    return 0;
}

double ll_nll_row(const float *row, int n, int target, bool *is_max) {
    int am = 0;
    for (int i = 1; i < n; i++)
        if (row[i] > row[am]) am = i;
    double mx = row[am], s = 0;
    for (int i = 0; i < n; i++) s += exp((double)row[i] - mx);
    if (is_max) *is_max = am == target;
    return log(s) + mx - (double)row[target];
}

static int32_t tok_at(const ll_eval_toks *t, int i) { return i < t->n_ctx ? t->ctx[i] : t->cont[i - t->n_ctx]; }

/* Runs every request's tokens after the shared prefix P in one tree forward: request r's tokens go to the
 * slots after those of requests 0..r-1, at positions P, P+1, ..., attending to [0, P) and to their own
 * earlier tokens. rows[r] = the first logits row of request r. */
static int score_tree(ll_engine *e, const ll_eval_toks *t, int n, int P, int total, float *logits_buf, int *rows) {
    int32_t *in = malloc((size_t)total * sizeof *in);
    ll_tree_tok *tt = malloc((size_t)total * sizeof *tt);
    if (!in || !tt) { free(in); free(tt); return ll_fail("out of memory"); }
    int k = 0;
    for (int r = 0; r < n; r++) {
        int T = t[r].n_ctx + t[r].n_cont - 1 - P;
        rows[r] = k;
        for (int i = 0; i < T; i++, k++) {
            in[k] = tok_at(&t[r], P + i);
            tt[k] = (ll_tree_tok){.pos = P + i, .a0 = 0, .a1 = P, .b0 = P + rows[r]};
        }
    }
    int rc = ll_engine_forward_tree(e, in, tt, total, P, logits_buf, LL_LOGITS_ALL);
    free(in);
    free(tt);
    return rc;
}

/* the token prefix shared by the inputs of n requests, at most the shortest context */
static int shared_prefix(const ll_eval_toks *t, int n) {
    int P = t[0].n_ctx;
    for (int r = 1; r < n; r++)
        if (t[r].n_ctx < P) P = t[r].n_ctx;
    for (int r = 1; r < n; r++) {
        int j = 0;
        while (j < P && tok_at(&t[r], j) == tok_at(&t[0], j)) j++;
        P = j;
    }
    return P;
}

void ll_eval_batch_cost(const ll_eval_toks *t, int n, int *tokens, int *rows) {
    int P = shared_prefix(t, n), T = P, R = 0;
    bool last = false;   /* the prefix's last row scores the first token of a request whose context is P long */
    for (int r = 0; r < n; r++) {
        T += t[r].n_ctx + t[r].n_cont - 1 - P;
        R += t[r].n_cont - (t[r].n_ctx == P);
        last |= t[r].n_ctx == P;
    }
    *tokens = T;
    *rows = R + last;
}

/* the batch's layout: item j's prefix at slots base_j.., then its requests' remaining tokens */
typedef struct {
    int base, P, last_row;    /* last_row: the logits row of the prefix's last token, or -1 */
    int req_slot[64];         /* the slot of request r's first token after the prefix */
    int req_row[64];          /* the logits row of request r's first scored token after the prefix */
} batch_item;

int ll_eval_score_batch(ll_engine *e, int n_vocab, const ll_eval_toks *const *items, const int *n_req, int n_items,
                        float *logits_buf, double *const *ll, bool *const *greedy) {
    int T = 0, R = 0;
    for (int j = 0; j < n_items; j++) {
        if (n_req[j] < 1 || n_req[j] > 64) return ll_fail("item %d of the batch has %d requests (1..64)", j, n_req[j]);
        int tk, rw;
        ll_eval_batch_cost(items[j], n_req[j], &tk, &rw);
        T += tk;
        R += rw;
    }
    if (T < 1) return ll_fail("a batch with no tokens");
    batch_item *B = malloc((size_t)n_items * sizeof *B);
    int32_t *in = malloc((size_t)T * sizeof *in);
    ll_tree_tok *tt = malloc((size_t)T * sizeof *tt);
    int *rows = malloc((size_t)(R ? R : 1) * sizeof *rows);
    if (!B || !in || !tt || !rows) { free(B); free(in); free(tt); free(rows); return ll_fail("out of memory"); }
    int k = 0, nr = 0;
    for (int j = 0; j < n_items; j++) {
        const ll_eval_toks *t = items[j];
        batch_item *b = &B[j];
        b->base = k;
        b->P = shared_prefix(t, n_req[j]);
        b->last_row = -1;
        for (int i = 0; i < b->P; i++, k++) {   /* the prefix: causal over its own slots */
            in[k] = tok_at(&t[0], i);
            tt[k] = (ll_tree_tok){.pos = i, .a0 = b->base, .a1 = b->base, .b0 = b->base};
        }
        for (int r = 0; r < n_req[j]; r++)
            if (t[r].n_ctx == b->P && b->last_row < 0) {
                b->last_row = nr;
                rows[nr++] = k - 1;
            }
        for (int r = 0; r < n_req[j]; r++) {   /* each request: the prefix, then its own earlier tokens */
            int n = t[r].n_ctx + t[r].n_cont - 1 - b->P, first = t[r].n_ctx - 1 - b->P;   /* first scored row */
            b->req_slot[r] = k;
            b->req_row[r] = nr - (first < 0 ? 0 : first);   /* row of token i is req_row + i for i >= first */
            for (int i = 0; i < n; i++, k++) {
                in[k] = tok_at(&t[r], b->P + i);
                tt[k] = (ll_tree_tok){.pos = b->P + i, .a0 = b->base, .a1 = b->base + b->P, .b0 = b->req_slot[r]};
                if (i >= first) rows[nr++] = k;
            }
        }
    }
    int rc = ll_engine_forward_tree_rows(e, in, tt, T, 0, rows, nr, logits_buf);
    for (int j = 0; !rc && j < n_items; j++) {
        const ll_eval_toks *t = items[j];
        const batch_item *b = &B[j];
        for (int r = 0; r < n_req[j] && !rc; r++) {
            double s = 0;
            bool all = true;
            for (int c = 0; c < t[r].n_cont; c++) {
                int pos = t[r].n_ctx + c - 1;   /* the input position predicting continuation token c */
                int row = pos == b->P - 1 ? b->last_row : b->req_row[r] + (pos - b->P);
                bool mx;
                s -= ll_nll_row(logits_buf + (size_t)row * (size_t)n_vocab, n_vocab, t[r].cont[c], &mx);
                all &= mx;
            }
            if (!isfinite(s)) rc = ll_fail("item %d of the batch: the loglikelihood of request %d is not finite (%g)", j, r, s);
            ll[j][r] = s;
            greedy[j][r] = all;
        }
    }
    free(B);
    free(in);
    free(tt);
    free(rows);
    return rc;
}

int ll_eval_score(ll_engine *e, int n_vocab, const ll_eval_toks *t, int n, float *logits_buf, int cap_rows, double *ll,
                  bool *greedy) {
    if (n <= 0) return 0;
    if (n > 64) return ll_fail("more than 64 requests in one item");
    /* the model input of request r is (ctx + cont)[:-1]; the prefix P shared by all inputs, at most the
     * shortest context, runs once; its last row predicts the first continuation token of a request whose
     * context is exactly P long */
    int P = shared_prefix(t, n);
    float *last = NULL;
    if (P > 0) {
        last = malloc((size_t)n_vocab * sizeof *last);
        if (!last) return ll_fail("out of memory for %d logits", n_vocab);
        if (ll_engine_forward(e, t[0].ctx, P, 0, last, LL_LOGITS_LAST)) { free(last); return -1; }
    }
    /* the rest of every request: all in one tree forward when they fit, else one request at a time */
    int total = 0, rows[64];
    for (int r = 0; r < n; r++) total += t[r].n_ctx + t[r].n_cont - 1 - P;
    bool tree = n > 1 && total > 0 && total <= cap_rows && P + total <= ll_engine_n_ctx(e);
    if (tree && score_tree(e, t, n, P, total, logits_buf, rows)) { free(last); return -1; }
    for (int r = 0; r < n; r++) {
        int len = t[r].n_ctx + t[r].n_cont;   /* input = tokens 0..len-2 */
        int T = len - 1 - P;
        if (!tree) rows[r] = 0;
        if (!tree && T > 0) {
            int32_t *in = malloc((size_t)T * sizeof *in);
            if (!in) { free(last); return ll_fail("out of memory"); }
            for (int i = 0; i < T; i++) in[i] = tok_at(&t[r], P + i);
            int rc = ll_engine_forward(e, in, T, P, logits_buf, LL_LOGITS_ALL);
            free(in);
            if (rc) { free(last); return -1; }
        }
        double s = 0;
        bool all = true;
        for (int j = 0; j < t[r].n_cont; j++) {
            int pos = t[r].n_ctx + j - 1;     /* the row predicting continuation token j */
            const float *row = pos == P - 1 ? last : logits_buf + (size_t)(rows[r] + pos - P) * (size_t)n_vocab;
            bool mx;
            s -= ll_nll_row(row, n_vocab, t[r].cont[j], &mx);
            all &= mx;
        }
        if (!isfinite(s)) {   /* finite logits can still overflow the sum: never a silent NaN score */
            free(last);
            return ll_fail("the loglikelihood of request %d is not finite (%g)", r, s);
        }
        ll[r] = s;
        greedy[r] = all;
    }
    free(last);
    return 0;
}

/* ---- generation ---- */

int ll_eval_generate(ll_engine *e, const ll_tokenizer *tok, int n_vocab, const int32_t *prompt, int n_prompt,
                     int max_new, int32_t eos, const char *const *stops, int n_stops, float *logits_buf,
                     char **text, int *n_gen) {
    *text = NULL;
    *n_gen = 0;
    int32_t *gen = ll_malloc((size_t)(max_new > 0 ? max_new : 1) * sizeof *gen);
    if (!gen) return -1;
    int n = 0;
    if (n_prompt < 1) { free(gen); return ll_fail("empty prompt"); }
    if (ll_engine_forward(e, prompt, n_prompt, 0, logits_buf, LL_LOGITS_LAST)) { free(gen); return -1; }
    while (n < max_new) {
        int am = 0;
        for (int i = 1; i < n_vocab; i++)
            if (logits_buf[i] > logits_buf[am]) am = i;
        gen[n++] = am;
        if (am == eos) break;
        char *seen = ll_detokenize(tok, gen, (size_t)n, true, NULL);
        if (!seen) { free(gen); return -1; }
        bool stop = false;
        for (int s = 0; s < n_stops && !stop; s++) stop = stops[s][0] && strstr(seen, stops[s]);
        free(seen);
        if (stop || n == max_new) break;
        if (ll_engine_forward(e, &gen[n - 1], 1, n_prompt + n - 1, logits_buf, LL_LOGITS_LAST)) { free(gen); return -1; }
    }
    char *s = ll_detokenize(tok, gen, (size_t)n, false, NULL);
    free(gen);
    if (!s) return -1;
    for (int k = 0; k < n_stops; k++) {    /* generation.split(term)[0], term by term */
        if (!stops[k][0]) continue;
        char *hit = strstr(s, stops[k]);
        if (hit) *hit = 0;
    }
    *text = s;
    *n_gen = n;
    return 0;
}

/* ---- GSM8K extraction ---- */

static pcre2_code *compile(const char *pat) {
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        ll_fail("regex '%s': %s at %zu", pat, (const char *)msg, (size_t)off);
    }
    return re;
}

static char *dup_range(const char *s, size_t a, size_t b) { return ll_strndup(s + a, b - a); }

/* re.findall(pattern, s)[select] (select -1: the last), the first non-empty group of that match,
 * .strip(); "[invalid]" when nothing matches */
static char *findall_pick(const char *pattern, const char *s, bool last) {
    pcre2_code *re = compile(pattern);
    if (!re) return NULL;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) { pcre2_code_free(re); ll_fail("out of memory"); return NULL; }
    size_t len = strlen(s), off = 0, a = 0, b = 0;
    bool found = false, nonempty = false;
    while (off <= len) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, len, off, 0, md, NULL);
        if (rc < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        uint32_t ng = pcre2_get_ovector_count(md);
        /* the match's value: its only group, or the first non-empty one of several groups */
        size_t ga = 0, gb = 0;
        bool ne = false;
        for (uint32_t g = 1; g < ng && g < (uint32_t)rc; g++) {
            if (ov[2 * g] == PCRE2_UNSET) continue;
            if (ov[2 * g + 1] > ov[2 * g]) { ga = ov[2 * g]; gb = ov[2 * g + 1]; ne = true; break; }
        }
        if (!found || last) { a = ga; b = gb; nonempty = ne; }
        found = true;
        if (!last) break;
        off = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    if (!found || !nonempty) return ll_strndup("[invalid]", 9);
    size_t l = ll_py_lstrip_off(s + a, b - a);
    return dup_range(s, a + l, a + l + ll_py_rstrip_len(s + a + l, b - a - l));
}

char *ll_gsm8k_strict(const char *response) { return findall_pick("#### (\\-?[0-9\\.\\,]+)", response, false); }
char *ll_gsm8k_flexible(const char *response) { return findall_pick("(-?[$0-9.,]{2,})|(-?[0-9]+)", response, true); }

char *ll_gsm8k_normalize(const char *s) {
    static const char *const ignore[] = {",", "\\$", "(?s).*#### ", "\\.$"};
    char *cur = ll_strndup(s, strlen(s));
    for (size_t k = 0; cur && k < sizeof ignore / sizeof *ignore; k++) {
        pcre2_code *re = compile(ignore[k]);
        if (!re) { free(cur); return NULL; }
        size_t cap = strlen(cur) + 1;
        char *out = ll_malloc(cap);
        PCRE2_SIZE olen = cap;
        int rc = out ? pcre2_substitute(re, (PCRE2_SPTR)cur, PCRE2_ZERO_TERMINATED, 0, PCRE2_SUBSTITUTE_GLOBAL, NULL,
                                        NULL, (PCRE2_SPTR) "", 0, (PCRE2_UCHAR *)out, &olen)
                     : -1;
        pcre2_code_free(re);
        free(cur);
        if (rc < 0) { free(out); ll_fail("regex substitution failed (%d)", rc); return NULL; }
        cur = out;
    }
    if (cur)   /* ignore_case: str.lower() (ASCII letters; digits and signs are what gets compared) */
        for (char *p = cur; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return cur;
}

/* ---- aggregation ---- */

double ll_py_mean(const double *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return s / n;
}

double ll_py_sample_stddev(const double *x, int n) {
    double mu = ll_py_mean(x, n), s = 0;
    for (int i = 0; i < n; i++) s += (x[i] - mu) * (x[i] - mu);
    return sqrt(s / (n - 1));
}

double ll_mean_stderr(const double *x, int n) {
    if (n < 2) return NAN;
    return ll_py_sample_stddev(x, n) / sqrt((double)n);
}

double ll_perplexity_bootstrap_stderr(const double *ll, int n, int iters) {
    if (n < 2 || iters <= 0) return NAN;
    int chunk = iters < 1000 ? iters : 1000, n_chunks = iters / chunk;
    double *res = malloc((size_t)n_chunks * (size_t)chunk * sizeof *res);
    if (!res) return NAN;
    size_t k = 0;
    ll_pyrng rng;
    for (int c = 0; c < n_chunks; c++) {
        ll_pyrng_seed(&rng, (uint64_t)c);
        for (int i = 0; i < chunk; i++) {
            double s = 0;
            for (int j = 0; j < n; j++) s += ll[ll_pyrng_choice_index(&rng, n)];
            res[k++] = exp(-(s / n));
        }
    }
    double sd = ll_py_sample_stddev(res, (int)k);
    free(res);
    return sd;
}
