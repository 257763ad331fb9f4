// The seed's HTTP face against real clients: Nix 2.8 substitutes and copies from it with
// require-sigs, refuses a broken signature, curl resumes a NAR with a range, Prometheus's own
// parser reads /metrics, and malformed or idle clients cost only their own connection.
import Foundation
import NixFormats
import TestSupport
import Testing

@Suite(.serialized) struct HTTPFaceTests {
    static func nixOptions(_ f: SeedFixture, key: String) -> [String] {
        [
            "--option", "substituters", "http://\(f.httpAddress)", "--option", "trusted-public-keys", key,
            "--option", "require-sigs", "true",
        ]
    }

    /// `nix-store -r` of the toplevel from the seed's cache into a new root, then Nix's own check.
    @discardableResult
    static func substituteAndVerify(_ f: SeedFixture, into name: String) throws -> String {
        let key = f.publicKey.trimmingCharacters(in: .whitespacesAndNewlines)
        let root = f.scratch.tmp.sub(name)
        try NixTool.nix(
            "nix-store", ["--store", root, "-r", f.closure.toplevel] + nixOptions(f, key: key), home: f.scratch.home)
        try NixTool.nix("nix-store", ["--store", root, "--verify", "--check-contents"], home: f.scratch.home)
        return root
    }

    @Test func nixSubstitutesAndCopiesFromTheSeedWithSignaturesRequired() throws {
        let f = try SeedFixture(blobKiB: 2048)
        let key = f.publicKey.trimmingCharacters(in: .whitespacesAndNewlines)
        let root = try Self.substituteAndVerify(f, into: "substituted")
        let valid = try NixTool.nix("nix-store", ["--store", root, "-qR", f.closure.toplevel], home: f.scratch.home)
        #expect(Set(valid.stdoutText.split(separator: "\n").map(String.init)) == Set(f.closure.paths))

        let copied = f.scratch.tmp.sub("copied")
        try NixTool.nix(
            "nix",
            [
                "copy", "--from", "http://\(f.httpAddress)", "--to", copied, f.closure.toplevel, "--option",
                "trusted-public-keys", key,
            ],
            home: f.scratch.home)
        try NixTool.nix("nix-store", ["--store", copied, "--verify", "--check-contents"], home: f.scratch.home)
        #expect(f.storeEntries(copied).count == f.closure.paths.count)
    }

    @Test func nixRefusesANarinfoWhoseSignatureDoesNotVerify() throws {
        let f = try SeedFixture()
        // Same key name, other key material: every Sig line names the trusted key and fails it.
        // The closure is published again with that key, and the seed serves only that manifest.
        let rookery = try NixTool.rookeryExecutable
        _ = try NixTool.run(
            rookery,
            ["keygen", "raven-test-1", "--secret", f.scratch.tmp.sub("sk2"), "--public", f.scratch.tmp.sub("pk2")])
        f.state = f.scratch.tmp.sub("state2")
        let published = try NixTool.run(
            rookery,
            [
                "publish", "--state", f.state, "--store", f.scratch.store, "--key", f.scratch.tmp.sub("sk2"),
                f.closure.toplevel,
            ],
            environment: NixTool.environment(home: f.scratch.home))
        try #require(published.status == 0, "\(published.stderr)")
        try f.restartSeed(extra: ["--key", f.scratch.tmp.sub("sk2")])
        let key = f.publicKey.trimmingCharacters(in: .whitespacesAndNewlines)
        let root = f.scratch.tmp.sub("refused")
        let result = try NixTool.nixAllowingFailure(
            "nix-store", ["--store", root, "-r", f.closure.toplevel] + Self.nixOptions(f, key: key),
            home: f.scratch.home)
        #expect(result.status != 0)
        #expect(result.stderr.contains("is not signed by any of the keys"), "\(result.stderr)")
        // The narinfo does carry a Sig under the trusted key's name: it is the signature that fails.
        let hashPart = String(f.closure.toplevel.dropFirst("/nix/store/".count).prefix(32))
        let narinfo = try RawSocket.exchange(
            f.httpAddress, "GET /\(hashPart).narinfo HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(narinfo.contains("\nSig: raven-test-1:"))
        #expect(f.storeEntries(root).isEmpty)
    }

    @Test func nixResumesANarCutOffMidwayWithARange() throws {
        // The seed cuts the first large NAR after 1 MB, as a failing network would; Nix 2.8
        // retries and, since the answer had Accept-Ranges and no Content-Encoding, resumes.
        let f = try SeedFixture(blobKiB: 4096, seedArguments: ["--fault-cut-first-nar-after", "1000000"])
        try Self.substituteAndVerify(f, into: "resumed")
        let status = try RawSocket.exchange(f.httpAddress, "GET /status HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(status.contains("\"httpPartialResponses\":1"), "\(status)")
    }

