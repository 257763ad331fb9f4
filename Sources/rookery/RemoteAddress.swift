// A remote address given on the command line: IP:PORT, or HOST:PORT looked up once, at the start
// (getaddrinfo: /etc/hosts, then DNS), as an admin at a workstation types `raven:7080`. Only the
// CLI looks names up: the initrd agent has no resolver and takes IP literals, and an address to
// listen on is an IP.
import Glibc
import Runtime

enum RemoteAddress {
    static func resolve(_ text: String, option: String) throws(CommandFailure) -> SocketAddress {
        if let literal = SocketAddress(parsing: text) { return literal }
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let port = UInt16(text[text.index(after: colon)...])
        else {
            throw CommandFailure("--\(option) wants HOST:PORT (an IP address or a name), got '\(text)'")
        }
        let host = String(text[..<colon])
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, nil, &hints, &list)
        defer { if list != nil { freeaddrinfo(list) } }
        guard rc == 0, let first = list?.pointee, let address = first.ai_addr else {
            throw CommandFailure("--\(option): no address for '\(host)': \(String(cString: gai_strerror(rc)))")
        }
        var numeric = [CChar](repeating: 0, count: 1025)  // NI_MAXHOST
        guard
            getnameinfo(address, first.ai_addrlen, &numeric, socklen_t(numeric.count), nil, 0, NI_NUMERICHOST) == 0
        else {
            throw CommandFailure("--\(option): '\(host)' has no address rookery can use")
        }
        let ip = String(decoding: numeric.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return SocketAddress(host: ip, port: port)
    }
}
