import NixFormats
import Sodium
import Swarm

/// Deterministic inputs shared by the vector and codec tests.
enum Fixtures {
    static let seed = (1...32).map { UInt8($0) }

    static func key() throws -> NixSecretKey {
        NixSecretKey(name: "raven-test-1", key: try SecretKey(seed: seed))
    }

    static func manifest() throws -> Manifest {
        let layout = try ChunkLayout(chunkSize: 64 * 1024)
        let lib = try StorePath("aap2hphvk98rkk9ywlqpp587rjdcgnc2-lib")
        let sys = try StorePath("bbp2hphvk98rkk9ywlqpp587rjdcgnc2-system")
        let libChunks = [ChunkID(of: Array("lib chunk 0".utf8)), ChunkID(of: Array("lib chunk 1".utf8))]
        var manifest = Manifest(
            layout: layout, createdAt: 1_795_800_000, label: "lab generation 1", toplevels: [sys],
            paths: [
                ManifestPath(
                    storePath: lib, narHash: SHA256.hash(Array("lib nar".utf8)), narSize: 70_000,
                    references: [0], chunks: libChunks),
                ManifestPath(
                    storePath: sys, narHash: SHA256.hash(Array("system nar".utf8)), narSize: 120,
                    deriver: try StorePath("ccp2hphvk98rkk9ywlqpp587rjdcgnc2-system.drv"), references: [0, 1],
                    chunks: [ChunkID(of: Array("system chunk".utf8))]),
            ])
        // raven's narinfo signature on the toplevel (Ed25519 is deterministic: a fixed vector).
        manifest.paths[1].signatures = [try manifest.pathInfo(1).sign(with: try key())]
        return manifest
    }

    static let nodeID = (0..<16).map { UInt8(0xa0 + $0) }
    static let chunkData = Array("the bytes of a chunk".utf8)

    /// 10 chunks, holding 0, 2 and 9 (two bytes, six spare bits).
    static var bitfield: Bitfield {
        var b = Bitfield(count: 10)
        for i in [0, 2, 9] { b.insert(i) }
        return b
    }

    /// One message of every type, by vector name.
    static func messages() throws -> [(String, Message)] {
        let chunk = ChunkID(of: chunkData)
        return [
            ("hello", .hello(Hello(role: .agent, nodeID: nodeID, listenPort: 7020))),
            (
                "get-manifest-toplevel",
                .getManifest(.toplevel(try StorePath("bbp2hphvk98rkk9ywlqpp587rjdcgnc2-system")), peersWelcome: false)
            ),
            (
                "get-manifest-toplevel-peers-welcome",
                .getManifest(.toplevel(try StorePath("bbp2hphvk98rkk9ywlqpp587rjdcgnc2-system")), peersWelcome: true)
            ),
            ("get-manifest-id", .getManifest(.id(Blake2b256.hash(Array("id".utf8))), peersWelcome: false)),
            ("manifest", .manifest(Array("RKSIGNED-stand-in".utf8))),
            ("request", .request([chunk, ChunkID(of: Array("other".utf8))])),
            ("chunk", .chunk(chunk, chunkData[...])),
            ("missing", .missing(chunk)),
            ("error", .error(.notFound, "no manifest for that toplevel")),
            ("ping", .ping(0x0102_0304_0506_0708)),
            ("pong", .pong(0x0102_0304_0506_0708)),
            ("bitfield", .bitfield(manifest: Blake2b256.hash(Array("id".utf8)), bitfield)),
            ("have", .have([0, 9, 0x0102_0304])),
            ("get-peers", .getPeers(50)),
            (
                "peers",
                .peers([
                    PeerEntry(address: PeerAddress(host: "10.0.0.7", port: 7021)!, nodeID: nodeID, complete: true),
                    PeerEntry(address: PeerAddress(host: "fd00::1:2", port: 7022)!, nodeID: nodeID, complete: false),
                ])
            ),
            ("request-any", .requestAny(count: 64, bytes: 2 << 20)),
            ("offer", .offer([3, 4, 5])),
            ("offer-empty", .offer([])),
            ("report", .report([nodeID])),
            (
                "manifest-peers",
                .manifestPeers(
                    Blake2b256.hash(Array("id".utf8)),
                    [PeerEntry(address: PeerAddress(host: "10.0.0.7", port: 7021)!, nodeID: nodeID, complete: false)])
            ),
        ]
    }
}
