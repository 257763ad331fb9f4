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

    @Test func digestFromBytesRoundTrips() throws {
        let d = SHA256.hash(Array("x".utf8))
        let again = try #require(Digest256(bytes: d.bytes))
        #expect(again == d)
        #expect(Digest256(bytes: [1, 2, 3]) == nil)
    }
}
