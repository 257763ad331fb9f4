// Store paths: /nix/store/<32 nix32 chars>-<name>.
// Reference: NixOS/nix src/libstore/path.cc (StorePath, checkName).

/// A store path under the fixed logical store directory `/nix/store`.
public struct StorePath: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let storeDirectory = "/nix/store"
    public static let hashLength = 32
    public static let maxNameLength = 211

    /// `<hash>-<name>`, the file name inside the store directory.
    public let baseName: String

    public var hashPart: Substring { baseName.prefix(Self.hashLength) }
    public var name: Substring { baseName.dropFirst(Self.hashLength + 1) }
    public var fullPath: String { Self.storeDirectory + "/" + baseName }
    public var description: String { fullPath }

    /// Accepts a base name (`<hash>-<name>`) or a full path under `/nix/store`.
    public init(_ string: some StringProtocol) throws(NixFormatError) {
        let s = String(string)
        let prefix = "/nix/store/"  // storeDirectory + "/", a literal: no string built per path
        let base = s.utf8.starts(with: prefix.utf8) ? String(s.utf8.dropFirst(prefix.utf8.count))! : s
        try Self.validate(baseName: base, whole: s)
        baseName = base
    }

    private static func validate(baseName base: String, whole: String) throws(NixFormatError) {
        let bytes = Array(base.utf8)
        guard bytes.count > hashLength + 1 else {
            throw .badStorePath("'\(whole)' is too short to be a valid store path")
        }
        for c in bytes[0..<hashLength] where Nix32.digitOf[Int(c)] == 0xff {
            throw .badStorePath("'\(whole)' has an invalid hash part")
        }
        guard bytes[hashLength] == UInt8(ascii: "-") else {
            throw .badStorePath("'\(whole)' lacks the '-' after its hash part")
        }
        try checkName(bytes[(hashLength + 1)...], whole: whole)
    }

    /// Nix's name rule: 1–211 characters of `[0-9A-Za-z+\-._?=]`, and not `.`, `..`, `.-*`, `..-*`.
    static func checkName(_ name: ArraySlice<UInt8>, whole: String) throws(NixFormatError) {
        guard !name.isEmpty, name.count <= maxNameLength else {
            throw .badStorePath("'\(whole)' has a name of invalid length")
        }
        for c in name where !isNameCharacter(c) {
            throw .badStorePath("'\(whole)' has an invalid character in its name")
        }
        // ".", "..", ".-*", "..-*", compared as bytes: no String per name (a manifest's decoder
        // checks every path).
        let dots = name.prefix(2).prefix { $0 == UInt8(ascii: ".") }.count
        if dots > 0 && (name.count == dots || name[name.startIndex + dots] == UInt8(ascii: "-")) {
            throw .badStorePath("'\(whole)' has a reserved name")
        }
    }

    static func isNameCharacter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        default:
            return "+-._?=".utf8.contains(c)
        }
    }

    /// Nix orders store paths by base name (std::set<StorePath>).
    public static func < (a: StorePath, b: StorePath) -> Bool {
        a.baseName.utf8.lexicographicallyPrecedes(b.baseName.utf8)
    }
}
