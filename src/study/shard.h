/* shard.h — a study's units of work shared by the ranks of an MPI job (`mpirun -n N layerlab study ...`).
 *
 * The units (an item under every plan, a prompt, a plan's perplexity windows, a cosine run) are handed out
 * dynamically: each phase of a study (one task's items, the cosine runs, ...) has a counter on rank 0, and a
 * rank takes the next unit with one MPI fetch-and-add on it when it has finished its last one, so cheap and
 * costly units balance without a coordinator process. Every rank goes through the same phases in the same
 * order, so phase k's counter means the same thing everywhere.
 *
 * Results: SQLite wants one writer per file, so each rank writes its own store, DIR/results.rank-K.sqlite, a copy
 * of the main store made at the start (so it knows what is done already), and rank 0 (which writes the main store
 * itself) merges the copies at the end (store.h: ll_store_merge_ranks). A rank store left by a killed run is merged
 * when the study starts again, with or without MPI: nothing committed is lost, and a unit is computed once per run.
 *
 * Without MPI (not compiled in, or not started by mpirun) a shard is a single process: ll_shard_next counts
 * 0, 1, 2, ... The same code runs both ways, and a unit's result does not depend on the rank that ran it, so the
 * merged store equals a single process's.
 */
#ifndef LL_STUDY_SHARD_H
#define LL_STUDY_SHARD_H
#include <stdbool.h>

typedef struct ll_shard ll_shard;

/* Joins the MPI job when the process was started by mpirun (OpenMPI's or a PMI environment) and layerlab was
 * built with MPI; *out = NULL (one process) otherwise. 0, or -1 with the error set. */
int ll_shard_init(ll_shard **out);
/* Leaves the job (MPI_Finalize). NULL is fine. */
void ll_shard_finalize(ll_shard *sh);
/* Ends the whole job after an error on this rank (MPI_Abort): the other ranks stop too; rerunning resumes. */
void ll_shard_abort(ll_shard *sh, int code);
int ll_shard_rank(const ll_shard *sh);   /* 0 for NULL */
int ll_shard_size(const ll_shard *sh);   /* 1 for NULL */
/* Waits for every rank, each saying whether it failed; 0 when none did, else -1 (with the error set, on the
 * ranks that did not fail themselves, to "another rank failed"). NULL: -1 if failed. */
int ll_shard_agree(ll_shard *sh, int failed);
/* Whether MPI support is compiled in. */
bool ll_shard_available(void);

/* One phase's hand-out. */
typedef struct {
    ll_shard *sh;
    int phase;
    long next;        /* one process: the next unit */
} ll_shard_iter;

/* Starts the next phase (every rank calls this at the same points, in the same order). */
ll_shard_iter ll_shard_phase(ll_shard *sh);
/* The next unit of the phase for this rank; >= n when the phase has none left. */
long ll_shard_next(ll_shard_iter *it, long n);

#endif

/* ---- a study's store across the ranks ---- */
struct ll_store;
/* Collective. Rank 0 opens (or creates) DIR/results.sqlite as ll_store_open does, merges rank stores left by a
 * killed run, and copies the store for every other rank, which then opens its copy. Without MPI: the main store,
 * leftovers merged. NULL on error (on every rank). */
struct ll_store *ll_study_store_open(ll_shard *sh, const char *dir, const char *kind, const char *params_json,
                                     const char *model_sha256);
/* Collective, after the run (failed: this rank's run failed). Every rank but 0 closes its store (*s = NULL); rank 0
 * merges their stores into the main one, which stays open for the export. 0, or -1 if any rank failed or the
 * merge did. */
int ll_study_store_gather(ll_shard *sh, const char *dir, struct ll_store **s, int failed);
