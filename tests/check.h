/* check.h — the few assertion macros the C tests use. Each failure prints file:line and the values;
 * main() ends with CHECK_DONE(), which prints "N passed, N failed" and returns the exit code. */
#ifndef LL_CHECK_H
#define LL_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_pass_, check_fail_;
#define CHECK(cond, ...) do { if (cond) check_pass_++; else { check_fail_++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_NEAR(a, b, tol, what) do { double a_ = (a), b_ = (b); \
    CHECK(fabs(a_ - b_) <= (tol), "%s: %.9g vs %.9g (tol %.3g)", what, a_, b_, (double)(tol)); } while (0)
#define CHECK_DONE() (printf("%s: %d passed, %d failed\n", __FILE__, check_pass_, check_fail_), \
    check_fail_ ? 1 : 0)
#endif
