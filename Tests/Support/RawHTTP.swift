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

    /// A socket `accept` returned (see RawServer), with a 10 s receive timeout.
    public init(accepted fd: Int32) {
        self.fd = fd
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
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

/// A server of one connection on loopback: `serve` gets the accepted socket on a thread of its
/// own (accept waits 10 s at most); `finish` waits for it to return.
public final class RawServer: @unchecked Sendable {
    public let address: String
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)

    public init(_ serve: @escaping @Sendable (RawSocket) -> Void) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw TestFailure("socket: errno \(errno)") }
        self.listener = listener
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw TestFailure("bind: errno \(errno)")
        }
        address = "127.0.0.1:\(UInt16(bigEndian: addr.sin_port))"
        let done = self.done
        Thread.detachNewThread {
            let fd = accept(listener, nil, nil)
            if fd >= 0 { serve(RawSocket(accepted: fd)) }
            done.signal()
        }
    }

    public func finish() { done.wait() }

    deinit { close(listener) }
}

extension RawSocket {
    /// Reads until the bytes so far end with `marker` (an HTTP head: "\r\n\r\n"), or the timeout.
    public func receive(through marker: String) -> [UInt8] {
        let end = Array(marker.utf8)
        var out: [UInt8] = []
        var byte: UInt8 = 0
        while !out.ends(with: end), recv(fd, &byte, 1, 0) == 1 { out.append(byte) }
        return out
    }
}

extension Array where Element: Equatable {
    fileprivate func ends(with tail: [Element]) -> Bool { count >= tail.count && Array(suffix(tail.count)) == tail }
}
