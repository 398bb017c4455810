/* ffi.c — the foreign-function entry points of include/layerlab.h: scalars, pointers and a JSON object of
 * options in, caller buffers or opaque result handles out, so that a binding (the Python package, python/)
 * needs no struct mirrors. Each function does what the matching `layerlab` command does, through the same
 * library calls (logits: cmd_logits.c; cache: the probe collector's taps; probes: ll_probe_run; eval:
 * ll_eval_run; studies: ll_study_store_open, ll_painters_run / ll_geometry_run, ll_study_store_gather, in one
 * process), so both give the same bits. */
#include "layerlab.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "eval/eval.h"
#include "model/model.h"
#include "plan/plan.h"
#include "probe/idim.h"
#include "probe/probe.h"
#include "probe/run.h"
#include "run/engine.h"
#include "study/geometry.h"
#include "study/painters.h"
#include "study/shard.h"
#include "study/store.h"
#include "tokenizer/tokenizer.h"
#include "util/clock.h"
#include "util/err.h"

void ll_free(void *p) { free(p); }
const char *ll_version(void) { return LAYERLAB_VERSION; }

/* ------------------------------------------------------------------ JSON options ---- */

typedef struct {
    cJSON *root;       /* an object, or NULL: every default */
    const char *fn;    /* the function, for messages */
} jopt;

#define RUN_KEYS "plan", "threads", "exact", "parallel_kv"

static void jopt_close(jopt *o) {
    cJSON_Delete(o->root);
    o->root = NULL;
}

/* Parses json (NULL or blank: no options) and refuses a key that is not in known (NULL-terminated). */
static int jopt_open(jopt *o, const char *json, const char *fn, const char *const *known) {
    o->root = NULL;
    o->fn = fn;
    const char *p = json;
    while (p && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    if (!p || !*p) return 0;
    o->root = cJSON_Parse(json);
    if (!o->root) {
        const char *at = cJSON_GetErrorPtr();
        return ll_fail("%s: the options are not valid JSON (near '%.24s')", fn, at ? at : json);
    }
    if (!cJSON_IsObject(o->root)) {
        jopt_close(o);
        return ll_fail("%s: the options must be a JSON object, got '%.40s'", fn, json);
    }
    for (cJSON *c = o->root->child; c; c = c->next) {
        bool ok = false;
        for (int k = 0; known[k] && !ok; k++) ok = !strcmp(c->string, known[k]);
        if (!ok) {
            char list[512] = "";
            for (int k = 0; known[k]; k++) {
                if (k) strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, known[k], sizeof list - strlen(list) - 1);
            }
            ll_fail("%s: unknown option '%s' (options: %s)", fn, c->string, list);
            jopt_close(o);
            return -1;
        }
    }
    return 0;
}

/* the value of key, or NULL when absent or null */
static const cJSON *jget(const jopt *o, const char *key) {
    const cJSON *v = o->root ? cJSON_GetObjectItemCaseSensitive(o->root, key) : NULL;
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static int j_bool(const jopt *o, const char *key, bool *out) {
    const cJSON *v = jget(o, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) return ll_fail("%s: option '%s' must be true or false", o->fn, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int j_int(const jopt *o, const char *key, long long lo, long long hi, long long *out) {
    const cJSON *v = jget(o, key);
    if (!v) return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!isfinite(d) || d != floor(d)) return ll_fail("%s: option '%s' must be an integer", o->fn, key);
    if (d < (double)lo || d > (double)hi)
        return ll_fail("%s: option '%s' = %.0f is out of range [%lld, %lld]", o->fn, key, d, lo, hi);
    *out = (long long)d;
    return 0;
}

static int j_num(const jopt *o, const char *key, double lo, double hi, double *out) {
    const cJSON *v = jget(o, key);
    if (!v) return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!isfinite(d)) return ll_fail("%s: option '%s' must be a number", o->fn, key);
    if (d < lo || d > hi) return ll_fail("%s: option '%s' = %g is out of range [%g, %g]", o->fn, key, d, lo, hi);
    *out = d;
    return 0;
}

/* a string option (valid while o is open) */
static int j_str(const jopt *o, const char *key, const char **out) {
    const cJSON *v = jget(o, key);
    if (!v) return 0;
    if (!cJSON_IsString(v) || !v->valuestring) return ll_fail("%s: option '%s' must be a string", o->fn, key);
    *out = v->valuestring;
    return 0;
}

/* a list of names: a JSON array of strings or one comma-separated string; returns the count or -1 */
static int j_names(const jopt *o, const char *key, char out[][40], int max) {
    const cJSON *v = jget(o, key);
    if (!v) return 0;
    int n = 0;
    if (cJSON_IsString(v)) {
        const char *p = v->valuestring;
        while (*p) {
            const char *c = strchr(p, ',');
            size_t l = c ? (size_t)(c - p) : strlen(p);
            if (!l || l >= 40) return ll_fail("%s: option '%s': bad list '%s'", o->fn, key, v->valuestring);
            if (n == max) return ll_fail("%s: option '%s': at most %d entries", o->fn, key, max);
            memcpy(out[n], p, l);
            out[n++][l] = 0;
            p += l + (c ? 1 : 0);
        }
        return n;
    }
    if (!cJSON_IsArray(v)) return ll_fail("%s: option '%s' must be a list of names", o->fn, key);
    for (const cJSON *c = v->child; c; c = c->next) {
        if (!cJSON_IsString(c) || !*c->valuestring || strlen(c->valuestring) >= 40)
            return ll_fail("%s: option '%s': every entry must be a name", o->fn, key);
        if (n == max) return ll_fail("%s: option '%s': at most %d entries", o->fn, key, max);
        strcpy(out[n++], c->valuestring);
    }
    return n;
}

/* a JSON array of integers in [lo, hi]; returns the count or -1 */
static int j_ints(const jopt *o, const char *key, int *out, int max, int lo, int hi) {
    const cJSON *v = jget(o, key);
    if (!v) return 0;
    if (!cJSON_IsArray(v)) return ll_fail("%s: option '%s' must be a list of integers", o->fn, key);
    int n = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        double d = cJSON_IsNumber(c) ? c->valuedouble : NAN;
        if (!isfinite(d) || d != floor(d) || d < lo || d > hi)
            return ll_fail("%s: option '%s': every entry must be an integer in [%d, %d]", o->fn, key, lo, hi);
        if (n == max) return ll_fail("%s: option '%s': at most %d entries", o->fn, key, max);
        out[n++] = (int)d;
    }
    return n;
}

/* ------------------------------------------------------------------ shared pieces ---- */

typedef struct {
    const char *plan;
    int threads;
    bool exact, pkv;
} run_opts;

static int run_opts_read(const jopt *o, run_opts *r) {
    r->plan = NULL;
    r->threads = 2;
    r->exact = true;
    r->pkv = false;
    long long th = 2;
    const char *pkv = NULL;
    if (j_str(o, "plan", &r->plan) || j_int(o, "threads", 1, 256, &th) || j_bool(o, "exact", &r->exact) ||
        j_str(o, "parallel_kv", &pkv))
        return -1;
    r->threads = (int)th;
    if (pkv) {
        if (!strcmp(pkv, "mean")) r->pkv = true;
        else if (strcmp(pkv, "own")) return ll_fail("%s: option 'parallel_kv': expected \"own\" or \"mean\", got '%s'", o->fn, pkv);
    }
    return 0;
}

