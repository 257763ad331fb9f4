// A seed started with a store that does not hold what its manifests list (a wrong --store, paths
// collected since), or without a state folder: it serves, but its log says at once why its
// clients cannot finish, or why nothing published is seen.
import Foundation
import TestSupport
import Testing

@Suite struct SeedStoreTests {
    @Test func aSeedWhoseStoreLacksThePathsSaysSo() throws {
        let f = try SeedFixture()
        let paths = f.closure.paths.count
        let elsewhere = f.scratch.tmp.sub("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        func seed(state: String) throws -> RunningProcess {
            try RunningProcess(
                try NixTool.rookeryExecutable,
                ["seed", "--state", state, "--store", elsewhere, "--listen", "127.0.0.1:0", "--http", "off"])
        }
        // At the start: one line for the manifest, before the seed listens.
        let wrong = try seed(state: f.state)
        let listening = try wrong.waitForLine(containing: "listening on ")
        let missing = "has \(paths) of \(paths) paths missing from \(elsewhere)/nix/store (first: /nix/store/"
        #expect(wrong.text.components(separatedBy: missing).count == 2, "\(wrong.text)")
        #expect(wrong.text.contains("the wrong --store?"))
        let address = String(listening.split(separator: " ").last!)
        let fetch = try NixTool.run(
            try f.agent,
            ["--seed", address, "--trusted-key", f.publicKey, "--root", f.scratch.tmp.sub("root"), f.closure.toplevel],
            timeoutSeconds: 60)
        #expect(fetch.status != 0 && fetch.stderr.contains("the seed does not have chunk"), "\(fetch.stderr)")
        wrong.stop()

        // At a reload: the manifest published since gets its line; the good seed's store gives none.
        // (An empty state folder gets its manifests folder, watched: the copy is seen unasked.)
        let later = f.scratch.tmp.sub("later")
        try FileManager.default.createDirectory(atPath: later, withIntermediateDirectories: true)
        let reloaded = try seed(state: later)
        _ = try reloaded.waitForLine(containing: "0 manifests, listening on ")
        for name in try FileManager.default.contentsOfDirectory(atPath: f.state + "/manifests") {
            try FileManager.default.copyItem(
                atPath: f.state + "/manifests/" + name, toPath: later + "/manifests/" + name)
        }
        _ = try reloaded.waitForLine(containing: "reloaded; 1 new manifests, 1 served")
        #expect(reloaded.text.contains(missing), "\(reloaded.text)")
        #expect(!(f.seed?.text.contains("missing") ?? true), "\(f.seed?.text ?? "")")
        reloaded.stop()

        // No state folder at all (a typo?): said, and nothing made there.
        let absent = f.scratch.tmp.sub("absent")
        let none = try seed(state: absent)
        _ = try none.waitForLine(containing: "0 manifests, listening on ")
        #expect(none.text.hasPrefix("rookery seed: no state folder \(absent); "), "\(none.text)")
        #expect(!FileManager.default.fileExists(atPath: absent))
    }
}
