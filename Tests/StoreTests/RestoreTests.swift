import Foundation
import NixFormats
import TestSupport
import Testing

@testable import Store

func narOf(_ path: String) throws -> [UInt8] {
    var sink = MemorySink()
    try NarDumper(bufferSize: 4096).dump(path: path, to: &sink)
    return sink.bytes
}

func restore(_ nar: [UInt8], to destination: String, step: Int = 1 << 20, expected: (NixHash, UInt64)? = nil) throws {
    let importer = try NarImport(destination: destination)
    var offset = 0
    while offset < nar.count {
        let end = min(nar.count, offset + step)
        try importer.feed(nar[offset..<end])
        offset = end
    }
    try importer.commit(expected: expected.map { (hash: $0.0, size: $0.1) })
}

func entries(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
}

@Suite struct RestoreTests {
    @Test(arguments: TreeBuilder.referenceTrees.map(\.0))
    func dumpRestoreDumpIsIdentical(tree: String) throws {
        let tmp = TemporaryDirectory()
        let node = try #require(TreeBuilder.referenceTrees.first { $0.0 == tree }?.1)
        try FileManager.default.createDirectory(atPath: tmp.sub("src"), withIntermediateDirectories: false)
        try TreeBuilder.build(node, at: tmp.sub("src"))
        let nar = try narOf(tmp.sub("src/root"))
        try restore(nar, to: tmp.sub("out"), step: 777)
        #expect(try narOf(tmp.sub("out")) == nar)
        #expect(entries(tmp.path) == ["out", "src"])
    }

    @Test func canonicalMetadata() throws {
        let tmp = TemporaryDirectory()
        try TreeBuilder.build(
            .directory(
                "src",
                [.file("f", [1]), .file("x", [2], executable: true), .symlink("l", target: "f"), .directory("d", [])]),
            at: tmp.path)
        try restore(try narOf(tmp.sub("src")), to: tmp.sub("out"))
        func mode(_ p: String) -> (mode_t, Int) {
            var st = stat()
            lstat(tmp.sub("out") + p, &st)
            return (st.st_mode & 0o7777, st.st_mtim.tv_sec)
        }
        #expect(mode("").0 == 0o555 && mode("").1 == 1)
        #expect(mode("/f").0 == 0o444 && mode("/f").1 == 1)
        #expect(mode("/x").0 == 0o555 && mode("/x").1 == 1)
        #expect(mode("/d").0 == 0o555 && mode("/d").1 == 1)
        #expect(mode("/l").1 == 1)
    }

    /// Files are created with their final mode only when the umask (from /proc/self/status)
    /// leaves 0555 whole; anything unreadable means the modes are set afterwards.
    @Test func umaskDecidesWhetherCreatedModesAreExact() {
        #expect(NarRestorer.umaskKeepsStoreModes(statusText: "Name:\tx\nUmask:\t0022\nState:\tR\n"))
        #expect(NarRestorer.umaskKeepsStoreModes(statusText: "Umask:\t0002\n"))
        #expect(!NarRestorer.umaskKeepsStoreModes(statusText: "Umask:\t0077\n"))
        #expect(!NarRestorer.umaskKeepsStoreModes(statusText: "Umask:\t0004\n"))
        #expect(!NarRestorer.umaskKeepsStoreModes(statusText: "Umask:\tzz\n"))
        #expect(!NarRestorer.umaskKeepsStoreModes(statusText: "Name:\tx\n"))
    }

    /// Directories are made read-only at once only with CAP_DAC_OVERRIDE (bit 1 of CapEff).
    @Test func capabilitiesDecideWhetherDirectoriesAreCreatedReadOnly() {
        #expect(NarRestorer.overridesFilePermissions(statusText: "CapInh:\t0\nCapEff:\t000001ffffffffff\n"))
        #expect(NarRestorer.overridesFilePermissions(statusText: "CapEff:\t0000000000000002\n"))
        #expect(!NarRestorer.overridesFilePermissions(statusText: "CapEff:\t0000000000000000\n"))
        #expect(!NarRestorer.overridesFilePermissions(statusText: "CapEff:\t00000000000000fd\n"))
        #expect(!NarRestorer.overridesFilePermissions(statusText: "Umask:\t0022\n"))
    }

