/* gguf.c — GGUF v2/v3 reader: maps a file (or takes caller memory) and validates all of it up front.
 *
 * Layout (little-endian throughout):
 *   "GGUF" u32 version, u64 n_tensors, u64 n_kv
 *   n_kv x   { string key, u32 vtype, value }      value of ARRAY = u32 elem_type, u64 n, n values
 *   n_tensors x { string name, u32 n_dims, i64 ne[n_dims], u32 ggml_type, u64 offset }
 *   padding to the alignment, then the data section; tensor offsets are relative to its start.
 *   string = u64 length + bytes (no NUL).
 *
 * The parser is a cursor over the bytes. Every read first checks that the bytes are there; every count
 * is compared with the bytes left (each element needs a known minimum number of bytes) before anything
 * is allocated, so memory and time stay proportional to the file size. Everything the reader allocates
 * lives in one arena that ll_gguf_close frees. The first problem found becomes the error message:
 * "FILE: byte OFFSET: [ITEM: ]what was found, what was expected".
 */
#include "gguf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "io/files.h"
#include "tensor/dtype.h"
#include "util/err.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c copies little-endian arrays as they are: it needs a little-endian host"
#endif

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_KEY_LEN 65535u            /* the spec's limit for keys; used for tensor names too */
#define GGUF_MIN_KV_BYTES 14u              /* u64 key length + 1 key byte + u32 type + 1 value byte */
#define GGUF_MIN_TENSOR_BYTES 33u          /* u64 len + 1 name byte + u32 n_dims + one i64 + u32 + u64 */

/* ---------------------------------------------------------------- arena */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t cap, used;
    _Alignas(16) unsigned char mem[];
} arena_chunk;

typedef struct { arena_chunk *head; } arena;

