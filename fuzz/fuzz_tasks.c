/* fuzz_tasks.c — libFuzzer target for the benchmark task readers (src/eval/tasks.c).
 *
 * The first input byte picks the task (arc_easy, arc_challenge, hellaswag, winogrande, lambada_openai,
 * piqa, boolq, gsm8k: byte % 8); the rest is the data file's bytes: JSON lines, or for hellaswag
 * llama.cpp's 6-lines-per-task text. Parsing must succeed or fail with a message; what it returns must
 * hold together: at least one item, every request with a context and a continuation, a multiple-choice
 * gold index inside its choices, one request per choice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "util/err.h"

static void check(const ll_eval_task *t) {
    if (t->n_items < 1) abort();
    for (int i = 0; i < t->n_items; i++) {
        const ll_eval_item *it = &t->items[i];
        if (it->line < 1) abort();
        for (int r = 0; r < it->n_req; r++)
            if (!it->req[r].ctx || !it->req[r].cont) abort();
        if (t->kind == LL_EVAL_MC) {
            if (it->n_choices < 1 || it->gold < 0 || it->gold >= it->n_choices || it->n_req != it->n_choices) abort();
            for (int c = 0; c < it->n_choices; c++)
                if (!it->choices[c]) abort();
        }
        if (t->kind == LL_EVAL_GEN && (!it->question || !it->target)) abort();
        if (t->kind == LL_EVAL_LOGLIK && !it->target) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *task = ll_eval_task_names[data[0] % 8];
    size_t n = size - 1;
    char *buf = malloc(n + 1);
    if (!buf) return 0;
    memcpy(buf, data + 1, n);
    buf[n] = 0;
    ll_eval_task t;
    if (ll_eval_parse(task, "fuzz", buf, n, &t) == 0) {
        check(&t);
        ll_eval_task_free(&t);
    } else if (!ll_errmsg()[0]) {
        abort();   /* a failure always says why */
    }
    ll_clear_error();
    free(buf);
    return 0;
}
