// The `key=value` fields of an agent's or fetcher's closing line.

public struct AgentReport: Sendable {
    public let fields: [String: UInt64]

    public init(_ text: String) {
        var fields: [String: UInt64] = [:]
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" }) {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2, let v = UInt64(parts[1]) { fields[String(parts[0])] = v }
        }
        self.fields = fields
    }

    public subscript(key: String) -> UInt64? { fields[key] }
}
