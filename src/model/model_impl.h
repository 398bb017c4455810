/* model_impl.h — what the model loader's files share (src/model/model.c: opening, hyperparameters, binding;
 * src/model/tensors.c: the per-architecture tensor tables; src/model/hf.c: Hugging Face directories). Nothing
 * outside src/model includes it. */
#ifndef LL_MODEL_IMPL_H
#define LL_MODEL_IMPL_H
#include <stddef.h>
#include <stdint.h>

#include "io/gguf.h"
#include "model/model.h"

/* the architectures layerlab runs (general.architecture) */
enum { ARCH_NONE = 0, ARCH_LLAMA, ARCH_QWEN2, ARCH_QWEN3, ARCH_GEMMA3, ARCH_GPTNEOX, ARCH_BERT };

/* A tensor's shape is written in symbols, resolved against the hyperparameters. */
enum { SYM_1, SYM_D, SYM_Q, SYM_KV, SYM_F, SYM_HD, SYM_V, SYM_CTX, SYM_TT, SYM_QKV, SYM_R2 };

enum {
    TS_REQ = 1u << 0,      /* required (else optional: absent means none) */
    TS_MAT = 1u << 1,      /* a matrix bound in place (else a vector copied to fp32) */
    TS_QKV = 1u << 2,      /* fused Q, K, V rows (gptneox): split into wq/wk/wv (or bq/bk/bv) */
    TS_MODEL = 1u << 3,    /* a field of ll_model (else of ll_layer, name after "blk.N.") */
    HF_PERM = 1u << 4,     /* Hugging Face rows of each head in NeoX halves -> GGUF's interleaved pairs (llama's Q/K) */
    HF_PERM_KV = 1u << 5,  /* the same with the KV heads (K) */
    HF_PLUS1 = 1u << 6,    /* Hugging Face stores w where the norm multiplies by 1 + w (gemma): GGUF stores 1 + w */
    HF_QKV_HEADS = 1u << 7 /* Hugging Face fused rows [head][q,k,v][head_dim] -> GGUF's [q,k,v][head][head_dim] */
};

typedef struct {
    const char *gguf;   /* GGUF name (after "blk.N." for layer tensors) */
    const char *hf;     /* Hugging Face name (after the layer prefix for layer tensors), or NULL */
    unsigned flags;
    size_t off;         /* offsetof(ll_layer, field) or offsetof(ll_model, field) */
    int cols, rows;     /* symbols; a vector has cols only */
} ll_tspec;

typedef struct {
    const char *name;          /* general.architecture */
    int id;
    const ll_tspec *specs;     /* layer and model tensors */
    int n_specs;
    const char *hf_layer;      /* Hugging Face layer prefix, with %d */
    const char *const *hf_ignore; /* Hugging Face names (suffixes) that carry nothing the forward uses; NULL-ended */
} ll_arch_desc;

const ll_arch_desc *ll_arch_desc_find(const char *name);
const ll_arch_desc *ll_arch_desc_by_id(int id);
/* the architectures' names, for messages: "llama, qwen2, ..." */
const char *ll_arch_names(void);

/* A set of tensors under GGUF names: a GGUF file's, or a Hugging Face file's after renaming. */
typedef struct {
    const char *path;
    const ll_gguf_tensor *t;
    uint64_t n;
} ll_tset;

/* Keeps p (malloc'ed) until the model is freed; p on success, NULL (p freed, error set) when out of memory. */
void *ll_model_own(ll_model *m, void *p);

/* Hugging Face: reads dir's config.json into m's hyperparameters (m->arch set) and maps model.safetensors's
 * tensors (m->st) to GGUF names, transformed where llama.cpp's converter transforms them, into *ts (its
 * arrays owned by m). 0 or -1. */
int ll_hf_load(ll_model *m, const char *dir, ll_tset *ts);
/* Checks and completes hyperparameters read from either format (head_dim, rope_dim, per-architecture
 * settings). */
int ll_model_finish_hparams(ll_model *m, const char *path);

#endif
