import FuzzTargets
import Testing

/// Every decoder's fuzz target over its seeds and a bounded number of seeded mutants. A finding
/// traps the test process; the seed printed by `rookery-fuzz` reproduces it.
@Suite struct FuzzTests {
    @Test(arguments: FuzzTarget.all.map(\.name))
    func seededMutationFindsNothing(target name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        #expect(!target.seeds.isEmpty)
        // A property is checked only on accepted inputs: every seed must be one, and so must
        // some of the mutants, or the target tests nothing past the decoder's first refusal.
        // (Few are: 0.1 % of the NAR parser's, whose every length and token must stay intact;
        // libFuzzer's coverage guidance in CI goes where these cannot.)
        for seed in target.seeds { #expect(target.run(seed), "a seed of \(name) is refused") }
        let run = Mutator.fuzz(target, seed: 0x726f_6f6b, iterations: 5_000)
        #expect(run.inputs == target.seeds.count + 5_000)
        #expect(run.accepted > target.seeds.count, "\(name): no mutant of \(run.inputs) accepted")
    }

    @Test func mutatorIsDeterministic() {
        var a = Mutator(seed: 7)
        var b = Mutator(seed: 7)
        let input = Array("nix-archive-1".utf8)
        for _ in 0..<100 { #expect(a.mutate(input) == b.mutate(input)) }
    }
}
