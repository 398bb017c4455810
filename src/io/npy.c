/* npy.c — numpy .npy writer and a small reader for float matrices. */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/files.h"
#include "util/err.h"

static size_t dtype_size(const char *dtype) {
    if (!strcmp(dtype, "<f4") || !strcmp(dtype, "<i4")) return 4;
    if (!strcmp(dtype, "<f8") || !strcmp(dtype, "<i8")) return 8;
    if (!strcmp(dtype, "|u1")) return 1;
    return 0;
}

int ll_npy_write(const char *path, const char *dtype, const int64_t *shape, int ndim, const void *data) {
    size_t esize = dtype_size(dtype);
    if (!esize) return ll_fail("npy: unsupported dtype '%s'", dtype);
    char dict[512];
    int off = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", dtype);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        off += snprintf(dict + off, sizeof dict - (size_t)off, "%lld%s", (long long)shape[i],
                        ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
        count *= (size_t)shape[i];
    }
    off += snprintf(dict + off, sizeof dict - (size_t)off, "), }");
    /* header = magic(6) + version(2) + len(2) + dict padded with spaces, ending in '\n', total % 64 == 0 */
    size_t total = 10 + (size_t)off + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)off + pad + 1;
    ll_out out;
    if (ll_out_open(&out, path, true)) return -1;
    FILE *f = out.f;
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                              (unsigned char)(hlen >> 8)};
    int ok = fwrite(head, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)off, f) == (size_t)off;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && (count == 0 || fwrite(data, esize, count, f) == count);
    return ll_out_close(&out, true);
}

int ll_npy_read_f64(const char *path, double **data, int64_t *rows, int64_t *cols) {
    FILE *f = ll_fopen_input(path, ".npy file");
    if (!f) return -1;
    unsigned char head[10];
    char dict[4096];
    int rc = -1;
    if (fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY", 6) != 0) {
        ll_fail("%s: not a .npy file (bad magic)", path);
        goto done;
    }
    size_t hlen;
    if (head[6] == 1) {
        hlen = head[8] | ((size_t)head[9] << 8);
    } else if (head[6] == 2 || head[6] == 3) {
        unsigned char b[2];
        if (fread(b, 1, 2, f) != 2) { ll_fail("%s: truncated header", path); goto done; }
        hlen = head[8] | ((size_t)head[9] << 8) | ((size_t)b[0] << 16) | ((size_t)b[1] << 24);
    } else {
        ll_fail("%s: unsupported .npy version %d", path, head[6]);
        goto done;
    }
    if (hlen >= sizeof dict || fread(dict, 1, hlen, f) != hlen) {
        ll_fail("%s: header too long or truncated", path);
        goto done;
    }
    dict[hlen] = 0;
    int is_f8;
    if (strstr(dict, "'<f4'")) is_f8 = 0;
    else if (strstr(dict, "'<f8'")) is_f8 = 1;
    else { ll_fail("%s: dtype must be little-endian float32 or float64", path); goto done; }
    if (strstr(dict, "'fortran_order': True")) { ll_fail("%s: fortran order is not supported", path); goto done; }
    const char *sh = strstr(dict, "'shape': (");
    if (!sh) { ll_fail("%s: no shape in header", path); goto done; }
    sh += 10;
    long long dims[2] = {0, 0};
    int nd = 0;
    while (*sh && *sh != ')') {
        char *end;
        long long v = strtoll(sh, &end, 10);
        if (end == sh) break;
        if (nd == 2 || v < 0) { ll_fail("%s: expected a 1-D or 2-D array", path); goto done; }
        dims[nd++] = v;
        sh = end;
        while (*sh == ',' || *sh == ' ') sh++;
    }
    if (nd == 0) { ll_fail("%s: expected a 1-D or 2-D array", path); goto done; }
    if (nd == 1) { dims[1] = dims[0]; dims[0] = 1; }
    if (dims[0] > (1LL << 31) || dims[1] > (1LL << 31) || (double)dims[0] * (double)dims[1] > 4e9) {
        ll_fail("%s: array too large (%lld x %lld)", path, dims[0], dims[1]);
        goto done;
    }
    size_t n = (size_t)dims[0] * (size_t)dims[1];
    double *out = ll_malloc(n * sizeof *out);
    if (!out) goto done;
    for (size_t i = 0; i < n; i++) {
        if (is_f8) {
            if (fread(&out[i], 8, 1, f) != 1) { free(out); ll_fail("%s: truncated data", path); goto done; }
        } else {
            float v;
            if (fread(&v, 4, 1, f) != 1) { free(out); ll_fail("%s: truncated data", path); goto done; }
            out[i] = v;
        }
    }
    *data = out;
    *rows = dims[0];
    *cols = dims[1];
    rc = 0;
done:
    fclose(f);
    return rc;
}
