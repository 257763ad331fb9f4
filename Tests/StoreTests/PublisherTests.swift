import NixFormats
import Publishing
import Sodium
import Store
import Swarm
import TestSupport
import Testing

@Suite struct PublisherTests {
    /// Three paths under a chroot store: one larger than a gather buffer (hashed with a side
    /// thread), a small tree, a symlink; the large one references the small one.
    struct Fixture {
        let tmp = TemporaryDirectory("rookery-publisher")
        let store: StoreRoot
        let closure: [PathInfo]

        init() throws {
            store = StoreRoot(root: tmp.path)
            try store.createStoreDirectory()
            let large = "0000000000000000000000000000000a-large"
            let small = "0000000000000000000000000000000b-small"
            let link = "0000000000000000000000000000000c-link"
            let nodes: [TreeBuilder.Node] = [
                .file(large, TreeBuilder.bytes(3 * 1024 * 1024 + 5, seed: 9)),
                .directory(small, [.file("x", Array("x".utf8)), .file("y", TreeBuilder.bytes(70_000, seed: 3))]),
                .symlink(link, target: "/nix/store/none"),
            ]
            var infos: [PathInfo] = []
            for (name, node) in zip([large, small, link], nodes) {
                try TreeBuilder.build(node, at: store.storeDirectory)
                let path = try StorePath("/nix/store/" + name)
                var sink = NarHashingSink()
                try store.dump(path, to: &sink)
                infos.append(
                    PathInfo(
                        storePath: path, narHash: NixHash(sha256: sink.hasher.finalize()), narSize: sink.count,
                        references: []))
            }
            infos[0].references = [infos[1].storePath]
            closure = infos
        }

        func manifest(
            _ closure: [PathInfo], workers: Int, earlier: EarlierPublishes = EarlierPublishes(),
            chunkSize: UInt32 = 64 * 1024
        ) throws -> Manifest {
            try Publisher.manifest(
                of: closure, toplevels: [closure[0].storePath], store: store,
                layout: try ChunkLayout(chunkSize: chunkSize),
                createdAt: 1, label: "test", earlier: earlier, workers: workers)
        }

        /// Whether publishing `closure` stops at `path` because its NAR is not Nix's record.
        func refusesNar(of path: StorePath, _ publish: () throws -> Manifest) -> Bool {
            do {
                _ = try publish()
                return false
            } catch {
                guard case .narMismatch(let p, _, _) = error as? Publisher.Failure else { return false }
                return p == path
            }
        }
    }

    /// However many threads hash the paths, the manifest is the same: paths sorted, each with its
    /// NAR's hash and size, chunk ids and references.
    @Test func manifestIsTheSameOnAnyNumberOfThreads() throws {
        let f = try Fixture()
        let one = try f.manifest(f.closure, workers: 1)
        #expect(one.paths.map(\.storePath) == f.closure.map(\.storePath))
        #expect(one.paths.map(\.narSize) == f.closure.map(\.narSize))
        #expect(one.paths[0].references == [1] && one.paths[0].chunks.count == 49)
        for workers in [2, 3, 8] { #expect(try f.manifest(f.closure, workers: workers) == one) }
    }

    /// A path whose NAR is not what Nix recorded stops the publish, whichever thread hashed it.
    @Test(arguments: [1, 3])
    func narThatDiffersFromNixsRecordIsRefused(workers: Int) throws {
        let f = try Fixture()
        var closure = f.closure
        closure[1].narHash = closure[0].narHash
        #expect(f.refusesNar(of: closure[1].storePath) { try f.manifest(closure, workers: workers) })
    }

    /// A path an earlier publish read and checked is not read again while Nix records the same
    /// NAR hash and size and the chunk size is the same: the bytes on disk changed behind Nix's
    /// back here, and only the publishes that read the path notice.
    @Test func pathsAnEarlierPublishCheckedAreNotReadAgain() throws {
        let f = try Fixture()
        let first = try f.manifest(f.closure, workers: 2)
        let layout = try ChunkLayout(chunkSize: 64 * 1024)
        let earlier = EarlierPublishes([first], layout: layout)
        #expect(f.closure.allSatisfy { earlier.verified($0) != nil })
        let small = f.closure[1].storePath
        let file = f.store.realPath(small) + "/x"
        try FileIO.writeAtomically(file, Array("z".utf8))
        #expect(try f.manifest(f.closure, workers: 2, earlier: earlier) == first)
        #expect(f.refusesNar(of: small) { try f.manifest(f.closure, workers: 2) })
        // Another chunk size: other chunks, so every path is read.
        let other = EarlierPublishes([first], layout: try ChunkLayout(chunkSize: 128 * 1024))
        #expect(other.verified(f.closure[1]) == nil)
        #expect(
            f.refusesNar(of: small) { try f.manifest(f.closure, workers: 2, earlier: other, chunkSize: 128 * 1024) })
        // Nix records another NAR for the path (rebuilt after a garbage collection): read again.
        var rebuilt = f.closure
        rebuilt[1].narHash = rebuilt[2].narHash
        #expect(earlier.verified(rebuilt[1]) == nil && earlier.verified(rebuilt[0]) != nil)
        #expect(f.refusesNar(of: small) { try f.manifest(rebuilt, workers: 2, earlier: earlier) })
        var resized = f.closure
        resized[1].narSize += 1
        #expect(f.refusesNar(of: small) { try f.manifest(resized, workers: 2, earlier: earlier) })
    }

