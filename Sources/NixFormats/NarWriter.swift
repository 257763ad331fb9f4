// NAR writer: NarEvents in, the exact bytes `nix-store --dump` writes out.
// It checks the events follow the grammar (sorted names, file sizes honoured), so a bug in a
// producer cannot emit a NAR that Nix would reject.

public struct NarWriter: Sendable {
    enum State: Sendable {
        case expectNode
        case inFile(remaining: UInt64, size: UInt64)
        case inDirectory
        case afterChild
        case done
    }

    private var state: State = .expectNode
    private var wroteMagic = false
    /// Previous entry name of each open directory, innermost last.
    private var directories: [[UInt8]] = []

    public init() {}

    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Appends the bytes of `event` to `out`.
    public mutating func write(_ event: NarEvent, into out: inout [UInt8]) throws(NarError) {
        if !wroteMagic {
            Self.appendString(NarConstants.magic, to: &out)
            wroteMagic = true
        }
        switch (state, event) {
        case (.expectNode, .directoryStart):
            Self.appendTags(["(", "type", "directory"], to: &out)
            directories.append([])
            state = .inDirectory
        case (.expectNode, .symlink(let target)):
            Self.appendTags(["(", "type", "symlink", "target"], to: &out)
            Self.appendString(target, to: &out)
            Self.appendTags([")"], to: &out)
            nodeEnded()
        case (.expectNode, .fileStart(let executable, let size)):
            Self.appendTags(
                executable ? ["(", "type", "regular", "executable", ""] : ["(", "type", "regular"], to: &out)
            Self.appendTags(["contents"], to: &out)
            Self.appendNumber(size, to: &out)
            state = .inFile(remaining: size, size: size)
        case (.inFile(let remaining, let size), .fileData(let bytes)):
            guard UInt64(bytes.count) <= remaining else {
                throw .eventOutOfOrder("file data beyond the announced size \(size)")
            }
            out.append(contentsOf: bytes)
            state = .inFile(remaining: remaining - UInt64(bytes.count), size: size)
        case (.inFile(let remaining, let size), .fileEnd):
            guard remaining == 0 else { throw .eventOutOfOrder("file ended \(remaining) bytes short of \(size)") }
            Self.appendPadding(for: size, to: &out)
            Self.appendTags([")"], to: &out)
            nodeEnded()
        case (.inDirectory, .entryStart(let name)):
            try checkEntryName(name, after: directories[directories.count - 1])
            directories[directories.count - 1] = name
            Self.appendTags(["entry", "(", "name"], to: &out)
            Self.appendString(name, to: &out)
            Self.appendTags(["node"], to: &out)
            state = .expectNode
        case (.inDirectory, .directoryEnd):
            directories.removeLast()
            Self.appendTags([")"], to: &out)
            nodeEnded()
        case (.afterChild, .entryEnd):
            Self.appendTags([")"], to: &out)
            state = .inDirectory
        default:
            throw .eventOutOfOrder("\(event) in state \(state)")
        }
    }

    /// Appends file contents straight from a buffer (the dumper's read buffer).
    public mutating func writeFileData(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(NarError) {
        guard case .inFile(let remaining, let size) = state else {
            throw .eventOutOfOrder("file data outside a file")
        }
        guard UInt64(bytes.count) <= remaining else {
            throw .eventOutOfOrder("file data beyond the announced size \(size)")
        }
        out.append(contentsOf: bytes)
        state = .inFile(remaining: remaining - UInt64(bytes.count), size: size)
    }

    /// Accounts for `count` file content bytes that someone else places (an index of the NAR).
    public mutating func skipFileData(_ count: UInt64) throws(NarError) {
        guard case .inFile(let remaining, let size) = state, count <= remaining else {
            throw .eventOutOfOrder("file data outside a file or beyond its size")
        }
        state = .inFile(remaining: remaining - count, size: size)
    }

    private mutating func nodeEnded() {
        state = directories.isEmpty ? .done : .afterChild
    }

    static func appendNumber(_ n: UInt64, to out: inout [UInt8]) {
        withUnsafeBytes(of: n.littleEndian) { out.append(contentsOf: $0) }
    }

    static func appendPadding(for length: UInt64, to out: inout [UInt8]) {
        let pad = NarParser.padding(length)
        if pad > 0 { out.append(contentsOf: repeatElement(0, count: pad)) }
    }

    static func appendString(_ s: [UInt8], to out: inout [UInt8]) {
        appendNumber(UInt64(s.count), to: &out)
        out.append(contentsOf: s)
        appendPadding(for: UInt64(s.count), to: &out)
    }

    static func appendTags(_ tags: [StaticString], to out: inout [UInt8]) {
        for tag in tags {
            appendString(Array(UnsafeBufferPointer(start: tag.utf8Start, count: tag.utf8CodeUnitCount)), to: &out)
        }
    }
}