static int make_order(const ll_model *m, const run_opts *r, ll_order *out) {
    memset(out, 0, sizeof *out);
    return r->plan ? ll_plan_parse(r->plan, m->n_layer, out) : ll_order_full(out, m->n_layer);
}

/* The options of a call that takes only RUN_KEYS, read, and its plan as an order (free it with ll_order_free).
 * r->plan points into the parsed options, which are gone when this returns: read only the other fields. */
static int run_setup(const ll_model *m, const char *opts_json, const char *fn, run_opts *r, ll_order *ord) {
    static const char *const keys[] = {RUN_KEYS, NULL};
    jopt o;
    if (jopt_open(&o, opts_json, fn, keys)) return -1;
    int rc = run_opts_read(&o, r);
    if (!rc) rc = make_order(m, r, ord);
    jopt_close(&o);
    r->plan = NULL;
    return rc ? -1 : 0;
}

static int check_model(const void *m, const char *fn) { return m ? 0 : ll_fail("%s: no model (NULL)", fn); }

/* The files task reads: data, else <data_dir or $LAYERLAB_DATA>/<its default file>; gsm8k's few-shot
 * pool: fewshot, else gsm8k_train.jsonl beside the data. Caller frees both. */
static int task_files(const char *fn, const char *task, const char *data, const char *fewshot, const char *data_dir,
                      char **path, char **few) {
    *path = *few = NULL;
    const char *file = task ? ll_eval_default_file(task) : NULL;
    if (!file) {
        char names[256] = "";
        for (int i = 0; ll_eval_task_names[i]; i++) {
            if (i) strncat(names, ", ", sizeof names - strlen(names) - 1);
            strncat(names, ll_eval_task_names[i], sizeof names - strlen(names) - 1);
        }
        return ll_fail("%s: unknown task '%s' (tasks: %s)", fn, task ? task : "(none)", names);
    }
    if (data) {
        if (!(*path = ll_strndup(data, strlen(data)))) return -1;
    } else {
        const char *dir = data_dir && *data_dir ? data_dir : getenv("LAYERLAB_DATA");
        if (!dir || !*dir)
            return ll_fail("%s: task %s: no data file: give the option \"data\" (the file) or \"data_dir\" (the folder "
                           "with %s), or set LAYERLAB_DATA", fn, task, file);
        size_t l = strlen(dir) + strlen(file) + 2;
        if (!(*path = ll_malloc(l))) return -1;
        snprintf(*path, l, "%s/%s", dir, file);
        if (access(*path, R_OK) != 0) {
            int err = errno;
            ll_fail("%s: task %s: cannot read '%s' (%s); give the option \"data\" or \"data_dir\"", fn, task, *path,
                    strerror(err));
            free(*path);
            *path = NULL;
            return -1;
        }
    }
    if (strcmp(task, "gsm8k")) return 0;
    if (fewshot) {
        *few = ll_strndup(fewshot, strlen(fewshot));
    } else {
        const char *slash = strrchr(*path, '/');
        size_t dl = slash ? (size_t)(slash - *path + 1) : 0;
        if ((*few = ll_malloc(dl + 32))) {
            memcpy(*few, *path, dl);
            strcpy(*few + dl, "gsm8k_train.jsonl");
        }
    }
    if (!*few) {
        free(*path);
        *path = NULL;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ logits ---- */

int ll_ffi_plan(const ll_model *m, const char *opts_json, int *members, int cap) {
    if (check_model(m, "plan")) return -1;
    run_opts r;
    ll_order ord;
    if (run_setup(m, opts_json, "plan", &r, &ord)) return -1;
    int n = ord.n_entries;
    for (int i = 0; members && i < n && i < cap; i++) members[i] = ord.entries[i].n;
    ll_order_free(&ord);
    return n;
}

int ll_ffi_logits(ll_model *m, const int32_t *ids, int T, const char *opts_json, float *out) {
    const char *fn = "logits";
    if (check_model(m, fn)) return -1;
    if (!ids || !out) return ll_fail("logits: ids and out must not be NULL");
    if (T < 1) return ll_fail("logits: no tokens");
    if (T > m->n_ctx_train) return ll_fail("logits: %d tokens exceed the model's context of %d", T, m->n_ctx_train);
    if (!m->has_head)
        return ll_fail("logits: %s is a %s encoder without an LM head: it has hidden states, not logits", m->path, m->arch);
    run_opts r;
    ll_order ord;
    if (run_setup(m, opts_json, fn, &r, &ord)) return -1;
    ll_engine_opts eo = {.n_ctx = T, .n_threads = r.threads, .exact = r.exact, .parallel_kv_mean = r.pkv};
    ll_engine *e = ll_engine_new(m, &ord, &eo);
    ll_order_free(&ord);
    if (!e) return -1;
    int rc = ll_engine_forward(e, ids, T, 0, out, LL_LOGITS_ALL);
    ll_engine_free(e);
    return rc ? ll_fail_prefix("logits: ") : 0;
}

/* ------------------------------------------------------------------ cache ---- */

enum { HK_EMBED, HK_RESID_PRE, HK_RESID_POST, HK_PATTERN, HK_MLP_PRE, HK_LOGITS };

static const char *const HOOK_LIST = "hook_embed, blocks.L.hook_resid_pre, blocks.L.hook_resid_post, "
                                     "blocks.L.attn.hook_pattern, blocks.L.mlp.hook_pre, logits";

/* name -> kind and entry (-1 for the model-wide names) */
static int parse_hook(const char *name, int *kind, int *entry) {
    *kind = -1;
    *entry = -1;
    if (!name) return ll_fail("cache: a NULL name");
    if (!strcmp(name, "hook_embed")) return *kind = HK_EMBED, 0;
    if (!strcmp(name, "logits")) return *kind = HK_LOGITS, 0;
    if (!strncmp(name, "blocks.", 7) && name[7] >= '0' && name[7] <= '9') {
        const char *p = name + 7;
        long v = 0;
        while (*p >= '0' && *p <= '9' && v < 1000000) v = v * 10 + (*p++ - '0');
        static const struct { const char *suffix; int kind; } sfx[] = {
            {".hook_resid_pre", HK_RESID_PRE}, {".hook_resid_post", HK_RESID_POST},
            {".attn.hook_pattern", HK_PATTERN}, {".mlp.hook_pre", HK_MLP_PRE}};
        for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++)
            if (!strcmp(p, sfx[i].suffix) && !(p - name > 8 && name[7] == '0')) {
                *kind = sfx[i].kind;
                *entry = (int)v;
                return 0;
            }
    }
    return ll_fail("cache: unknown name '%s' (names: %s)", name, HOOK_LIST);
}

static int hook_shape(const ll_model *m, const ll_order *ord, int T, const char *name, int *kind, int *entry,
                      int64_t shape[4]) {
    if (parse_hook(name, kind, entry)) return -1;
    if (*entry >= ord->n_entries)
        return ll_fail("cache: '%s': the plan has %d entries (blocks.0 .. blocks.%d)", name, ord->n_entries,
                       ord->n_entries - 1);
    int n = *entry >= 0 ? ord->entries[*entry].n : 1, d = 0;
    switch (*kind) {
    case HK_EMBED:
    case HK_RESID_PRE:
    case HK_RESID_POST: shape[d++] = T, shape[d++] = m->n_embd; break;
    case HK_PATTERN:
        if (n > 1) shape[d++] = n;
        shape[d++] = m->n_head, shape[d++] = T, shape[d++] = T;
        break;
    case HK_MLP_PRE:
        if (n > 1) shape[d++] = n;
        shape[d++] = T, shape[d++] = m->n_ff;
        break;
    default:
        if (!m->has_head) return ll_fail("cache: 'logits': %s is an encoder without an LM head", m->path);
        shape[d++] = T, shape[d++] = m->n_vocab;
    }
    return d;
}

typedef struct {
    int T, D, H, F, E;
    float *embed, *logits;
    float **pre, **post, **pattern, **mlp;   /* [E] each: the caller's buffers, or NULL */
    bool want_attn;
} cache_ctx;

static void cache_hidden(void *ctx, int entry, const float *x, int T, int pos0) {
    cache_ctx *c = ctx;
    if (pos0 != 0 || T != c->T) return;
    size_t n = (size_t)T * c->D * sizeof(float);
    if (entry < 0 && c->embed) memcpy(c->embed, x, n);
    if (entry >= 0 && entry < c->E && c->post[entry]) memcpy(c->post[entry], x, n);
    int next = entry + 1;
    if (next >= 0 && next < c->E && c->pre[next]) memcpy(c->pre[next], x, n);
}

static bool cache_want_attn(void *ctx, int pos) {
    (void)pos;
    return ((cache_ctx *)ctx)->want_attn;
}

static void cache_attn(void *ctx, int entry, int member, int head, int pos, int k0, int k1, const float *w) {
    cache_ctx *c = ctx;
    if (entry < 0 || entry >= c->E || !c->pattern[entry]) return;
    if (pos < 0 || pos >= c->T || k0 < 0 || k1 > c->T || k1 <= k0 || head < 0 || head >= c->H || member < 0) return;
    float *row = c->pattern[entry] + (((size_t)member * c->H + head) * c->T + pos) * c->T;
    memcpy(row + k0, w, (size_t)(k1 - k0) * sizeof *w);
}

static void cache_gate(void *ctx, int entry, int member, const float *g, int T, int pos0) {
    cache_ctx *c = ctx;
    if (entry < 0 || entry >= c->E || !c->mlp[entry] || pos0 != 0 || T != c->T || member < 0) return;
    memcpy(c->mlp[entry] + (size_t)member * T * c->F, g, (size_t)T * c->F * sizeof *g);
}

int ll_ffi_cache_shape(const ll_model *m, int T, const char *opts_json, const char *name, int64_t shape[4]) {
    if (check_model(m, "cache")) return -1;
    if (!shape) return ll_fail("cache: shape must not be NULL");
    if (T < 1) return ll_fail("cache: no tokens");
    run_opts r;
    ll_order ord;
    if (run_setup(m, opts_json, "cache", &r, &ord)) return -1;
    int kind, entry;
    int rc = hook_shape(m, &ord, T, name, &kind, &entry, shape);
    ll_order_free(&ord);
    return rc;
}

int ll_ffi_cache(ll_model *m, const int32_t *ids, int T, const char *opts_json, const char *const *names, int n_names,
                 float *const *bufs) {
    if (check_model(m, "cache")) return -1;
    if (!ids || (n_names > 0 && (!names || !bufs))) return ll_fail("cache: ids, names and buffers must not be NULL");
    if (n_names < 0) return ll_fail("cache: %d names", n_names);
    if (T < 1) return ll_fail("cache: no tokens");
    if (T > m->n_ctx_train) return ll_fail("cache: %d tokens exceed the model's context of %d", T, m->n_ctx_train);
    run_opts r;
    ll_order ord;
    if (run_setup(m, opts_json, "cache", &r, &ord)) return -1;
    int E = ord.n_entries;
    cache_ctx c = {.T = T, .D = m->n_embd, .H = m->n_head, .F = m->n_ff, .E = E};
    ll_engine *e = NULL;
    c.pre = ll_calloc((size_t)E * 4, sizeof *c.pre);
    int rc = c.pre ? 0 : -1;
    if (!rc) c.post = c.pre + E, c.pattern = c.pre + 2 * E, c.mlp = c.pre + 3 * E;
    for (int i = 0; i < n_names && !rc; i++) {
        int64_t shape[4];
        int kind, entry, nd = hook_shape(m, &ord, T, names[i], &kind, &entry, shape);
        if (nd < 0) { rc = -1; break; }
        if (!bufs[i]) { rc = ll_fail("cache: the buffer for '%s' is NULL", names[i]); break; }
        float **slot = kind == HK_EMBED ? &c.embed : kind == HK_LOGITS ? &c.logits : kind == HK_RESID_PRE ? &c.pre[entry]
                     : kind == HK_RESID_POST ? &c.post[entry] : kind == HK_PATTERN ? &c.pattern[entry] : &c.mlp[entry];
        if (*slot) { rc = ll_fail("cache: '%s' is asked for twice", names[i]); break; }
        *slot = bufs[i];
        if (kind == HK_PATTERN) {   /* keys a query does not attend to stay 0 */
            size_t n = 1;
            for (int d = 0; d < nd; d++) n *= (size_t)shape[d];
            memset(bufs[i], 0, n * sizeof(float));
            c.want_attn = true;
        }
    }
    ll_engine_opts eo = {.n_ctx = T, .n_threads = r.threads, .exact = r.exact, .parallel_kv_mean = r.pkv};
    if (!rc && !(e = ll_engine_new(m, &ord, &eo))) rc = -1;
    if (!rc) {
        ll_tap tap = {.ctx = &c, .hidden = cache_hidden, .want_attn = cache_want_attn, .attn = cache_attn, .gate = cache_gate};
        ll_engine_set_tap(e, &tap);
        rc = ll_engine_forward(e, ids, T, 0, c.logits, c.logits ? LL_LOGITS_ALL : LL_LOGITS_NONE);
        if (rc) ll_fail_prefix("cache: ");
    }
    ll_engine_free(e);
    free(c.pre);
    ll_order_free(&ord);
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------------ probes ---- */

int ll_ffi_task_samples(const ll_model *m, const char *task, const char *opts_json, int32_t **ids, int64_t **lens,
                        int *n) {
    static const char *const keys[] = {"limit", "bos", "data", "fewshot", "data_dir", NULL};
    const char *fn = "task_samples";
    if (check_model(m, fn)) return -1;
    if (!ids || !lens || !n) return ll_fail("task_samples: the outputs must not be NULL");
    *ids = NULL, *lens = NULL, *n = 0;
    if (!m->tok) return ll_fail("task_samples: %s has no tokenizer (a llama2.c checkpoint needs its tokenizer.bin)", m->path);
    jopt o;
    if (jopt_open(&o, opts_json, fn, keys)) return -1;
    long long limit = -1;
    bool bos = ll_tok_default_bos(m->tok);
    const char *data = NULL, *fewshot = NULL, *data_dir = NULL;
    char *path = NULL, *few = NULL;
    int rc = j_int(&o, "limit", -1, INT32_MAX, &limit) || j_bool(&o, "bos", &bos) || j_str(&o, "data", &data) ||
             j_str(&o, "fewshot", &fewshot) || j_str(&o, "data_dir", &data_dir)
                 ? -1 : task_files(fn, task, data, fewshot, data_dir, &path, &few);
    jopt_close(&o);
    if (rc) return -1;
    ll_eval_task t;
    ll_probe_samples ss = {0};
    rc = ll_eval_load(task, path, few, &t);
    free(path);
    free(few);
    if (rc) return -1;
    rc = ll_probe_task_samples(m->tok, bos, &t, (long)limit, &ss);
    ll_eval_task_free(&t);
    size_t total = 0;
    for (int i = 0; !rc && i < ss.n; i++) total += (size_t)ss.s[i].n;
    if (!rc && (!(*ids = ll_malloc(total * sizeof **ids)) || !(*lens = ll_malloc((size_t)ss.n * sizeof **lens)))) rc = -1;
    for (int i = 0, off = 0; !rc && i < ss.n; i++) {
        memcpy(*ids + off, ss.s[i].ids, (size_t)ss.s[i].n * sizeof **ids);
        (*lens)[i] = ss.s[i].n;
        off += ss.s[i].n;
    }
    if (!rc) *n = ss.n;
    else {
        free(*ids), free(*lens);
        *ids = NULL, *lens = NULL;
    }
    ll_probe_samples_free(&ss);
    return rc;
}

struct ll_probe_out {
    ll_probe_results r;
    int kinds, span;
    double *members;   /* [E] as float64 */
};

static int samples_from(const char *what, const int32_t *ids, const int64_t *lens, int n, ll_probe_samples *ss) {
    if (n < 1) return ll_fail("probe: no %s samples", what);
    if (!ids || !lens) return ll_fail("probe: the %s ids and lengths must not be NULL", what);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        if (lens[i] < 1 || lens[i] > INT32_MAX) return ll_fail("probe: %s sample %d has %lld tokens", what, i, (long long)lens[i]);
        if (ll_probe_samples_add(ss, ids + off, (int)lens[i])) return -1;
        off += (size_t)lens[i];
    }
    return 0;
}

static int parse_kinds(const char *s, int *kinds) {
    *kinds = 0;
    if (!s) return ll_fail("probe: no kinds given");
    const char *p = s;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        static const struct { const char *name; int bit; } k[] = {
            {"cosine", LL_PROBE_COSINE}, {"block-influence", LL_PROBE_BI}, {"attention-id", LL_PROBE_ATTN},
            {"mlp-regions", LL_PROBE_MLP}, {"intrinsic-dim", LL_PROBE_IDIM}, {"none", LL_PROBE_NONE}};
        int bit = 0;
        for (size_t i = 0; i < sizeof k / sizeof *k; i++)
            if (strlen(k[i].name) == l && !strncmp(p, k[i].name, l)) bit = k[i].bit;
        if (!bit)
            return ll_fail("probe: unknown kind '%.*s' (cosine, block-influence, attention-id, mlp-regions, intrinsic-dim, "
                           "none)", (int)l, p);
        *kinds |= bit;
        p += l + (c ? 1 : 0);
    }
    return *kinds ? 0 : ll_fail("probe: no kinds given");
}

