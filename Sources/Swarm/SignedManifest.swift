// A manifest as raven publishes and serves it: the canonical body and Ed25519 signatures over
// exactly those bytes, made with Nix binary-cache keys (protocol/SPEC.md §4). A client trusts
// nothing in it until one signature verifies under a key it was configured with.
import NixFormats
import Sodium

public struct SignedManifest: Equatable, Sendable {
    public struct Signature: Equatable, Sendable {
        public let keyName: String
        public let bytes: [UInt8]
    }

    static let magic: [UInt8] = Array("RKSIGNED".utf8)
    public static let maxSignatures = 8

    /// The canonical manifest body: what the signatures cover.
    public let body: [UInt8]
    public let signatures: [Signature]

    /// The manifest's name: BLAKE2b-256 of its body, hashed once. A seed looks manifests up by id
    /// for every GET_MANIFEST: hashing the bodies at each look-up cost it about 1 ms per MiB of
    /// manifests it held, per client.
    public let id: Digest256

    init(body: [UInt8], signatures: [Signature]) {
        self.body = body
        self.signatures = signatures
        id = Blake2b256.hash(body)
    }

    public static func sign(_ manifest: Manifest, with keys: [NixSecretKey]) -> SignedManifest {
        let body = manifest.encode()
        return SignedManifest(
            body: body, signatures: keys.map { Signature(keyName: $0.name, bytes: $0.key.sign(body)) })
    }

    /// The file and wire form: magic, body, signatures.
    public func encode() -> [UInt8] {
        var w = WireWriter()
        w.raw(Self.magic)
        w.blob(body)
        w.u8(UInt8(signatures.count))
        for s in signatures {
            w.string(s.keyName)
            w.raw(s.bytes)
        }
        return w.bytes
    }

    /// Splits the file form; checks structure only, not signatures.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(WireError) -> SignedManifest {
        var r = WireReader(bytes)
        guard Array(try r.take(magic.count)) == magic else { throw .badMagic }
        let body = try r.blob(limit: ManifestLimits.maxBodyBytes)
        let count = Int(try r.u8())
        guard count <= maxSignatures else { throw .malformed("more than \(maxSignatures) signatures") }
        var signatures: [Signature] = []
        for _ in 0..<count {
            let name = try r.string(limit: 255)
            signatures.append(Signature(keyName: name, bytes: Array(try r.take(64))))
        }
        guard r.isAtEnd else { throw .malformed("\(r.remaining) bytes after the signatures") }
        return SignedManifest(body: body, signatures: signatures)
    }

    /// The manifest, if a signature by one of `trustedKeys` (matched by name, as Nix does)
    /// verifies; decoding the body happens only after that.
    public func verified(trustedKeys: [NixPublicKey]) throws(ManifestTrustError) -> Manifest {
        guard !signatures.isEmpty else { throw .unsigned }
        var knownName = false
        for s in signatures {
            for key in trustedKeys where key.name == s.keyName {
                knownName = true
                if key.key.verify(signature: s.bytes, of: body) {
                    do { return try Manifest.decode(body[...]) } catch { throw .malformed(error) }
                }
            }
        }
        throw knownName ? .badSignature : .unknownKey(signatures.map(\.keyName))
    }
}

/// Why a manifest was not trusted.
public enum ManifestTrustError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsigned
    case unknownKey([String])
    case badSignature
    case malformed(WireError)

    public var description: String {
        switch self {
        case .unsigned: "manifest is not signed"
        case .unknownKey(let names): "manifest is signed only by untrusted keys (\(names.joined(separator: ", ")))"
        case .badSignature: "manifest signature does not verify (tampered, or signed by another key of that name)"
        case .malformed(let e): "signed manifest is malformed: \(e)"
        }
    }
}
