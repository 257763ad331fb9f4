// Rates, durations and sizes on `rookery`'s command lines: a value no integer behind it can hold
// is refused with the usage (exit 64) and names its option. Before, `nan` or `1e30` reached a
// conversion to UInt64 and stopped the process (SIGILL).
import TestSupport
import Testing

@Suite struct CommandLineNumbersTests {
    @Test(arguments: [
        ["seed", "--state", "/nonexistent", "--http", "off", "--upload-mbit", "nan"],
        ["seed", "--state", "/nonexistent", "--http", "off", "--idle-timeout", "1e30"],
        ["seed", "--state", "/nonexistent", "--http", "off", "--http-head-timeout", "-1"],
        ["seed", "--state", "/nonexistent", "--http", "off", "--in-flight-kib", "18446744073709551615"],
        ["peer", "--seed", "127.0.0.1:1", "--trusted-key", "k:AAAA", "--root", "/nonexistent", "--upload-mbit", "inf"],
        [
            "fetch", "--seed", "127.0.0.1:1", "--trusted-key", "k:AAAA", "--root", "/nonexistent", "--linger", "nan",
            "/nix/store/aap2hphvk98rkk9ywlqpp587rjdcgnc2-x",
        ],
        ["status", "--seed", "127.0.0.1:1", "--interval", "1e9"],
        ["status", "--seed", "127.0.0.1:1", "--link-mbit", "nan"],
        ["demo", "--seed-mbit", "1e30"],
        ["demo", "--timeout", "inf"],
    ])
    func aNumberNoIntegerHoldsIsRefused(arguments: [String]) throws {
        let result = try NixTool.run(try NixTool.rookeryExecutable, arguments, timeoutSeconds: 20)
        let option = arguments[arguments.count - (arguments[0] == "fetch" ? 3 : 2)]
        // The error line itself names the option (the usage that follows names them all).
        let error = result.stderr.split(separator: "\n").first ?? ""
        #expect(result.status == 64 && error.contains(option), "\(arguments): \(result.stderr)")
    }
}