ll_probe_out *ll_ffi_probe(ll_model *m, const char *kinds, const int32_t *ids, const int64_t *lens, int n,
                           const int32_t *cmp_ids, const int64_t *cmp_lens, int n_cmp, const char *opts_json) {
    static const char *const keys[] = {RUN_KEYS, "pad", "first_position", "span", "eps", "threshold", "position",
                                       "all_positions", "eps_sweep", "entry", "points", NULL};
    if (check_model(m, "probe")) return NULL;
    ll_probe_run_opts ro;
    ll_probe_run_default_opts(&ro);
    if (parse_kinds(kinds, &ro.kinds)) return NULL;
    jopt o;
    if (jopt_open(&o, opts_json, "probe", keys)) return NULL;
    run_opts r;
    long long first = 0, span = 0, position = -1, entry = -1;
    const char *threshold = NULL, *points = NULL;
    ll_probe_opts *po = &ro.tap;
    int rc = run_opts_read(&o, &r) || j_bool(&o, "pad", &ro.pad) || j_int(&o, "first_position", 0, 1 << 24, &first) ||
             j_int(&o, "span", 0, 1 << 16, &span) || j_num(&o, "eps", 0, 1, &po->eps[0]) ||
             j_str(&o, "threshold", &threshold) || j_int(&o, "position", -1, 1 << 24, &position) ||
             j_bool(&o, "all_positions", &po->all_positions) || j_int(&o, "entry", -1, 1 << 16, &entry) ||
             j_str(&o, "points", &points) ? -1 : 0;
    if (!rc && threshold) {
        if (!strcmp(threshold, "relative")) po->relative = true;
        else if (!strcmp(threshold, "absolute")) po->relative = false;
        else rc = ll_fail("probe: option 'threshold': expected \"relative\" or \"absolute\", got '%s'", threshold);
    }
    if (!rc && points) {
        if (!strcmp(points, "tokens")) ro.points_prompts = false;
        else if (!strcmp(points, "prompts")) ro.points_prompts = true;
        else rc = ll_fail("probe: option 'points': expected \"tokens\" or \"prompts\", got '%s'", points);
    }
    const cJSON *sweep = rc ? NULL : jget(&o, "eps_sweep");
    if (sweep) {
        if (!cJSON_IsArray(sweep) || !sweep->child) rc = ll_fail("probe: option 'eps_sweep' must be a non-empty list of numbers");
        for (const cJSON *c = sweep->child; !rc && c; c = c->next) {
            if (po->n_eps >= LL_PROBE_MAX_EPS) rc = ll_fail("probe: option 'eps_sweep': at most %d values", LL_PROBE_MAX_EPS - 1);
            else if (!cJSON_IsNumber(c) || !(c->valuedouble >= 0 && c->valuedouble <= 1))
                rc = ll_fail("probe: option 'eps_sweep': every value must be a number in [0, 1]");
            else po->eps[po->n_eps++] = c->valuedouble;
        }
    }
    ll_order ord = {0, NULL, 0};
    if (!rc) rc = make_order(m, &r, &ord);   /* before the options close: the plan string is theirs */
    jopt_close(&o);
    if (rc) return NULL;
    ro.first_position = (int)first;
    ro.span = (int)span;
    po->position = (int)position;
    ro.entry_k = (int)entry;
    ro.n_threads = r.threads;
    ro.exact = r.exact;
    ro.parallel_kv_mean = r.pkv;
    ll_probe_samples ss = {0}, cmp = {0};
    ll_probe_out *out = NULL;
    if (samples_from("input", ids, lens, n, &ss)) goto done;
    if (n_cmp > 0 || cmp_ids) {
        if (!(ro.kinds & LL_PROBE_MLP)) { ll_fail("probe: compare samples are for mlp-regions"); goto done; }
        if (samples_from("compare", cmp_ids, cmp_lens, n_cmp, &cmp)) goto done;
        if (cmp.n < ss.n) { ll_fail("probe: %d compare samples for %d samples", cmp.n, ss.n); goto done; }
        ro.compare = &cmp;
    }
    if (ro.pad && ll_probe_samples_pad8(&ss)) goto done;
    ro.order = &ord;
    if (!(out = ll_calloc(1, sizeof *out))) goto done;
    out->kinds = ro.kinds;
    out->span = ro.span;
    if (ll_probe_run(m, &ss, &ro, &out->r)) {
        ll_fail_prefix("probe: ");
        free(out);
        out = NULL;
        goto done;
    }
    if (!(out->members = ll_malloc((size_t)(out->r.E ? out->r.E : 1) * sizeof *out->members))) {
        ll_probe_out_free(out);
        out = NULL;
        goto done;
    }
    for (int i = 0; i < out->r.E; i++) out->members[i] = out->r.members[i];
done:
    ll_order_free(&ord);
    ll_probe_samples_free(&ss);
    ll_probe_samples_free(&cmp);
    return out;
}

