// A closure restored by us into an empty root, registered with our registration file, passes
// `nix-store --load-db` and `--verify --check-contents`, and Nix sees the same metadata.
import Foundation
import NixFormats
import Store
import TestSupport
import Testing

@Suite(.serialized) struct RegistrationInteropTests {
    @Test func restoredClosureLoadsAndVerifies() throws {
        let s = try NixScratch()
        let closure = try NixClosure.build(store: s.store, home: s.home, scratch: s.tmp.sub("build"), blobKiB: 300)
        let infos = try NixPathInfo.query(closure.paths, store: s.store, home: s.home)
        #expect(infos.count == closure.paths.count)

        let source = StoreRoot(root: s.store)
        let target = StoreRoot(root: s.tmp.sub("target"))
        var records: [PathInfo] = []
        for info in infos {
            let path = try StorePath(info.path)
            let expectedHash = try NixHash.parsePrefixed(info.narHash)
            var nar = MemorySink()
            try source.dump(path, to: &nar)
            let importer = try target.importPath(path)
            var offset = 0
            while offset < nar.bytes.count {  // in pieces, as the network will hand them over
                let end = min(offset + 10_000, nar.bytes.count)
                try importer.feed(nar.bytes[offset..<end])
                offset = end
            }
            try importer.commit(expected: (expectedHash, info.narSize))
            records.append(
                PathInfo(
                    storePath: path, narHash: expectedHash, narSize: info.narSize,
                    references: try info.references.map { try StorePath($0) }))
        }
        let registration = Registration.render(records.reversed())  // any order within the batch loads
        try NixTool.nix(
            "nix-store", ["--store", target.root, "--load-db"], home: s.home, stdin: Array(registration.utf8))
        // `nix` throws unless the exit status is 0; Nix exits 1 when any path was modified.
        let verify = try NixTool.nix(
            "nix-store", ["--store", target.root, "--verify", "--check-contents"], home: s.home)
        #expect(!verify.stderr.contains("modified"), "\(verify.stderr)")

        let loaded = try NixPathInfo.query(closure.paths, store: target.root, home: s.home)
        for (a, b) in zip(infos.sorted { $0.path < $1.path }, loaded.sorted { $0.path < $1.path }) {
            #expect(a.path == b.path && a.narHash == b.narHash && a.narSize == b.narSize)
            #expect(a.references.sorted() == b.references.sorted())
        }
        let requisites = try NixTool.nix("nix-store", ["--store", target.root, "-qR", closure.toplevel], home: s.home)
        #expect(Set(requisites.stdoutText.split(separator: "\n").map(String.init)) == Set(closure.paths))
    }

    @Test func tamperedContentIsCaughtByNixVerify() throws {
        // The check above must be able to fail: a restored path whose bytes differ from its
        // registered hash is reported by `--verify --check-contents`.
        let s = try NixScratch()
        let closure = try NixClosure.build(store: s.store, home: s.home, scratch: s.tmp.sub("build"))
        let infos = try NixPathInfo.query(closure.paths, store: s.store, home: s.home)
        let target = StoreRoot(root: s.tmp.sub("target"))
        var records: [PathInfo] = []
        for info in infos {
            let path = try StorePath(info.path)
            var nar = MemorySink()
            try StoreRoot(root: s.store).dump(path, to: &nar)
            let importer = try target.importPath(path)
            try importer.feed(nar.bytes[...])
            try importer.commit()
            records.append(
                PathInfo(
                    storePath: path, narHash: try NixHash.parsePrefixed(info.narHash), narSize: info.narSize,
                    references: try info.references.map { try StorePath($0) }))
        }
        let victim = target.realPath(try StorePath(closure.toplevel)) + "/libs"
        chmod(target.realPath(try StorePath(closure.toplevel)), 0o755)
        chmod(victim, 0o644)
        try "changed\n".write(toFile: victim, atomically: false, encoding: .utf8)
        try NixTool.nix(
            "nix-store", ["--store", target.root, "--load-db"], home: s.home,
            stdin: Array(Registration.render(records).utf8))
        let verify = try NixTool.nixAllowingFailure(
            "nix-store", ["--store", target.root, "--verify", "--check-contents"], home: s.home)
        #expect(verify.status == 1)
        #expect(verify.stderr.contains("'\(closure.toplevel)' was modified"), "\(verify.stderr)")
    }
}
