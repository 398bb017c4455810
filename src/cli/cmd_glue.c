/* cmd_glue.c — `layerlab glue`: the Painters paper's frozen-encoder probe (A.9) on SST-2, 5-fold CV. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io/json.h"
#include "model/model.h"
#include "plan/plan.h"
#include "study/glue.h"

static const char *USAGE =
    "usage: layerlab glue MODEL --task sst2 --data F [--plan SPEC] [--limit N] [--folds K] [--seed S]\n"
    "                     [--pool mean|cls] [--normalize|--no-normalize] [--lr X] [--epochs N] [--batch N]\n"
    "                     [--exact|--llamacpp] [--threads N] [--json]\n"
    "The frozen-encoder protocol of 'Transformer Layers as Painters' (appendix A.9): every sentence's pooled\n"
    "output under the plan is a fixed feature vector and only a linear classifier is trained on it, as\n"
    "run_glue.py trains BertForSequenceClassification's head with everything else frozen: cross-entropy, AdamW\n"
    "(lr 3e-2, betas 0.9/0.999, eps 1e-8, no weight decay), batch 32, 3 epochs, the rate decaying linearly to 0,\n"
    "weights N(0, 0.02^2), dropout 0.1 on the features. Pooling: the model's (sentence-transformers' config;\n"
    "BERT's tanh pooler is not loaded), else mean. SST-2's dev set (GLUE's sst2 dev.tsv, F) is the only GLUE\n"
    "data at hand, so the score is stratified K-fold (default 5) cross-validated accuracy on it.\n";

int cmd_glue(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    const char *task = NULL, *data = NULL, *pool_s = NULL;
    long long limit = 0, folds = 5, seed = -1, epochs = -1, batch = -1;
    double lr = -1;
    int normalize = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "--task")) { if (!(task = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--data")) { if (!(data = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--pool")) { if (!(pool_s = cli_value(argc, argv, &i))) return 1; continue; }
        if (!strcmp(a, "--normalize")) { normalize = 1; continue; }
        if (!strcmp(a, "--no-normalize")) { normalize = 0; continue; }
        if (!strcmp(a, "--limit")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 1 << 30, &limit)) return 1; continue; }
        if (!strcmp(a, "--folds")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 2, 100, &folds)) return 1; continue; }
        if (!strcmp(a, "--seed")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 0, (1LL << 62), &seed)) return 1; continue; }
        if (!strcmp(a, "--epochs")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 100000, &epochs)) return 1; continue; }
        if (!strcmp(a, "--batch")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 1 << 20, &batch)) return 1; continue; }
        if (!strcmp(a, "--lr")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_float(a, v, 1e-12, 100, &lr)) return 1; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("glue: unknown option '%s'\n%s", a, USAGE);
    }
    if (!task || !data) return cli_error("glue: --task sst2 and --data F are required\n%s", USAGE);
    ll_glue_opts o = ll_glue_default_opts();
    if (pool_s) {
        if (!strcmp(pool_s, "mean")) o.embed.pool = LL_POOL_MEAN;
        else if (!strcmp(pool_s, "cls")) o.embed.pool = LL_POOL_CLS;
        else return cli_error("glue: --pool must be mean or cls (got '%s')", pool_s);
    }
    o.embed.normalize = normalize;
    o.embed.exact = c.exact;
    o.embed.n_threads = c.threads;
    o.probe.folds = (int)folds;
    if (seed >= 0) o.probe.seed = (uint64_t)seed;
    if (epochs > 0) o.probe.epochs = (int)epochs;
    if (batch > 0) o.probe.batch_size = (int)batch;
    if (lr > 0) o.probe.lr = lr;
    ll_glue_data d;
    if (ll_glue_load(task, data, (int)limit, &d)) return cli_lib_error();
    ll_model *m = cli_open_model(&c, false);
    if (!m) { ll_glue_data_free(&d); return 1; }
    int rc = 1;
    ll_order order = {0, NULL, 0};
    ll_glue_result r;
    memset(&r, 0, sizeof r);
    if (c.plan && ll_plan_parse(c.plan, m->n_layer, &order)) { cli_lib_error(); goto done; }
    o.embed.order = c.plan ? &order : NULL;
    cli_progress pg;
    cli_progress_start(&pg, "glue sst2 (embed)", d.n, NULL);
    o.embed.progress = cli_progress_cb;
    o.embed.progress_ctx = &pg;
    if (ll_glue_run(m, &d, &o, &r)) { cli_progress_stop(&pg); cli_lib_error(); goto done; }
    if (c.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "task", task);
        cJSON_AddStringToObject(j, "data", data);
        cJSON_AddStringToObject(j, "plan", c.plan ? c.plan : "full");
        cJSON_AddNumberToObject(j, "n", r.n);
        cJSON_AddNumberToObject(j, "folds", r.cv.folds);
        cJSON_AddNumberToObject(j, "accuracy", r.cv.mean_acc);
        cJSON_AddNumberToObject(j, "accuracy_std", r.cv.std_acc);
        cJSON_AddNumberToObject(j, "accuracy_pooled", r.cv.pooled_acc);
        cJSON_AddItemToObject(j, "fold_accuracy", cJSON_CreateDoubleArray(r.cv.fold_acc, r.cv.folds));
        cJSON_AddNumberToObject(j, "majority_baseline", r.majority);
        cJSON_AddStringToObject(j, "pool", r.pool == LL_POOL_CLS ? "cls" : "mean");
        cJSON_AddBoolToObject(j, "normalized", r.normalized);
        cJSON *h = cJSON_AddObjectToObject(j, "head");
        cJSON_AddStringToObject(h, "optimizer", "AdamW (betas 0.9/0.999, eps 1e-8), linear decay to 0, no warm-up");
        cJSON_AddNumberToObject(h, "lr", o.probe.lr);
        cJSON_AddNumberToObject(h, "epochs", o.probe.epochs);
        cJSON_AddNumberToObject(h, "batch_size", o.probe.batch_size);
        cJSON_AddNumberToObject(h, "weight_decay", o.probe.weight_decay);
        cJSON_AddNumberToObject(h, "dropout", o.probe.dropout);
        cJSON_AddNumberToObject(h, "init_std", o.probe.init_std);
        cJSON_AddNumberToObject(h, "seed", (double)o.probe.seed);
        cli_provenance(j, m, false, 0, 0);
        rc = cli_print_json(j);
    } else {
        printf("task        %s (%s, %d sentences, %d-fold stratified CV)\n", task, data, r.n, r.cv.folds);
        printf("plan        %s\n", c.plan ? c.plan : "full");
        printf("features    %d-d %s-pooled%s\n", r.dim, r.pool == LL_POOL_CLS ? "cls" : "mean", r.normalized ? ", normalized" : "");
        printf("head        linear, AdamW lr %g, %d epochs, batch %d, dropout %g\n", o.probe.lr, o.probe.epochs,
               o.probe.batch_size, o.probe.dropout);
        printf("accuracy    %.4f +- %.4f (folds:", r.cv.mean_acc, r.cv.std_acc);
        for (int f = 0; f < r.cv.folds; f++) printf(" %.4f", r.cv.fold_acc[f]);
        printf(")\nmajority    %.4f\n", r.majority);
        rc = 0;
    }
done:
    ll_glue_result_free(&r);
    ll_order_free(&order);
    ll_glue_data_free(&d);
    ll_model_free(m);
    return rc;
}
