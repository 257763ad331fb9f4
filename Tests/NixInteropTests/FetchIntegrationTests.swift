// The chunk protocol end to end with real processes on loopback: a real closure published from a
// chroot store, served by `rookery seed`, fetched by `rookery-agent` into an empty root, then
// checked by Nix itself. Set ROOKERY_AGENT to test another agent build (CI uses the static one).
import Foundation
import NixFormats
import Runtime
import Store
import Swarm
import TestSupport
import Testing

/// A published closure and a running seed.
final class SeedFixture {
    let scratch: NixScratch
    let closure: NixClosure
    let publicKey: String
    var state: String
    var seed: RunningProcess?
    var address = ""
    /// The seed's HTTP face (binary cache, /status, /metrics).
    var httpAddress = ""

    init(blobKiB: Int = 300, seedArguments: [String] = []) throws {
        scratch = try NixScratch()
        let s = scratch
        closure = try NixClosure.build(store: s.store, home: s.home, scratch: s.tmp.sub("build"), blobKiB: blobKiB)
        let rookery = try NixTool.rookeryExecutable
        let keygen = try NixTool.run(
            rookery, ["keygen", "raven-test-1", "--secret", s.tmp.sub("sk"), "--public", s.tmp.sub("pk")])
        guard keygen.status == 0 else { throw TestFailure(keygen.stderr) }
        publicKey = try String(contentsOfFile: s.tmp.sub("pk"), encoding: .utf8)
        state = s.tmp.sub("state")
        let published = try NixTool.run(
            rookery,
            [
                "publish", "--state", state, "--store", s.store, "--key", s.tmp.sub("sk"), "--chunk-size", "65536",
                closure.toplevel,
            ],
            environment: NixTool.environment(home: s.home))
        guard published.status == 0 else { throw TestFailure("publish: \(published.stderr)") }
        try startSeed(extra: seedArguments)
    }

    func startSeed(extra: [String] = []) throws {
        let seed = try RunningProcess(
            try NixTool.rookeryExecutable,
            ["seed", "--state", state, "--store", scratch.store, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"]
                + ["--key", scratch.tmp.sub("sk")] + extra)
        httpAddress = String(try seed.waitForLine(containing: "HTTP (").split(separator: " ").last!)
        let line = try seed.waitForLine(containing: "listening on ")
        address = String(line.split(separator: " ").last!)
        self.seed = seed
    }

    /// Stops the seed and starts it again on the same address (its state is on disk).
    func restartSeed(extra: [String] = []) throws {
        seed?.stop()
        let seed = try RunningProcess(
            try NixTool.rookeryExecutable,
            ["seed", "--state", state, "--store", scratch.store, "--listen", address, "--http", httpAddress]
                + ["--key", scratch.tmp.sub("sk")] + extra)
        _ = try seed.waitForLine(containing: "listening on ")
        self.seed = seed
    }

    var agent: String { get throws { try Self.agent } }

    /// The manifest publish wrote (the only one in the state folder).
    func manifest() throws -> Manifest {
        let manifestDir = state + "/manifests"
        let manifestFile = try #require(try FileManager.default.contentsOfDirectory(atPath: manifestDir).first)
        let signed = try SignedManifest.decode(
            Array(try Data(contentsOf: URL(fileURLWithPath: manifestDir + "/" + manifestFile)))[...])
        return try Manifest.decode(signed.body[...])
    }

    /// The agent under test: this build's, or ROOKERY_AGENT.
    static var agent: String {
        get throws {
            if let override = ProcessInfo.processInfo.environment["ROOKERY_AGENT"] { return override }
            return (try NixTool.rookeryExecutable as NSString).deletingLastPathComponent + "/rookery-agent"
        }
    }

    /// A root holding the whole closure (a copy of the source store), like a booted client's.
    func rootWithTheClosure(_ name: String) throws -> String {
        let root = scratch.tmp.sub(name)
        let copy = try NixTool.run("/bin/cp", ["-a", scratch.store, root])
        guard copy.status == 0 else { throw TestFailure("cp: \(copy.stderr)") }
        return root
    }

    /// An agent that also serves peers on loopback and lingers after finishing.
    func startSwarmAgent(root: String, linger: Double = 3, extra: [String] = []) throws -> RunningProcess {
        try RunningProcess(
            try agent,
            [
                "--seed", address, "--trusted-key", publicKey, "--root", root, "--listen", "127.0.0.1:0",
                "--linger", "\(linger)",
            ] + extra + [closure.toplevel])
    }

    func runAgent(root: String, key: String? = nil) throws -> ProcessResult {
        try NixTool.run(
            try agent, ["--seed", address, "--trusted-key", key ?? publicKey, "--root", root, closure.toplevel],
            timeoutSeconds: 120)
    }

    /// Restarts the seed with this idle timeout; a raw connection to it.
    func rawClientOfASeed(idleTimeoutSeconds: Int) throws -> Int32 {
        seed?.stop()
        try startSeed(extra: ["--idle-timeout", "\(idleTimeoutSeconds)"])
        guard let port = UInt16(address.split(separator: ":")[1]) else { throw TestFailure("seed at \(address)") }
        return try rawConnect(port: port)
    }

    /// Names under ROOT/nix/store (staging names included: they must never be left), less the
    /// `.links` folder Nix itself makes when it verifies.
    func storeEntries(_ root: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/nix/store")) ?? []).filter { $0 != ".links" }
            .sorted()
    }
}

@Suite(.serialized) struct FetchIntegrationTests {
    @Test func agentFetchesAClosureThatNixAccepts() throws {
        let f = try SeedFixture()
        let root = f.scratch.tmp.sub("root")
        let result = try f.runAgent(root: root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.contains("\(f.closure.paths.count) paths ready (0 were present"))
        // The closure's zeros repeat: each distinct chunk is fetched once.
        let manifest = try f.manifest()
        let table = ChunkTable(manifest: manifest)
        #expect(table.count < manifest.paths.reduce(0) { $0 + $1.chunks.count })
        #expect(AgentReport(result.stdoutText)["chunks"] == UInt64(table.count), "\(result.stdoutText)")
        #expect(AgentReport(result.stdoutText)["bytes"] == table.bytes)
        // Nix loads our registration and finds every path's contents right.
        let registration = try Data(contentsOf: URL(fileURLWithPath: root + "/nix/var/rookery/registration"))
        try NixTool.nix("nix-store", ["--store", root, "--load-db"], home: f.scratch.home, stdin: Array(registration))
        let verify = try NixTool.nix(
            "nix-store", ["--store", root, "--verify", "--check-contents"], home: f.scratch.home)
        #expect(!verify.stderr.contains("modified"))
        let requisites = try NixTool.nix(
            "nix-store", ["--store", root, "-qR", f.closure.toplevel], home: f.scratch.home)
        #expect(Set(requisites.stdoutText.split(separator: "\n").map(String.init)) == Set(f.closure.paths))
        // liba refers to itself (as binaries with an RPATH into their own output do): registered so.
        let liba = try #require(f.closure.paths.first { $0.hasSuffix("-liba") })
        let references = try NixTool.nix(
            "nix-store", ["--store", root, "-q", "--references", liba], home: f.scratch.home)
        #expect(references.stdoutText.split(separator: "\n").contains(Substring(liba)), "\(references.stdoutText)")
        // The restored tree equals the source store, path by path.
        for path in f.closure.paths {
            // `--dump` takes a file system path: the real one under each root.
            let ours = try NixTool.nix("nix-store", ["--store", root, "--dump", root + path], home: f.scratch.home)
                .stdout
            let theirs = try NixTool.nix(
                "nix-store", ["--store", f.scratch.store, "--dump", f.scratch.store + path], home: f.scratch.home
            ).stdout
            let same = ours == theirs  // (a failed #expect on the arrays prints them whole)
            #expect(same, "\(path)")
        }
        #expect(f.storeEntries(root) == f.closure.paths.map { ($0 as NSString).lastPathComponent }.sorted())
        // A second run finds everything present and fetches nothing.
        let again = try f.runAgent(root: root)
        #expect(again.status == 0)
        #expect(again.stdoutText.contains("(\(f.closure.paths.count) were present)"))
        #expect(AgentReport(again.stdoutText)["chunks"] == 0)
    }

