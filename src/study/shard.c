/* shard.c — the ranks of an MPI study (see shard.h). */
#include "study/shard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study/store.h"
#include "util/err.h"

#ifdef LAYERLAB_MPI
#include <mpi.h>

enum { MAX_PHASES = 4096 };

struct ll_shard {
    int rank, size;
    int64_t *counters;   /* rank 0: one per phase */
    MPI_Win win;
    int phases;          /* phases started so far */
    /* LAYERLAB_SHARD_STATS=1: what the sharding cost this rank, printed at the end (docs/SCALING.md) */
    long n_taken, n_trips;
    double t_next, t_store_open, t_gather, t0;
};

static double now_s(void) { return MPI_Wtime(); }

/* Started by mpirun (OpenMPI's environment) or another PMI launcher. */
static bool launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

int ll_shard_init(ll_shard **out) {
    *out = NULL;
    if (!launched()) return 0;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init(NULL, NULL) != MPI_SUCCESS) return ll_fail("MPI_Init failed");
    ll_shard *sh = ll_calloc(1, sizeof *sh);
    if (!sh) return -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &sh->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &sh->size);
    MPI_Aint bytes = sh->rank == 0 ? (MPI_Aint)(MAX_PHASES * sizeof(int64_t)) : 0;
    if (MPI_Win_allocate(bytes, sizeof(int64_t), MPI_INFO_NULL, MPI_COMM_WORLD, &sh->counters, &sh->win) != MPI_SUCCESS) {
        free(sh);
        return ll_fail("MPI_Win_allocate failed");
    }
    if (sh->rank == 0) memset(sh->counters, 0, (size_t)bytes);
    MPI_Barrier(MPI_COMM_WORLD);   /* the counters are zero before anyone takes a unit */
    sh->t0 = now_s();
    *out = sh;
    return 0;
}

void ll_shard_finalize(ll_shard *sh) {
    if (!sh) return;
    const char *st = getenv("LAYERLAB_SHARD_STATS");
    if (st && *st == '1')
        fprintf(stderr, "layerlab: shard stats: rank %d of %d: %ld units taken in %ld trips to rank 0 (%.6f s, %.1f us "
                "each); store open/copy %.3f s; gather/merge %.3f s; %.3f s from init to finalize\n", sh->rank, sh->size,
                sh->n_taken, sh->n_trips, sh->t_next, sh->n_trips ? 1e6 * sh->t_next / (double)sh->n_trips : 0.0,
                sh->t_store_open, sh->t_gather, now_s() - sh->t0);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Win_free(&sh->win);
    free(sh);
    MPI_Finalize();
}

void ll_shard_abort(ll_shard *sh, int code) {
    if (sh) MPI_Abort(MPI_COMM_WORLD, code);
}

int ll_shard_rank(const ll_shard *sh) { return sh ? sh->rank : 0; }
int ll_shard_size(const ll_shard *sh) { return sh ? sh->size : 1; }
bool ll_shard_available(void) { return true; }

int ll_shard_agree(ll_shard *sh, int failed) {
    if (!sh) return failed ? -1 : 0;
    int mine = failed ? 1 : 0, any = 0;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any && !failed) return ll_fail("another rank of the MPI job failed");
    return any ? -1 : 0;
}

ll_shard_iter ll_shard_phase(ll_shard *sh) {
    ll_shard_iter it = {sh, sh ? sh->phases++ : 0, 0};
    return it;
}

long ll_shard_next(ll_shard_iter *it, long n) {
    ll_shard *sh = it->sh;
    if (!sh || sh->size == 1) return it->next < n ? it->next++ : n;
    if (it->phase >= MAX_PHASES) return it->next < n ? it->next++ : n;   /* not reached: studies have few phases */
    if (it->next >= n) return n;   /* this rank saw the phase end: no more trips to rank 0 */
    int64_t one = 1, got = 0;
    double t = now_s();
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, sh->win);
    MPI_Fetch_and_op(&one, &got, MPI_INT64_T, 0, (MPI_Aint)it->phase, MPI_SUM, sh->win);
    MPI_Win_unlock(0, sh->win);
    sh->t_next += now_s() - t;
    sh->n_trips++;
    if (got >= n) it->next = n;
    else sh->n_taken++;
    return got < n ? (long)got : n;
}

