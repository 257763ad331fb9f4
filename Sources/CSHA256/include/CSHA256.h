// SHA-256 compression with the x86 SHA extensions (SHA-NI), for the NAR hash: libsodium's
// portable SHA-256 runs at a quarter of the speed of these instructions on CPUs that have them.
// Swift's Sodium module (the crypto door) picks this when rookery_sha256_available() says so.
#ifndef ROOKERY_CSHA256_H
#define ROOKERY_CSHA256_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the SHA extensions (and SSE4.1) that rookery_sha256_blocks needs.
int rookery_sha256_available(void);

/// Compresses `blocks` 64-byte blocks of `data` into `state` (a, b, … h, as in FIPS 180-4).
void rookery_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
