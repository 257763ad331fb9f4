// The boot path on loopback with real processes: raven's HTTP face hands out the menu, kernel and
// initrd of a published system; the kernel command line from that menu drives the agent's
// automatic mode into an empty root that Nix then accepts; and each way it can fail gives one
// clear line and a non-zero exit.
import Foundation
import NixFormats
import TestSupport
import Testing

@Suite(.serialized) struct BootIntegrationTests {
    static func get(_ f: SeedFixture, _ path: String, extra: String = "") throws -> String {
        try RawSocket.exchange(
            f.httpAddress, "GET \(path) HTTP/1.1\r\nHost: \(f.httpAddress)\r\n\(extra)Connection: close\r\n\r\n")
    }

    static func body(_ response: String) -> String {
        response.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
    }

    /// The kernel command line of the newest generation in `/boot.ipxe`.
    static func commandLine(_ f: SeedFixture) throws -> String {
        let script = body(try get(f, "/boot.ipxe"))
        let kernel = try #require(script.split(separator: "\n").first { $0.hasPrefix("kernel ") }, "\(script)")
        return kernel.split(separator: " ").dropFirst(2).joined(separator: " ")
    }

    @Test func theSeedServesMenusKernelAndInitrd() throws {
        let f = try SeedFixture()
        let hashPart = String(f.closure.toplevel.dropFirst("/nix/store/".count).prefix(32))
        let key = f.publicKey.trimmingCharacters(in: .whitespacesAndNewlines)
        let seedPort = f.address.split(separator: ":").last!
        let line = try Self.commandLine(f)
        #expect(
            line
                == "console=ttyS0 loglevel=4 init=\(f.closure.toplevel)/init rookery.seed=127.0.0.1:\(seedPort) rookery.key=\(key)"
        )
        let pxe = Self.body(try Self.get(f, "/pxelinux.cfg/default"))
        #expect(pxe.contains("  KERNEL http://\(f.httpAddress)/boot/\(hashPart)/kernel\n"), "\(pxe)")
        #expect(pxe.contains("  APPEND \(line)\n"))

        let initrd = try #require(f.closure.paths.first { $0.hasSuffix("-initrd") })
        let onDisk = try Data(contentsOf: URL(fileURLWithPath: f.scratch.store + initrd + "/initrd"))
        let whole = try RawSocket(f.httpAddress)
        whole.send("GET /boot/\(hashPart)/initrd HTTP/1.1\r\nConnection: close\r\n\r\n")
        let answer = whole.receive()
        let split = try #require(answer.firstRange(of: Array("\r\n\r\n".utf8)))
        #expect(Array(answer[split.upperBound...]) == Array(onDisk))
        let ranged = try Self.get(f, "/boot/\(hashPart)/initrd", extra: "Range: bytes=10-19\r\n")
        #expect(ranged.hasPrefix("HTTP/1.1 206"))
        #expect(ranged.contains("Content-Range: bytes 10-19/\(onDisk.count)"))
        #expect(try Self.get(f, "/boot/\(hashPart)/vmlinuz").hasPrefix("HTTP/1.1 404"))

