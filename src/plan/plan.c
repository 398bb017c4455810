/* plan.c — parses the plan language (plan.h) into an ll_order, with errors that name the column. */
#include "plan/plan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/engine.h"
#include "util/err.h"
#include "util/pyrandom.h"

typedef struct {
    const char *spec;
    const char *p;      /* cursor */
    int L;
    ll_order *o;
    int cap;
} parser;

static int col(const parser *ps) { return (int)(ps->p - ps->spec) + 1; }

static int fail_at(const parser *ps, const char *what) {
    const char *found = *ps->p ? ps->p : "end of plan";
    return ll_fail("plan '%.200s', column %d: %s (found '%.12s')", ps->spec, col(ps), what, found);
}

static int add_entry(parser *ps, const int *layers, int n) {
    if (ps->o->n_passes + (long long)n > LL_PLAN_MAX_PASSES)
        return ll_fail("plan '%.200s': more than %d layer passes", ps->spec, LL_PLAN_MAX_PASSES);
    if (ps->o->n_entries == ps->cap) {
        int nc = ps->cap ? ps->cap * 2 : 16;
        ll_entry *ne = ll_realloc(ps->o->entries, (size_t)nc * sizeof *ne);
        if (!ne) return -1;
        ps->o->entries = ne;
        ps->cap = nc;
    }
    ll_entry *e = &ps->o->entries[ps->o->n_entries];
    e->layers = ll_malloc((size_t)n * sizeof(int));
    if (!e->layers) return -1;
    memcpy(e->layers, layers, (size_t)n * sizeof(int));
    e->n = n;
    ps->o->n_entries++;
    ps->o->n_passes += n;
    return 0;
}

static int add_layer(parser *ps, int layer) { return add_entry(ps, &layer, 1); }

static int add_range(parser *ps, int a, int b) {
    int step = a <= b ? 1 : -1;
    for (int l = a;; l += step) {
        if (add_layer(ps, l)) return -1;
        if (l == b) break;
    }
    return 0;
}

/* A non-negative integer ≤ hi at the cursor. */
static int parse_uint(parser *ps, long long hi, const char *what, long long *out) {
    if (!isdigit((unsigned char)*ps->p)) return fail_at(ps, what);
    const char *start = ps->p;
    long long v = 0;
    while (isdigit((unsigned char)*ps->p)) {
        v = v * 10 + (*ps->p - '0');
        if (v > hi) {
            ps->p = start;
            return ll_fail("plan '%.200s', column %d: %s: the largest allowed is %lld", ps->spec, col(ps), what, hi);
        }
        ps->p++;
    }
    *out = v;
    return 0;
}

static int parse_layer(parser *ps, int *out) {
    const char *start = ps->p;
    long long v;
    if (parse_uint(ps, 1 << 30, "expected a layer number", &v)) return -1;
    if (v >= ps->L) {
        ps->p = start;
        return ll_fail("plan '%.200s', column %d: layer %lld is out of range: the model has layers 0..%d", ps->spec,
                       col(ps), v, ps->L - 1);
    }
    *out = (int)v;
    return 0;
}

static void skip_space(parser *ps) {
    while (*ps->p == ' ' || *ps->p == '\t') ps->p++;
}

/* LAYER or LAYER-LAYER into *a, *b (b == a for a single layer) */
static int parse_span(parser *ps, int *a, int *b) {
    if (parse_layer(ps, a)) return -1;
    *b = *a;
    skip_space(ps);
    if (*ps->p == '-') {
        ps->p++;
        skip_space(ps);
        if (parse_layer(ps, b)) return -1;
    }
    return 0;
}

