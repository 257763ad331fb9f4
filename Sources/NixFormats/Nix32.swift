// Nix's base-32 ("nix32"): not RFC 4648. The digest is read as a little-endian bit string and
// printed most significant 5-bit group first, over an alphabet without e, o, u and t.
// Reference: NixOS/nix src/libutil/hash.cc (printHash32, the Hash string constructor).

public enum Nix32 {
    public static let alphabet: [UInt8] = Array("0123456789abcdfghijklmnpqrsvwxyz".utf8)

    /// Maps an ASCII byte to its digit, or 0xff.
    static let digitOf: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// Length of the nix32 form of `byteCount` bytes: 52 for SHA-256, 32 for a 160-bit store hash.
    public static func encodedLength(byteCount: Int) -> Int {
        byteCount == 0 ? 0 : (byteCount * 8 - 1) / 5 + 1
    }

    public static func encode(_ bytes: [UInt8]) -> String {
        let n = encodedLength(byteCount: bytes.count)
        var out = [UInt8]()
        out.reserveCapacity(n)
        var k = n - 1
        while k >= 0 {
            let b = k * 5
            let i = b / 8
            let j = b % 8
            var c = Int(bytes[i]) >> j
            if i + 1 < bytes.count { c |= Int(bytes[i + 1]) << (8 - j) }
            out.append(alphabet[c & 31])
            k -= 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a nix32 string of exactly `encodedLength(byteCount:)` characters; nil when a
    /// character is outside the alphabet or the string carries bits that do not fit.
    public static func decode(_ string: some StringProtocol, byteCount: Int) -> [UInt8]? {
        let chars = Array(string.utf8)
        guard chars.count == encodedLength(byteCount: byteCount) else { return nil }
        var out = [UInt8](repeating: 0, count: byteCount)
        for n in 0..<chars.count {
            let digit = digitOf[Int(chars[chars.count - n - 1])]
            if digit == 0xff { return nil }
            let b = n * 5
            let i = b / 8
            let j = b % 8
            out[i] |= UInt8(truncatingIfNeeded: Int(digit) << j)
            let carry = Int(digit) >> (8 - j)
            if i < byteCount - 1 {
                out[i + 1] |= UInt8(truncatingIfNeeded: carry)
            } else if carry != 0 {
                return nil
            }
        }
        return out
    }
}
