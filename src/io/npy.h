/* npy.h — writes numpy .npy files (format 1.0, little-endian, C order). */
#ifndef LL_NPY_H
#define LL_NPY_H
#include <stddef.h>
#include <stdint.h>

/* dtype: "<f4", "<f8", "<i4", "<i8", "|u1". shape has ndim entries. Written to PATH.tmp then renamed.
 * Returns 0 or -1 with the error set. */
int ll_npy_write(const char *path, const char *dtype, const int64_t *shape, int ndim, const void *data);
/* Reads a float32 or float64 2-D (or 1-D, as [1, n]) C-order array into malloc'ed doubles. */
int ll_npy_read_f64(const char *path, double **data, int64_t *rows, int64_t *cols);

#endif
