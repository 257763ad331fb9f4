// A private folder per test, removed afterwards (read-only store trees included).
import Foundation

public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "rookery-test") {
        var base = NSTemporaryDirectory()
        while base.hasSuffix("/") && base.count > 1 { base.removeLast() }
        var template = Array("\(base)/\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: made!)
    }

    deinit { Self.removeTree(path) }

    public func sub(_ name: String) -> String { path + "/" + name }

    /// Removes a tree whose directories may be 0555.
    public static func removeTree(_ path: String) {
        let fm = FileManager.default
        if let walker = fm.enumerator(atPath: path) {
            for case let rel as String in walker {
                var isDir: ObjCBool = false
                let full = path + "/" + rel
                if fm.fileExists(atPath: full, isDirectory: &isDir), isDir.boolValue {
                    chmod(full, 0o755)
                }
            }
        }
        chmod(path, 0o755)
        try? fm.removeItem(atPath: path)
    }
}
