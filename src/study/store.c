/* store.c — the study results store over SQLite (store.h). */
#include "study/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "io/files.h"
#include "util/err.h"

struct ll_store {
    sqlite3 *db;
    int lock_fd;             /* DIR/results.lock, held (flock) by the one run writing the store */
    char path[4096];
    char meta_buf[8192];
};

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS plans(plan TEXT PRIMARY KEY, variant TEXT, s INTEGER, m INTEGER, seed INTEGER,"
    " k INTEGER, grp TEXT);"
    "CREATE TABLE IF NOT EXISTS items(task TEXT NOT NULL, item INTEGER NOT NULL, plan TEXT NOT NULL, n_req INTEGER,"
    " ll TEXT, greedy TEXT, n_cont TEXT, pred INTEGER, pred_norm INTEGER, acc REAL, acc_norm REAL, response TEXT,"
    " strict TEXT, flexible TEXT, gold TEXT, em_strict REAL, em_flexible REAL, n_gen INTEGER, seconds REAL,"
    " PRIMARY KEY(task, item, plan));"
    "CREATE TABLE IF NOT EXISTS ppl(plan TEXT PRIMARY KEY, tokens INTEGER, windows INTEGER, mean_nll REAL, ppl REAL,"
    " seconds REAL);"
    "CREATE TABLE IF NOT EXISTS analyses(name TEXT PRIMARY KEY, value TEXT);"
    /* the perplexity of a plan so far: the running sum of its token nlls after each window (exact doubles) */
    /* the geometry study: one row per prompt, beside its answer's row in items (plan = condition:k) */
    "CREATE TABLE IF NOT EXISTS prompts(task TEXT NOT NULL, item INTEGER NOT NULL, plan TEXT NOT NULL, k INTEGER,"
    " cond TEXT, n_tokens INTEGER, ids TEXT, id_rel TEXT, id_abs TEXT, n_states INTEGER, dim INTEGER, states BLOB,"
    " PRIMARY KEY(task, item, plan));"
    "CREATE TABLE IF NOT EXISTS ppl_windows(plan TEXT NOT NULL, window INTEGER NOT NULL, total REAL, scored INTEGER,"
    " seconds REAL, PRIMARY KEY(plan, window));"
    "CREATE TABLE IF NOT EXISTS progress(key TEXT PRIMARY KEY, value REAL);";

static int db_fail(ll_store *s, const char *what) {
    return ll_fail("%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static int exec(ll_store *s, const char *sql, const char *what) {
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        int rc = ll_fail("%s: %s: %s", s->path, what, err ? err : sqlite3_errmsg(s->db));
        sqlite3_free(err);
        return rc;
    }
    return 0;
}

static sqlite3_stmt *prep(ll_store *s, const char *sql) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_fail(s, "prepare");
        return NULL;
    }
    return st;
}

/* Runs a prepared statement to completion; 0 or -1. */
static int step_done(ll_store *s, sqlite3_stmt *st, const char *what) {
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return ll_fail("%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    return 0;
}

const char *ll_store_meta(ll_store *s, const char *key) {
    sqlite3_stmt *st = prep(s, "SELECT value FROM meta WHERE key = ?");
    if (!st) return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    const char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(s->meta_buf, sizeof s->meta_buf, "%s", (const char *)sqlite3_column_text(st, 0));
        out = s->meta_buf;
    }
    sqlite3_finalize(st);
    return out;
}

static int put_meta(ll_store *s, const char *key, const char *value) {
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    return step_done(s, st, "writing meta");
}

/* Opens the file (DIR/results.sqlite, or DIR/<file> when file is set) without creating it unless create; checks it
 * is SQLite and (when it has tables) ours. */
