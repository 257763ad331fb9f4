// The agent's kernel parameters: the words of /proc/cmdline and of the initrd's file.
import BootFormats
import Testing

@Suite struct BootParametersTests {
    let key = "raven-1:ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="
    let top = "/nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-nixos-system-lab-24.05"

    @Test func aNixOSCommandLineBecomesTheAgentsArguments() throws {
        let line =
            "BOOT_IMAGE=x init=\(top)/init console=ttyS0 rookery.seed=10.0.0.1:7020 rookery.key=\(key) loglevel=4\n"
        let p = try BootParameters.parse(commandLine: line)
        #expect(
            p.arguments == [
                "--seed", "10.0.0.1:7020", "--trusted-key", key, "--root", "/mnt-root", "--listen", "0.0.0.0:7021", top,
            ])
        #expect(p.attempts == BootParameters.defaultAttempts)
    }

    @Test func theFileFillsInAndTheCommandLineWins() throws {
        let file = "# raven\nrookery.seed=10.0.0.9:7020\nrookery.key=\(key)\nrookery.retries=2 rookery.linger=5\n"
        let p = try BootParameters.parse(
            commandLine:
                "rookery.seed=10.0.0.1:7020 rookery.key=other:AAAA rookery.toplevel=\(top) rookery.root=\"/mnt root\"",
            file: file)
        #expect(p.arguments.prefix(2) == ["--seed", "10.0.0.1:7020"])
        #expect(p.arguments.filter { $0 == "--trusted-key" }.count == 2)
        #expect(p.arguments.contains("/mnt root"))
        #expect(p.arguments.contains("--linger"))
        #expect(p.arguments.last == top)
        #expect(p.attempts == 2)
    }

    /// White space as the kernel's isspace() knows it, and a file saved with CRLF line ends:
    /// "\r\n" is one Swift Character, and such a file was one word (its seed read as
    /// "10.0.0.9:7020\r\nrookery.key=…", and no key found).
    @Test func anyWhiteSpaceAndCRLFLinesSeparateWords() throws {
        let file = "# raven\r\nrookery.seed=10.0.0.9:7020\r\nrookery.key=\(key)\r\n#rookery.linger=9\r\n"
        let p = try BootParameters.parse(
            commandLine: "init=\(top)/init\rrookery.retries=2\u{0B}loglevel=4\u{0C}\n", file: file)
        #expect(
            p.arguments == [
                "--seed", "10.0.0.9:7020", "--trusted-key", key, "--root", "/mnt-root", "--listen", "0.0.0.0:7021", top,
            ])
        #expect(p.attempts == 2)
        // "=" followed by a combining mark is one Character, yet still the kernel's separator.
        let q = try BootParameters.parse(commandLine: "rookery.seed=\u{301}x rookery.key=\(key) init=\(top)/init")
        #expect(q.arguments.prefix(2) == ["--seed", "\u{301}x"])
    }

    @Test func whatIsMissingOrWrongIsNamed() {
        #expect(throws: BootParameters.Failure.missing("rookery.seed=IP:PORT")) {
            try BootParameters.parse(commandLine: "init=\(top)/init rookery.key=\(key)")
        }
        #expect(throws: BootParameters.Failure.missing("rookery.key=NAME:BASE64")) {
            try BootParameters.parse(commandLine: "init=\(top)/init rookery.seed=1.2.3.4:5")
        }
        #expect(throws: BootParameters.Failure.invalid("init", "/sbin")) {
            try BootParameters.parse(commandLine: "init=/sbin/init rookery.seed=1.2.3.4:5 rookery.key=\(key)")
        }
        #expect(throws: BootParameters.Failure.invalid("rookery.retries", "0")) {
            try BootParameters.parse(
                commandLine: "init=\(top)/init rookery.seed=1.2.3.4:5 rookery.key=\(key) rookery.retries=0")
        }
    }

    @Test func retriesBackOffAndOnlyForAnAbsentSeed() {
        #expect((1...8).map { BootParameters.backoff(beforeAttempt: $0) } == [0, 1, 2, 4, 8, 16, 30, 30])
        #expect(BootParameters.isRetryable("cannot reach the seed at 10.0.0.1:7020: connection refused"))
        #expect(!BootParameters.isRetryable("manifest refused: no trusted signature"))
    }
}
