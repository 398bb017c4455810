/* clock.c — the monotonic clock (clock.h). */
#include "util/clock.h"

#include <time.h>

double ll_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