static ll_store *open_db_file(const char *dir, const char *file, bool create, bool readonly) {
    ll_store *s = ll_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->lock_fd = -1;
    snprintf(s->path, sizeof s->path, "%s/%s", dir, file ? file : "results.sqlite");
    struct stat st;
    bool exists = stat(s->path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
        ll_fail("%s is not a regular file", s->path);
        free(s);
        return NULL;
    }
    if (!exists && !create) {
        ll_fail("%s: no results store there (run the study first)", s->path);
        free(s);
        return NULL;
    }
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(s->path, &s->db, flags, NULL) != SQLITE_OK) {
        ll_fail("cannot open %s: %s", s->path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        free(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 10000);
    /* reading the schema is what tells a non-SQLite file apart ("file is not a database") */
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT count(*), sum(name = 'meta') FROM sqlite_master WHERE type = 'table'", -1,
                                &q, NULL);
    int n_tables = 0, has_meta = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        n_tables = sqlite3_column_int(q, 0);
        has_meta = sqlite3_column_int(q, 1);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_OK) {
        ll_fail("%s is not a layerlab results store: %s (it is left untouched)", s->path, sqlite3_errmsg(s->db));
        ll_store_close(s);
        return NULL;
    }
    if (n_tables > 0 && !has_meta) {
        ll_fail("%s is an SQLite database but not a layerlab results store (no meta table; it is left untouched)", s->path);
        ll_store_close(s);
        return NULL;
    }
    if (!readonly && (exec(s, "PRAGMA journal_mode=WAL", "setting the journal") ||
                      exec(s, "PRAGMA synchronous=FULL", "setting synchronous"))) {
        ll_store_close(s);
        return NULL;
    }
    return s;
}

static ll_store *open_db(const char *dir, bool create, bool readonly) { return open_db_file(dir, NULL, create, readonly); }

/* The first key of want whose value differs from have's (or that have lacks, or have has in addition). */
static int compare_params(const char *path, const char *have_txt, const char *want_txt) {
    cJSON *have = cJSON_Parse(have_txt), *want = cJSON_Parse(want_txt);
    int rc = 0;
    if (!have || !want) {
        rc = ll_fail("%s: the stored parameters are not valid JSON", path);
        goto done;
    }
    const cJSON *w;
    cJSON_ArrayForEach(w, want) {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(have, w->string);
        if (h && cJSON_Compare(h, w, true)) continue;
        char *hs = h ? cJSON_PrintUnformatted(h) : NULL, *ws = cJSON_PrintUnformatted(w);
        rc = ll_fail("%s was made with other parameters: %s is %s there, %s now; use another --out DIR, or the "
                     "same parameters to continue it", path, w->string, hs ? hs : "absent", ws ? ws : "?");
        free(hs);
        free(ws);
        goto done;
    }
    cJSON_ArrayForEach(w, have) {
        if (cJSON_GetObjectItemCaseSensitive(want, w->string)) continue;
        rc = ll_fail("%s was made with other parameters: it has %s, which this run does not", path, w->string);
        goto done;
    }
done:
    cJSON_Delete(have);
    cJSON_Delete(want);
    return rc;
}

ll_store *ll_store_open(const char *dir, const char *kind, const char *params_json, const char *model_sha256) {
    if (ll_mkdir_p(dir)) {
        ll_fail_prefix("cannot create the study directory: ");
        return NULL;
    }
    /* one writer at a time: a second run into the same DIR would compute the same items twice */
    char lock[4200];
    snprintf(lock, sizeof lock, "%s/results.lock", dir);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lfd < 0) {
        ll_fail("cannot create '%s': %s", lock, strerror(errno));
        return NULL;
    }
    if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
        ll_fail("another run is writing the study in '%s' (it holds %s); wait for it or stop it first", dir, lock);
        close(lfd);
        return NULL;
    }
    ll_store *s = open_db(dir, true, false);
    if (!s) { close(lfd); return NULL; }
    s->lock_fd = lfd;
    const char *k = ll_store_meta(s, "kind");
    if (k) {
        char kind_have[64];
        snprintf(kind_have, sizeof kind_have, "%s", k);
        if (strcmp(kind_have, kind)) {
            ll_fail("%s holds a %s study, not a %s study", s->path, kind_have, kind);
            ll_store_close(s);
            return NULL;
        }
        const char *sha = ll_store_meta(s, "model_sha256");
        if (!sha || strcmp(sha, model_sha256)) {
            ll_fail("%s was made with another model (sha256 %.16s..., this one is %.16s...); use another --out DIR",
                    s->path, sha ? sha : "?", model_sha256);
            ll_store_close(s);
            return NULL;
        }
        const char *p = ll_store_meta(s, "params");
        char *have = p ? ll_strndup(p, strlen(p)) : NULL;
        int rc = have ? compare_params(s->path, have, params_json) : ll_fail("%s: no parameters stored", s->path);
        free(have);
        /* stores made before a table existed get it now (CREATE ... IF NOT EXISTS leaves the rest alone) */
        if (rc || exec(s, SCHEMA, "adding the tables")) {
            ll_store_close(s);
            return NULL;
        }
        return s;
    }
    char created[64];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (exec(s, "BEGIN IMMEDIATE", "begin") || exec(s, SCHEMA, "creating the tables") || put_meta(s, "kind", kind) ||
        put_meta(s, "params", params_json) || put_meta(s, "model_sha256", model_sha256) ||
        put_meta(s, "tool", "layerlab") || put_meta(s, "version", LAYERLAB_VERSION) || put_meta(s, "created", created) ||
        exec(s, "COMMIT", "commit")) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        ll_store_close(s);
        return NULL;
    }
    return s;
}

