import NixFormats
import Sodium
import Testing

@Suite struct EncodingTests {
    // From nix-interop.md §1: the NAR of a file holding "hello".
    static let helloNarSHA256 = "0a430879c266f8b57f4092a0f935cf3facd48bbccde5760d4748ca405171e969"
    static let helloNarNix32 = "0sg9f58l1jj88w6pdrfdpj5x9b1zrwszk84j81zvby36q9whhhqa"

    @Test func nix32MatchesNix() throws {
        let bytes = try #require(Hex.decode(Self.helloNarSHA256))
        #expect(Nix32.encode(bytes) == Self.helloNarNix32)
        #expect(Nix32.decode(Self.helloNarNix32, byteCount: 32) == bytes)
        #expect(Nix32.encodedLength(byteCount: 32) == 52)
        #expect(Nix32.encodedLength(byteCount: 20) == 32)
    }

    @Test(arguments: [1, 16, 20, 32, 64])
    func nix32RoundTrips(length: Int) {
        for seed in 0..<50 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: ($0 + 1) &* (seed + 3) &* 97) }
            #expect(Nix32.decode(Nix32.encode(bytes), byteCount: length) == bytes)
        }
    }

    @Test func nix32RejectsBadInput() {
        #expect(Nix32.decode(String(repeating: "e", count: 52), byteCount: 32) == nil)  // 'e' not in alphabet
        #expect(Nix32.decode(String(repeating: "0", count: 51), byteCount: 32) == nil)  // wrong length
        // The top character of a 32-byte hash carries only 1 bit: 'z' (31) overflows.
        #expect(Nix32.decode("z" + String(repeating: "0", count: 51), byteCount: 32) == nil)
        #expect(Nix32.decode("1" + String(repeating: "0", count: 51), byteCount: 32) != nil)
    }

    @Test func base64FollowsNixRules() {
        #expect(Base64.encode(Array("hello".utf8)) == "aGVsbG8=")
        #expect(Base64.encode([UInt8]()) == "")
        #expect(Base64.encode(Array("hel".utf8)) == "aGVs")
        #expect(Base64.decode("aGVsbG8=") == Array("hello".utf8))
        #expect(Base64.decode("aGVs\nbG8=") == Array("hello".utf8))  // newlines skipped
        #expect(Base64.decode("aGVsbG8=garbage!") == Array("hello".utf8))  // stops at '='
        #expect(Base64.decode("aGVs bG8=") == nil)  // a space is an error
        #expect(Base64.decode("aGVsbG8=\r") != nil)
        #expect(Base64.decode("aGVsbG8\r") == nil)  // CR before '=' is an error
    }

    @Test func hexRoundTrips() {
        #expect(Hex.encode([0, 1, 0xab, 0xff]) == "0001abff")
        #expect(Hex.decode("0001ABff") == [0, 1, 0xab, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }

    @Test func hashParsesEveryForm() throws {
        let bytes = try #require(Hex.decode(Self.helloNarSHA256))
        let expected = try NixHash(algorithm: .sha256, bytes: bytes)
        let forms = [
            "sha256:" + Self.helloNarNix32,
            "sha256:" + Self.helloNarSHA256,
            "sha256:CkMIecJm+LV/QJKg+TXPP6zUi7zN5XYNR0jKQFFx6Wk=",
            "sha256-CkMIecJm+LV/QJKg+TXPP6zUi7zN5XYNR0jKQFFx6Wk=",
        ]
        for form in forms {
            #expect(try NixHash.parsePrefixed(form) == expected, "\(form)")
            #expect(try NixHash.parseAny(form, algorithm: .sha256) == expected, "\(form)")
        }
        #expect(try NixHash.parseAny(Self.helloNarNix32, algorithm: .sha256) == expected)
        #expect(try NixHash.parseAny(Self.helloNarSHA256, algorithm: .sha256) == expected)
        #expect(expected.description == "sha256:" + Self.helloNarNix32)
        #expect(expected.sri == "sha256-CkMIecJm+LV/QJKg+TXPP6zUi7zN5XYNR0jKQFFx6Wk=")
    }

    @Test func hashRejectsMalformed() {
        let bad = [
            Self.helloNarNix32,  // narinfo needs the prefix
            "sha256:" + String(Self.helloNarNix32.dropLast()),
            "md4:" + Self.helloNarNix32,
            "sha256:" + String(repeating: "g", count: 64),
            "sha256-AAAA",
            "sha1:" + Self.helloNarNix32,
        ]
        for s in bad {
            #expect(throws: NixFormatError.self, "\(s)") { try NixHash.parsePrefixed(s) }
        }
        #expect(throws: NixFormatError.self) {
            try NixHash.parseAny("sha1:0000000000000000000000000000000000000000", algorithm: .sha256)
        }
    }
}
