// The NAR as a stream of events: what the writer consumes and the parser produces.
// The grammar (NixOS/nix src/libutil/archive.cc):
//   nar  = str("nix-archive-1") node
//   node = "(" "type" ( "regular" ["executable" ""] "contents" u64 bytes pad
//                     | "symlink" "target" str
//                     | "directory" { "entry" "(" "name" str "node" node ")" } ) ")"

/// One step of a NAR. A file is `fileStart`, any number of `fileData`, `fileEnd`; a directory is
/// `directoryStart`, entries (`entryStart`, the child's node, `entryEnd`) in byte order of their
/// names, `directoryEnd`.
public enum NarEvent: Equatable, Sendable {
    case directoryStart
    case entryStart(name: [UInt8])
    case entryEnd
    case directoryEnd
    case symlink(target: [UInt8])
    case fileStart(executable: Bool, size: UInt64)
    case fileData(ArraySlice<UInt8>)
    case fileEnd
}

/// Bounds the parser enforces beyond Nix's grammar, so that no input can make it hold
/// unbounded memory. Each is far above what a real store path has.
public struct NarLimits: Sendable {
    /// A directory entry name; Linux's NAME_MAX.
    public var maxNameLength = 255
    /// A symlink target; Linux's PATH_MAX less the NUL.
    public var maxTargetLength = 4095
    /// Nested directories.
    public var maxDepth = 1024

    public init() {}
}

enum NarConstants {
    static let magic: [UInt8] = Array("nix-archive-1".utf8)
    /// The longest grammar tag ("nix-archive-1"); a longer string where a tag is due is an error.
    static let maxTagLength = 16
}

/// Nix's rule for a directory entry: not empty, `.` or `..`, no `/` or NUL, and strictly greater
/// (bytewise) than the entry before it. `previous` is empty for a directory's first entry.
func checkEntryName(_ name: [UInt8], after previous: [UInt8]) throws(NarError) {
    if name.isEmpty || name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")]
        || name.contains(UInt8(ascii: "/")) || name.contains(0)
    {
        throw .invalidName(name)
    }
    if !previous.isEmpty && !previous.lexicographicallyPrecedes(name) {
        throw name == previous ? .duplicateEntry(name) : .unsortedEntry(name)
    }
}
