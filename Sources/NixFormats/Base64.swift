// Standard base64 (RFC 4648 alphabet, '=' padding), decoding by Nix's rules: newlines are
// skipped, decoding stops at the first '=', any other character outside the alphabet is an error.
// Reference: NixOS/nix src/libutil/util.cc (base64Encode, base64Decode).

public enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static let digitOf: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// Length of the padded encoding of `byteCount` bytes.
    public static func encodedLength(byteCount: Int) -> Int { (byteCount + 2) / 3 * 4 }

    public static func encode<C: Collection<UInt8>>(_ bytes: C) -> String {
        var out = [UInt8]()
        out.reserveCapacity(encodedLength(byteCount: bytes.count))
        var data = 0
        var bits = 0
        for b in bytes {
            data = data << 8 | Int(b)
            bits += 8
            while bits >= 6 {
                out.append(alphabet[(data >> (bits - 6)) & 0x3f])
                bits -= 6
            }
        }
        if bits > 0 { out.append(alphabet[(data << (6 - bits)) & 0x3f]) }
        while out.count % 4 != 0 { out.append(UInt8(ascii: "=")) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes by Nix's rules; nil on a character outside the alphabet.
    public static func decode(_ string: some StringProtocol) -> [UInt8]? {
        var out = [UInt8]()
        var data = 0
        var bits = 0
        for c in string.utf8 {
            if c == UInt8(ascii: "=") { break }
            if c == UInt8(ascii: "\n") { continue }
            let digit = digitOf[Int(c)]
            if digit == 0xff { return nil }
            data = (data << 6 | Int(digit)) & 0xffffff
            bits += 6
            if bits >= 8 {
                out.append(UInt8((data >> (bits - 8)) & 0xff))
                bits -= 8
            }
        }
        return out
    }
}
