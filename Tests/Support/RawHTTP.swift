// Plain blocking TCP for HTTP tests: exact bytes out, whatever comes back, with a deadline. A
// real client (Nix, curl) is used where behaviour matters; this is for malformed and idle ones.
import Foundation
import Glibc

public final class RawSocket {
    public let fd: Int32

    /// Connects to `address` ("IP:PORT", IPv4), with `seconds` as the receive timeout.
    public init(_ address: String, seconds: Int = 10) throws {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { throw TestFailure("bad address \(address)") }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, String(parts[0]), &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw TestFailure("connect \(address): errno \(errno)")
        }
    }

    deinit { close(fd) }

    public func send(_ text: String) { send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Reads until the peer closes, `limit` bytes arrived, or the receive timeout passes.
    public func receive(limit: Int = 64 << 20) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < limit {
            let n = recv(fd, &buffer, min(buffer.count, limit - out.count), 0)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    /// Sends one request and reads the answer to the end (the request should ask to close).
    public static func exchange(_ address: String, _ request: String, seconds: Int = 10) throws -> String {
        let s = try RawSocket(address, seconds: seconds)
        s.send(request)
        return String(decoding: s.receive(), as: UTF8.self)
    }
}
