// What earlier publishes verified: each store path's NAR hash, size and chunk ids, from the
// manifests in raven's state that its own key signed. A store path never changes while Nix keeps
// it valid, so a path Nix records with the same NAR hash and size as when an earlier publish read
// it, checked it against that hash and chunked it, gets the same chunks again without being read:
// publishing generation N+1 reads only the paths generation N did not have (docs/publish.md).
import NixFormats
import Swarm

public struct EarlierPublishes: Sendable {
    private var paths: [StorePath: ManifestPath] = [:]

    /// No earlier publishes: every path is read and hashed.
    public init() {}

    /// The paths of `manifests` chunked with `layout` (another chunk size gives other chunks).
    public init(_ manifests: [Manifest], layout: ChunkLayout) {
        for m in manifests where m.layout == layout {
            for p in m.paths { paths[p.storePath] = p }
        }
    }

    /// What an earlier publish made of `info`'s path, if Nix still records the NAR it read.
    public func verified(_ info: PathInfo) -> Publisher.VerifiedNar? {
        guard let p = paths[info.storePath], p.narSize == info.narSize, NixHash(sha256: p.narHash) == info.narHash
        else { return nil }
        return Publisher.VerifiedNar(narHash: p.narHash, chunks: p.chunks)
    }
}
