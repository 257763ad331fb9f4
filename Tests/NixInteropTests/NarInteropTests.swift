// Our NAR bytes and hashes against real Nix 2.8, on generated trees and a real closure.
import Foundation
import NixFormats
import Store
import TestSupport
import Testing

func ourNar(_ path: String) throws -> [UInt8] {
    var sink = MemorySink()
    try NarDumper().dump(path: path, to: &sink)
    return sink.bytes
}

/// A scratch folder with a private HOME and an empty chroot store.
struct NixScratch {
    let tmp = TemporaryDirectory("rookery-nix")
    var home: String { tmp.sub("home") }
    var store: String { tmp.sub("store") }

    init() throws {
        try FileManager.default.createDirectory(atPath: tmp.sub("home"), withIntermediateDirectories: true)
    }

    func build(_ node: TreeBuilder.Node, in folder: String = "src") throws -> String {
        let dir = tmp.sub(folder)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try TreeBuilder.build(node, at: dir)
        return dir + "/root"
    }
}

@Suite(.serialized) struct NarInteropTests {
    @Test(arguments: TreeBuilder.referenceTrees.map(\.0))
    func narBytesEqualNixStoreDump(tree: String) throws {
        let s = try NixScratch()
        let root = try s.build(try #require(TreeBuilder.referenceTrees.first { $0.0 == tree }?.1))
        let nix = try NixTool.nix("nix-store", ["--store", s.store, "--dump", root], home: s.home)
        #expect(try ourNar(root) == nix.stdout)
        let viaCLI = try NixTool.run(try NixTool.rookeryExecutable, ["nar", "dump", root])
        #expect(viaCLI.status == 0)
        #expect(viaCLI.stdout == nix.stdout)
    }

    @Test(arguments: ["mixed-dir", "executable", "deep-nesting", "empty-dir"])
    func narHashEqualsNixAfterAdd(tree: String) throws {
        let s = try NixScratch()
        let root = try s.build(try #require(TreeBuilder.referenceTrees.first { $0.0 == tree }?.1))
        let added = try NixTool.nix("nix-store", ["--store", s.store, "--add", root], home: s.home)
        let storePath = try StorePath(added.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
        let nixHash = try NixTool.nix(
            "nix-store", ["--store", s.store, "-q", "--hash", storePath.fullPath], home: s.home)
        var ours = NarHashingSink()
        try StoreRoot(root: s.store).dump(storePath, to: &ours)
        let ourHash = NixHash(sha256: ours.hasher.finalize())
        #expect(ourHash.description == nixHash.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
        let nixSize = try NixTool.nix(
            "nix-store", ["--store", s.store, "-q", "--size", storePath.fullPath], home: s.home)
        #expect("\(ours.count)" == nixSize.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))

        let nixHashCLI = try NixTool.nix("nix-hash", ["--type", "sha256", "--base32", root], home: s.home)
        let rookeryHash = try NixTool.run(try NixTool.rookeryExecutable, ["nar", "hash", root])
        #expect(rookeryHash.status == 0)
        #expect(rookeryHash.stdoutText == nixHashCLI.stdoutText)
        #expect(rookeryHash.stdoutText == ourHash.nix32 + "\n")
    }

    @Test func restoreThenNixDumpRoundTrips() throws {
        let s = try NixScratch()
        let root = try s.build(try #require(TreeBuilder.referenceTrees.first { $0.0 == "mixed-dir" }?.1))
        let nar = try NixTool.nix("nix-store", ["--store", s.store, "--dump", root], home: s.home).stdout
        let dest = s.tmp.sub("restored")
        let restored = try NixTool.run(try NixTool.rookeryExecutable, ["nar", "restore", dest], stdin: nar)
        #expect(restored.status == 0, "\(restored.stderr)")
        let again = try NixTool.nix("nix-store", ["--store", s.store, "--dump", dest], home: s.home)
        #expect(again.stdout == nar)
        // Canonical metadata on every node, as Nix leaves store paths.
        let walker = try #require(FileManager.default.enumerator(atPath: dest))
        var checked = 0
        for case let rel as String in walker {
            var st = stat()
            #expect(lstat(dest + "/" + rel, &st) == 0)
            #expect(st.st_mtim.tv_sec == 1, "\(rel)")
            let kind = st.st_mode & S_IFMT
            if kind == S_IFDIR { #expect(st.st_mode & 0o7777 == 0o555, "\(rel)") }
            if kind == S_IFREG {
                let exec = st.st_mode & S_IXUSR != 0
                #expect(st.st_mode & 0o7777 == (exec ? 0o555 : 0o444), "\(rel)")
            }
            checked += 1
        }
        #expect(checked > 10)
    }

    @Test func malformedNarThroughCLILeavesNothing() throws {
        let s = try NixScratch()
        let root = try s.build(.directory("root", [.file("a", Array("x".utf8)), .file("b", Array("y".utf8))]))
        let nar = try NixTool.nix("nix-store", ["--store", s.store, "--dump", root], home: s.home).stdout
        let dest = s.tmp.sub("restored")
        for cut in [1, 40, nar.count / 2, nar.count - 1] {
            let result = try NixTool.run(
                try NixTool.rookeryExecutable, ["nar", "restore", dest], stdin: Array(nar[0..<cut]))
            #expect(result.status != 0)
            #expect(result.stderr.contains("truncated"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dest))
            #expect(try FileManager.default.contentsOfDirectory(atPath: s.tmp.path).sorted() == ["home", "src"])
        }
    }
}
