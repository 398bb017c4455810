/* err.c — the thread-local error message and checked allocation. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char g_msg[1024];

int ll_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return -1;
}

int ll_fail_prefix(const char *fmt, ...) {
    char prefix[512], old[sizeof g_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_msg, sizeof old);
    size_t np = strlen(prefix);
    if (np >= sizeof g_msg) np = sizeof g_msg - 1;
    memcpy(g_msg, prefix, np);
    size_t no = strlen(old);
    if (no > sizeof g_msg - 1 - np) no = sizeof g_msg - 1 - np;
    memcpy(g_msg + np, old, no);
    g_msg[np + no] = 0;
    return -1;
}

const char *ll_errmsg(void) { return g_msg[0] ? g_msg : "unknown error"; }
void ll_clear_error(void) { g_msg[0] = 0; }

void *ll_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) ll_fail("out of memory allocating %zu bytes", n);
    return p;
}

void *ll_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) ll_fail("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *ll_realloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) ll_fail("out of memory reallocating to %zu bytes", n);
    return q;
}

char *ll_strndup(const char *s, size_t n) {
    char *p = ll_malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}
