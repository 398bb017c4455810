/* pool.h — a small fork-join thread pool. The calling thread is worker 0; n_threads-1 helper threads
 * spin briefly and then sleep between jobs, so the ~200 dispatches per decoded token stay cheap. */
#ifndef LL_POOL_H
#define LL_POOL_H

typedef struct ll_pool ll_pool;
/* fn(arg, ith, nth): worker ith of nth does its share. */
typedef void (*ll_pool_fn)(void *arg, int ith, int nth);

ll_pool *ll_pool_new(int n_threads);   /* NULL on failure (error set) */
void ll_pool_free(ll_pool *p);
int ll_pool_size(const ll_pool *p);
/* Runs fn on every worker and returns when all are done. */
void ll_pool_run(ll_pool *p, ll_pool_fn fn, void *arg);

#endif
