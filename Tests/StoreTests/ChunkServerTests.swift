import Foundation
import NixFormats
import Sodium
import Store
import Swarm
import TestSupport
import Testing

@Suite struct ChunkServerTests {
    /// A server that may keep fewer index segments than the paths it serves have: every chunk
    /// still reads back as its NAR's bytes (evicted indexes are built again), in any order and
    /// again, while the segments kept stay within the bound.
    @Test func evictedIndexesAreBuiltAgainWithinTheBound() throws {
        let tmp = TemporaryDirectory()
        let root = StoreRoot(root: tmp.sub("root"))
        try FileManager.default.createDirectory(atPath: root.storeDirectory, withIntermediateDirectories: true)
        let layout = try ChunkLayout(chunkSize: 64 * 1024)
        var paths: [ManifestPath] = []
        var nars: [[UInt8]] = []
        for i in 0..<12 {
            let name = String(repeating: "\(i % 10)", count: 31) + "a-p\(i)"
            let storePath = try StorePath("/nix/store/" + name)
            let dir = TreeBuilder.Node.directory(
                name, [.file("data", (0..<(70_000 + 9000 * i)).map { UInt8(truncatingIfNeeded: $0 * (i + 7)) })])
            try TreeBuilder.build(dir, at: root.storeDirectory)
            let nar = try narOf(root.realPath(storePath))
            let ids = chunkIDs(of: nar, layout: layout)
            paths.append(
                ManifestPath(
                    storePath: storePath, narHash: SHA256.hash(nar), narSize: UInt64(nar.count), references: [],
                    chunks: ids))
            nars.append(nar)
        }
        let manifest = Manifest(layout: layout, createdAt: 0, label: "t", toplevels: [paths[0].storePath], paths: paths)
        let one = try NarIndex.build(realPath: root.realPath(paths[0].storePath)).segments.count
        let bound = 3 * one
        let server = ChunkServer(store: root, maxSegments: bound)
        server.add(manifest)
        var reads: [(path: Int, chunk: Int)] = []
        for (p, path) in paths.enumerated() { for c in path.chunks.indices { reads.append((p, c)) } }
        var rng = SplitMix64(seed: 7)
        for round in 0..<3 {
            let order = round == 0 ? reads : reads.shuffled(using: &rng)
            for (p, c) in order {
                let r = layout.range(of: c, narSize: paths[p].narSize)
                let bytes = try #require(try server.read(paths[p].chunks[c]))
                #expect(bytes[...] == nars[p][Int(r.lowerBound)..<Int(r.upperBound)], "path \(p) chunk \(c)")
                #expect(server.segmentsKept <= bound)
            }
        }
        #expect(try server.read(ChunkID(of: [1, 2, 3])) == nil)
    }

    /// A chunk that repeats in three paths is read from the first of them on this disk: the
    /// first two of the manifest are missing (a client holds some paths only, and a path it is
    /// restoring is not there yet), the third is there. When none is there, the read fails.
    @Test func aRepeatedChunkIsReadFromAPathOnThisDisk() throws {
        let tmp = TemporaryDirectory()
        let root = StoreRoot(root: tmp.sub("root"))
        try FileManager.default.createDirectory(atPath: root.storeDirectory, withIntermediateDirectories: true)
        let layout = try ChunkLayout(chunkSize: 64 * 1024)
        let data = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var paths: [ManifestPath] = []
        var nar: [UInt8] = []
        try FileManager.default.createDirectory(atPath: tmp.sub("src"), withIntermediateDirectories: false)
        for name in ["a", "b", "c"] {
            let base = String(repeating: name, count: 32) + "-same"
            try TreeBuilder.build(.file(base, data), at: tmp.sub("src"))
            nar = try narOf(tmp.sub("src/" + base))
            let ids = chunkIDs(of: nar, layout: layout)
            paths.append(
                ManifestPath(
                    storePath: try StorePath("/nix/store/" + base), narHash: SHA256.hash(nar),
                    narSize: UInt64(nar.count), references: [], chunks: ids))
        }
        #expect(paths[0].chunks == paths[1].chunks && paths[1].chunks == paths[2].chunks, "one NAR, three names")
        let server = ChunkServer(store: root)
        server.add(Manifest(layout: layout, createdAt: 0, label: "t", toplevels: [], paths: paths))
        let first = layout.range(of: 0, narSize: UInt64(nar.count))
        #expect(throws: StoreError.self) { try server.read(paths[0].chunks[0]) }
        try FileManager.default.copyItem(
            atPath: tmp.sub("src/" + paths[2].storePath.baseName), toPath: root.realPath(paths[2].storePath))
        #expect(try server.read(paths[0].chunks[0])?[...] == nar[Int(first.lowerBound)..<Int(first.upperBound)])
    }
}
