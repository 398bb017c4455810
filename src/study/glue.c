/* glue.c — the frozen-encoder probe on GLUE data (see glue.h). */
#include "study/glue.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "io/files.h"

int ll_glue_load(const char *task, const char *path, int limit, ll_glue_data *d) {
    memset(d, 0, sizeof *d);
    if (strcmp(task, "sst2") != 0) return ll_fail("GLUE task '%s' is not supported (supported: sst2)", task);
    size_t len;
    char *buf = ll_read_file(path, "SST-2 data", &len);
    if (!buf) return -1;
    int rc = -1, cap = 0, line = 0;
    char *s = buf;
    for (; s && *s; line++) {
        char *nl = strchr(s, '\n');
        if (nl) *nl = 0;
        size_t l = strlen(s);
        if (l && s[l - 1] == '\r') s[--l] = 0;
        char *row = s;
        s = nl ? nl + 1 : NULL;
        if (line == 0) {
            if (strncmp(row, "sentence\tlabel", 14) != 0) {
                ll_fail("%s: line 1 should be the header 'sentence<TAB>label'", path);
                goto done;
            }
            continue;
        }
        if (!l) continue;
        if (limit > 0 && d->n >= limit) break;
        char *tab = strrchr(row, '\t');
        if (!tab || (strcmp(tab + 1, "0") != 0 && strcmp(tab + 1, "1") != 0)) {
            ll_fail("%s: line %d should be 'sentence<TAB>0' or 'sentence<TAB>1'", path, line + 1);
            goto done;
        }
        *tab = 0;
        if (d->n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **t = ll_realloc(d->texts, (size_t)cap * sizeof *t);
            if (!t) goto done;
            d->texts = t;
            int *lb = ll_realloc(d->labels, (size_t)cap * sizeof *lb);
            if (!lb) goto done;
            d->labels = lb;
        }
        d->labels[d->n] = tab[1] - '0';
        if (!(d->texts[d->n] = ll_strndup(row, strlen(row)))) goto done;
        d->n++;
    }
    if (d->n < 2) { ll_fail("%s: no data rows", path); goto done; }
    d->n_classes = 2;
    rc = 0;
done:
    free(buf);
    if (rc) ll_glue_data_free(d);
    return rc;
}

void ll_glue_data_free(ll_glue_data *d) {
    for (int i = 0; i < d->n; i++) free(d->texts[i]);
    free(d->texts);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

ll_glue_opts ll_glue_default_opts(void) {
    ll_glue_opts o;
    o.embed = ll_embed_default_opts();
    o.probe = ll_linprobe_default_opts();
    return o;
}

int ll_glue_run(ll_model *m, const ll_glue_data *d, const ll_glue_opts *o, ll_glue_result *r) {
    memset(r, 0, sizeof *r);
    ll_embed_result emb;
    if (ll_embed_texts(m, (const char *const *)d->texts, d->n, &o->embed, &emb)) return -1;
    r->n = d->n;
    r->dim = emb.dim;
    r->pool = emb.pool;
    r->normalized = emb.normalized;
    int count[2] = {0, 0};
    for (int i = 0; i < d->n; i++) count[d->labels[i] != 0]++;
    r->majority = (double)(count[0] > count[1] ? count[0] : count[1]) / d->n;
    int rc = ll_linprobe_cv(emb.vec, d->labels, d->n, emb.dim, d->n_classes, &o->probe, &r->cv);
    ll_embed_result_free(&emb);
    return rc;
}

void ll_glue_result_free(ll_glue_result *r) {
    ll_linprobe_cv_free(&r->cv);
    memset(r, 0, sizeof *r);
}
