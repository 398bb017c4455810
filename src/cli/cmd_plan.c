/* cmd_plan.c — `layerlab plan`: the resolved order of a plan, without running anything. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model/model.h"
#include "plan/plan.h"
#include "run/engine.h"

static const char *USAGE =
    "usage: layerlab plan (MODEL | --layers L) --plan SPEC [--json]\n"
    "Prints the order the plan resolves to (a parallel group as [a,b,...]) and the number of layer passes.\n"
    "SPEC: a preset (full, skip:s, middle_repeat:s, reverse:s, random:s:seed, parallel:s,\n"
    "looped_parallel:s:k, skip_one:i, switch:i, repeat_each:s:r, repeat_block:s:r) or a list such as\n"
    "0-3,[4,5-7]*2,8*3,9-11 (see docs/PLANS.md).\n";

int cmd_plan(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    long long layers = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "--layers")) { if (!(v = cli_value(argc, argv, &i)) || cli_parse_int(a, v, 1, 1 << 16, &layers)) return 1; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("plan: unknown option '%s'\n%s", a, USAGE);
    }
    if (!c.plan) return cli_error("plan: --plan SPEC is required\n%s", USAGE);
    ll_model *m = NULL;
    if (!layers) {
        if (!(m = cli_open_model(&c, true))) return 1;
        layers = m->n_layer;
        if (!layers) { ll_model_free(m); return cli_error("plan: %s has no layers", c.model); }
    }
    ll_order o;
    if (ll_plan_parse(c.plan, (int)layers, &o)) {
        ll_model_free(m);
        return cli_lib_error();
    }
    int rc = 0;
    if (c.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "plan", c.plan);
        cJSON_AddNumberToObject(j, "n_layer", (double)layers);
        cJSON *ord = cJSON_AddArrayToObject(j, "order");
        for (int i = 0; i < o.n_entries; i++) {
            if (o.entries[i].n == 1) {
                cJSON_AddItemToArray(ord, cJSON_CreateNumber(o.entries[i].layers[0]));
            } else {
                cJSON_AddItemToArray(ord, cJSON_CreateIntArray(o.entries[i].layers, o.entries[i].n));
            }
        }
        cJSON_AddNumberToObject(j, "entries", o.n_entries);
        cJSON_AddNumberToObject(j, "passes", o.n_passes);
        if (m) cli_provenance(j, m, cli_bos(&c, m), -1, -1);
        rc = cli_print_json(j);
    } else {
        for (int i = 0; i < o.n_entries; i++) {
            if (i) putchar(',');
            if (o.entries[i].n == 1) {
                printf("%d", o.entries[i].layers[0]);
            } else {
                putchar('[');
                for (int k = 0; k < o.entries[i].n; k++) printf(k ? ",%d" : "%d", o.entries[i].layers[k]);
                putchar(']');
            }
        }
        printf("\nentries %d, passes %d\n", o.n_entries, o.n_passes);
    }
    ll_order_free(&o);
    ll_model_free(m);
    return rc;
}
