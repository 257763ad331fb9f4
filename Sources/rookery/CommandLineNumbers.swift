// Rates and durations on the command line, as numbers the integers behind them can hold. Read as
// plain Doubles, `nan` or `1e30` reached a conversion to UInt64 (or UInt32 for a sleep), which
// stopped the process; now they are refused with the usage, as the agent's own parser does.
import ArgumentParser

/// A rate in Mbit/s, 0 ≤ r < 1 000 000 (0: no cap, where an upload cap is meant).
struct RateMbit: ExpressibleByArgument {
    let mbit: Double

    init(_ mbit: Double) { self.mbit = mbit }

    init?(argument: String) {
        guard let mbit = Double(argument), mbit.isFinite, mbit >= 0, mbit < 1_000_000 else { return nil }
        self.mbit = mbit
    }

    var bytesPerSecond: UInt64 { UInt64(mbit * 125_000) }

    var defaultValueDescription: String { plain(mbit) }
}

/// A duration in seconds, 0 ≤ s ≤ 1 000 000 (eleven days and a half).
struct Seconds: ExpressibleByArgument {
    let seconds: Double

    init(_ seconds: Double) { self.seconds = seconds }

    init?(argument: String) {
        guard let seconds = Double(argument), seconds.isFinite, seconds >= 0, seconds <= 1_000_000 else { return nil }
        self.seconds = seconds
    }

    var milliseconds: UInt64 { UInt64(seconds * 1000) }

    var defaultValueDescription: String { plain(seconds) }
}

/// "10", not "10.0"; "2.5" as it is.
private func plain(_ value: Double) -> String { value == value.rounded() ? "\(Int(value))" : "\(value)" }
