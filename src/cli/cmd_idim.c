/* cmd_idim.c — `layerlab probe intrinsic-dim --input X.npy`: the intrinsic dimension of a point cloud
 * (rows = points) by five estimators (src/probe/idim.h), and idim_report, which the model path of
 * `layerlab probe intrinsic-dim MODEL ...` (cmd_probe.c) shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io/csv.h"
#include "io/npy.h"
#include "probe/idim.h"
#include "util/err.h"

static const char *USAGE =
    "usage: layerlab probe intrinsic-dim --input X.npy [--k 20] [--alpha 0.05] [--json] [--out F.npy|F.csv]\n"
    "The intrinsic dimension of the rows of X (an N x D float32 or float64 .npy; exact duplicate rows are\n"
    "removed first and counted), as scikit-dimension computes it:\n"
    "  twonn                TwoNN: fit of -log(1 - i/N) = d log(r2/r1), the largest 10% of ratios discarded\n"
    "  twonn_ml             (N - 1) / sum log(r2/r1), the maximum-likelihood TwoNN\n"
    "  mle                  Levina-Bickel over --k neighbours (default 20), harmonic mean over the points\n"
    "  pca                  Fukunaga-Olsen: covariance eigenvalues above --alpha (0.05) x the largest\n"
    "  participation_ratio  (sum of eigenvalues)^2 / sum of squared eigenvalues\n"
    "Output: a table on stdout; --json prints a JSON object instead; --out F.npy writes float64 [5] in the\n"
    "order above, --out F.csv one header line and one row.\n";

static const char *NAMES[5] = {"twonn", "twonn_ml", "mle", "pca", "participation_ratio"};

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static int out_kind(const char *path) {
    if (ends_with(path, ".npy")) return 1;
    if (ends_with(path, ".csv")) return 2;
    return 0;
}


int idim_report(const double *X, long long N, long long D, int k, double alpha, const char *source, bool json,
                const char *out_path, cJSON *extra) {
    int kind = out_path ? out_kind(out_path) : 0;
    if (out_path && !kind) {
        cJSON_Delete(extra);
        return cli_error("--out %s: the file name must end in .npy or .csv", out_path);
    }
    ll_idim r;
    if (ll_idim_compute(X, N, D, k, alpha, &r) != 0) {
        cJSON_Delete(extra);
        ll_fail_prefix("%s: ", source);
        return cli_lib_error();
    }
    const double v[5] = {r.twonn, r.twonn_ml, r.mle, r.pca, r.pr};
    if (out_path) {
        int64_t shape[1] = {5};
        int rc = kind == 1 ? ll_npy_write(out_path, "<f8", shape, 1, v) : ll_csv_write(out_path, NAMES, NULL, 1, 5, v);
        if (rc != 0) {
            cJSON_Delete(extra);
            return cli_lib_error();
        }
        fprintf(stderr, "layerlab: wrote %s\n", out_path);
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (!o) {
            cJSON_Delete(extra);
            return cli_error("out of memory building JSON");
        }
        for (int i = 0; i < 5; i++) cJSON_AddNumberToObject(o, NAMES[i], v[i]); /* NaN/inf print as null */
        cJSON_AddNumberToObject(o, "n_points", (double)r.n_points);
        cJSON_AddNumberToObject(o, "n_duplicates", (double)r.n_duplicates);
        cJSON_AddNumberToObject(o, "n_features", (double)D);
        cJSON_AddNumberToObject(o, "k", k);
        cJSON_AddNumberToObject(o, "alpha", alpha);
        cJSON_AddStringToObject(o, "input", source);
        /* the caller's members (e.g. the model path's entry and model provenance) go in as they are */
        bool has_provenance = false;
        if (extra) {
            cJSON *it;
            while ((it = extra->child) != NULL) {
                cJSON_DetachItemViaPointer(extra, it);
                if (!it->string) { /* not an object member: nothing to name it by */
                    cJSON_Delete(it);
                    continue;
                }
                if (!strcmp(it->string, "provenance")) has_provenance = true;
                cJSON_DeleteItemFromObjectCaseSensitive(o, it->string);
                cJSON_AddItemToObject(o, it->string, it);
            }
            cJSON_Delete(extra);
        }
        if (!has_provenance) {
            cJSON *p = cJSON_AddObjectToObject(o, "provenance");
            cJSON_AddStringToObject(p, "tool", "layerlab");
            cJSON_AddStringToObject(p, "version", LAYERLAB_VERSION);
        }
        return cli_print_json(o);
    }
    cJSON_Delete(extra);
    if (out_path) return 0;
    printf("intrinsic dimension of %s: %lld points (%lld duplicate rows removed), %lld features\n", source,
           r.n_points, r.n_duplicates, D);
    printf("  %-34s %10.4f\n", "TwoNN (largest 10% discarded)", r.twonn);
    printf("  %-34s %10.4f\n", "TwoNN-ML", r.twonn_ml);
    char name[64];
    snprintf(name, sizeof name, "MLE (Levina-Bickel, k = %d)", k);
    printf("  %-34s %10.4f\n", name, r.mle);
    snprintf(name, sizeof name, "PCA (Fukunaga-Olsen, alpha = %g)", alpha);
    printf("  %-34s %10.0f\n", name, r.pca);
    printf("  %-34s %10.4f\n", "participation ratio", r.pr);
    return fflush(stdout) == 0 ? 0 : cli_error("error writing stdout");
}

int cmd_probe_idim(int argc, char **argv) {
    const char *input = NULL, *out = NULL;
    long long k = 20;
    double alpha = 0.05;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), 0;
        if (!strcmp(a, "--input")) {
            if (!(input = cli_value(argc, argv, &i))) return 1;
        } else if (!strcmp(a, "--k")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v || cli_parse_int(a, v, 2, 1 << 20, &k)) return 1;
        } else if (!strcmp(a, "--alpha")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v || cli_parse_float(a, v, 0, 1, &alpha)) return 1;
            if (alpha <= 0 || alpha >= 1) return cli_error("--alpha: %g must be strictly between 0 and 1", alpha);
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--out") || !strcmp(a, "-o")) {
            if (!(out = cli_out_value(argc, argv, &i))) return 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_error("probe intrinsic-dim: unknown option '%s' (--help shows the usage)", a);
        } else {
            return cli_error("probe intrinsic-dim: unexpected argument '%s' (the points come with --input X.npy)", a);
        }
    }
    if (!input) return cli_error("probe intrinsic-dim: --input X.npy is required (--help shows the usage)");
    if (out && !out_kind(out)) return cli_error("--out %s: the file name must end in .npy or .csv", out);
    double *X = NULL;
    int64_t rows = 0, cols = 0;
    if (ll_npy_read_f64(input, &X, &rows, &cols) != 0) return cli_lib_error();
    if (rows == 1) {
        free(X);
        return cli_error("%s: one row of %lld values: the points are the rows of an N x D array (a 1-D array is "
                         "a single point)", input, (long long)cols);
    }
    int rc = idim_report(X, rows, cols, (int)k, alpha, input, json, out, NULL);
    free(X);
    return rc;
}
