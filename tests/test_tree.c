/* test_tree.c — ll_engine_forward_tree, the pass `eval` uses to run all answers of an item at once, gives
 * the same bits as running each answer on its own after the shared prefix (ll_engine_forward from the
 * cached prefix), on the real stories260K checkpoint: full order, a parallel group (whose members each
 * keep a KV slot), a repeated layer, and in both compute modes. Also: bad key ranges are refused, and a
 * later causal forward is unaffected by an earlier tree forward. */
#include <math.h>
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

/* prefix P tokens, then n branches of len[r] tokens */
static void run_case(ll_model *m, const char *plan, bool exact) {
    ll_order ord;
    if (ll_plan_parse(plan, m->n_layer, &ord)) { CHECK(0, "plan %s: %s", plan, ll_errmsg()); return; }
    ll_engine_opts o = {.n_ctx = 64, .n_threads = 2, .exact = exact};
    ll_engine *e = ll_engine_new(m, &ord, &o);
    ll_order_free(&ord);
    if (!e) { CHECK(0, "engine: %s", ll_errmsg()); return; }
    int V = m->n_vocab;
    enum { P = 9, NB = 3 };
    const int len[NB] = {5, 1, 7};
    int32_t prefix[P], br[NB][8];
    for (int i = 0; i < P; i++) prefix[i] = (int32_t)((i * 37 + 11) % V);
    for (int r = 0; r < NB; r++)
        for (int i = 0; i < len[r]; i++) br[r][i] = (int32_t)((r * 101 + i * 53 + 7) % V);
    float *seq = malloc(sizeof(float) * (size_t)V * 13), *tree = malloc(sizeof(float) * (size_t)V * 13), *last = malloc(sizeof(float) * (size_t)V);
    int total = 0;
    for (int r = 0; r < NB; r++) total += len[r];
    /* one branch at a time: prefix, then the branch from the cache */
    int off = 0;
    CHECK(!ll_engine_forward(e, prefix, P, 0, last, LL_LOGITS_LAST), "prefix: %s", ll_errmsg());
    for (int r = 0; r < NB; r++) {
        CHECK(!ll_engine_forward(e, br[r], len[r], P, seq + (size_t)off * V, LL_LOGITS_ALL), "branch %d: %s", r, ll_errmsg());
        off += len[r];
    }
    /* all branches in one tree forward */
    int32_t toks[13];
    ll_tree_tok tt[13];
    int k = 0;
    for (int r = 0, start = 0; r < NB; start += len[r], r++)
        for (int i = 0; i < len[r]; i++, k++) {
            toks[k] = br[r][i];
            tt[k] = (ll_tree_tok){.pos = P + i, .a0 = 0, .a1 = P, .b0 = P + start};
        }
    CHECK(!ll_engine_forward(e, prefix, P, 0, last, LL_LOGITS_LAST), "prefix again: %s", ll_errmsg());
    CHECK(!ll_engine_forward_tree(e, toks, tt, total, P, tree, LL_LOGITS_ALL), "tree: %s", ll_errmsg());
    CHECK(!memcmp(seq, tree, sizeof(float) * (size_t)V * total), "%s %s: tree logits differ from branch-by-branch",
          plan, exact ? "exact" : "llamacpp");
    /* a causal forward after the tree forward is unaffected by the tree's slots */
    float *again = malloc(sizeof(float) * (size_t)V * 7);
    CHECK(!ll_engine_forward(e, br[2], len[2], P, again, LL_LOGITS_ALL), "causal after tree: %s", ll_errmsg());
    CHECK(!memcmp(again, seq + (size_t)(len[0] + len[1]) * V, sizeof(float) * (size_t)V * len[2]),
          "%s: causal forward after a tree forward differs", plan);
    /* bad ranges: b0 before a1, b0 after the token's own slot, a position beyond the context */
    ll_tree_tok bad = {.pos = P, .a0 = 0, .a1 = P, .b0 = P - 1};
    CHECK(ll_engine_forward_tree(e, toks, &bad, 1, P, tree, LL_LOGITS_ALL) != 0, "b0 < a1 accepted");
    bad = (ll_tree_tok){.pos = P, .a0 = 0, .a1 = P, .b0 = P + 1};
    CHECK(ll_engine_forward_tree(e, toks, &bad, 1, P, tree, LL_LOGITS_ALL) != 0, "b0 beyond own slot accepted");
    bad = (ll_tree_tok){.pos = 64, .a0 = 0, .a1 = P, .b0 = P};
    CHECK(ll_engine_forward_tree(e, toks, &bad, 1, P, tree, LL_LOGITS_ALL) != 0, "position 64 accepted");
    printf("ok   %s (%s): %d branch tokens after a %d-token prefix, tree == branch by branch, bit for bit\n", plan,
           exact ? "exact" : "llamacpp", total, P);
    free(again);
    free(seq);
    free(tree);
    free(last);
    ll_engine_free(e);
}

int main(void) {
    const char *sh = getenv("SHARED");
    char bin[4096], tok[4096];
    snprintf(bin, sizeof bin, "%s/models/stories260K.bin", sh ? sh : "../shared");
    snprintf(tok, sizeof tok, "%s/models/tok512.bin", sh ? sh : "../shared");
    ll_model *m = ll_model_open(bin, tok);
    if (!m) { printf("FAIL: %s: %s\n", bin, ll_errmsg()); return 1; }
    run_case(m, "full", true);
    run_case(m, "full", false);
    run_case(m, "parallel:1", true);       /* 0,1,[2,3],4: a group whose members keep one KV slot each */
    run_case(m, "middle_repeat:1", true);  /* 0,1,2,2,4: layer 2 twice, two KV slots */
    ll_model_free(m);
    printf(failures ? "FAIL\n" : "PASS\n");
    return failures != 0;
}
