// Removes a tree that may hold read-only (canonicalised, 0555) directories, without following
// symlinks. Used to drop staging trees.
import Glibc

/// Removes `name` inside `parentFD` recursively; absent is fine.
func removeTree(parentFD: Int32, name: String, path: String) throws(StoreError) {
    var st = stat()
    if fstatat(parentFD, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
        if errno == ENOENT { return }
        throw .lastSystem("lstat", path)
    }
    if st.st_mode & S_IFMT == S_IFDIR {
        let fd = openat(parentFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { throw .lastSystem("open", path) }
        defer { close(fd) }
        if fchmod(fd, 0o700) != 0 { throw .lastSystem("chmod", path) }
        for child in try directoryEntries(fd: fd, path: path) {
            let childName = String(decoding: child, as: UTF8.self)
            try removeTree(parentFD: fd, name: childName, path: path + "/" + childName)
        }
        if unlinkat(parentFD, name, AT_REMOVEDIR) != 0 { throw .lastSystem("rmdir", path) }
    } else if unlinkat(parentFD, name, 0) != 0 {
        throw .lastSystem("unlink", path)
    }
}

/// The names in a directory, without `.` and `..`, in directory order.
func directoryEntries(fd: Int32, path: String) throws(StoreError) -> [[UInt8]] {
    // fdopendir takes ownership of its descriptor, so hand it a duplicate.
    let dupFD = dup(fd)
    if dupFD < 0 { throw .lastSystem("dup", path) }
    guard let dir = fdopendir(dupFD) else {
        close(dupFD)
        throw .lastSystem("opendir", path)
    }
    defer { closedir(dir) }
    var names: [[UInt8]] = []
    while true {
        errno = 0
        guard let entry = readdir(dir) else {
            if errno != 0 { throw .lastSystem("readdir", path) }
            break
        }
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
        if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
        names.append(name)
    }
    return names
}

extension FileIO {
    /// Removes `path` and everything below it (read-only directories included), never following
    /// symlinks; absent is fine.
    public static func removeTree(_ path: String) throws(StoreError) {
        let (parent, name) = splitPath(path)
        let fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw .lastSystem("open", parent) }
        defer { close(fd) }
        try Store.removeTree(parentFD: fd, name: name, path: path)
    }
}
