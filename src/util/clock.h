/* clock.h — the monotonic clock, in seconds. */
#ifndef LL_CLOCK_H
#define LL_CLOCK_H

double ll_now(void);

#endif
