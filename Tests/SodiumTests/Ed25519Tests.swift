import Sodium
import Testing

/// RFC 8032 §7.1, test 1 (empty message) and test 2 (one byte).
@Suite struct Ed25519Tests {
    static let seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    static let publicKey = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    static let emptySignature = hex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )

    @Test func rfc8032VectorFromSeed() throws {
        let key = try SecretKey(seed: Self.seed)
        #expect(key.publicKey.bytes == Self.publicKey)
        #expect(key.sign([UInt8]()) == Self.emptySignature)
        #expect(key.publicKey.verify(signature: Self.emptySignature, of: [UInt8]()))
    }

    @Test func sixtyFourByteFormLoadsAndMatches() throws {
        let key = try SecretKey(bytes: Self.seed + Self.publicKey)
        #expect(key == (try SecretKey(seed: Self.seed)))
        #expect(key.sign([UInt8]()) == Self.emptySignature)
    }

    @Test func mismatchedPublicHalfIsRefused() {
        var bad = Self.seed + Self.publicKey
        bad[40] ^= 1
        #expect(throws: SodiumError.self) { try SecretKey(bytes: bad) }
    }

    @Test func wrongLengthsAreRefused() {
        #expect(throws: SodiumError.wrongLength(what: "secret key", expected: 64, got: 32)) {
            try SecretKey(bytes: Self.seed)
        }
        #expect(throws: SodiumError.wrongLength(what: "public key", expected: 32, got: 31)) {
            try PublicKey(bytes: Array(Self.publicKey.prefix(31)))
        }
    }

    @Test func tamperedMessageOrSignatureFails() throws {
        let key = SecretKey.generate()
        let message = Array("manifest bytes".utf8)
        var sig = key.sign(message)
        #expect(key.publicKey.verify(signature: sig, of: message))
        #expect(!key.publicKey.verify(signature: sig, of: Array("manifest bytez".utf8)))
        sig[0] ^= 0x80
        #expect(!key.publicKey.verify(signature: sig, of: message))
        #expect(!key.publicKey.verify(signature: Array(sig.prefix(10)), of: message))
    }

    @Test func secretKeyNeverPrintsItsBytes() throws {
        let key = try SecretKey(seed: Self.seed)
        for text in [key.description, key.debugDescription, "\(key)", String(reflecting: key)] {
            #expect(text == "SecretKey(<redacted>)")
        }
    }

    @Test func distinctKeysCompareUnequal() {
        let a = SecretKey.generate()
        let b = SecretKey.generate()
        #expect(a != b)
        #expect(a == a)
    }
}

func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.utf8.makeIterator()
    while let h = it.next(), let l = it.next() {
        out.append(UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16)!)
    }
    return out
}
