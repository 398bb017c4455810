/* common.c — option parsing and model opening shared by the subcommands. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "eval/eval.h"
#include "io/files.h"
#include "io/json.h"
#include "model/model.h"
#include "plan/plan.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"
#include "util/clock.h"
#include "util/err.h"

static bool g_progress_open;   /* a terminal progress line is drawn without its newline */

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (g_progress_open) fputc('\n', stderr);
    g_progress_open = false;
    fputs("layerlab: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_lib_error(void) { return cli_error("%s", ll_errmsg()); }

const char *cli_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        cli_error("option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

const char *cli_out_value(int argc, char **argv, int *i) {
    const char *opt = argv[*i], *v = cli_value(argc, argv, i);
    if (v && ll_out_check(v)) {
        cli_error("%s: %s", opt, ll_errmsg());
        return NULL;
    }
    return v;
}

int cli_parse_int(const char *opt, const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno) return cli_error("%s: expected an integer, got '%s'", opt, s), -1;
    if (v < lo || v > hi) return cli_error("%s: %lld is out of range [%lld, %lld]", opt, v, lo, hi), -1;
    *out = v;
    return 0;
}

int cli_parse_float(const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v)) return cli_error("%s: expected a number, got '%s'", opt, s), -1;
    if (v < lo || v > hi) return cli_error("%s: %g is out of range [%g, %g]", opt, v, lo, hi), -1;
    *out = v;
    return 0;
}

void cli_common_init(cli_common *c) {
    memset(c, 0, sizeof *c);
    c->threads = 2;
    c->exact = true;
    c->bos = -1;
}

int cli_common_arg(cli_common *c, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (!strcmp(a, "--tokenizer")) {
        if (!(c->tokenizer = cli_value(argc, argv, i))) return -1;
    } else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) {
        const char *v = cli_value(argc, argv, i);
        long long n;
        if (!v || cli_parse_int(a, v, 1, 256, &n)) return -1;
        c->threads = (int)n;
    } else if (!strcmp(a, "--exact")) {
        c->exact = true;
    } else if (!strcmp(a, "--llamacpp")) {
        c->exact = false;
    } else if (!strcmp(a, "--plan")) {
        if (!(c->plan = cli_value(argc, argv, i))) return -1;
    } else if (!strcmp(a, "--parallel-kv")) {
        const char *v = cli_value(argc, argv, i);
        if (!v) return -1;
        if (!strcmp(v, "mean")) c->parallel_kv_mean = true;
        else if (!strcmp(v, "own")) c->parallel_kv_mean = false;
        else return cli_error("--parallel-kv: expected 'mean' or 'own', got '%s'", v), -1;
    } else if (!strcmp(a, "--bos")) {
        c->bos = 1;
    } else if (!strcmp(a, "--no-bos")) {
        c->bos = 0;
    } else if (!strcmp(a, "--json")) {
        c->json = true;
    } else if (a[0] != '-' && !c->model) {
        c->model = a;
    } else {
        return 0;
    }
    return 1;
}

ll_model *cli_open_model(const cli_common *c, bool vocab_only) {
    if (!c->model) {
        cli_error("no MODEL given (a .gguf file or a llama2.c checkpoint); see --help");
        return NULL;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (!vocab_only && cores > 0 && c->threads > cores)
        fprintf(stderr, "layerlab: warning: --threads %d is more than the %ld cores this machine has; the extra "
                "threads share cores and slow the run down\n", c->threads, cores);
    ll_model *m = vocab_only ? ll_model_open_vocab(c->model, c->tokenizer) : ll_model_open(c->model, c->tokenizer);
    if (!m) {
        cli_lib_error();
        return NULL;
    }
    return m;
}

ll_engine *cli_engine(const cli_common *c, ll_model *m, int n_ctx) {
    ll_order o = {0, NULL, 0};
    if (c->plan && ll_plan_parse(c->plan, m->n_layer, &o)) {
        cli_lib_error();
        return NULL;
    }
    ll_engine_opts eo = {.n_ctx = n_ctx, .n_threads = c->threads, .exact = c->exact,
                         .parallel_kv_mean = c->parallel_kv_mean};
    ll_engine *e = ll_engine_new(m, c->plan ? &o : NULL, &eo);
    ll_order_free(&o);
    if (!e) cli_lib_error();
    return e;
}

bool cli_bos(const cli_common *c, const ll_model *m) {
    if (c->bos >= 0) return c->bos == 1;
    return m->tok ? ll_tok_default_bos(m->tok) : true;
}

char *cli_read_file(const char *path, size_t *len) {
    size_t n;
    char *buf = ll_read_file(path, "input file", &n);
    if (!buf) {
        cli_lib_error();
        return NULL;
    }
    if (len) *len = n;
    return buf;
}

int cli_parse_ids(const char *s, int32_t **ids, size_t *n) {
    size_t cap = 16, k = 0;
    int32_t *v = malloc(cap * sizeof *v);
    if (!v) return cli_error("out of memory"), -1;
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t' || *p == '\r') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX) {
            free(v);
            return cli_error("--ids: bad token id at character %ld of '%.40s'", (long)(p - s) + 1, s), -1;
        }
        if (k == cap) {
            int32_t *nv = realloc(v, cap * 2 * sizeof *v);
            if (!nv) { free(v); return cli_error("out of memory"), -1; }
            v = nv;
            cap *= 2;
        }
        v[k++] = (int32_t)x;
        p = end;
    }
    *ids = v;
    *n = k;
    return 0;
}

