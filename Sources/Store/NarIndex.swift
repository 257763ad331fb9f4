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
        guard range.upperBound <= narSize, buffer.count == range.count else {
            throw .sizeMismatch(path: realPath, expected: narSize, got: range.upperBound)
        }
        // First segment that ends after range.lowerBound.
        var lo = 0
        var hi = segments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if segments[mid].start + segments[mid].length <= range.lowerBound { lo = mid + 1 } else { hi = mid }
        }
        var position = range.lowerBound
        var i = lo
        while position < range.upperBound && i < segments.count {
            let segment = segments[i]
            let from = position - segment.start
            let count = min(segment.length - from, range.upperBound - position)
            let target = UnsafeMutableRawBufferPointer(
                rebasing: buffer[Int(position - range.lowerBound)..<Int(position - range.lowerBound + count)])
            switch segment.source {
            case .framing(let bytes):
                bytes[Int(from)..<Int(from + count)].withUnsafeBytes { target.copyMemory(from: $0) }
            case .file(let relative, _):
                try readFile(relative, offset: from, into: target)
            }
            position += count
            i += 1
        }
    }

    private func readFile(_ relative: String, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer)
        throws(StoreError)
    {
        try FileIO.read(relative.isEmpty ? realPath : realPath + "/" + relative, at: offset, into: buffer)
    }
}

/// Keeps the framing bytes of a dump that skips file contents, noting where each file's contents
/// lie: indexing a path reads its directories and links, never its files.
private struct IndexingSink: ByteSink {
    var segments: [NarIndex.Segment] = []
    var framing: [UInt8] = []
    var framingStart: UInt64 = 0
    var offset: UInt64 = 0

    var skipsFileContents: Bool { true }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        framing.append(contentsOf: bytes)
        offset += UInt64(bytes.count)
    }

    mutating func skipped(relativePath: String, length: UInt64) throws(StoreError) {
        closeFraming()
        if length > 0 {
            segments.append(NarIndex.Segment(start: offset, source: .file(relativePath: relativePath, length: length)))
        }
        offset += length
        framingStart = offset
    }

    mutating func closeFraming() {
        if !framing.isEmpty {
            segments.append(NarIndex.Segment(start: framingStart, source: .framing(framing)))
            framing = []
        }
    }

    mutating func finish(realPath: String) throws(StoreError) -> NarIndex {
        closeFraming()
        return NarIndex(realPath: realPath, segments: segments, narSize: offset)
    }
}
