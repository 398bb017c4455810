/* atomic.c — write to PATH.tmp, then rename. */
#include "atomic.h"

#include "util/err.h"

FILE *ll_tmp_open(const char *path, char *tmp, size_t n, const char *mode) {
    if ((size_t)snprintf(tmp, n, "%s.tmp", path) >= n) {
        ll_fail("path too long: '%s'", path);
        return NULL;
    }
    FILE *f = fopen(tmp, mode);
    if (!f) ll_fail("cannot write '%s'", tmp);
    return f;
}

int ll_tmp_commit(FILE *f, int ok, const char *tmp, const char *path) {
    if (fclose(f) != 0) ok = 0;
    if (!ok) {
        remove(tmp);
        return ll_fail("error writing '%s'", tmp);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return ll_fail("cannot rename '%s' to '%s'", tmp, path);
    }
    return 0;
}
