/* check.h — scanning a model's weights for values that are not finite. */
#ifndef LL_CHECK_H
#define LL_CHECK_H
#include <stdint.h>

#include "model/model.h"

typedef struct {
    void (*progress)(void *ctx, int done, int total);   /* after each tensor; may be NULL */
    void *progress_ctx;
} ll_check_opts;

void ll_check_opts_default(ll_check_opts *o);

/* A tensor holding NaN or infinity. */
typedef struct {
    char name[96];
    const char *type;        /* ggml type name (static) */
    int64_t n_nan, n_inf;
    int64_t first;           /* flat index (ggml order, ne0 fastest) of the first bad value */
} ll_tensor_finding;

typedef struct {
    int64_t n_tensors, n_values;   /* scanned */
    int n_unchecked;               /* tensors of a type layerlab cannot dequantize */
    ll_tensor_finding *bad;
    int n_bad;
} ll_check_report;

/* Dequantizes every tensor (GGUF: every tensor in the file; llama2.c: every weight, under the GGUF names)
 * and records the ones holding a NaN or an infinity. 0, or -1 with the error set. */
int ll_model_check_finite(const ll_model *m, const ll_check_opts *o, ll_check_report *r);
void ll_check_report_free(ll_check_report *r);

#endif
