/* cmd_embed.c — `layerlab embed`: sentence embeddings (pooled final hidden states) as .npy. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io/npy.h"
#include "model/model.h"
#include "plan/plan.h"
#include "run/embed.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"

static const char *USAGE =
    "usage: layerlab embed MODEL (--text STR | --file F | --ids \"1 2 3\") --out FILE.npy\n"
    "                      [--pool mean|cls|none] [--normalize|--no-normalize] [--max-len N]\n"
    "                      [--plan SPEC] [--exact|--llamacpp] [--threads N]\n"
    "Writes float32 embeddings [n_texts, n_embd]: each text's final hidden states (an encoder's last layer, a\n"
    "decoder's final norm) pooled over its tokens. MODEL: a GGUF file or a Hugging Face directory (config.json +\n"
    "model.safetensors + tokenizer.json; sentence-transformers' 1_Pooling, max_seq_length and Normalize are\n"
    "honoured). --file has one text per line (empty lines are skipped). BERT texts run as [CLS] text [SEP],\n"
    "truncated to --max-len tokens (default: max_seq_length, else the model's context).\n"
    "--pool: mean (default unless the model says cls) or cls (the first token); none writes the hidden states\n"
    "[T, n_embd] of one text or of --ids (token ids run as given, no special tokens added).\n"
    "--normalize / --no-normalize: L2-normalise each embedding (default: as the model's modules.json says).\n";

int cmd_embed(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    const char *text = NULL, *file = NULL, *ids_s = NULL, *out = NULL, *pool_s = NULL;
    int normalize = -1;
    long long max_len = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "--text")) { if (!(text = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--file")) { if (!(file = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--ids")) { if (!(ids_s = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--pool")) { if (!(pool_s = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--normalize")) { normalize = 1; continue; }
        if (!strcmp(a, "--no-normalize")) { normalize = 0; continue; }
        if (!strcmp(a, "--max-len")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v || cli_parse_int("--max-len", v, 1, 1 << 24, &max_len)) return 1;
            continue;
        }
        if (!strcmp(a, "--out") || !strcmp(a, "-o")) { if (!(out = cli_out_value(argc, argv, &i))) return 1; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("embed: unknown option '%s'\n%s", a, USAGE);
    }
    if ((text != NULL) + (file != NULL) + (ids_s != NULL) != 1) return cli_error("embed: give exactly one of --text, --file, --ids");
    if (!out) return cli_error("embed: --out FILE.npy is required");
    int pool = -1;
    if (pool_s) {
        if (!strcmp(pool_s, "mean")) pool = LL_POOL_MEAN;
        else if (!strcmp(pool_s, "cls")) pool = LL_POOL_CLS;
        else if (!strcmp(pool_s, "none")) pool = LL_POOL_NONE;
        else return cli_error("embed: --pool must be mean, cls or none (got '%s')", pool_s);
    }
    ll_model *m = cli_open_model(&c, false);
    if (!m) return 1;
    int rc = 1;
    char *buf = NULL;
    const char **texts = NULL;
    int n_texts = 0;
    int32_t *ids = NULL;
    float *hidden = NULL, *vec = NULL;
    ll_engine *e = NULL;
    ll_order order = {0, NULL, 0};
    ll_embed_result res = {0};
    if (c.plan && ll_plan_parse(c.plan, m->n_layer, &order)) { cli_lib_error(); goto done; }
    if (file) {   /* one text per line */
        size_t len;
        if (!(buf = cli_read_file(file, &len))) goto done;
        size_t cap = 0;
        for (char *s = buf; s && *s;) {
            char *nl = strchr(s, '\n');
            if (nl) *nl = 0;
            size_t l = strlen(s);
            if (l && s[l - 1] == '\r') s[--l] = 0;
            if (l) {
                if ((size_t)n_texts == cap) {
                    cap = cap ? 2 * cap : 256;
                    const char **t = realloc(texts, cap * sizeof *t);
                    if (!t) { cli_error("out of memory"); goto done; }
                    texts = t;
                }
                texts[n_texts++] = s;
            }
            s = nl ? nl + 1 : NULL;
        }
        if (!n_texts) { cli_error("embed: %s has no text lines", file); goto done; }
    } else if (text) {
        if (!(texts = malloc(sizeof *texts))) goto done;
        texts[0] = text;
        n_texts = 1;
    }
    if (ids_s || pool == LL_POOL_NONE) {   /* one sequence: its hidden states, pooled or not */
        size_t n = 0;
        int T = 0;
        if (ids_s) {
            if (cli_parse_ids(ids_s, &ids, &n)) goto done;
            T = (int)n;
        } else {
            if (n_texts != 1) { cli_error("embed: --pool none takes one text (or --ids)"); goto done; }
            if (ll_embed_ids(m, texts[0], (int)max_len, &ids, &T, NULL)) { cli_lib_error(); goto done; }
        }
        if (T < 1 || T > m->n_ctx_train) { cli_error("embed: %d tokens; the model's context is %d", T, m->n_ctx_train); goto done; }
        if (!(e = cli_engine(&c, m, T))) goto done;
        if (!(hidden = malloc((size_t)T * m->n_embd * sizeof *hidden))) { cli_error("out of memory"); goto done; }
        if (ll_engine_forward_hidden(e, ids, T, 0, hidden)) { cli_lib_error(); goto done; }
        int64_t shape[2] = {pool == LL_POOL_NONE ? T : 1, m->n_embd};
        const float *data = hidden;
        if (pool != LL_POOL_NONE) {
            if (!(vec = malloc((size_t)m->n_embd * sizeof *vec))) { cli_error("out of memory"); goto done; }
            int p = pool >= 0 ? pool : m->pooling != LL_POOL_NONE ? m->pooling : LL_POOL_MEAN;
            ll_embed_pool(hidden, T, m->n_embd, p, normalize >= 0 ? normalize == 1 : m->pool_normalize, vec);
            data = vec;
        }
        if (ll_npy_write(out, "<f4", shape, 2, data)) { cli_lib_error(); goto done; }
        fprintf(stderr, "layerlab: wrote %s [%lld, %d] to %s\n", pool == LL_POOL_NONE ? "hidden states" : "embedding",
                (long long)shape[0], m->n_embd, out);
        rc = 0;
        goto done;
    }
    ll_embed_opts o = ll_embed_default_opts();
    o.pool = pool;
    o.normalize = normalize;
    o.max_len = (int)max_len;
    o.order = c.plan ? &order : NULL;
    o.exact = c.exact;
    o.n_threads = c.threads;
    cli_progress pg;
    cli_progress_start(&pg, "embed", n_texts, NULL);
    o.progress = cli_progress_cb;
    o.progress_ctx = &pg;
    if (ll_embed_texts(m, texts, n_texts, &o, &res)) { cli_progress_stop(&pg); cli_lib_error(); goto done; }
    int64_t shape[2] = {res.n, res.dim};
    if (ll_npy_write(out, "<f4", shape, 2, res.vec)) { cli_lib_error(); goto done; }
    fprintf(stderr, "layerlab: wrote %d embeddings of %d (%s pooling%s%s) to %s\n", res.n, res.dim,
            res.pool == LL_POOL_CLS ? "cls" : "mean", res.normalized ? ", normalized" : "",
            res.n_truncated ? ", some texts truncated" : "", out);
    rc = 0;
done:
    ll_embed_result_free(&res);
    ll_order_free(&order);
    ll_engine_free(e);
    free(hidden);
    free(vec);
    free(ids);
    free(texts);
    free(buf);
    ll_model_free(m);
    return rc;
}
