// `rookery-fuzz TARGET [options]`: fuzzes one decoder. Built by scripts/fuzz.sh with libFuzzer
// (coverage-guided; options are libFuzzer's, e.g. -max_total_time=60 CORPUS_DIR); in a plain
// build it runs the seeded mutator: `rookery-fuzz TARGET [SECONDS] [SEED]`.
// `rookery-fuzz TARGET --write-seeds DIR` writes the target's seed inputs into DIR;
// `rookery-fuzz --list` prints every target's name.
import CFuzzDriver
import FuzzTargets
import Glibc

/// The target libFuzzer calls back into; set once before the driver starts.
nonisolated(unsafe) var selectedTarget: FuzzTarget?

@main
struct FuzzMain {
    static func main() {
        let args = CommandLine.arguments
        if args.count == 2 && args[1] == "--list" {
            for target in FuzzTarget.all { print(target.name) }
            return
        }
        guard args.count >= 2, let target = FuzzTarget.named(args[1]) else {
            let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
            print("usage: rookery-fuzz TARGET [options]\ntargets: \(names)")
            exit(2)
        }
        selectedTarget = target
        if args.count == 4 && args[2] == "--write-seeds" {
            writeSeeds(target, to: args[3])
            return
        }
        if rookery_libfuzzer_available() != 0 {
            // libFuzzer sees argv without the target name.
            var argv: [UnsafeMutablePointer<CChar>?] = [strdup(args[0])] + args.dropFirst(2).map { strdup($0) } + [nil]
            var argc = Int32(argv.count - 1)
            let rc = argv.withUnsafeMutableBufferPointer { buffer -> Int32 in
                var base: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
                return rookery_libfuzzer_run(&argc, &base) { data, size in
                    _ = selectedTarget!.run(Array(UnsafeBufferPointer(start: data, count: size)))
                    return 0
                }
            }
            exit(rc)
        }
        let seconds = args.count > 2 ? Double(args[2]) ?? 10 : 10
        let seed = args.count > 3 ? UInt64(args[3]) ?? 1 : 1
        var runs = Mutator.Run()
        var round: UInt64 = 0
        let start = now()
        while now() - start < seconds {
            let run = Mutator.fuzz(target, seed: seed &+ round, iterations: 2000)
            runs.inputs += run.inputs
            runs.accepted += run.accepted
            round += 1
        }
        print(
            "rookery-fuzz: \(target.name): \(runs.inputs) inputs (\(runs.accepted) accepted) in \(Int(now() - start)) s, no finding (seeded mutator, seed \(seed))"
        )
    }

    /// Writes the target's seeds as files, to start a libFuzzer corpus past the magic numbers.
    static func writeSeeds(_ target: FuzzTarget, to directory: String) {
        for (i, seed) in target.seeds.enumerated() {
            let path = "\(directory)/seed-\(i)"
            guard let file = fopen(path, "wb") else { continue }
            _ = seed.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
