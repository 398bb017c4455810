/* fuzz_llama2c.c — libFuzzer target for the llama2.c legacy checkpoint loader.
 *
 * ll_model_open maps a path, so the input is written to a memfd and opened as /proc/self/fd/N. Inputs
 * that start with "GGUF" belong to fuzz_gguf and are skipped. When the checkpoint opens:
 * - every weight it bound must lie inside the mapping (the mapping is page-granular, so ASan alone
 *   would not see a read a few bytes past the end of the file), the vocabulary-only open must agree on
 *   the hyperparameters, and the file's SHA-256 is computed;
 * - if the model is small (fewer than 1e6 parameters), one forward pass of 2 tokens runs with n_ctx 2
 *   (1 token if seq_len is 1) in exact mode, then the same tokens one at a time in the default mode.
 *   When every float of the file is finite and at most 16 in magnitude, the forwards must succeed with
 *   finite logits (every intermediate value is then bounded far below FLT_MAX); otherwise a forward may
 *   also refuse non-finite values (with its message), and no crash or sanitizer report may occur.
 * Inputs whose header implies another (small) size are also tried resized to it, so that mutated headers
 * reach the engine. A failure must leave a non-empty, one-line message.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/model.h"
#include "run/engine.h"
#include "tensor/dtype.h"
#include "util/err.h"

static int mfd = -1;
static char mpath[64];
static volatile uint64_t sink;

/* Replaces the memfd's contents with data[0..size). */
static void put_file(const uint8_t *data, size_t size) {
    if (mfd < 0) {
        mfd = memfd_create("fuzz-llama2c", 0);
        if (mfd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(mpath, sizeof mpath, "/proc/self/fd/%d", mfd);
    }
    if (ftruncate(mfd, 0) != 0) abort();
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(mfd, data + done, size - done, (off_t)done);
        if (w <= 0) abort();
        done += (size_t)w;
    }
}

static void check_error(const char *what) {
    const char *m = ll_errmsg();
    if (!m[0] || strchr(m, '\n')) {
        fprintf(stderr, "%s: bad error message: '%s'\n", what, m);
        abort();
    }
}

/* The bytes of an fp32 matrix lie inside the mapping. */
static void check_mat(const ll_model *m, const ll_mat *w, int64_t cols, int64_t rows, const char *what) {
    const char *b = m->map, *p = w->data;
    if (w->type != LL_TYPE_F32 || w->ncols != cols || w->nrows != rows || w->row_bytes != (size_t)cols * 4) {
        fprintf(stderr, "%s: bound as %lldx%lld type %u, expected %lldx%lld f32\n", what, (long long)w->nrows,
                (long long)w->ncols, w->type, (long long)rows, (long long)cols);
        abort();
    }
    size_t bytes = (size_t)rows * (size_t)cols * 4;
    if (p < b + 28 || (size_t)(p - b) > m->map_size || m->map_size - (size_t)(p - b) < bytes) {
        fprintf(stderr, "%s: [%zu, +%zu) is outside the %zu-byte mapping\n", what, (size_t)(p - b), bytes,
                m->map_size);
        abort();
    }
    if (((uintptr_t)p & 3) != 0) {
        fprintf(stderr, "%s: misaligned\n", what);
        abort();
    }
    if (bytes) sink += (uint64_t)p[0] + (uint64_t)p[bytes - 1];
}

static void check_bindings(const ll_model *m) {
    int64_t D = m->n_embd, F = m->n_ff, KV = (int64_t)m->n_head_kv * m->head_dim, V = m->n_vocab;
    if (m->format != LL_FORMAT_LLAMA2C || !m->map || !m->layers || !m->output_norm || m->head_dim * m->n_head != D ||
        m->n_layer < 1 || V < 1 || m->n_ctx_train < 1 || m->rope_dim != m->head_dim || m->rope_dim % 2) {
        fprintf(stderr, "inconsistent model: format %d, D %lld, heads %d x %d, layers %d\n", m->format,
                (long long)D, m->n_head, m->head_dim, m->n_layer);
        abort();
    }
    check_mat(m, &m->tok_embd, D, V, "tok_embd");
    check_mat(m, &m->output, D, V, "output");
    if (m->tied_output != (m->output.data == m->tok_embd.data)) abort();
    for (int l = 0; l < m->n_layer; l++) {
        const ll_layer *L = &m->layers[l];
        check_mat(m, &L->wq, D, D, "wq");
        check_mat(m, &L->wk, D, KV, "wk");
        check_mat(m, &L->wv, D, KV, "wv");
        check_mat(m, &L->wo, D, D, "wo");
        check_mat(m, &L->w_gate, D, F, "w_gate");
        check_mat(m, &L->w_up, D, F, "w_up");
        check_mat(m, &L->w_down, F, D, "w_down");
        if (!L->attn_norm || !L->ffn_norm) abort();
        sink += (uint64_t)(L->attn_norm[D - 1] > 0) + (uint64_t)(L->ffn_norm[D - 1] > 0);
    }
    sink += (uint64_t)(m->output_norm[D - 1] > 0);
}

/* Every float after the header is finite and |x| <= 16. */
static int tame(const ll_model *m) {
    const float *p = (const float *)((const char *)m->map + 28);
    size_t n = (m->map_size - 28) / 4;
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(p[i]) <= 16.0f)) return 0;
    return 1;
}

/* 1 if the forward succeeded; 0 if it refused non-finite values of a model that is not tame (the engine
 * must refuse them: issue 10); aborts on any other failure. */
