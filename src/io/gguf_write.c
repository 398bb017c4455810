/* gguf_write.c — GGUF v3 writer (little-endian).
 *
 * The writer keeps metadata (deep copies, insertion order) and a tensor list (pointers to the caller's
 * bytes), checks everything when it is added, and writes the file in one pass:
 *   header, key/values, tensor infos, zero padding to the alignment, then each tensor's bytes followed by
 *   zero padding to the alignment (as ggml does), so every offset is a multiple of the alignment.
 * The output goes to PATH.tmp, which is renamed to PATH only after a successful write and fsync.
 */
#include "gguf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/files.h"
#include "tensor/dtype.h"
#include "util/err.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf_write.c writes arrays as they are in memory: it needs a little-endian host"
#endif

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_KEY_LEN 65535u

typedef struct {
    char *key;
    ll_gguf_value val;      /* owned deep copy */
} wkv;

typedef struct {
    char *name;
    uint32_t type, n_dims;
    int64_t ne[4];
    const void *data;       /* caller's bytes */
    size_t nbytes;
} wtensor;

struct ll_gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
};

/* ---------------------------------------------------------------- values */

static size_t width_of(uint32_t t) {
    switch (t) {
    case LL_GGUF_UINT8: case LL_GGUF_INT8: case LL_GGUF_BOOL: return 1;
    case LL_GGUF_UINT16: case LL_GGUF_INT16: return 2;
    case LL_GGUF_UINT32: case LL_GGUF_INT32: case LL_GGUF_FLOAT32: return 4;
    case LL_GGUF_UINT64: case LL_GGUF_INT64: case LL_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static void value_free(ll_gguf_value *v) {
    if (v->type == LL_GGUF_STRING) {
        free((char *)v->v.str.s);
    } else if (v->type == LL_GGUF_ARRAY) {
        if (v->v.arr.type == LL_GGUF_STRING) {
            ll_str *s = v->v.arr.data;
            for (uint64_t i = 0; s && i < v->v.arr.n; i++) free((char *)s[i].s);
        } else if (v->v.arr.type == LL_GGUF_ARRAY) {
            ll_gguf_value *e = v->v.arr.data;
            for (uint64_t i = 0; e && i < v->v.arr.n; i++) value_free(&e[i]);
        }
        free(v->v.arr.data);
    }
    memset(v, 0, sizeof *v);
}

static int copy_str(ll_str *dst, const ll_str *src, const char *key) {
    if (!src->s && src->n) return ll_fail("gguf writer: key '%s': string with %" PRIu64 " bytes has no data", key, src->n);
    if (src->n > SIZE_MAX - 1) return ll_fail("gguf writer: key '%s': string too long", key);
    char *s = ll_malloc((size_t)src->n + 1);
    if (!s) return -1;
    if (src->n) memcpy(s, src->s, (size_t)src->n);
    s[src->n] = 0;
    dst->s = s;
    dst->n = src->n;
    return 0;
}

/* Range-checks a scalar held in the union against its on-disk width. */
static int check_scalar(const ll_gguf_value *v, const char *key) {
    const char *tn = ll_gguf_vtype_name(v->type);
    switch (v->type) {
    case LL_GGUF_UINT8: if (v->v.u > UINT8_MAX) goto range; return 0;
    case LL_GGUF_UINT16: if (v->v.u > UINT16_MAX) goto range; return 0;
    case LL_GGUF_UINT32: if (v->v.u > UINT32_MAX) goto range; return 0;
    case LL_GGUF_BOOL: if (v->v.u > 1) goto range; return 0;
    case LL_GGUF_INT8: if (v->v.i < INT8_MIN || v->v.i > INT8_MAX) goto range; return 0;
    case LL_GGUF_INT16: if (v->v.i < INT16_MIN || v->v.i > INT16_MAX) goto range; return 0;
    case LL_GGUF_INT32: if (v->v.i < INT32_MIN || v->v.i > INT32_MAX) goto range; return 0;
    default: return 0;
    }
range:
    return ll_fail("gguf writer: key '%s': value out of range for %s", key, tn);
}

/* Deep copy with validation; depth = number of enclosing arrays. On failure dst is left empty. */
static int value_copy(ll_gguf_value *dst, const ll_gguf_value *src, int depth, const char *key) {
    memset(dst, 0, sizeof *dst);
    if (src->type >= LL_GGUF_VTYPE_COUNT)
        return ll_fail("gguf writer: key '%s': invalid value type %" PRIu32, key, src->type);
    if (width_of(src->type)) {
        if (check_scalar(src, key)) return -1;
        *dst = *src;
        return 0;
    }
    if (src->type == LL_GGUF_STRING) {
        if (copy_str(&dst->v.str, &src->v.str, key)) return -1;
        dst->type = LL_GGUF_STRING;
        return 0;
    }
    /* array */
    if (depth >= LL_GGUF_MAX_NESTING)
        return ll_fail("gguf writer: key '%s': arrays nested more than %d deep", key, LL_GGUF_MAX_NESTING);
    uint32_t et = src->v.arr.type;
    uint64_t n = src->v.arr.n;
    if (et >= LL_GGUF_VTYPE_COUNT)
        return ll_fail("gguf writer: key '%s': invalid array element type %" PRIu32, key, et);
    if (n && !src->v.arr.data)
        return ll_fail("gguf writer: key '%s': array of %" PRIu64 " elements has no data", key, n);
    size_t w = width_of(et), esize = w ? w : et == LL_GGUF_STRING ? sizeof(ll_str) : sizeof(ll_gguf_value);
    if (n > SIZE_MAX / esize) return ll_fail("gguf writer: key '%s': array of %" PRIu64 " elements is too large", key, n);
    void *data = ll_calloc(n ? (size_t)n : 1, esize);
    if (!data) return -1;
    dst->type = LL_GGUF_ARRAY;
    dst->v.arr.type = et;
    dst->v.arr.data = data;
    if (w) {
        if (n) memcpy(data, src->v.arr.data, (size_t)n * w);
        dst->v.arr.n = n;
        if (et == LL_GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (((const uint8_t *)data)[i] > 1) {
                    value_free(dst);
                    return ll_fail("gguf writer: key '%s': bool array element %" PRIu64 " is not 0 or 1", key, i);
                }
        return 0;
    }
    for (uint64_t i = 0; i < n; i++) {
        int rc;
        if (et == LL_GGUF_STRING) {
            rc = copy_str(&((ll_str *)data)[i], &((const ll_str *)src->v.arr.data)[i], key);
        } else {
            const ll_gguf_value *se = &((const ll_gguf_value *)src->v.arr.data)[i];
            if (se->type != LL_GGUF_ARRAY)
                rc = ll_fail("gguf writer: key '%s': element %" PRIu64 " of an array of arrays has type %s",
                             key, i, ll_gguf_vtype_name(se->type));
            else
                rc = value_copy(&((ll_gguf_value *)data)[i], se, depth + 1, key);
        }
        dst->v.arr.n = i + (rc == 0);          /* value_free frees exactly the elements copied so far */
        if (rc) {
            value_free(dst);
            return -1;
        }
    }
    dst->v.arr.n = n;
    return 0;
}

/* ---------------------------------------------------------------- writer object */

ll_gguf_writer *ll_gguf_writer_new(void) { return ll_calloc(1, sizeof(ll_gguf_writer)); }

void ll_gguf_writer_free(ll_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        value_free(&w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w);
}

static int check_key(const char *key, const char *what) {
    if (!key) return ll_fail("gguf writer: %s is NULL", what);
    size_t n = strlen(key);
    if (n == 0) return ll_fail("gguf writer: %s is empty", what);
    if (n > GGUF_MAX_KEY_LEN)
        return ll_fail("gguf writer: %s is %zu bytes long; at most %u allowed", what, n, GGUF_MAX_KEY_LEN);
    return 0;
}

static wkv *find_kv(ll_gguf_writer *w, const char *key) {
    for (size_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0) return &w->kv[i];
    return NULL;
}

/* Grows *arr (elements of size es) to hold one more; returns 0 or -1. */
static int grow(void **arr, size_t *cap, size_t n, size_t es) {
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc > SIZE_MAX / es) return ll_fail("gguf writer: too many entries");
    void *p = ll_realloc(*arr, nc * es);
    if (!p) return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

int ll_gguf_writer_set(ll_gguf_writer *w, const char *key, const ll_gguf_value *v) {
    if (!w || !v) return ll_fail("gguf writer: NULL argument");
    if (check_key(key, "key")) return -1;
    ll_gguf_value copy;
    if (value_copy(&copy, v, 0, key)) return -1;
    wkv *e = find_kv(w, key);
    if (e) {
        value_free(&e->val);
        e->val = copy;
        return 0;
    }
    char *k = ll_strndup(key, strlen(key));
    if (!k || grow((void **)&w->kv, &w->cap_kv, w->n_kv, sizeof *w->kv)) {
        free(k);
        value_free(&copy);
        return -1;
    }
    w->kv[w->n_kv++] = (wkv){k, copy};
    return 0;
}

int ll_gguf_writer_set_u32(ll_gguf_writer *w, const char *key, uint32_t v) {
    ll_gguf_value x = {.type = LL_GGUF_UINT32, .v.u = v};
    return ll_gguf_writer_set(w, key, &x);
}

int ll_gguf_writer_set_i32(ll_gguf_writer *w, const char *key, int32_t v) {
    ll_gguf_value x = {.type = LL_GGUF_INT32, .v.i = v};
    return ll_gguf_writer_set(w, key, &x);
}

int ll_gguf_writer_set_f32(ll_gguf_writer *w, const char *key, float v) {
    ll_gguf_value x = {.type = LL_GGUF_FLOAT32, .v.f = v};
    return ll_gguf_writer_set(w, key, &x);
}

int ll_gguf_writer_set_bool(ll_gguf_writer *w, const char *key, bool v) {
    ll_gguf_value x = {.type = LL_GGUF_BOOL, .v.u = v ? 1 : 0};
    return ll_gguf_writer_set(w, key, &x);
}

int ll_gguf_writer_set_str(ll_gguf_writer *w, const char *key, const char *s) {
    if (!s) return ll_fail("gguf writer: key '%s': NULL string", key ? key : "?");
    ll_gguf_value x = {.type = LL_GGUF_STRING, .v.str = {s, strlen(s)}};
    return ll_gguf_writer_set(w, key, &x);
}

int ll_gguf_writer_set_arr(ll_gguf_writer *w, const char *key, uint32_t elem_type, const void *data, uint64_t n) {
    if (!width_of(elem_type))
        return ll_fail("gguf writer: key '%s': ll_gguf_writer_set_arr takes scalar element types, not %s",
                       key ? key : "?", ll_gguf_vtype_name(elem_type));
    ll_gguf_value x = {.type = LL_GGUF_ARRAY};
    x.v.arr.type = elem_type;
    x.v.arr.n = n;
    x.v.arr.data = (void *)(uintptr_t)data;
    return ll_gguf_writer_set(w, key, &x);
}

int ll_gguf_writer_set_arr_str(ll_gguf_writer *w, const char *key, const char *const *strs, const uint64_t *lens,
                               uint64_t n) {
    if (n && !strs) return ll_fail("gguf writer: key '%s': NULL string array", key ? key : "?");
    if (n > SIZE_MAX / sizeof(ll_str)) return ll_fail("gguf writer: key '%s': array too large", key ? key : "?");
    ll_str *tmp = ll_calloc(n ? (size_t)n : 1, sizeof *tmp);
    if (!tmp) return -1;
    for (uint64_t i = 0; i < n; i++) {
        if (!strs[i] && (!lens || lens[i])) {
            free(tmp);
            return ll_fail("gguf writer: key '%s': string %" PRIu64 " is NULL", key ? key : "?", i);
        }
        tmp[i].s = strs[i];
        tmp[i].n = lens ? lens[i] : strlen(strs[i]);
    }
    ll_gguf_value x = {.type = LL_GGUF_ARRAY};
    x.v.arr.type = LL_GGUF_STRING;
    x.v.arr.n = n;
    x.v.arr.data = tmp;
    int rc = ll_gguf_writer_set(w, key, &x);
    free(tmp);
    return rc;
}

int ll_gguf_writer_remove(ll_gguf_writer *w, const char *key) {
    if (!w || !key) return ll_fail("gguf writer: NULL argument");
    wkv *e = find_kv(w, key);
    if (!e) return 0;
    free(e->key);
    value_free(&e->val);
    size_t i = (size_t)(e - w->kv);
    memmove(&w->kv[i], &w->kv[i + 1], (w->n_kv - i - 1) * sizeof *w->kv);
    w->n_kv--;
    return 0;
}

int ll_gguf_writer_add_tensor(ll_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                              const int64_t *ne, const void *data, size_t nbytes) {
    if (!w || !ne) return ll_fail("gguf writer: NULL argument");
    if (check_key(name, "tensor name")) return -1;
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0) return ll_fail("gguf writer: duplicate tensor name '%s'", name);
    if (n_dims < 1 || n_dims > 4)
        return ll_fail("gguf writer: tensor '%s': n_dims is %" PRIu32 "; expected 1 to 4", name, n_dims);
    const ll_type_traits *tt = ll_type_get(type);
    if (!tt || tt->blck <= 0 || tt->type_size == 0)
        return ll_fail("gguf writer: tensor '%s': unknown tensor type id %" PRIu32, name, type);
    uint64_t nel = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] < 0) return ll_fail("gguf writer: tensor '%s': ne[%" PRIu32 "] is negative", name, d);
        uint64_t x = (uint64_t)ne[d];
        if (x && nel > (uint64_t)INT64_MAX / x)
            return ll_fail("gguf writer: tensor '%s': element count overflows", name);
        nel *= x;
    }
    if (ne[0] % tt->blck)
        return ll_fail("gguf writer: tensor '%s': ne[0] = %" PRId64 " is not a multiple of the %s block size %" PRId64,
                       name, ne[0], tt->name ? tt->name : "type", tt->blck);
    uint64_t blocks = nel / (uint64_t)tt->blck;
    if (blocks > SIZE_MAX / tt->type_size) return ll_fail("gguf writer: tensor '%s': size overflows", name);
    size_t want = (size_t)blocks * tt->type_size;
    if (nbytes != want)
        return ll_fail("gguf writer: tensor '%s': nbytes is %zu but %s with %" PRIu64 " elements takes %zu bytes",
                       name, nbytes, tt->name ? tt->name : "this type", nel, want);
    if (nbytes && !data) return ll_fail("gguf writer: tensor '%s': no data", name);
    char *nm = ll_strndup(name, strlen(name));
    if (!nm || grow((void **)&w->t, &w->cap_t, w->n_t, sizeof *w->t)) {
        free(nm);
        return -1;
    }
    wtensor *t = &w->t[w->n_t++];
    *t = (wtensor){.name = nm, .type = type, .n_dims = n_dims, .ne = {1, 1, 1, 1}, .data = data, .nbytes = nbytes};
    for (uint32_t d = 0; d < n_dims; d++) t->ne[d] = ne[d];
    return 0;
}

