/* glue.h — the Painters paper's frozen-encoder protocol (its A.9) on the GLUE data at hand: each sentence's
 * pooled output (ll_embed_texts, under any layer plan) is a fixed feature vector, and only a linear classifier is
 * trained on it (ll_linprobe: AdamW, lr 3e-2, batch 32, 3 epochs, linear decay, dropout 0.1, as run_glue.py trains
 * BertForSequenceClassification's head). SST-2's dev set is the only GLUE split here, so the score is stratified
 * 5-fold cross-validated accuracy on it. */
#ifndef LL_GLUE_H
#define LL_GLUE_H
#include "model/model.h"
#include "run/embed.h"
#include "study/linprobe.h"

typedef struct {
    char **texts;
    int *labels;
    int n, n_classes;
} ll_glue_data;

/* SST-2 as GLUE ships it: a TSV with the header "sentence<TAB>label", labels 0/1. limit > 0 keeps the first
 * limit rows. 0, or -1 with the error naming the file and line. */
int ll_glue_load(const char *task, const char *path, int limit, ll_glue_data *d);
void ll_glue_data_free(ll_glue_data *d);

typedef struct {
    ll_embed_opts embed;     /* pooling, normalisation, the plan, numerics; its progress covers the sentences */
    ll_linprobe_opts probe;  /* the A.9 head and the folds */
} ll_glue_opts;

ll_glue_opts ll_glue_default_opts(void);

typedef struct {
    int n, dim, pool;
    bool normalized;
    ll_linprobe_cv_result cv;
    double majority;         /* the accuracy of always answering the most frequent class */
} ll_glue_result;

int ll_glue_run(ll_model *m, const ll_glue_data *d, const ll_glue_opts *o, ll_glue_result *r);
void ll_glue_result_free(ll_glue_result *r);

#endif
