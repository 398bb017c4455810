/* machine.h — what the machine allows, measured: read bandwidth from memory and peak fp32 FMA throughput,
 * on the caller's thread pool. The bench scripts divide measured throughput by these bounds
 * (bytes of weights read per generated token ÷ bandwidth; prompt FLOPs ÷ peak). */
#ifndef LL_MACHINE_H
#define LL_MACHINE_H
#include <stddef.h>

#include "tensor/pool.h"

typedef struct {
    size_t bytes;     /* buffer read per repetition (default 1 GiB: far beyond any cache) */
    int reps;         /* timed repetitions (default 5), after one untimed pass that also faults the pages in */
    void (*progress)(void *ctx, const char *what, int rep, int reps);
    void *progress_ctx;
} ll_machine_opts;

void ll_machine_default_opts(ll_machine_opts *o);

typedef struct {
    int threads;
    double read_gbs_median, read_gbs_max;    /* 1e9 bytes/s: every thread reads its share once, summed */
    double fma_gflops_median, fma_gflops_max; /* 1e9 fp32 FLOP/s (an FMA = 2) in 8-lane FMAs, all threads */
    const char *kernels;                     /* ll_type_kernels(): what the vector kernels were built for */
} ll_machine_results;

/* 0, or -1 with the error set (out of memory). */
int ll_machine_measure(ll_pool *pool, const ll_machine_opts *o, ll_machine_results *r);

#endif