    /// A boot of a generation the root already holds whole needs no seed (raven's seed down):
    /// the fetch kept the signed manifest in the root, and the next run checks the paths against
    /// it, verified again with the keys trusted now. With another key, a path in doubt after a
    /// power cut, or a path gone, it asks the seed as ever (stopped here: one line, exit 1).
    @Test func aRootThatHoldsItsGenerationNeedsNoSeed() throws {
        let f = try SeedFixture()
        let root = f.scratch.tmp.sub("root")
        let first = try f.runAgent(root: root)
        #expect(first.status == 0 && AgentReport(first.stdoutText)["manifest_kept"] == 0, "\(first.stderr)")
        let name = (f.closure.toplevel as NSString).lastPathComponent
        #expect(FileManager.default.fileExists(atPath: root + "/nix/var/rookery/manifests/" + name))
        f.seed?.stop()
        try FileManager.default.removeItem(atPath: root + "/nix/var/rookery/registration")
        let offline = try f.runAgent(root: root)
        #expect(offline.status == 0, "\(offline.stderr)")
        let report = AgentReport(offline.stdoutText)
        #expect(report["manifest_kept"] == 1 && report["chunks"] == 0, "\(offline.stdoutText)")
        #expect(
            offline.stdoutText.contains("\(f.closure.paths.count) paths ready (\(f.closure.paths.count) were present)"))
        try SwarmIntegrationTests.checkWithNix(f, root: root)

        func asksTheSeed(_ why: String, key: String? = nil) throws {
            let run = try f.runAgent(root: root, key: key)
            #expect(run.status != 0 && run.stderr.contains("cannot reach the seed"), "\(why): \(run.stderr)")
        }
        // Told to linger, it would serve the wave from its disk: it joins the swarm as ever.
        let lingering = try NixTool.run(
            try f.agent,
            [
                "--seed", f.address, "--trusted-key", f.publicKey, "--root", root, "--listen", "127.0.0.1:0",
                "--linger", "1", f.closure.toplevel,
            ], timeoutSeconds: 60)
        #expect(lingering.status != 0 && lingering.stderr.contains("cannot reach the seed"), "\(lingering.stderr)")
        try asksTheSeed("another key", key: "raven-test-1:ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ=")
        let list = root + "/nix/var/rookery/unsynced/another-boot"
        let dependency = try #require(f.closure.paths.first { $0 != f.closure.toplevel })
        try ((dependency as NSString).lastPathComponent + "\n").write(toFile: list, atomically: true, encoding: .utf8)
        try asksTheSeed("a path in doubt")
        try FileManager.default.removeItem(atPath: list)
        _ = try NixTool.run("/bin/chmod", ["-R", "u+w", root + dependency])
        try FileManager.default.removeItem(atPath: root + dependency)
        try asksTheSeed("a path gone")
    }

    /// A root that already holds a path sharing chunks with a path it lacks, as in a delta boot
    /// (here the closure's zeros, in both libraries): the shared chunks are not fetched but taken
    /// from the path on disk, even where the manifest lists them first in the missing path. If
    /// that path's files were altered on this disk (a tampered lab PC), the shared chunks no
    /// longer match their ids and are fetched: the alteration does not reach the new path.
    @Test(arguments: [false, true]) func chunksSharedWithAPathAlreadyThereAreTakenFromIt(altered: Bool) throws {
        let f = try SeedFixture()
        let manifest = try f.manifest()
        let libraries = manifest.paths.indices.filter { ["liba", "libb"].contains(manifest.paths[$0].storePath.name) }
        try #require(libraries.count == 2)
        let there = libraries[1]  // the later in the manifest: the shared chunks appear first in the other
        let root = f.scratch.tmp.sub("root")
        try FileManager.default.createDirectory(atPath: root + "/nix/store", withIntermediateDirectories: true)
        let name = manifest.paths[there].storePath.baseName
        let copy = try NixTool.run("/bin/cp", ["-a", f.scratch.store + "/nix/store/" + name, root + "/nix/store/"])
        try #require(copy.status == 0, "\(copy.stderr)")
        if altered {
            let dir = root + "/nix/store/" + name
            let zeros = try #require(FileManager.default.subpaths(atPath: dir)?.first { $0.hasSuffix("zeros") })
            let chmod = try NixTool.run("/bin/chmod", ["-R", "u+w", dir])
            try #require(chmod.status == 0)
            try Data(repeating: 1, count: 524_288).write(to: URL(fileURLWithPath: dir + "/" + zeros))
        }
        let result = try f.runAgent(root: root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.contains("(1 were present)"), "\(result.stdoutText)")
        let table = ChunkTable(manifest: manifest)
        let held = table.chunks(ofPaths: [there])
        let needed = table.chunks(ofPaths: manifest.paths.indices.filter { $0 != there })
        let shared = needed.intersection(held)
        #expect(shared.count == 1, "the libraries share one chunk: 64 KiB of zeros")
        let fetched = altered ? needed : needed.subtracting(held)
        #expect(AgentReport(result.stdoutText)["bytes"] == table.bytes(of: fetched), "\(result.stdoutText)")
        // Every fetched path is byte for byte the seed's.
        for p in manifest.paths.indices where p != there {
            let path = manifest.paths[p].storePath.fullPath
            let ours = try NixTool.nix("nix-store", ["--store", root, "--dump", root + path], home: f.scratch.home)
            let theirs = try NixTool.nix(
                "nix-store", ["--store", f.scratch.store, "--dump", f.scratch.store + path], home: f.scratch.home)
            let same = ours.stdout == theirs.stdout  // (a failed #expect on the arrays prints them whole)
            #expect(same, "\(path) differs from the seed's")
        }
    }

