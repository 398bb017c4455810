/* plan.h — the layer-plan language: SPEC text -> an order of entries (see run/engine.h).
 *
 * Grammar (docs/PLANS.md has the full description and examples):
 *   plan    := preset | items
 *   items   := item (',' item)*
 *   item    := atom ('*' COUNT)?          repeat the atom COUNT times in a row
 *   atom    := LAYER | LAYER '-' LAYER    one layer, or an inclusive range (descending if a > b)
 *            | '[' member (',' member)* ']'   one parallel group (members: layers and ranges)
 *   preset  := full | skip:s | middle_repeat:s | reverse:s | random:s:seed | parallel:s
 *            | looped_parallel:s:k | skip_one:i | switch:i | repeat_each:s:r | repeat_block:s:r
 * Presets follow "Transformer Layers as Painters": layers 0..s and L-s..L-1 always run; the affected
 * middle is s+1..L-s-1 (M = L-2s-1 layers). random reproduces CPython's random.seed(seed) +
 * random.shuffle(list(range(s+1, L-s))).
 */
#ifndef LL_PLAN_H
#define LL_PLAN_H
#include <stdint.h>

#include "layerlab.h"

#define LL_PLAN_MAX_PASSES 100000   /* "absurd sizes" bound: total layer passes in one plan */

/* Parses spec for a model with n_layer layers. Returns 0, or -1 with an error naming the column. */
int ll_plan_parse(const char *spec, int n_layer, ll_order *out);

#endif
