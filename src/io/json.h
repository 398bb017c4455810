/* json.h — JSON numbers written exactly. cJSON prints a number with 15 significant digits whenever that
 * reads back within DBL_EPSILON of it, which can lose the last bit; layerlab's outputs are compared with
 * other tools to the last digit, so every number is rewritten, before printing, as the shortest of
 * %.15g / %.16g / %.17g that reads back as exactly the same double (NaN and infinities as null). */
#ifndef LL_JSON_H
#define LL_JSON_H
#include <cjson/cJSON.h>

/* Rewrites every number under o (recursively) in place; 0, or -1 if out of memory. */
int ll_json_exact_numbers(cJSON *o);

#endif
