// A 32-byte digest held inline (no heap), so chunk and NAR hashes are cheap values.

/// A 256-bit digest (BLAKE2b-256 or SHA-256 output).
public struct Digest256: Hashable, Sendable, Comparable, CustomStringConvertible {
    // Four words inline: equality and hashing stay cheap for the thousands of chunk ids per manifest.
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public static let byteCount = 32

    init() {}

    /// Builds a digest from exactly 32 bytes; nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        Swift.withUnsafeMutableBytes(of: &words) { raw in
            // One copy from contiguous storage; the byte loop is for other collections only
            // (unspecialized across modules, it cost microseconds per digest under perf).
            if bytes.withContiguousStorageIfAvailable({ raw.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
                for (i, b) in bytes.enumerated() { raw[i] = b }
            }
        }
    }

    /// The same from an array's slice, the decoders' case: not generic, so no type metadata is
    /// looked up per call from other modules (it showed under perf, decoding a manifest).
    public init?(bytes: ArraySlice<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        Swift.withUnsafeMutableBytes(of: &words) { raw in bytes.withUnsafeBytes { raw.copyMemory(from: $0) } }
    }

    /// The digest's bytes, in order.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: words) { Array($0) }
    }

    /// Calls `body` with the digest's 32 bytes, without making an array of them.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words, body)
    }

    /// Lower-case hex, as libsodium and `sha256sum` print it.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        withUnsafeBytes(of: words) { raw in
            for b in raw {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    public static func == (a: Digest256, b: Digest256) -> Bool {
        a.words == b.words
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Byte-wise order, so sorted lists of digests are stable across platforms.
    public static func < (a: Digest256, b: Digest256) -> Bool {
        a.bytes.lexicographicallyPrecedes(b.bytes)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        Swift.withUnsafeMutableBytes(of: &words, body)
    }
}
