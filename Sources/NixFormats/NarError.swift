// Why a NAR was refused. Every rejection of Nix's parser has a case here.

public enum NarError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The stream does not start with `nix-archive-1`.
    case badMagic
    /// A grammar tag other than the one due at this point.
    case unexpectedTag(expected: String, got: String)
    /// A node type other than regular, symlink or directory.
    case unknownType(String)
    /// `executable` followed by a non-empty string.
    case nonEmptyExecutableMarker
    /// Padding after a string or file contents is not zero.
    case nonZeroPadding
    /// A length beyond the limits (tags, names, symlink targets).
    case lengthTooLarge(what: String, length: UInt64, limit: Int)
    /// An entry name that is empty, `.`, `..`, or holds `/` or NUL.
    case invalidName([UInt8])
    /// An entry name not strictly greater (bytewise) than the one before it.
    case unsortedEntry([UInt8])
    /// The same entry name twice in one directory.
    case duplicateEntry([UInt8])
    /// A symlink target that is empty or holds NUL.
    case invalidSymlinkTarget
    /// Directories nested deeper than the limit.
    case tooDeep(limit: Int)
    /// The stream ended inside the archive.
    case truncated
    /// Bytes after the archive's end.
    case trailingData
    /// The writer was given events out of the grammar's order.
    case eventOutOfOrder(String)

    public var description: String {
        switch self {
        case .badMagic: "input doesn't look like a Nix archive"
        case .unexpectedTag(let e, let g): "expected tag '\(e)', got '\(g)'"
        case .unknownType(let t): "unknown file type '\(t)'"
        case .nonEmptyExecutableMarker: "executable marker has non-empty value"
        case .nonZeroPadding: "non-zero padding"
        case .lengthTooLarge(let w, let l, let m): "\(w) of \(l) bytes exceeds the limit of \(m)"
        case .invalidName(let n): "NAR contains invalid file name '\(printable(n))'"
        case .unsortedEntry(let n): "NAR directory is not sorted at '\(printable(n))'"
        case .duplicateEntry(let n): "NAR directory has a duplicate entry '\(printable(n))'"
        case .invalidSymlinkTarget: "symlink target is empty or contains NUL"
        case .tooDeep(let l): "directories nested deeper than \(l)"
        case .truncated: "NAR is truncated"
        case .trailingData: "data after the end of the NAR"
        case .eventOutOfOrder(let m): "NAR event out of order: \(m)"
        }
    }
}

/// Bytes shown in an error message: UTF-8 with invalid sequences replaced, at most 64 bytes.
func printable(_ bytes: some Collection<UInt8>) -> String {
    String(decoding: bytes.prefix(64), as: UTF8.self)
}
