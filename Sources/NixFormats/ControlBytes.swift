// Text that becomes one line or one C string elsewhere (a boot menu item, a file system label, a
// path handed to open(2)) must hold no control byte: a newline would end the line and a NUL the
// string early.
extension StringProtocol {
    /// Whether any byte is an ASCII control (0x00–0x1F, 0x7F).
    public var containsControlBytes: Bool { utf8.contains { $0 < 0x20 || $0 == 0x7F } }

    /// The text with every ASCII control byte turned into a space.
    public var controlBytesAsSpaces: String {
        String(decoding: utf8.map { $0 < 0x20 || $0 == 0x7F ? 0x20 : $0 }, as: UTF8.self)
    }
}
