/* csv.c — float64 matrices as CSV files. */
#include "csv.h"

#include <stdio.h>

#include "io/files.h"
#include "util/err.h"

int ll_csv_write(const char *path, const char *const *names, const char *prefix, int64_t rows, int64_t cols,
                 const double *v) {
    ll_out out;
    if (ll_out_open(&out, path, false)) return -1;
    FILE *f = out.f;
    int ok = 1;
    for (int64_t j = 0; ok && j < cols; j++)
        ok = (names ? fprintf(f, "%s%s", j ? "," : "", names[j]) : fprintf(f, "%s%s%lld", j ? "," : "", prefix, (long long)j)) > 0;
    ok = ok && fputc('\n', f) != EOF;
    for (int64_t i = 0; ok && i < rows; i++) {
        for (int64_t j = 0; ok && j < cols; j++) ok = fprintf(f, "%s%.17g", j ? "," : "", v[i * cols + j]) > 0;
        ok = ok && fputc('\n', f) != EOF;
    }
    return ll_out_close(&out, true);
}