/* n bytes, 16-byte aligned, zeroed; NULL (error set) on overflow or out of memory. */
static void *arena_alloc(arena *a, size_t n) {
    if (n > SIZE_MAX - 15) { ll_fail("allocation of %zu bytes overflows", n); return NULL; }
    n = (n + 15) & ~(size_t)15;
    arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (cap > SIZE_MAX - sizeof(arena_chunk)) { ll_fail("allocation of %zu bytes overflows", n); return NULL; }
        c = ll_malloc(sizeof(arena_chunk) + cap);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->mem + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

/* count * size bytes, with the multiplication checked. */
static void *arena_array(arena *a, uint64_t count, size_t size) {
    if (size && count > SIZE_MAX / size) {
        ll_fail("allocation of %" PRIu64 " x %zu bytes overflows", count, size);
        return NULL;
    }
    return arena_alloc(a, (size_t)count * size);
}

static void arena_free(arena *a) {
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* ---------------------------------------------------------------- name index (sorted) */

/* Keys and tensor names are indexed by sorting references to them: duplicates become neighbours and
 * lookups are binary searches. Unlike a hash table this has no bad inputs (n log n worst case). */
typedef struct {
    const char *s;
    uint64_t n;
    uint64_t idx;       /* position in the file's order */
} name_ref;

static int name_cmp(const char *a, uint64_t an, const char *b, uint64_t bn) {
    int c = memcmp(a, b, (size_t)(an < bn ? an : bn));
    if (c) return c;
    return an < bn ? -1 : an > bn;
}

static int name_ref_cmp(const void *pa, const void *pb) {
    const name_ref *a = pa, *b = pb;
    int c = name_cmp(a->s, a->n, b->s, b->n);
    if (c) return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Sorts refs; returns the index into refs of the first entry that repeats an earlier name (in file
 * order: the later of the two), or -1. *first gets the idx of the earlier one. */
static int64_t sort_names(name_ref *refs, uint64_t n, uint64_t *first) {
    qsort(refs, (size_t)n, sizeof *refs, name_ref_cmp);
    int64_t worst = -1;
    for (uint64_t k = 1; k < n; k++)
        if (name_cmp(refs[k - 1].s, refs[k - 1].n, refs[k].s, refs[k].n) == 0 &&
            (worst < 0 || refs[k].idx < refs[worst].idx)) {
            worst = (int64_t)k;
            *first = refs[k - 1].idx;
        }
    return worst;
}

static const name_ref *find_name(const name_ref *refs, uint64_t n, const char *s, uint64_t len) {
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(s, len, refs[mid].s, refs[mid].n);
        if (c == 0) return &refs[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

/* ---------------------------------------------------------------- reader internals */

typedef struct {
    arena ar;
    void *map;              /* mmap'ed region (ll_gguf_open) or NULL */
    size_t map_len;
    name_ref *kv_sorted, *t_sorted;     /* keys / tensor names, sorted (see sort_names) */
} gguf_priv;

typedef struct {
    const uint8_t *p;
    uint64_t size, pos;
    const char *path;
    arena *ar;
    char item[128];         /* what is being parsed: "key 'general.name'", "tensor 2 'x'", or "" */
} rd;

LL_PRINTF(3, 4)
static int rd_fail(const rd *r, uint64_t off, const char *fmt, ...) {
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->item[0]) return ll_fail("%s: byte %" PRIu64 ": %s: %s", r->path, off, r->item, msg);
    return ll_fail("%s: byte %" PRIu64 ": %s", r->path, off, msg);
}

/* Writes a printable, shortened form of s (for messages) into out. */
static void printable(char *out, size_t cap, const char *s, uint64_t n) {
    size_t o = 0;
    for (uint64_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') out[o++] = (char)c;
        else o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        if (i + 1 < n && o + 8 >= cap) { memcpy(out + o, "...", 4); return; }
    }
    out[o] = 0;
}

static uint64_t left(const rd *r) { return r->size - r->pos; }

static int need(rd *r, uint64_t n, const char *what) {
    if (n > left(r))
        return rd_fail(r, r->pos, "file ends early: expected %s (%" PRIu64 " byte%s) but only %" PRIu64
                       " byte%s left", what, n, n == 1 ? "" : "s", left(r), left(r) == 1 ? "" : "s");
    return 0;
}

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int rd_u32(rd *r, uint32_t *v, const char *what) {
    if (need(r, 4, what)) return -1;
    *v = (uint32_t)le(r->p + r->pos, 4);
    r->pos += 4;
    return 0;
}

static int rd_u64(rd *r, uint64_t *v, const char *what) {
    if (need(r, 8, what)) return -1;
    *v = le(r->p + r->pos, 8);
    r->pos += 8;
    return 0;
}

/* A string: u64 length then bytes; copied into the arena with a NUL. max_len 0 = no limit beyond the file. */
static int rd_str(rd *r, ll_str *out, const char *what, uint64_t max_len) {
    uint64_t off = r->pos, n;
    char lenwhat[96];
    snprintf(lenwhat, sizeof lenwhat, "the length of %s", what);
    if (rd_u64(r, &n, lenwhat)) return -1;
    if (max_len && n > max_len)
        return rd_fail(r, off, "%s is %" PRIu64 " bytes long; at most %" PRIu64 " allowed", what, n, max_len);
    if (n > left(r))
        return rd_fail(r, off, "%s claims %" PRIu64 " bytes but only %" PRIu64 " bytes are left in the file",
                       what, n, left(r));
    char *s = arena_alloc(r->ar, (size_t)n + 1);
    if (!s) return -1;
    memcpy(s, r->p + r->pos, (size_t)n);
    s[n] = 0;
    r->pos += n;
    out->s = s;
    out->n = n;
    return 0;
}

static const char *const vtype_names[LL_GGUF_VTYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool",
    "string", "array", "uint64", "int64", "float64",
};

const char *ll_gguf_vtype_name(uint32_t t) { return t < LL_GGUF_VTYPE_COUNT ? vtype_names[t] : "invalid type"; }

/* Bytes of one scalar of type t; 0 for STRING, ARRAY and invalid ids. */
static size_t scalar_width(uint32_t t) {
    switch (t) {
    case LL_GGUF_UINT8: case LL_GGUF_INT8: case LL_GGUF_BOOL: return 1;
    case LL_GGUF_UINT16: case LL_GGUF_INT16: return 2;
    case LL_GGUF_UINT32: case LL_GGUF_INT32: case LL_GGUF_FLOAT32: return 4;
    case LL_GGUF_UINT64: case LL_GGUF_INT64: case LL_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* Decodes one little-endian scalar of type t at p into v (type already set by the caller). */
static void decode_scalar(uint32_t t, const uint8_t *p, ll_gguf_value *v) {
    uint64_t raw = le(p, (int)scalar_width(t));
    switch (t) {
    case LL_GGUF_UINT8: case LL_GGUF_UINT16: case LL_GGUF_UINT32: case LL_GGUF_UINT64: case LL_GGUF_BOOL:
        v->v.u = raw; break;
    case LL_GGUF_INT8: v->v.i = (int8_t)raw; break;
    case LL_GGUF_INT16: v->v.i = (int16_t)raw; break;
    case LL_GGUF_INT32: v->v.i = (int32_t)raw; break;
    case LL_GGUF_INT64: { int64_t i; memcpy(&i, &raw, 8); v->v.i = i; break; }
    case LL_GGUF_FLOAT32: { uint32_t b = (uint32_t)raw; float f; memcpy(&f, &b, 4); v->v.f = f; break; }
    case LL_GGUF_FLOAT64: { double d; memcpy(&d, &raw, 8); v->v.f = d; break; }
    default: break;
    }
}

/* Reads a value of type `type` (already read). depth = number of enclosing arrays. */
static int rd_value(rd *r, uint32_t type, ll_gguf_value *v, int depth) {
    v->type = type;
    size_t w = scalar_width(type);
    if (w) {
        uint64_t off = r->pos;
        char what[48];
        snprintf(what, sizeof what, "a %s value", vtype_names[type]);
        if (need(r, w, what)) return -1;
        decode_scalar(type, r->p + r->pos, v);
        if (type == LL_GGUF_BOOL && v->v.u > 1)
            return rd_fail(r, off, "bool value is %" PRIu64 "; expected 0 or 1", v->v.u);
        r->pos += w;
        return 0;
    }
    if (type == LL_GGUF_STRING) return rd_str(r, &v->v.str, "string value", 0);
    if (type != LL_GGUF_ARRAY) return rd_fail(r, r->pos, "invalid value type %" PRIu32, type);

    if (depth >= LL_GGUF_MAX_NESTING)
        return rd_fail(r, r->pos, "arrays nested more than %d deep", LL_GGUF_MAX_NESTING);
    uint64_t type_off = r->pos, count_off, n;
    uint32_t et;
    if (rd_u32(r, &et, "the array element type")) return -1;
    if (et >= LL_GGUF_VTYPE_COUNT)
        return rd_fail(r, type_off, "invalid array element type %" PRIu32 "; expected 0..%d",
                       et, LL_GGUF_VTYPE_COUNT - 1);
    count_off = r->pos;
    if (rd_u64(r, &n, "the array element count")) return -1;
    /* Each element needs at least this many bytes of file: compare before allocating anything. */
    uint64_t min_elem = w = scalar_width(et);
    if (et == LL_GGUF_STRING) min_elem = 8;
    if (et == LL_GGUF_ARRAY) min_elem = 12;
    if (n > left(r) / min_elem)
        return rd_fail(r, count_off, "array of %" PRIu64 " %s elements needs at least %" PRIu64
                       " bytes each but only %" PRIu64 " bytes are left in the file",
                       n, vtype_names[et], min_elem, left(r));
    v->v.arr.type = et;
    v->v.arr.n = n;
    if (w) {
        uint64_t data_off = r->pos;
        unsigned char *d = arena_array(r->ar, n, w);
        if (!d) return -1;
        memcpy(d, r->p + r->pos, (size_t)(n * w));
        if (et == LL_GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (d[i] > 1)
                    return rd_fail(r, data_off + i, "bool array element %" PRIu64 " is %u; expected 0 or 1",
                                   i, d[i]);
        r->pos += n * w;
        v->v.arr.data = d;
    } else if (et == LL_GGUF_STRING) {
        ll_str *s = arena_array(r->ar, n, sizeof *s);
        if (!s) return -1;
        for (uint64_t i = 0; i < n; i++) {
            char what[64];
            snprintf(what, sizeof what, "array string %" PRIu64, i);
            if (rd_str(r, &s[i], what, 0)) return -1;
        }
        v->v.arr.data = s;
    } else {
        ll_gguf_value *e = arena_array(r->ar, n, sizeof *e);
        if (!e) return -1;
        for (uint64_t i = 0; i < n; i++)
            if (rd_value(r, LL_GGUF_ARRAY, &e[i], depth + 1)) return -1;
        v->v.arr.data = e;
    }
    return 0;
}

/* Checks a key or tensor name: non-empty, no NUL bytes. */
static int check_name(rd *r, uint64_t off, const ll_str *s, const char *what) {
    if (s->n == 0) return rd_fail(r, off, "%s is empty", what);
    if (memchr(s->s, 0, (size_t)s->n)) return rd_fail(r, off, "%s contains a NUL byte", what);
    return 0;
}

static int mul_overflows(uint64_t a, uint64_t b, uint64_t *out) {
    if (a && b > UINT64_MAX / a) return 1;
    *out = a * b;
    return 0;
}

typedef struct { uint64_t start, end; uint64_t idx; } span;

static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* The whole parse. g->base/size/path are set; fills the rest. */
static int parse(ll_gguf *g, gguf_priv *pv) {
    rd r0 = {.p = g->base, .size = g->size, .pos = 0, .path = g->path, .ar = &pv->ar, .item = ""};
    rd *r = &r0;

    /* --- header */
    if (r->size < 4)
        return rd_fail(r, 0, "file ends early: expected the 4-byte magic 'GGUF' but the file is %" PRIu64
                       " byte%s long", r->size, r->size == 1 ? "" : "s");
    if (memcmp(r->p, "GGUF", 4) != 0) {
        char got[40];
        printable(got, sizeof got, (const char *)r->p, 4);
        return rd_fail(r, 0, "not a GGUF file: magic is '%s' (%02x %02x %02x %02x); expected 'GGUF'",
                       got, r->p[0], r->p[1], r->p[2], r->p[3]);
    }
    r->pos = 4;
    uint32_t version;
    if (rd_u32(r, &version, "the version")) return -1;
    if ((version & 0xffffu) == 0 && version != 0) {
        uint32_t sw = __builtin_bswap32(version);
        return rd_fail(r, 4, "the file is big-endian (version field reads 0x%08" PRIx32 ", version %" PRIu32
                       " byte-swapped); only little-endian GGUF files are supported", version, sw);
    }
    if (version == 1)
        return rd_fail(r, 4, "GGUF version 1 is obsolete and not supported; expected version 2 or 3");
    if (version != 2 && version != 3)
        return rd_fail(r, 4, "unsupported GGUF version %" PRIu32 "; expected 2 or 3", version);
    g->version = version;

    uint64_t n_tensors, n_kv;
    if (rd_u64(r, &n_tensors, "the tensor count")) return -1;
    if (rd_u64(r, &n_kv, "the metadata key/value count")) return -1;
    if (n_kv > left(r) / GGUF_MIN_KV_BYTES)
        return rd_fail(r, 16, "metadata count %" PRIu64 " is too large: each key/value pair needs at least %u"
                       " bytes but only %" PRIu64 " bytes are left in the file", n_kv, GGUF_MIN_KV_BYTES, left(r));
    if (n_tensors > left(r) / GGUF_MIN_TENSOR_BYTES)
        return rd_fail(r, 8, "tensor count %" PRIu64 " is too large: each tensor entry needs at least %u"
                       " bytes but only %" PRIu64 " bytes are left in the file", n_tensors, GGUF_MIN_TENSOR_BYTES,
                       left(r));
    if (n_kv > UINT32_MAX - 1 || n_tensors > UINT32_MAX - 1)
        return rd_fail(r, 8, "more than %" PRIu32 " keys or tensors are not supported", UINT32_MAX - 1);

    /* --- metadata */
    g->n_kv = n_kv;
    g->kv = arena_array(&pv->ar, n_kv, sizeof *g->kv);
    uint64_t *kv_off = arena_array(&pv->ar, n_kv, sizeof *kv_off);
    pv->kv_sorted = arena_array(&pv->ar, n_kv, sizeof *pv->kv_sorted);
    if (!g->kv || !kv_off || !pv->kv_sorted) return -1;
    for (uint64_t i = 0; i < n_kv; i++) {
        ll_gguf_kv *kv = &g->kv[i];
        char name[96];
        kv_off[i] = r->pos;
        snprintf(r->item, sizeof r->item, "key %" PRIu64, i);
        if (rd_str(r, &kv->key, "the key", GGUF_MAX_KEY_LEN)) return -1;
        if (check_name(r, kv_off[i], &kv->key, "the key")) return -1;
        printable(name, sizeof name, kv->key.s, kv->key.n);
        snprintf(r->item, sizeof r->item, "key '%s'", name);
        pv->kv_sorted[i] = (name_ref){kv->key.s, kv->key.n, i};
        uint64_t type_off = r->pos;
        uint32_t type;
        if (rd_u32(r, &type, "the value type")) return -1;
        if (type >= LL_GGUF_VTYPE_COUNT)
            return rd_fail(r, type_off, "invalid value type %" PRIu32 "; expected 0..%d", type,
                           LL_GGUF_VTYPE_COUNT - 1);
        if (rd_value(r, type, &kv->val, 0)) return -1;
    }

    uint64_t first = 0;
    int64_t dup = sort_names(pv->kv_sorted, n_kv, &first);
    if (dup >= 0) {
        uint64_t i = pv->kv_sorted[dup].idx;
        char name[96];
        printable(name, sizeof name, g->kv[i].key.s, g->kv[i].key.n);
        snprintf(r->item, sizeof r->item, "key '%s'", name);
        return rd_fail(r, kv_off[i], "duplicate key (first defined at byte %" PRIu64 ")", kv_off[first]);
    }

    /* --- alignment */
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const name_ref *al = find_name(pv->kv_sorted, n_kv, "general.alignment", 17);
    if (al) {
        uint64_t ai = al->idx;
        const ll_gguf_value *av = &g->kv[ai].val;
        snprintf(r->item, sizeof r->item, "key 'general.alignment'");
        if (av->type != LL_GGUF_UINT32)
            return rd_fail(r, kv_off[ai], "type is %s; expected uint32", ll_gguf_vtype_name(av->type));
        if (av->v.u == 0 || (av->v.u & (av->v.u - 1)) != 0)
            return rd_fail(r, kv_off[ai], "alignment is %" PRIu64 "; expected a nonzero power of two", av->v.u);
        g->alignment = av->v.u;
    }

    /* --- tensor directory */
    g->n_tensors = n_tensors;
    g->tensors = arena_array(&pv->ar, n_tensors, sizeof *g->tensors);
    uint64_t *t_off = arena_array(&pv->ar, n_tensors, sizeof *t_off);
    pv->t_sorted = arena_array(&pv->ar, n_tensors, sizeof *pv->t_sorted);
    if (!g->tensors || !t_off || !pv->t_sorted) return -1;
    for (uint64_t i = 0; i < n_tensors; i++) {
        ll_gguf_tensor *t = &g->tensors[i];
        char name[96];
        t_off[i] = r->pos;
        snprintf(r->item, sizeof r->item, "tensor %" PRIu64, i);
        if (rd_str(r, &t->name, "the tensor name", GGUF_MAX_KEY_LEN)) return -1;
        if (check_name(r, t_off[i], &t->name, "the tensor name")) return -1;
        printable(name, sizeof name, t->name.s, t->name.n);
        snprintf(r->item, sizeof r->item, "tensor %" PRIu64 " '%s'", i, name);
        pv->t_sorted[i] = (name_ref){t->name.s, t->name.n, i};

        uint64_t dims_off = r->pos;
        if (rd_u32(r, &t->n_dims, "the number of dimensions")) return -1;
        if (t->n_dims < 1 || t->n_dims > 4)
            return rd_fail(r, dims_off, "n_dims is %" PRIu32 "; expected 1 to 4", t->n_dims);
        uint64_t nel = 1;
        for (int d = 0; d < 4; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            uint64_t ne_off = r->pos, raw;
            if (rd_u64(r, &raw, "a dimension")) return -1;
            if (raw > (uint64_t)INT64_MAX)
                return rd_fail(r, ne_off, "ne[%" PRIu32 "] is %" PRId64 "; expected a non-negative count", d,
                               (int64_t)raw);
            t->ne[d] = (int64_t)raw;
            if (mul_overflows(nel, raw, &nel) || nel > (uint64_t)INT64_MAX)
                return rd_fail(r, ne_off, "element count overflows: ne = [%" PRId64 ", %" PRId64 ", %" PRId64
                               ", %" PRId64 "] has more than 2^63-1 elements",
                               t->ne[0], t->ne[1], t->ne[2], t->ne[3]);
        }
        uint64_t type_off = r->pos;
        if (rd_u32(r, &t->type, "the tensor type")) return -1;
        const ll_type_traits *tt = ll_type_get(t->type);
        if (!tt || tt->blck <= 0 || tt->type_size == 0)
            return rd_fail(r, type_off, "unknown tensor type id %" PRIu32, t->type);
        if (t->ne[0] % tt->blck != 0)
            return rd_fail(r, dims_off + 4, "row length ne[0] = %" PRId64 " is not a multiple of the %s block"
                           " size %" PRId64, t->ne[0], tt->name ? tt->name : "type", tt->blck);
        uint64_t nbytes;
        if (mul_overflows(nel / (uint64_t)tt->blck, tt->type_size, &nbytes) || nbytes > SIZE_MAX)
            return rd_fail(r, dims_off, "size in bytes overflows (%" PRIu64 " elements of %s)", nel,
                           tt->name ? tt->name : "this type");
        t->nbytes = (size_t)nbytes;
        uint64_t offset_off = r->pos;
        if (rd_u64(r, &t->offset, "the tensor data offset")) return -1;
        if (t->offset % g->alignment != 0)
            return rd_fail(r, offset_off, "data offset %" PRIu64 " is not a multiple of the alignment %" PRIu64,
                           t->offset, g->alignment);
    }

    dup = sort_names(pv->t_sorted, n_tensors, &first);
    if (dup >= 0) {
        uint64_t i = pv->t_sorted[dup].idx;
        char name[96];
        printable(name, sizeof name, g->tensors[i].name.s, g->tensors[i].name.n);
        snprintf(r->item, sizeof r->item, "tensor %" PRIu64 " '%s'", i, name);
        return rd_fail(r, t_off[i], "duplicate tensor name (tensor %" PRIu64 " at byte %" PRIu64 " has it too)",
                       first, t_off[first]);
    }

    /* --- data section: starts at the next multiple of the alignment (ggml pads only when there are tensors) */
    r->item[0] = 0;
    uint64_t data_off = r->pos;
    if (n_tensors > 0) {
        uint64_t pad = (g->alignment - data_off % g->alignment) % g->alignment;
        if (pad > left(r))
            return rd_fail(r, data_off, "file ends early: the tensor data section should start at byte %" PRIu64
                           " (aligned to %" PRIu64 ") but the file is %" PRIu64 " bytes long",
                           data_off + pad, g->alignment, r->size);
        data_off += pad;
    }
    g->data_offset = data_off;
    uint64_t avail = r->size - data_off;
    span *sp = arena_array(&pv->ar, n_tensors, sizeof *sp);
    if (!sp) return -1;
    uint64_t nsp = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        ll_gguf_tensor *t = &g->tensors[i];
        char name[96];
        printable(name, sizeof name, t->name.s, t->name.n);
        snprintf(r->item, sizeof r->item, "tensor %" PRIu64 " '%s'", i, name);
        if (t->offset > avail || t->nbytes > avail - t->offset)
            return rd_fail(r, t_off[i], "data (offset %" PRIu64 " + %zu bytes from the data section at byte %"
                           PRIu64 ") extends past the end of the file (%" PRIu64 " bytes)",
                           t->offset, t->nbytes, data_off, r->size);
        t->data = g->base + data_off + t->offset;
        if (t->nbytes) sp[nsp++] = (span){t->offset, t->offset + t->nbytes, i};
    }
    /* --- no two tensors share bytes */
    qsort(sp, (size_t)nsp, sizeof *sp, span_cmp);
    for (uint64_t k = 1; k < nsp; k++) {
        if (sp[k].start < sp[k - 1].end) {
            const ll_gguf_tensor *a = &g->tensors[sp[k - 1].idx], *b = &g->tensors[sp[k].idx];
            char na[96], nb[96];
            printable(na, sizeof na, a->name.s, a->name.n);
            printable(nb, sizeof nb, b->name.s, b->name.n);
            r->item[0] = 0;
            return rd_fail(r, data_off + sp[k].start, "tensor '%s' data [%" PRIu64 ", %" PRIu64 ") overlaps tensor"
                           " '%s' data [%" PRIu64 ", %" PRIu64 ") (offsets in the data section)",
                           nb, sp[k].start, sp[k].end, na, sp[k - 1].start, sp[k - 1].end);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- open / close */

static ll_gguf *gguf_new(const void *data, size_t size, const char *label) {
    ll_gguf *g = ll_calloc(1, sizeof *g);
    gguf_priv *pv = ll_calloc(1, sizeof *pv);
    char *path = ll_strndup(label, strlen(label));
    if (!g || !pv || !path) {
        free(g); free(pv); free(path);
        return NULL;
    }
    g->path = path;
    g->priv = pv;
    g->base = data;
    g->size = size;
    return g;
}

ll_gguf *ll_gguf_from_memory(const void *data, size_t size, const char *label) {
    if (!label) label = "<memory>";
    if (!data && size) { ll_fail("%s: no data", label); return NULL; }
    static const uint8_t empty[1];
    ll_gguf *g = gguf_new(data ? data : empty, size, label);
    if (!g) return NULL;
    if (parse(g, g->priv)) {
        ll_gguf_close(g);
        return NULL;
    }
    return g;
}

ll_gguf *ll_gguf_open(const char *path) {
    if (!path) { ll_fail("ll_gguf_open: no path"); return NULL; }
    void *map;
    size_t size;
    if (ll_map_input(path, "GGUF file", &map, &size)) return NULL;
    static const uint8_t empty[1];
    ll_gguf *g = gguf_new(map ? map : empty, size, path);
    if (!g) {
        if (map) munmap(map, size);
        return NULL;
    }
    gguf_priv *pv = g->priv;
    pv->map = map;
    pv->map_len = size;
    if (parse(g, pv)) {
        ll_gguf_close(g);
        return NULL;
    }
    return g;
}

void ll_gguf_close(ll_gguf *g) {
    if (!g) return;
    gguf_priv *pv = g->priv;
    if (pv) {
        if (pv->map) munmap(pv->map, pv->map_len);
        arena_free(&pv->ar);
        free(pv);
    }
    free(g->path);
    free(g);
}

/* ---------------------------------------------------------------- lookup and typed getters */

const ll_gguf_kv *ll_gguf_find(const ll_gguf *g, const char *key) {
    if (!g || !key || !g->n_kv) return NULL;
    const gguf_priv *pv = g->priv;
    const name_ref *f = find_name(pv->kv_sorted, g->n_kv, key, strlen(key));
    return f ? &g->kv[f->idx] : NULL;
}

const ll_gguf_tensor *ll_gguf_find_tensor(const ll_gguf *g, const char *name) {
    if (!g || !name || !g->n_tensors) return NULL;
    const gguf_priv *pv = g->priv;
    const name_ref *f = find_name(pv->t_sorted, g->n_tensors, name, strlen(name));
    return f ? &g->tensors[f->idx] : NULL;
}

static int is_unsigned(uint32_t t) {
    return t == LL_GGUF_UINT8 || t == LL_GGUF_UINT16 || t == LL_GGUF_UINT32 || t == LL_GGUF_UINT64 ||
           t == LL_GGUF_BOOL;
}
static int is_signed(uint32_t t) {
    return t == LL_GGUF_INT8 || t == LL_GGUF_INT16 || t == LL_GGUF_INT32 || t == LL_GGUF_INT64;
}

static int wrong_type(const ll_gguf *g, const char *key, uint32_t t, const char *expected) {
    return ll_fail("%s: key '%s' is %s; expected %s", g->path, key, ll_gguf_vtype_name(t), expected);
}

int ll_gguf_get_u64(const ll_gguf *g, const char *key, uint64_t *out) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    if (!kv) return 0;
    uint32_t t = kv->val.type;
    if (is_unsigned(t)) { *out = kv->val.v.u; return 1; }
    if (is_signed(t)) {
        if (kv->val.v.i < 0)
            return ll_fail("%s: key '%s' is %" PRId64 "; expected a non-negative value", g->path, key, kv->val.v.i);
        *out = (uint64_t)kv->val.v.i;
        return 1;
    }
    return wrong_type(g, key, t, "an integer");
}

int ll_gguf_get_i64(const ll_gguf *g, const char *key, int64_t *out) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    if (!kv) return 0;
    uint32_t t = kv->val.type;
    if (is_signed(t)) { *out = kv->val.v.i; return 1; }
    if (is_unsigned(t)) {
        if (kv->val.v.u > (uint64_t)INT64_MAX)
            return ll_fail("%s: key '%s' is %" PRIu64 "; expected at most 2^63-1", g->path, key, kv->val.v.u);
        *out = (int64_t)kv->val.v.u;
        return 1;
    }
    return wrong_type(g, key, t, "an integer");
}

int ll_gguf_get_f64(const ll_gguf *g, const char *key, double *out) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    if (!kv) return 0;
    uint32_t t = kv->val.type;
    if (t == LL_GGUF_FLOAT32 || t == LL_GGUF_FLOAT64) { *out = kv->val.v.f; return 1; }
    if (is_signed(t)) { *out = (double)kv->val.v.i; return 1; }
    if (is_unsigned(t) && t != LL_GGUF_BOOL) { *out = (double)kv->val.v.u; return 1; }
    return wrong_type(g, key, t, "a number");
}

int ll_gguf_get_bool(const ll_gguf *g, const char *key, bool *out) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    if (!kv) return 0;
    if (kv->val.type != LL_GGUF_BOOL) return wrong_type(g, key, kv->val.type, "bool");
    *out = kv->val.v.u != 0;
    return 1;
}

int ll_gguf_get_str(const ll_gguf *g, const char *key, ll_str *out) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    if (!kv) return 0;
    if (kv->val.type != LL_GGUF_STRING) return wrong_type(g, key, kv->val.type, "string");
    *out = kv->val.v.str;
    return 1;
}

int ll_gguf_get_arr(const ll_gguf *g, const char *key, uint32_t elem_type, const void **data, uint64_t *n) {
    const ll_gguf_kv *kv = ll_gguf_find(g, key);
    if (!kv) return 0;
    if (kv->val.type != LL_GGUF_ARRAY) return wrong_type(g, key, kv->val.type, "array");
    if (kv->val.v.arr.type != elem_type)
        return ll_fail("%s: key '%s' is an array of %s; expected an array of %s", g->path, key,
                       ll_gguf_vtype_name(kv->val.v.arr.type), ll_gguf_vtype_name(elem_type));
    *data = kv->val.v.arr.data;
    *n = kv->val.v.arr.n;
    return 1;
}
