/* test_reuse.c — reuse of shared leading entries (ll_engine_record / ll_engine_reuse), the study's way of not
 * computing the same layers once per plan, on the real stories260K checkpoint. For several plans and both
 * compute modes, one item's forwards (a prefix, a tree forward of three answers, three generation steps) on
 * an engine that reuses a recording of the full order give the same logits, bit for bit, as a fresh engine
 * that computes everything, while computing fewer passes (also through a chain: a recording made while reusing
 * another); a step whose input differs from the recording
 * (generation going its own way) and every step after it are computed in full and still agree; an order that
 * shares nothing, or runs with another parallel-K/V setting, reuses nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "plan/plan.h"
#include "run/engine.h"
#include "util/err.h"

static int failures = 0;
#define CHECK(c, ...)                                                           \
    do {                                                                        \
        if (!(c)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
    } while (0)

enum { P = 9, NB = 3, NT = 13, STEPS = 3, ROWS = 1 + NT + STEPS };

/* One item's forwards: prefix, tree, generation steps with the given tokens. Logits rows into out[ROWS][V]. */
static int item(ll_engine *e, int V, const int32_t *steps, float *out) {
    int32_t prefix[P], toks[NT];
    ll_tree_tok tt[NT];
    const int len[NB] = {5, 1, 7};
    for (int i = 0; i < P; i++) prefix[i] = (int32_t)((i * 37 + 11) % V);
    int k = 0;
    for (int r = 0, start = 0; r < NB; start += len[r], r++)
        for (int i = 0; i < len[r]; i++, k++) {
            toks[k] = (int32_t)((r * 101 + i * 53 + 7) % V);
            tt[k] = (ll_tree_tok){.pos = P + i, .a0 = 0, .a1 = P, .b0 = P + start};
        }
    if (ll_engine_forward(e, prefix, P, 0, out, LL_LOGITS_LAST)) return -1;
    if (ll_engine_forward_tree(e, toks, tt, NT, P, out + (size_t)V, LL_LOGITS_ALL)) return -1;
    /* generation continues the prefix (positions P..), over the tree's slots: they are rewritten */
    for (int s = 0; s < STEPS; s++)
        if (ll_engine_forward(e, &steps[s], 1, P + s, out + (size_t)(1 + NT + s) * V, LL_LOGITS_LAST)) return -1;
    return 0;
}

static void run_case(ll_model *m, const char *plan, bool exact, bool kv_mean_mismatch, int want_shared) {
    int V = m->n_vocab;
    size_t n = (size_t)ROWS * V;
    float *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got), *scratch = malloc(n * sizeof *scratch);
    ll_order ord;
    if (ll_plan_parse(plan, m->n_layer, &ord)) { CHECK(0, "plan %s: %s", plan, ll_errmsg()); return; }
    ll_engine_opts o = {.n_ctx = 64, .n_threads = 2, .exact = exact};
    const int32_t steps[STEPS] = {17, 200, 33}, other[STEPS] = {17, 201, 33};
    for (int variant = 0; variant < 2; variant++) {
        const int32_t *st = variant ? other : steps;
        /* what computing everything gives */
        ll_engine_opts fo = o;
        fo.parallel_kv_mean = kv_mean_mismatch;
        ll_engine *fresh = ll_engine_new(m, &ord, &fo);
        CHECK(fresh && !item(fresh, V, st, ref), "%s fresh: %s", plan, ll_errmsg());
        ll_engine_free(fresh);
        /* one engine: the full order records (always with the recorded steps), then the plan reuses it */
        ll_engine *e = ll_engine_new(m, NULL, &o);
        ll_reuse *r = ll_reuse_new();
        CHECK(e && r && !ll_engine_record(e, r) && !item(e, V, steps, scratch), "%s record: %s", plan, ll_errmsg());
        ll_engine_record(e, NULL);
        ll_engine_free(e);
        e = ll_engine_new(m, NULL, &fo);   /* the consumer: another engine, possibly another K/V setting */
        CHECK(e && !ll_engine_set_order(e, &ord), "%s set_order: %s", plan, ll_errmsg());
        int j = ll_engine_reuse(e, r);
        CHECK(j == want_shared, "%s: %d entries shared, expected %d", plan, j, want_shared);
        long long c, nv;
        CHECK(!item(e, V, st, got), "%s reuse: %s", plan, ll_errmsg());
        ll_engine_passes(e, &c, &nv);
        CHECK(!memcmp(ref, got, n * sizeof *ref), "%s %s%s: logits with reuse differ from computing everything", plan,
              exact ? "exact" : "llamacpp", variant ? " (diverging generation)" : "");
        /* passes: prefix + tree (+ matching steps) skip the shared passes; a diverged step and later ones do not */
        long long T_reused = want_shared ? P + NT + (variant ? 1 : STEPS) : 0;
        CHECK(nv - c == T_reused * want_shared, "%s: %lld of %lld passes computed; expected %lld skipped", plan, c, nv,
              T_reused * want_shared);
        if (!failures)
            printf("ok   %s (%s%s%s): %d entries shared, %lld of %lld token-layer passes computed, logits bit for bit\n",
                   plan, exact ? "exact" : "llamacpp", variant ? ", diverging generation" : "",
                   kv_mean_mismatch ? ", other K/V setting" : "", j, c, nv);
        ll_engine_free(e);
        ll_reuse_free(r);
    }
    ll_order_free(&ord);
    free(ref);
    free(got);
    free(scratch);
}

