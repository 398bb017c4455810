/* sha256.h — SHA-256 of a byte buffer (FIPS 180-4), for model provenance. */
#ifndef LL_SHA256_H
#define LL_SHA256_H
#include <stddef.h>
void ll_sha256_hex(const void *data, size_t n, char out[65]);
#endif
