// A chunk about to be sent, as the pieces its bytes come from: framing bytes in memory and ranges
// of files on disk. Nothing is read until it is sent, so its size is known before (an upload cap
// admits it first), and a socket can take file pieces straight from the page cache (sendfile)
// or have any part of it copied into a write buffer.
import Glibc

/// Where some bytes of a NAR (or of a chunk held in memory) are.
public enum NarPiece: Sendable, Equatable {
    case bytes(ArraySlice<UInt8>)
    /// `count` bytes of the file at `path` from `offset` on.
    case file(path: String, offset: UInt64, count: Int)

    public var count: Int {
        switch self {
        case .bytes(let b): b.count
        case .file(_, _, let n): n
        }
    }
}

public struct OutgoingChunk: Sendable {
    public let pieces: [NarPiece]
    /// The chunk's size in bytes.
    public let count: Int

    public init(pieces: [NarPiece]) {
        self.pieces = pieces
        count = pieces.reduce(0) { $0 + $1.count }
    }

    /// A chunk already in memory (a peer's cache, or bytes checked or altered before sending).
    public init(bytes: [UInt8]) {
        self.init(pieces: [.bytes(bytes[...])])
    }

    /// Copies the chunk's bytes `range` into `buffer` (exactly `range.count` long), reading file
    /// pieces from disk straight into it. A file shorter than its piece has changed under us.
    public func copy(_ range: Range<Int>, into buffer: UnsafeMutableRawBufferPointer) throws(StoreError) {
        precondition(buffer.count == range.count && range.upperBound <= count, "copy outside the chunk")
        var start = 0
        for piece in pieces {
            let end = start + piece.count
            defer { start = end }
            let lo = max(start, range.lowerBound)
            let hi = min(end, range.upperBound)
            guard lo < hi else { continue }
            let target = UnsafeMutableRawBufferPointer(
                rebasing: buffer[(lo - range.lowerBound)..<(hi - range.lowerBound)])
            switch piece {
            case .bytes(let b):
                let from = b.startIndex + (lo - start)
                b[from..<(from + hi - lo)].withUnsafeBytes { target.copyMemory(from: $0) }
            case .file(let path, let offset, _):
                try FileIO.read(path, at: offset + UInt64(lo - start), into: target)
            }
        }
    }
}