/* ---------------------------------------------------------------- output */

typedef struct {
    FILE *f;
    uint64_t pos;
    int err;
} out;

static void put(out *o, const void *p, size_t n) {
    if (o->err || !n) return;
    if (fwrite(p, 1, n, o->f) != n) o->err = errno ? errno : EIO;
    o->pos += n;
}

static void put_le(out *o, uint64_t v, int n) {
    uint8_t b[8];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    put(o, b, (size_t)n);
}

static void put_str(out *o, const char *s, uint64_t n) {
    put_le(o, n, 8);
    put(o, s, (size_t)n);
}

static void put_pad(out *o, uint64_t align) {
    static const uint8_t zeros[256];
    uint64_t pad = (align - o->pos % align) % align;
    while (pad) {
        size_t k = pad > sizeof zeros ? sizeof zeros : (size_t)pad;
        put(o, zeros, k);
        pad -= k;
    }
}

/* A scalar value from the union at its on-disk width. */
static void put_scalar(out *o, const ll_gguf_value *v) {
    switch (v->type) {
    case LL_GGUF_FLOAT32: { float f = (float)v->v.f; uint32_t b; memcpy(&b, &f, 4); put_le(o, b, 4); break; }
    case LL_GGUF_FLOAT64: { uint64_t b; memcpy(&b, &v->v.f, 8); put_le(o, b, 8); break; }
    case LL_GGUF_INT8: case LL_GGUF_INT16: case LL_GGUF_INT32: case LL_GGUF_INT64:
        put_le(o, (uint64_t)v->v.i, (int)width_of(v->type)); break;
    default: put_le(o, v->v.u, (int)width_of(v->type)); break;
    }
}