ll_store *ll_store_open_existing(const char *dir) {
    ll_store *s = open_db(dir, false, true);
    if (s && !ll_store_meta(s, "kind")) {
        ll_fail("%s is not a layerlab results store (no study recorded)", s->path);
        ll_store_close(s);
        return NULL;
    }
    return s;
}

/* ---- sharded runs: a store per rank, merged into the main one ---- */

/* the counters runs add to (the others are set, the same by every rank) */
#define ADDED_KEYS "('seconds', 'passes_computed', 'passes_naive')"

static void rank_file(char *buf, size_t n, int rank) { snprintf(buf, n, "results.rank-%d.sqlite", rank); }

int ll_store_make_rank_copy(ll_store *s, const char *dir, int rank) {
    char file[64], path[4200];
    rank_file(file, sizeof file, rank);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    const char *sfx[3] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {   /* merged already (ll_store_merge_ranks runs first): start afresh */
        char p[4300];
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        if (unlink(p) != 0 && errno != ENOENT) return ll_fail("cannot remove %s: %s", p, strerror(errno));
    }
    sqlite3 *dst = NULL;
    if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        int rc = ll_fail("cannot create %s: %s", path, dst ? sqlite3_errmsg(dst) : "out of memory");
        sqlite3_close(dst);
        return rc;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", s->db, "main");
    int rc = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
    if (b) sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        rc = ll_fail("copying %s to %s: %s", s->path, path, sqlite3_errmsg(dst));
        sqlite3_close(dst);
        return rc;
    }
    /* the rank counts its own compute from zero; the merge adds it to the main store's */
    char *err = NULL;
    if (sqlite3_exec(dst, "DELETE FROM progress WHERE key IN " ADDED_KEYS, NULL, NULL, &err) != SQLITE_OK) {
        rc = ll_fail("%s: %s", path, err ? err : sqlite3_errmsg(dst));
        sqlite3_free(err);
        sqlite3_close(dst);
        return rc;
    }
    sqlite3_close(dst);
    return 0;
}

ll_store *ll_store_open_rank(const char *dir, int rank) {
    char file[64];
    rank_file(file, sizeof file, rank);
    ll_store *s = open_db_file(dir, file, false, false);
    if (s && !ll_store_meta(s, "kind")) {
        ll_fail("%s is not a copy of a study's store", s->path);
        ll_store_close(s);
        return NULL;
    }
    return s;
}

/* Merges one rank store (path) into s: the results replace (a unit's result is the same whoever computed it), the
 * added counters add, the set ones are set. One transaction; then the file is removed. */
static int merge_one(ll_store *s, const char *path) {
    sqlite3_stmt *st = prep(s, "ATTACH DATABASE ? AS r");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
    if (step_done(s, st, "attaching a rank's store")) return -1;
    static const char *sql =
        "BEGIN IMMEDIATE;"
        "INSERT OR REPLACE INTO main.plans SELECT * FROM r.plans;"
        "INSERT OR REPLACE INTO main.items SELECT * FROM r.items;"
        "INSERT OR REPLACE INTO main.ppl SELECT * FROM r.ppl;"
        "INSERT OR REPLACE INTO main.analyses SELECT * FROM r.analyses;"
        "INSERT OR REPLACE INTO main.prompts SELECT * FROM r.prompts;"
        "INSERT OR REPLACE INTO main.ppl_windows SELECT * FROM r.ppl_windows;"
        "INSERT OR REPLACE INTO main.progress(key, value) SELECT p.key, p.value + coalesce((SELECT m.value FROM"
        " main.progress m WHERE m.key = p.key), 0) FROM r.progress p WHERE p.key IN " ADDED_KEYS ";"
        "INSERT OR REPLACE INTO main.progress(key, value) SELECT key, value FROM r.progress WHERE key NOT IN " ADDED_KEYS ";"
        "COMMIT;";
    char *err = NULL;
    int rc = 0;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        rc = ll_fail("%s: merging %s: %s", s->path, path, err ? err : sqlite3_errmsg(s->db));
        sqlite3_free(err);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_exec(s->db, "DETACH DATABASE r", NULL, NULL, NULL);
    if (rc) return rc;
    const char *sfx[3] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[4300];
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        if (unlink(p) != 0 && errno != ENOENT) return ll_fail("cannot remove %s: %s", p, strerror(errno));
    }
    return 0;
}

