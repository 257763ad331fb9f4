import Sodium
import Testing

@Suite struct HashTests {
    @Test func blake2b256KnownAnswers() {
        #expect(Blake2b256.hash([UInt8]()).hex == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        #expect(
            Blake2b256.hash(Array("abc".utf8)).hex
                == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
    }

    @Test func sha256KnownAnswers() {
        #expect(SHA256.hash([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test(arguments: [1, 7, 64, 1000, 4096])
    func streamingEqualsOneShot(splitSize: Int) {
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let b = Blake2b256()
        let s = SHA256()
        var i = 0
        while i < data.count {
            let part = data[i..<min(i + splitSize, data.count)]
            b.update(part)
            s.update(part)
            i += splitSize
        }
        #expect(b.finalize() == Blake2b256.hash(data))
        #expect(s.finalize() == SHA256.hash(data))
    }

    /// FIPS 180-4's two-block vector and a million 'a's, through both backends.
    @Test(arguments: [true, false])
    func sha256LongerVectors(native: Bool) {
        func hex(_ bytes: [UInt8], parts: Int) -> String {
            let h = SHA256(native: native)
            let step = max(1, bytes.count / parts)
            var i = 0
            while i < bytes.count {
                h.update(bytes[i..<min(i + step, bytes.count)])
                i += step
            }
            return h.finalize().hex
        }
        let two = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(hex(two, parts: 1) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(hex(million, parts: 7) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// SHA-NI (where the CPU has it) and libsodium agree on every length around the block
    /// boundaries and the padding's length field, split anywhere.
    @Test func sha256BackendsAgree() {
        var rng = SystemRandomNumberGenerator()
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 65_537] {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let split = length == 0 ? 0 : Int.random(in: 0...length, using: &rng)
            let native = SHA256(native: true)
            native.update(data[..<split])
            native.update(data[split...])
            let sodium = SHA256(native: false)
            sodium.update(data)
            #expect(native.finalize() == sodium.finalize(), "length \(length) split at \(split)")
        }
    }

    @Test func digestFromBytesRoundTrips() throws {
        let d = SHA256.hash(Array("x".utf8))
        let again = try #require(Digest256(bytes: d.bytes))
        #expect(again == d)
        #expect(Digest256(bytes: [1, 2, 3]) == nil)
    }
}

@Suite struct LaneHashTests {
    /// Every lane width this CPU runs gives libsodium's digests, for lengths around the 128-byte
    /// block and the final block, groups of every size up to two calls plus the odd one out,
    /// mixed lengths in one call, and the same message several times.
    @Test func lanesAgreeWithOneByOne() {
        var rng = SystemRandomNumberGenerator()
        let widths = [1, 4, 8].filter { $0 <= Blake2b256.lanes }
        let lengths = [0, 1, 127, 128, 129, 255, 256, 1000, 131_072 + 17]
        var messages: [[UInt8]] = []
        for (n, length) in lengths.enumerated() {
            for _ in 0..<(n % 4 == 1 ? 17 : n + 1) {
                var m = [UInt8](repeating: 0, count: length)
                m.withUnsafeMutableBytes { raw in
                    for i in stride(from: 0, to: length, by: 8) {
                        withUnsafeBytes(of: rng.next() as UInt64) { word in
                            raw.baseAddress!.advanced(by: i).copyMemory(
                                from: word.baseAddress!, byteCount: min(8, length - i))
                        }
                    }
                }
                messages.append(m)
            }
        }
        messages.append(messages[3])
        messages.shuffle(using: &rng)
        let expected = messages.map { Blake2b256.hash($0) }
        for width in widths {
            let got = Blake2b256.hash(each: messages, lanes: width)
            #expect(got.count == expected.count)
            let wrong = expected.indices.filter { got[$0] != expected[$0] }
            #expect(wrong.isEmpty, "lanes \(width): \(wrong.count) of \(expected.count) digests differ")
        }
    }

    @Test func noMessagesNoDigests() {
        #expect(Blake2b256.hash(each: [UnsafeRawBufferPointer]()).isEmpty)
        #expect(Blake2b256.hash(each: [[UInt8]]()).isEmpty)
    }
}