    @Test func curlResumesAnInterruptedNarWithARange() throws {
        let f = try SeedFixture(blobKiB: 4096)
        let largest = try #require(
            try f.closure.paths.max { try narSize(f, $0) < narSize(f, $1) })
        let hashPart = String(largest.dropFirst("/nix/store/".count).prefix(32))
        let narinfo = try NarInfo.parse(
            try RawSocket.exchange(f.httpAddress, "GET /\(hashPart).narinfo HTTP/1.1\r\nConnection: close\r\n\r\n")
                .components(separatedBy: "\r\n\r\n")[1])
        let url = "http://\(f.httpAddress)/\(narinfo.url)"
        let dump = try NixTool.nix(
            "nix-store", ["--store", f.scratch.store, "--dump", f.scratch.store + largest], home: f.scratch.home)
        #expect(narinfo.narSize == UInt64(dump.stdout.count))

        // A download cut off a third of the way in, then resumed: curl asks for `bytes=N-`.
        let partial = f.scratch.tmp.sub("partial.nar")
        try Data(dump.stdout.prefix(dump.stdout.count / 3)).write(to: URL(fileURLWithPath: partial))
        let curl = try NixTool.run(try NixTool.which("curl"), ["-sS", "-f", "-C", "-", "-o", partial, "-D", "-", url])
        #expect(curl.status == 0, "\(curl.stderr)")
        #expect(curl.stdoutText.contains("HTTP/1.1 206"), "\(curl.stdoutText)")
        #expect(curl.stdoutText.contains("Content-Range: bytes \(dump.stdout.count / 3)-"))
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: partial))) == dump.stdout)

        let head = try RawSocket.exchange(
            f.httpAddress, "HEAD /\(narinfo.url) HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(head.contains("Content-Length: \(dump.stdout.count)\r\n"))
        #expect(head.contains("Accept-Ranges: bytes"))
        #expect(!head.lowercased().contains("content-encoding"))
        #expect(head.hasSuffix("\r\n\r\n"), "a HEAD answer has no body")
        let beyond = try RawSocket.exchange(
            f.httpAddress,
            "GET /\(narinfo.url) HTTP/1.1\r\nRange: bytes=\(dump.stdout.count)-\r\nConnection: close\r\n\r\n")
        #expect(beyond.hasPrefix("HTTP/1.1 416"))
        #expect(beyond.contains("Content-Range: bytes */\(dump.stdout.count)"))
    }

    @Test func absentPathsAre404AndOtherMethods405() throws {
        let f = try SeedFixture()
        let missing = try RawSocket.exchange(
            f.httpAddress, "GET /00000000000000000000000000000000.narinfo HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(missing.hasPrefix("HTTP/1.1 404"))
        let nar = try RawSocket.exchange(
            f.httpAddress, "GET /nar/\(String(repeating: "0", count: 52)).nar HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(nar.hasPrefix("HTTP/1.1 404"))
        let post = try RawSocket.exchange(
            f.httpAddress, "POST /nix-cache-info HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
        #expect(post.hasPrefix("HTTP/1.1 405"))
        // Keep-alive and pipelining: two answers on one connection, in order.
        let two = try RawSocket.exchange(
            f.httpAddress,
            "GET /nix-cache-info HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(two.components(separatedBy: "HTTP/1.1 ").map { $0.prefix(3) } == ["", "200", "404"])
        // More pipelined requests than the server queues before it stops reading: all answered.
        let many =
            String(repeating: "GET /nix-cache-info HTTP/1.1\r\n\r\n", count: 99)
            + "GET /nix-cache-info HTTP/1.1\r\nConnection: close\r\n\r\n"
        let answers = try RawSocket.exchange(f.httpAddress, many)
        #expect(answers.components(separatedBy: "HTTP/1.1 200 OK").count - 1 == 100)
    }

    @Test func malformedAndIdleClientsCostOnlyTheirOwnConnection() throws {
        let f = try SeedFixture(seedArguments: ["--http-head-timeout", "1"])
        // A thousand idle connections, then normal requests still get answers.
        var idle: [RawSocket] = []
        for _ in 0..<1000 { idle.append(try RawSocket(f.httpAddress)) }
        let info = try RawSocket.exchange(f.httpAddress, "GET /nix-cache-info HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(info.hasPrefix("HTTP/1.1 200"))
        #expect(info.contains("StoreDir: /nix/store"))
        idle.removeAll()

        let huge = "GET / HTTP/1.1\r\nX-Pad: " + String(repeating: "a", count: 40_000) + "\r\n\r\n"
        #expect(try RawSocket.exchange(f.httpAddress, huge).hasPrefix("HTTP/1.1 431"))
        #expect(try RawSocket.exchange(f.httpAddress, "BLAH\u{1}\r\n\r\n").hasPrefix("HTTP/1.1 400"))
        let body = "GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"
        #expect(try RawSocket.exchange(f.httpAddress, body).hasPrefix("HTTP/1.1 413"))

        // A client that never finishes its head is closed after the head timeout (1 s here),
        // and others are served meanwhile.
        let slow = try RawSocket(f.httpAddress, seconds: 10)
        slow.send("GET /nix-cache-info HTTP/1.1\r\nHost: x")
        #expect(
            try RawSocket.exchange(f.httpAddress, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n").hasPrefix(
                "HTTP/1.1 200"))
        let started = Date()
        #expect(slow.receive().isEmpty, "closed without an answer")
        #expect(Date().timeIntervalSince(started) < 8)
        #expect(f.seed?.process.isRunning == true)
    }

    @Test func metricsParseWithPrometheusOwnParser() throws {
        let f = try SeedFixture()
        let root = f.scratch.tmp.sub("root")
        #expect(try f.runAgent(root: root).status == 0)
        let response = try RawSocket.exchange(f.httpAddress, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
        let text = response.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        let file = f.scratch.tmp.sub("metrics.txt")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let script = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
            sent = families['rookery_chunk_bytes_sent'].samples[0].value
            nar = families['rookery_manifest_nar_bytes'].samples[0].value
            distinct = families['rookery_manifest_chunk_bytes'].samples[0].value
            print(len(families), int(sent), int(nar), int(distinct))
            """
        // Debian's python3, which has python3-prometheus-client (scripts/bootstrap.sh).
        let python = try NixTool.run("/usr/bin/python3", ["-c", script, file])
        #expect(python.status == 0, "\(python.stderr)")
        let numbers = python.stdoutText.split(separator: " ").compactMap {
            UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try #require(numbers.count == 4, "\(python.stdoutText)")
        #expect(numbers[0] >= 10)
        // One agent fetched the whole closure from the seed alone, each repeated chunk once.
        #expect(numbers[1] == numbers[3] && numbers[3] < numbers[2], "\(numbers)")
    }

    private func narSize(_ f: SeedFixture, _ path: String) throws -> UInt64 {
        let r = try NixTool.nix("nix-store", ["--store", f.scratch.store, "-q", "--size", path], home: f.scratch.home)
        return UInt64(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}
