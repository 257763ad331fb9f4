// A store path's validity record: what Nix signs and what registration carries.
// Reference: NixOS/nix src/libstore/store-api.cc (ValidPathInfo::fingerprint, checkSignatures).

public struct PathInfo: Hashable, Sendable {
    public var storePath: StorePath
    public var narHash: NixHash
    public var narSize: UInt64
    public var references: [StorePath]
    public var deriver: StorePath?

    public init(
        storePath: StorePath, narHash: NixHash, narSize: UInt64, references: [StorePath], deriver: StorePath? = nil
    ) {
        self.storePath = storePath
        self.narHash = narHash
        self.narSize = narSize
        self.references = references
        self.deriver = deriver
    }

    /// `1;<path>;sha256:<nix32>;<narSize>;<sorted full reference paths joined by ','>`.
    public func fingerprint() throws(NixFormatError) -> String {
        guard narSize != 0 else { throw .badSignature("cannot sign a path with NarSize 0") }
        guard narHash.algorithm == .sha256 else { throw .badSignature("fingerprint needs a sha256 NarHash") }
        let refs = references.sorted().map(\.fullPath).joined(separator: ",")
        return "1;\(storePath.fullPath);\(narHash);\(narSize);\(refs)"
    }

    public func sign(with key: NixSecretKey) throws(NixFormatError) -> String {
        key.signature(of: try fingerprint())
    }

    /// True when any signature is valid under any of `keys` (matched by name, as Nix does).
    public func isSigned(byAnyOf keys: [NixPublicKey], signatures: [String]) throws(NixFormatError) -> Bool {
        let fp = try fingerprint()
        for sig in signatures {
            for key in keys where try key.verify(signature: sig, fingerprint: fp) {
                return true
            }
        }
        return false
    }
}
