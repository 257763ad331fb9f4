import NixFormats
import Sodium
import Swarm
import Testing

@Suite struct ManifestTests {
    @Test func bodyRoundTripsAndDescribesTheClosure() throws {
        let m = try Fixtures.manifest()
        let decoded = try Manifest.decode(m.encode()[...])
        #expect(decoded == m)
        #expect(m.narBytes == 70_120)
        #expect(m.index(of: m.paths[1].storePath) == 1)
        #expect(m.index(of: try StorePath("zzp2hphvk98rkk9ywlqpp587rjdcgnc2-x")) == nil)
        let info = m.pathInfo(1)
        #expect(info.references.map(\.baseName) == [m.paths[0].storePath.baseName, m.paths[1].storePath.baseName])
        #expect(info.deriver?.name == "system.drv")
        #expect(m.layout.chunkCount(narSize: 70_000) == 2)
        #expect(m.layout.range(of: 1, narSize: 70_000) == 65_536..<70_000)
    }

    @Test func nonCanonicalBodiesAreRefused() throws {
        var m = try Fixtures.manifest()
        // Unsorted paths.
        m.paths.swapAt(0, 1)
        m.paths[0].references = []
        m.paths[1].references = []
        #expect(throws: WireError.self) { try Manifest.decode(m.encode()[...]) }
        // References out of order.
        var r = try Fixtures.manifest()
        r.paths[1].references = [1, 0]
        #expect(throws: WireError.self) { try Manifest.decode(r.encode()[...]) }
        // A wrong number of chunks for the NAR size (the next field is misread).
        var c = try Fixtures.manifest()
        c.paths[0].chunks.removeLast()
        #expect(throws: WireError.self) { try Manifest.decode(c.encode()[...]) }
        // Trailing bytes, bad magic, every truncation.
        let body = try Fixtures.manifest().encode()
        #expect(throws: WireError.self) { try Manifest.decode((body + [0])[...]) }
        #expect(throws: WireError.badMagic) { try Manifest.decode(([0] + body.dropFirst())[...]) }
        for cut in 0..<body.count {
            #expect(throws: WireError.self, "cut at \(cut)") { try Manifest.decode(body[0..<cut]) }
        }
    }

    /// Text is UTF-8: a label beyond ASCII round-trips, a byte that is not UTF-8 is refused.
    @Test func labelsMustBeUTF8() throws {
        var m = try Fixtures.manifest()
        m.label = "Labor Süd ✓"
        #expect(try Manifest.decode(m.encode()[...]).label == "Labor Süd ✓")
        m.label = "Labor S?d"
        var body = m.encode()
        let at = body.firstIndex(of: UInt8(ascii: "?"))!
        body[at] = 0xff
        #expect(throws: WireError.malformed("string is not UTF-8")) { try Manifest.decode(body[...]) }
    }

    @Test func hugeNarSizeIsRefusedWithoutOverflow() throws {
        // Found by `rookery-fuzz manifest`: narSize near 2^64 overflowed the chunk count.
        var m = try Fixtures.manifest()
        m.paths[0].narSize = UInt64.max - 5
        #expect(m.layout.chunkCount(narSize: UInt64.max) == 1 << 48)
        #expect(throws: WireError.truncated) { try Manifest.decode(m.encode()[...]) }
    }

    @Test func chunkSizeMustBeAPowerOfTwoInRange() {
        #expect(throws: WireError.self) { try ChunkLayout(chunkSize: 100_000) }
        #expect(throws: WireError.self) { try ChunkLayout(chunkSize: 32 * 1024) }
        #expect(throws: WireError.self) { try ChunkLayout(chunkSize: 8 << 20) }
        #expect(throws: Never.self) { try ChunkLayout(chunkSize: 1 << 20) }
    }

    @Test func trustIsDecidedBeforeTheBodyIsRead() throws {
        let key = try Fixtures.key()
        let other = NixSecretKey(name: "intruder-1", key: SecretKey.generate())
        let impostor = NixSecretKey(name: key.name, key: SecretKey.generate())
        let m = try Fixtures.manifest()
        let signed = SignedManifest.sign(m, with: [key])

        #expect(try signed.verified(trustedKeys: [key.publicKey]) == m)
        #expect(try SignedManifest.decode(signed.encode()[...]) == signed)
        // Several signatures: any trusted one suffices (key rotation on raven).
        #expect(try SignedManifest.sign(m, with: [other, key]).verified(trustedKeys: [key.publicKey]) == m)

        #expect(throws: ManifestTrustError.unsigned) {
            try SignedManifest.sign(m, with: []).verified(trustedKeys: [key.publicKey])
        }
        #expect(throws: ManifestTrustError.unknownKey(["intruder-1"])) {
            try SignedManifest.sign(m, with: [other]).verified(trustedKeys: [key.publicKey])
        }
        #expect(throws: ManifestTrustError.badSignature) {
            try SignedManifest.sign(m, with: [impostor]).verified(trustedKeys: [key.publicKey])
        }
        // Tampering with any byte of the body breaks the signature.
        var file = signed.encode()
        for offset in [12, 20, 40, file.count - 70] {
            file = signed.encode()
            file[offset] ^= 1
            let tampered = try SignedManifest.decode(file[...])
            #expect(throws: ManifestTrustError.self, "byte \(offset)") {
                try tampered.verified(trustedKeys: [key.publicKey])
            }
        }
        #expect(signed.id == Blake2b256.hash(m.encode()))
    }
}
