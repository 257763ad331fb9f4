// Little-endian integers and length-prefixed byte strings: the primitives of every rookery
// byte layout (protocol/SPEC.md §2).
import NixFormats
import Sodium

/// Appends rookery's wire primitives to a byte buffer.
struct WireWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func raw<C: Collection<UInt8>>(_ b: C) { bytes.append(contentsOf: b) }
    mutating func digest(_ d: Digest256) { d.withBytes { bytes.append(contentsOf: $0) } }
    /// `u32 length ‖ bytes`.
    mutating func string(_ s: String) {
        u32(UInt32(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }
    mutating func blob(_ b: [UInt8]) {
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }
}

/// Whether two byte strings are equal, compared eight bytes at a time (`==` on arrays goes byte by
/// byte: a third of checking a decoded manifest's canonical form).
func sameBytes(_ a: [UInt8], _ b: ArraySlice<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    return a.withUnsafeBytes { x in
        b.withUnsafeBytes { y in
            let words = x.count / 8
            for i in 0..<words
            where x.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
                != y.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
            {
                return false
            }
            for i in (words * 8)..<x.count where x[i] != y[i] { return false }
            return true
        }
    }
}

/// Reads rookery's wire primitives from a complete buffer; throws `.truncated` past its end.
struct WireReader {
    var cursor: ByteCursor

    init(_ bytes: ArraySlice<UInt8>) { cursor = ByteCursor(bytes) }

    var isAtEnd: Bool { cursor.isAtEnd }
    var remaining: Int { cursor.remaining }

    mutating func take(_ n: Int) throws(WireError) -> ArraySlice<UInt8> {
        guard n >= 0, cursor.remaining >= n else { throw .truncated }
        return cursor.take(upTo: n)
    }

    mutating func u8() throws(WireError) -> UInt8 { try take(1).first! }
    mutating func u16() throws(WireError) -> UInt16 { UInt16(truncatingIfNeeded: try little(2)) }
    mutating func u32() throws(WireError) -> UInt32 { UInt32(truncatingIfNeeded: try little(4)) }
    mutating func u64() throws(WireError) -> UInt64 { try little(8) }

    private mutating func little(_ n: Int) throws(WireError) -> UInt64 {
        var v: UInt64 = 0
        for (i, b) in try take(n).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }

    /// A `u32`-prefixed byte string of at most `limit` bytes.
    mutating func blob(limit: Int) throws(WireError) -> [UInt8] {
        let n = try u32()
        guard n <= limit else { throw .tooLarge(what: "string", size: UInt64(n), limit: limit) }
        return Array(try take(Int(n)))
    }

    /// A `u32`-prefixed UTF-8 string of at most `limit` bytes.
    mutating func string(limit: Int) throws(WireError) -> String {
        let n = try u32()
        guard n <= limit else { throw .tooLarge(what: "string", size: UInt64(n), limit: limit) }
        let bytes = try take(Int(n))
        // Store paths and signatures are ASCII, valid UTF-8 as they are; validating other text
        // goes through the standard library's generic (unspecialized) path.
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw .malformed("string is not UTF-8") }
        return s
    }

    mutating func digest() throws(WireError) -> Digest256 {
        Digest256(bytes: try take(Digest256.byteCount))!
    }
}

/// Why bytes on the wire (a frame, a manifest) were refused.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated
    case tooLarge(what: String, size: UInt64, limit: Int)
    case malformed(String)
    case unknownMessageType(UInt8)
    case badMagic
    /// The bytes are an HTTP response: an HTTP server listens at that address.
    case httpAnswer

    public var description: String {
        switch self {
        case .truncated: "data ends early"
        case .tooLarge(let w, let s, let l): "\(w) of \(s) bytes exceeds the limit of \(l)"
        case .malformed(let m): "malformed: \(m)"
        case .unknownMessageType(let t): "unknown message type \(t)"
        case .badMagic: "wrong magic number"
        case .httpAnswer: "an HTTP answer, not rookery frames"
        }
    }
}
