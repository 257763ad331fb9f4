// A made-up closure for the simulation: many small paths and a few large ones (sizes drawn
// log-uniformly), each chunk named by a hash of its position, signed with a fixed key. No
// bytes exist; only the manifest does.
import NixFormats
import Sodium
import Swarm

public enum SyntheticClosure {
    /// `pathCount` paths of about `totalBytes` NAR bytes in all.
    public static func manifest(
        pathCount: Int, totalBytes: UInt64, chunkSize: UInt32, using rng: inout some RandomNumberGenerator
    ) throws -> Manifest {
        let layout = try ChunkLayout(chunkSize: chunkSize)
        // Sizes from 1 KiB to 64 MiB, log-uniform, then scaled to the total.
        var weights: [Double] = []
        for _ in 0..<pathCount { weights.append(Double.random(in: 10...26, using: &rng)) }
        let raw = weights.map { Double(1 << Int($0)) * (1 + $0.truncatingRemainder(dividingBy: 1)) }
        let scale = Double(totalBytes) / raw.reduce(0, +)
        var paths: [ManifestPath] = []
        for (i, r) in raw.enumerated() {
            let narSize = max(UInt64(r * scale), 112)
            var hashBytes = Array(Blake2b256.hash(Array("path \(i)".utf8)).bytes.prefix(20))
            hashBytes[0] = UInt8(i & 0xFF)
            let name = Nix32.encode(hashBytes) + "-p\(i)"
            let chunks = (0..<layout.chunkCount(narSize: narSize)).map { c in
                ChunkID(Blake2b256.hash(Array("chunk \(i) \(c)".utf8)))
            }
            paths.append(
                ManifestPath(
                    storePath: try StorePath(StorePath.storeDirectory + "/" + name),
                    narHash: Blake2b256.hash([UInt8(i & 0xFF)]),
                    narSize: narSize, references: [], chunks: chunks))
        }
        paths.sort { $0.storePath < $1.storePath }
        // The first path stands for the toplevel and references all the others.
        paths[0].references = Array(1..<paths.count)
        return Manifest(
            layout: layout, createdAt: 0, label: "simulated", toplevels: [paths[0].storePath], paths: paths)
    }

    /// The fixed simulation key (not a secret: it signs nothing real).
    public static func key() throws -> NixSecretKey {
        NixSecretKey(name: "rookery-simulation-1", key: try SecretKey(seed: [UInt8](repeating: 7, count: 32)))
    }
}
