// A chunk is a slice of one store path's NAR; it is named by its BLAKE2b-256, so the same path
// gives the same chunks in every generation that contains it.
import Sodium

public struct ChunkID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let digest: Digest256

    public init(_ digest: Digest256) { self.digest = digest }

    /// The id of `bytes`: their BLAKE2b-256.
    public init<C: Collection<UInt8>>(of bytes: C) { digest = Blake2b256.hash(bytes) }

    public var description: String { String(digest.hex.prefix(16)) }

    public static func < (a: ChunkID, b: ChunkID) -> Bool { a.digest < b.digest }
}

/// How a path's NAR is cut: fixed-size slices from offset 0, the last one shorter.
public struct ChunkLayout: Equatable, Sendable {
    public static let minimumChunkSize: UInt32 = 64 * 1024
    public static let maximumChunkSize: UInt32 = 4 * 1024 * 1024
    public static let defaultChunkSize: UInt32 = 128 * 1024

    public let chunkSize: UInt32

    public init(chunkSize: UInt32) throws(WireError) {
        guard chunkSize >= Self.minimumChunkSize, chunkSize <= Self.maximumChunkSize,
            chunkSize & (chunkSize - 1) == 0
        else {
            throw .malformed("chunk size \(chunkSize) is not a power of two in 64 KiB…4 MiB")
        }
        self.chunkSize = chunkSize
    }

    /// Number of chunks of a NAR of `narSize` bytes (NARs are never empty).
    public func chunkCount(narSize: UInt64) -> Int {
        // Written so that no narSize (it comes off the wire) can overflow.
        let size = UInt64(chunkSize)
        return Int(narSize / size + (narSize % size == 0 ? 0 : 1))
    }

    /// The NAR byte range of chunk `index`.
    public func range(of index: Int, narSize: UInt64) -> Range<UInt64> {
        let start = UInt64(index) * UInt64(chunkSize)
        return start..<min(start + UInt64(chunkSize), narSize)
    }
}