        // A machine named in STATE/boot-macs gets its own pxelinux file and an iPXE jump.
        try "# lab\n52:54:00:AA:00:01 \(f.closure.toplevel)\n".write(
            toFile: f.state + "/boot-macs", atomically: true, encoding: .utf8)
        try f.restartSeed()
        let perMAC = Self.body(try Self.get(f, "/pxelinux.cfg/01-52-54-00-aa-00-01"))
        #expect(perMAC.contains("DEFAULT gen1\n"), "\(perMAC)")
        #expect(Self.body(try Self.get(f, "/boot.ipxe")).contains("iseq ${net0/mac} 52:54:00:aa:00:01 && goto gen1 ||"))
        #expect(try Self.get(f, "/pxelinux.cfg/01-52-54-00-aa-00-02").hasPrefix("HTTP/1.1 404"))
    }

    /// A running seed serves what was published since — a closure by its toplevel, a system in
    /// the boot menus — as soon as `rookery publish` wrote it (it watches STATE/manifests), and
    /// on SIGHUP (`systemctl reload`); a manifest removed from the state leaves the menus; no
    /// restart. A file there that does not decode (a disk error, a copy cut short) costs one
    /// line, not the reload.
    @Test func aReloadServesWhatWasPublishedSince() throws {
        let f = try SeedFixture()
        let initial = try FileManager.default.contentsOfDirectory(atPath: f.state + "/manifests")
        try #require(initial.count == 1)
        let whole = try Data(contentsOf: URL(fileURLWithPath: f.state + "/manifests/" + initial[0]))
        let cut = f.state + "/manifests/" + String(repeating: "0", count: 64) + ".manifest"
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cut))
        let seed = try #require(f.seed)
        _ = try seed.waitForLine(containing: "reloaded; 0 new manifests, 1 served")
        let dependency = try #require(f.closure.paths.first { $0 != f.closure.toplevel && !$0.hasSuffix("-initrd") })
        for arguments in [["--label", "second", f.closure.toplevel], [dependency]] {
            let published = try NixTool.run(
                try NixTool.rookeryExecutable,
                ["publish", "--state", f.state, "--store", f.scratch.store, "--key", f.scratch.tmp.sub("sk")]
                    + arguments, environment: NixTool.environment(home: f.scratch.home))
            try #require(published.status == 0, "\(published.stderr)")
            #expect(
                published.stderr == "rookery publish: skipping a manifest file: '\(cut)' is corrupt: data ends early\n")
        }
        // No signal: the publishes themselves are seen.
        _ = try seed.waitForLine(containing: "manifests, 3 served")
        _ = try seed.waitForLine(
            containing: "rookery seed: skipping a manifest file: '\(cut)' is corrupt: data ends early")
        let after = try NixTool.run(
            try f.agent,
            ["--seed", f.address, "--trusted-key", f.publicKey, "--root", f.scratch.tmp.sub("after"), dependency],
            timeoutSeconds: 120)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(Self.body(try Self.get(f, "/boot.ipxe")).contains("generation 2: second"))
        try FileManager.default.removeItem(atPath: f.state + "/manifests/" + initial[0])
        func menuLeftGeneration2() throws -> Bool {
            for _ in 0..<100 {
                if !Self.body(try Self.get(f, "/boot.ipxe")).contains("generation 2") { return true }
                usleep(50_000)
            }
            return false
        }
        #expect(try menuLeftGeneration2())
        let menu = Self.body(try Self.get(f, "/boot.ipxe"))
        #expect(menu.contains("generation 1: second") && !menu.contains("generation 2"), "\(menu)")
        // SIGHUP reloads too (nothing new: the line once more).
        let reloads = seed.text.components(separatedBy: "reloaded;").count
        kill(seed.process.processIdentifier, SIGHUP)
        for _ in 0..<200 where seed.text.components(separatedBy: "reloaded;").count == reloads { usleep(10_000) }
        #expect(seed.text.components(separatedBy: "reloaded;").count == reloads + 1, "\(seed.text)")
        #expect(seed.text.hasSuffix("reloaded; 0 new manifests, 3 served\n"), "\(seed.text)")
    }

    @Test func theMenusCommandLineDrivesTheAgentsAutomaticMode() throws {
        let f = try SeedFixture()
        let root = f.scratch.tmp.sub("mnt-root")
        let cmdline = f.scratch.tmp.sub("cmdline")
        try (try Self.commandLine(f) + " rookery.root=\(root) rookery.listen=127.0.0.1:0\n").write(
            toFile: cmdline, atomically: true, encoding: .utf8)
        let result = try NixTool.run(
            try f.agent, ["--cmdline", cmdline, "--config", "/nonexistent"], timeoutSeconds: 120)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("rookery-agent: fetching \(f.closure.toplevel)"))
        try SwarmIntegrationTests.checkWithNix(f, root: root)
    }

    @Test func aWrongKeyOrAnAbsentSeedGivesOneLineAndNothingWritten() throws {
        let f = try SeedFixture()
        let root = f.scratch.tmp.sub("mnt-root")
        let cmdline = f.scratch.tmp.sub("cmdline")
        let other = "raven-test-1:ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="
        let wrong = try Self.commandLine(f).split(separator: " ").map {
            $0.hasPrefix("rookery.key=") ? "rookery.key=\(other)" : String($0)
        }.joined(separator: " ")
        try (wrong + " rookery.root=\(root) rookery.listen=127.0.0.1:0").write(
            toFile: cmdline, atomically: true, encoding: .utf8)
        let refused = try NixTool.run(try f.agent, ["--cmdline", cmdline, "--config", "/nonexistent"])
        #expect(refused.status != 0)
        #expect(refused.stderr.split(separator: "\n").last?.contains("manifest refused") == true, "\(refused.stderr)")
        #expect(f.storeEntries(root).isEmpty)

        // Nobody listens on port 1: two attempts, one second apart, then the line.
        try
            "init=\(f.closure.toplevel)/init rookery.seed=127.0.0.1:1 rookery.key=\(other) rookery.root=\(root) rookery.retries=2"
            .write(toFile: cmdline, atomically: true, encoding: .utf8)
        let started = Date()
        let absent = try NixTool.run(try f.agent, ["--cmdline", cmdline, "--config", "/nonexistent"])
        #expect(absent.status != 0)
        #expect(absent.stderr.contains("attempt 1 of 2, retrying"), "\(absent.stderr)")
        #expect(absent.stderr.split(separator: "\n").last?.contains("cannot reach the seed") == true)
        #expect(Date().timeIntervalSince(started) >= 1)
        #expect(f.storeEntries(root).isEmpty)

        try "rookery.seed=127.0.0.1:1".write(toFile: cmdline, atomically: true, encoding: .utf8)
        let incomplete = try NixTool.run(try f.agent, ["--cmdline", cmdline, "--config", "/nonexistent"])
        #expect(incomplete.status != 0)
        #expect(incomplete.stderr == "rookery-agent: the kernel command line has no rookery.key=NAME:BASE64\n")

        // A value the agent refuses is named as the kernel parameter it was, not the option.
        try "init=\(f.closure.toplevel)/init rookery.seed=raven:7020 rookery.key=\(other) rookery.root=\(root)".write(
            toFile: cmdline, atomically: true, encoding: .utf8)
        let named = try NixTool.run(try f.agent, ["--cmdline", cmdline, "--config", "/nonexistent"])
        #expect(named.status != 0)
        #expect(
            named.stderr
                == "rookery-agent: bad kernel parameter rookery.seed=raven:7020: wants IP:PORT (an IP address: "
                + "the initrd looks no names up)\n", "\(named.stderr)")
        #expect(f.storeEntries(root).isEmpty)
    }
}
