import NixFormats
import Sodium
import Testing

/// Builds NAR byte streams token by token, including ones Nix must reject.
enum Tok {
    case s(String)
    case bytes([UInt8])
    case n(UInt64)
    case raw([UInt8])

    static func encode(_ tokens: [Tok]) -> [UInt8] {
        var out: [UInt8] = []
        func num(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func str(_ b: [UInt8]) {
            num(UInt64(b.count))
            out += b
            out += [UInt8](repeating: 0, count: (8 - b.count % 8) % 8)
        }
        for t in tokens {
            switch t {
            case .s(let s): str(Array(s.utf8))
            case .bytes(let b): str(b)
            case .n(let v): num(v)
            case .raw(let r): out += r
            }
        }
        return out
    }

    static func file(_ contents: String) -> [Tok] {
        [.s("("), .s("type"), .s("regular"), .s("contents"), .s(contents), .s(")")]
    }

    static func entry(_ name: String, _ node: [Tok]) -> [Tok] {
        [.s("entry"), .s("("), .s("name"), .s(name), .s("node")] + node + [.s(")")]
    }

    static func directory(_ entries: [Tok]) -> [Tok] {
        [.s("("), .s("type"), .s("directory")] + entries + [.s(")")]
    }
}

/// Parses `bytes` fed in pieces of `step`; returns the events with file data merged per file.
func parseAll(_ bytes: [UInt8], step: Int = Int.max, limits: NarLimits = NarLimits()) throws(NarError) -> [NarEvent] {
    var parser = NarParser(limits: limits)
    var events: [NarEvent] = []
    var data: [UInt8] = []
    var offset = 0
    repeat {
        let end = min(bytes.count, offset + max(step, 1))
        var cursor = ByteCursor(bytes[offset..<end])
        while let e = try parser.next(from: &cursor) {
            if case .fileData(let d) = e {
                data += d
            } else {
                if case .fileEnd = e {
                    events.append(.fileData(data[...]))
                    data = []
                }
                events.append(e)
            }
        }
        offset = end
    } while offset < bytes.count
    try parser.finish()
    return events
}

@Suite struct NarTests {
    static let helloNar = Tok.encode([.s("nix-archive-1")] + Tok.file("hello"))

    @Test func writerProducesNixBytesForHello() throws {
        var writer = NarWriter()
        var out: [UInt8] = []
        try writer.write(.fileStart(executable: false, size: 5), into: &out)
        try writer.write(.fileData(Array("hello".utf8)[...]), into: &out)
        try writer.write(.fileEnd, into: &out)
        #expect(writer.isComplete)
        #expect(out.count == 120)
        #expect(out == Self.helloNar)
        #expect(SHA256.hash(out).hex == "0a430879c266f8b57f4092a0f935cf3facd48bbccde5760d4748ca405171e969")
    }

    @Test func executableAndEmptyFileLayouts() throws {
        var writer = NarWriter()
        var out: [UInt8] = []
        try writer.write(.fileStart(executable: true, size: 0), into: &out)
        try writer.write(.fileEnd, into: &out)
        let expected = Tok.encode([
            .s("nix-archive-1"), .s("("), .s("type"), .s("regular"), .s("executable"), .s(""), .s("contents"),
            .n(0), .s(")"),
        ])
        #expect(out == expected)
    }

    @Test func parserAndWriterRoundTripATree() throws {
        let events: [NarEvent] = [
            .directoryStart,
            .entryStart(name: Array("B".utf8)), .symlink(target: Array("a".utf8)), .entryEnd,
            .entryStart(name: Array("a".utf8)), .fileStart(executable: true, size: 3),
            .fileData([1, 2, 3][...]), .fileEnd, .entryEnd,
            .entryStart(name: Array("d".utf8)), .directoryStart, .directoryEnd, .entryEnd,
            .directoryEnd,
        ]
        var writer = NarWriter()
        var out: [UInt8] = []
        for e in events { try writer.write(e, into: &out) }
        #expect(writer.isComplete)
        for step in [1, 3, 8, 1000] {
            #expect(try parseAll(out, step: step) == events, "step \(step)")
        }
    }

