/* cmd_export.c — `layerlab export MODEL --plan SPEC -o OUT.gguf`: a plan without parallel groups as a
 * new GGUF whose block i holds the weights of the layer the plan runs at position i (mergekit's
 * "passthrough"). Every other key and tensor is copied; llama.block_count is updated; the plan, the
 * resolved order and the source's sha256 are recorded under layerlab.*. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io/gguf.h"
#include "model/model.h"
#include "plan/plan.h"
#include "run/engine.h"
#include "util/err.h"

static const char *USAGE =
    "usage: layerlab export MODEL.gguf --plan SPEC -o OUT.gguf\n"
    "Writes the plan (no parallel groups) as a GGUF that runs it with the plan 'full': block i holds the\n"
    "weights of the plan's i-th layer. The source plan and order are recorded in layerlab.plan and\n"
    "layerlab.order.\n";

/* "blk.N.rest" -> N and the offset of "rest"; 0 if the name is not a block tensor. */
static int block_of(const char *name, int *layer, size_t *rest) {
    if (strncmp(name, "blk.", 4) != 0) return 0;
    char *end;
    long v = strtol(name + 4, &end, 10);
    if (end == name + 4 || *end != '.' || v < 0 || v > 1 << 20) return 0;
    *layer = (int)v;
    *rest = (size_t)(end + 1 - name);
    return 1;
}

int cmd_export(int argc, char **argv) {
    cli_common c;
    cli_common_init(&c);
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "-o") || !strcmp(a, "--out")) { if (!(out = cli_out_value(argc, argv, &i))) return 1; continue; }
        int r = cli_common_arg(&c, argc, argv, &i);
        if (r < 0) return 1;
        if (r == 0) return cli_error("export: unknown option '%s'\n%s", a, USAGE);
    }
    if (!out) return cli_error("export: -o OUT.gguf is required\n%s", USAGE);
    if (!c.plan) return cli_error("export: --plan SPEC is required\n%s", USAGE);
    ll_model *m = cli_open_model(&c, false);
    if (!m) return 1;
    int rc = 1;
    ll_order o = {0, NULL, 0};
    ll_gguf_writer *w = NULL;
    int32_t *order = NULL;
    if (m->format != LL_FORMAT_GGUF) {
        cli_error("export: %s is a llama2.c checkpoint; convert it to GGUF first (layerlab convert)", c.model);
        goto done;
    }
    if (ll_plan_parse(c.plan, m->n_layer, &o)) { cli_lib_error(); goto done; }
    for (int i = 0; i < o.n_entries; i++)
        if (o.entries[i].n != 1) {
            cli_error("export: plan '%s' has a parallel group at entry %d; a GGUF can only hold a sequence of layers", c.plan, i);
            goto done;
        }
    const ll_gguf *g = m->gguf;
    if (!(w = ll_gguf_writer_new())) { cli_lib_error(); goto done; }
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (ll_gguf_writer_set(w, g->kv[i].key.s, &g->kv[i].val)) { cli_lib_error(); goto done; }
    order = malloc((size_t)o.n_entries * sizeof *order);
    if (!order) { cli_error("out of memory"); goto done; }
    for (int i = 0; i < o.n_entries; i++) order[i] = o.entries[i].layers[0];
    if (ll_gguf_writer_set_u32(w, "llama.block_count", (uint32_t)o.n_entries) ||
        ll_gguf_writer_set_str(w, "layerlab.plan", c.plan) ||
        ll_gguf_writer_set_arr(w, "layerlab.order", LL_GGUF_INT32, order, (uint64_t)o.n_entries) ||
        ll_gguf_writer_set_str(w, "layerlab.source_sha256", ll_model_sha256(m))) {
        cli_lib_error();
        goto done;
    }
    /* non-block tensors first, in file order; then block i = the tensors of layer order[i] */
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const ll_gguf_tensor *t = &g->tensors[i];
        int l;
        size_t rest;
        if (block_of(t->name.s, &l, &rest)) continue;
        if (ll_gguf_writer_add_tensor(w, t->name.s, t->type, t->n_dims, t->ne, t->data, t->nbytes)) { cli_lib_error(); goto done; }
    }
    for (int p = 0; p < o.n_entries; p++) {
        for (uint64_t i = 0; i < g->n_tensors; i++) {
            const ll_gguf_tensor *t = &g->tensors[i];
            int l;
            size_t rest;
            if (!block_of(t->name.s, &l, &rest) || l != order[p]) continue;
            char name[256];
            snprintf(name, sizeof name, "blk.%d.%s", p, t->name.s + rest);
            if (ll_gguf_writer_add_tensor(w, name, t->type, t->n_dims, t->ne, t->data, t->nbytes)) { cli_lib_error(); goto done; }
        }
    }
    if (ll_gguf_writer_write(w, out)) { cli_lib_error(); goto done; }
    fprintf(stderr, "layerlab: wrote %s (%d blocks from plan '%s')\n", out, o.n_entries, c.plan);
    rc = 0;
done:
    free(order);
    ll_gguf_writer_free(w);
    ll_order_free(&o);
    ll_model_free(m);
    return rc;
}