#else   /* built without MPI: one process */

int ll_shard_init(ll_shard **out) {
    *out = NULL;
    return 0;
}
void ll_shard_finalize(ll_shard *sh) { (void)sh; }
void ll_shard_abort(ll_shard *sh, int code) { (void)sh; (void)code; }
int ll_shard_rank(const ll_shard *sh) { (void)sh; return 0; }
int ll_shard_size(const ll_shard *sh) { (void)sh; return 1; }
bool ll_shard_available(void) { return false; }
int ll_shard_agree(ll_shard *sh, int failed) { (void)sh; return failed ? -1 : 0; }

ll_shard_iter ll_shard_phase(ll_shard *sh) {
    ll_shard_iter it = {sh, 0, 0};
    return it;
}

long ll_shard_next(ll_shard_iter *it, long n) { return it->next < n ? it->next++ : n; }

#endif

/* ---- a study's store across the ranks ---- */

static ll_store *store_open(ll_shard *sh, const char *dir, const char *kind, const char *params_json,
                            const char *model_sha256);
static int store_gather(ll_shard *sh, const char *dir, ll_store **s, int failed);

#ifdef LAYERLAB_MPI
static void add_time(ll_shard *sh, double *acc, double t0) {
    if (sh) *acc += now_s() - t0;
}
#define T_NOW() (sh ? now_s() : 0.0)
#define T_ADD(field, t0) do { if (sh) add_time(sh, &sh->field, t0); } while (0)
#else
#define T_NOW() 0.0
#define T_ADD(field, t0) ((void)(t0))
#endif

ll_store *ll_study_store_open(ll_shard *sh, const char *dir, const char *kind, const char *params_json,
                              const char *model_sha256) {
    double t0 = T_NOW();
    ll_store *r = store_open(sh, dir, kind, params_json, model_sha256);
    T_ADD(t_store_open, t0);
    return r;
}

static ll_store *store_open(ll_shard *sh, const char *dir, const char *kind, const char *params_json,
                            const char *model_sha256) {
    int rank = ll_shard_rank(sh), size = ll_shard_size(sh), failed = 0;
    ll_store *s = NULL;
    if (rank == 0) {
        int merged = 0;
        s = ll_store_open(dir, kind, params_json, model_sha256);
        failed = !s || ll_store_merge_ranks(s, dir, &merged);
        for (int k = 1; !failed && k < size; k++) failed = ll_store_make_rank_copy(s, dir, k) != 0;
    }
    if (ll_shard_agree(sh, failed)) {   /* rank 0's copies exist before the others open them */
        ll_store_close(s);
        return NULL;
    }
    if (rank > 0) {
        s = ll_store_open_rank(dir, rank);
        if (ll_shard_agree(sh, !s)) {
            ll_store_close(s);
            return NULL;
        }
    } else if (size > 1 && ll_shard_agree(sh, 0)) {
        ll_store_close(s);
        return NULL;
    }
    return s;
}

int ll_study_store_gather(ll_shard *sh, const char *dir, ll_store **s, int failed) {
    double t0 = T_NOW();
    int rc = store_gather(sh, dir, s, failed);
    T_ADD(t_gather, t0);
    return rc;
}

static int store_gather(ll_shard *sh, const char *dir, ll_store **s, int failed) {
    int rank = ll_shard_rank(sh);
    if (rank > 0) {   /* closed (and checkpointed) before rank 0 reads it */
        ll_store_close(*s);
        *s = NULL;
    }
    if (ll_shard_agree(sh, failed)) return -1;
    if (rank > 0) return ll_shard_agree(sh, 0);
    int rc = ll_store_merge_ranks(*s, dir, NULL);
    char *msg = rc ? ll_strndup(ll_errmsg(), strlen(ll_errmsg())) : NULL;
    if (ll_shard_size(sh) > 1 && ll_shard_agree(sh, rc != 0) && !rc) rc = -1;
    if (msg) {   /* the merge's own message, not the agreement's */
        ll_fail("%s", msg);
        free(msg);
    }
    return rc;
}
