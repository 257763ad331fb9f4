// The `Range` request header (RFC 9110 §14): one byte range of a representation of known size.
// Several ranges in one header are answered with the whole representation (allowed: a server
// may ignore Range), so multipart/byteranges is never produced.
public enum ByteRangeRequest: Equatable, Sendable {
    /// No usable Range header: send everything (200).
    case whole
    /// Send these bytes (206 with Content-Range).
    case partial(Range<UInt64>)
    /// A byte range that starts past the end (416 with `Content-Range: bytes */size`).
    case unsatisfiable

    /// Interprets `header` (the value of Range, if any) against a representation of `size` bytes.
    public init(header: String?, size: UInt64) {
        guard let header else {
            self = .whole
            return
        }
        let trimmed = header.trimmingSpaces
        guard trimmed.lowercased().hasPrefix("bytes="), !trimmed.contains(",") else {
            self = .whole
            return
        }
        let spec = trimmed.dropFirst(6).trimmingSpaces
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            self = .whole
            return
        }
        let first = parts[0].trimmingSpaces
        let last = parts[1].trimmingSpaces
        if first.isEmpty {
            // Suffix range: the last N bytes.
            guard let n = UInt64(decimal: last) else {
                self = .whole
                return
            }
            self = n == 0 || size == 0 ? .unsatisfiable : .partial((size - min(n, size))..<size)
            return
        }
        guard let start = UInt64(decimal: first) else {
            self = .whole
            return
        }
        var end = size  // exclusive
        if !last.isEmpty {
            guard let e = UInt64(decimal: last), e >= start else {
                self = .whole  // syntactically invalid: ignored, per RFC 9110
                return
            }
            end = e == UInt64.max ? size : min(size, e + 1)
        }
        self = start >= size ? .unsatisfiable : .partial(start..<end)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension UInt64 {
    /// Digits only (no sign, no spaces), at most 19 of them, so it cannot overflow.
    init?(decimal text: String) {
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return nil
        }
        self.init(text)
    }
}