void ll_probe_out_free(ll_probe_out *r) {
    if (!r) return;
    ll_probe_results_free(&r->r);
    free(r->members);
    free(r);
}

int ll_probe_out_array(const ll_probe_out *p, const char *name, const double **data, int64_t *rows, int64_t *cols) {
    if (!p || !name || !data || !rows || !cols) return ll_fail("probe result: NULL argument");
    const ll_probe_results *r = &p->r;
    int S = r->S, E = r->E;
    bool states = p->kinds & (LL_PROBE_COSINE | LL_PROBE_BI), attn = p->kinds & LL_PROBE_ATTN,
         mlp = p->kinds & LL_PROBE_MLP;
    const struct { const char *name; bool ran; const double *v; int64_t rows, cols; } t[] = {
        {"cos_flat", states, r->cos_flat, S, S},
        {"cos_token", states, r->cos_token, S, S},
        {"cos_last", states, r->cos_last, S, S},
        {"variance", states, r->variance, 1, S},
        {"block_influence", states, r->block_influence, 1, E},
        {"angular", states && p->span > 0, r->angular, 1, S - p->span},
        {"attn_id", attn, r->attn_id, r->n_eps, E},
        {"per_head", attn, r->per_head, E, r->H},
        {"density", attn, r->density, 1, E},
        {"entropy", attn, r->entropy, 1, E},
        {"max_weight", attn, r->max_weight, 1, E},
        {"features", mlp, r->features, E, 7},
        {"hamming", mlp, r->hamming, 1, E},
        {"hamming_compare", mlp && r->hamming_compare, r->hamming_compare, 1, E},
        {"points", (p->kinds & LL_PROBE_IDIM) != 0, r->points, r->n_points, r->D},
        {"members", true, p->members, 1, E},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (strcmp(name, t[i].name)) continue;
        if (!t[i].ran || !t[i].v) return ll_fail("probe result: '%s' was not computed by this run", name);
        *data = t[i].v, *rows = t[i].rows, *cols = t[i].cols;
        return 0;
    }
    return ll_fail("probe result: unknown array '%s'", name);
}

