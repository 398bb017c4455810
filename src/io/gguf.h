/* gguf.h — GGUF v2/v3 reader (mmap, fully validated) and v3 writer.
 *
 * A GGUF file is untrusted input: the reader checks every count, length, offset and size against
 * the file before it uses it, and reports the first problem as one message naming the file, the byte
 * offset and what was expected. After ll_gguf_open succeeds, every tensor's data lies inside the
 * mapping and every string is NUL-terminated (its length excludes the NUL).
 */
#ifndef LL_GGUF_H
#define LL_GGUF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ll_gguf_vtype {
    LL_GGUF_UINT8 = 0, LL_GGUF_INT8 = 1, LL_GGUF_UINT16 = 2, LL_GGUF_INT16 = 3,
    LL_GGUF_UINT32 = 4, LL_GGUF_INT32 = 5, LL_GGUF_FLOAT32 = 6, LL_GGUF_BOOL = 7,
    LL_GGUF_STRING = 8, LL_GGUF_ARRAY = 9, LL_GGUF_UINT64 = 10, LL_GGUF_INT64 = 11,
    LL_GGUF_FLOAT64 = 12, LL_GGUF_VTYPE_COUNT = 13
};

const char *ll_gguf_vtype_name(uint32_t t);

/* Arrays may hold arrays (each inner array has its own element type); reader and writer accept at most
 * this many levels of arrays in one value. */
#define LL_GGUF_MAX_NESTING 8

/* A string: s is NUL-terminated, n is its byte length without the NUL (s may contain NULs). */
typedef struct { const char *s; uint64_t n; } ll_str;

typedef struct ll_gguf_value ll_gguf_value;
struct ll_gguf_value {
    uint32_t type;                 /* enum ll_gguf_vtype */
    union {
        uint64_t u;                /* UINT8/16/32/64, BOOL (0/1) */
        int64_t i;                 /* INT8/16/32/64 */
        double f;                  /* FLOAT32/64 */
        ll_str str;                /* STRING */
        struct {
            uint32_t type;         /* element type */
            uint64_t n;            /* element count */
            void *data;            /* scalar elements: n values packed at their own width (uint8_t[],
                                      float[], ...); STRING: ll_str[n]; ARRAY: ll_gguf_value[n] */
        } arr;
    } v;
};

typedef struct { ll_str key; ll_gguf_value val; } ll_gguf_kv;

typedef struct {
    ll_str name;
    uint32_t n_dims;               /* 1..4 */
    int64_t ne[4];                 /* elements per dimension, ne[0] fastest; unused dims are 1;
                                      0 is allowed (ggml accepts empty tensors: nbytes 0) */
    uint32_t type;                 /* ggml type id (see tensor/dtype.h) */
    uint64_t offset;               /* relative to the data section */
    const void *data;              /* inside the mapping */
    size_t nbytes;
} ll_gguf_tensor;

typedef struct ll_gguf {
    char *path;                    /* as opened (or the label given to ll_gguf_from_memory) */
    uint32_t version;
    uint64_t n_kv;
    ll_gguf_kv *kv;
    uint64_t n_tensors;
    ll_gguf_tensor *tensors;
    uint64_t alignment;            /* general.alignment or 32 */
    uint64_t data_offset;          /* start of the tensor data section */
    const uint8_t *base;           /* the file's bytes */
    size_t size;
    void *priv;                    /* reader internals (arena, mapping) */
} ll_gguf;

/* Opens and validates a file (mmap, read-only). NULL on failure with ll_errmsg() set. */
ll_gguf *ll_gguf_open(const char *path);
/* Same, over bytes the caller keeps alive until ll_gguf_close (used by the fuzzer and tests). */
ll_gguf *ll_gguf_from_memory(const void *data, size_t size, const char *label);
void ll_gguf_close(ll_gguf *g);

const ll_gguf_kv *ll_gguf_find(const ll_gguf *g, const char *key);
const ll_gguf_tensor *ll_gguf_find_tensor(const ll_gguf *g, const char *name);

/* Typed getters. Return 1 when found and converted, 0 when the key is absent, -1 (error set) when
 * the key exists with a type that cannot be converted or a value out of range.
 * get_u64/get_i64 accept any integer type (and BOOL) whose value fits; get_f64 accepts floats and
 * integers; get_bool accepts BOOL only. */
int ll_gguf_get_u64(const ll_gguf *g, const char *key, uint64_t *out);
int ll_gguf_get_i64(const ll_gguf *g, const char *key, int64_t *out);
int ll_gguf_get_f64(const ll_gguf *g, const char *key, double *out);
int ll_gguf_get_bool(const ll_gguf *g, const char *key, bool *out);
int ll_gguf_get_str(const ll_gguf *g, const char *key, ll_str *out);
/* An array whose elements have type elem_type (an error if they have another). */
int ll_gguf_get_arr(const ll_gguf *g, const char *key, uint32_t elem_type, const void **data, uint64_t *n);

/* ---- writer (GGUF v3, little-endian) ---- */
typedef struct ll_gguf_writer ll_gguf_writer;

ll_gguf_writer *ll_gguf_writer_new(void);
void ll_gguf_writer_free(ll_gguf_writer *w);
/* Metadata setters deep-copy their arguments; setting an existing key replaces its value in place. */
int ll_gguf_writer_set(ll_gguf_writer *w, const char *key, const ll_gguf_value *v);
int ll_gguf_writer_set_u32(ll_gguf_writer *w, const char *key, uint32_t v);
int ll_gguf_writer_set_i32(ll_gguf_writer *w, const char *key, int32_t v);
int ll_gguf_writer_set_f32(ll_gguf_writer *w, const char *key, float v);
int ll_gguf_writer_set_bool(ll_gguf_writer *w, const char *key, bool v);
int ll_gguf_writer_set_str(ll_gguf_writer *w, const char *key, const char *s);
/* Scalar arrays: data holds n elements of elem_type at their own width. */
int ll_gguf_writer_set_arr(ll_gguf_writer *w, const char *key, uint32_t elem_type, const void *data, uint64_t n);
/* String arrays: lens may be NULL (then each string is NUL-terminated). */
int ll_gguf_writer_set_arr_str(ll_gguf_writer *w, const char *key, const char *const *strs,
                               const uint64_t *lens, uint64_t n);
/* Removing an absent key is not an error (returns 0). */
int ll_gguf_writer_remove(ll_gguf_writer *w, const char *key);
/* Tensors: data is NOT copied and must stay valid until ll_gguf_writer_write returns. nbytes must equal
 * the size implied by type and ne. */
int ll_gguf_writer_add_tensor(ll_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                              const int64_t *ne, const void *data, size_t nbytes);
/* Writes PATH.tmp and renames it to PATH (no partial file is ever left under PATH). Alignment from
 * general.alignment if set, else 32. Returns 0 or -1. */
int ll_gguf_writer_write(ll_gguf_writer *w, const char *path);

#endif