int ll_store_merge_ranks(ll_store *s, const char *dir, int *n_merged) {
    if (n_merged) *n_merged = 0;
    DIR *d = opendir(dir);
    if (!d) return ll_fail("cannot list %s: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        int rank;
        char tail[16] = "";
        if (sscanf(de->d_name, "results.rank-%d.sqlit%15s", &rank, tail) != 2 || strcmp(tail, "e") != 0) continue;
        char path[4300];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        rc = merge_one(s, path);
        if (!rc && n_merged) (*n_merged)++;
    }
    closedir(d);
    return rc;
}

void ll_store_close(ll_store *s) {
    if (!s) return;
    sqlite3_close(s->db);
    if (s->lock_fd >= 0) close(s->lock_fd);   /* releases the flock */
    free(s);
}

int ll_store_put_plan(ll_store *s, const char *plan, const char *variant, int start, int m, int seed, int k,
                      const char *grp) {
    sqlite3_stmt *st = prep(s, "INSERT OR IGNORE INTO plans(plan, variant, s, m, seed, k, grp) VALUES(?,?,?,?,?,?,?)");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, plan, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, variant, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, start);
    sqlite3_bind_int(st, 4, m);
    sqlite3_bind_int(st, 5, seed);
    sqlite3_bind_int(st, 6, k);
    sqlite3_bind_text(st, 7, grp, -1, SQLITE_STATIC);
    return step_done(s, st, "writing a plan");
}

int ll_store_has_item(ll_store *s, const char *task, int item, const char *plan) {
    sqlite3_stmt *st = prep(s, "SELECT 1 FROM items WHERE task = ? AND item = ? AND plan = ?");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, item);
    sqlite3_bind_text(st, 3, plan, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return db_fail(s, "reading items");
}

static char *json_doubles(const double *v, int n) {
    size_t cap = (size_t)n * 26 + 4, w = 0;
    char *b = ll_malloc(cap);
    if (!b) return NULL;
    b[w++] = '[';
    for (int i = 0; i < n; i++) w += (size_t)snprintf(b + w, cap - w, "%s%.17g", i ? "," : "", v[i]);
    snprintf(b + w, cap - w, "]");
    return b;
}

static char *json_ints(const int *v, const bool *bv, int n) {
    size_t cap = (size_t)n * 12 + 4, w = 0;
    char *b = ll_malloc(cap);
    if (!b) return NULL;
    b[w++] = '[';
    for (int i = 0; i < n; i++) w += (size_t)snprintf(b + w, cap - w, "%s%d", i ? "," : "", v ? v[i] : (int)bv[i]);
    snprintf(b + w, cap - w, "]");
    return b;
}

