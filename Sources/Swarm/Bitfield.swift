// Which chunks of a manifest's chunk table a node holds: one bit per chunk index, most
// significant bit first in each byte, spare bits zero (protocol/SPEC.md §6).

public struct Bitfield: Equatable, Sendable {
    public let count: Int
    public private(set) var bytes: [UInt8]
    /// Bits set.
    public private(set) var setCount = 0

    public init(count: Int) {
        self.count = count
        bytes = [UInt8](repeating: 0, count: (count + 7) / 8)
    }

    /// Decodes `bytes` for a table of `count` chunks; nil when the length or a spare bit is wrong.
    public init?(count: Int, bytes: [UInt8]) {
        guard count >= 0, bytes.count == (count + 7) / 8 else { return nil }
        if count % 8 != 0, let last = bytes.last, last & (0xFF >> UInt8(count % 8)) != 0 { return nil }
        self.count = count
        self.bytes = bytes
        setCount = bytes.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    public var isComplete: Bool { setCount == count }

    public subscript(index: Int) -> Bool {
        bytes[index >> 3] & (0x80 >> UInt8(index & 7)) != 0
    }

    /// Sets bit `index`; returns false when it was already set.
    @discardableResult
    public mutating func insert(_ index: Int) -> Bool {
        let mask: UInt8 = 0x80 >> UInt8(index & 7)
        guard bytes[index >> 3] & mask == 0 else { return false }
        bytes[index >> 3] |= mask
        setCount += 1
        return true
    }

    /// Clears bit `index` (a chunk a peer no longer holds); false if it was clear.
    @discardableResult
    public mutating func remove(_ index: Int) -> Bool {
        let mask: UInt8 = 0x80 >> UInt8(index & 7)
        guard bytes[index >> 3] & mask != 0 else { return false }
        bytes[index >> 3] &= ~mask
        setCount -= 1
        return true
    }

    /// Every bit set.
    public static func full(count: Int) -> Bitfield {
        var b = Bitfield(count: count)
        for i in 0..<count { b.insert(i) }
        return b
    }
}
