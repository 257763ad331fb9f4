// `rookery peer` with real processes: a machine that holds the closure (as a booted client does)
// serves the next boot wave, so raven sends little; and a peer whose store was altered sends
// MISSING for what no longer matches, never wrong bytes.
import Foundation
import Swarm
import TestSupport
import Testing

@Suite(.serialized) struct PeerIntegrationTests {
    /// `rookery peer` serving `root`, once it has joined the swarm; and its HTTP face's address.
    static func startPeer(_ f: SeedFixture, root: String) throws -> (RunningProcess, http: String) {
        let peer = try RunningProcess(
            try NixTool.rookeryExecutable,
            [
                "peer", "--seed", f.address, "--trusted-key", f.publicKey, "--root", root, "--listen",
                "127.0.0.1:0", "--http", "127.0.0.1:0", f.closure.toplevel,
            ])
        let http = String(try peer.waitForLine(containing: "HTTP (").split(separator: " ").last!)
        _ = try peer.waitForLine(containing: "rookery peer: serving")
        return (peer, http)
    }

    @Test func nixSubstitutesFromABootedPeerWithRavensSignatures() throws {
        // The seed signs nothing on the fly here (no --key): the narinfos carry the signatures
        // raven put in the manifest at publish, which Nix checks against raven's public key.
        let f = try SeedFixture()
        try f.restartSeed(extra: ["--http", "off"])
        let (peer, http) = try Self.startPeer(f, root: try f.rootWithTheClosure("booted"))
        defer { peer.stop() }
        let key = f.publicKey.trimmingCharacters(in: .whitespacesAndNewlines)
        let root = f.scratch.tmp.sub("from-peer")
        try NixTool.nix(
            "nix-store",
            [
                "--store", root, "-r", f.closure.toplevel, "--option", "substituters", "http://\(http)", "--option",
                "trusted-public-keys", key, "--option", "require-sigs", "true",
            ], home: f.scratch.home)
        try NixTool.nix("nix-store", ["--store", root, "--verify", "--check-contents"], home: f.scratch.home)
        #expect(f.storeEntries(root).count == f.closure.paths.count)
        let status = try RawSocket.exchange(http, "GET /status HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(status.contains("\"role\":\"peer\""))
        #expect(status.contains("\"complete\":true"), "\(status)")
        // Its holdings count each distinct chunk once, as the seed counts them (the zeros repeat).
        let body = status.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let swarm = try #require((json["swarms"] as? [[String: Any]])?.first)
        let member = try #require((swarm["members"] as? [[String: Any]])?.first)
        let table = ChunkTable(manifest: try f.manifest())
        #expect(swarm["chunks"] as? Int == table.count && member["chunksHeld"] as? Int == table.count)
        #expect((swarm["chunkBytes"] as? NSNumber)?.uint64Value == table.bytes)
        #expect((member["bytesHeld"] as? NSNumber)?.uint64Value == table.bytes, "\(member)")
        let once = try NixTool.run(try NixTool.rookeryExecutable, ["status", "--peer", http, "--once"])
        #expect(once.status == 0, "\(once.stderr)")
        #expect(once.stdoutText.contains("rookery peer "), "\(once.stdoutText)")
    }

    @Test func aBootedPeerServesTheNextWave() throws {
        // The seed may send 4 Mbit/s: four copies of the 4 MiB closure from it alone would take 34 s.
        let f = try SeedFixture(blobKiB: 4096, seedArguments: ["--upload-mbit", "4"])
        let (peer, _) = try Self.startPeer(f, root: try f.rootWithTheClosure("booted"))
        let agents = try SwarmIntegrationTests.runSwarm(f, count: 4)
        let reports = try SwarmIntegrationTests.finishAll(f, agents)
        let seedBytes = reports.reduce(0) { $0 + ($1["seed_bytes"] ?? 0) }
        let closure = try #require(reports.map { $0["bytes"] ?? 0 }.max())
        peer.stop()  // SIGTERM: it prints what it served and exits 0
        let served = AgentReport(peer.text)["served_bytes"] ?? 0
        print("4 agents with a booted peer: closure \(closure) B, seed sent \(seedBytes) B, the peer \(served) B")
        #expect(peer.process.terminationStatus == 0, "\(peer.text)")
        #expect(seedBytes <= closure / 2, "seed \(seedBytes) B; closure \(closure) B")
        #expect(served >= closure, "\(peer.text)")
    }

    @Test func aPeerWithAnAlteredStoreSendsMissingNotWrongBytes() throws {
        let f = try SeedFixture(blobKiB: 1024, seedArguments: ["--upload-mbit", "16"])
        let root = try f.rootWithTheClosure("booted")
        // Flip one byte of the largest file in the peer's store (someone edited the store).
        let files = try #require(FileManager.default.enumerator(atPath: root + "/nix/store")).compactMap {
            $0 as? String
        }
        let sizes = files.map { name -> (String, Int) in
            let attributes = try? FileManager.default.attributesOfItem(atPath: root + "/nix/store/" + name)
            return (
                name, (attributes?[.type] as? FileAttributeType) == .typeRegular ? (attributes?[.size] as? Int ?? 0) : 0
            )
        }
        let largest = try #require(sizes.max { $0.1 < $1.1 })
        let handle = try #require(FileHandle(forUpdatingAtPath: root + "/nix/store/" + largest.0))
        try handle.seek(toOffset: UInt64(largest.1 / 2))
        let byte = try #require(try handle.read(upToCount: 1))
        try handle.seek(toOffset: UInt64(largest.1 / 2))
        try handle.write(contentsOf: Data([byte[0] ^ 0xFF]))
        try handle.close()
        let (peer, _) = try Self.startPeer(f, root: root)
        defer { peer.stop() }
        let reports = try SwarmIntegrationTests.finishAll(f, try SwarmIntegrationTests.runSwarm(f, count: 2))
        // Nix checked every byte (finishAll); the peer was never caught lying, and it did serve.
        #expect(reports.allSatisfy { ($0["banned"] ?? 0) == 0 }, "\(reports.map { $0.fields })")
        #expect(reports.contains { ($0["peer_bytes"] ?? 0) > 0 }, "\(reports.map { $0.fields })")
    }
}