int ll_store_put_item(ll_store *s, const char *task, int item, const char *plan, const ll_eval_item_result *r,
                      double seconds) {
    char *ll = json_doubles(r->ll, r->n_req), *gr = json_ints(NULL, r->greedy, r->n_req), *nc = json_ints(r->n_cont, NULL, r->n_req);
    int rc = -1;
    sqlite3_stmt *st = NULL;
    if (!ll || !gr || !nc) goto done;
    st = prep(s, "INSERT OR REPLACE INTO items(task, item, plan, n_req, ll, greedy, n_cont, pred, pred_norm, acc, acc_norm,"
                 " response, strict, flexible, gold, em_strict, em_flexible, n_gen, seconds)"
                 " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st) goto done;
    int k = 1;
    sqlite3_bind_text(st, k++, task, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, k++, item);
    sqlite3_bind_text(st, k++, plan, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, k++, r->n_req);
    sqlite3_bind_text(st, k++, ll, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, k++, gr, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, k++, nc, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, k++, r->pred);
    sqlite3_bind_int(st, k++, r->pred_norm);
    sqlite3_bind_double(st, k++, r->acc);
    sqlite3_bind_double(st, k++, r->acc_norm);
    const char *texts[4] = {r->response, r->strict, r->flexible, r->gold};
    for (int i = 0; i < 4; i++) {
        if (texts[i]) sqlite3_bind_text(st, k++, texts[i], -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, k++);
    }
    sqlite3_bind_double(st, k++, r->em_strict);
    sqlite3_bind_double(st, k++, r->em_flexible);
    sqlite3_bind_int(st, k++, r->n_gen);
    sqlite3_bind_double(st, k++, seconds);
    rc = step_done(s, st, "writing an item (the results committed before it are kept)");
done:
    free(ll);
    free(gr);
    free(nc);
    return rc;
}

static int parse_doubles(const char *txt, double *out, int n) {
    cJSON *a = txt ? cJSON_Parse(txt) : NULL;
    int rc = cJSON_IsArray(a) && cJSON_GetArraySize(a) == n ? 0 : -1;
    for (int i = 0; !rc && i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(a, i);
        if (!cJSON_IsNumber(v)) rc = -1;
        else out[i] = v->valuedouble;
    }
    cJSON_Delete(a);
    return rc;
}

static char *dup_col(sqlite3_stmt *st, int c) {
    const unsigned char *t = sqlite3_column_text(st, c);
    return t ? ll_strndup((const char *)t, strlen((const char *)t)) : NULL;
}

int ll_store_get_items(ll_store *s, const char *task, const char *plan, const int *items, int n, ll_eval_item_result *r) {
    sqlite3_stmt *st = prep(s, "SELECT n_req, ll, greedy, n_cont, pred, pred_norm, acc, acc_norm, response, strict,"
                               " flexible, gold, em_strict, em_flexible, n_gen FROM items WHERE task = ? AND item = ? AND plan = ?");
    if (!st) return -1;
    int rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        ll_eval_item_result *ir = &r[k];
        memset(ir, 0, sizeof *ir);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, items[k]);
        sqlite3_bind_text(st, 3, plan, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = ll_fail("%s: no result for %s item %d under plan %s", s->path, task, items[k], plan);
            break;
        }
        int nr = sqlite3_column_int(st, 0);
        if (nr < 0 || nr > 64) { rc = ll_fail("%s: %s item %d: bad request count %d", s->path, task, items[k], nr); break; }
        ir->n_req = nr;
        double tmp[64];
        if (!(ir->ll = ll_calloc((size_t)(nr ? nr : 1), sizeof *ir->ll)) ||
            !(ir->greedy = ll_calloc((size_t)(nr ? nr : 1), sizeof *ir->greedy)) ||
            !(ir->n_cont = ll_calloc((size_t)(nr ? nr : 1), sizeof *ir->n_cont))) { rc = -1; break; }
        if (parse_doubles((const char *)sqlite3_column_text(st, 1), ir->ll, nr) ||
            parse_doubles((const char *)sqlite3_column_text(st, 2), tmp, nr)) {
            rc = ll_fail("%s: %s item %d under %s: malformed stored loglikelihoods", s->path, task, items[k], plan);
            break;
        }
        for (int q = 0; q < nr; q++) ir->greedy[q] = tmp[q] != 0;
        if (parse_doubles((const char *)sqlite3_column_text(st, 3), tmp, nr)) {
            rc = ll_fail("%s: %s item %d under %s: malformed stored token counts", s->path, task, items[k], plan);
            break;
        }
        for (int q = 0; q < nr; q++) ir->n_cont[q] = (int)tmp[q];
        ir->pred = sqlite3_column_int(st, 4);
        ir->pred_norm = sqlite3_column_int(st, 5);
        ir->acc = sqlite3_column_double(st, 6);
        ir->acc_norm = sqlite3_column_double(st, 7);
        ir->response = dup_col(st, 8);
        ir->strict = dup_col(st, 9);
        ir->flexible = dup_col(st, 10);
        ir->gold = dup_col(st, 11);
        ir->em_strict = sqlite3_column_double(st, 12);
        ir->em_flexible = sqlite3_column_double(st, 13);
        ir->n_gen = sqlite3_column_int(st, 14);
    }
    sqlite3_finalize(st);
    if (rc)
        for (int k = 0; k < n; k++) ll_eval_item_result_free(&r[k]);
    return rc;
}

