// IP literal + port (no DNS: the initrd has none).
import CLibUV
import Glibc

public struct SocketAddress: Equatable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `A.B.C.D:PORT` or `[V6]:PORT`; nil for anything else, a host name too (a name
    /// given on the command line is refused there, with the usage, not at the first connect).
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        var host = String(text[..<colon])
        let bracketed = host.hasPrefix("[") && host.hasSuffix("]")
        if bracketed { host = String(host.dropFirst().dropLast()) }
        var bytes = [UInt8](repeating: 0, count: 16)
        let family = bracketed || host.contains(":") ? AF_INET6 : AF_INET
        guard uv_inet_pton(family, host, &bytes) == 0 else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Fills a sockaddr_storage for libuv.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>) throws(RuntimeError) -> R) throws(RuntimeError) -> R {
        var storage = sockaddr_storage()
        let rc: Int32 = withUnsafeMutablePointer(to: &storage) { p in
            if host.contains(":") {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(host, Int32(port), $0) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(host, Int32(port), $0) }
        }
        try uvCheck(rc, "parse address \(description)")
        return try withUnsafePointer(to: &storage) { p throws(RuntimeError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (a) throws(RuntimeError) in try body(a) }
        }
    }
}
