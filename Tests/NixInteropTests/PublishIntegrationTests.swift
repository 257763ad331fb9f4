// `rookery publish` against a real Nix store, into a state that already holds manifests: publishing
// again reads only the paths no earlier publish signed by the same key checked, replaces the
// earlier manifests of the same closure, and is the newest generation (docs/publish.md).
import Foundation
import Glibc
import Swarm
import TestSupport
import Testing

@Suite struct PublishIntegrationTests {
    func publish(_ f: SeedFixture, key: String, _ extra: [String] = [], toplevel: String? = nil) throws -> String {
        let result = try NixTool.run(
            try NixTool.rookeryExecutable,
            ["publish", "--state", f.state, "--store", f.scratch.store, "--key", key, "--chunk-size", "65536"] + extra
                + [toplevel ?? f.closure.toplevel],
            environment: NixTool.environment(home: f.scratch.home))
        guard result.status == 0 else { throw TestFailure("publish: \(result.stderr)") }
        return result.stdoutText
    }

    /// The signed manifests in the state, newest first, each with its body decoded.
    func signedInState(_ f: SeedFixture) throws -> [(signed: SignedManifest, manifest: Manifest)] {
        let folder = f.state + "/manifests"
        return try FileManager.default.contentsOfDirectory(atPath: folder).map { name in
            let signed = try SignedManifest.decode(
                Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))[...])
            return (signed, try Manifest.decode(signed.body[...]))
        }.sorted { $0.manifest.createdAt > $1.manifest.createdAt }
    }

    /// The manifests in the state, newest first.
    func stored(_ f: SeedFixture) throws -> [Manifest] { try signedInState(f).map(\.manifest) }

    /// "KEY-NAME TOPLEVEL" of each manifest in the state, newest first.
    func generations(_ f: SeedFixture) throws -> [String] {
        try signedInState(f).map { s, m in
            "\(s.signatures.map(\.keyName).joined(separator: ",")) \(m.toplevels[0].fullPath)"
        }
    }

    @Test func publishingAgainReadsAndKeepsOnlyWhatIsNew() throws {
        let f = try SeedFixture()
        let all = f.closure.paths.count
        let sk = f.scratch.tmp.sub("sk")
        var out = try publish(f, key: sk)
        #expect(out.contains("read and hashed 0 paths, 0 NAR bytes") && out.contains("replaces 1 earlier"), "\(out)")
        out = try publish(f, key: sk, ["--rehash"])
        #expect(out.contains("read and hashed \(all) paths") && out.contains("replaces 1 earlier"), "\(out)")
        #expect(try stored(f).count == 1)
        out = try publish(f, key: sk, ["--chunk-size", "131072"])
        #expect(out.contains("read and hashed \(all) paths") && out.contains("replaces 0 earlier"), "\(out)")
        // Another key trusts none of the manifests the first one signed.
        let other = try NixTool.run(
            try NixTool.rookeryExecutable,
            ["keygen", "other-1", "--secret", f.scratch.tmp.sub("sk2"), "--public", f.scratch.tmp.sub("pk2")])
        try #require(other.status == 0, "\(other.stderr)")
        out = try publish(f, key: f.scratch.tmp.sub("sk2"))
        #expect(out.contains("read and hashed \(all) paths") && out.contains("replaces 0 earlier"), "\(out)")
        #expect(try stored(f).count == 3)
        // Two systems published one after the other, within a second: the second is the newest.
        let dependency = try #require(f.closure.paths.first { $0 != f.closure.toplevel })
        _ = try publish(f, key: sk, toplevel: f.closure.toplevel)
        _ = try publish(f, key: sk, toplevel: dependency)
        let newest = try stored(f)
        #expect(newest.count == 4)
        #expect(newest[0].toplevels.map(\.fullPath) == [dependency] && newest[0].createdAt > newest[1].createdAt)
        #expect(newest[1].toplevels.map(\.fullPath) == [f.closure.toplevel])
        // A file in the state that is no manifest costs a line, not the publish or the seed.
        try Data("junk".utf8).write(to: URL(fileURLWithPath: f.state + "/manifests/junk.manifest"))
        let withJunk = try NixTool.run(
            try NixTool.rookeryExecutable,
            ["publish", "--state", f.state, "--store", f.scratch.store, "--key", sk, f.closure.toplevel],
            environment: NixTool.environment(home: f.scratch.home))
        #expect(withJunk.status == 0 && withJunk.stderr.contains("skipping a manifest file"), "\(withJunk.stderr)")
        try f.restartSeed()
    }

    /// `--keep N` leaves the newest N manifests of the publishing key; another key's stay.
    @Test func keepLeavesTheNewestGenerations() throws {
        let f = try SeedFixture()
        let sk = f.scratch.tmp.sub("sk")
        let other = try NixTool.run(
            try NixTool.rookeryExecutable,
            ["keygen", "other-1", "--secret", f.scratch.tmp.sub("sk2"), "--public", f.scratch.tmp.sub("pk2")])
        try #require(other.status == 0, "\(other.stderr)")
        _ = try publish(f, key: f.scratch.tmp.sub("sk2"))
        let dependencies = f.closure.paths.filter { $0 != f.closure.toplevel }
        try #require(dependencies.count >= 2, "the fixture's closure has \(f.closure.paths.count) paths")
        _ = try publish(f, key: sk, toplevel: dependencies[0])
        #expect(try stored(f).count == 3)
        let out = try publish(f, key: sk, ["--keep", "2"], toplevel: dependencies[1])
        #expect(out.contains("removed 1 older manifests signed by this key (--keep 2)"), "\(out)")
        #expect(
            try generations(f) == [
                "raven-test-1 \(dependencies[1])", "raven-test-1 \(dependencies[0])", "other-1 \(f.closure.toplevel)",
            ])
        let refused = try NixTool.run(
            try NixTool.rookeryExecutable,
            [
                "publish", "--state", f.state, "--store", f.scratch.store, "--key", sk, "--keep", "0",
                f.closure.toplevel,
            ],
            environment: NixTool.environment(home: f.scratch.home))
        #expect(refused.status != 0 && refused.stderr.contains("--keep"), "\(refused.stderr)")
        #expect(try stored(f).count == 3)
    }

    /// Every stored manifest roots its closure in Nix's garbage collector (the seed serves chunks
    /// straight from the store); a manifest removed by --keep no longer does.
    @Test func publishedClosuresSurviveTheGarbageCollector() throws {
        let f = try SeedFixture()
        f.seed?.stop()  // its open files would be Nix's runtime roots
        let sk = f.scratch.tmp.sub("sk")
        func collect() throws {
            try NixTool.nix("nix-store", ["--store", f.scratch.store, "--gc"], home: f.scratch.home)
        }
        func valid(_ path: String) throws -> Bool {
            try NixTool.nixAllowingFailure(
                "nix-store", ["--store", f.scratch.store, "--check-validity", path], home: f.scratch.home
            ).status == 0
        }
        func roots() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: f.state + "/gcroots").sorted()
        }
        let first = try #require(try signedInState(f).first?.signed.id.hex)
        #expect(try roots() == ["\(first)-0"])
        try collect()
        for path in f.closure.paths { #expect(try valid(path), "\(path) was collected") }
        // A dependency's closure alone, keeping one generation: the first manifest and its root go.
        let dependency = try #require(f.closure.paths.first { $0.hasSuffix("-liba") })
        _ = try publish(f, key: sk, ["--keep", "1"], toplevel: dependency)
        let second = try #require(try signedInState(f).first?.signed.id.hex)
        #expect(try roots() == ["\(second)-0"])
        try collect()
        #expect(try !valid(f.closure.toplevel), "collected once no manifest lists it")
        #expect(try valid(dependency))
    }

    /// TOPLEVEL as Nix takes it: a link to a store path (`./result`, a profile's generation link,
    /// relative links among them) names that path; anything else is refused with one line.
    /// raven's disk full: publish stops with the system's line and leaves no part of a manifest
    /// (a partial temporary file stayed, taking room that was short, one more per attempt). The
    /// state is a full tmpfs in a mount namespace of the test's own, gone when publish ends.
    @Test(.enabled(if: geteuid() == 0, "mounts a tmpfs")) func aFullDiskLeavesNoPartOfAManifest() throws {
        let f = try SeedFixture()
        let state = f.scratch.tmp.sub("full-state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
        let script = """
            mount -t tmpfs -o size=4k rookery-test "$0" || exit 99
            head -c 4096 /dev/zero > "$0/filler"
            "$@"; rc=$?
            echo "left: $(ls -A "$0/manifests" "$0/gcroots" | grep -v ':$' | grep -c .)"
            exit $rc
            """
        let result = try NixTool.run(
            "/usr/bin/unshare",
            [
                "--mount", "/bin/sh", "-c", script, state, try NixTool.rookeryExecutable, "publish", "--state", state,
                "--store", f.scratch.store, "--key", f.scratch.tmp.sub("sk"), f.closure.toplevel,
            ], environment: NixTool.environment(home: f.scratch.home))
        #expect(result.status == 1)
        #expect(result.stderr.contains("No space left on device"), "\(result.stderr)")
        #expect(result.stdoutText.contains("left: 0\n"), "\(result.stdoutText)")
    }

    @Test func aToplevelMayBeALinkToIt() throws {
        let f = try SeedFixture()
        let profiles = f.scratch.tmp.sub("profiles")
        try FileManager.default.createDirectory(atPath: profiles, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(
            atPath: profiles + "/system-1-link", withDestinationPath: f.closure.toplevel)
        try FileManager.default.createSymbolicLink(atPath: profiles + "/system", withDestinationPath: "system-1-link")
        let out = try publish(f, key: f.scratch.tmp.sub("sk"), toplevel: profiles + "/system")
        #expect(out.contains("replaces 1 earlier"), "the same closure as the fixture's: \(out)")
        #expect(try stored(f).map { $0.toplevels.map(\.fullPath) } == [[f.closure.toplevel]])
        let refused = try NixTool.run(
            try NixTool.rookeryExecutable,
            ["publish", "--state", f.state, "--store", f.scratch.store, "--key", f.scratch.tmp.sub("sk"), profiles],
            environment: NixTool.environment(home: f.scratch.home))
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("is neither a store path nor a symbolic link to one"), "\(refused.stderr)")
    }

    /// A folder that holds no store is refused before Nix runs: Nix makes an empty store wherever
    /// it is told to (a typo left a tree of folders; the store folder itself got a store inside).
    /// A relative one is read where Nix reads it.
    @Test func aStoreFolderIsTakenAsNixTakesIt() throws {
        let f = try SeedFixture()
        let typo = f.scratch.tmp.sub("typo")
        let inner = f.scratch.store + "/nix/store"
        for (store, refusal) in [
            (typo, "no Nix store at '\(typo)': \(typo)/nix/store is not a folder"),
            (inner + "/", "--store takes the folder that holds nix/store (/ for this machine's own store), not"),
        ] {
            let refused = try NixTool.run(
                try NixTool.rookeryExecutable,
                [
                    "publish", "--state", f.state, "--store", store, "--key", f.scratch.tmp.sub("sk"),
                    f.closure.toplevel,
                ],
                environment: NixTool.environment(home: f.scratch.home))
            #expect(refused.status != 0 && refused.stderr.contains(refusal), "\(refused.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: typo))
        #expect(!FileManager.default.fileExists(atPath: inner + "/nix"))

        // A relative folder is a chroot store to Nix (a "/" and no "://"), and so it is to rookery:
        // it was read from the machine's own /nix/store ("open '/nix/store': No such file …").
        let parent = (f.scratch.store as NSString).deletingLastPathComponent
        let name = (f.scratch.store as NSString).lastPathComponent
        let relative = try NixTool.run(
            "/bin/sh",
            [
                "-c", "cd \"$0\" && exec \"$@\"", parent, try NixTool.rookeryExecutable, "publish", "--state", f.state,
                "--store", "./" + name, "--key", f.scratch.tmp.sub("sk"), "--chunk-size", "65536", "--rehash",
                f.closure.toplevel,
            ], environment: NixTool.environment(home: f.scratch.home))
        #expect(relative.status == 0 && relative.stdoutText.contains("replaces 1 earlier"), "\(relative.stderr)")
    }

    /// A label every reader accepts, on one line: a longer one was signed and stored, then skipped
    /// by the seed and refused by every agent (the manifest's limit is 1024 bytes).
    @Test func labelsAreOneLineWithinTheManifestsLimit() throws {
        let f = try SeedFixture()
        let sk = f.scratch.tmp.sub("sk")
        for (label, refusal) in [
            (String(repeating: "x", count: 1025), "at most 1024 bytes"), ("lab\nshell", "one line of text"),
        ] {
            let refused = try NixTool.run(
                try NixTool.rookeryExecutable,
                [
                    "publish", "--state", f.state, "--store", f.scratch.store, "--key", sk, "--label", label,
                    f.closure.toplevel,
                ],
                environment: NixTool.environment(home: f.scratch.home))
            #expect(refused.status != 0 && refused.stderr.contains(refusal), "\(refused.stderr)")
        }
        // 1024 bytes exactly: stored, and decoded again with its label whole.
        let longest = String(repeating: "é", count: 512)
        _ = try publish(f, key: sk, ["--label", longest])
        #expect(try stored(f).contains { $0.label == longest })
    }
}