long ll_store_count_items(ll_store *s, const char *task, const char *plan) {
    sqlite3_stmt *st = prep(s, "SELECT count(*) FROM items WHERE (?1 IS NULL OR task = ?1) AND (?2 IS NULL OR plan = ?2)");
    if (!st) return -1;
    if (task) sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
    if (plan) sqlite3_bind_text(st, 2, plan, -1, SQLITE_STATIC);
    long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (n < 0) db_fail(s, "counting items");
    return n;
}

long ll_store_count_ppl_windows(ll_store *s) {
    sqlite3_stmt *st = prep(s, "SELECT count(*) FROM ppl_windows");
    if (!st) return -1;
    long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (n < 0) db_fail(s, "counting perplexity windows");
    return n;
}

long ll_store_count_analyses(ll_store *s, const char *prefix) {
    sqlite3_stmt *st = prep(s, "SELECT count(*) FROM analyses WHERE substr(name, 1, length(?1)) = ?1");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (n < 0) db_fail(s, "counting analyses");
    return n;
}

int ll_store_put_ppl(ll_store *s, const char *plan, long long tokens, long long windows, double mean_nll, double ppl,
                     double seconds) {
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO ppl(plan, tokens, windows, mean_nll, ppl, seconds) VALUES(?,?,?,?,?,?)");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, plan, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, tokens);
    sqlite3_bind_int64(st, 3, windows);
    sqlite3_bind_double(st, 4, mean_nll);
    sqlite3_bind_double(st, 5, ppl);
    sqlite3_bind_double(st, 6, seconds);
    return step_done(s, st, "writing a perplexity");
}

int ll_store_begin(ll_store *s) { return exec(s, "BEGIN IMMEDIATE", "beginning a transaction"); }
int ll_store_commit(ll_store *s) { return exec(s, "COMMIT", "committing (what was committed before is kept)"); }
void ll_store_rollback(ll_store *s) { sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); }

static char *ids_text(const int32_t *ids, int n) {
    size_t cap = (size_t)n * 7 + 1, o = 0;
    char *t = ll_malloc(cap);
    if (!t) return NULL;
    t[0] = 0;
    for (int i = 0; i < n; i++) o += (size_t)snprintf(t + o, cap - o, i ? " %d" : "%d", (int)ids[i]);
    return t;
}

