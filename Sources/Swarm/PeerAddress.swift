// Where a peer serves chunks: an IPv4 or IPv6 address and a port, as the seed saw the peer's
// connection come in (the port is the one the peer announced in HELLO).

public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 or 16 bytes.
    public let ip: [UInt8]
    public let port: UInt16

    public init?(ip: [UInt8], port: UInt16) {
        guard ip.count == 4 || ip.count == 16 else { return nil }
        self.ip = ip
        self.port = port
    }

    /// Parses a dotted IPv4 literal (IPv6 peers are passed as 16 raw bytes by the runtime).
    public init?(host: String, port: UInt16) {
        if host.contains(":") {
            guard let bytes = Self.parseIPv6(host) else { return nil }
            self.init(ip: bytes, port: port)
        } else {
            let parts = host.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var bytes: [UInt8] = []
            for part in parts {
                guard part.count <= 3, let b = UInt8(part) else { return nil }
                bytes.append(b)
            }
            self.init(ip: bytes, port: port)
        }
    }

    public var host: String {
        if ip.count == 4 { return ip.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for i in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(ip[i]) << 8 | UInt16(ip[i + 1]), radix: 16))
        }
        return groups.joined(separator: ":")
    }

    public var description: String { ip.count == 4 ? "\(host):\(port)" : "[\(host)]:\(port)" }

    /// Full or `::`-compressed IPv6 literal, no zone, no embedded IPv4.
    static func parseIPv6(_ text: String) -> [UInt8]? {
        // Split at each "::" by hand: String.firstRange(of:) would link the regex engine
        // (_StringProcessing, 1.5 MiB) into the static initrd agent.
        var halves: [String] = []
        let bytes = Array(text.utf8)
        var start = 0
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == UInt8(ascii: ":") && bytes[i + 1] == UInt8(ascii: ":") {
                halves.append(String(decoding: bytes[start..<i], as: UTF8.self))
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        halves.append(String(decoding: bytes[start...], as: UTF8.self))
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(g.count), let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all += [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

/// One entry of a PEERS answer.
public struct PeerEntry: Equatable, Sendable {
    public var address: PeerAddress
    public var nodeID: [UInt8]
    /// The peer holds every chunk of the manifest.
    public var complete: Bool

    public init(address: PeerAddress, nodeID: [UInt8], complete: Bool) {
        self.address = address
        self.nodeID = nodeID
        self.complete = complete
    }
}