    @Test func everyTruncationLeavesNothing() throws {
        let tmp = TemporaryDirectory()
        try TreeBuilder.build(
            .directory(
                "src", [.file("a", Array("hello world".utf8)), .directory("d", [.symlink("s", target: "../a")])]),
            at: tmp.path)
        let nar = try narOf(tmp.sub("src"))
        for cut in 0..<nar.count {
            #expect(throws: StoreError.nar(.truncated), "cut at \(cut)") {
                try restore(Array(nar[0..<cut]), to: tmp.sub("out"), step: 5)
            }
            #expect(entries(tmp.path) == ["src"], "cut at \(cut)")
        }
    }

    @Test func malformedArchiveLeavesNothing() throws {
        let tmp = TemporaryDirectory()
        try TreeBuilder.build(.directory("src", [.file("a", [1]), .file("b", [2])]), at: tmp.path)
        var nar = try narOf(tmp.sub("src"))
        // Rename entry "b" to "a": a duplicate, after "a" was already written to disk.
        let bIndex = try #require(nar.indices.last { nar[$0] == UInt8(ascii: "b") })
        nar[bIndex] = UInt8(ascii: "a")
        #expect(throws: StoreError.nar(.duplicateEntry(Array("a".utf8)))) { try restore(nar, to: tmp.sub("out")) }
        #expect(entries(tmp.path) == ["src"])
    }

    @Test func wrongExpectedHashOrSizeLeavesNothing() throws {
        let tmp = TemporaryDirectory()
        try TreeBuilder.build(.file("src", Array("content".utf8)), at: tmp.path)
        let nar = try narOf(tmp.sub("src"))
        let other = NixHash(sha256: .init(bytes: [UInt8](repeating: 9, count: 32))!)
        #expect(throws: StoreError.self) { try restore(nar, to: tmp.sub("out"), expected: (other, UInt64(nar.count))) }
        #expect(entries(tmp.path) == ["src"])
        let importer = try NarImport(destination: tmp.sub("probe"))
        try importer.feed(nar[...])
        let (committed, size) = try importer.commit()
        let hash = try #require(committed)
        try FileManager.default.removeItem(atPath: tmp.sub("probe"))
        #expect(throws: StoreError.sizeMismatch(path: tmp.sub("out"), expected: size + 1, got: size)) {
            try restore(nar, to: tmp.sub("out"), expected: (hash, size + 1))
        }
        #expect(entries(tmp.path) == ["src"])
        try restore(nar, to: tmp.sub("out"), expected: (hash, size))
        #expect(entries(tmp.path) == ["out", "src"])
    }

    @Test func sizeIsCheckedEvenWithoutHashing() throws {
        let tmp = TemporaryDirectory()
        try TreeBuilder.build(.file("src", Array("content".utf8)), at: tmp.path)
        let nar = try narOf(tmp.sub("src"))
        let unrelated = NixHash(sha256: .init(bytes: [UInt8](repeating: 9, count: 32))!)
        let importer = try NarImport(destination: tmp.sub("out"), checksNarHash: false)
        try importer.feed(nar[...])
        #expect(throws: StoreError.sizeMismatch(path: tmp.sub("out"), expected: 1, got: UInt64(nar.count))) {
            try importer.commit(expected: (unrelated, 1))
        }
        #expect(entries(tmp.path) == ["src"])
        let again = try NarImport(destination: tmp.sub("out"), checksNarHash: false)
        try again.feed(nar[...])
        let (hash, size) = try again.commit(expected: (unrelated, UInt64(nar.count)))
        #expect(hash == nil && size == UInt64(nar.count))
    }

    @Test func existingDestinationIsRefused() throws {
        let tmp = TemporaryDirectory()
        try TreeBuilder.build(.file("src", [1]), at: tmp.path)
        try TreeBuilder.build(.file("out", [2]), at: tmp.path)
        #expect(throws: StoreError.destinationExists(path: tmp.sub("out"))) {
            try restore(try narOf(tmp.sub("src")), to: tmp.sub("out"))
        }
    }

    @Test func staleStagingSymlinkIsRemovedNotFollowed() throws {
        let tmp = TemporaryDirectory()
        try TreeBuilder.build(.directory("outside", [.file("keep", [1])]), at: tmp.path)
        try TreeBuilder.build(.directory("src", [.file("keep", [2]), .file("new", [3])]), at: tmp.path)
        // A crash (or an attacker) left the staging name as a symlink to another folder.
        try TreeBuilder.build(.symlink(".out.rookery-partial", target: tmp.sub("outside")), at: tmp.path)
        try restore(try narOf(tmp.sub("src")), to: tmp.sub("out"))
        #expect(entries(tmp.sub("outside")) == ["keep"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: tmp.sub("outside/keep"))) == Data([1]))
        #expect(entries(tmp.sub("out")) == ["keep", "new"])
    }

    @Test func storeRootLayout() throws {
        let tmp = TemporaryDirectory()
        let store = StoreRoot(root: tmp.sub("root") + "/")
        #expect(store.storeDirectory == tmp.sub("root") + "/nix/store")
        #expect(StoreRoot(root: "/").storeDirectory == "/nix/store")
        let path = try StorePath("/nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-app")
        #expect(store.realPath(path) == tmp.sub("root/nix/store/l9r346p3d25vs4g5v37f3r3f28js97kb-app"))
        #expect(!store.looksWhole(path))
        try TreeBuilder.build(.file("src", Array("x".utf8)), at: tmp.path)
        let importer = try store.importPath(path)
        try importer.feed(try narOf(tmp.sub("src"))[...])
        try importer.commit()
        #expect(store.looksWhole(path))
        var sink = MemorySink()
        try store.dump(path, to: &sink)
        #expect(sink.bytes == (try narOf(tmp.sub("src"))))
        // A tree at its final name with the time it was made: what Nix leaves of a substitution
        // cut short (it sets mtime 1 only once the tree is whole).
        let cut = try StorePath("/nix/store/a9r346p3d25vs4g5v37f3r3f28js97kb-cut")
        try FileManager.default.createDirectory(atPath: store.realPath(cut), withIntermediateDirectories: false)
        #expect(!store.looksWhole(cut))
    }

    @Test func unsupportedFileTypeIsRefused() throws {
        let tmp = TemporaryDirectory()
        #expect(mkfifo(tmp.sub("fifo"), 0o644) == 0)
        #expect(throws: StoreError.unsupportedFileType(path: tmp.sub("fifo"))) { try narOf(tmp.sub("fifo")) }
    }
}
