/* atomic.h — files written whole or not at all: PATH.tmp is written, then renamed over PATH, so a
 * crash or a full disk never leaves a half-written result under the real name. */
#ifndef LL_ATOMIC_H
#define LL_ATOMIC_H
#include <stddef.h>
#include <stdio.h>

/* Opens PATH.tmp (its name into tmp[n]); NULL with the error set. */
FILE *ll_tmp_open(const char *path, char *tmp, size_t n, const char *mode);
/* Closes f; renames tmp to path when ok and the close succeeded, else removes tmp. 0 or -1 (error set). */
int ll_tmp_commit(FILE *f, int ok, const char *tmp, const char *path);

#endif