    /// A publish is newer than every manifest before it, also within the same second (the seed
    /// module publishes its systems one after another: the last is the default), and replaces
    /// the earlier manifests of the very same closure, whatever their time.
    @Test func aRepublishIsNewestAndReplacesOnlyTheSameClosure() throws {
        let f = try Fixture()
        let first = try f.manifest(f.closure, workers: 1)
        #expect(Republishing.createdAt(now: 100, after: []) == 100)
        #expect(Republishing.createdAt(now: 100, after: [first]) == 100)
        var sameSecond = first
        sameSecond.createdAt = 100
        #expect(Republishing.createdAt(now: 100, after: [first, sameSecond]) == 101)
        var again = first
        again.createdAt = 101
        var relabelled = first
        relabelled.label = "other"
        let otherChunks = try f.manifest(f.closure, workers: 1, chunkSize: 128 * 1024)
        let ids = (0..<4).map { Digest256(bytes: [UInt8](repeating: UInt8($0), count: 32))! }
        let earlier = [(ids[0], first), (ids[1], relabelled), (ids[2], otherChunks), (ids[3], sameSecond)]
        #expect(
            Republishing.replaced(by: again, among: earlier.map { (id: $0.0, manifest: $0.1) }) == [ids[0], ids[3]])
    }

    /// `--keep N` removes what lies beyond the newest N generations, by time, ties by id.
    @Test func aLimitRemovesTheOldestGenerations() throws {
        let f = try Fixture()
        let base = try f.manifest(f.closure, workers: 1)
        let ids = (0..<4).map { Digest256(bytes: [UInt8](repeating: UInt8($0), count: 32))! }
        let at: [UInt64] = [300, 100, 200, 200]
        let mine = zip(ids, at).map { id, t in
            var m = base
            m.createdAt = t
            return (id: id, manifest: m)
        }
        #expect(Republishing.beyond(newest: 1, among: mine) == [ids[3], ids[2], ids[1]])
        #expect(Republishing.beyond(newest: 2, among: mine) == [ids[2], ids[1]])
        #expect(Republishing.beyond(newest: 2, among: mine.reversed()) == [ids[2], ids[1]])
        #expect(Republishing.beyond(newest: 4, among: mine).isEmpty)
        #expect(Republishing.beyond(newest: 9, among: []).isEmpty)
    }

    /// A closure that is not closed, or that lacks its toplevel, is refused before anything is
    /// read, with a line that names the paths.
    @Test func anIncompleteClosureIsRefused() throws {
        let f = try Fixture()
        let withoutSmall = [f.closure[0], f.closure[2]]
        #expect(throws: Publisher.Failure.referenceOutsideClosure(f.closure[0].storePath, f.closure[1].storePath)) {
            _ = try f.manifest(withoutSmall, workers: 1)
        }
        #expect(throws: Publisher.Failure.toplevelMissing(f.closure[0].storePath)) {
            _ = try Publisher.manifest(
                of: Array(f.closure.dropFirst()), toplevels: [f.closure[0].storePath], store: f.store,
                layout: try ChunkLayout(chunkSize: 64 * 1024), createdAt: 1, label: "test")
        }
        let line = Publisher.Failure.referenceOutsideClosure(f.closure[0].storePath, f.closure[1].storePath).description
        #expect(line.contains(f.closure[0].storePath.baseName) && line.contains("not in the closure"))
        var wrong = f.closure
        wrong[1].narHash = wrong[0].narHash
        do {
            _ = try f.manifest(wrong, workers: 1)
            Issue.record("a wrong NAR hash was published")
        } catch {
            #expect("\(error)".contains("does not match Nix's record") && "\(error)".contains("nix-store --verify"))
        }
    }
}
