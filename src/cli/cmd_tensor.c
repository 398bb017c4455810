/* cmd_tensor.c — `layerlab tensor FILE --list` and `layerlab tensor FILE NAME --out F.npy [--raw]`, FILE a GGUF or a
 * safetensors file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io/files.h"
#include "io/gguf.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "tensor/dtype.h"
#include "util/err.h"

static const char *USAGE =
    "usage: layerlab tensor FILE --list\n"
    "       layerlab tensor FILE NAME --out FILE.npy [--raw]\n"
    "FILE: a GGUF file, or a safetensors file (told apart by their first bytes).\n"
    "--list prints one line per tensor: name, type, shape (tab-separated; the shape as numpy sees the .npy:\n"
    "ggml's ne reversed, e.g. 49152x576 for ne = [576, 49152]).\n"
    "--out writes tensor NAME dequantized to float32 with that shape, bit for bit what\n"
    "gguf.quants.dequantize gives; with --raw, the tensor's stored bytes as uint8 with the last dimension\n"
    "in bytes (as gguf's GGUFReader reports quantized data). A safetensors tensor of a dtype layerlab does not\n"
    "compute with (integers, bool, fp8) is listed with its dtype and written only with --raw.\n";

/* the tensors of either kind of file */
typedef struct {
    const char *path;
    const ll_gguf_tensor *t;
    uint64_t n;
    char *const *dtype;   /* safetensors: each tensor's dtype name, else NULL */
} tensor_file;

static const char *type_label(const tensor_file *f, uint64_t i) {
    return f->t[i].type == UINT32_MAX ? f->dtype[i] : ll_type_name(f->t[i].type);
}

/* numpy shape of a tensor: ne reversed; with raw, the last axis counts bytes of a row. */
static int npy_shape(const ll_gguf_tensor *t, int raw, int64_t shape[4]) {
    int nd = (int)t->n_dims;
    for (int i = 0; i < nd; i++) shape[i] = t->ne[nd - 1 - i];
    if (raw) {
        int64_t rows = 1;
        for (uint32_t i = 1; i < t->n_dims; i++) rows *= t->ne[i];
        size_t row = t->type == UINT32_MAX ? (rows ? t->nbytes / (size_t)rows : 0) : ll_row_size(t->type, t->ne[0]);
        if (!row && t->nbytes) return ll_fail("tensor '%s': rows of %lld elements do not fit type %s", t->name.s,
                                              (long long)t->ne[0], ll_type_name(t->type));
        shape[nd - 1] = (int64_t)row;
    }
    return nd;
}

static void print_shape(FILE *f, const ll_gguf_tensor *t) {
    for (int i = (int)t->n_dims - 1; i >= 0; i--) fprintf(f, "%lld%s", (long long)t->ne[i], i ? "x" : "");
}

static int list_tensors(const tensor_file *f) {
    for (uint64_t i = 0; i < f->n; i++) {
        printf("%s\t%s\t", f->t[i].name.s, type_label(f, i));
        print_shape(stdout, &f->t[i]);
        putchar('\n');
    }
    return fflush(stdout) == 0 ? 0 : cli_error("error writing the list");
}

static int dump_tensor(const tensor_file *f, const char *name, const char *out, int raw) {
    const ll_gguf_tensor *t = NULL;
    uint64_t ti = 0;
    for (; ti < f->n && !t; ti++)
        if (!strcmp(f->t[ti].name.s, name)) t = &f->t[ti];
    if (!t) return cli_error("%s: no tensor named '%s' (--list shows them)", f->path, name);
    int64_t shape[4];
    int nd = npy_shape(t, raw, shape);
    if (nd < 0) return cli_lib_error();
    if (raw) {
        if (ll_npy_write(out, "|u1", shape, nd, t->data) != 0) return cli_lib_error();
        return 0;
    }
    const ll_type_traits *tt = t->type == UINT32_MAX ? NULL : ll_type_get(t->type);
    if (!tt || !tt->to_float)
        return cli_error("tensor '%s' has type %s, which layerlab cannot dequantize (use --raw for its bytes)", name,
                         type_label(f, ti - 1));
    int64_t ncols = t->ne[0], nrows = 1;
    for (uint32_t i = 1; i < t->n_dims; i++) nrows *= t->ne[i];
    size_t row_bytes = ll_row_size(t->type, ncols);
    if ((!row_bytes && ncols) || row_bytes * (size_t)nrows != t->nbytes)
        return cli_error("tensor '%s': %zu bytes do not hold %lld rows of %lld %s elements", name, t->nbytes,
                         (long long)nrows, (long long)ncols, tt->name);
    float *buf = malloc((size_t)ncols * (size_t)nrows * sizeof(float) + 1);
    if (!buf) return cli_error("out of memory for tensor '%s' (%lld x %lld floats)", name, (long long)nrows, (long long)ncols);
    for (int64_t r = 0; r < nrows; r++)
        tt->to_float((const uint8_t *)t->data + (size_t)r * row_bytes, buf + (size_t)r * (size_t)ncols, ncols);
    int rc = ll_npy_write(out, "<f4", shape, nd, buf) == 0 ? 0 : cli_lib_error();
    free(buf);
    return rc;
}

int cmd_tensor(int argc, char **argv) {
    const char *model = NULL, *name = NULL, *out = NULL;
    int list = 0, raw = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "--list")) {
            list = 1;
        } else if (!strcmp(a, "--raw")) {
            raw = 1;
        } else if (!strcmp(a, "--out") || !strcmp(a, "-o")) {
            if (!(out = cli_out_value(argc, argv, &i))) return 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_error("tensor: unknown option '%s'\n%s", a, USAGE);
        } else if (!model) {
            model = a;
        } else if (!name) {
            name = a;
        } else {
            return cli_error("tensor: unexpected argument '%s'\n%s", a, USAGE);
        }
    }
    if (!model) return cli_error("tensor: no model file given\n%s", USAGE);
    if (list && (name || out || raw)) return cli_error("tensor: --list takes no tensor name, --out or --raw");
    if (!list && !name) return cli_error("tensor: give a tensor NAME (or --list)\n%s", USAGE);
    if (!list && !out) return cli_error("tensor: --out FILE.npy is required");

    /* which kind of file: its first bytes */
    unsigned char head[16] = {0};
    FILE *hf = ll_fopen_input(model, "model file");
    if (!hf) return cli_lib_error();
    size_t got = fread(head, 1, sizeof head, hf);
    fclose(hf);
    if (got >= 4 && !memcmp(head, "GGUF", 4)) {
        ll_gguf *g = ll_gguf_open(model);
        if (!g) return cli_lib_error();
        tensor_file f = {g->path, g->tensors, g->n_tensors, NULL};
        int rc = list ? list_tensors(&f) : dump_tensor(&f, name, out, raw);
        ll_gguf_close(g);
        return rc;
    }
    if (got < 9 || head[8] == '{') {   /* safetensors, or too short to be anything: its reader says which */
        ll_st *st = ll_st_open(model);
        if (!st) return cli_lib_error();
        tensor_file f = {st->path, st->tensors, st->n_tensors, st->dtype};
        int rc = list ? list_tensors(&f) : dump_tensor(&f, name, out, raw);
        ll_st_close(st);
        return rc;
    }
    return cli_error("%s: neither a GGUF file (magic 'GGUF') nor a safetensors file (header length, then '{')", model);
}
