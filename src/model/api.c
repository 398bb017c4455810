/* api.c — the accessors of the public header that have no internal twin. Including both the public and
 * the internal headers here makes the compiler check that their declarations agree. */
#include "layerlab.h"

#include "model/model.h"
#include "run/engine.h"
#include "tokenizer/tokenizer.h"
#include "util/err.h"

int ll_model_n_layer(const ll_model *m) { return m->n_layer; }
int ll_model_n_embd(const ll_model *m) { return m->n_embd; }
int ll_model_n_vocab(const ll_model *m) { return m->n_vocab; }
int ll_model_n_ctx(const ll_model *m) { return m->n_ctx_train; }
ll_tokenizer *ll_model_tokenizer(const ll_model *m) { return m->tok; }
const char *ll_model_arch(const ll_model *m) { return m->arch; }
const char *ll_model_path(const ll_model *m) { return m->path; }
int ll_model_n_head(const ll_model *m) { return m->n_head; }
int ll_model_n_head_kv(const ll_model *m) { return m->n_head_kv; }
int ll_model_n_ff(const ll_model *m) { return m->n_ff; }
bool ll_model_has_head(const ll_model *m) { return m->has_head; }
bool ll_model_causal(const ll_model *m) { return m->causal; }