int ll_probe_out_value(const ll_probe_out *p, const char *name, double *v) {
    if (!p || !name || !v) return ll_fail("probe result: NULL argument");
    const ll_probe_results *r = &p->r;
    const struct { const char *name; double v; } t[] = {
        {"S", r->S}, {"E", r->E}, {"H", r->H}, {"M", r->M}, {"D", r->D}, {"n_samples", r->n_samples},
        {"max_T", r->max_T}, {"n_tokens", (double)r->n_tokens}, {"n_eps", r->n_eps}, {"n_points", (double)r->n_points},
        {"seconds", r->seconds}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(name, t[i].name)) return *v = t[i].v, 0;
    return ll_fail("probe result: unknown value '%s'", name);
}

int ll_ffi_intrinsic_dim(const double *X, int64_t N, int64_t D, int k, double alpha, double out[7]) {
    if (!X || !out) return ll_fail("intrinsic_dim: X and out must not be NULL");
    if (N < 1 || D < 1) return ll_fail("intrinsic_dim: X is %lld x %lld; expected points as rows", (long long)N, (long long)D);
    if (k < 2) return ll_fail("intrinsic_dim: k = %d; the MLE needs k >= 2", k);
    if (!(alpha > 0 && alpha < 1)) return ll_fail("intrinsic_dim: alpha = %g; expected 0 < alpha < 1", alpha);
    ll_idim r;
    if (ll_idim_compute(X, N, D, k, alpha, &r)) return ll_fail_prefix("intrinsic_dim: ");
    out[0] = r.twonn, out[1] = r.twonn_ml, out[2] = r.mle, out[3] = r.pca, out[4] = r.pr;
    out[5] = (double)r.n_points, out[6] = (double)r.n_duplicates;
    return 0;
}

/* ------------------------------------------------------------------ eval ---- */

struct ll_eval_out {
    ll_eval_task t;
    ll_eval_results r;
    char *data;
    long limit;
    int max_gen;
    long n_req;
    double *acc, *acc_norm, *pred, *pred_norm, *gold, *nreq, *first, *line, *ems, *emf, *ngen;   /* [n] */
    double *ll, *greedy, *ntok, *len, *item;                                                  /* [n_req] */
};

void ll_eval_out_free(ll_eval_out *r) {
    if (!r) return;
    double *all[] = {r->acc, r->acc_norm, r->pred, r->pred_norm, r->gold, r->nreq, r->first, r->line, r->ems, r->emf,
                     r->ngen, r->ll, r->greedy, r->ntok, r->len, r->item};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    ll_eval_results_free(&r->r);
    ll_eval_task_free(&r->t);
    free(r->data);
    free(r);
}