static int parse_items(parser *ps) {
    int members[4096];
    for (;;) {
        skip_space(ps);
        int is_group = 0, a = 0, b = 0, nm = 0;
        const char *item_start = ps->p;
        if (*ps->p == '[') {
            is_group = 1;
            ps->p++;
            for (;;) {
                skip_space(ps);
                int x, y;
                if (parse_span(ps, &x, &y)) return -1;
                int step = x <= y ? 1 : -1;
                for (int l = x;; l += step) {
                    if (nm == (int)(sizeof members / sizeof *members)) return fail_at(ps, "parallel group too large");
                    for (int k = 0; k < nm; k++)
                        if (members[k] == l) {
                            ps->p = item_start;
                            return ll_fail("plan '%.200s', column %d: layer %d appears twice in one parallel group",
                                           ps->spec, col(ps), l);
                        }
                    members[nm++] = l;
                    if (l == y) break;
                }
                skip_space(ps);
                if (*ps->p == ',') { ps->p++; continue; }
                if (*ps->p == ']') { ps->p++; break; }
                return fail_at(ps, "expected ',' or ']' in a parallel group");
            }
        } else {
            if (parse_span(ps, &a, &b)) return -1;
        }
        skip_space(ps);
        long long k = 1;
        if (*ps->p == '*') {
            ps->p++;
            skip_space(ps);
            const char *kpos = ps->p;
            if (parse_uint(ps, LL_PLAN_MAX_PASSES, "expected a repeat count after '*'", &k)) return -1;
            if (k == 0) {
                ps->p = kpos;
                return fail_at(ps, "repeat count must be at least 1");
            }
        }
        for (long long r = 0; r < k; r++) {
            int rc = is_group ? (nm == 1 ? add_layer(ps, members[0]) : add_entry(ps, members, nm)) : add_range(ps, a, b);
            if (rc) return -1;
        }
        skip_space(ps);
        if (*ps->p == ',') { ps->p++; continue; }
        if (*ps->p == 0) return 0;
        return fail_at(ps, "expected ',', '*' or the end of the plan");
    }
}

/* ---- presets ---- */

static int parse_args(parser *ps, const char *name, int n, long long *v, const long long *hi, const char *const *what) {
    for (int i = 0; i < n; i++) {
        if (*ps->p != ':') {
            ll_fail("plan '%.200s', column %d: preset '%s' takes %d argument%s (%s), separated by ':'", ps->spec, col(ps),
                    name, n, n > 1 ? "s" : "", what[n]);
            return -1;
        }
        ps->p++;
        if (parse_uint(ps, hi[i], what[i], &v[i])) return -1;
    }
    if (*ps->p) return fail_at(ps, "unexpected text after the preset's arguments");
    return 0;
}

static int check_start(parser *ps, const char *name, long long s, const char *at) {
    /* the middle s+1..L-s-1 must hold at least one layer */
    if (ps->L - 2 * s - 1 < 1) {
        ps->p = at;
        return ll_fail("plan '%.200s', column %d: %s:%lld leaves no middle layers for a %d-layer model (s must be ≤ %d)",
                       ps->spec, col(ps), name, s, ps->L, (ps->L - 2) / 2);
    }
    return 0;
}

