// Incremental NAR parser: bytes in, NarEvents out, `nil` for "need more".
// Holds at most one token (bounded by NarLimits) and one previous name per open directory;
// file contents pass through as slices of the input, never buffered.
// Rejects all that Nix's parseDump rejects (src/libutil/archive.cc), plus the limits.

public struct NarParser: Sendable {
    /// What the next string token must be, or how it is used.
    enum Expect: Sendable {
        case magic, open, typeTag, typeValue
        case regularTag, executableValue, contentsTag, fileClose
        case symlinkTargetTag, symlinkTarget, symlinkClose
        case directoryItem, entryOpen, entryNameTag, entryName, entryNodeTag, entryClose
    }

    enum Phase: Sendable {
        case token(Expect)
        case fileSize(executable: Bool)
        case fileData(remaining: UInt64, padding: Int)
        case padding(remaining: Int, then: Expect)
        case done
    }

    public let limits: NarLimits
    private var phase: Phase = .token(.magic)
    /// Previous entry name of each open directory, innermost last.
    private var directories: [[UInt8]] = []

    // The token being assembled: its 8-byte length, then its bytes, then its padding.
    private var lengthValue: UInt64 = 0
    private var lengthBytesRead = 0
    private var tokenLength: UInt64? = nil
    private var token: [UInt8] = []
    private var tokenPadding = 0

    public init(limits: NarLimits = NarLimits()) {
        self.limits = limits
    }

    /// True once the whole archive was read.
    public var isComplete: Bool {
        if case .done = phase { return true }
        return false
    }

    /// Call at end of input: throws `.truncated` unless the archive is complete.
    public func finish() throws(NarError) {
        guard isComplete else { throw .truncated }
    }

    /// The next event, or nil when `input` is used up before one is complete.
    public mutating func next(from input: inout ByteCursor) throws(NarError) -> NarEvent? {
        while true {
            switch phase {
            case .done:
                if !input.isAtEnd { throw .trailingData }
                return nil

            case .fileData(let remaining, let padding):
                if remaining == 0 {
                    phase = .padding(remaining: padding, then: .fileClose)
                    continue
                }
                if input.isAtEnd { return nil }
                let slice = input.take(upTo: Int(min(remaining, UInt64(Int.max))))
                phase = .fileData(remaining: remaining - UInt64(slice.count), padding: padding)
                return .fileData(slice)

            case .padding(let remaining, let then):
                var left = remaining
                while left > 0 {
                    guard let b = input.takeByte() else {
                        phase = .padding(remaining: left, then: then)
                        return nil
                    }
                    if b != 0 { throw .nonZeroPadding }
                    left -= 1
                }
                phase = .token(then)

            case .fileSize(let executable):
                guard let size = readNumber(&input) else { return nil }
                phase = .fileData(remaining: size, padding: Self.padding(size))
                return .fileStart(executable: executable, size: size)

            case .token(let expect):
                guard let value = try readToken(&input, limit: limit(for: expect), what: expect) else {
                    return nil
                }
                if let event = try accept(value, as: expect) { return event }
            }
        }
    }