/* the per-item and per-request arrays from the results */
static int eval_arrays(ll_eval_out *o) {
    int n = o->r.n;
    long nr = 0;
    for (int i = 0; i < n; i++) nr += o->r.items[i].n_req;
    o->n_req = nr;
    double **item_arrays[] = {&o->acc, &o->acc_norm, &o->pred, &o->pred_norm, &o->gold, &o->nreq, &o->first, &o->line,
                              &o->ems, &o->emf, &o->ngen};
    double **req_arrays[] = {&o->ll, &o->greedy, &o->ntok, &o->len, &o->item};
    for (size_t k = 0; k < sizeof item_arrays / sizeof *item_arrays; k++)
        if (!(*item_arrays[k] = ll_calloc((size_t)(n ? n : 1), sizeof(double)))) return -1;
    for (size_t k = 0; k < sizeof req_arrays / sizeof *req_arrays; k++)
        if (!(*req_arrays[k] = ll_calloc((size_t)(nr ? nr : 1), sizeof(double)))) return -1;
    bool gen = o->t.kind == LL_EVAL_GEN, mc = o->t.kind == LL_EVAL_MC;
    long q0 = 0;
    for (int i = 0; i < n; i++) {
        const ll_eval_item_result *ir = &o->r.items[i];
        const ll_eval_item *it = &o->t.items[i];
        o->acc[i] = gen ? NAN : ir->acc;
        o->acc_norm[i] = mc && o->t.has_acc_norm ? ir->acc_norm : NAN;
        o->pred[i] = mc ? ir->pred : NAN;
        o->pred_norm[i] = mc ? ir->pred_norm : NAN;
        o->gold[i] = mc ? it->gold : NAN;
        o->nreq[i] = ir->n_req;
        o->first[i] = (double)q0;
        o->line[i] = (double)it->line;
        o->ems[i] = gen ? ir->em_strict : NAN;
        o->emf[i] = gen ? ir->em_flexible : NAN;
        o->ngen[i] = gen ? ir->n_gen : NAN;
        for (int q = 0; q < ir->n_req; q++, q0++) {
            o->ll[q0] = ir->ll[q];
            o->greedy[q0] = ir->greedy[q];
            o->ntok[q0] = ir->n_cont[q];
            o->len[q0] = mc && q < it->n_choices ? (double)ll_utf8_len(it->choices[q]) : NAN;
            o->item[q0] = i;
        }
    }
    return 0;
}

ll_eval_out *ll_ffi_eval(ll_model *m, const char *task, const char *opts_json,
                         void (*progress)(void *ctx, long done, long total, const char *text), void *ctx) {
    static const char *const keys[] = {RUN_KEYS, "limit", "bos", "data", "fewshot", "data_dir", "batch_tokens",
                                       "max_length", "max_gen_toks", "bootstrap_iters", NULL};
    const char *fn = "eval";
    if (check_model(m, fn)) return NULL;
    if (!m->tok) return ll_fail("eval: %s has no tokenizer (a llama2.c checkpoint needs its tokenizer.bin)", m->path), NULL;
    jopt o;
    if (jopt_open(&o, opts_json, fn, keys)) return NULL;
    run_opts r;
    long long limit = -1, batch = 512, max_len = 0, max_gen = 256, boot = 100000;
    bool bos = false;
    const char *data = NULL, *fewshot = NULL, *data_dir = NULL;
    char *path = NULL, *few = NULL;
    int rc = run_opts_read(&o, &r) || j_int(&o, "limit", -1, INT32_MAX, &limit) || j_bool(&o, "bos", &bos) ||
             j_str(&o, "data", &data) || j_str(&o, "fewshot", &fewshot) || j_str(&o, "data_dir", &data_dir) ||
             j_int(&o, "batch_tokens", 0, 1 << 20, &batch) || j_int(&o, "max_length", 0, 1 << 24, &max_len) ||
             j_int(&o, "max_gen_toks", 1, 1 << 20, &max_gen) || j_int(&o, "bootstrap_iters", 0, 10000000, &boot)
                 ? -1 : 0;
    if (!rc && limit == 0) rc = ll_fail("eval: option 'limit' = 0; give at least 1 (or -1 for all items)");
    if (!rc && max_len == 1) rc = ll_fail("eval: option 'max_length' = 1; give at least 2 (or 0 for the model's context)");
    if (!rc) rc = task_files(fn, task, data, fewshot, data_dir, &path, &few);
    ll_order ord = {0, NULL, 0};
    if (!rc) rc = make_order(m, &r, &ord);
    jopt_close(&o);   /* the strings read from it are not used below */
    if (!rc && bos && ll_tok_bos(m->tok) < 0) rc = ll_fail("eval: option 'bos': the model has no BOS token");
    if (!rc && max_len > m->n_ctx_train)
        rc = ll_fail("eval: option 'max_length' = %lld is beyond the model's context of %d", max_len, m->n_ctx_train);
    ll_eval_out *out = rc ? NULL : ll_calloc(1, sizeof *out);
    if (!out) {
        free(path), free(few), ll_order_free(&ord);
        return NULL;
    }
    out->data = path;
    out->limit = (long)limit;
    out->max_gen = (int)max_gen;
    rc = ll_eval_load(task, path, few, &out->t);
    free(few);
    if (rc) {
        free(out->data), free(out), ll_order_free(&ord);
        return NULL;
    }
    ll_eval_opts eo;
    ll_eval_default_opts(&eo);
    eo.limit = (long)limit;
    eo.bos = bos;
    eo.max_len = (int)max_len;
    eo.max_gen = (int)max_gen;
    eo.bootstrap_iters = (int)boot;
    eo.order = &ord;
    eo.n_threads = r.threads;
    eo.exact = r.exact;
    eo.parallel_kv_mean = r.pkv;
    eo.batch_tokens = (int)batch;
    eo.progress = progress;
    eo.progress_ctx = ctx;
    rc = ll_eval_run(m, &out->t, &eo, &out->r);
    ll_order_free(&ord);
    if (rc) {
        ll_fail_prefix("eval: ");
        ll_eval_task_free(&out->t);
        free(out->data);
        free(out);
        return NULL;
    }
    if (eval_arrays(out)) {
        ll_eval_out_free(out);
        return NULL;
    }
    return out;
}

int ll_eval_out_value(const ll_eval_out *o, const char *name, double *v) {
    if (!o || !name || !v) return ll_fail("eval result: NULL argument");
    const ll_eval_results *r = &o->r;
    bool gen = o->t.kind == LL_EVAL_GEN;
    const struct { const char *name; double v; } t[] = {
        {"n", r->n}, {"acc", r->acc}, {"acc_stderr", r->acc_stderr}, {"acc_norm", r->acc_norm},
        {"acc_norm_stderr", r->acc_norm_stderr}, {"perplexity", r->ppl}, {"perplexity_stderr", r->ppl_stderr},
        {"exact_match_strict", r->em_strict}, {"exact_match_strict_stderr", r->em_strict_stderr},
        {"exact_match_flexible", r->em_flexible}, {"exact_match_flexible_stderr", r->em_flexible_stderr},
        {"limit", (double)o->limit}, {"num_fewshot", gen ? o->t.num_fewshot : 0}, {"max_length", r->max_len},
        {"truncated_requests", (double)r->n_truncated}, {"generated_tokens", (double)r->generated_tokens},
        {"n_ctx", r->n_ctx}, {"n_tokens", (double)r->n_tokens}, {"seconds", r->seconds},
        {"has_acc_norm", o->t.has_acc_norm}, {"n_requests", (double)o->n_req}, {"max_gen_toks", o->max_gen},
        {"fewshot_seed", gen ? 1234 : NAN}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(name, t[i].name)) return *v = t[i].v, 0;
    return ll_fail("eval result: unknown value '%s'", name);
}

