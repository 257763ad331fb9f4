// `rookery status` as a person sees it: in a terminal (tmux, read back with capture-pane) while a
// real swarm runs, and `--json` checked against what the agents themselves report.
import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct StatusCommandTests {
    @Test func theLiveViewShowsEachPeerAndJSONMatchesTheSwarm() throws {
        // ~4 MiB closure, seed at 8 Mbit/s, three agents that serve each other: a few seconds.
        let f = try SeedFixture(blobKiB: 4096, seedArguments: ["--upload-mbit", "8"])
        let rookery = try NixTool.rookeryExecutable
        let tmux = try NixTool.which("tmux")
        let socket = "rk\(getpid())"
        let tmuxEnvironment = ["TMUX_TMPDIR": f.scratch.tmp.path]
        func tmuxRun(_ arguments: [String]) throws -> ProcessResult {
            try NixTool.run(tmux, ["-L", socket] + arguments, environment: tmuxEnvironment, timeoutSeconds: 20)
        }
        // The tmux server outlives its client. Foundation's Process watches a child through a
        // socket the child inherits, and hands down the test runner's blocked signal mask: perl
        // (Essential in Debian) closes every other descriptor, points the standard ones at
        // /dev/null and clears the mask, so the server holds nothing of ours.
        let command = "\(rookery) status --seed \(f.httpAddress) --interval 0.2 --link-mbit 8; sleep 60"
        let started = try NixTool.run(
            "/usr/bin/perl",
            [
                "-e",
                "use POSIX; sigprocmask(SIG_SETMASK, POSIX::SigSet->new); POSIX::close($_) for 3..1023; open STDIN, '</dev/null'; "
                    + "open STDOUT, '>/dev/null'; open STDERR, '>/dev/null'; exec @ARGV or die",
                tmux, "-L", socket, "new-session", "-d", "-x", "160", "-y", "40", command,
            ],
            environment: tmuxEnvironment.merging(["TERM": "xterm"]) { $1 }, timeoutSeconds: 20)
        try #require(started.status == 0, "\(started.stderr)")
        defer { _ = try? tmuxRun(["kill-server"]) }

        let agents = try (0..<3).map { i in
            try f.startSwarmAgent(root: f.scratch.tmp.sub("root\(i)"), linger: 10, extra: ["--upload-mbit", "16"])
        }
        var sawProgress = false
        var sawAllDone = false
        var whileLingering: ProcessResult?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !sawAllDone {
            let screen = try tmuxRun(["capture-pane", "-p"]).stdoutText
            let peerLines = screen.split(separator: "\n").filter { $0.contains("127.0.0.1:") && $0.contains("%") }
            if peerLines.count == 3 && peerLines.contains(where: { $0.contains("[#") && !$0.contains("done") }) {
                sawProgress = true
            }
            if peerLines.count == 3 && peerLines.allSatisfy({ $0.contains("done") }) && screen.contains("3/3 complete")
            {
                sawAllDone = true
                // The agents linger (serving) for 10 s: the seed still has them as members.
                whileLingering = try NixTool.run(rookery, ["status", "--seed", f.httpAddress, "--json"])
                #expect(screen.contains("seed sent"))
                #expect(screen.contains("T_min"))
                #expect(!screen.contains("\u{1B}"), "capture-pane shows text, not escape codes")
            }
            usleep(100_000)
        }
        #expect(sawProgress, "a progress bar part way")
        #expect(sawAllDone, "all three peers done")

        // The JSON is the swarm the agents report when they end.
        var agentSeedBytes: UInt64 = 0
        for agent in agents {
            #expect(try agent.waitForExit(seconds: 60) == 0)
            agentSeedBytes += AgentReport(agent.text)["seed_bytes"] ?? 0
        }
        let json = try #require(whileLingering)
        try #require(json.status == 0, "\(json.stderr)")
        let status = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any])
        let swarm = try #require((status["swarms"] as? [[String: Any]])?.first)
        let members = try #require(swarm["members"] as? [[String: Any]])
        #expect(members.count == 3)
        #expect(
            members.allSatisfy {
                $0["complete"] as? Bool == true && $0["chunksHeld"] as? Int == swarm["chunks"] as? Int
            })
        // The closure's chunks repeat (NixClosure's zeros): a complete member holds each once.
        let chunkBytes = try #require((swarm["chunkBytes"] as? NSNumber)?.uint64Value)
        #expect(chunkBytes < (swarm["narBytes"] as? NSNumber)?.uint64Value ?? 0)
        #expect(members.allSatisfy { ($0["bytesHeld"] as? NSNumber)?.uint64Value == chunkBytes })
        let fromSeed = members.reduce(UInt64(0)) { $0 + (($1["bytesFromSeed"] as? NSNumber)?.uint64Value ?? 0) }
        #expect(fromSeed == agentSeedBytes, "seed says \(fromSeed), agents say \(agentSeedBytes)")
        #expect((swarm["seedBytesSent"] as? NSNumber)?.uint64Value == agentSeedBytes)

        // Not a terminal: plain lines, no escape codes.
        let plain = try NixTool.run(rookery, ["status", "--seed", f.httpAddress, "--once"])
        #expect(plain.status == 0)
        #expect(plain.stdoutText.contains("manifest "))
        #expect(!plain.stdoutText.contains("\u{1B}"))
        // A name, as an admin types `raven:7080` (localhost: from /etc/hosts, never DNS here).
        let port = f.httpAddress.split(separator: ":").last!
        let named = try NixTool.run(rookery, ["status", "--seed", "localhost:\(port)", "--once"])
        #expect(named.status == 0 && named.stdoutText.contains("manifest "), "\(named.stderr)")
        let unreachable = try NixTool.run(rookery, ["status", "--seed", "127.0.0.1:1", "--once"])
        #expect(unreachable.status != 0)
        #expect(unreachable.stderr.contains("127.0.0.1:1/status: cannot connect"), "\(unreachable.stderr)")
        // `fetch --seed` takes the chunk port: given to status, it says which port it wants.
        let chunkPort = try NixTool.run(rookery, ["status", "--seed", f.address, "--once"])
        #expect(chunkPort.status != 0)
        #expect(
            chunkPort.stderr
                == "Error: \(f.address)/status: the answer is not HTTP (the chunk port? status reads the HTTP face: "
                + "--http, port 7080 by default)\n", "\(chunkPort.stderr)")
    }
}
