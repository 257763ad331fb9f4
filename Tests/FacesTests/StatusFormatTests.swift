// The status page's two renderings: Prometheus text and the terminal view, from one sample.
import Foundation
import NixFormats
import Testing

@testable import Faces

@Suite struct StatusFormatTests {
    static func sample(uptime: Double, held: UInt64) -> SwarmStatus {
        let member = SwarmStatus.Member(
            node: "0011223344556677", address: "10.0.0.2:7021", chunksHeld: 2, bytesHeld: held, bytesFromSeed: held / 4,
            complete: held == 4096, suspect: false)
        let swarm = SwarmStatus.Swarm(
            manifest: "ab" + String(repeating: "0", count: 62), label: "gen \"7\"\nnew", createdAt: 1, toplevels: [],
            paths: 3, chunks: 4, narBytes: 4096, seedBytesSent: 1024, members: [member])
        return SwarmStatus(
            role: "seed", node: "ffee", uptimeSeconds: uptime, uploadBytesPerSecond: 0, chunkBytesSent: 1024,
            chunkConnections: 1, httpConnections: 2, httpRequests: 3, httpPartialResponses: 0, reportedNodes: 0,
            swarms: [swarm])
    }

    @Test func prometheusTextEscapesLabelsAndTypesEveryFamily() {
        let text = Self.sample(uptime: 2, held: 2048).prometheusText
        #expect(text.contains("rookery_chunk_bytes_sent_total 1024\n"))
        #expect(text.contains("label=\"gen \\\"7\\\"\\nnew\""))
        #expect(text.contains("rookery_member_bytes_held{manifest=\"ab000"))
        let names = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
            String($0.prefix { $0 != "{" && $0 != " " })
        }
        for name in Set(names) { #expect(text.contains("# TYPE \(name) ")) }
        #expect(PrometheusText.format(2.5) == "2.5")
        #expect(PrometheusText.format(3) == "3")
    }

    @Test func theViewShowsProgressRateShareAndETA() {
        var view = StatusView(linkMbit: 50)
        _ = view.render(Self.sample(uptime: 1, held: 1024))
        let lines = view.render(Self.sample(uptime: 2, held: 2048))
        let row = try! #require(lines.first { $0.contains("00112233") })
        #expect(row.contains("[############------------] 50%"))
        #expect(row.contains("10.0.0.2:7021"))
        #expect(row.contains("1.0 KiB/s"), "\(row)")  // 1024 bytes in one second
        #expect(row.contains("75%"), "three quarters came from peers")
        #expect(row.hasSuffix("2.0 s"), "2048 bytes left at 1 KiB/s: \(row)")
        #expect(lines.contains { $0.contains("seed sent 1.0 KiB = 0.25 × closure") && $0.contains("T_min") })
        #expect(StatusView.fixed(0.125, 2) == "0.13")
        #expect(StatusView.fixed(-1.5, 0) == "-2")
    }

    /// `rookery status` reads what a node says about itself, and a tampered lab PC may say
    /// anything: more bytes than the closure, rates over a vanishing interval, escape sequences.
    /// The view draws it without trapping (a count below zero, or a Double too large for an
    /// integer, stopped the process), one line per row and no control byte for the terminal.
    @Test func aHostileStatusIsDrawnNotTrappedOn() {
        func hostile(uptime: Double, held: UInt64) -> SwarmStatus {
            var status = Self.sample(uptime: uptime, held: held)
            status.role = "peer\u{1b}]0;owned\u{7}"
            status.swarms[0].narBytes = 1
            status.swarms[0].label = "lab\u{1b}[2J\nrm -rf"
            status.swarms[0].members[0].node = "\u{1b}[31mred"
            status.swarms[0].members[0].address = "10.0.0.9:1\r\u{1b}[K"
            status.swarms[0].members[0].complete = false
            return status
        }
        var view = StatusView(linkMbit: 1000)
        _ = view.render(hostile(uptime: 1, held: 0))
        let lines = view.render(hostile(uptime: 1 + 1e-300, held: UInt64.max))
        #expect(lines.count == 5)
        #expect(lines.allSatisfy { !$0.containsControlBytes }, "\(lines)")
        let row = lines[4]
        #expect(row.contains("[########################] 100%"), "\(row)")
        #expect(StatusView.fixed(.infinity, 1) == "∞" && StatusView.fixed(1e300, 0) == "∞")
        #expect(StatusView.fixed(-.infinity, 1) == "-∞" && StatusView.fixed(.nan, 1) == "-")
        #expect(StatusView.seconds(1e30) == "∞ s")
    }

    /// A closure whose chunks repeat (identical files in two paths) moves and holds fewer bytes
    /// than its NARs: a complete member fills its bar, and the seed's share and T_min are of the
    /// distinct chunks. A node too old to send `chunkBytes` is drawn against the NAR bytes.
    @Test func repeatedChunksCountOnce() throws {
        var status = Self.sample(uptime: 1, held: 2048)
        status.swarms[0].chunkBytes = 2048
        status.swarms[0].members[0].complete = true
        var view = StatusView(linkMbit: 1000)
        let lines = view.render(status)
        #expect(lines.contains { $0.contains("4.0 KiB (2.0 KiB in distinct chunks) · 1/1 complete") }, "\(lines)")
        #expect(lines.contains { $0.contains("seed sent 1.0 KiB = 0.50 × closure") }, "\(lines)")
        let row = try #require(lines.first { $0.contains("00112233") })
        #expect(row.contains("[########################] 100%") && row.hasSuffix("done"), "\(row)")
        #expect(status.prometheusText.contains("rookery_manifest_chunk_bytes{manifest=\"ab000"))
        #expect(status.prometheusText.contains("\"} 2048\n"))

        let encoded = try JSONEncoder().encode(Self.sample(uptime: 1, held: 2048))
        let old = try JSONDecoder().decode(SwarmStatus.self, from: encoded)
        #expect(
            !String(decoding: encoded, as: UTF8.self).contains("\"chunkBytes\"") && old.swarms[0].chunkBytes == nil,
            "\(String(decoding: encoded, as: UTF8.self))")
        var oldView = StatusView()
        let oldRow = try #require(oldView.render(old).first { $0.contains("00112233") })
        #expect(oldRow.contains("[############------------] 50%"), "\(oldRow)")
    }
}
