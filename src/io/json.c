/* json.c — exact JSON numbers (json.h). */
#include "io/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ll_json_exact_numbers(cJSON *o) {
    for (cJSON *c = o ? o->child : NULL; c; c = c->next) {
        if (cJSON_IsNumber(c)) {
            char buf[40];
            double v = c->valuedouble;
            if (!isfinite(v)) {
                snprintf(buf, sizeof buf, "null");
            } else if (v == (double)(long long)v && fabs(v) < 1e15) {
                snprintf(buf, sizeof buf, "%lld", (long long)v);
            } else {
                for (int p = 15; p <= 17; p++) {
                    snprintf(buf, sizeof buf, "%.*g", p, v);
                    if (strtod(buf, NULL) == v) break;
                }
            }
            char *s = malloc(strlen(buf) + 1);
            if (!s) return -1;
            strcpy(s, buf);
            c->type = cJSON_Raw;
            c->valuestring = s;
        } else if (ll_json_exact_numbers(c)) {
            return -1;
        }
    }
    return 0;
}
