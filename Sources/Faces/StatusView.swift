// What `rookery status` and `rookery demo` draw from successive `/status` samples: per member a
// progress bar, its rate, the share that came from peers rather than the seed, an ETA; per swarm
// the seed's bytes ÷ closure bytes and the elapsed time against T_min when link rates are known.
// "Closure bytes" here are those of its distinct chunks, what a member must receive: a chunk that
// repeats in the closure moves once, and a complete member holds exactly these bytes.
// Plain text only; the caller decides whether to redraw in place (a terminal) or append. What
// a node says about itself is drawn as it comes, but never trusted to be consistent: a tampered
// lab PC may claim more bytes than the closure or send escape sequences for the terminal.
import NixFormats

public struct StatusView {
    /// Previous sample: time and bytes held per node, for rates.
    private var previous: (time: Double, held: [String: UInt64])?
    /// Smoothed rates per node (bytes per second).
    private var rates: [String: Double] = [:]
    /// When each swarm first had members (status clock), for the elapsed time.
    private var firstSeen: [String: Double] = [:]
    /// Link rate of every host in Mbit/s, when known: enables the T_min estimate.
    public var linkMbit: Double?
    public var barWidth = 24

    public init(linkMbit: Double? = nil) { self.linkMbit = linkMbit }

    public mutating func render(_ status: SwarmStatus) -> [String] {
        var held: [String: UInt64] = [:]
        for s in status.swarms { for m in s.members { held[m.node] = m.bytesHeld } }
        if let p = previous, status.uptimeSeconds > p.time {
            let dt = status.uptimeSeconds - p.time
            for (node, bytes) in held {
                let instant = Double(bytes - min(bytes, p.held[node] ?? bytes)) / dt
                rates[node] = rates[node].map { 0.5 * $0 + 0.5 * instant } ?? instant
            }
        }
        previous = (status.uptimeSeconds, held)

        var lines = [
            "rookery \(status.role.controlBytesAsSpaces) \(status.node.prefix(8).controlBytesAsSpaces) · "
                + "up \(Self.seconds(status.uptimeSeconds)) · "
                + "chunk connections \(status.chunkConnections) · HTTP \(status.httpConnections) · "
                + "sent \(Self.bytes(status.chunkBytesSent)) · reported nodes \(status.reportedNodes)"
        ]
        for s in status.swarms {
            if !s.members.isEmpty && firstSeen[s.manifest] == nil { firstSeen[s.manifest] = status.uptimeSeconds }
            let complete = s.members.filter(\.complete).count
            let label = s.label.isEmpty ? "" : " \"\(s.label.controlBytesAsSpaces)\""
            let closure = Self.closureBytes(s)
            let distinct = closure == s.narBytes ? "" : " (\(Self.bytes(closure)) in distinct chunks)"
            lines.append(
                "manifest \(s.manifest.prefix(12).controlBytesAsSpaces)\(label) · \(s.paths) paths · "
                    + "\(Self.bytes(s.narBytes))\(distinct) · "
                    + "\(complete)/\(s.members.count) complete")
            guard !s.members.isEmpty else { continue }
            let ratio = closure == 0 ? 0 : Double(s.seedBytesSent) / Double(closure)
            var totals = "  seed sent \(Self.bytes(s.seedBytesSent)) = \(Self.fixed(ratio, 2)) × closure"
            if let start = firstSeen[s.manifest] {
                totals += " · elapsed \(Self.seconds(status.uptimeSeconds - start))"
            }
            if let tMin = tMin(s, seedBytesPerSecond: status.uploadBytesPerSecond) {
                totals += " · T_min ≈ \(Self.seconds(tMin))"
            }
            lines.append(totals)
            lines.append(
                "  " + "node".padding(10) + "address".padding(22) + "progress".padding(barWidth + 8)
                    + "held".padding(11)
                    + "rate".padding(13) + "peers".padding(7) + "ETA")
            for m in s.members {
                let fraction = closure == 0 ? 1 : min(Double(m.bytesHeld) / Double(closure), 1)
                let filled = Int((fraction * Double(barWidth)).rounded(.down))
                let bar =
                    "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]"
                // A vanishing interval between samples makes an infinite rate.
                let rate = min(rates[m.node] ?? 0, Double(UInt64.max >> 1))
                let fromPeers =
                    m.bytesHeld == 0 ? 0 : Double(m.bytesHeld - min(m.bytesHeld, m.bytesFromSeed)) / Double(m.bytesHeld)
                let eta: String
                if m.complete {
                    eta = "done"
                } else if rate > 0 {
                    eta = Self.seconds(Double(closure - min(closure, m.bytesHeld)) / rate)
                } else {
                    eta = "-"
                }
                lines.append(
                    "  " + m.node.prefix(8).controlBytesAsSpaces.padding(10)
                        + (m.address?.controlBytesAsSpaces ?? "(not serving)").padding(22)
                        + "\(bar) \(Self.fixed(fraction * 100, 0))%".padding(barWidth + 8)
                        + Self.bytes(m.bytesHeld).padding(11) + "\(Self.bytes(UInt64(rate)))/s".padding(13)
                        + "\(Self.fixed(fromPeers * 100, 0))%".padding(7) + eta + (m.suspect ? " (reported)" : ""))
            }
        }
        return lines
    }

    /// Kumar & Ross: max(F/u_seed, F/d, N·F/(u_seed + Σu)), every client link at `linkMbit`,
    /// the seed at its cap when it has one.
    func tMin(_ s: SwarmStatus.Swarm, seedBytesPerSecond: UInt64) -> Double? {
        guard let linkMbit, linkMbit > 0 else { return nil }
        let link = linkMbit * 125_000
        let seed = seedBytesPerSecond > 0 ? Double(seedBytesPerSecond) : link
        let f = Double(Self.closureBytes(s))
        let n = Double(s.members.count)
        return max(f / seed, f / link, n * f / (seed + n * link))
    }

    /// What a member must receive of the swarm's closure: its distinct chunks' bytes (the NAR
    /// bytes from a node too old to say).
    static func closureBytes(_ s: SwarmStatus.Swarm) -> UInt64 { s.chunkBytes ?? s.narBytes }

    public static func bytesText(_ n: UInt64) -> String { bytes(n) }
    public static func secondsText(_ s: Double) -> String { seconds(s) }
    public static func fixedText(_ value: Double, _ digits: Int) -> String { fixed(value, digits) }

    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) B" : "\(fixed(value, 1)) \(units[unit])"
    }

    static func seconds(_ s: Double) -> String { s < 100 ? "\(fixed(s, 1)) s" : "\(fixed(s, 0)) s" }

    /// `value` with `digits` decimals, without Foundation; "∞" past what an Int64 holds.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        guard !value.isNaN else { return "-" }
        guard abs(value) * scale < 9e18 else { return value < 0 ? "-∞" : "∞" }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        let sign = value < 0 && scaled != 0 ? "-" : ""
        guard digits > 0 else { return "\(sign)\(whole)" }
        let fraction = String(scaled % Int64(scale))
        return "\(sign)\(whole)." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
