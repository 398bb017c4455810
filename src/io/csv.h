/* csv.h — writes a float64 matrix as CSV: one header line, one line per row (written to PATH.tmp, then
 * renamed, so a reader never sees half a file). */
#ifndef LL_CSV_H
#define LL_CSV_H
#include <stdint.h>

/* Header: names[0..cols) when names is non-NULL, else prefix0, prefix1, ... Values with %.17g. */
int ll_csv_write(const char *path, const char *const *names, const char *prefix, int64_t rows, int64_t cols,
                 const double *v);

#endif
