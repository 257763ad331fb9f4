// A small seeded mutator (SplitMix64): the fuzzer of last resort when libFuzzer is not linked,
// and the engine of the bounded fuzz tests. Deterministic for a given seed.
import Swarm

public struct Mutator {
    private var random: SplitMix64

    public init(seed: UInt64) { random = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { random.next() }

    public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    /// One to four random edits: flip, set to an interesting value, insert, delete, truncate,
    /// duplicate a span, or splice in a little-endian length.
    public mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            let at = below(bytes.count + 1)
            switch below(7) {
            case 0 where !bytes.isEmpty:
                bytes[min(at, bytes.count - 1)] ^= UInt8(1 << below(8))
            case 1 where !bytes.isEmpty:
                bytes[min(at, bytes.count - 1)] = [0, 1, 0x7f, 0x80, 0xff, 0x2f, 0x2e][below(7)]
            case 2:
                bytes.insert(UInt8(truncatingIfNeeded: next()), at: at)
            case 3 where !bytes.isEmpty:
                bytes.remove(at: min(at, bytes.count - 1))
            case 4:
                bytes = Array(bytes.prefix(at))
            case 5 where !bytes.isEmpty:
                let start = below(bytes.count)
                let span = bytes[start..<min(bytes.count, start + 1 + below(32))]
                bytes.insert(contentsOf: span, at: at)
            default:
                let value: UInt64 = [0, 1, 7, 8, 255, 256, 4096, 1 << 32, UInt64.max][below(9)]
                let le = withUnsafeBytes(of: value.littleEndian) { Array($0) }
                let start = min(at, bytes.count)
                bytes.replaceSubrange(start..<min(bytes.count, start + 8), with: le)
            }
        }
        return bytes
    }

    /// How many inputs a run fed its target, and how many of them the decoder accepted.
    public struct Run: Equatable, Sendable {
        public var inputs = 0
        public var accepted = 0
        public init() {}
    }

    /// Runs `target` on its seeds and `iterations` mutants.
    @discardableResult
    public static func fuzz(_ target: FuzzTarget, seed: UInt64, iterations: Int, corpus: [[UInt8]] = []) -> Run {
        var mutator = Mutator(seed: seed)
        let pool = target.seeds + corpus
        var run = Run()
        func feed(_ input: [UInt8]) {
            run.inputs += 1
            if target.run(input) { run.accepted += 1 }
        }
        for input in pool { feed(input) }
        for _ in 0..<iterations {
            var input = pool[mutator.below(pool.count)]
            for _ in 0...mutator.below(3) { input = mutator.mutate(input) }
            feed(input)
        }
        return run
    }
}
