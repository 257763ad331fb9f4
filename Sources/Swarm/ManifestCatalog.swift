// The manifests a seed serves, found by id or by toplevel (newest first).
import NixFormats
import Sodium

public struct ManifestCatalog: Sendable {
    public struct Entry: Sendable {
        public let signed: SignedManifest
        public let manifest: Manifest
        public let file: [UInt8]
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    /// Adds a manifest raven signed; the body is decoded once here.
    @discardableResult
    public mutating func add(_ signed: SignedManifest) throws(WireError) -> Entry {
        let entry = Entry(signed: signed, manifest: try Manifest.decode(signed.body[...]), file: signed.encode())
        entries.append(entry)
        entries.sort { $0.manifest.createdAt > $1.manifest.createdAt }
        return entry
    }

    public func find(_ selector: ManifestSelector) -> Entry? {
        switch selector {
        case .id(let id): entries.first { $0.signed.id == id }
        case .toplevel(let path): entries.first { $0.manifest.toplevels.contains(path) }
        }
    }
}
