// What the binary cache face knows: every path of every served manifest, found by the hash part
// of its store path (narinfo) and by its NAR hash (the NAR's URL). URLs are stable: a NAR is
// named by its content, `nar/<nix32 NarHash>.nar`, whichever manifest listed it first. Paths of
// other names can have the same NAR (a file copied into two outputs): the URL stands for all of
// them, and the face reads whichever is on its disk.
import NixFormats
import Swarm

public struct BinaryCacheIndex: Sendable {
    public struct Entry: Sendable {
        public let info: PathInfo
        /// The narinfo signatures raven put in the manifest.
        public let signatures: [String]
    }

    private var byHashPart: [Substring: Entry] = [:]
    private var byNarHash: [String: [Entry]] = [:]

    public init(manifests: [Manifest] = []) {
        for manifest in manifests { add(manifest) }
    }

    public mutating func add(_ manifest: Manifest) {
        for i in manifest.paths.indices {
            let entry = Entry(info: manifest.pathInfo(i), signatures: manifest.paths[i].signatures)
            if byHashPart[entry.info.storePath.hashPart] == nil { byHashPart[entry.info.storePath.hashPart] = entry }
            let nar = entry.info.narHash.nix32
            if byNarHash[nar]?.contains(where: { $0.info.storePath == entry.info.storePath }) != true {
                byNarHash[nar, default: []].append(entry)
            }
        }
    }

    public var count: Int { byHashPart.count }

    public func path(hashPart: Substring) -> Entry? { byHashPart[hashPart] }

    /// The paths whose NAR is at `nar/<nix32>.nar` (one, unless paths of other names hold the
    /// same bytes), in the order their manifests listed them.
    public func paths(narHash nix32: Substring) -> [Entry] { byNarHash[String(nix32)] ?? [] }

    public static func narURL(_ info: PathInfo) -> String { "nar/\(info.narHash.nix32).nar" }

    /// The narinfo Nix reads: uncompressed NAR, so FileHash and FileSize equal NarHash and NarSize.
    public static func narInfo(_ info: PathInfo, signatures: [String]) -> NarInfo {
        NarInfo(
            storePath: info.storePath, url: narURL(info), compression: "none", fileHash: info.narHash,
            fileSize: info.narSize, narHash: info.narHash, narSize: info.narSize, references: info.references,
            deriver: info.deriver, signatures: signatures)
    }
}