/* A chain, as the study runs it: the full order records A; looped_parallel:1:3 records B while it reuses A;
 * parallel:1 and looped_parallel:1:2 reuse B (their every entry but the last layer is in it). */
static void run_chain(ll_model *m) {
    int V = m->n_vocab;
    size_t n = (size_t)ROWS * V;
    float *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got);
    const int32_t steps[STEPS] = {17, 200, 33};
    ll_engine_opts o = {.n_ctx = 64, .n_threads = 2, .exact = true};
    ll_order src, ord;
    ll_engine *e = ll_engine_new(m, NULL, &o);
    ll_reuse *a = ll_reuse_new(), *b = ll_reuse_new();
    CHECK(e && a && b && !ll_plan_parse("looped_parallel:1:3", m->n_layer, &src), "chain setup: %s", ll_errmsg());
    CHECK(!ll_engine_record(e, a) && !item(e, V, steps, got), "chain: record A: %s", ll_errmsg());
    ll_engine_record(e, NULL);
    CHECK(!ll_engine_set_order(e, &src) && !ll_engine_record(e, b) && ll_engine_reuse(e, a) == 2 && !item(e, V, steps, got),
          "chain: record B reusing A: %s", ll_errmsg());
    ll_engine_record(e, NULL);
    const char *plans[2] = {"parallel:1", "looped_parallel:1:2"};
    const int want[2] = {3, 4};   /* 0,1,[2,3] | 0,1,[2,3],[2,3]; then layer 4 */
    for (int p = 0; p < 2; p++) {
        CHECK(!ll_plan_parse(plans[p], m->n_layer, &ord), "%s", ll_errmsg());
        ll_engine *fresh = ll_engine_new(m, &ord, &o);
        CHECK(fresh && !item(fresh, V, steps, ref), "chain fresh %s: %s", plans[p], ll_errmsg());
        ll_engine_free(fresh);
        long long c0, n0, c1, n1;
        ll_engine_passes(e, &c0, &n0);
        CHECK(!ll_engine_set_order(e, &ord), "%s", ll_errmsg());
        int j = ll_engine_reuse(e, b);
        CHECK(j == want[p], "chain %s: %d entries shared with B, expected %d", plans[p], j, want[p]);
        CHECK(!item(e, V, steps, got), "chain %s: %s", plans[p], ll_errmsg());
        ll_engine_passes(e, &c1, &n1);
        CHECK(!memcmp(ref, got, n * sizeof *ref), "chain %s: logits differ from computing everything", plans[p]);
        CHECK(c1 - c0 == (long long)(P + NT + STEPS) * 1, "chain %s: %lld passes computed, expected only layer 4's", plans[p], c1 - c0);
        if (!failures)
            printf("ok   chain full -> looped_parallel:1:3 -> %s: %d entries shared, %lld of %lld passes computed, bit for bit\n",
                   plans[p], j, c1 - c0, n1 - n0);
        ll_order_free(&ord);
    }
    ll_order_free(&src);
    ll_reuse_free(a);
    ll_reuse_free(b);
    ll_engine_free(e);
    free(ref);
    free(got);
}

int main(void) {
    const char *sh = getenv("SHARED");
    char bin[4096], tok[4096];
    snprintf(bin, sizeof bin, "%s/models/stories260K.bin", sh ? sh : "../shared");
    snprintf(tok, sizeof tok, "%s/models/tok512.bin", sh ? sh : "../shared");
    ll_model *m = ll_model_open(bin, tok);
    if (!m) { printf("FAIL: %s: %s\n", bin, ll_errmsg()); return 1; }
    /* stories260K has 5 layers (`layerlab plan --layers 5 --plan P` prints each order) */
    run_case(m, "skip:1", true, false, 2);                /* 0,1,4 */
    run_case(m, "skip:1", false, false, 2);
    run_case(m, "middle_repeat:1", true, false, 3);       /* 0,1,2,2,4 */
    run_case(m, "parallel:1", false, false, 2);           /* 0,1,[2,3],4 */
    run_case(m, "looped_parallel:1:3", true, false, 2);   /* 0,1,[2,3]x3,4: more passes than full, the caches grow */
    run_case(m, "skip_one:4", true, false, 4);            /* 0,1,2,3: every entry shared, none left to run */
    run_case(m, "reverse:0", true, false, 1);             /* 0,4,3,2,1 */
    run_case(m, "1,0,2,3,4", true, false, 0);             /* nothing shared: reuse is off */
    run_case(m, "skip:1", true, true, 0);                 /* another parallel-K/V setting: nothing reused */
    run_chain(m);
    ll_model_free(m);
    printf(failures ? "FAIL\n" : "PASS\n");
    return failures != 0;
}