void cli_provenance(cJSON *obj, ll_model *m, bool bos, long long n_ctx, long long n_tokens) {
    cJSON *p = cJSON_AddObjectToObject(obj, "provenance");
    cJSON_AddStringToObject(p, "tool", "layerlab");
    cJSON_AddStringToObject(p, "version", LAYERLAB_VERSION);
    cJSON_AddStringToObject(p, "model", m->path);
    cJSON_AddStringToObject(p, "model_sha256", ll_model_sha256(m));
    cJSON_AddBoolToObject(p, "bos", bos);
    if (n_ctx >= 0) cJSON_AddNumberToObject(p, "n_ctx", (double)n_ctx);
    else cJSON_AddNullToObject(p, "n_ctx");
    if (n_tokens >= 0) cJSON_AddNumberToObject(p, "n_tokens", (double)n_tokens);
    else cJSON_AddNullToObject(p, "n_tokens");
}

int cli_print_json(cJSON *obj) {
    char *s = ll_json_exact_numbers(obj) ? NULL : cJSON_Print(obj);
    cJSON_Delete(obj);
    if (!s) return cli_error("out of memory printing JSON");
    puts(s);
    free(s);
    return fflush(stdout) == 0 ? 0 : cli_error("error writing stdout");
}

double cli_now(void) { return ll_now(); }

int cli_print_ppl(cJSON *head, bool json, long long scored, double mean_nll, int ctx, long long windows,
                  const char *file, const char *plan, ll_model *m, bool bos, long long n_tokens) {
    if (!json) {
        cJSON_Delete(head);
        printf("tokens_scored %lld\nmean_nll %.6f\nppl %.4f\n", scored, mean_nll, exp(mean_nll));
        return 0;
    }
    cJSON *o = head ? head : cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "tokens_scored", (double)scored);
    cJSON_AddNumberToObject(o, "mean_nll", mean_nll);
    cJSON_AddNumberToObject(o, "ppl", exp(mean_nll));
    cJSON_AddNumberToObject(o, "ctx", ctx);
    cJSON_AddNumberToObject(o, "windows", (double)windows);
    cJSON_AddStringToObject(o, "file", file);
    if (plan) cJSON_AddStringToObject(o, "plan", plan);
    cli_provenance(o, m, bos, ctx, n_tokens);
    return cli_print_json(o);
}

/* the default data path of a file: $LAYERLAB_DATA/<file>, else <dir of the executable>/../../shared/data/<file> */
static char *default_data_path(const char *cmd, const char *file) {
    const char *env = getenv("LAYERLAB_DATA");
    char dir[PATH_MAX + 32];
    if (env && *env) {
        snprintf(dir, sizeof dir, "%s", env);
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) { cli_error("%s: cannot locate the executable to find the data; use --data or LAYERLAB_DATA", cmd); return NULL; }
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        snprintf(dir, sizeof dir, "%s/../../shared/data", exe);
    }
    size_t l = strlen(dir) + strlen(file) + 2;
    char *p = malloc(l);
    if (!p) { cli_error("out of memory"); return NULL; }
    snprintf(p, l, "%s/%s", dir, file);
    char real[PATH_MAX];
    if (access(p, R_OK) == 0 && realpath(p, real) && strlen(real) < l) strcpy(p, real);   /* no "build/../.." */
    if (access(p, R_OK) != 0) {
        cli_error("%s: cannot read '%s' (%s): the default data path is $LAYERLAB_DATA/%s, else "
                  "<dir of layerlab>/../../shared/data/%s; give --data FILE",
                  cmd, p, strerror(errno), file, file);
        free(p);
        return NULL;
    }
    return p;
}

int cli_task_files(const char *cmd, const char *task, const char *data, const char *fewshot, char **data_out,
                   char **fewshot_out) {
    *data_out = *fewshot_out = NULL;
    const char *file = ll_eval_default_file(task);
    if (!file) {
        char names[256] = "";
        for (int i = 0; ll_eval_task_names[i]; i++) {
            if (i) strncat(names, ", ", sizeof names - strlen(names) - 1);
            strncat(names, ll_eval_task_names[i], sizeof names - strlen(names) - 1);
        }
        return cli_error("%s: unknown task '%s' (tasks: %s%s)", cmd, task, names, strcmp(cmd, "eval") ? "" : ", ppl"), -1;
    }
    if (data) *data_out = ll_strndup(data, strlen(data));
    else if (!(*data_out = default_data_path(cmd, file))) return -1;
    if (!*data_out) return cli_error("out of memory"), -1;
    if (strcmp(task, "gsm8k")) return 0;
    if (fewshot) {
        *fewshot_out = ll_strndup(fewshot, strlen(fewshot));
    } else {   /* the train split beside the test file */
        const char *slash = strrchr(*data_out, '/');
        size_t dl = slash ? (size_t)(slash - *data_out + 1) : 0;
        if ((*fewshot_out = malloc(dl + 32))) {
            memcpy(*fewshot_out, *data_out, dl);
            strcpy(*fewshot_out + dl, "gsm8k_train.jsonl");
        }
    }
    if (!*fewshot_out) { free(*data_out); *data_out = NULL; return cli_error("out of memory"), -1; }
    return 0;
}

