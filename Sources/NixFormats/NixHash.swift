// Nix's hash values and their string forms.
// Reference: NixOS/nix src/libutil/hash.cc (Hash::parseAny, parseAnyPrefixed, to_string).
import Sodium

public enum HashAlgorithm: String, Sendable, CaseIterable {
    case md5, sha1, sha256, sha512

    public var byteCount: Int {
        switch self {
        case .md5: 16
        case .sha1: 20
        case .sha256: 32
        case .sha512: 64
        }
    }
}

/// A hash as Nix knows it: an algorithm and its digest bytes.
public struct NixHash: Hashable, Sendable, CustomStringConvertible {
    public let algorithm: HashAlgorithm
    public let bytes: [UInt8]

    public init(algorithm: HashAlgorithm, bytes: [UInt8]) throws(NixFormatError) {
        guard bytes.count == algorithm.byteCount else {
            throw .badHash("a \(algorithm.rawValue) digest has \(algorithm.byteCount) bytes, got \(bytes.count)")
        }
        self.algorithm = algorithm
        self.bytes = bytes
    }

    public init(sha256 digest: Digest256) {
        algorithm = .sha256
        bytes = digest.bytes
    }

    /// `sha256:<nix32>`: how Nix writes NarHash and the fingerprint.
    public var description: String { "\(algorithm.rawValue):\(nix32)" }
    public var nix32: String { Nix32.encode(bytes) }
    public var hex: String { Hex.encode(bytes) }
    public var base64: String { Base64.encode(bytes) }
    /// Subresource-integrity form, `sha256-<base64>`.
    public var sri: String { "\(algorithm.rawValue)-\(base64)" }

    /// Parses a prefixed hash (`sha256:<nix32|hex|base64>` or SRI `sha256-<base64>`), as narinfo
    /// fields require.
    public static func parsePrefixed(_ string: some StringProtocol) throws(NixFormatError) -> NixHash {
        let s = String(string)
        if let colon = s.firstIndex(of: ":") {
            let algo = try algorithm(named: s[..<colon], in: s)
            return try parse(body: s[s.index(after: colon)...], algorithm: algo, isSRI: false, whole: s)
        }
        if let dash = s.firstIndex(of: "-") {
            let algo = try algorithm(named: s[..<dash], in: s)
            return try parse(body: s[s.index(after: dash)...], algorithm: algo, isSRI: true, whole: s)
        }
        throw .badHash("hash '\(s)' has no algorithm prefix")
    }

    /// Parses any form: prefixed, SRI, or bare digits of `algorithm` (as `nix-store --load-db` does).
    public static func parseAny(_ string: some StringProtocol, algorithm: HashAlgorithm) throws(NixFormatError)
        -> NixHash
    {
        let s = String(string)
        if s.contains(":") || s.contains("-") {  // no bare hex, nix32 or base64 digest has either
            let h = try parsePrefixed(s)
            guard h.algorithm == algorithm else {
                throw .badHash("hash '\(s)' should be \(algorithm.rawValue)")
            }
            return h
        }
        return try parse(body: Substring(s), algorithm: algorithm, isSRI: false, whole: s)
    }

    private static func algorithm(named name: Substring, in whole: String) throws(NixFormatError) -> HashAlgorithm {
        guard let algo = HashAlgorithm(rawValue: String(name)) else {
            throw .badHash("unknown hash algorithm '\(name)' in '\(whole)'")
        }
        return algo
    }

    private static func parse(body: Substring, algorithm: HashAlgorithm, isSRI: Bool, whole: String)
        throws(NixFormatError) -> NixHash
    {
        let n = algorithm.byteCount
        let length = body.utf8.count
        var decoded: [UInt8]?
        if !isSRI && length == n * 2 {
            decoded = Hex.decode(body)
        } else if !isSRI && length == Nix32.encodedLength(byteCount: n) {
            decoded = Nix32.decode(body, byteCount: n)
        } else if isSRI || length == Base64.encodedLength(byteCount: n) {
            decoded = Base64.decode(body)
        } else {
            throw .badHash("hash '\(whole)' has wrong length for a \(algorithm.rawValue) hash")
        }
        guard let bytes = decoded, bytes.count == n else {
            throw .badHash("invalid \(algorithm.rawValue) hash '\(whole)'")
        }
        return try NixHash(algorithm: algorithm, bytes: bytes)
    }
}
