/* err.h — one thread-local error message for the whole library.
 * Every function that fails sets it (what, where, what was expected) and returns an error value;
 * the CLI prints it as one line and exits 1. */
#ifndef LL_ERR_H
#define LL_ERR_H
#include <stddef.h>

#if defined(__GNUC__)
#define LL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LL_PRINTF(a, b)
#endif

/* Sets the message; returns -1 so callers can write `return ll_fail("...")`. */
int ll_fail(const char *fmt, ...) LL_PRINTF(1, 2);
/* Prefixes the current message with more context ("file.gguf: " + old message); returns -1. */
int ll_fail_prefix(const char *fmt, ...) LL_PRINTF(1, 2);
const char *ll_errmsg(void);
void ll_clear_error(void);

/* Allocation that reports failure through ll_fail (size in bytes; returns NULL on failure). */
void *ll_malloc(size_t n);
void *ll_calloc(size_t count, size_t size);
void *ll_realloc(void *p, size_t n);
char *ll_strndup(const char *s, size_t n);

#endif
