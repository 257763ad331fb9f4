// Rates, durations and sizes on `rookery`'s command lines: a value no integer behind it can hold
// is refused with the usage (exit 64) and names its option. Before, `nan` or `1e30` reached a
// conversion to UInt64 and stopped the process (SIGILL).
import TestSupport
import Testing

@Suite struct CommandLineNumbersTests {
    static let seed = ["seed", "--state", "/nonexistent", "--http", "off"]
    static let fetcher = ["--seed", "127.0.0.1:1", "--trusted-key", "k:AAAA", "--root", "/nonexistent"]
    static let toplevel = "/nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-x"

    /// (the command before the option, the option, its value, what follows it)
    @Test(arguments: [
        (seed, "--upload-mbit", "nan", [String]()), (seed, "--idle-timeout", "1e30", []),
        (seed, "--http-head-timeout", "-1", []), (seed, "--in-flight-kib", "18446744073709551615", []),
        (["peer"] + fetcher, "--upload-mbit", "inf", []), (["fetch"] + fetcher, "--linger", "nan", [toplevel]),
        (["status", "--seed", "127.0.0.1:1"], "--interval", "1e9", []),
        (["status", "--seed", "127.0.0.1:1"], "--link-mbit", "nan", []), (["demo"], "--seed-mbit", "1e30", []),
        (["demo"], "--timeout", "inf", []),
    ])
    func aNumberNoIntegerHoldsIsRefused(command: [String], option: String, value: String, rest: [String]) throws {
        let arguments = command + [option, value] + rest
        let result = try NixTool.run(try NixTool.rookeryExecutable, arguments, timeoutSeconds: 20)
        // The error line itself names the option (the usage that follows names them all).
        let error = result.stderr.split(separator: "\n").first ?? ""
        #expect(result.status == 64 && error.contains(option), "\(arguments): \(result.stderr)")
    }
}
