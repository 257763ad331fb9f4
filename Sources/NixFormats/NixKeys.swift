// Nix binary-cache keys: `name:base64` files, 64-byte libsodium secret, 32-byte public key,
// written without a trailing newline. Reference: NixOS/nix src/libstore/crypto.cc.
import Sodium

/// Splits `name:base64` at the first ':' and decodes by Nix's base64 rules.
func parseNamedKey(_ text: some StringProtocol, what: String) throws(NixFormatError) -> (String, [UInt8]) {
    let s = String(text)
    guard let colon = s.firstIndex(of: ":") else {
        // A key file's path where its text belongs is the likely slip.
        let path = s.hasPrefix("/") || s.hasPrefix(".") ? " (a key is the text NAME:BASE64, not a file's path)" : ""
        throw .badKey("\(what) has no ':'\(path)")
    }
    let name = String(s[..<colon])
    guard !name.isEmpty else { throw .badKey("\(what) has an empty name") }
    guard let bytes = Base64.decode(s[s.index(after: colon)...]) else {
        throw .badKey("\(what) '\(name)' is not valid base64")
    }
    return (name, bytes)
}

/// A named Ed25519 public key, as in `trusted-public-keys`.
public struct NixPublicKey: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let key: PublicKey

    public init(name: String, key: PublicKey) {
        self.name = name
        self.key = key
    }

    public init(parsing text: some StringProtocol) throws(NixFormatError) {
        let (name, bytes) = try parseNamedKey(text, what: "public key")
        guard bytes.count != SecretKey.byteCount else {
            throw .badKey(
                "'\(name)' is a secret key, not a public key (give its public one; the secret one stays on raven)")
        }
        do {
            self.init(name: name, key: try PublicKey(bytes: bytes))
        } catch {
            throw .badKey("public key '\(name)' is not valid: \(error)")
        }
    }

    /// `name:base64`, the form of a public key file and of `trusted-public-keys`.
    public var description: String { "\(name):\(Base64.encode(key.bytes))" }

    /// Checks a `Sig:` value against this key. Nix's rules: a signature under another key name
    /// is no match; under this name it must decode to 64 bytes.
    public func verify(signature sig: String, fingerprint: String) throws(NixFormatError) -> Bool {
        guard let colon = sig.firstIndex(of: ":") else { throw .badSignature("signature has no ':'") }
        guard sig[..<colon] == name else { return false }
        guard let bytes = Base64.decode(sig[sig.index(after: colon)...]), bytes.count == Signature.byteCount else {
            throw .badSignature("signature is not valid")
        }
        return key.verify(signature: bytes, of: Array(fingerprint.utf8))
    }
}

/// A named Ed25519 secret key, the file `nix-store --generate-binary-cache-key` writes.
public struct NixSecretKey: Sendable, CustomStringConvertible {
    public let name: String
    public let key: SecretKey

    public init(name: String, key: SecretKey) {
        self.name = name
        self.key = key
    }

    public init(parsing text: some StringProtocol) throws(NixFormatError) {
        let (name, bytes) = try parseNamedKey(text, what: "secret key")
        var copy = bytes
        defer { for i in copy.indices { copy[i] = 0 } }
        guard bytes.count != PublicKey.byteCount else {
            throw .badKey("'\(name)' is a public key, not a secret key: signing takes the secret one (its other file)")
        }
        do {
            self.init(name: name, key: try SecretKey(bytes: copy))
        } catch {
            throw .badKey("secret key '\(name)' is not valid: \(error)")
        }
    }

    /// A new key pair named `name`. The public key travels where blanks separate words (Nix's
    /// `trusted-public-keys`, the kernel command line's `rookery.key=`), so the name holds none.
    public static func generate(name: String) throws(NixFormatError) -> NixSecretKey {
        guard !name.isEmpty, !name.contains(":"), !name.contains(" "), !name.containsControlBytes else {
            throw .badKey("key name must be non-empty and hold no ':', blank or control character")
        }
        return NixSecretKey(name: name, key: SecretKey.generate())
    }

    public var publicKey: NixPublicKey { NixPublicKey(name: name, key: key.publicKey) }

    /// The key file's contents, `name:base64(64 bytes)`, no trailing newline. Handle with care.
    public func renderSecret() -> String {
        key.withUnsafeSecretBytes { "\(name):\(Base64.encode($0))" }
    }

    /// `Sig:` value for `fingerprint`: `name:base64(ed25519(fingerprint))`.
    public func signature(of fingerprint: String) -> String {
        "\(name):\(Base64.encode(key.sign(Array(fingerprint.utf8))))"
    }

    public var description: String { "NixSecretKey(\(name), <redacted>)" }
}
