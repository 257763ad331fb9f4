// Splitting a path into its parent folder and last name, for the *at() system calls.

/// `("/a/b", "c")` for `/a/b/c`, `("/", "c")` for `/c`, `(".", "c")` for `c`; trailing slashes
/// are dropped first.
func splitPath(_ path: String) -> (parent: String, name: String) {
    var p = path
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    guard let slash = p.lastIndex(of: "/") else { return (".", p) }
    let parent = slash == p.startIndex ? "/" : String(p[..<slash])
    let name = String(p[p.index(after: slash)...])
    return (parent, name.isEmpty ? "." : name)
}
