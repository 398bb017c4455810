/* safetensors.c — the safetensors reader (format and checks: safetensors.h). */
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "io/files.h"
#include "tensor/dtype.h"
#include "util/err.h"

/* the format's dtypes: name, bytes per element, ggml type id (UINT32_MAX: none, listed but not computed with) */
static const struct { const char *name; size_t size; uint32_t type; } k_dtypes[] = {
    {"F32", 4, LL_TYPE_F32},  {"F16", 2, LL_TYPE_F16},  {"BF16", 2, LL_TYPE_BF16}, {"F64", 8, LL_TYPE_F64},
    {"I8", 1, LL_TYPE_I8},    {"I16", 2, LL_TYPE_I16},  {"I32", 4, LL_TYPE_I32},   {"I64", 8, LL_TYPE_I64},
    {"U8", 1, UINT32_MAX},    {"U16", 2, UINT32_MAX},   {"U32", 4, UINT32_MAX},    {"U64", 8, UINT32_MAX},
    {"BOOL", 1, UINT32_MAX},  {"F8_E4M3", 1, UINT32_MAX}, {"F8_E5M2", 1, UINT32_MAX},
};

int ll_st_sniff(const void *data, size_t size) {
    const uint8_t *p = data;
    if (size < 9) return 0;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | p[i];
    return n >= 2 && n <= LL_ST_MAX_HEADER && n <= size - 8 && p[8] == '{';
}

void ll_st_close(ll_st *s) {
    if (!s) return;
    for (uint64_t i = 0; i < s->n_tensors; i++) {
        free((void *)s->tensors[i].name.s);
        if (s->dtype) free(s->dtype[i]);
    }
    for (uint64_t i = 0; i < s->n_meta; i++) {
        free((void *)s->meta_key[i].s);
        free((void *)s->meta_val[i].s);
    }
    free(s->tensors);
    free(s->dtype);
    free(s->meta_key);
    free(s->meta_val);
    if (s->map) munmap(s->map, s->size);
    free(s->path);
    free(s);
}

