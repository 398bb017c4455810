/* check.c — every weight of a model scanned for NaN and infinity (`layerlab info --check`). */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "tensor/dtype.h"
#include "util/err.h"

void ll_check_opts_default(ll_check_opts *o) {
    memset(o, 0, sizeof *o);
}

/* one tensor: rows of ne0 values of `type` at data, row_bytes apart */
typedef struct {
    char name[96];
    uint32_t type;
    const void *data;
    int64_t ne0, nrows;
    size_t row_bytes;
} named_tensor;

static int add_bad(ll_check_report *r, const ll_tensor_finding *f) {
    ll_tensor_finding *v = ll_realloc(r->bad, (size_t)(r->n_bad + 1) * sizeof *v);
    if (!v) return -1;
    r->bad = v;
    r->bad[r->n_bad++] = *f;
    return 0;
}

static int scan(const named_tensor *t, float *buf, ll_check_report *r) {
    const ll_type_traits *tt = ll_type_get(t->type);
    ll_tensor_finding f;
    memset(&f, 0, sizeof f);
    snprintf(f.name, sizeof f.name, "%s", t->name);
    f.type = ll_type_name(t->type);
    f.first = -1;
    if (!tt || !tt->to_float) {
        r->n_unchecked++;
        return 0;
    }
    for (int64_t row = 0; row < t->nrows; row++) {
        tt->to_float((const char *)t->data + (size_t)row * t->row_bytes, buf, t->ne0);
        for (int64_t i = 0; i < t->ne0; i++) {
            uint32_t u;
            memcpy(&u, &buf[i], 4);
            if ((u & 0x7f800000u) != 0x7f800000u) continue;
            if (u & 0x007fffffu) f.n_nan++;
            else f.n_inf++;
            if (f.first < 0) f.first = row * t->ne0 + i;
        }
    }
    r->n_tensors++;
    r->n_values += t->ne0 * t->nrows;
    return f.first >= 0 ? add_bad(r, &f) : 0;
}

static named_tensor from_mat(const char *name, const ll_mat *m) {
    named_tensor t;
    snprintf(t.name, sizeof t.name, "%s", name);
    t.type = m->type;
    t.data = m->data;
    t.ne0 = m->ncols;
    t.nrows = m->nrows;
    t.row_bytes = m->row_bytes;
    return t;
}

static named_tensor from_vec(const char *name, const float *v, int64_t n) {
    ll_mat m = {LL_TYPE_F32, v, n, 1, (size_t)n * sizeof(float), NULL};
    return from_mat(name, &m);
}

/* The tensors of a llama2.c checkpoint under their GGUF names. */
static int llama2c_tensors(const ll_model *m, named_tensor **out, int *n) {
    int cap = 4 + 9 * m->n_layer;
    named_tensor *v = ll_calloc((size_t)cap, sizeof *v);
    if (!v) return -1;
    int k = 0;
    v[k++] = from_mat("token_embd.weight", &m->tok_embd);
    for (int l = 0; l < m->n_layer; l++) {
        const ll_layer *L = &m->layers[l];
        char nm[96];
#define ADD_MAT(suffix, mat) snprintf(nm, sizeof nm, "blk.%d." suffix, l), v[k++] = from_mat(nm, &L->mat)
        snprintf(nm, sizeof nm, "blk.%d.attn_norm.weight", l);
        v[k++] = from_vec(nm, L->attn_norm, m->n_embd);
        ADD_MAT("attn_q.weight", wq);
        ADD_MAT("attn_k.weight", wk);
        ADD_MAT("attn_v.weight", wv);
        ADD_MAT("attn_output.weight", wo);
        snprintf(nm, sizeof nm, "blk.%d.ffn_norm.weight", l);
        v[k++] = from_vec(nm, L->ffn_norm, m->n_embd);
        ADD_MAT("ffn_gate.weight", w_gate);
        ADD_MAT("ffn_up.weight", w_up);
        ADD_MAT("ffn_down.weight", w_down);
#undef ADD_MAT
    }
    v[k++] = from_vec("output_norm.weight", m->output_norm, m->n_embd);
    if (!m->tied_output) v[k++] = from_mat("output.weight", &m->output);
    *out = v;
    *n = k;
    return 0;
}

int ll_model_check_finite(const ll_model *m, const ll_check_opts *o, ll_check_report *r) {
    memset(r, 0, sizeof *r);
    named_tensor *ts = NULL;
    int n = 0;
    if (m->gguf) {
        const ll_gguf *g = m->gguf;
        if (!(ts = ll_calloc(g->n_tensors ? g->n_tensors : 1, sizeof *ts))) return -1;
        for (uint64_t i = 0; i < g->n_tensors; i++) {
            const ll_gguf_tensor *gt = &g->tensors[i];
            named_tensor *t = &ts[n++];
            snprintf(t->name, sizeof t->name, "%.*s", (int)gt->name.n, gt->name.s);
            t->type = gt->type;
            t->data = gt->data;
            t->ne0 = gt->ne[0];
            t->nrows = gt->ne[1] * gt->ne[2] * gt->ne[3];
            t->row_bytes = ll_row_size(gt->type, gt->ne[0]);
            if (!t->row_bytes && gt->ne[0]) t->type = LL_TYPE_COUNT;   /* no known row size: left unchecked */
        }
    } else if (m->layers) {
        if (llama2c_tensors(m, &ts, &n)) return -1;
    } else {
        return ll_fail("%s: the model has no weights to check", m->path);
    }
    int64_t maxcols = 1;
    for (int i = 0; i < n; i++)
        if (ts[i].ne0 > maxcols) maxcols = ts[i].ne0;
    float *buf = ll_malloc((size_t)maxcols * sizeof(float));
    int rc = buf ? 0 : -1;
    for (int i = 0; !rc && i < n; i++) {
        rc = scan(&ts[i], buf, r);
        if (o && o->progress) o->progress(o->progress_ctx, i + 1, n);
    }
    free(buf);
    free(ts);
    if (rc) ll_check_report_free(r);
    return rc;
}

void ll_check_report_free(ll_check_report *r) {
    free(r->bad);
    memset(r, 0, sizeof *r);
}