    @Test func untrustedOrTamperedManifestIsRefusedBeforeAnythingIsWritten() throws {
        let f = try SeedFixture()
        // A key the seed did not sign with.
        let other = NixSecretKey(name: "raven-test-1", key: .generate()).publicKey.description
        let wrongKey = try f.runAgent(root: f.scratch.tmp.sub("root-wrong-key"), key: other)
        #expect(wrongKey.status == 1)
        #expect(wrongKey.stderr.contains("manifest refused"), "\(wrongKey.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.scratch.tmp.sub("root-wrong-key")))
        let unknownName = NixSecretKey(name: "elsewhere-1", key: .generate()).publicKey.description
        let unknown = try f.runAgent(root: f.scratch.tmp.sub("root-unknown"), key: unknownName)
        #expect(unknown.status == 1 && unknown.stderr.contains("untrusted keys"), "\(unknown.stderr)")

        // Flip one byte of the manifest body on raven's disk, restart the seed.
        f.seed?.stop()
        let dir = f.state + "/manifests"
        let file =
            dir + "/" + (try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix(".manifest") }!)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        // A byte of createdAt (file offset 12 + 8 magic + 4 chunk size): the body still decodes,
        // the signature no longer verifies.
        bytes[24] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: file))
        try f.startSeed()
        let tampered = try f.runAgent(root: f.scratch.tmp.sub("root-tampered"))
        #expect(tampered.status == 1)
        #expect(tampered.stderr.contains("manifest refused"), "\(tampered.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.scratch.tmp.sub("root-tampered") + "/nix/store"))
    }

    @Test func lyingSeedIsCaughtAndNothingBadIsWritten() throws {
        let f = try SeedFixture()
        // Change a file of one path in the seed's store after publishing: the seed now serves
        // bytes that do not match the signed chunk ids.
        let lib = try #require(f.closure.paths.first { $0.hasSuffix("-liba") })
        let victim = f.scratch.store + lib + "/lib/blob"
        chmod(f.scratch.store + lib + "/lib", 0o755)
        chmod(victim, 0o644)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: victim))
        try handle.seek(toOffset: 1000)
        handle.write(Data([0xff, 0xee, 0xdd]))
        try handle.close()
        let lie = Array(try Data(contentsOf: URL(fileURLWithPath: victim))[900..<1100])
        let root = f.scratch.tmp.sub("root")
        let result = try f.runAgent(root: root)
        #expect(result.status == 1)
        #expect(result.stderr.contains("do not match chunk "), "\(result.stderr)")
        #expect(result.stderr.contains(" of \(lib); nothing was written"), "the line names the path: \(result.stderr)")
        #expect(!f.storeEntries(root).contains((lib as NSString).lastPathComponent))
        #expect(!f.storeEntries(root).contains { $0.hasPrefix(".") && $0 != ".rookery-staging" }, "a stray entry")
        // Paths restoring when the lie was caught keep their staging trees and cache files for the
        // next run, but the lie itself reached no file.
        for file in FileManager.default.subpaths(atPath: root) ?? [] {
            guard let data = FileManager.default.contents(atPath: root + "/" + file) else { continue }
            #expect(!contains(Array(data), lie), "the seed's wrong bytes are in \(file)")
        }
    }

    @Test func badFramesCloseOneConnectionAndTheSeedServesOn() throws {
        let f = try SeedFixture()
        let parts = f.address.split(separator: ":")
        let port = try #require(UInt16(parts[1]))
        let garbage: [[UInt8]] = [
            [0xff, 0xff, 0xff, 0x7f, 0x05],  // a CHUNK frame of 2 GiB
            [1, 0, 0, 0, 0x7e],  // an unknown type
            Array("GET / HTTP/1.1\r\n\r\n".utf8),  // another protocol
            [26, 0, 0, 0, 0x01, 0x52],  // a HELLO cut short, then silence
        ]
        var idle: [Int32] = []
        for bytes in garbage {
            let fd = try rawConnect(port: port)
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            idle.append(fd)
        }
        // With those four connections still open, a real agent is served in full.
        let result = try f.runAgent(root: f.scratch.tmp.sub("root"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(f.seed?.process.isRunning == true)
        // The seed closed the connections that sent malformed frames.
        var closed = 0
        for fd in idle.prefix(3) {
            var byte: UInt8 = 0
            var n = recv(fd, &byte, 1, 0)
            while n > 0 { n = recv(fd, &byte, 1, 0) }  // drain the ERROR frame, then expect EOF
            if n == 0 { closed += 1 }
        }
        #expect(closed == 3)
        // The seed's log says why, one line per connection it closed.
        let log = try #require(f.seed).text
        #expect(
            log.split(separator: "\n").filter { $0.hasPrefix("rookery seed: closed 127.0.0.1:") }.count == 3, "\(log)")
        for fd in idle { close(fd) }
    }

    /// A client that sends requests and never reads the answers: the seed stops reading it once
    /// 8 MiB wait to be written (SPEC §7), so its memory stays bounded, and it serves others on.
    /// Unread, each REQUEST of 256 unknown ids beyond the 1024 queued became 256 MISSING writes.
    @Test func aClientThatDoesNotReadCannotGrowTheSeed() throws {
        let f = try SeedFixture()
        let seedPID = try #require(f.seed?.process.processIdentifier)
        let before = ProcessStatus.kibibytes("VmRSS:", of: "\(seedPID)")
        let port = try #require(UInt16(f.address.split(separator: ":")[1]))
        let fd = try rawConnect(port: port)
        defer { close(fd) }
        let flood = RequestFlood(fd)
        let (request, rounds, sent, cut) = (flood.request, flood.rounds, flood.sent, flood.cut)
        usleep(200_000)
        let grown = Int(ProcessStatus.kibibytes("VmRSS:", of: "\(seedPID)")) - Int(before)
        // Without the bound: all 80 MiB read, the seed 85 MiB larger; with it about 17 MB and 9 MiB.
        #expect(sent < rounds, "the seed read all \(sent) requests")
        #expect(grown < 32 * 1024, "the seed grew by \(grown) KiB for \(sent * request.count) bytes of requests")
        // With that client still connected, a real agent is served in full.
        let result = try f.runAgent(root: f.scratch.tmp.sub("root"))
        #expect(result.status == 0, "\(result.stderr)")
        // Once the client reads, the seed reads it again: the rest of the request cut short, then
        // a PING, answered after everything queued before it.
        let nonce: UInt64 = 0x1122_3344_5566_7788
        var toSend = Array(request[(cut > 0 ? cut : request.count)...]) + FrameCodec.encode(.ping(nonce))
        let pong = FrameCodec.encode(.pong(nonce))
        var seen: [UInt8] = []
        var answered = false
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let deadline = Date().addingTimeInterval(30)
        for _ in 0..<1_000_000 where !answered && Date() < deadline {
            if !toSend.isEmpty {
                let n = toSend.withUnsafeBytes {
                    send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                }
                if n > 0 { toSend.removeFirst(n) }
            }
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n == 0 { break }
            guard n > 0 else {
                usleep(1000)
                continue
            }
            seen = Array(seen.suffix(pong.count - 1)) + buffer[..<n]
            answered = contains(seen, pong)
        }
        #expect(answered, "no PONG once the client read what the seed had queued")
    }

    /// A client that stopped reading what it asked for is closed after the idle timeout, as a
    /// silent one is, though the seed still has answers queued for it.
    @Test func aClientThatDoesNotReadIsDroppedAfterTheIdleTimeout() throws {
        let f = try SeedFixture()
        let fd = try f.rawClientOfASeed(idleTimeoutSeconds: 2)
        defer { close(fd) }
        let flood = RequestFlood(fd)
        #expect(flood.sent < flood.rounds, "the seed read all \(flood.sent) requests")
        usleep(3_000_000)
        // Without reading a byte: open, a send finds the buffers full (EAGAIN); closed by the seed
        // with requests unread, the connection was reset.
        let ping = FrameCodec.encode(.ping(1))
        let n = ping.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        let error = errno
        #expect(n < 0 && (error == EPIPE || error == ECONNRESET), "still open: send gave \(n), errno \(error)")
    }

    @Test func silentClientsAreDroppedAfterTheIdleTimeout() throws {
        let f = try SeedFixture()
        let fd = try f.rawClientOfASeed(idleTimeoutSeconds: 1)
        defer { close(fd) }
        let hello = FrameCodec.encode(
            .hello(Hello(role: .agent, nodeID: [UInt8](repeating: 3, count: 16), listenPort: 0)))
        _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let start = Date()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var n = recv(fd, &buffer, buffer.count, 0)  // the seed's HELLO
        #expect(n > 0)
        while n > 0 { n = recv(fd, &buffer, buffer.count, 0) }  // then silence until it closes
        let waited = Date().timeIntervalSince(start)
        #expect(n == 0, "the seed closed the idle connection")
        #expect(waited >= 0.9 && waited < 4.5, "closed after \(waited) s")
    }

    /// Arguments the agent cannot use: exit code 2, a line that says which, one that says how it
    /// is called, and nothing written (no seed is asked either: none runs). A host name for the
    /// seed is refused here too: the initrd has no DNS.
    @Test func badArgumentsGiveOneUsageLineAndWriteNothing() throws {
        let tmp = TemporaryDirectory()
        let root = tmp.sub("root")
        let key = "raven-test-1:" + String(repeating: "A", count: 43) + "="
        let toplevel = "/nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-system"
        let cases: [([String], String)] = [
            (
                ["--seed", "raven:7020", "--trusted-key", key, "--root", root, toplevel],
                "--seed wants IP:PORT (an IP address: the initrd looks no names up)"
            ),
            (
                ["--seed", "127.0.0.1:7020", "--trusted-key", "raven-test-1", "--root", root, toplevel],
                "--trusted-key wants NAME:BASE64 (a Nix public key)"
            ),
            (
                ["--seed", "127.0.0.1:7020", "--trusted-key", key, "--root", root],
                "--seed, --trusted-key, --root and a toplevel are required"
            ),
            (
                ["--seed", "127.0.0.1:7020", "--trusted-key", key, "--root", root, "/tmp/not-a-store-path"],
                "unexpected argument '/tmp/not-a-store-path'"
            ),
            (
                ["--seed", "127.0.0.1:7020", "--trusted-key", key, "--root", root, "--linger", "soon", toplevel],
                "--linger wants seconds"
            ),
            (
                ["--seed", "127.0.0.1:7020", "--trusted-key", key, "--root", root, "--max-connections", "0", toplevel],
                "--max-connections wants a count in 1…64"
            ),
            (
                ["--seed", "127.0.0.1:7020", "--trusted-key", key, "--root", root, "--peer-budget-kib", "8", toplevel],
                "--peer-budget-kib wants KiB in 64…65536"
            ),
            (["--seed", "127.0.0.1:7020", "--trusted-key", key, "--root"], "--root wants a folder"),
        ]
        for (arguments, reason) in cases {
            let result = try NixTool.run(try SeedFixture.agent, arguments, timeoutSeconds: 30)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.first == "rookery-agent: usage: \(reason)"[...], "\(arguments)")
            #expect(lines.count == 2 && lines[1].hasPrefix("  rookery-agent --seed IP:PORT"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: root), "\(arguments): nothing written")
        }
    }

    @Test func seedUnreachableGivesOneClearLine() throws {
        let f = try SeedFixture()
        f.seed?.stop()
        let result = try f.runAgent(root: f.scratch.tmp.sub("root"))
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("rookery-agent: cannot reach the seed"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    /// The seed's HTTP face given as --seed: one line naming the port it wants, nothing written.
    @Test func aSeedsHTTPAddressGivesOneClearLine() throws {
        let f = try SeedFixture()
        let root = f.scratch.tmp.sub("root")
        let result = try NixTool.run(
            try f.agent, ["--seed", f.httpAddress, "--trusted-key", f.publicKey, "--root", root, f.closure.toplevel],
            timeoutSeconds: 120)
        #expect(result.status == 1)
        #expect(
            result.stderr == "rookery-agent: the seed's address answers in HTTP: that is its HTTP face, the chunk "
                + "port is its --listen (7020 by default)\n")
        #expect(!FileManager.default.fileExists(atPath: root))
    }

    /// A disk slower than the network: what is received and waits for it stays bounded (SPEC §7),
    /// where before the fetcher read on and held nearly the whole path in memory (64 MiB here).
    @Test func aSlowDiskKeepsTheFetchersMemoryBounded() throws {
        let f = try SeedFixture(blobKiB: 64 * 1024)
        let root = f.scratch.tmp.sub("root")
        let result = try NixTool.run(
            try NixTool.rookeryExecutable,
            [
                "fetch", "--seed", f.address, "--trusted-key", f.publicKey, "--root", root,
                "--fault-slow-disk-us", "3000", f.closure.toplevel,
            ], timeoutSeconds: 120)
        try #require(result.status == 0, "\(result.stderr)")
        let peak = try #require(AgentReport(result.stdoutText)["peak_rss_kib"], "\(result.stdoutText)")
        // What may wait: 4 MiB to hash or held, 8 MiB queued for the disk, the chunks asked for,
        // the socket's buffers; plus the process itself (a debug build here).
        #expect(peak > 0 && peak < 48 * 1024, "peak RSS \(peak) KiB; \(result.stdoutText)")
        let registration = try Data(contentsOf: URL(fileURLWithPath: root + "/nix/var/rookery/registration"))
        try NixTool.nix("nix-store", ["--store", root, "--load-db"], home: f.scratch.home, stdin: Array(registration))
        try NixTool.nix("nix-store", ["--store", root, "--verify", "--check-contents"], home: f.scratch.home)
    }

    /// Two fetches into one root failed each other half-way ("mkdir …: File exists", "rename …:
    /// No such file or directory"). The second is refused at once with one line naming the lock,
    /// and the first finishes.
    @Test func aSecondFetchIntoOneRootIsRefusedWhileTheFirstRuns() throws {
        let f = try SeedFixture(blobKiB: 4 * 1024)
        let root = f.scratch.tmp.sub("root")
        let first = try RunningProcess(
            try NixTool.rookeryExecutable,
            [
                "fetch", "--seed", f.address, "--trusted-key", f.publicKey, "--root", root,
                "--fault-slow-disk-us", "20000", f.closure.toplevel,
            ])
        // It holds the lock from when its manifest is trusted, before its first chunk is on disk.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && ChunkCacheProbe.allocatedBytes(root) == 0 { usleep(2000) }
        let second = try f.runAgent(root: root)
        #expect(second.status == 1)
        #expect(
            second.stderr
                == "rookery-agent: another fetch into this root is running (it holds '\(root)/nix/var/rookery/lock')\n")
        #expect(try first.waitForExit() == 0, "the first fetch was cut short")
        let registration = try Data(contentsOf: URL(fileURLWithPath: root + "/nix/var/rookery/registration"))
        try NixTool.nix("nix-store", ["--store", root, "--load-db"], home: f.scratch.home, stdin: Array(registration))
        try NixTool.nix("nix-store", ["--store", root, "--verify", "--check-contents"], home: f.scratch.home)
    }

    /// A root whose disk cannot hold what it lacks: one line with the numbers before any chunk
    /// is asked for, no store path written (it fetched until "No space left on device", and an
    /// ENOSPC in the middle of a wave costs the swarm what it sent). With room, the same fetch
    /// passes. The root is a tmpfs in a mount namespace of the fetch's own, gone when it ends.
    @Test(.enabled(if: geteuid() == 0, "mounts a tmpfs")) func aRootWithoutRoomIsRefusedBeforeAnyChunk() throws {
        let f = try SeedFixture()
        let manifest = try f.manifest()
        let nar = manifest.paths.reduce(UInt64(0)) { $0 + $1.narSize }
        let root = f.scratch.tmp.sub("small-disk")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        func fetch(onTmpfsOf bytes: UInt64) throws -> ProcessResult {
            let script = """
                mount -t tmpfs -o size=\(bytes) rookery-test "$0" || exit 99
                "$@"; rc=$?
                echo "store entries: $(ls -A "$0/nix/store" 2>/dev/null | wc -l)"
                exit $rc
                """
            return try NixTool.run(
                "/usr/bin/unshare",
                [
                    "--mount", "/bin/sh", "-c", script, root, try f.agent, "--seed", f.address, "--trusted-key",
                    f.publicKey, "--root", root, f.closure.toplevel,
                ])
        }
        let refused = try fetch(onTmpfsOf: nar / 2)
        #expect(refused.status == 1)
        let needs = (nar + (1 << 20) - 1) >> 20
        #expect(
            refused.stderr.hasPrefix(
                "rookery-agent: not enough space in \(root): the \(manifest.paths.count) missing store paths need "
                    + "\(needs) MiB, "),
            "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(refused.stdoutText.contains("store entries: 0\n"), "\(refused.stdoutText)")
        let fits = try fetch(onTmpfsOf: nar + (4 << 20))
        #expect(fits.status == 0, "\(fits.stderr)")
        #expect(fits.stdoutText.contains("store entries: \(manifest.paths.count)\n"), "\(fits.stdoutText)")
    }

    /// The check before the fetch counts NAR bytes, a lower bound: files take whole pages (or
    /// blocks), and a file system can run out of inodes with room to spare. A disk that passes
    /// the check and fills up during the fetch stops it with one line that says which ran out,
    /// leaves no partial store path, and the next fetch, once there is room, completes.
    @Test(.enabled(if: geteuid() == 0, "mounts a tmpfs")) func aRootThatFillsDuringTheFetchStopsWithOneLine() throws {
        let f = try SeedFixture()
        let nar = try f.manifest().paths.reduce(UInt64(0)) { $0 + $1.narSize }
        let root = f.scratch.tmp.sub("filling-disk")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        let big = nar * 4 + (8 << 20)
        let fetch = "\"$@\" >/dev/null 2>&1 || { echo 'fetch failed on a big tmpfs'; exit 98; }"
        func inNamespace(_ script: String) throws -> ProcessResult {
            var environment = NixTool.environment(home: f.scratch.home)
            environment["BIG"] = "\(big)"
            environment["NAR"] = "\(nar)"
            return try NixTool.run(
                "/usr/bin/unshare",
                [
                    "--mount", "/bin/sh", "-c", script, root, try f.agent, "--seed", f.address, "--trusted-key",
                    f.publicKey, "--root", root, f.closure.toplevel,
                ], environment: environment)
        }
        // What the finished closure takes there: pages and inodes.
        let measured = try inNamespace(
            """
            mount -t tmpfs -o size=$BIG rookery-test "$0" || exit 99
            \(fetch)
            echo "$(df -B1 --output=used "$0" | tail -1) $(df --output=iused "$0" | tail -1)"
            """)
        try #require(measured.status == 0, "\(measured.stdoutText) \(measured.stderr)")
        let numbers = measured.stdoutText.split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) }
        try #require(numbers.count == 2, "\(measured.stdoutText)")
        let (used, inodes) = (numbers[0], numbers[1])
        let pages = (nar + 4095) / 4096 * 4096
        try #require(used > pages + 4096, "the closure takes \(used) B on a tmpfs, its NAR \(nar) B")

        // Room for the NAR bytes, not for the files: the check lets the fetch start.
        let full = try inNamespace(
            """
            mount -t tmpfs -o size=\(pages) rookery-test "$0" || exit 99
            "$@" >/dev/null; echo "rc=$?"
            for e in "$0"/nix/store/*; do [ -e "$e" ] && echo "present ${e#"$0"} $(nix-store --dump "$e" | sha256sum)"; done
            mount -o remount,size=$BIG "$0" || exit 99
            \(fetch)
            nix-store --store "$0" --load-db < "$0/nix/var/rookery/registration" || exit 97
            nix-store --store "$0" --verify --check-contents 2>&1 && echo verified
            """)
        #expect(full.status == 0, "\(full.stderr)")
        #expect(full.stdoutText.contains("rc=1\n"), "\(full.stdoutText)")
        #expect(
            full.stderr.hasPrefix("rookery-agent: ran out of space in \(root) while restoring the closure: "),
            "\(full.stderr)")
        #expect(full.stderr.hasSuffix("(old generations go with nix-collect-garbage -d on the booted system)\n"))
        #expect(full.stderr.split(separator: "\n").count == 1, "\(full.stderr)")
        // Whatever the stopped fetch put in the store is whole: its NAR's SHA-256 is Nix's.
        let hashes = Dictionary(
            uniqueKeysWithValues: try NixPathInfo.query(f.closure.paths, store: f.scratch.store, home: f.scratch.home)
                .map { info in
                    (info.path, Data(base64Encoded: String(info.narHash.dropFirst("sha256-".count))).map(Hex.encode))
                })
        let present = full.stdoutText.split(separator: "\n").filter { $0.hasPrefix("present ") }
        #expect(!present.isEmpty, "\(full.stdoutText)")
        for line in present {
            let words = line.split(separator: " ").map(String.init)
            #expect(words.count == 4 && hashes[words[1]] == words[2], "\(line) \(hashes)")
        }
        #expect(full.stdoutText.contains("verified\n"), "\(full.stdoutText)")
        #expect(!full.stdoutText.contains("modified"), "\(full.stdoutText)")

        // Pages to spare, too few inodes: the line says so (`df` would show room).
        let noInodes = try inNamespace(
            """
            mount -t tmpfs -o size=$BIG,nr_inodes=\(inodes - 4) rookery-test "$0" || exit 99
            "$@" >/dev/null; echo "rc=$?"
            """)
        #expect(noInodes.stdoutText == "rc=1\n", "\(noInodes.stdoutText)")
        #expect(
            noInodes.stderr.hasPrefix(
                "rookery-agent: ran out of inodes in \(root) (df -i counts them) while restoring the closure: "),
            "\(noInodes.stderr)")
        #expect(noInodes.stderr.contains("': no inode left on its file system (old generations"))
    }

    /// Nix substitutes into a path's final name and relies on its database: a substitution cut
    /// short (a lab PC switched off during `nix-shell -p …`) leaves a partial, unregistered tree
    /// there. The fetch took it for present, and `--load-db` then registered it valid. Made here
    /// by real Nix: `nix-store -r` from a file:// cache whose NAR is a FIFO fed half of it, killed
    /// while it waits for the rest. The fetch now sets the tree aside, keeps its intact chunks,
    /// and fetches the path.
    @Test func aPathNixLeftHalfWrittenIsFetchedAgain() throws {
        let f = try SeedFixture()
        let liba = try #require(f.closure.paths.first { $0.hasSuffix("-liba") })
        let home = f.scratch.home
        let cache = f.scratch.tmp.sub("file-cache")
        try NixTool.nix(
            "nix", ["copy", "--store", f.scratch.store, "--to", "file://\(cache)?compression=none", liba], home: home)
        let nar =
            cache + "/nar/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: cache + "/nar").first))
        let full = f.scratch.tmp.sub("liba.nar")
        try FileManager.default.moveItem(atPath: nar, toPath: full)
        let root = f.scratch.tmp.sub("root")
        let tree = root + liba
        let script = """
            mkfifo "$NAR" || exit 1
            nix-store --store "$ROOT" -r "$LIBA" --option substituters "file://$CACHE" --option require-sigs false \\
                >/dev/null 2>&1 &
            nix=$!
            exec 3>"$NAR"
            head -c $(( $(stat -c %s "$FULL") / 2 )) "$FULL" >&3
            for _ in $(seq 100); do [ -d "$TREE" ] && break; sleep 0.05; done
            sleep 0.5
            kill -9 $nix
            """
        var environment = NixTool.environment(home: home)
        for (k, v) in ["NAR": nar, "ROOT": root, "LIBA": liba, "CACHE": cache, "FULL": full, "TREE": tree] {
            environment[k] = v
        }
        let cut = try NixTool.run("/usr/bin/timeout", ["30", "/bin/sh", "-c", script], environment: environment)
        try #require(cut.status == 0, "\(cut.stderr)")
        var st = stat()
        try #require(lstat(tree, &st) == 0 && st.st_mtim.tv_sec != 1, "Nix left no partial tree at \(tree)")
        let validity = try NixTool.run(
            try NixTool.which("nix-store"), ["--store", root, "--check-validity", liba], environment: environment)
        #expect(validity.status != 0, "Nix registered the path it was writing")
        let rerun = try f.runAgent(root: root)
        try #require(rerun.status == 0, "\(rerun.stderr)")
        let report = AgentReport(rerun.stdoutText)
        #expect(report["incomplete"] == 1, "\(rerun.stdoutText)")
        #expect((report["reused"] ?? 0) > 0, "no chunk of the partial tree was kept: \(rerun.stdoutText)")
        #expect(!FileManager.default.fileExists(atPath: root + "/nix/store/.rookery-staging"))
        let registration = try Data(contentsOf: URL(fileURLWithPath: root + "/nix/var/rookery/registration"))
        try NixTool.nix("nix-store", ["--store", root, "--load-db"], home: home, stdin: Array(registration))
        try NixTool.nix("nix-store", ["--store", root, "--verify", "--check-contents"], home: home)
    }

    /// A fetch does not wait for the disk: after a power cut, a path it renamed into the store
    /// can hold files whose size the journal committed as 0 and whose data never came, mtime 1,
    /// looking whole. The fetch leaves a mark (durable before its first rename) until something
    /// syncs; a fetch that finds it, set in another boot, checks each path it lists against its
    /// NAR hash. Here the damage is made by hand, as ext4 leaves it: liba's blob emptied, its
    /// mtime 1 again; and the reboot by renaming the list to another boot's id.
    @Test func aPathAPowerCutLeftEmptyIsFetchedAgain() throws {
        let f = try SeedFixture()
        let root = f.scratch.tmp.sub("root")
        let first = try f.runAgent(root: root)
        try #require(first.status == 0, "\(first.stderr)")
        let thisBoot = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
        let mark = root + "/nix/var/rookery/unsynced/" + thisBoot.trimmingCharacters(in: .newlines)
        let listed = try String(contentsOfFile: mark, encoding: .utf8).split(separator: "\n").map { "/nix/store/" + $0 }
        #expect(Set(listed) == Set(f.closure.paths), "\(listed)")
        let liba = try #require(f.closure.paths.first { $0.hasSuffix("-liba") })
        let blob = root + liba + "/lib/blob"
        #expect(truncate(blob, 0) == 0)
        var times = [timespec(tv_sec: 1, tv_nsec: 0), timespec(tv_sec: 1, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, blob, &times, AT_SYMLINK_NOFOLLOW) == 0)
        // In the boot that wrote them, the paths are as the first fetch left them (nothing written
        // is lost without the machine going down): the next attempt does not read them again.
        let sameBoot = try f.runAgent(root: root)
        try #require(sameBoot.status == 0, "\(sameBoot.stderr)")
        #expect(AgentReport(sameBoot.stdoutText)["incomplete"] == 0, "\(sameBoot.stdoutText)")
        let otherBoot = root + "/nix/var/rookery/unsynced/00000000-0000-4000-8000-000000000000"
        #expect(rename(mark, otherBoot) == 0)
        let rerun = try f.runAgent(root: root)
        try #require(rerun.status == 0, "\(rerun.stderr)")
        let report = AgentReport(rerun.stdoutText)
        #expect(report["incomplete"] == 1, "\(rerun.stdoutText)")
        #expect((report["bytes"] ?? 0) > 0 && (report["reused"] ?? 0) > 0, "\(rerun.stdoutText)")
        #expect(!FileManager.default.fileExists(atPath: otherBoot), "every path it listed was checked")
        #expect(try String(contentsOfFile: mark, encoding: .utf8) == liba.dropFirst("/nix/store/".count) + "\n")
        let registration = try Data(contentsOf: URL(fileURLWithPath: root + "/nix/var/rookery/registration"))
        try NixTool.nix("nix-store", ["--store", root, "--load-db"], home: f.scratch.home, stdin: Array(registration))
        try NixTool.nix("nix-store", ["--store", root, "--verify", "--check-contents"], home: f.scratch.home)
        // Once synced (stage 2 removes this boot's list then), paths found are trusted without a read.
        #expect(unlink(mark) == 0)
        let trusted = try f.runAgent(root: root)
        #expect(AgentReport(trusted.stdoutText)["bytes"] == 0, "\(trusted.stdoutText)")
        #expect(!FileManager.default.fileExists(atPath: mark), "nothing was renamed, nothing to sync")

        // The mark of session 23's rookery, one empty file, still puts every path in doubt, and
        // the fetch that checked them replaces it with this boot's list.
        let lists = root + "/nix/var/rookery/unsynced"
        try FileManager.default.removeItem(atPath: lists)
        #expect(FileManager.default.createFile(atPath: lists, contents: Data()))
        #expect(truncate(blob, 0) == 0)
        #expect(utimensat(AT_FDCWD, blob, &times, AT_SYMLINK_NOFOLLOW) == 0)
        let upgraded = try f.runAgent(root: root)
        try #require(upgraded.status == 0, "\(upgraded.stderr)")
        #expect(AgentReport(upgraded.stdoutText)["incomplete"] == 1, "\(upgraded.stdoutText)")
        #expect(try String(contentsOfFile: mark, encoding: .utf8) == liba.dropFirst("/nix/store/".count) + "\n")
    }

    /// A power cut after fetching generation N+1, and the next boot rolls back to N: its fetch
    /// checks the paths of N, and cannot check those only N+1 has (not in its manifest). They
    /// stay in doubt (stage 2's sync does not mend what the cut left), and the fetch that boots
    /// N+1 again checks them. Here N is a closure within the fixture's (libb and liba), N+1 the
    /// whole closure, and its initrd the path the cut emptied.
    @Test func pathsARollbackCannotCheckStayInDoubt() throws {
        let f = try SeedFixture()
        let libb = try #require(f.closure.paths.first { $0.hasSuffix("-libb") })
        let initrd = try #require(f.closure.paths.first { $0.hasSuffix("-initrd") })
        let published = try NixTool.run(
            try NixTool.rookeryExecutable,
            ["publish", "--state", f.state, "--store", f.scratch.store, "--key", f.scratch.tmp.sub("sk"), libb],
            environment: NixTool.environment(home: f.scratch.home))
        try #require(published.status == 0, "\(published.stderr)")
        try f.restartSeed()
        let root = f.scratch.tmp.sub("root")
        try #require(try f.runAgent(root: root).status == 0)
        let lists = root + "/nix/var/rookery/unsynced"
        let thisBoot = try #require(try FileManager.default.contentsOfDirectory(atPath: lists).first)
        let cut = lists + "/00000000-0000-4000-8000-000000000000"
        #expect(rename(lists + "/" + thisBoot, cut) == 0)
        let file = try #require(
            try FileManager.default.contentsOfDirectory(atPath: root + initrd).first.map { root + initrd + "/" + $0 })
        #expect(truncate(file, 0) == 0)
        var times = [timespec(tv_sec: 1, tv_nsec: 0), timespec(tv_sec: 1, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, file, &times, AT_SYMLINK_NOFOLLOW) == 0)
        func fetch(_ toplevel: String) throws -> ProcessResult {
            try NixTool.run(
                try f.agent, ["--seed", f.address, "--trusted-key", f.publicKey, "--root", root, toplevel],
                timeoutSeconds: 120)
        }
        let rollback = try fetch(libb)
        try #require(rollback.status == 0, "\(rollback.stderr)")
        #expect(AgentReport(rollback.stdoutText)["bytes"] == 0, "\(rollback.stdoutText)")
        let left = try String(contentsOfFile: cut, encoding: .utf8).split(separator: "\n").map { "/nix/store/" + $0 }
        #expect(
            Set(left) == Set(f.closure.paths).subtracting(try Self.closure(of: libb, f)),
            "the rollback struck off what it checked, and only that")
        let again = try f.runAgent(root: root)
        try #require(again.status == 0, "\(again.stderr)")
        #expect(AgentReport(again.stdoutText)["incomplete"] == 1, "\(again.stdoutText)")
        #expect(!FileManager.default.fileExists(atPath: cut))
        let registration = try Data(contentsOf: URL(fileURLWithPath: root + "/nix/var/rookery/registration"))
        try NixTool.nix("nix-store", ["--store", root, "--load-db"], home: f.scratch.home, stdin: Array(registration))
        try NixTool.nix("nix-store", ["--store", root, "--verify", "--check-contents"], home: f.scratch.home)
    }

    static func closure(of path: String, _ f: SeedFixture) throws -> Set<String> {
        let requisites = try NixTool.nix("nix-store", ["--store", f.scratch.store, "-qR", path], home: f.scratch.home)
        return Set(requisites.stdoutText.split(separator: "\n").map(String.init))
    }

    @Test func killedAgentResumesWithoutRefetchingVerifiedChunks() throws {
        let f = try SeedFixture(blobKiB: 48 * 1024)
        let root = f.scratch.tmp.sub("root")
        let agent = try RunningProcess(
            try f.agent, ["--seed", f.address, "--trusted-key", f.publicKey, "--root", root, f.closure.toplevel])
        // Kill it once some verified chunks (64 KiB each here) are on disk.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && ChunkCacheProbe.allocatedBytes(root) < 20 * 65536 { usleep(2000) }
        agent.kill9()
        #expect(
            ChunkCacheProbe.allocatedBytes(root) >= 20 * 65536,
            "the agent finished before it could be killed; make the closure larger")
        // Whatever is visible under the store is complete: its NAR hash is Nix's.
        for name in f.storeEntries(root) where !name.hasPrefix(".") {
            let path = "/nix/store/" + name
            let theirs = try NixTool.nix(
                "nix-store", ["--store", f.scratch.store, "-q", "--hash", path], home: f.scratch.home)
            var sink = NarHashingSink()
            try StoreRoot(root: root).dump(try StorePath(path), to: &sink)
            #expect(
                "\(NixHash(sha256: sink.hasher.finalize()))\n" == theirs.stdoutText, "\(name) visible but incomplete")
        }
        // What the rerun must do: fetch exactly the chunks of the paths still missing that were
        // not verified and cached before the kill (those in flight at the kill are among them),
        // each once, and none that a path already in the store holds (the closure's zeros
        // repeat across paths).
        let manifest = try f.manifest()
        let present = Set(f.storeEntries(root))
        let missing = manifest.paths.filter { !present.contains($0.storePath.baseName) }
        let cachedIDs = try ChunkCacheProbe.intactChunks(
            root,
            paths: missing.map {
                ($0.storePath.baseName, $0.narSize, UInt64(manifest.layout.chunkSize), $0.chunks.map(\.digest.hex))
            }, home: f.scratch.home)
        let onDisk = Set(manifest.paths.filter { present.contains($0.storePath.baseName) }.flatMap(\.chunks))
        var reused: Set<String> = []
        var fetched: [String: UInt64] = [:]
        for p in missing {
            for (i, id) in p.chunks.enumerated() {
                if cachedIDs.contains(id.digest.hex) {
                    reused.insert(id.digest.hex)
                } else if !onDisk.contains(id) {
                    fetched[id.digest.hex] = UInt64(manifest.layout.range(of: i, narSize: p.narSize).count)
                }
            }
        }
        let expectedReused = UInt64(reused.count)
        let expectedBytes = fetched.values.reduce(0, +)
        #expect(expectedReused > 0)
        // What an earlier crashed fetch of another closure left: a cache file, and a half-written
        // tree in a lane folder this fetch does not have. Nothing else would ever remove them.
        let other = String(repeating: "d", count: 32) + "-other"
        let cache = ChunkCacheProbe.directory(root)
        let staging = root + "/nix/store/.rookery-staging"
        try Data(count: 4096).write(to: URL(fileURLWithPath: cache + "/" + other + ".nar"))
        try FileManager.default.createDirectory(atPath: staging + "/9/" + other, withIntermediateDirectories: true)
        let rerun = try f.runAgent(root: root)
        try #require(rerun.status == 0, "\(rerun.stderr)")
        let report = AgentReport(rerun.stdoutText)
        #expect(report["reused"] == expectedReused, "\(rerun.stdoutText)")
        #expect(report["bytes"] == expectedBytes, "\(rerun.stdoutText)")
        // The finished fetch leaves no chunk cache and no staging folder, its own or others'.
        #expect(!FileManager.default.fileExists(atPath: cache))
        #expect(!FileManager.default.fileExists(atPath: staging))
        let registration = try Data(contentsOf: URL(fileURLWithPath: root + "/nix/var/rookery/registration"))
        try NixTool.nix("nix-store", ["--store", root, "--load-db"], home: f.scratch.home, stdin: Array(registration))
        try NixTool.nix("nix-store", ["--store", root, "--verify", "--check-contents"], home: f.scratch.home)
    }
}

