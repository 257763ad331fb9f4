// Chunks that repeat: identical files in two store paths, or a run of zeros inside one NAR, give
// the same chunk id in several places. Real closures have them (licences, zero-filled regions of
// binaries); the table numbers each once, the client asks for each once, and a chunk's arrival
// counts for every path that holds it.
import NixFormats
import Sodium
import Swarm
import Testing

@Suite struct RepeatedChunksTests {
    static let x = ChunkID(of: Array("chunk x".utf8))
    static let y = ChunkID(of: Array("chunk y".utf8))
    static let z = ChunkID(of: Array("chunk z".utf8))

    /// Path 0 holds x, y, x (a repeat inside one NAR), path 1 only y (the same bytes as part of
    /// path 0), the toplevel z.
    static func manifest() throws -> Manifest {
        let chunk: UInt64 = 64 << 10
        var manifest = Manifest(
            layout: try ChunkLayout(chunkSize: UInt32(chunk)), createdAt: 1_795_800_000, label: "repeats",
            toplevels: [try StorePath("ccp2hphvk98rkk9ywlqpp587rjdcgnc2-system")],
            paths: [
                ManifestPath(
                    storePath: try StorePath("aap2hphvk98rkk9ywlqpp587rjdcgnc2-zeros"),
                    narHash: SHA256.hash(Array("a".utf8)), narSize: 3 * chunk, references: [], chunks: [x, y, x]),
                ManifestPath(
                    storePath: try StorePath("bbp2hphvk98rkk9ywlqpp587rjdcgnc2-copy"),
                    narHash: SHA256.hash(Array("b".utf8)), narSize: chunk, references: [], chunks: [y]),
                ManifestPath(
                    storePath: try StorePath("ccp2hphvk98rkk9ywlqpp587rjdcgnc2-system"),
                    narHash: SHA256.hash(Array("c".utf8)), narSize: 120, references: [0, 1], chunks: [z]),
            ])
        manifest.paths[2].signatures = [try manifest.pathInfo(2).sign(with: try Fixtures.key())]
        return manifest
    }

    @Test func theTableNumbersEachDistinctChunkOnce() throws {
        let table = ChunkTable(manifest: try Self.manifest())
        #expect(table.ids == [Self.x, Self.y, Self.z])
        #expect(table.sizes == [65536, 65536, 120])
        #expect(table.pathChunks == [[0, 1, 0], [1], [2]])
        #expect(table.chunks(ofPaths: [0, 1]) == [0, 1])
    }

    @Test func aRepeatedChunkIsAskedForOnceAndCompletesEveryPathThatHoldsIt() throws {
        var (c, peer, manifest, _) = try SwarmClientTests.clientWithPeer(manifest: try Self.manifest()) {
            $0.peerBudgetBytes = 1 << 20
        }
        let table = ChunkTable(manifest: manifest)
        let manifestID = try #require(c.manifestID)
        let asked = SwarmClientTests.requests(
            c.received(peer, .bitfield(manifest: manifestID, Bitfield.full(count: table.count)), now: 1), on: peer)
        #expect(asked.count == 3 && Set(asked) == [Self.x, Self.y, Self.z], "each distinct chunk once: \(asked)")
        func restored(_ actions: [SwarmClient.Action]) -> [Int] {
            actions.compactMap { if case .restore(let p) = $0 { p } else { nil } }
        }
        // x fills two of path 0's three places, and path 0 still lacks y.
        let afterX = c.chunkArrived(peer, index: 0, data: [1][...], intact: true, now: 2)
        #expect(afterX.contains(.store(0, Self.x, [1][...])) && restored(afterX).isEmpty)
        // y completes both paths that hold it, each once.
        let afterY = c.chunkArrived(peer, index: 1, data: [2][...], intact: true, now: 3)
        #expect(restored(afterY) == [0, 1])
        #expect(!afterY.contains(.finished))
        let afterZ = c.chunkArrived(peer, index: 2, data: [3][...], intact: true, now: 4)
        #expect(restored(afterZ) == [2] && afterZ.contains(.finished))
        #expect(c.statistics.chunksFromPeers == 3 && c.statistics.duplicateChunks == 0)
    }
}