    /// Advances the grammar by one complete string token.
    private mutating func accept(_ value: [UInt8], as expect: Expect) throws(NarError) -> NarEvent? {
        switch expect {
        case .magic:
            guard value == NarConstants.magic else { throw .badMagic }
            phase = .token(.open)
        case .open:
            try expectTag("(", value)
            phase = .token(.typeTag)
        case .typeTag:
            try expectTag("type", value)
            phase = .token(.typeValue)
        case .typeValue:
            switch String(decoding: value, as: UTF8.self) {
            case "regular":
                phase = .token(.regularTag)
            case "symlink":
                phase = .token(.symlinkTargetTag)
            case "directory":
                guard directories.count < limits.maxDepth else { throw .tooDeep(limit: limits.maxDepth) }
                directories.append([])
                phase = .token(.directoryItem)
                return .directoryStart
            default:
                throw .unknownType(printable(value))
            }
        case .regularTag:
            if value == Array("executable".utf8) {
                phase = .token(.executableValue)
            } else {
                try expectTag("contents", value)
                phase = .fileSize(executable: false)
            }
        case .executableValue:
            guard value.isEmpty else { throw .nonEmptyExecutableMarker }
            phase = .token(.contentsTag)
        case .contentsTag:
            try expectTag("contents", value)
            phase = .fileSize(executable: true)
        case .fileClose:
            try expectTag(")", value)
            nodeEnded()
            return .fileEnd
        case .symlinkTargetTag:
            try expectTag("target", value)
            phase = .token(.symlinkTarget)
        case .symlinkTarget:
            guard !value.isEmpty, !value.contains(0) else { throw .invalidSymlinkTarget }
            phase = .token(.symlinkClose)
            return .symlink(target: value)
        case .symlinkClose:
            try expectTag(")", value)
            nodeEnded()
        case .directoryItem:
            if value == [UInt8(ascii: ")")] {
                directories.removeLast()
                nodeEnded()
                return .directoryEnd
            }
            guard value == Array("entry".utf8) else {
                throw .unexpectedTag(expected: "entry' or ')", got: printable(value))
            }
            phase = .token(.entryOpen)
        case .entryOpen:
            try expectTag("(", value)
            phase = .token(.entryNameTag)
        case .entryNameTag:
            try expectTag("name", value)
            phase = .token(.entryName)
        case .entryName:
            try checkEntryName(value, after: directories[directories.count - 1])
            directories[directories.count - 1] = value
            phase = .token(.entryNodeTag)
        case .entryNodeTag:
            try expectTag("node", value)
            phase = .token(.open)
            return .entryStart(name: directories[directories.count - 1])
        case .entryClose:
            try expectTag(")", value)
            phase = .token(.directoryItem)
            return .entryEnd
        }
        return nil
    }

    /// After a node's closing tag: either the archive is done or the enclosing entry closes.
    private mutating func nodeEnded() {
        phase = directories.isEmpty ? .done : .token(.entryClose)
    }

    private func expectTag(_ tag: StaticString, _ value: [UInt8]) throws(NarError) {
        let expected = UnsafeBufferPointer(start: tag.utf8Start, count: tag.utf8CodeUnitCount)
        guard value.elementsEqual(expected) else {
            throw .unexpectedTag(expected: "\(tag)", got: printable(value))
        }
    }

    private func limit(for expect: Expect) -> Int {
        switch expect {
        case .entryName: limits.maxNameLength
        case .symlinkTarget: limits.maxTargetLength
        default: NarConstants.maxTagLength
        }
    }

    static func padding(_ length: UInt64) -> Int {
        Int((8 - length % 8) % 8)
    }

    /// Reads a little-endian u64 across input boundaries.
    private mutating func readNumber(_ input: inout ByteCursor) -> UInt64? {
        while lengthBytesRead < 8 {
            guard let b = input.takeByte() else { return nil }
            lengthValue |= UInt64(b) << (8 * UInt64(lengthBytesRead))
            lengthBytesRead += 1
        }
        let value = lengthValue
        lengthValue = 0
        lengthBytesRead = 0
        return value
    }

    /// Reads a length-prefixed, zero-padded string of at most `limit` bytes.
    private mutating func readToken(_ input: inout ByteCursor, limit: Int, what: Expect) throws(NarError) -> [UInt8]? {
        if tokenLength == nil {
            guard let n = readNumber(&input) else { return nil }
            if n > UInt64(limit) {
                if case .magic = what { throw .badMagic }
                throw .lengthTooLarge(what: Self.describe(what), length: n, limit: limit)
            }
            tokenLength = n
            token.removeAll(keepingCapacity: true)
            tokenPadding = Self.padding(n)
        }
        let wanted = Int(tokenLength!) - token.count
        if wanted > 0 {
            token.append(contentsOf: input.take(upTo: wanted))
            if token.count < Int(tokenLength!) { return nil }
        }
        while tokenPadding > 0 {
            guard let b = input.takeByte() else { return nil }
            if b != 0 { throw .nonZeroPadding }
            tokenPadding -= 1
        }
        tokenLength = nil
        return token
    }

    private static func describe(_ expect: Expect) -> String {
        switch expect {
        case .entryName: "entry name"
        case .symlinkTarget: "symlink target"
        default: "tag"
        }
    }
}
