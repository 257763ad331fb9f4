// The swarm with real processes on loopback: one seed with a capped upload and eight agents
// started together. They must all finish with roots Nix accepts, and most bytes must have come
// from each other, not from the seed.
import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct SwarmIntegrationTests {
    /// Starts `count` agents at once into fresh roots; waits for all; returns (root, output).
    static func runSwarm(_ f: SeedFixture, count: Int, extra: [String] = []) throws -> [(String, RunningProcess)] {
        let agents = try (0..<count).map { i in
            let root = f.scratch.tmp.sub("root\(i)")
            return (root, try f.startSwarmAgent(root: root, extra: extra))
        }
        return agents
    }

    static func checkWithNix(_ f: SeedFixture, root: String) throws {
        let registration = try Data(contentsOf: URL(fileURLWithPath: root + "/nix/var/rookery/registration"))
        try NixTool.nix("nix-store", ["--store", root, "--load-db"], home: f.scratch.home, stdin: Array(registration))
        try NixTool.nix("nix-store", ["--store", root, "--verify", "--check-contents"], home: f.scratch.home)
    }

    @Test func eightAgentsFetchMostlyFromEachOther() throws {
        // About 4 MiB of NAR in 64 KiB chunks; the seed may send 16 Mbit/s, so eight copies from
        // the seed alone would take 16 s, while the peers are not capped.
        let f = try SeedFixture(blobKiB: 4096, seedArguments: ["--upload-mbit", "16"])
        let agents = try Self.runSwarm(f, count: 8)
        var seedBytes: UInt64 = 0
        var peerBytes: UInt64 = 0
        var closureBytes: UInt64 = 0
        var manifestsFromPeers: UInt64 = 0
        for (root, agent) in agents {
            let status = try agent.waitForExit(seconds: 120)
            try #require(status == 0, "\(agent.text)")
            let report = AgentReport(agent.text)
            let fetched = try #require(report["bytes"], "\(agent.text)")
            seedBytes += report["seed_bytes"] ?? 0
            peerBytes += report["peer_bytes"] ?? 0
            manifestsFromPeers += report["manifest_from_peer"] ?? 0
            closureBytes = max(closureBytes, fetched)
            try Self.checkWithNix(f, root: root)
            #expect(
                f.storeEntries(root)
                    == f.storeEntries(f.scratch.store).filter { f.closure.paths.contains("/nix/store/" + $0) })
        }
        print(
            "swarm of 8: closure \(closureBytes) B, from seed \(seedBytes) B, from peers \(peerBytes) B;"
                + " \(manifestsFromPeers) manifests from peers")
        // Eight closures were delivered; the seed sent at most two of them.
        #expect(seedBytes + peerBytes >= 8 * closureBytes)
        #expect(seedBytes <= 2 * closureBytes, "seed \(seedBytes) bytes, peers \(peerBytes), closure \(closureBytes)")
        #expect(peerBytes > 5 * closureBytes)
        // Started together: the seed sends two manifests and names their holders to the others
        // (each waits at most 250 ms for one to join; on loopback one joins within milliseconds).
        #expect(manifestsFromPeers >= 1)
    }

    /// Waits for every agent; each must succeed and leave a root Nix accepts. Their reports.
    static func finishAll(_ f: SeedFixture, _ agents: [(String, RunningProcess)]) throws -> [AgentReport] {
        try agents.map { root, agent in
            let status = try agent.waitForExit(seconds: 120)
            try #require(status == 0, "\(agent.text)")
            try checkWithNix(f, root: root)
            return AgentReport(agent.text)
        }
    }

    @Test func killedAgentsDoNotStopTheOthersAndARestartResumes() throws {
        let f = try SeedFixture(blobKiB: 4096, seedArguments: ["--upload-mbit", "8"])
        var agents = try Self.runSwarm(f, count: 8)
        // Two of eight die once some chunks are on their disks.
        for (root, agent) in agents.prefix(2) {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline && ChunkCacheProbe.allocatedBytes(root) < 3 * 65536 { usleep(5000) }
            agent.kill9()
        }
        let killed = agents.removeFirst()
        agents.removeFirst()
        let survivors = try Self.finishAll(f, agents)
        #expect(survivors.count == 6)
        // One killed agent runs again into the same root and completes, reusing its chunks.
        let again = try f.startSwarmAgent(root: killed.0, linger: 0)
        let report = try Self.finishAll(f, [(killed.0, again)])[0]
        #expect((report["reused"] ?? 0) > 0, "\(again.text)")
    }

    @Test func aLyingPeerIsBannedAndNoBadByteLands() throws {
        let f = try SeedFixture(blobKiB: 4096, seedArguments: ["--upload-mbit", "8"])
        // The liar holds the whole closure (a copy of the source store), so the seed lists it
        // first, as a completed peer; it serves every chunk with one byte flipped.
        let liarRoot = try f.rootWithTheClosure("liar")
        let liar = try RunningProcess(
            try NixTool.rookeryExecutable,
            [
                "fetch", "--seed", f.address, "--trusted-key", f.publicKey, "--root", liarRoot, "--listen",
                "127.0.0.1:0", "--linger", "30", "--fault-corrupt-uploads", f.closure.toplevel,
            ])
        defer { liar.stop() }
        usleep(300_000)  // it announces itself to the seed
        let reports = try Self.finishAll(f, try Self.runSwarm(f, count: 8))
        let banned = reports.reduce(0) { $0 + ($1["banned"] ?? 0) }
        #expect(banned >= 1, "nobody met the liar: \(reports.map { $0.fields })")
        // The first ban is reported to the seed, which stops holding back what the liar claims:
        // the seed sends the closure about once, not once per agent that waits for its fallback.
        let seedBytes = reports.reduce(0) { $0 + ($1["seed_bytes"] ?? 0) }
        let closure = reports.map { $0["bytes"] ?? 0 }.max() ?? 0
        print("liar: seed sent \(seedBytes) B for a \(closure) B closure; \(banned) bans")
        #expect(seedBytes <= closure * 3 / 2, "seed \(seedBytes) B, closure \(closure) B")
        // The admin sees the ban in the seed's log: once, with the liar's address.
        let seedLog = try #require(f.seed).text
        let lines = seedLog.split(separator: "\n").filter { $0.contains("for chunks that failed verification") }
        #expect(lines.count == 1, "\(seedLog)")
        #expect(
            lines.first?.contains(" at 127.0.0.1:") == true && lines.first?.contains("reported by 127.0.0.1:") == true)
        // finishAll had Nix check every byte of every root (--verify --check-contents).
    }

    @Test func agentsReconnectWhenTheSeedRestarts() throws {
        let f = try SeedFixture(blobKiB: 4096, seedArguments: ["--upload-mbit", "8"])
        let agents = try Self.runSwarm(f, count: 8)
        usleep(1_000_000)
        try f.restartSeed(extra: ["--upload-mbit", "8"])
        let reports = try Self.finishAll(f, agents)
        #expect(reports.count == 8)
    }

    /// A lab on IPv6: the seed and the agents listen on ::1, the seed names the agents to each
    /// other by their IPv6 addresses, and they exchange chunks over them.
    @Test func aSwarmRunsOverIPv6() throws {
        let v6 = ["--listen", "[::1]:0"]
        let f = try SeedFixture(blobKiB: 4096, seedArguments: v6 + ["--http", "[::1]:0", "--upload-mbit", "16"])
        try #require(f.address.hasPrefix("[::1]:"), "\(f.address)")
        let reports = try Self.finishAll(f, try Self.runSwarm(f, count: 4, extra: v6))
        let peerBytes = reports.reduce(0) { $0 + ($1["peer_bytes"] ?? 0) }
        let closure = reports.map { $0["bytes"] ?? 0 }.max() ?? 0
        #expect(
            peerBytes > closure, "peers sent \(peerBytes) B of a \(closure) B closure: \(reports.map { $0.fields })")
    }
}
