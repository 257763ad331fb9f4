// The input of every sans-IO decoder: bytes received so far and how far they were consumed.

/// A read position over a buffer of received bytes. Decoders advance it and hand out slices
/// of it (no copy); the caller drops the consumed prefix when it likes.
public struct ByteCursor: Sendable {
    public let bytes: ArraySlice<UInt8>
    public private(set) var position: Int

    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    public var remaining: Int { bytes.endIndex - position }
    public var isAtEnd: Bool { position == bytes.endIndex }

    /// Takes up to `count` bytes.
    public mutating func take(upTo count: Int) -> ArraySlice<UInt8> {
        let n = min(count, remaining)
        let slice = bytes[position..<(position + n)]
        position += n
        return slice
    }

    public mutating func takeByte() -> UInt8? {
        guard position < bytes.endIndex else { return nil }
        defer { position += 1 }
        return bytes[position]
    }
}