static int cmp_begin(const void *a, const void *b) {
    const ll_gguf_tensor *x = *(const ll_gguf_tensor *const *)a, *y = *(const ll_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}
static int cmp_name(const void *a, const void *b) {
    const ll_gguf_tensor *const *x = a, *const *y = b;
    return strcmp((*x)->name.s, (*y)->name.s);
}

/* a non-negative integer JSON number below 2^53, exactly */
static int json_u53(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble >= 9007199254740992.0 ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return -1;
    *out = (uint64_t)v->valuedouble;
    return 0;
}

static int parse(ll_st *s) {
    const char *P = s->path;
    if (s->size < 8) return ll_fail("%s: %zu bytes is too short for a safetensors file (no header length)", P, s->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | s->base[i];
    if (n > LL_ST_MAX_HEADER) return ll_fail("%s: header length %llu is over the format's limit of %u bytes", P,
                                             (unsigned long long)n, LL_ST_MAX_HEADER);
    if (n > s->size - 8)
        return ll_fail("%s: header length %llu runs past the end of the file (%zu bytes)", P, (unsigned long long)n,
                       s->size);
    cJSON *root = cJSON_ParseWithLength((const char *)s->base + 8, (size_t)n);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ll_fail("%s: the %llu-byte header is not a JSON object", P, (unsigned long long)n);
    }
    const size_t data0 = 8 + (size_t)n, dsize = s->size - data0;
    int rc = 0, count = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) count += strcmp(e->string, "__metadata__") != 0;
    s->tensors = ll_calloc(count ? (size_t)count : 1, sizeof *s->tensors);
    s->dtype = ll_calloc(count ? (size_t)count : 1, sizeof *s->dtype);
    if (!s->tensors || !s->dtype) { cJSON_Delete(root); return -1; }
    cJSON_ArrayForEach(e, root) {
        if (!strcmp(e->string, "__metadata__")) {
            if (!cJSON_IsObject(e)) { rc = ll_fail("%s: __metadata__ must be an object of strings", P); break; }
            if (s->meta_key) { rc = ll_fail("%s: the header has two __metadata__ objects", P); break; }
            int nm = cJSON_GetArraySize(e);
            s->meta_key = ll_calloc(nm ? (size_t)nm : 1, sizeof *s->meta_key);
            s->meta_val = ll_calloc(nm ? (size_t)nm : 1, sizeof *s->meta_val);
            if (!s->meta_key || !s->meta_val) { rc = -1; break; }
            const cJSON *m;
            cJSON_ArrayForEach(m, e) {
                if (!cJSON_IsString(m)) { rc = ll_fail("%s: __metadata__['%.64s'] is not a string", P, m->string); break; }
                ll_str *k = &s->meta_key[s->n_meta], *v = &s->meta_val[s->n_meta];
                k->n = strlen(m->string), v->n = strlen(m->valuestring);
                k->s = ll_strndup(m->string, k->n), v->s = ll_strndup(m->valuestring, v->n);
                s->n_meta++;
                if (!k->s || !v->s) { rc = -1; break; }
            }
            if (rc) break;
            continue;
        }
        ll_gguf_tensor *t = &s->tensors[s->n_tensors];
        const char *name = e->string;
        t->name.n = strlen(name);
        t->name.s = ll_strndup(name, t->name.n);
        s->n_tensors++;
        if (!t->name.s) { rc = -1; break; }
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype"), *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off)) {
            rc = ll_fail("%s: tensor '%.128s' needs \"dtype\" (a string), \"shape\" and \"data_offsets\" (arrays)", P, name);
            break;
        }
        size_t k = 0, nd = sizeof k_dtypes / sizeof *k_dtypes;
        while (k < nd && strcmp(k_dtypes[k].name, dt->valuestring)) k++;
        if (k == nd) { rc = ll_fail("%s: tensor '%.128s' has dtype '%.32s', not one of the format's", P, name, dt->valuestring); break; }
        s->dtype[s->n_tensors - 1] = ll_strndup(k_dtypes[k].name, strlen(k_dtypes[k].name));
        if (!s->dtype[s->n_tensors - 1]) { rc = -1; break; }
        t->type = k_dtypes[k].type;
        int dims = cJSON_GetArraySize(sh);
        if (dims > 4) { rc = ll_fail("%s: tensor '%.128s' has %d dimensions (at most 4 are supported)", P, name, dims); break; }
        t->n_dims = dims ? (uint32_t)dims : 1;
        for (int i = 0; i < 4; i++) t->ne[i] = 1;
        uint64_t elems = 1;
        const cJSON *d;
        int i = 0;
        cJSON_ArrayForEach(d, sh) {
            uint64_t v;
            if (json_u53(d, &v) || v > INT64_MAX) { rc = ll_fail("%s: tensor '%.128s': shape[%d] is not a size", P, name, i); break; }
            if (v && elems > UINT64_MAX / v) { rc = ll_fail("%s: tensor '%.128s': the shape overflows", P, name); break; }
            elems *= v;
            t->ne[dims - 1 - i] = (int64_t)v;   /* ggml order: the shape reversed */
            i++;
        }
        if (rc) break;
        uint64_t b, en;
        if (cJSON_GetArraySize(off) != 2 || json_u53(cJSON_GetArrayItem(off, 0), &b) ||
            json_u53(cJSON_GetArrayItem(off, 1), &en) || b > en) {
            rc = ll_fail("%s: tensor '%.128s': data_offsets must be [begin, end] with begin <= end", P, name);
            break;
        }
        if (en > dsize) {
            rc = ll_fail("%s: tensor '%.128s': data_offsets end %llu is past the data section (%zu bytes)", P, name,
                         (unsigned long long)en, dsize);
            break;
        }
        if (elems > UINT64_MAX / k_dtypes[k].size || elems * k_dtypes[k].size != en - b) {
            rc = ll_fail("%s: tensor '%.128s': %llu bytes for %llu elements of %s (expected %llu)", P, name,
                         (unsigned long long)(en - b), (unsigned long long)elems, k_dtypes[k].name,
                         (unsigned long long)(elems * k_dtypes[k].size));
            break;
        }
        t->offset = b;
        t->nbytes = (size_t)(en - b);
        t->data = s->base + data0 + b;
    }
    cJSON_Delete(root);
    if (rc) return rc;
    /* names unique; the data exactly covered, in order, with no overlap and no hole */
    ll_gguf_tensor **byname = ll_malloc((s->n_tensors ? s->n_tensors : 1) * sizeof *byname);
    if (!byname) return -1;
    for (uint64_t i = 0; i < s->n_tensors; i++) byname[i] = &s->tensors[i];
    qsort(byname, s->n_tensors, sizeof *byname, cmp_name);
    for (uint64_t i = 1; i < s->n_tensors && !rc; i++)
        if (!strcmp(byname[i - 1]->name.s, byname[i]->name.s))
            rc = ll_fail("%s: two tensors are named '%.128s'", P, byname[i]->name.s);
    free(byname);
    if (rc) return rc;
    /* file order of the data: sort an index, then both arrays by it */
    uint64_t nt = s->n_tensors ? s->n_tensors : 1;
    ll_gguf_tensor **ord = ll_malloc(nt * sizeof *ord), *tens = ll_malloc(nt * sizeof *tens);
    char **dts = ll_malloc(nt * sizeof *dts);
    if (!ord || !tens || !dts) { free(ord); free(tens); free(dts); return -1; }
    for (uint64_t i = 0; i < s->n_tensors; i++) ord[i] = &s->tensors[i];
    qsort(ord, s->n_tensors, sizeof *ord, cmp_begin);
    for (uint64_t i = 0; i < s->n_tensors; i++) {
        tens[i] = *ord[i];
        dts[i] = s->dtype[ord[i] - s->tensors];
    }
    free(ord);
    free(s->tensors);
    free(s->dtype);
    s->tensors = tens;
    s->dtype = dts;
    uint64_t at = 0;
    for (uint64_t i = 0; i < s->n_tensors; i++) {
        const ll_gguf_tensor *t = &s->tensors[i];
        if (t->offset != at)
            return ll_fail("%s: tensor '%.128s' starts at data byte %llu where %llu was expected (the format allows "
                           "no overlap and no hole)", P, t->name.s, (unsigned long long)t->offset, (unsigned long long)at);
        at += t->nbytes;
    }
    if (at != dsize)
        return ll_fail("%s: the tensors cover %llu of the %zu data bytes (the format allows no hole)", P,
                       (unsigned long long)at, dsize);
    return 0;
}

static ll_st *st_new(const void *data, size_t size, const char *label) {
    ll_st *s = ll_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->base = data;
    s->size = size;
    s->path = ll_strndup(label, strlen(label));
    if (!s->path) { free(s); return NULL; }
    return s;
}

ll_st *ll_st_from_memory(const void *data, size_t size, const char *label) {
    ll_st *s = st_new(data, size, label ? label : "(memory)");
    if (s && parse(s)) { ll_st_close(s); return NULL; }
    return s;
}

ll_st *ll_st_open(const char *path) {
    void *map;
    size_t size;
    if (ll_map_input(path, "safetensors file", &map, &size)) return NULL;
    static const uint8_t empty[1];
    ll_st *s = st_new(map ? map : empty, size, path);
    if (!s) {
        if (map) munmap(map, size);
        return NULL;
    }
    s->map = map;
    if (parse(s)) { ll_st_close(s); return NULL; }
    return s;
}

const ll_gguf_tensor *ll_st_find_tensor(const ll_st *s, const char *name) {
    for (uint64_t i = 0; i < s->n_tensors; i++)
        if (!strcmp(s->tensors[i].name.s, name)) return &s->tensors[i];
    return NULL;
}
