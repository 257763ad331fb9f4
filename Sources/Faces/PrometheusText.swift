// Prometheus text exposition format 0.0.4: `# HELP`, `# TYPE`, then one sample per line, label
// values escaped (backslash, double quote, newline).
struct PrometheusText {
    private(set) var text = ""

    mutating func metric(
        _ name: String, _ type: String, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]
    ) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        for sample in samples {
            text += name
            if !sample.labels.isEmpty {
                text += "{" + sample.labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
            }
            text += " \(Self.format(sample.value))\n"
        }
    }

    mutating func metric(_ name: String, _ type: String, _ help: String, _ value: Double) {
        metric(name, type, help, [([], value)])
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension SwarmStatus {
    /// `/metrics`: the same numbers as `/status`, for Prometheus.
    public var prometheusText: String {
        var p = PrometheusText()
        p.metric("rookery_uptime_seconds", "gauge", "Seconds since the service started.", uptimeSeconds)
        p.metric(
            "rookery_chunk_bytes_sent_total", "counter", "Chunk bytes sent to all clients.", Double(chunkBytesSent))
        p.metric(
            "rookery_connections", "gauge", "Open connections by protocol.",
            [([("protocol", "chunk")], Double(chunkConnections)), ([("protocol", "http")], Double(httpConnections))])
        p.metric("rookery_http_requests_total", "counter", "HTTP requests answered.", Double(httpRequests))
        p.metric(
            "rookery_http_partial_responses_total", "counter", "HTTP 206 answers (byte ranges).",
            Double(httpPartialResponses))
        p.metric("rookery_reported_nodes", "gauge", "Nodes reported for bad chunks (banned).", Double(reportedNodes))
        func perSwarm(_ value: (Swarm) -> Double) -> [(labels: [(String, String)], value: Double)] {
            swarms.map { ([("manifest", $0.manifest), ("label", $0.label)], value($0)) }
        }
        p.metric(
            "rookery_manifest_nar_bytes", "gauge", "NAR bytes of each served closure.", perSwarm { Double($0.narBytes) }
        )
        p.metric(
            "rookery_manifest_chunk_bytes", "gauge",
            "Bytes of each served closure's distinct chunks (what a member holds when complete).",
            perSwarm { Double(StatusView.closureBytes($0)) })
        p.metric(
            "rookery_swarm_seed_bytes_sent_total", "counter", "Chunk bytes the seed sent to each swarm.",
            perSwarm { Double($0.seedBytesSent) })
        p.metric("rookery_swarm_members", "gauge", "Members of each swarm.", perSwarm { Double($0.members.count) })
        p.metric(
            "rookery_swarm_complete_members", "gauge", "Members holding the whole closure.",
            perSwarm { Double($0.members.filter(\.complete).count) })
        var held: [(labels: [(String, String)], value: Double)] = []
        var fromSeed: [(labels: [(String, String)], value: Double)] = []
        for s in swarms {
            for m in s.members {
                let labels = [("manifest", s.manifest), ("node", m.node)]
                held.append((labels, Double(m.bytesHeld)))
                fromSeed.append((labels, Double(m.bytesFromSeed)))
            }
        }
        p.metric("rookery_member_bytes_held", "gauge", "Verified chunk bytes each member holds.", held)
        p.metric("rookery_member_bytes_from_seed", "gauge", "Chunk bytes the seed sent each member.", fromSeed)
        return p.text
    }
}
