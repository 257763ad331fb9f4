// `rookery simulate`, the swarm model behind docs/benchmarks.md's tables, as the docs call it:
// the options reach the model, a random seed replays the same run, and both outputs say so.
import Foundation
import TestSupport
import Testing

@Suite struct SimulateCommandTests {
    static func simulate(_ arguments: [String]) throws -> ProcessResult {
        try NixTool.run(try NixTool.rookeryExecutable, ["simulate"] + arguments, timeoutSeconds: 60)
    }

    static func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try simulate(arguments + ["--json"])
        try #require(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
    }

    @Test func aRandomSeedReplaysTheSameRunAndEveryClientFinishes() throws {
        let options = ["--clients", "6", "--closure-mib", "8", "--paths", "40", "--link-mbit", "100"]
        let first = try Self.json(options + ["--random-seed", "7"])
        let again = try Self.json(options + ["--random-seed", "7"])
        let other = try Self.json(options + ["--random-seed", "8"])
        for run in [first, again, other] {
            #expect(run["clients"] as? Int == 6)
            #expect(run["unfinished"] as? Int == 0)
            #expect((run["completions_s"] as? [Double])?.count == 6)
            let closure = try #require(run["closure_bytes"] as? Int)
            #expect(abs(Double(closure) - 8 * 1_048_576) < 8 * 1_048_576 * 0.01, "\(closure)")
            let tMin = try #require(run["t_min_s"] as? Double)
            let slowest = try #require(run["slowest_s"] as? Double)
            #expect(tMin > 0 && slowest >= tMin)
        }
        // Wall time is the only field that depends on this machine.
        func replayable(_ run: [String: Any]) -> NSDictionary {
            var r = run
            r["wall_s"] = nil
            return NSDictionary(dictionary: r)
        }
        #expect(replayable(first) == replayable(again))
        #expect(replayable(first) != replayable(other))
    }

    /// Numbers the model cannot run on are refused with the usage (exit 64): a chunk size or a
    /// budget whose bytes overflowed stopped the process (SIGILL), a rate of NaN ran to "inf".
    @Test func numbersTheModelCannotRunOnAreRefused() throws {
        for (option, value) in [
            ("--chunk-kib", "5000000"), ("--chunk-kib", "100"), ("--peer-budget-kib", "18446744073709551615"),
            ("--seed-in-flight-kib", "0"), ("--link-mbit", "nan"), ("--seed-mbit", "0"), ("--closure-mib", "inf"),
            ("--latency-ms", "nan"), ("--clients", "0"),
        ] {
            let result = try Self.simulate(["--clients", "2", "--closure-mib", "1", option, value])
            #expect(result.status == 64 && result.stderr.contains(option), "\(option) \(value): \(result.stderr)")
        }
    }

    @Test func theTextLineSaysWhatWasSimulated() throws {
        let result = try Self.simulate(["--clients", "3", "--closure-mib", "4", "--paths", "10", "--chunk-kib", "64"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.hasPrefix("simulate  N=3  closure 4 MiB in "), "\(result.stdoutText)")
        #expect(result.stdoutText.contains("unfinished 0"), "\(result.stdoutText)")
    }
}
