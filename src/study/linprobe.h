/* linprobe.h — the frozen-encoder linear probe of the Transformer-Layers-as-Painters paper (appendix A.9,
 * "GLUE"): only a linear classifier is trained on fixed features (BERT's pooled output), as HF run_glue.py
 * trains BertForSequenceClassification's head: cross-entropy, AdamW (lr 3e-2, betas 0.9/0.999, eps 1e-8,
 * weight decay 0), batch 32, 3 epochs, the learning rate decaying linearly to 0 with no warm-up, weights
 * initialised N(0, 0.02^2) and bias 0, dropout 0.1 on the features during training. With only a dev set,
 * the probe is scored by stratified k-fold cross-validated accuracy (ll_linprobe_cv).
 *
 * The model: logits z = W x + b (W is n_classes × d), p = softmax(z).
 * The objective of one step over a mini-batch B (|B| = batch size, the last batch of an epoch smaller):
 *     L_B(W, b) = (1/|B|) sum_{i in B} -log p_{y_i}(dropout(x_i))  +  (l2 / 2) * ||W||_F^2
 * (the L2 term is a penalty inside the loss, so it passes through Adam's moments; b is not penalised).
 * Without dropout its expectation over the batches is the full-data objective
 *     J(W, b) = (1/n) sum_i -log p_{y_i}(x_i) + (l2 / 2) ||W||_F^2,
 * which is scikit-learn's LogisticRegression objective 0.5 ||W||^2 + C sum_i loss_i divided by C n, i.e.
 *     C = 1 / (l2 n)           for n_classes >= 3 (sklearn's multinomial: one weight vector per class);
 *     C = 2 / (l2 n)           for n_classes == 2 (sklearn fits one vector w = W_1 - W_0; at the optimum of
 *                              J, W_1 = -W_0 = w/2, so the penalty is (l2/4)||w||^2).
 * weight_decay is AdamW's decoupled decay (W <- W (1 - lr_t wd) before the Adam update), applied to W only,
 * as HF's Trainer excludes biases from weight decay.
 *
 * One AdamW step t = 1, 2, ... with the scheduled rate lr_t = lr * (T - t + 1) / T (T = epochs × batches
 * per epoch; HF get_linear_schedule_with_warmup with 0 warm-up steps), exactly as torch.optim.AdamW
 * computes it (amsgrad off), in double precision (torch uses the parameters' float32):
 *     W <- W (1 - lr_t wd)
 *     m <- beta1 m + (1 - beta1) g,   v <- beta2 v + (1 - beta2) g^2
 *     W <- W - (lr_t / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 *
 * Randomness: one splitmix64 stream per training run (seeded from opts.seed, and the fold for CV) draws, in
 * this order, the initial weights (Box–Muller), then per epoch a Fisher–Yates permutation of the items and
 * per step the dropout masks (item by item, feature by feature; kept features scaled by 1/(1-p) as
 * torch.nn.Dropout). Same inputs and options give the same bits. */
#ifndef LL_LINPROBE_H
#define LL_LINPROBE_H
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double lr;            /* peak learning rate (3e-2) */
    int batch_size;       /* 32 */
    int epochs;           /* 3 */
    double beta1, beta2;  /* 0.9, 0.999 */
    double eps;           /* 1e-8 */
    double weight_decay;  /* AdamW's decoupled decay on W (0) */
    double dropout;       /* on the features during training (0.1); 0 <= dropout < 1 */
    double init_std;      /* W ~ N(0, init_std^2), b = 0 (0.02, BERT's initializer_range) */
    double l2;            /* L2 penalty (l2/2)||W||^2 inside the loss (0); see the objective above */
    /* Standardise each feature by the training data's mean and (population) standard deviation before
     * training and prediction (a feature with zero spread is only centred). Off by default: A.9 feeds the
     * pooled output as it is (tanh-bounded, already on a common scale), and rescaling changes what the
     * learning rate and the N(0, 0.02^2) initialisation mean, so it would no longer be the paper's
     * protocol. Useful for raw hidden states whose features have very different scales. */
    bool standardize;
    int folds;            /* stratified k-fold for ll_linprobe_cv (5) */
    uint64_t seed;        /* fold assignment, initialisation, shuffling and dropout (fixed default) */
    /* Called after every epoch: done of total epochs (for CV: over all folds). May be NULL. */
    void (*progress)(void *ctx, int done, int total);
    void *progress_ctx;
} ll_linprobe_opts;

ll_linprobe_opts ll_linprobe_default_opts(void);

typedef struct {
    int d, n_classes;
    double *W;            /* n_classes × d, row-major (class-major) */
    double *b;            /* n_classes */
    double *mean, *scale; /* d each when trained with standardize (x' = (x - mean) / scale), else NULL */
    int steps;            /* optimizer steps taken */
    double final_loss;    /* mean mini-batch objective L_B over the last epoch */
} ll_linprobe_model;

typedef struct {
    int n, n_classes, folds;
    double *fold_acc;     /* folds: accuracy of each fold's held-out items */
    double mean_acc;      /* mean of fold_acc */
    double std_acc;       /* sample standard deviation of fold_acc (ddof 1) */
    double pooled_acc;    /* correct held-out predictions / n */
    int *fold;            /* n: the fold of each item (0..folds-1), where it was held out */
    double *prob;         /* n × n_classes: each item's held-out probabilities */
    int *pred;            /* n: argmax of prob (the lowest class on ties) */
} ll_linprobe_cv_result;

/* X is n × d row-major, y in 0..n_classes-1. Needs n >= 1, d >= 1, n_classes >= 2, every class present,
 * finite X and valid options. On success fills *out (free with ll_linprobe_model_free) and returns 0;
 * otherwise -1 with the error set and *out zeroed. */
int ll_linprobe_train(const float *X, const int *y, int n, int d, int n_classes, const ll_linprobe_opts *o,
                      ll_linprobe_model *out);

/* probs (n × n_classes) = softmax(W x' + b) for each row of X (n × m->d, finite). Returns 0 or -1. */
int ll_linprobe_predict(const ll_linprobe_model *m, const float *X, int n, double *probs);

void ll_linprobe_model_free(ll_linprobe_model *m);

/* Stratified k-fold (o->folds) cross-validation: each class's items are shuffled by a stream seeded from
 * o->seed and dealt round-robin over the folds, continuing the count from class to class, so every fold
 * holds each class's items to within one and the folds' sizes differ by at most one. Fold f's model is
 * trained (ll_linprobe_train's procedure, stream seeded from o->seed and f) on the other folds. Needs each
 * class to have at least `folds` items. Returns 0 (free with ll_linprobe_cv_free) or -1 with the error set. */
int ll_linprobe_cv(const float *X, const int *y, int n, int d, int n_classes, const ll_linprobe_opts *o,
                   ll_linprobe_cv_result *r);

void ll_linprobe_cv_free(ll_linprobe_cv_result *r);

#endif