/* The value's payload (its type id is written by the caller). */
static void put_value(out *o, const ll_gguf_value *v) {
    if (width_of(v->type)) { put_scalar(o, v); return; }
    if (v->type == LL_GGUF_STRING) { put_str(o, v->v.str.s, v->v.str.n); return; }
    uint32_t et = v->v.arr.type;
    put_le(o, et, 4);
    put_le(o, v->v.arr.n, 8);
    size_t w = width_of(et);
    if (w) {
        put(o, v->v.arr.data, (size_t)v->v.arr.n * w);
    } else if (et == LL_GGUF_STRING) {
        const ll_str *s = v->v.arr.data;
        for (uint64_t i = 0; i < v->v.arr.n; i++) put_str(o, s[i].s, s[i].n);
    } else {
        const ll_gguf_value *e = v->v.arr.data;
        for (uint64_t i = 0; i < v->v.arr.n; i++) put_value(o, &e[i]);
    }
}

int ll_gguf_writer_write(ll_gguf_writer *w, const char *path) {
    if (!w || !path) return ll_fail("gguf writer: NULL argument");
    uint64_t align = GGUF_DEFAULT_ALIGNMENT;
    wkv *a = find_kv(w, "general.alignment");
    if (a) {
        if (a->val.type != LL_GGUF_UINT32)
            return ll_fail("%s: general.alignment is %s; expected uint32", path, ll_gguf_vtype_name(a->val.type));
        if (a->val.v.u == 0 || (a->val.v.u & (a->val.v.u - 1)))
            return ll_fail("%s: general.alignment is %" PRIu64 "; expected a nonzero power of two", path, a->val.v.u);
        align = a->val.v.u;
    }
    /* Offsets: each tensor starts at the previous one's end rounded up to the alignment. */
    uint64_t *offs = ll_calloc(w->n_t ? w->n_t : 1, sizeof *offs);
    if (!offs) return -1;
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        offs[i] = off;
        uint64_t padded = w->t[i].nbytes + (align - w->t[i].nbytes % align) % align;
        if (padded < w->t[i].nbytes || off > UINT64_MAX - padded) {
            free(offs);
            return ll_fail("%s: tensor data section size overflows", path);
        }
        off += padded;
    }

    ll_out file;
    if (ll_out_open(&file, path, true)) { free(offs); return -1; }
    FILE *f = file.f;
    out o = {f, 0, 0};
    put(&o, "GGUF", 4);
    put_le(&o, 3, 4);
    put_le(&o, w->n_t, 8);
    put_le(&o, w->n_kv, 8);
    for (size_t i = 0; i < w->n_kv; i++) {
        put_str(&o, w->kv[i].key, strlen(w->kv[i].key));
        put_le(&o, w->kv[i].val.type, 4);
        put_value(&o, &w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        put_str(&o, t->name, strlen(t->name));
        put_le(&o, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims; d++) put_le(&o, (uint64_t)t->ne[d], 8);
        put_le(&o, t->type, 4);
        put_le(&o, offs[i], 8);
    }
    put_pad(&o, align);
    for (size_t i = 0; i < w->n_t; i++) {
        put(&o, w->t[i].data, w->t[i].nbytes);
        put_pad(&o, align);
    }
    free(offs);
    return ll_out_close(&file, true);   /* a failed write left the stream's error flag: reported there */
}
