// A TOPLEVEL on rookery's command line, taken as Nix takes it: a store path, or a symbolic link to
// one (`./result`, `/run/current-system`, a profile's generation link), at most 16 links deep.
// Only the links are read, never what they point at: a chroot store's links name /nix/store paths
// that are elsewhere on this disk.
import Glibc
import NixFormats

enum ToplevelArgument {
    static func storePath(_ argument: String) throws -> StorePath {
        if let path = try? StorePath(argument) { return path }
        var current = argument
        for _ in 0..<16 {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buffer, buffer.count - 1)
            guard n > 0 else { break }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix("/") {
                current = target
            } else {
                // Relative to the link's folder.
                current = (current.lastIndex(of: "/").map { String(current[..<$0]) } ?? ".") + "/" + target
            }
            if let path = try? StorePath(current) { return path }
        }
        throw CommandFailure("'\(argument)' is neither a store path nor a symbolic link to one")
    }
}