static int parse_preset(parser *ps, const char *name, size_t nlen) {
    int L = ps->L;
    const char *at = ps->p + nlen + 1;   /* first argument */
    ps->p += nlen;
    long long v[2] = {0, 0};
    long long big = LL_PLAN_MAX_PASSES;
    static const char *const W_S[] = {"expected the start layer s", "s"};
    static const char *const W_I[] = {"expected a layer index i", "i"};
    static const char *const W_SSEED[] = {"expected the start layer s", "expected a seed", "s, seed"};
    static const char *const W_SK[] = {"expected the start layer s", "expected a count k", "s, k"};
    static const char *const W_SR[] = {"expected the start layer s", "expected a count r", "s, r"};
    long long hs[2] = {L, big}, hseed[2] = {L, 1000000000000000LL};
    if (!strncmp(name, "full", nlen) && nlen == 4) {
        if (*ps->p) return fail_at(ps, "'full' takes no arguments");
        return add_range(ps, 0, L - 1);
    }
#define IS(x) (nlen == strlen(x) && !strncmp(name, x, nlen))
    if (IS("skip_one") || IS("switch")) {
        if (parse_args(ps, IS("switch") ? "switch" : "skip_one", 1, v, hs, W_I)) return -1;
        int i = (int)v[0];
        int last = IS("switch") ? L - 2 : L - 1;
        if (i > last) {
            ps->p = at;
            return ll_fail("plan '%.200s', column %d: %.*s:%d is out of range (i must be ≤ %d)", ps->spec, col(ps),
                           (int)nlen, name, i, last);
        }
        for (int l = 0; l < L; l++) {
            if (IS("skip_one") && l == i) continue;
            int layer = l;
            if (IS("switch") && l == i) layer = i + 1;
            if (IS("switch") && l == i + 1) layer = i;
            if (add_layer(ps, layer)) return -1;
        }
        return 0;
    }
    int nargs;
    const char *const *what;
    const long long *hi = hs;
    if (IS("skip") || IS("middle_repeat") || IS("reverse") || IS("parallel")) {
        nargs = 1;
        what = W_S;
    } else if (IS("random")) {
        nargs = 2;
        what = W_SSEED;
        hi = hseed;
    } else if (IS("looped_parallel")) {
        nargs = 2;
        what = W_SK;
    } else if (IS("repeat_each") || IS("repeat_block")) {
        nargs = 2;
        what = W_SR;
    } else {
        ps->p -= nlen;
        return fail_at(ps, "unknown preset (full, skip, middle_repeat, reverse, random, parallel, looped_parallel, "
                           "skip_one, switch, repeat_each, repeat_block) or a layer list");
    }
    char nm[32];
    snprintf(nm, sizeof nm, "%.*s", (int)nlen, name);
    if (parse_args(ps, nm, nargs, v, hi, what)) return -1;
    int s = (int)v[0];
    if (check_start(ps, nm, s, at)) return -1;
    if (nargs == 2 && v[1] == 0 && !IS("random")) {
        ps->p = at;
        return ll_fail("plan '%.200s', column %d: %s: the count must be at least 1", ps->spec, col(ps), nm);
    }
    int M = L - 2 * s - 1, lo = s + 1, hi_l = L - s - 1;
    if (add_range(ps, 0, s)) return -1;
    if (IS("skip")) {
        /* nothing in the middle */
    } else if (IS("middle_repeat")) {
        for (int i = 0; i < M; i++)
            if (add_layer(ps, L / 2)) return -1;
    } else if (IS("reverse")) {
        for (int p = lo; p <= hi_l; p++)
            if (add_layer(ps, L - p)) return -1;
    } else if (IS("random")) {
        int *mid = ll_malloc((size_t)M * sizeof *mid);
        if (!mid) return -1;
        for (int i = 0; i < M; i++) mid[i] = lo + i;
        ll_pyrng rng;
        ll_pyrng_seed(&rng, (uint64_t)v[1]);
        ll_pyrng_shuffle(&rng, mid, M);
        for (int i = 0; i < M; i++)
            if (add_layer(ps, mid[i])) { free(mid); return -1; }
        free(mid);
    } else if (IS("parallel") || IS("looped_parallel")) {
        int *mid = ll_malloc((size_t)M * sizeof *mid);
        if (!mid) return -1;
        for (int i = 0; i < M; i++) mid[i] = lo + i;
        long long k = IS("parallel") ? 1 : v[1];
        for (long long r = 0; r < k; r++)
            if (add_entry(ps, mid, M)) { free(mid); return -1; }
        free(mid);
    } else if (IS("repeat_each")) {
        for (int l = lo; l <= hi_l; l++)
            for (long long r = 0; r < v[1]; r++)
                if (add_layer(ps, l)) return -1;
    } else if (IS("repeat_block")) {
        for (long long r = 0; r < v[1]; r++)
            if (add_range(ps, lo, hi_l)) return -1;
    }
#undef IS
    if (s >= 0 && L - s <= L - 1) return add_range(ps, L - s, L - 1);
    return 0;
}

int ll_plan_parse(const char *spec, int n_layer, ll_order *out) {
    memset(out, 0, sizeof *out);
    if (n_layer < 1) return ll_fail("plan '%.200s': the model has no layers", spec);
    parser ps = {spec, spec, n_layer, out, 0};
    skip_space(&ps);
    int rc;
    if (!*ps.p) {
        rc = ll_fail("plan is empty (use 'full' for every layer in order)");
    } else if (isalpha((unsigned char)*ps.p)) {
        const char *n = ps.p;
        size_t len = 0;
        while (isalnum((unsigned char)n[len]) || n[len] == '_') len++;
        rc = parse_preset(&ps, n, len);
    } else {
        rc = parse_items(&ps);
    }
    if (rc == 0 && out->n_entries == 0) rc = ll_fail("plan '%.200s' runs no layers", spec);
    if (rc) ll_order_free(out);
    return rc;
}