    @Test func writerRefusesEventsOutOfOrder() throws {
        var writer = NarWriter()
        var out: [UInt8] = []
        try writer.write(.directoryStart, into: &out)
        try writer.write(.entryStart(name: Array("b".utf8)), into: &out)
        try writer.write(.symlink(target: Array("x".utf8)), into: &out)
        try writer.write(.entryEnd, into: &out)
        #expect(throws: NarError.unsortedEntry(Array("a".utf8))) {
            try writer.write(.entryStart(name: Array("a".utf8)), into: &out)
        }
        #expect(throws: NarError.duplicateEntry(Array("b".utf8))) {
            try writer.write(.entryStart(name: Array("b".utf8)), into: &out)
        }
        var w2 = NarWriter()
        try w2.write(.fileStart(executable: false, size: 2), into: &out)
        #expect(throws: NarError.self) { try w2.write(.fileData([1, 2, 3][...]), into: &out) }
        #expect(throws: NarError.self) { try w2.write(.fileEnd, into: &out) }
    }

    /// Every rejection of Nix's parser, and the limits.
    static let rejections: [(String, [UInt8], NarError)] = {
        let magic: [Tok] = [.s("nix-archive-1")]
        let badPad = Tok.encode(magic + [.s("(")]) + [2, 0, 0, 0, 0, 0, 0, 0, 0x74, 0x79, 1, 0, 0, 0, 0, 0]
        return [
            ("bad magic", Tok.encode([.s("nix-archive-2")] + Tok.file("x")), .badMagic),
            ("huge magic length", Tok.encode([.n(1 << 40)]), .badMagic),
            ("non-zero padding in tag", badPad, .nonZeroPadding),
            (
                "non-zero padding after contents",
                Tok.encode(
                    magic + [
                        .s("("), .s("type"), .s("regular"), .s("contents"), .n(1), .raw([65, 0, 0, 1, 0, 0, 0, 0]),
                    ]),
                .nonZeroPadding
            ),
            ("unknown type", Tok.encode(magic + [.s("("), .s("type"), .s("fifo"), .s(")")]), .unknownType("fifo")),
            ("missing open", Tok.encode(magic + [.s("type")]), .unexpectedTag(expected: "(", got: "type")),
            (
                "executable marker not empty",
                Tok.encode(magic + [.s("("), .s("type"), .s("regular"), .s("executable"), .s("x")]),
                .nonEmptyExecutableMarker
            ),
            (
                "unknown tag in regular",
                Tok.encode(magic + [.s("("), .s("type"), .s("regular"), .s("size")]),
                .unexpectedTag(expected: "contents", got: "size")
            ),
            (
                "unsorted",
                Tok.encode(magic + Tok.directory(Tok.entry("b", Tok.file("")) + Tok.entry("a", Tok.file("")))),
                .unsortedEntry(Array("a".utf8))
            ),
            (
                "locale order is not byte order",
                Tok.encode(magic + Tok.directory(Tok.entry("a", Tok.file("")) + Tok.entry("B", Tok.file("")))),
                .unsortedEntry(Array("B".utf8))
            ),
            (
                "duplicate",
                Tok.encode(magic + Tok.directory(Tok.entry("a", Tok.file("")) + Tok.entry("a", Tok.file("")))),
                .duplicateEntry(Array("a".utf8))
            ),
            ("dot", Tok.encode(magic + Tok.directory(Tok.entry(".", Tok.file("")))), .invalidName(Array(".".utf8))),
            (
                "dot-dot", Tok.encode(magic + Tok.directory(Tok.entry("..", Tok.file("")))),
                .invalidName(Array("..".utf8))
            ),
            (
                "slash", Tok.encode(magic + Tok.directory(Tok.entry("a/b", Tok.file("")))),
                .invalidName(Array("a/b".utf8))
            ),
            ("empty name", Tok.encode(magic + Tok.directory(Tok.entry("", Tok.file("")))), .invalidName([])),
            (
                "NUL in name",
                Tok.encode(magic + Tok.directory([.s("entry"), .s("("), .s("name"), .bytes([97, 0, 98])])),
                .invalidName([97, 0, 98])
            ),
            (
                "absurd name length",
                Tok.encode(magic + Tok.directory([.s("entry"), .s("("), .s("name"), .n(UInt64.max)])),
                .lengthTooLarge(what: "entry name", length: UInt64.max, limit: 255)
            ),
            (
                "absurd tag length",
                Tok.encode(magic + [.n(1 << 62)]),
                .lengthTooLarge(what: "tag", length: 1 << 62, limit: 16)
            ),
            (
                "empty symlink target",
                Tok.encode(magic + [.s("("), .s("type"), .s("symlink"), .s("target"), .s(""), .s(")")]),
                .invalidSymlinkTarget
            ),
            (
                "entry without close",
                Tok.encode(
                    magic + [
                        .s("("), .s("type"), .s("directory"), .s("entry"), .s("("), .s("name"), .s("a"), .s("node"),
                    ] + Tok.file("") + [.s("entry")]),
                .unexpectedTag(expected: ")", got: "entry")
            ),
            ("trailing data", helloNar + [0], .trailingData),
        ]
    }()

    @Test(arguments: 0..<rejections.count)
    func rejectsWhatNixRejects(index: Int) {
        let (name, bytes, error) = Self.rejections[index]
        #expect(throws: error, "\(name)") { try parseAll(bytes) }
        #expect(throws: error, "\(name), byte by byte") { try parseAll(bytes, step: 1) }
    }

    @Test func depthIsBounded() {
        var tokens: [Tok] = Tok.file("")
        for _ in 0..<5 { tokens = Tok.directory(Tok.entry("d", tokens)) }
        let bytes = Tok.encode([.s("nix-archive-1")] + tokens)
        var limits = NarLimits()
        limits.maxDepth = 4
        #expect(throws: NarError.tooDeep(limit: 4)) { try parseAll(bytes, limits: limits) }
        limits.maxDepth = 5
        #expect(throws: Never.self) { try parseAll(bytes, limits: limits) }
    }

    @Test func everyTruncationIsRefusedAsTruncated() throws {
        let full = Tok.encode(
            [.s("nix-archive-1")]
                + Tok.directory(
                    Tok.entry("a", Tok.file("hello world"))
                        + Tok.entry("b", [.s("("), .s("type"), .s("symlink"), .s("target"), .s("a"), .s(")")])))
        _ = try parseAll(full)
        for cut in 0..<full.count {
            #expect(throws: NarError.truncated, "cut at \(cut)") { try parseAll(Array(full[0..<cut])) }
        }
    }

    @Test func fileDataIsStreamedNotBuffered() throws {
        let big = [UInt8](repeating: 7, count: 100_000)
        let bytes = Tok.encode([
            .s("nix-archive-1"), .s("("), .s("type"), .s("regular"), .s("contents"), .bytes(big), .s(")"),
        ])
        var parser = NarParser()
        var cursor = ByteCursor(bytes[0..<4096])
        var sizes: [Int] = []
        while let e = try parser.next(from: &cursor) {
            if case .fileData(let d) = e { sizes.append(d.count) }
        }
        // All of the first piece after the 96 header bytes (magic 24, four tags 16 each, size 8)
        // is handed out before the rest of the file arrived.
        #expect(sizes == [4096 - 96])
    }
}