int ll_eval_out_array(const ll_eval_out *o, const char *name, const double **data, int64_t *n) {
    if (!o || !name || !data || !n) return ll_fail("eval result: NULL argument");
    const struct { const char *name; const double *v; int64_t n; } t[] = {
        {"acc", o->acc, o->r.n}, {"acc_norm", o->acc_norm, o->r.n}, {"pred", o->pred, o->r.n},
        {"pred_norm", o->pred_norm, o->r.n}, {"gold", o->gold, o->r.n}, {"n_req", o->nreq, o->r.n},
        {"first_req", o->first, o->r.n}, {"line", o->line, o->r.n}, {"em_strict", o->ems, o->r.n},
        {"em_flexible", o->emf, o->r.n}, {"n_gen", o->ngen, o->r.n}, {"ll", o->ll, o->n_req},
        {"is_greedy", o->greedy, o->n_req}, {"n_tokens", o->ntok, o->n_req}, {"length", o->len, o->n_req},
        {"item", o->item, o->n_req}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(name, t[i].name)) return *data = t[i].v, *n = t[i].n, 0;
    return ll_fail("eval result: unknown array '%s'", name);
}

const char *ll_eval_out_text(const ll_eval_out *o, const char *name, long i) {
    if (!o || !name) return ll_fail("eval result: NULL argument"), NULL;
    if (i < 0) {
        if (!strcmp(name, "task")) return o->t.name;
        if (!strcmp(name, "data")) return o->data;
        if (!strcmp(name, "kind"))
            return o->t.kind == LL_EVAL_GEN ? "generate" : o->t.kind == LL_EVAL_LOGLIK ? "loglikelihood" : "multiple_choice";
        return ll_fail("eval result: unknown text '%s'", name), NULL;
    }
    if (i >= o->r.n) return ll_fail("eval result: item %ld of %d", i, o->r.n), NULL;
    const ll_eval_item_result *ir = &o->r.items[i];
    const char *v = NULL;
    bool known = true;
    if (!strcmp(name, "prompt")) v = o->r.prompts ? o->r.prompts[i] : NULL;
    else if (!strcmp(name, "response")) v = ir->response;
    else if (!strcmp(name, "strict")) v = ir->strict;
    else if (!strcmp(name, "flexible")) v = ir->flexible;
    else if (!strcmp(name, "gold")) v = ir->gold;
    else if (!strcmp(name, "target")) v = o->t.items[i].target;
    else known = false;
    if (!known) return ll_fail("eval result: unknown text '%s'", name), NULL;
    if (!v) return ll_fail("eval result: task %s has no '%s'", o->t.name, name), NULL;
    return v;
}

/* ------------------------------------------------------------------ studies ---- */

static int study_painters(ll_model *m, const char *out_dir, const jopt *o, void (*progress)(void *, long, long, const char *),
                          void *ctx) {
    ll_painters_opts po;
    ll_painters_default_opts(&po);
    char names[LL_PAINTERS_MAX_TASKS][40], variants[16][40], analyses[16][40];
    long long limit = -1, sample = 0, seed = 0, seeds = -1, loops = -1, grid = -1, cos_n = -1, single = -1;
    long long ppl_ctx = -1, ppl_tokens = -1, max_gen = -1, threads = 2;
    bool quick = false, reuse = true, exact = true, bos = false;
    const char *ppl = NULL, *data_dir = NULL, *command = NULL;
    if (j_int(o, "limit", 1, 1 << 30, &limit) || j_int(o, "sample", 1, 1 << 30, &sample) ||
        j_int(o, "seed", 0, 1LL << 40, &seed) || j_int(o, "seeds", 1, 1000, &seeds) || j_int(o, "loops", 1, 1000, &loops) ||
        j_int(o, "loops_grid", 1, 1000, &grid) || j_int(o, "cosine_samples", 1, 1 << 20, &cos_n) ||
        j_int(o, "single_limit", 1, 1 << 20, &single) || j_str(o, "ppl", &ppl) || j_int(o, "ppl_ctx", 2, 1 << 20, &ppl_ctx) ||
        j_int(o, "ppl_tokens", 2, 1LL << 40, &ppl_tokens) || j_int(o, "max_gen_toks", 1, 1 << 20, &max_gen) ||
        j_int(o, "threads", 1, 256, &threads) || j_bool(o, "quick", &quick) || j_bool(o, "reuse", &reuse) ||
        j_bool(o, "exact", &exact) || j_bool(o, "bos", &bos) || j_str(o, "data_dir", &data_dir) ||
        j_str(o, "command", &command))
        return -1;
    int nt = j_names(o, "tasks", names, LL_PAINTERS_MAX_TASKS);
    int nv = nt < 0 ? -1 : j_names(o, "variants", variants, 16);
    int na = nv < 0 ? -1 : j_names(o, "analyses", analyses, 16);
    int ns = na < 0 ? -1 : j_ints(o, "starts", po.starts, LL_PAINTERS_MAX_STARTS, 0, 4096);
    if (ns < 0) return -1;
    po.n_starts = ns;
    if (nv > 0) {
        po.variants = 0;
        for (int k = 0; k < nv; k++) {
            int b = -1;
            for (int q = 0; q < LL_PV_COUNT; q++)
                if (!strcmp(variants[k], ll_painters_variant_names[q])) b = 1 << q;
            if (b < 0)
                return ll_fail("study painters: option 'variants': unknown '%s' (skip, middle_repeat, reverse, random, "
                               "parallel, looped_parallel)", variants[k]);
            po.variants |= b;
        }
    }
    if (jget(o, "analyses")) {
        po.analyses = 0;
        for (int k = 0; k < na; k++) {
            int b = !strcmp(analyses[k], "cosine") ? LL_PAINTERS_A_COSINE : !strcmp(analyses[k], "single") ? LL_PAINTERS_A_SINGLE
                    : !strcmp(analyses[k], "loops") ? LL_PAINTERS_A_LOOPS : !strcmp(analyses[k], "none") ? 0 : -1;
            if (b < 0) return ll_fail("study painters: option 'analyses': unknown '%s' (cosine, single, loops, none)", analyses[k]);
            po.analyses |= b;
        }
    }
    if (limit > 0) po.limit = (long)limit;
    po.sample = (long)sample;
    po.sample_seed = (uint64_t)seed;
    if (seeds > 0) po.seeds = (int)seeds;
    if (loops > 0) po.loops = (int)loops;
    if (grid > 0) po.loops_grid = (int)grid;
    if (cos_n > 0) po.cosine_samples = (long)cos_n;
    if (single > 0) po.single_limit = (int)single;
    po.ppl_file = ppl;
    if (ppl_ctx > 0) po.ppl_ctx = (int)ppl_ctx;
    if (ppl_tokens > 0) po.ppl_tokens = (long)ppl_tokens;
    if (max_gen > 0) po.max_gen = (int)max_gen;
    po.reuse = reuse;
    if (nt == 0) {   /* the CLI's default tasks (the quick profile's when quick) */
        const char *p = ll_painters_default_tasks(quick);
        while (*p && nt < LL_PAINTERS_MAX_TASKS) {
            size_t k = strcspn(p, ",");
            snprintf(names[nt++], sizeof names[0], "%.*s", (int)k, p);
            p += k + (p[k] == ',');
        }
    }
    if (quick) ll_painters_apply_quick(&po, m->n_layer, limit >= 0, jget(o, "analyses") != NULL);   /* `--quick` */
    char *paths[LL_PAINTERS_MAX_TASKS] = {0}, *fews[LL_PAINTERS_MAX_TASKS] = {0}, *lam = NULL, *lam_few = NULL;
    int rc = -1;
    for (int t = 0; t < nt; t++) {
        if (task_files("study painters", names[t], NULL, NULL, data_dir, &paths[t], &fews[t])) goto done;
        po.tasks[t] = names[t];
        po.data[t] = paths[t];
        po.fewshot[t] = fews[t];
    }
    po.n_tasks = nt;
    if ((po.analyses & (LL_PAINTERS_A_COSINE | LL_PAINTERS_A_SINGLE)) &&
        task_files("study painters", "lambada_openai", NULL, NULL, data_dir, &lam, &lam_few))
        goto done;
    po.lambada_data = lam;
    po.bos = bos;
    po.n_threads = (int)threads;
    po.exact = exact;
    po.progress = progress;
    po.progress_ctx = ctx;
    /* one process (no shard), as the CLI runs it: a store left by a killed MPI run is merged first */
    ll_painters_study_result res;
    if (ll_painters_study(m, &po, out_dir, command ? command : "layerlab (Python) study painters", &res)) goto done;
    rc = 0;
done:
    for (int t = 0; t < nt; t++) free(paths[t]), free(fews[t]);
    free(lam);
    free(lam_few);
    return rc;
}