int ll_store_put_prompt(ll_store *s, const ll_store_prompt *p) {
    char *ids = ids_text(p->ids, p->n_tokens), *rel = json_doubles(p->id_rel, p->n_layers),
         *abs_ = json_doubles(p->id_abs, p->n_layers);
    int rc = -1;
    sqlite3_stmt *st = NULL;
    if (!ids || !rel || !abs_) goto done;
    st = prep(s, "INSERT OR REPLACE INTO prompts(task, item, plan, k, cond, n_tokens, ids, id_rel, id_abs, n_states, dim,"
                 " states) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st) goto done;
    sqlite3_bind_text(st, 1, p->task, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, p->item);
    sqlite3_bind_text(st, 3, p->plan, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, p->k);
    sqlite3_bind_text(st, 5, p->cond, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, p->n_tokens);
    sqlite3_bind_text(st, 7, ids, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, rel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, abs_, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, p->n_states);
    sqlite3_bind_int(st, 11, p->dim);
    if (p->states) sqlite3_bind_blob(st, 12, p->states, (int)((size_t)p->n_states * p->dim * sizeof(float)), SQLITE_STATIC);
    else sqlite3_bind_null(st, 12);
    rc = step_done(s, st, "writing a prompt (the results committed before it are kept)");
done:
    free(ids);
    free(rel);
    free(abs_);
    return rc;
}

void ll_store_prompt_free(ll_store_prompt *p) {
    free(p->ids);
    free(p->id_rel);
    free(p->id_abs);
    free(p->states);
    memset(p, 0, sizeof *p);
}

int ll_store_each_prompt(ll_store *s, bool states, int (*fn)(void *ctx, const ll_store_prompt *p), void *ctx) {
    sqlite3_stmt *st = prep(s, "SELECT task, item, plan, k, cond, n_tokens, ids, id_rel, id_abs, n_states, dim, states"
                               " FROM prompts ORDER BY task, item, k, cond");
    if (!st) return -1;
    int rc = 0, step;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        ll_store_prompt p;
        memset(&p, 0, sizeof p);
        snprintf(p.task, sizeof p.task, "%s", (const char *)sqlite3_column_text(st, 0));
        p.item = sqlite3_column_int(st, 1);
        snprintf(p.plan, sizeof p.plan, "%s", (const char *)sqlite3_column_text(st, 2));
        p.k = sqlite3_column_int(st, 3);
        snprintf(p.cond, sizeof p.cond, "%s", (const char *)sqlite3_column_text(st, 4));
        p.n_tokens = sqlite3_column_int(st, 5);
        const char *ids = (const char *)sqlite3_column_text(st, 6), *rel = (const char *)sqlite3_column_text(st, 7),
                   *abs_ = (const char *)sqlite3_column_text(st, 8);
        p.n_states = sqlite3_column_int(st, 9);
        p.dim = sqlite3_column_int(st, 10);
        p.n_layers = p.n_states - 1;
        if (p.n_tokens < 1 || p.n_layers < 1 || p.dim < 1 || !ids || !rel || !abs_) {
            rc = ll_fail("%s: prompt %s item %d %s: malformed row", s->path, p.task, p.item, p.plan);
            break;
        }
        if (!(p.ids = ll_malloc((size_t)p.n_tokens * sizeof *p.ids)) || !(p.id_rel = ll_malloc((size_t)p.n_layers * sizeof *p.id_rel)) ||
            !(p.id_abs = ll_malloc((size_t)p.n_layers * sizeof *p.id_abs))) {
            ll_store_prompt_free(&p);
            rc = -1;
            break;
        }
        const char *q = ids;
        for (int i = 0; i < p.n_tokens && !rc; i++) {
            char *e;
            long v = strtol(q, &e, 10);
            if (e == q) rc = ll_fail("%s: prompt %s item %d %s: malformed token ids", s->path, p.task, p.item, p.plan);
            p.ids[i] = (int32_t)v;
            q = e;
        }
        if (!rc && (parse_doubles(rel, p.id_rel, p.n_layers) || parse_doubles(abs_, p.id_abs, p.n_layers)))
            rc = ll_fail("%s: prompt %s item %d %s: malformed attention-ID", s->path, p.task, p.item, p.plan);
        if (!rc && states) {
            size_t nb = (size_t)p.n_states * p.dim * sizeof(float);
            const void *b = sqlite3_column_blob(st, 11);
            if (!b || (size_t)sqlite3_column_bytes(st, 11) != nb)
                rc = ll_fail("%s: prompt %s item %d %s: hidden states missing or of the wrong size", s->path, p.task, p.item, p.plan);
            else if (!(p.states = ll_malloc(nb))) rc = -1;
            else memcpy(p.states, b, nb);
        }
        if (!rc) rc = fn(ctx, &p);
        ll_store_prompt_free(&p);
    }
    if (!rc && step != SQLITE_DONE) rc = db_fail(s, "reading prompts");
    sqlite3_finalize(st);
    return rc;
}

int ll_store_put_ppl_window(ll_store *s, const char *plan, long long window, double total, long long scored,
                            double seconds) {
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO ppl_windows(plan, window, total, scored, seconds) VALUES(?,?,?,?,?)");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, plan, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, window);
    sqlite3_bind_double(st, 3, total);
    sqlite3_bind_int64(st, 4, scored);
    sqlite3_bind_double(st, 5, seconds);
    return step_done(s, st, "writing a perplexity window");
}

int ll_store_last_ppl_window(ll_store *s, const char *plan, long long *window, double *total, long long *scored,
                             double *seconds) {
    sqlite3_stmt *st = prep(s, "SELECT window, total, scored, (SELECT sum(seconds) FROM ppl_windows WHERE plan = ?1)"
                               " FROM ppl_windows WHERE plan = ?1 ORDER BY window DESC LIMIT 1");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, plan, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *window = sqlite3_column_int64(st, 0);
        *total = sqlite3_column_double(st, 1);
        *scored = sqlite3_column_int64(st, 2);
        *seconds = sqlite3_column_double(st, 3);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return db_fail(s, "reading perplexity windows");
}

