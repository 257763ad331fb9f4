// The modelled LAN: every host has an upload and a download rate (bytes per second) and a
// one-way latency to the switch. A host's uplink sends one chunk (or manifest) at a time, taking
// turns among its connections (round robin, as TCP flows share a link); the receiver's downlink
// takes size/down, cut through: the bytes arrive when both are done. Other control messages only
// pay the latency. Messages on one connection arrive in order.
import Swarm

/// What waits for an uplink: a chunk (by index) or a message whose bytes count (a MANIFEST).
enum Upload {
    case chunk(Int)
    case message(Message, bytes: Int)
}

public struct HostLink: Sendable {
    public var up: Double
    public var down: Double
    var downFree = 0.0
    /// What waits for the uplink, per sending connection, served in turn.
    var waiting: [Int: [Upload]] = [:]
    var turns: [Int] = []
    var busy = false

    public init(up: Double, down: Double) {
        self.up = up
        self.down = down
    }
}

struct LinkModel {
    var hosts: [HostLink]
    let latency: Double

    /// Queues `item` on `host`'s uplink for its connection `connection`.
    mutating func enqueue(_ item: Upload, host: Int, connection: Int) {
        if hosts[host].waiting[connection, default: []].isEmpty { hosts[host].turns.append(connection) }
        hosts[host].waiting[connection, default: []].append(item)
    }

    /// The next (connection, item) for a free uplink, taking turns; nil when nothing waits.
    mutating func next(host: Int) -> (connection: Int, item: Upload)? {
        while !hosts[host].turns.isEmpty {
            let c = hosts[host].turns.removeFirst()
            guard var q = hosts[host].waiting[c], !q.isEmpty else { continue }
            let item = q.removeFirst()
            hosts[host].waiting[c] = q.isEmpty ? nil : q
            if !q.isEmpty { hosts[host].turns.append(c) }
            return (c, item)
        }
        return nil
    }

    /// Drops what waits for a closed connection.
    mutating func forget(host: Int, connection: Int) { hosts[host].waiting[connection] = nil }

    /// Sending `bytes` from `a` to `b` starting `now`: when the uplink is free again, and when
    /// the bytes arrive.
    mutating func transfer(_ bytes: Int, from a: Int, to b: Int, at now: Double) -> (upEnd: Double, arrival: Double) {
        let size = Double(bytes)
        let start = now
        let upEnd = start + size / hosts[a].up
        let downStart = max(start, hosts[b].downFree)
        let downEnd = max(upEnd, downStart + size / hosts[b].down)
        hosts[b].downFree = downEnd
        return (upEnd, downEnd + latency)
    }
}
