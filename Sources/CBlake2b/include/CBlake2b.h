// BLAKE2b-256 of several equal-length messages at once, one message per 64-bit lane of an
// AVX-512 (8 lanes) or AVX2 (4 lanes) register: each lane runs the plain BLAKE2b compression of
// RFC 7693 on its own message, so no shuffles between words are needed and a core hashes about
// three to four times the bytes of one stream (libsodium's). The digests are exactly
// crypto_generichash(out, 32, message, length, NULL, 0). Swift's Sodium module (the crypto door)
// uses this for chunk ids when there are several chunks of one length to hash.
#ifndef ROOKERY_CBLAKE2B_H
#define ROOKERY_CBLAKE2B_H

#include <stddef.h>
#include <stdint.h>

/// How many messages one call hashes on this CPU: 8 (AVX-512), 4 (AVX2), or 0 (neither).
int rookery_blake2b256_lanes(void);

/// Hashes `lanes` messages (8 or 4, at most what rookery_blake2b256_lanes() says) of `length`
/// bytes each (`messages` holds that many pointers; the same one may repeat) and writes their
/// digests, 32 bytes each in the same order, to `digests`.
void rookery_blake2b256_many(int lanes, const uint8_t *const *messages, size_t length, uint8_t *digests);

#endif
