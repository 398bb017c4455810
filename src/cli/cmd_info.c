/* cmd_info.c — `layerlab info MODEL [--json]`. */
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "io/gguf.h"
#include "model/check.h"
#include "model/model.h"
#include "tensor/dtype.h"

static const char *USAGE =
    "usage: layerlab info MODEL [--tokenizer TOK.bin] [--json] [--check]\n"
    "Prints arch, n_layer, n_embd, n_head, n_head_kv, n_vocab, n_ctx, n_params and the tensor types with counts.\n"
    "--check  also dequantizes every tensor and names each one holding NaN or infinity (with counts and the\n"
    "         first flat index); exit code 1 if any does.\n";

int cmd_info(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(argv[i], "--check")) { check = true; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("info: unknown option '%s'\n%s", argv[i], USAGE);
    }
    ll_model *m = cli_open_model(&c, false);
    if (!m) return 1;
    int counts[LL_TYPE_COUNT] = {0};
    if (m->gguf) {
        for (uint64_t i = 0; i < m->gguf->n_tensors; i++)
            if (m->gguf->tensors[i].type < LL_TYPE_COUNT) counts[m->gguf->tensors[i].type]++;
    } else {
        counts[LL_TYPE_F32] = 3 + 9 * m->n_layer + (m->tied_output ? 0 : 1);
    }
    ll_check_report rep;
    memset(&rep, 0, sizeof rep);
    if (check) {
        ll_check_opts co;
        ll_check_opts_default(&co);
        if (ll_model_check_finite(m, &co, &rep)) { ll_model_free(m); return cli_lib_error(); }
    }
    int rc = 0;
    if (c.json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "arch", m->arch);
        cJSON_AddStringToObject(o, "format", m->format == LL_FORMAT_GGUF ? "gguf" : m->format == LL_FORMAT_HF ? "safetensors" : "llama2c");
        cJSON_AddNumberToObject(o, "n_layer", m->n_layer);
        cJSON_AddNumberToObject(o, "n_embd", m->n_embd);
        cJSON_AddNumberToObject(o, "n_head", m->n_head);
        cJSON_AddNumberToObject(o, "n_head_kv", m->n_head_kv);
        cJSON_AddNumberToObject(o, "n_vocab", m->n_vocab);
        cJSON_AddNumberToObject(o, "n_ctx", m->n_ctx_train);
        cJSON_AddNumberToObject(o, "n_params", (double)m->n_params);
        cJSON *tt = cJSON_AddObjectToObject(o, "tensor_types");
        for (int t = 0; t < LL_TYPE_COUNT; t++)
            if (counts[t]) cJSON_AddNumberToObject(tt, ll_type_name((uint32_t)t), counts[t]);
        if (check) {
            cJSON *ck = cJSON_AddObjectToObject(o, "check");
            cJSON_AddNumberToObject(ck, "tensors_checked", (double)rep.n_tensors);
            cJSON_AddNumberToObject(ck, "values_checked", (double)rep.n_values);
            cJSON_AddNumberToObject(ck, "tensors_unchecked", rep.n_unchecked);
            cJSON *bad = cJSON_AddArrayToObject(ck, "non_finite");
            for (int i = 0; i < rep.n_bad; i++) {
                cJSON *b = cJSON_CreateObject();
                cJSON_AddStringToObject(b, "tensor", rep.bad[i].name);
                cJSON_AddStringToObject(b, "type", rep.bad[i].type);
                cJSON_AddNumberToObject(b, "nan", (double)rep.bad[i].n_nan);
                cJSON_AddNumberToObject(b, "inf", (double)rep.bad[i].n_inf);
                cJSON_AddNumberToObject(b, "first_index", (double)rep.bad[i].first);
                cJSON_AddItemToArray(bad, b);
            }
        }
        cli_provenance(o, m, cli_bos(&c, m), m->n_ctx_train, -1);
        rc = cli_print_json(o);
    } else {
        printf("arch        %s (%s)\n", m->arch, m->format == LL_FORMAT_GGUF ? "gguf" : m->format == LL_FORMAT_HF ? "safetensors" : "llama2.c");
        printf("n_layer     %d\nn_embd      %d\nn_head      %d\nn_head_kv   %d\nn_ff        %d\n", m->n_layer,
               m->n_embd, m->n_head, m->n_head_kv, m->n_ff);
        printf("n_vocab     %d\nn_ctx       %d\nn_params    %lld\n", m->n_vocab, m->n_ctx_train, (long long)m->n_params);
        printf("rope        base %g, dims %d%s\n", m->rope_base, m->rope_dim, m->rope_factors ? ", llama3 factors" : "");
        printf("tensors    ");
        for (int t = 0; t < LL_TYPE_COUNT; t++)
            if (counts[t]) printf(" %s:%d", ll_type_name((uint32_t)t), counts[t]);
        printf("\n");
        if (check)
            printf("check       %lld tensors, %lld values: %s\n", (long long)rep.n_tensors, (long long)rep.n_values,
                   rep.n_bad ? "NOT all finite" : "all finite");
        for (int i = 0; i < rep.n_bad; i++)
            printf("  non-finite %s (%s): %lld NaN, %lld inf, first at flat index %lld\n", rep.bad[i].name,
                   rep.bad[i].type, (long long)rep.bad[i].n_nan, (long long)rep.bad[i].n_inf,
                   (long long)rep.bad[i].first);
    }
    if (rep.n_bad && !rc) {
        cli_error("info --check: %d tensor%s hold%s NaN or infinity, first %s", rep.n_bad, rep.n_bad > 1 ? "s" : "",
                  rep.n_bad > 1 ? "" : "s", rep.bad[0].name);
        rc = 1;
    }
    ll_check_report_free(&rep);
    ll_model_free(m);
    return rc;
}
