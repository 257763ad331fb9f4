// Builds the manifest of a closure from the store on disk: every path is dumped once, cut into
// chunks and hashed, and its NAR hash and size must equal what Nix recorded, or nothing is
// published; a path an earlier publish already read and checked keeps the chunks it got then.
// Each path also gets raven's narinfo signature, so peers can serve it to Nix.
import NixFormats
import Sodium
import Store
import Swarm

public enum Publisher {
    /// A path's NAR as read from disk and found equal to Nix's record (hash and size), cut into chunks.
    public struct VerifiedNar: Sendable {
        public let narHash: Digest256
        public let chunks: [ChunkID]
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case narMismatch(StorePath, expected: String, got: String)
        case referenceOutsideClosure(StorePath, StorePath)
        case toplevelMissing(StorePath)

        public var description: String {
            switch self {
            case .narMismatch(let p, let e, let g):
                "NAR of \(p) does not match Nix's record (expected \(e), got \(g)); run nix-store --verify --check-contents"
            case .referenceOutsideClosure(let p, let r): "\(p) references \(r), which is not in the closure"
            case .toplevelMissing(let p): "toplevel \(p) is not in the closure"
            }
        }
    }

    /// The manifest of `closure` (Nix's records of every path) as found under `store`. Paths not
    /// in `earlier` are hashed on `workers` threads, largest first; each large path's SHA-256
    /// also runs beside its chunk ids on a thread of its own.
    public static func manifest(
        of closure: [PathInfo], toplevels: [StorePath], store: StoreRoot, layout: ChunkLayout, createdAt: UInt64,
        label: String, signingKeys: [NixSecretKey] = [], earlier: EarlierPublishes = EarlierPublishes(),
        workers: Int = ParallelWork.cores
    ) throws -> Manifest {
        let sorted = closure.sorted { $0.storePath < $1.storePath }
        var index: [StorePath: Int] = [:]
        for (i, p) in sorted.enumerated() { index[p.storePath] = i }
        for t in toplevels where index[t] == nil { throw Failure.toplevelMissing(t) }
        let references = try sorted.map { info in
            try info.references.map { ref in
                guard let i = index[ref] else { throw Failure.referenceOutsideClosure(info.storePath, ref) }
                return i
            }.sorted()
        }
        let chunkSize = Int(layout.chunkSize)
        let workers = max(workers, 1)
        let known = sorted.map(earlier.verified)
        let unknown = sorted.indices.filter { known[$0] == nil }
        // No threads when every path is known (a seed start republishing its systems).
        let sides = (0..<min(workers, unknown.count)).map { _ in SideThread() }
        defer { for side in sides { side.stop() } }
        let largestFirst = unknown.indices.sorted { sorted[unknown[$0]].narSize > sorted[unknown[$1]].narSize }
        let hashed = try ParallelWork.map(largestFirst, workers: workers) { job, worker in
            let info = sorted[unknown[job]]
            // A NAR that fills no gather buffer gains nothing from a second thread: the other
            // workers keep the cores busy.
            let side = info.narSize >= UInt64(chunkSize * Blake2b256.lanes) ? sides[worker] : nil
            var sink = ChunkingSink(chunkSize: chunkSize, side: side)
            try store.dump(info.storePath, to: &sink)
            let (narHash, narSize, chunks) = sink.finish()
            let got = NixHash(sha256: narHash)
            guard got == info.narHash, narSize == info.narSize else {
                throw Failure.narMismatch(
                    info.storePath, expected: "\(info.narHash) (\(info.narSize) bytes)",
                    got: "\(got) (\(narSize) bytes)")
            }
            return VerifiedNar(narHash: narHash, chunks: chunks.map(ChunkID.init))
        }
        var nars = known
        for (job, i) in unknown.enumerated() { nars[i] = hashed[job] }
        let paths = try sorted.indices.map { i in
            let (info, nar) = (sorted[i], nars[i]!)
            return ManifestPath(
                storePath: info.storePath, narHash: nar.narHash, narSize: info.narSize, deriver: info.deriver,
                references: references[i], chunks: nar.chunks,
                signatures: try signingKeys.map { try info.sign(with: $0) })
        }
        return Manifest(layout: layout, createdAt: createdAt, label: label, toplevels: toplevels, paths: paths)
    }
}
