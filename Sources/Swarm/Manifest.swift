// The manifest: one per published system closure. It lists every store path with what Nix
// needs to register it and the ids of its chunks. Layout: protocol/SPEC.md §3.
import NixFormats
import Sodium

public struct ManifestPath: Equatable, Sendable {
    public var storePath: StorePath
    /// SHA-256 of the path's NAR (Nix's NarHash).
    public var narHash: Digest256
    public var narSize: UInt64
    public var deriver: StorePath?
    /// Indices into `Manifest.paths` (a closure is complete, so every reference is listed).
    public var references: [Int]
    public var chunks: [ChunkID]
    /// Nix narinfo signatures (`name:base64` over the path's fingerprint) made by raven when it
    /// published: any holder of the path can then serve a narinfo that Nix accepts.
    public var signatures: [String]

    public init(
        storePath: StorePath, narHash: Digest256, narSize: UInt64, deriver: StorePath? = nil, references: [Int],
        chunks: [ChunkID], signatures: [String] = []
    ) {
        self.storePath = storePath
        self.narHash = narHash
        self.narSize = narSize
        self.deriver = deriver
        self.references = references
        self.chunks = chunks
        self.signatures = signatures
    }
}

public struct Manifest: Equatable, Sendable {
    public var layout: ChunkLayout
    /// Unix seconds when raven published it (an input, never read from a clock here).
    public var createdAt: UInt64
    /// Free text for menus and status, e.g. "lab generation 42".
    public var label: String
    /// The closures' roots (a system's toplevel).
    public var toplevels: [StorePath]
    /// Sorted by base name, no duplicates.
    public var paths: [ManifestPath]

    public init(layout: ChunkLayout, createdAt: UInt64, label: String, toplevels: [StorePath], paths: [ManifestPath]) {
        self.layout = layout
        self.createdAt = createdAt
        self.label = label
        self.toplevels = toplevels
        self.paths = paths
    }

    /// Total NAR bytes of the closure.
    public var narBytes: UInt64 { paths.reduce(0) { $0 + $1.narSize } }

    public func index(of path: StorePath) -> Int? {
        var lo = 0
        var hi = paths.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if paths[mid].storePath < path { lo = mid + 1 } else { hi = mid }
        }
        return lo < paths.count && paths[lo].storePath == path ? lo : nil
    }

    /// Path `top` and every path it references, directly or not (indices, ascending).
    public func closure(of top: Int) -> [Int] {
        var seen: Set<Int> = [top]
        var stack = [top]
        while let i = stack.popLast() {
            for r in paths[i].references where seen.insert(r).inserted { stack.append(r) }
        }
        return seen.sorted()
    }

    /// What Nix registers for path `index`.
    public func pathInfo(_ index: Int) -> PathInfo {
        let p = paths[index]
        return PathInfo(
            storePath: p.storePath, narHash: NixHash(sha256: p.narHash), narSize: p.narSize,
            references: p.references.map { paths[$0].storePath }, deriver: p.deriver)
    }
}
