// Where each byte of a store path's NAR comes from: the NAR's framing (kept in memory, small)
// or a range of one file of the path (read with pread when served). It lets the seed serve any
// chunk of any path straight from /nix/store, with no second copy of the NAR on disk.
import Glibc
import NixFormats

public struct NarIndex: Sendable {
    public enum Source: Sendable, Equatable {
        /// NAR framing bytes (tags, names, lengths, padding).
        case framing([UInt8])
        /// `length` bytes of the file at this path relative to the store path ("" = the path itself).
        case file(relativePath: String, length: UInt64)
    }

    public struct Segment: Sendable {
        public let start: UInt64
        public let source: Source
        var length: UInt64 {
            switch source {
            case .framing(let b): UInt64(b.count)
            case .file(_, let n): n
            }
        }
    }

    public let realPath: String
    public let segments: [Segment]
    public let narSize: UInt64

    /// Indexes the tree at `realPath`: its NAR framing, with file contents located, never read.
    public static func build(realPath: String) throws(StoreError) -> NarIndex {
        var sink = IndexingSink()
        try NarDumper().dump(path: realPath, to: &sink)
        return try sink.finish(realPath: realPath)
    }

    /// NAR bytes `range`, file contents read from disk straight into the new array.
    public func bytes(_ range: Range<UInt64>) throws(StoreError) -> [UInt8] {
        var failure: StoreError?
        let out = [UInt8](unsafeUninitializedCapacity: Int(range.count)) { buffer, initialized in
            do throws(StoreError) {
                try read(range, into: UnsafeMutableRawBufferPointer(buffer))
                initialized = buffer.count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Writes NAR bytes `range` into `buffer` (exactly `range.count` bytes long), reading file
    /// contents from disk straight into it: a socket's write buffer, with no copy between.
    public func read(_ range: Range<UInt64>, into buffer: UnsafeMutableRawBufferPointer) throws(StoreError) {
        guard buffer.count == range.count else {
            throw .sizeMismatch(path: realPath, expected: UInt64(buffer.count), got: UInt64(range.count))
        }
        try OutgoingChunk(pieces: pieces(range)).copy(0..<buffer.count, into: buffer)
    }

    /// NAR bytes `range` as pieces in order: framing bytes in memory, ranges of files on disk.
    public func pieces(_ range: Range<UInt64>) throws(StoreError) -> [NarPiece] {
        guard range.upperBound <= narSize else {
            throw .sizeMismatch(path: realPath, expected: narSize, got: range.upperBound)
        }
        // First segment that ends after range.lowerBound.
        var lo = 0
        var hi = segments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if segments[mid].start + segments[mid].length <= range.lowerBound { lo = mid + 1 } else { hi = mid }
        }
        var out: [NarPiece] = []
        var position = range.lowerBound
        var i = lo
        while position < range.upperBound && i < segments.count {
            let segment = segments[i]
            let from = position - segment.start
            let count = min(segment.length - from, range.upperBound - position)
            switch segment.source {
            case .framing(let bytes):
                out.append(.bytes(bytes[Int(from)..<Int(from + count)]))
            case .file(let relative, _):
                out.append(
                    .file(
                        path: relative.isEmpty ? realPath : realPath + "/" + relative, offset: from, count: Int(count)))
            }
            position += count
            i += 1
        }
        return out
    }
}

extension NarIndex {
    /// Builds an index from a NAR seen in order: framing bytes as they pass, file contents as
    /// ranges of the file they go to (pieces of one file join into one range). The dump that
    /// indexes a store path and the restore that fills a staging tree both use it.
    struct Builder {
        private(set) var segments: [Segment] = []
        private var framing: [UInt8] = []
        private(set) var size: UInt64 = 0

        mutating func framing(_ bytes: some Collection<UInt8>) {
            framing.append(contentsOf: bytes)
            size += UInt64(bytes.count)
        }

        mutating func file(_ relativePath: String, length: UInt64) {
            guard length > 0 else { return }
            closeFraming()
            if let last = segments.last, case .file(relativePath, let had) = last.source, last.start + had == size {
                segments[segments.count - 1] = Segment(
                    start: last.start, source: .file(relativePath: relativePath, length: had + length))
            } else {
                segments.append(Segment(start: size, source: .file(relativePath: relativePath, length: length)))
            }
            size += length
        }

        private mutating func closeFraming() {
            guard !framing.isEmpty else { return }
            segments.append(Segment(start: size - UInt64(framing.count), source: .framing(framing)))
            framing = []
        }

        /// The index of what was seen so far, for reads that end at or before `upTo` (the
        /// framing since the last file is added, a copy of the segments, only when they reach it).
        func index(realPath: String, upTo end: UInt64? = nil) -> NarIndex {
            var all = segments
            let framingStart = size - UInt64(framing.count)
            if !framing.isEmpty && (end ?? size) > framingStart {
                all.append(Segment(start: framingStart, source: .framing(framing)))
            }
            return NarIndex(realPath: realPath, segments: all, narSize: size)
        }
    }
}

/// A dump that skips file contents, into a Builder: indexing a path reads its directories and
/// links, never its files.
private struct IndexingSink: ByteSink {
    var builder = NarIndex.Builder()

    var skipsFileContents: Bool { true }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) { builder.framing(bytes) }

    mutating func skipped(relativePath: String, length: UInt64) throws(StoreError) {
        builder.file(relativePath, length: length)
    }

    func finish(realPath: String) throws(StoreError) -> NarIndex { builder.index(realPath: realPath) }
}
