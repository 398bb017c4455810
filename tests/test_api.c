/* test_api.c — the foreign-function entry points of include/layerlab.h (src/api/ffi.c), through the public
 * header only: every bad input fails with -1 / NULL and a message naming it (never a crash), and the good
 * paths agree with the plain engine calls bit for bit. Model: ../shared's stories260K (SHARED). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layerlab.h"

#include "check.h"

/* the call failed and the message contains `want` */
#define FAILS(expr, want) do { int bad_ = (expr); const char *m_ = ll_errmsg(); \
    CHECK(bad_ && strstr(m_, want) != NULL, "%s: expected a failure naming '%s', got %s '%s'", #expr, want, \
          bad_ ? "failure" : "success", bad_ ? m_ : ""); } while (0)

/* the public tap: the residual stream after the last entry, copied out */
typedef struct {
    int last, calls;
    float *out;
    size_t n;
} tap_ctx;
static void tap_hidden(void *ctx, int entry, const float *x, int T, int pos0) {
    tap_ctx *c = ctx;
    (void)pos0;
    c->calls++;
    if (entry == c->last) memcpy(c->out, x, c->n * (size_t)T * sizeof(float));
}

int main(void) {
    CHECK(ll_version() && !strcmp(ll_version(), LAYERLAB_VERSION), "version %s", ll_version());
    ll_free(NULL);

    /* no model: every entry point refuses it */
    int32_t ids3[3] = {1, 2, 3};
    float f1[4];
    int64_t shape[4];
    FAILS(ll_ffi_logits(NULL, ids3, 3, NULL, f1) != 0, "no model");
    FAILS(ll_ffi_cache_shape(NULL, 3, NULL, "hook_embed", shape) < 0, "no model");
    FAILS(ll_ffi_plan(NULL, NULL, NULL, 0) < 0, "no model");
    FAILS(ll_ffi_probe(NULL, "cosine", ids3, (int64_t[]){3}, 1, NULL, NULL, 0, NULL) == NULL, "no model");
    FAILS(ll_ffi_eval(NULL, "piqa", NULL, NULL, NULL) == NULL, "no model");
    FAILS(ll_ffi_study(NULL, "painters", "/tmp/x", NULL, NULL, NULL) != 0, "no model");

    /* intrinsic dimension: arguments checked before any work */
    double X[40], out7[7];
    for (int i = 0; i < 40; i++) X[i] = (double)((i * 7919) % 101) / 13.0;
    FAILS(ll_ffi_intrinsic_dim(NULL, 20, 2, 5, 0.05, out7) != 0, "must not be NULL");
    FAILS(ll_ffi_intrinsic_dim(X, 0, 2, 5, 0.05, out7) != 0, "0 x 2");
    FAILS(ll_ffi_intrinsic_dim(X, 20, 2, 1, 0.05, out7) != 0, "k = 1");
    FAILS(ll_ffi_intrinsic_dim(X, 20, 2, 5, 1.0, out7) != 0, "alpha");
    CHECK(ll_ffi_intrinsic_dim(X, 20, 2, 5, 0.05, out7) == 0, "idim: %s", ll_errmsg());
    CHECK(out7[5] + out7[6] == 20, "points %g + duplicates %g", out7[5], out7[6]);

    const char *shared = getenv("SHARED");
    char path[4096], tok[4096];
    snprintf(path, sizeof path, "%s/models/stories260K.bin", shared ? shared : "../shared");
    snprintf(tok, sizeof tok, "%s/models/tok512.bin", shared ? shared : "../shared");
    ll_model *m = ll_model_open(path, tok);
    if (!m) {
        printf("test_api: %s not loadable (%s): model checks not run\n", path, ll_errmsg());
        return CHECK_DONE();
    }
    int V = ll_model_n_vocab(m), H = ll_model_n_head(m), F = ll_model_n_ff(m), D = ll_model_n_embd(m);
    CHECK(!strcmp(ll_model_arch(m), "llama") && ll_model_has_head(m) && ll_model_causal(m), "arch %s", ll_model_arch(m));
    CHECK(ll_model_n_layer(m) == 5 && H == 8 && D == 64 && F > 0 && ll_model_n_head_kv(m) > 0, "shape");
    CHECK(!strcmp(ll_model_path(m), path), "path %s", ll_model_path(m));

    /* options: JSON, keys, types, ranges */
    enum { T = 6 };
    int32_t ids[T] = {1, 403, 407, 261, 378, 30};
    float *lg = malloc(sizeof(float) * T * (size_t)V), *lg2 = malloc(sizeof(float) * T * (size_t)V);
    FAILS(ll_ffi_logits(m, ids, T, "{", lg) != 0, "not valid JSON");
    FAILS(ll_ffi_logits(m, ids, T, "[1]", lg) != 0, "must be a JSON object");
    FAILS(ll_ffi_logits(m, ids, T, "{\"plam\": \"full\"}", lg) != 0, "unknown option 'plam'");
    FAILS(ll_ffi_logits(m, ids, T, "{\"threads\": \"two\"}", lg) != 0, "'threads' must be an integer");
    FAILS(ll_ffi_logits(m, ids, T, "{\"threads\": 1.5}", lg) != 0, "'threads' must be an integer");
    FAILS(ll_ffi_logits(m, ids, T, "{\"threads\": 0}", lg) != 0, "out of range");
    FAILS(ll_ffi_logits(m, ids, T, "{\"exact\": 1}", lg) != 0, "'exact' must be true or false");
    FAILS(ll_ffi_logits(m, ids, T, "{\"parallel_kv\": \"some\"}", lg) != 0, "parallel_kv");
    FAILS(ll_ffi_logits(m, ids, T, "{\"plan\": \"0,7\"}", lg) != 0, "7");
    FAILS(ll_ffi_logits(m, ids, 0, NULL, lg) != 0, "no tokens");
    FAILS(ll_ffi_logits(m, ids, ll_model_n_ctx(m) + 1, NULL, lg) != 0, "exceed");
    FAILS(ll_ffi_logits(m, ids, T, NULL, NULL) != 0, "must not be NULL");
    int32_t bad[2] = {1, 99999};
    FAILS(ll_ffi_logits(m, bad, 2, NULL, lg) != 0, "outside the vocabulary");

    /* logits: the engine's bits (tolerance 0), plan and threads given or not */
    ll_engine_opts eo = {.n_ctx = T, .n_threads = 2, .exact = true};
    ll_engine *e = ll_engine_new(m, NULL, &eo);
    CHECK(e && ll_engine_forward(e, ids, T, 0, lg2, LL_LOGITS_ALL) == 0, "engine: %s", ll_errmsg());
    ll_engine_free(e);
    CHECK(ll_ffi_logits(m, ids, T, "", lg) == 0, "logits: %s", ll_errmsg());
    CHECK(!memcmp(lg, lg2, sizeof(float) * T * (size_t)V), "ffi logits differ from ll_engine_forward");
    CHECK(ll_ffi_logits(m, ids, T, "{\"plan\": \"full\", \"threads\": 1, \"exact\": true, \"parallel_kv\": null}", lg) == 0,
          "logits: %s", ll_errmsg());
    CHECK(!memcmp(lg, lg2, sizeof(float) * T * (size_t)V), "one thread gives other bits");

    /* plans and cache names */
    int mem[8] = {0};
    CHECK(ll_ffi_plan(m, "{\"plan\": \"0-1,[2,3],4\"}", mem, 8) == 4 && mem[2] == 2 && mem[3] == 1, "plan members");
    FAILS(ll_ffi_plan(m, "{\"plan\": \"[\"}", mem, 8) < 0, "plan");
    const char *grp = "{\"plan\": \"0-1,[2,3],4\"}";
    CHECK(ll_ffi_cache_shape(m, T, grp, "blocks.2.attn.hook_pattern", shape) == 4 && shape[0] == 2 && shape[1] == H &&
          shape[2] == T && shape[3] == T, "group pattern shape");
    CHECK(ll_ffi_cache_shape(m, T, grp, "blocks.1.mlp.hook_pre", shape) == 2 && shape[0] == T && shape[1] == F,
          "mlp shape");
    CHECK(ll_ffi_cache_shape(m, T, NULL, "logits", shape) == 2 && shape[1] == V, "logits shape");
    FAILS(ll_ffi_cache_shape(m, T, grp, "blocks.4.hook_resid_post", shape) < 0, "the plan has 4 entries");
    FAILS(ll_ffi_cache_shape(m, T, NULL, "blocks.01.hook_resid_post", shape) < 0, "unknown name");
    FAILS(ll_ffi_cache_shape(m, T, NULL, "blocks..hook_resid_post", shape) < 0, "unknown name");
    FAILS(ll_ffi_cache_shape(m, T, NULL, "blocks.0.hook_resid_post.x", shape) < 0, "unknown name");
    FAILS(ll_ffi_cache_shape(m, T, NULL, "blocks.99999999999.hook_resid_post", shape) < 0, "");
    FAILS(ll_ffi_cache_shape(m, T, NULL, NULL, shape) < 0, "NULL name");
    FAILS(ll_ffi_cache_shape(m, 0, NULL, "hook_embed", shape) < 0, "no tokens");

    float *emb = malloc(sizeof(float) * T * D), *post = malloc(sizeof(float) * T * D);
    float *pat = malloc(sizeof(float) * H * T * T);
    const char *names2[2] = {"hook_embed", "hook_embed"};
    float *bufs2[2] = {emb, emb};
    FAILS(ll_ffi_cache(m, ids, T, NULL, names2, 2, bufs2) != 0, "asked for twice");
    const char *names1[1] = {"blocks.0.hook_resid_post"};
    float *nullbuf[1] = {NULL};
    FAILS(ll_ffi_cache(m, ids, T, NULL, names1, 1, nullbuf) != 0, "is NULL");
    FAILS(ll_ffi_cache(m, bad, 2, NULL, names1, 1, (float *[]){post}) != 0, "outside the vocabulary");
    const char *names4[4] = {"hook_embed", "blocks.4.hook_resid_post", "blocks.1.attn.hook_pattern", "logits"};
    float *bufs4[4] = {emb, post, pat, lg};
    memset(lg, 0, sizeof(float) * T * (size_t)V);
    CHECK(ll_ffi_cache(m, ids, T, NULL, names4, 4, bufs4) == 0, "cache: %s", ll_errmsg());
    CHECK(!memcmp(lg, lg2, sizeof(float) * T * (size_t)V), "cache logits differ from the engine's");
    double worst = 0;   /* every attention row is a softmax over keys 0..q: sums to 1 within 1e-5 (float32), 0 above */
    int above = 0;
    for (int h = 0; h < H; h++)
        for (int q = 0; q < T; q++) {
            double s = 0;
            for (int k = 0; k < T; k++) {
                float w = pat[((size_t)h * T + q) * T + k];
                s += w;
                above += k > q && w != 0;
            }
            worst = fabs(s - 1) > worst ? fabs(s - 1) : worst;
        }
    CHECK(worst <= 1e-5 && above == 0, "attention rows: |sum - 1| %.3g, %d nonzero above the diagonal", worst, above);

    /* the public C API by hand: a plan, default engine options, a tap; the state after the last entry equals the
     * cache's under the same plan, bit for bit */
    {
        ll_order ord;
        FAILS(ll_plan_parse("reverse:9", ll_model_n_layer(m), &ord) != 0, "");
        CHECK(ll_plan_parse("reverse:1", ll_model_n_layer(m), &ord) == 0, "plan: %s", ll_errmsg());
        ll_engine_opts eo = ll_engine_default_opts();
        CHECK(eo.exact && eo.n_threads == 2 && eo.n_ctx == 512, "default engine options");
        eo.n_ctx = T;
        ll_engine *e2 = ll_engine_new(m, &ord, &eo);
        CHECK(e2 != NULL, "engine: %s", ll_errmsg());
        float *mine = malloc(sizeof(float) * T * D), *theirs = malloc(sizeof(float) * T * D);
        tap_ctx tc = {ord.n_entries - 1, 0, mine, (size_t)D};
        ll_tap tap = {.ctx = &tc, .hidden = tap_hidden};
        ll_engine_set_tap(e2, &tap);
        CHECK(ll_engine_forward(e2, ids, T, 0, NULL, LL_LOGITS_NONE) == 0, "tapped forward: %s", ll_errmsg());
        CHECK(tc.calls == ord.n_entries + 1, "tap calls %d for %d entries + the embedding", tc.calls, ord.n_entries);
        char name[64];
        snprintf(name, sizeof name, "blocks.%d.hook_resid_post", ord.n_entries - 1);
        const char *nm[1] = {name};
        CHECK(ll_ffi_cache(m, ids, T, "{\"plan\": \"reverse:1\"}", nm, 1, (float *[]){theirs}) == 0, "cache: %s", ll_errmsg());
        CHECK(!memcmp(mine, theirs, sizeof(float) * T * (size_t)D), "the tap's state differs from the cache's");
        free(mine);
        free(theirs);
        ll_engine_free(e2);
        ll_order_free(&ord);
    }

    /* probes */
    int64_t lens[2] = {3, 3}, zero[2] = {3, 0};
    FAILS(ll_ffi_probe(m, "cosines", ids, lens, 2, NULL, NULL, 0, NULL) == NULL, "unknown kind 'cosines'");
    FAILS(ll_ffi_probe(m, "", ids, lens, 2, NULL, NULL, 0, NULL) == NULL, "no kinds");
    FAILS(ll_ffi_probe(m, "cosine", ids, lens, 0, NULL, NULL, 0, NULL) == NULL, "no input samples");
    FAILS(ll_ffi_probe(m, "cosine", ids, zero, 2, NULL, NULL, 0, NULL) == NULL, "sample 1 has 0 tokens");
    FAILS(ll_ffi_probe(m, "cosine", ids, lens, 2, ids, lens, 2, NULL) == NULL, "compare samples are for mlp-regions");
    FAILS(ll_ffi_probe(m, "mlp-regions", ids, lens, 2, ids, lens, 1, NULL) == NULL, "1 compare samples for 2");
    FAILS(ll_ffi_probe(m, "attention-id", ids, lens, 2, NULL, NULL, 0, "{\"eps_sweep\": 0.1}") == NULL, "eps_sweep");
    FAILS(ll_ffi_probe(m, "attention-id", ids, lens, 2, NULL, NULL, 0, "{\"eps_sweep\": [2]}") == NULL, "[0, 1]");
    FAILS(ll_ffi_probe(m, "attention-id", ids, lens, 2, NULL, NULL, 0, "{\"position\": 5}") == NULL, "--position 5");
    FAILS(ll_ffi_probe(m, "cosine", ids, lens, 2, NULL, NULL, 0, "{\"span\": 9}") == NULL, "--span 9");
    FAILS(ll_ffi_probe(m, "cosine", bad, (int64_t[]){2}, 1, NULL, NULL, 0, NULL) == NULL, "sample 0 of 1");
    ll_probe_out *po = ll_ffi_probe(m, "cosine,attention-id", ids, lens, 2, NULL, NULL, 0, "{\"plan\": \"reverse:0\"}");
    CHECK(po != NULL, "probe: %s", ll_errmsg());
    if (po) {
        const double *a;
        int64_t r, c;
        double v;
        CHECK(ll_probe_out_array(po, "cos_flat", &a, &r, &c) == 0 && r == 6 && c == 6, "cos_flat %lld x %lld",
              (long long)r, (long long)c);
        CHECK_NEAR(a[0], 1.0, 1e-12, "cos(state 0, state 0)");   /* a vector's cosine with itself, in doubles */
        CHECK(ll_probe_out_array(po, "attn_id", &a, &r, &c) == 0 && r == 1 && c == 5, "attn_id");
        FAILS(ll_probe_out_array(po, "features", &a, &r, &c) != 0, "not computed");
        FAILS(ll_probe_out_array(po, "angular", &a, &r, &c) != 0, "not computed");
        FAILS(ll_probe_out_array(po, "cos_flatt", &a, &r, &c) != 0, "unknown array");
        CHECK(ll_probe_out_value(po, "n_tokens", &v) == 0 && v == 6, "n_tokens %g", v);
        FAILS(ll_probe_out_value(po, "n_tokenz", &v) != 0, "unknown value");
        ll_probe_out_free(po);
    }
    ll_probe_out_free(NULL);

    /* task samples, eval, study: data and options */
    char data[4096];
    snprintf(data, sizeof data, "{\"data_dir\": \"%s/data\", \"limit\": 2}", shared ? shared : "../shared");
    int32_t *sid;
    int64_t *slen;
    int ns;
    FAILS(ll_ffi_task_samples(m, "arc_hard", data, &sid, &slen, &ns) != 0, "unknown task 'arc_hard'");
    FAILS(ll_ffi_task_samples(m, "piqa", "{\"data_dir\": \"/nonexistent\"}", &sid, &slen, &ns) != 0, "cannot read");
    CHECK(ll_ffi_task_samples(m, "piqa", data, &sid, &slen, &ns) == 0 && ns == 2 && slen[0] > 0, "samples: %s", ll_errmsg());
    if (ns == 2) {
        ll_free(sid);
        ll_free(slen);
    }
    FAILS(ll_ffi_eval(m, "piqa", "{\"limit\": 0}", NULL, NULL) == NULL, "'limit' = 0");
    FAILS(ll_ffi_eval(m, "piqa", "{\"data\": \"/nonexistent.jsonl\"}", NULL, NULL) == NULL, "nonexistent.jsonl");
    char big[4200];
    snprintf(big, sizeof big, "{\"data_dir\": \"%s/data\", \"max_length\": 100000}", shared ? shared : "../shared");
    FAILS(ll_ffi_eval(m, "piqa", big, NULL, NULL) == NULL, "'max_length' = 100000 is beyond");
    ll_eval_out *ev = ll_ffi_eval(m, "piqa", data, NULL, NULL);
    CHECK(ev != NULL, "eval: %s", ll_errmsg());
    if (ev) {
        double v;
        const double *a;
        int64_t n;
        CHECK(ll_eval_out_value(ev, "n", &v) == 0 && v == 2, "n");
        CHECK(ll_eval_out_array(ev, "ll", &a, &n) == 0 && n == 4, "ll: %lld requests", (long long)n);   /* 2 choices each */
        FAILS(ll_eval_out_array(ev, "lll", &a, &n) != 0, "unknown array");
        FAILS(ll_eval_out_value(ev, "accc", &v) != 0, "unknown value");
        CHECK(ll_eval_out_text(ev, "task", -1) && !strcmp(ll_eval_out_text(ev, "task", -1), "piqa"), "task");
        FAILS(ll_eval_out_text(ev, "response", 0) == NULL, "no 'response'");
        FAILS(ll_eval_out_text(ev, "target", 2) == NULL, "item 2 of 2");
        ll_eval_out_free(ev);
    }
    ll_eval_out_free(NULL);
    FAILS(ll_ffi_study(m, "sculptors", "/tmp/x", NULL, NULL, NULL) != 0, "unknown study");
    FAILS(ll_ffi_study(m, "painters", "", NULL, NULL, NULL) != 0, "no output directory");
    FAILS(ll_ffi_study(m, "painters", "/tmp/x", "{\"variants\": [\"skipp\"]}", NULL, NULL) != 0, "unknown 'skipp'");
    FAILS(ll_ffi_study(m, "painters", "/tmp/x", "{\"starts\": \"1\"}", NULL, NULL) != 0, "list of integers");
    FAILS(ll_ffi_study(m, "geometry", "/tmp/x", "{\"tasks\": [\"piqa\"]}", NULL, NULL) != 0, "unknown option 'tasks'");
    FAILS(ll_ffi_study(m, "geometry", "/tmp/x", "{\"shots\": [1, 1]}", NULL, NULL) != 0, "given twice");

    free(emb), free(post), free(pat), free(lg), free(lg2);
    ll_model_free(m);
    return CHECK_DONE();
}
