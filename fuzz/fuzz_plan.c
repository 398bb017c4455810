/* fuzz_plan.c — libFuzzer target for the plan language (src/plan/plan.c).
 *
 * The first input byte gives the model's layer count (1..64); the rest is the SPEC string. Parsing must
 * succeed or fail with a message; a parsed order must name only layers of the model, have no empty
 * entry, and count its passes right. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "run/engine.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int n_layer = 1 + data[0] % 64;
    char *spec = malloc(size);
    if (!spec) return 0;
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = 0;
    ll_order o = {0, NULL, 0};
    if (ll_plan_parse(spec, n_layer, &o) == 0) {
        if (o.n_entries < 1) abort();
        int passes = 0;
        for (int i = 0; i < o.n_entries; i++) {
            if (o.entries[i].n < 1) abort();
            for (int j = 0; j < o.entries[i].n; j++)
                if (o.entries[i].layers[j] < 0 || o.entries[i].layers[j] >= n_layer) abort();
            passes += o.entries[i].n;
        }
        if (passes != o.n_passes) abort();
        ll_order_free(&o);
    } else if (!ll_errmsg()[0]) {
        abort();
    }
    ll_clear_error();
    free(spec);
    return 0;
}