static int forward_ok(int rc, const ll_model *m, const char *what) {
    if (rc == 0) return 1;
    if (!tame(m) && strstr(ll_errmsg(), "non-finite value")) return 0;
    fprintf(stderr, "ll_engine_forward (%s) failed: %s\n", what, ll_errmsg());
    abort();
}

static void run_forward(ll_model *m, const uint8_t *data, size_t size) {
    int V = m->n_vocab;
    int T = m->n_ctx_train >= 2 ? 2 : 1;
    int32_t tok[2];
    tok[0] = (int32_t)(data[size - 1] % (unsigned)V);
    tok[1] = (int32_t)(V - 1 - (int)(data[size - 2] % (unsigned)V));
    float *logits = malloc((size_t)T * (size_t)V * sizeof *logits);
    if (!logits) abort();

    ll_engine_opts ox = {.n_ctx = T, .n_threads = 1, .exact = true};
    ll_engine *e = ll_engine_new(m, NULL, &ox);
    if (!e) {
        fprintf(stderr, "ll_engine_new (exact) failed on a model that opened: %s\n", ll_errmsg());
        abort();
    }
    if (!forward_ok(ll_engine_forward(e, tok, T, 0, logits, LL_LOGITS_ALL), m, "exact")) {
        ll_engine_free(e);
        free(logits);
        return;
    }
    if (tame(m)) {
        for (size_t i = 0; i < (size_t)T * (size_t)V; i++) {
            if (!isfinite(logits[i])) {
                fprintf(stderr, "exact logits[%zu] = %g is not finite although every weight is in [-16, 16]\n", i,
                        (double)logits[i]);
                abort();
            }
        }
    }
    for (size_t i = 0; i < (size_t)T * (size_t)V; i++) sink += (uint64_t)(isnan(logits[i]) ? 1 : 0);
    ll_engine_free(e);

    /* default mode, one token at a time through the KV cache */
    ll_engine_opts od = {.n_ctx = T, .n_threads = 1, .exact = false};
    if (!(e = ll_engine_new(m, NULL, &od))) {
        fprintf(stderr, "ll_engine_new (default) failed on a model that opened: %s\n", ll_errmsg());
        abort();
    }
    for (int t = 0; t < T; t++) {
        if (!forward_ok(ll_engine_forward(e, &tok[t], 1, t, logits, LL_LOGITS_LAST), m, "default, one token")) {
            ll_engine_free(e);
            free(logits);
            return;
        }
    }
    sink += (uint64_t)(isnan(logits[V - 1]) ? 1 : 0);
    /* a position past the context must be refused, not written */
    ll_clear_error();
    if (ll_engine_forward(e, tok, 1, T, logits, LL_LOGITS_LAST) == 0) abort();
    check_error("forward past the context");
    ll_engine_free(e);
    free(logits);
}

static void open_one(const uint8_t *data, size_t size) {
    put_file(data, size);

    ll_clear_error();
    ll_model *v = ll_model_open_vocab(mpath, NULL);
    if (!v) check_error("ll_model_open_vocab");

    ll_clear_error();
    ll_model *m = ll_model_open(mpath, NULL);
    if (!m) {
        check_error("ll_model_open");
        if (v) {
            fprintf(stderr, "ll_model_open failed (%s) but ll_model_open_vocab succeeded\n", ll_errmsg());
            abort();
        }
        return;
    }
    if (!v || v->n_embd != m->n_embd || v->n_layer != m->n_layer || v->n_vocab != m->n_vocab ||
        v->n_params != m->n_params) {
        fprintf(stderr, "ll_model_open_vocab disagrees with ll_model_open\n");
        abort();
    }
    ll_model_free(v);
    if (m->tok) abort();   /* no tokenizer was given */
    check_bindings(m);
    if (strlen(ll_model_sha256(m)) != 64) abort();
    if (m->n_params < 1000000 && size >= 2) run_forward(m, data, size);
    ll_model_free(m);
}

/* The file size the header implies (llama2.c run.c layout), or 0 if the header is not usable. */
static size_t implied_size(const uint8_t *data, size_t size) {
    if (size < 28) return 0;
    int32_t c[7];
    memcpy(c, data, sizeof c);
    double D = c[0], F = c[1], L = c[2], H = c[3], KVH = c[4], V = c[5] < 0 ? -(double)c[5] : c[5], S = c[6];
    if (D < 1 || F < 1 || L < 1 || H < 1 || KVH < 1 || V < 1 || S < 1 || c[0] % c[3]) return 0;
    double hd = D / H, KV = KVH * hd;
    double floats = V * D + L * D + L * D * D + 2 * L * KV * D + L * D * D + L * D + 3 * L * F * D + D + S * hd +
                    (c[5] < 0 ? V * D : 0);
    double bytes = 28 + 4 * floats;
    return bytes <= 65536 ? (size_t)bytes : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size >= 4 && memcmp(data, "GGUF", 4) == 0) return 0;   /* fuzz_gguf's input */
    open_one(data, size);
    /* Most mutations break the size the header implies. When that size is small, also try the input
     * resized to it (the body repeated, or zeros), so that many header variants reach the engine. */
    size_t want = implied_size(data, size);
    if (want && want != size) {
        uint8_t *b = malloc(want);
        if (!b) abort();
        memcpy(b, data, 28);
        size_t body = size - 28;
        for (size_t i = 28; i < want; i++) b[i] = body ? data[28 + (i - 28) % body] : 0;
        open_one(b, want);
        free(b);
    }
    return 0;
}
