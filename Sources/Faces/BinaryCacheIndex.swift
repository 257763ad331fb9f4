// What the binary cache face knows: every path of every served manifest, found by the hash part
// of its store path (narinfo) and by its NAR hash (the NAR's URL). URLs are stable: a NAR is
// named by its content, `nar/<nix32 NarHash>.nar`, whichever manifest listed it first.
import NixFormats
import Swarm

public struct BinaryCacheIndex: Sendable {
    private var byHashPart: [Substring: PathInfo] = [:]
    private var byNarHash: [String: PathInfo] = [:]

    public init(manifests: [Manifest]) {
        for manifest in manifests {
            for i in manifest.paths.indices {
                let info = manifest.pathInfo(i)
                if byHashPart[info.storePath.hashPart] == nil { byHashPart[info.storePath.hashPart] = info }
                if byNarHash[info.narHash.nix32] == nil { byNarHash[info.narHash.nix32] = info }
            }
        }
    }

    public var count: Int { byHashPart.count }

    public func path(hashPart: Substring) -> PathInfo? { byHashPart[hashPart] }

    /// The path whose NAR is at `nar/<nix32>.nar`.
    public func path(narHash nix32: Substring) -> PathInfo? { byNarHash[String(nix32)] }

    public static func narURL(_ info: PathInfo) -> String { "nar/\(info.narHash.nix32).nar" }

    /// The narinfo Nix reads: uncompressed NAR, so FileHash and FileSize equal NarHash and NarSize.
    public static func narInfo(_ info: PathInfo, signatures: [String]) -> NarInfo {
        NarInfo(
            storePath: info.storePath, url: narURL(info), compression: "none", fileHash: info.narHash,
            fileSize: info.narSize, narHash: info.narHash, narSize: info.narSize, references: info.references,
            deriver: info.deriver, signatures: signatures)
    }
}
