// Wall-clock timing for the benchmark harness (benchmarks may read the clock; pure modules may not).
import Glibc

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body` `repeats` times and returns the best (least disturbed) duration in seconds.
func bestOf(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<repeats {
        let start = monotonicSeconds()
        try body()
        best = min(best, monotonicSeconds() - start)
    }
    return best
}

let mebibyte = 1024.0 * 1024.0
