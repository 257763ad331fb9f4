import NixFormats
import Sodium
import Testing

@Suite struct SignatureTests {
    static let seed = [UInt8](repeating: 0x42, count: 32)

    static func key() throws -> NixSecretKey {
        NixSecretKey(name: "raven-1", key: try SecretKey(seed: seed))
    }

    static func info(references: [String] = []) throws -> PathInfo {
        PathInfo(
            storePath: try StorePath("/nix/store/xfp2hphvk98rkk9ywlqpp587rjdcgnc2-hello.txt"),
            narHash: try NixHash.parsePrefixed("sha256:0sg9f58l1jj88w6pdrfdpj5x9b1zrwszk84j81zvby36q9whhhqa"),
            narSize: 120, references: try references.map { try StorePath($0) })
    }

    @Test func fingerprintMatchesNixLayout() throws {
        #expect(
            try Self.info().fingerprint()
                == "1;/nix/store/xfp2hphvk98rkk9ywlqpp587rjdcgnc2-hello.txt;sha256:0sg9f58l1jj88w6pdrfdpj5x9b1zrwszk84j81zvby36q9whhhqa;120;"
        )
        let withRefs = try Self.info(references: [
            "zzp2hphvk98rkk9ywlqpp587rjdcgnc2-b", "aap2hphvk98rkk9ywlqpp587rjdcgnc2-a",
        ])
        #expect(
            try withRefs.fingerprint().hasSuffix(
                ";120;/nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-a,/nix/store/zzp2hphvk98rkk9ywlqpp587rjdcgnc2-b"))
        var zero = try Self.info()
        zero.narSize = 0
        #expect(throws: NixFormatError.self) { try zero.fingerprint() }
    }

    @Test func keyFilesRoundTrip() throws {
        let key = try Self.key()
        let text = key.renderSecret()
        #expect(!text.hasSuffix("\n"))
        let again = try NixSecretKey(parsing: text)
        #expect(again.name == "raven-1")
        #expect(again.key == key.key)
        let pub = try NixPublicKey(parsing: key.publicKey.description)
        #expect(pub == key.publicKey)
        #expect(!"\(key)".contains(text.split(separator: ":")[1]))
    }

    @Test(arguments: ["nocolon", ":AAAA", "k:!!!!", "k:AAAA", "k: " + String(repeating: "A", count: 44)])
    func malformedKeysAreRefused(text: String) {
        #expect(throws: NixFormatError.self) { try NixPublicKey(parsing: text) }
        #expect(throws: NixFormatError.self) { try NixSecretKey(parsing: text) }
    }

    /// The likely slips name themselves: one file of the pair for the other, a file's path for
    /// its text (before: `wrongLength(what: "secret key", expected: 64, got: 32)`, `has no ':'`).
    @Test func theOtherKeyOrAPathIsNamed() throws {
        let key = try Self.key()
        #expect(
            throws: NixFormatError.badKey(
                "'raven-1' is a public key, not a secret key: signing takes the secret one (its other file)")
        ) {
            try NixSecretKey(parsing: key.publicKey.description)
        }
        #expect(
            throws: NixFormatError.badKey(
                "'raven-1' is a secret key, not a public key (give its public one; the secret one stays on raven)")
        ) {
            try NixPublicKey(parsing: key.renderSecret())
        }
        #expect(
            throws: NixFormatError.badKey("public key has no ':' (a key is the text NAME:BASE64, not a file's path)")
        ) {
            try NixPublicKey(parsing: "/etc/nix/raven.pub")
        }
        #expect(throws: NixFormatError.badKey("secret key 'k' is not valid: a secret key has 64 bytes, this has 3")) {
            try NixSecretKey(parsing: "k:AAAA")
        }
    }

    /// A public key travels where blanks separate words (nix.conf's `trusted-public-keys`, the
    /// kernel command line's `rookery.key=`): a new key's name holds none, nor a ':'.
    @Test(arguments: ["", "a:b", "lab key", "lab\tkey", "lab\nkey"])
    func aNewKeysNameFitsOneWord(name: String) {
        #expect(throws: NixFormatError.self) { try NixSecretKey.generate(name: name) }
    }

    @Test func signAndVerifyByName() throws {
        let key = try Self.key()
        let info = try Self.info()
        let sig = try info.sign(with: key)
        #expect(sig.hasPrefix("raven-1:"))
        #expect(try info.isSigned(byAnyOf: [key.publicKey], signatures: [sig]))
        // Same key bytes under another name: Nix matches by name, so no match.
        let renamed = NixPublicKey(name: "other-1", key: key.publicKey.key)
        #expect(try !info.isSigned(byAnyOf: [renamed], signatures: [sig]))
        var changed = info
        changed.narSize += 1
        #expect(try !changed.isSigned(byAnyOf: [key.publicKey], signatures: [sig]))
        #expect(throws: NixFormatError.self) {
            try info.isSigned(byAnyOf: [key.publicKey], signatures: ["raven-1:AAAA"])
        }
    }
}