/// A client's HELLO, then REQUESTs of 256 unknown chunk ids, 80 MiB of them at most, sent without
/// reading anything; a seed that stops reading makes a send time out (5 s) first.
struct RequestFlood {
    let request = FrameCodec.encode(.request((0..<256).map { i in ChunkID(of: [UInt8(i), 0x55]) }))
    let rounds: Int
    /// Whole requests sent, and the bytes of the one a send cut short.
    private(set) var sent = 0
    private(set) var cut = 0

    init(_ fd: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let hello = FrameCodec.encode(
            .hello(Hello(role: .agent, nodeID: [UInt8](repeating: 4, count: 16), listenPort: 0)))
        _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        rounds = (80 << 20) / request.count
        for _ in 0..<rounds {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n == request.count else {
                cut = max(n, 0)
                break
            }
            sent += 1
        }
    }
}

/// Whether `needle` occurs in `haystack` (a plain loop: fast enough for megabytes in a debug build).
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard let first = needle.first, haystack.count >= needle.count else { return false }
    return haystack.withUnsafeBufferPointer { h in
        needle.withUnsafeBufferPointer { n in
            var i = 0
            while i <= h.count - n.count {
                if h[i] == first && memcmp(h.baseAddress! + i, n.baseAddress!, n.count) == 0 { return true }
                i += 1
            }
            return false
        }
    }
}

/// A plain TCP connection to 127.0.0.1:port, with a receive timeout so a test cannot hang.
func rawConnect(port: UInt16) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard rc == 0 else { throw TestFailure("connect to 127.0.0.1:\(port) failed") }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return fd
}