int ll_store_get_ppl_window(ll_store *s, const char *plan, long long window, double *total, long long *scored) {
    sqlite3_stmt *st = prep(s, "SELECT total, scored FROM ppl_windows WHERE plan = ? AND window = ?");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, plan, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, window);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (total) *total = sqlite3_column_double(st, 0);
        if (scored) *scored = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return db_fail(s, "reading a perplexity window");
}

int ll_store_get_ppl(ll_store *s, const char *plan, double *mean_nll, double *ppl, long long *tokens) {
    sqlite3_stmt *st = prep(s, "SELECT mean_nll, ppl, tokens FROM ppl WHERE plan = ?");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, plan, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (mean_nll) *mean_nll = sqlite3_column_double(st, 0);
        if (ppl) *ppl = sqlite3_column_double(st, 1);
        if (tokens) *tokens = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return db_fail(s, "reading perplexities");
}

int ll_store_put_analysis(ll_store *s, const char *name, const char *json) {
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO analyses(name, value) VALUES(?, ?)");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
    return step_done(s, st, "writing an analysis");
}

char *ll_store_get_analysis(ll_store *s, const char *name, bool *found) {
    *found = false;
    sqlite3_stmt *st = prep(s, "SELECT value FROM analyses WHERE name = ?");
    if (!st) return NULL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *found = true;
        out = dup_col(st, 0);
    }
    sqlite3_finalize(st);
    return out;
}

int ll_store_add_progress(ll_store *s, const char *key, double v) {
    sqlite3_stmt *st = prep(s, "INSERT INTO progress(key, value) VALUES(?1, ?2)"
                               " ON CONFLICT(key) DO UPDATE SET value = value + ?2");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, v);
    return step_done(s, st, "writing progress");
}

int ll_store_set_progress(ll_store *s, const char *key, double v) {
    sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO progress(key, value) VALUES(?, ?)");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, v);
    return step_done(s, st, "writing progress");
}

double ll_store_get_progress(ll_store *s, const char *key) {
    sqlite3_stmt *st = prep(s, "SELECT value FROM progress WHERE key = ?");
    if (!st) return 0;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    double v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_double(st, 0) : 0;
    sqlite3_finalize(st);
    return v;
}

int ll_store_list_plans(ll_store *s, ll_store_plan **out, int *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = prep(s, "SELECT plan, variant, grp, s, m, seed, k FROM plans ORDER BY rowid");
    if (!st) return -1;
    int cap = 0, rc = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            ll_store_plan *nv = ll_realloc(*out, (size_t)cap * sizeof *nv);
            if (!nv) { rc = -1; break; }
            *out = nv;
        }
        ll_store_plan *p = &(*out)[(*n)++];
        memset(p, 0, sizeof *p);
        snprintf(p->plan, sizeof p->plan, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(p->variant, sizeof p->variant, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(p->grp, sizeof p->grp, "%s", (const char *)sqlite3_column_text(st, 2));
        p->s = sqlite3_column_int(st, 3);
        p->m = sqlite3_column_int(st, 4);
        p->seed = sqlite3_column_int(st, 5);
        p->k = sqlite3_column_int(st, 6);
    }
    sqlite3_finalize(st);
    if (rc) { free(*out); *out = NULL; *n = 0; }
    return rc;
}

int ll_store_list_tasks(ll_store *s, char ***out, int *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = prep(s, "SELECT DISTINCT task FROM items ORDER BY task");   /* independent of the order of writing */
    if (!st) return -1;
    int rc = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        char **nv = ll_realloc(*out, (size_t)(*n + 1) * sizeof *nv);
        if (!nv) { rc = -1; break; }
        *out = nv;
        if (!((*out)[*n] = dup_col(st, 0))) rc = -1;
        else (*n)++;
    }
    sqlite3_finalize(st);
    return rc;
}

int ll_store_item_ids(ll_store *s, const char *task, const char *plan, int **out, int *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = prep(s, "SELECT item FROM items WHERE task = ? AND plan = ? ORDER BY item");
    if (!st) return -1;
    sqlite3_bind_text(st, 1, task, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, plan, -1, SQLITE_STATIC);
    int cap = 0, rc = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            int *nv = ll_realloc(*out, (size_t)cap * sizeof *nv);
            if (!nv) { rc = -1; break; }
            *out = nv;
        }
        (*out)[(*n)++] = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}
