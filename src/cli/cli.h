/* cli.h — what the subcommands share: option parsing, model opening, JSON provenance. */
#ifndef LL_CLI_H
#define LL_CLI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

struct ll_model;

/* Each subcommand: argv[0] is the subcommand name. Returns the process exit code. */
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_glue(int argc, char **argv);
int cmd_ppl(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_tensor(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_regions_bound(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_study(int argc, char **argv);
int cmd_study_geometry(int argc, char **argv);   /* study geometry (cmd_geometry.c) */
/* `probe intrinsic-dim --input X.npy` (cmd_idim.c), and the report shared with the model path. */
int cmd_probe_idim(int argc, char **argv);
int idim_report(const double *X, long long N, long long D, int k, double alpha, const char *source, bool json,
                const char *out_path, cJSON *extra);

/* Prints "layerlab: " + message to stderr and returns 1. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "layerlab: " + ll_errmsg() and returns 1. */
int cli_lib_error(void);

/* The value after option argv[*i] (advancing *i), or NULL after printing an error. */
const char *cli_value(int argc, char **argv, int *i);
/* The value of an output-path option, checked at once (absent or a regular file: files.h), so a bad
 * --out fails before the work; NULL after printing an error. */
const char *cli_out_value(int argc, char **argv, int *i);
/* Strict number parsing of a whole string within [lo, hi]; prints an error naming opt, returns -1. */
int cli_parse_int(const char *opt, const char *s, long long lo, long long hi, long long *out);
int cli_parse_float(const char *opt, const char *s, double lo, double hi, double *out);

/* Options every model-running command takes. */
typedef struct {
    const char *model;       /* positional MODEL */
    const char *tokenizer;   /* --tokenizer TOK.bin (llama2.c) */
    int threads;             /* --threads N (default 2) */
    bool exact;              /* true (default, --exact): fp32 activations x dequantized weights;
                                false (--llamacpp): llama.cpp's numerics (quantized activations, fp16 KV) */
    int bos;                 /* --bos 1 / --no-bos 0 / -1 = the model's rule */
    bool json;               /* --json */
    const char *plan;        /* --plan SPEC (NULL = full) */
    bool parallel_kv_mean;   /* --parallel-kv mean */
} cli_common;

void cli_common_init(cli_common *c);
/* Consumes argv[*i] if it is a common option (returns 1), or the first positional as the model
 * (returns 1); 0 if not consumed; -1 after printing an error. */
int cli_common_arg(cli_common *c, int argc, char **argv, int *i);
/* Opens c->model (weights bound unless vocab_only); NULL after printing the error. */
struct ll_model *cli_open_model(const cli_common *c, bool vocab_only);
/* The engine for c's plan and compute mode over n_ctx positions; NULL after printing the error. */
struct ll_engine *cli_engine(const cli_common *c, struct ll_model *m, int n_ctx);

/* The BOS decision for this model under the options. */
bool cli_bos(const cli_common *c, const struct ll_model *m);

/* Reads a whole file (binary-safe), NUL-terminated; NULL after printing an error. */
char *cli_read_file(const char *path, size_t *len);
/* The token ids of a text file (special tokens as plain text), BOS first when bos, cut to max_tokens when
 * > 0: what `ppl` and `eval --task ppl` score. -1 after printing an error (no tokenizer, unreadable file). */
int cli_text_ids(const cli_common *c, struct ll_model *m, const char *file, long long max_tokens, bool bos, int32_t **ids,
                 size_t *n);
/* Parses "1 2 3" (spaces/commas) into ids; -1 after printing an error. */
int cli_parse_ids(const char *s, int32_t **ids, size_t *n);

/* Adds a "provenance" object: tool, version, model path, model_sha256, bos, n_ctx, n_tokens. */
void cli_provenance(cJSON *obj, struct ll_model *m, bool bos, long long n_ctx, long long n_tokens);
/* Prints a perplexity result: text lines, or JSON (head's keys first, then tokens_scored, mean_nll, ppl,
 * ctx, windows, file, plan when non-NULL, provenance). Takes head (may be NULL). Returns 0 or 1. */
int cli_print_ppl(cJSON *head, bool json, long long scored, double mean_nll, int ctx, long long windows,
                  const char *file, const char *plan, struct ll_model *m, bool bos, long long n_tokens);
/* The files benchmark task `task` reads (cmd names the command in messages): *data_out = data, else
 * $LAYERLAB_DATA/<file>, else <dir of the executable>/../../shared/data/<file>; for gsm8k *fewshot_out =
 * fewshot, else gsm8k_train.jsonl beside the data (NULL for other tasks). Unknown task, or a default
 * file that cannot be read: prints the error, returns -1. Caller frees both. */
int cli_task_files(const char *cmd, const char *task, const char *data, const char *fewshot, char **data_out,
                   char **fewshot_out);
/* Progress on stderr: "label [#####.....] 120/2376  5.1 it/s  ETA 7m22s  extra  (item 121: layer 12/30)".
 * On a terminal the line is redrawn (\r) at most every 0.2 s; elsewhere (a file, a pipe) a whole line is
 * written at most every 5 s, so logs stay readable. With an engine, the position inside the current item
 * (entries of the forward done) is shown too, so a long item does not look like a hang. */
typedef struct {
    const char *label;
    long total, done, base;   /* base: done at the first update, left out of the rate */
    double t0, last;
    bool tty, drawn, ended, updated;
    int sub_done, sub_total;
    struct ll_engine *engine;
    char extra[128];
} cli_progress;
void cli_progress_start(cli_progress *p, const char *label, long total, struct ll_engine *e);
/* done items so far; extra (may be NULL) is appended. The last update (done == total) ends the line and
 * detaches the engine. */
void cli_progress_update(cli_progress *p, long done, const char *extra);
/* The same as library callbacks (ctx = the cli_progress): items done, and entries of the current forward. */
void cli_progress_cb(void *ctx, long done, long total, const char *extra);
void cli_progress_layer_cb(void *ctx, int done, int total);
/* A study's progress: starts p (labelled) and, unless quiet, points the library's three progress fields at it. */
void cli_progress_study(cli_progress *p, const char *label, bool quiet,
                        void (**progress)(void *, long, long, const char *), void (**layer)(void *, int, int), void **ctx);
/* Ends the progress early (an error): finishes the line, detaches the engine. */
void cli_progress_stop(cli_progress *p);

/* Monotonic clock in seconds. */
double cli_now(void);
/* Prints JSON to stdout (pretty) and frees it; returns 0 or 1. */
int cli_print_json(cJSON *obj);

#endif
