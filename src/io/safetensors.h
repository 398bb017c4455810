/* safetensors.h — the safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
 * JSON {"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}}, then
 * the data, which the offsets index. The file is untrusted: the reader checks the header's size and syntax,
 * each tensor's dtype, shape (up to 4 dimensions), byte count against dtype × shape, that its bytes lie in the
 * data section, and that the tensors neither overlap nor leave holes, as the format requires.
 *
 * Tensors are described as GGUF ones are (ll_gguf_tensor: ggml type id, ne[] in ggml order = the shape
 * reversed, data inside the mapping), so the model loader binds either the same way.
 */
#ifndef LL_SAFETENSORS_H
#define LL_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

#include "io/gguf.h"

#define LL_ST_MAX_HEADER (100u << 20) /* the format's own limit on the JSON header: 100 MB */

typedef struct ll_st {
    char *path;
    uint64_t n_tensors;
    ll_gguf_tensor *tensors;   /* in file order of their data */
    char **dtype;              /* each tensor's safetensors dtype name ("F32", "BF16", "I64", ...) */
    uint64_t n_meta;
    ll_str *meta_key, *meta_val; /* __metadata__ (strings) */
    const uint8_t *base;       /* the file's bytes */
    size_t size;
    void *map;                 /* mmap'ed region (ll_st_open) or NULL */
} ll_st;

/* Opens and validates a file (mmap, read-only). NULL on failure with ll_errmsg() set. */
ll_st *ll_st_open(const char *path);
/* Same, over bytes the caller keeps alive until ll_st_close (the fuzzer and tests). */
ll_st *ll_st_from_memory(const void *data, size_t size, const char *label);
void ll_st_close(ll_st *s);
const ll_gguf_tensor *ll_st_find_tensor(const ll_st *s, const char *name);
/* Whether the bytes begin like a safetensors file (a header length, then '{'). */
int ll_st_sniff(const void *data, size_t size);

#endif
