import FuzzTargets
import Testing

/// Every decoder's fuzz target over its seeds and a bounded number of seeded mutants. A finding
/// traps the test process; the seed printed by `rookery-fuzz` reproduces it.
@Suite struct FuzzTests {
    @Test(arguments: FuzzTarget.all.map(\.name))
    func seededMutationFindsNothing(target name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        #expect(!target.seeds.isEmpty)
        let ran = Mutator.fuzz(target, seed: 0x726f_6f6b, iterations: 5_000)
        #expect(ran == target.seeds.count + 5_000)
    }

    @Test func narSeedsAreAcceptedSoMutantsGoDeep() throws {
        // The property check only bites on accepted inputs; the seeds must be such inputs.
        let target = try #require(FuzzTarget.named("nar-parser"))
        for seed in target.seeds {
            #expect(seed.starts(with: [13, 0, 0, 0, 0, 0, 0, 0] + Array("nix-archive-1".utf8)))
            target.run(seed)
        }
    }

    @Test func mutatorIsDeterministic() {
        var a = Mutator(seed: 7)
        var b = Mutator(seed: 7)
        let input = Array("nix-archive-1".utf8)
        for _ in 0..<100 { #expect(a.mutate(input) == b.mutate(input)) }
    }
}