static int study_geometry(ll_model *m, const char *out_dir, const jopt *o, void (*progress)(void *, long, long, const char *),
                          void *ctx) {
    ll_geometry_opts go;
    ll_geometry_default_opts(&go);
    long long limit = -1, sample = 0, seed = 0, pseed = 0, max_gen = -1, threads = 2;
    bool quick = false, exact = true, bos = false;
    const char *task = NULL, *data = NULL, *fewshot = NULL, *data_dir = NULL, *command = NULL;
    char conds[LL_GEO_N_CONDITIONS * 2][40];
    if (j_str(o, "task", &task) || j_str(o, "data", &data) || j_str(o, "fewshot", &fewshot) ||
        j_int(o, "limit", 1, 1 << 30, &limit) || j_int(o, "sample", 1, 1 << 30, &sample) ||
        j_int(o, "seed", 0, 1LL << 40, &seed) || j_int(o, "prompt_seed", 0, 1LL << 40, &pseed) ||
        j_int(o, "max_gen_toks", 1, 1 << 20, &max_gen) || j_num(o, "eps", 0, 1, &go.eps) ||
        j_int(o, "threads", 1, 256, &threads) || j_bool(o, "quick", &quick) || j_bool(o, "exact", &exact) ||
        j_bool(o, "bos", &bos) || j_str(o, "data_dir", &data_dir) || j_str(o, "command", &command))
        return -1;
    int nsh = j_ints(o, "shots", go.shots, LL_GEO_MAX_SHOTS, 0, 64);
    int nc = nsh < 0 ? -1 : j_names(o, "conditions", conds, LL_GEO_N_CONDITIONS * 2);
    if (nc < 0) return -1;
    for (int i = 0; i < nsh; i++)
        for (int j = 0; j < i; j++)
            if (go.shots[i] == go.shots[j]) return ll_fail("study geometry: option 'shots': %d given twice", go.shots[i]);
    if (nsh > 0) go.n_shots = nsh;
    if (jget(o, "conditions")) {
        int bits = 0;
        for (int k = 0; k < nc; k++) {
            int b = -1;
            for (int q = 0; q < LL_GEO_N_CONDITIONS; q++)
                if (!strcmp(conds[k], ll_geo_condition_names[q])) b = 1 << q;
            if (b < 0) return ll_fail("study geometry: option 'conditions': unknown '%s' (fixed, random, noise, permuted)", conds[k]);
            bits |= b;
        }
        if (!bits) return ll_fail("study geometry: option 'conditions': none given");
        go.conditions = bits;
    }
    if (task) go.task = task;
    if (limit > 0) go.limit = (long)limit;
    go.sample = (long)sample;
    go.sample_seed = (uint64_t)seed;
    go.seed = (uint64_t)pseed;
    if (max_gen > 0) go.max_gen = (int)max_gen;
    if (quick) ll_geometry_apply_quick(&go, task != NULL, limit >= 0, nsh != 0);   /* `study geometry --quick` */
    char *path = NULL, *few = NULL;
    int rc = -1;
    if (task_files("study geometry", go.task, data, fewshot, data_dir, &path, &few)) return -1;
    go.data = path;
    go.fewshot = few;
    go.bos = bos;
    go.n_threads = (int)threads;
    go.exact = exact;
    go.progress = progress;
    go.progress_ctx = ctx;
    if (ll_geometry_study(m, &go, out_dir, command ? command : "layerlab (Python) study geometry", NULL)) goto done;
    rc = 0;
done:
    free(path);
    free(few);
    return rc;
}

int ll_ffi_study(ll_model *m, const char *kind, const char *out_dir, const char *opts_json,
                 void (*progress)(void *ctx, long done, long total, const char *text), void *ctx) {
    static const char *const pkeys[] = {"threads", "exact", "bos", "quick", "data_dir", "command", "tasks", "limit",
                                        "sample", "seed", "variants", "starts", "seeds", "loops", "loops_grid",
                                        "analyses", "cosine_samples", "single_limit", "ppl", "ppl_ctx", "ppl_tokens",
                                        "max_gen_toks", "reuse", NULL};
    static const char *const gkeys[] = {"threads", "exact", "bos", "quick", "data_dir", "command", "task", "data",
                                        "fewshot", "limit", "sample", "seed", "prompt_seed", "shots", "conditions",
                                        "eps", "max_gen_toks", NULL};
    if (check_model(m, "study")) return -1;
    if (!kind || (strcmp(kind, "painters") && strcmp(kind, "geometry")))
        return ll_fail("study: unknown study '%s' (painters, geometry)", kind ? kind : "(none)");
    if (!out_dir || !*out_dir) return ll_fail("study %s: no output directory", kind);
    if (!m->tok) return ll_fail("study %s: %s has no tokenizer (a llama2.c checkpoint needs its tokenizer.bin)", kind, m->path);
    bool painters = !strcmp(kind, "painters");
    char fn[32];
    snprintf(fn, sizeof fn, "study %s", kind);
    jopt o;
    if (jopt_open(&o, opts_json, fn, painters ? pkeys : gkeys)) return -1;
    o.fn = painters ? "study painters" : "study geometry";   /* a string that outlives fn's messages */
    int rc = painters ? study_painters(m, out_dir, &o, progress, ctx) : study_geometry(m, out_dir, &o, progress, ctx);
    jopt_close(&o);
    return rc;
}
