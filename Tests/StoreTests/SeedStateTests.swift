import Glibc
import NixFormats
import Sodium
import Store
import Swarm
import TestSupport
import Testing

@Suite struct SeedStateTests {
    func signed(_ label: String, key: NixSecretKey, name: String? = nil) throws -> SignedManifest {
        let path = try StorePath("/nix/store/0000000000000000000000000000000a-\(name ?? label)")
        let manifest = Manifest(
            layout: try ChunkLayout(chunkSize: 64 * 1024), createdAt: 1, label: label, toplevels: [path],
            paths: [
                ManifestPath(
                    storePath: path, narHash: Blake2b256.hash([UInt8](label.utf8)), narSize: 1, references: [],
                    chunks: [ChunkID(Blake2b256.hash([1]))])
            ])
        return SignedManifest.sign(manifest, with: [key])
    }

    /// What a seed or an agent would refuse is not stored: a label over the decoder's 1024 bytes
    /// was signed, stored, and then skipped by every reader.
    @Test func aManifestNoReaderTakesIsNotStored() throws {
        let tmp = TemporaryDirectory("rookery-seed-state")
        let state = SeedState(directory: tmp.sub("state"))
        let key = try NixSecretKey.generate(name: "test-1")
        let long = try signed(String(repeating: "x", count: 1025), key: key, name: "long")
        #expect(throws: StoreError.unreadableManifest(reason: "string of 1025 bytes exceeds the limit of 1024")) {
            try state.store(long)
        }
        #expect(try state.load().isEmpty)
        try state.store(try signed(String(repeating: "x", count: 1024), key: key, name: "longest"))
        #expect(try state.load().count == 1)
    }

    /// A file that is not a manifest is skipped and reported, and stays; the others load.
    /// Removing a manifest that is already gone is no error.
    @Test func aBadFileIsSkippedAndTheOthersLoad() throws {
        let tmp = TemporaryDirectory("rookery-seed-state")
        let state = SeedState(directory: tmp.sub("state"))
        #expect(try state.load().isEmpty)
        let key = try NixSecretKey.generate(name: "test-1")
        let a = try signed("a", key: key)
        let b = try signed("b", key: key)
        try state.store(a)
        try state.store(b)
        let junk = state.manifestsDirectory + "/junk.manifest"
        try FileIO.writeAtomically(junk, Array("not a manifest".utf8))
        var skipped: [StoreError] = []
        let loaded = try state.load { skipped.append($0) }
        #expect(Set(loaded.map(\.id)) == [a.id, b.id])
        guard case .corruptFile(let path, _) = skipped.first, skipped.count == 1 else {
            Issue.record("skipped: \(skipped)")
            return
        }
        #expect(path == junk)
        try state.remove(a.id)
        try state.remove(a.id)
        #expect(try state.load().map(\.id) == [b.id])
    }

    /// Removing a manifest removes its GC roots (one per toplevel) and no other manifest's.
    @Test func removingAManifestRemovesItsGCRootsOnly() throws {
        let tmp = TemporaryDirectory("rookery-seed-state")
        let state = SeedState(directory: tmp.sub("state"))
        let key = try NixSecretKey.generate(name: "test-1")
        let (gone, kept) = (try signed("gone", key: key), try signed("kept", key: key))
        try state.store(gone)
        try state.store(kept)
        try FileIO.createDirectories(state.gcRootsDirectory)
        let roots = [state.gcRoot(of: gone.id, toplevel: 0), state.gcRoot(of: gone.id, toplevel: 1)]
        for (n, root) in (roots + [state.gcRoot(of: kept.id, toplevel: 0)]).enumerated() {
            #expect(symlink("/nix/store/0000000000000000000000000000000a-root\(n)", root) == 0)
        }
        try state.remove(gone.id)
        #expect(try FileIO.names(in: state.gcRootsDirectory) == ["\(kept.id.hex)-0"])
        #expect(try state.load().map(\.id) == [kept.id])
    }
}
