// The fuzz targets: one per decoder. Each takes arbitrary bytes, must never crash, and checks
// a round-trip property where the decoder accepts the input. Driven by `rookery-fuzz`
// (libFuzzer or built-in mutation) and by the seeded mutation tests.
import NixFormats

public struct FuzzTarget: Sendable {
    public let name: String
    /// Inputs that reach deep into the decoder, for mutation to start from.
    public let seeds: [[UInt8]]
    /// Runs one input and returns whether the decoder accepted it, so that its properties were
    /// checked (the tests see to it that mutants get that far). Traps (via `precondition`) when
    /// a property fails: that is a finding.
    public let run: @Sendable ([UInt8]) -> Bool

    public static let all: [FuzzTarget] = [
        narParser, narInfo, cacheInfo, registration, keys, frameDecoder, manifest, httpRequest, httpResponse,
        bootParameters, diskLayout, bootMacs,
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