int cli_text_ids(const cli_common *c, struct ll_model *m, const char *file, long long max_tokens, bool bos, int32_t **ids,
                 size_t *n) {
    *ids = NULL;
    *n = 0;
    if (!m->tok) return cli_error("%s: a llama2.c checkpoint needs --tokenizer TOK.bin", c->model), -1;
    size_t len;
    char *text = cli_read_file(file, &len);
    if (!text) return -1;
    int rc = ll_tokenize(m->tok, text, len, bos, false, ids, n);
    free(text);
    if (rc) return cli_lib_error(), -1;
    if (max_tokens > 0 && (size_t)max_tokens < *n) *n = (size_t)max_tokens;
    return 0;
}

/* ---- progress ---- */

static void fmt_dur(char *b, size_t n, double s) {
    if (!isfinite(s) || s < 0) { snprintf(b, n, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(b, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(b, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(b, n, "%lds", t);
}

static void progress_draw(cli_progress *p, bool force) {
    double t = cli_now();
    bool end = p->done >= p->total;
    if (!force && !end && t - p->last < (p->tty ? 0.2 : 5.0)) return;
    if (end && !p->drawn && p->total <= 1) return;   /* one quick item: no progress line at all */
    if (end && p->ended) return;                     /* the final line once */
    p->ended = end;
    p->drawn = true;
    p->last = t;
    double el = t - p->t0, rate = el > 0 ? (double)(p->done - p->base) / el : 0;
    char eta[32], elapsed[32], sub[64] = "";
    fmt_dur(eta, sizeof eta, rate > 0 ? (double)(p->total - p->done) / rate : NAN);
    fmt_dur(elapsed, sizeof elapsed, el);
    enum { W = 24 };
    char bar[W + 1];
    int fill = p->total > 0 ? (int)((double)p->done / (double)p->total * W) : W;
    for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
    bar[W] = 0;
    if (!end && p->sub_total > 0)
        snprintf(sub, sizeof sub, "  (item %ld: layer %d/%d)", p->done + 1, p->sub_done, p->sub_total);
    fprintf(stderr, "%slayerlab: %s [%s] %ld/%ld  %.2f it/s  %s %s%s%s%s%s", p->tty ? "\r" : "", p->label, bar,
            p->done, p->total, rate, end ? "in" : "ETA", end ? elapsed : eta, p->extra[0] ? "  " : "", p->extra, sub,
            p->tty && !end ? "   " : "\n");
    g_progress_open = p->tty && !end;
}

void cli_progress_layer_cb(void *ctx, int done, int total) {
    cli_progress *p = ctx;
    p->sub_done = done;
    p->sub_total = total;
    progress_draw(p, false);
}

void cli_progress_start(cli_progress *p, const char *label, long total, struct ll_engine *e) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    p->t0 = p->last = cli_now();
    p->tty = isatty(2);
    p->engine = e;
    if (e) ll_engine_set_progress(e, cli_progress_layer_cb, p);
}

void cli_progress_update(cli_progress *p, long done, const char *extra) {
    if (!p->updated) p->base = done;   /* work done before this run (a resumed study): not in the rate */
    p->updated = true;
    p->done = done;
    p->sub_done = p->sub_total = 0;
    snprintf(p->extra, sizeof p->extra, "%s", extra ? extra : "");
    progress_draw(p, false);
    if (done >= p->total && p->engine) {
        ll_engine_set_progress(p->engine, NULL, NULL);
        p->engine = NULL;
    }
}

void cli_progress_cb(void *ctx, long done, long total, const char *extra) {
    cli_progress *p = ctx;
    p->total = total;
    cli_progress_update(p, done, extra);
}

void cli_progress_study(cli_progress *p, const char *label, bool quiet,
                        void (**progress)(void *, long, long, const char *), void (**layer)(void *, int, int), void **ctx) {
    cli_progress_start(p, label, 1, NULL);
    if (quiet) return;
    *progress = cli_progress_cb;
    *layer = cli_progress_layer_cb;
    *ctx = p;
}

void cli_progress_stop(cli_progress *p) {
    if (p->engine) ll_engine_set_progress(p->engine, NULL, NULL);
    p->engine = NULL;
    if (g_progress_open) fputc('\n', stderr);
    g_progress_open = false;
}
