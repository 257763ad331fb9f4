// One lane-parallel BLAKE2b-256, instantiated twice by CBlake2b.c: VEC is the register type,
// and ADD, XOR, SPLAT, GATHER, ROR32/24/16/63, LOAD, STORE its operations; LANES messages,
// TARGET the instruction set, NAME the function. Word i of every message's block is fetched by
// one gather from LANES addresses (a lane's block is 128 bytes, words little-endian as x86 is).

#define G(a, b, c, d, x, y)           \
    a = ADD(ADD(a, b), x);            \
    d = ROR32(XOR(d, a));             \
    c = ADD(c, d);                    \
    b = ROR24(XOR(b, c));             \
    a = ADD(ADD(a, b), y);            \
    d = ROR16(XOR(d, a));             \
    c = ADD(c, d);                    \
    b = ROR63(XOR(b, c));

__attribute__((target(TARGET))) static void CONCAT(NAME, _compress)(VEC h[8], VEC addresses, uint64_t t, uint64_t f) {
    VEC m[16];
    for (int i = 0; i < 16; i++) m[i] = GATHER(ADD(addresses, SPLAT(8 * i)));
    VEC v[16];
    for (int i = 0; i < 8; i++) v[i] = h[i];
    for (int i = 0; i < 4; i++) v[8 + i] = SPLAT(IV[i]);
    v[12] = SPLAT(IV[4] ^ t);  // the byte counter's high word stays 0: chunks are far below 2^64
    v[13] = SPLAT(IV[5]);
    v[14] = SPLAT(IV[6] ^ f);
    v[15] = SPLAT(IV[7]);
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = SIGMA[r % 10];
        G(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]);
        G(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]);
        G(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]);
        G(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]);
        G(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]);
        G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
        G(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]);
        G(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) h[i] = XOR(h[i], XOR(v[i], v[i + 8]));
}

__attribute__((target(TARGET))) static void NAME(const uint8_t *const *messages, size_t length, uint8_t *digests) {
    VEC h[8];
    for (int i = 0; i < 8; i++) h[i] = SPLAT(IV[i]);
    h[0] = XOR(h[0], SPLAT(0x01010000 ^ 32));  // parameter block: fanout 1, depth 1, no key, 32-byte digest
    VEC addresses = LOAD(messages);
    // Every block but the last is read in place; the last (1 to 128 bytes, or none for an empty
    // message) is copied into a zeroed block per lane and flagged final.
    size_t before = length == 0 ? 0 : (length - 1) / 128;
    for (size_t b = 0; b < before; b++) {
        CONCAT(NAME, _compress)(h, addresses, (uint64_t)(b + 1) * 128, 0);
        addresses = ADD(addresses, SPLAT(128));
    }
    uint8_t last[LANES][128];
    const uint8_t *lastAddresses[LANES];
    for (int j = 0; j < LANES; j++) {
        memset(last[j], 0, 128);
        memcpy(last[j], messages[j] + before * 128, length - before * 128);
        lastAddresses[j] = last[j];
    }
    CONCAT(NAME, _compress)(h, LOAD(lastAddresses), (uint64_t)length, ~(uint64_t)0);
    uint64_t words[4][LANES];
    for (int i = 0; i < 4; i++) STORE(words[i], h[i]);
    for (int j = 0; j < LANES; j++)
        for (int i = 0; i < 4; i++) memcpy(&digests[32 * j + 8 * i], &words[i][j], 8);
}

#undef G
