// One parsed HTTP/1.x message head (request or response) and its body, as the decoder hands it
// out. Header names keep their spelling; lookups ignore case.
public struct HTTPMessage: Sendable, Equatable {
    /// Requests: "GET", "HEAD", …; empty for responses.
    public var method: String
    /// Requests: the request target as sent ("/nar/abc.nar?x"); empty for responses.
    public var target: String
    /// Responses: the status code; 0 for requests.
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whether the connection may carry another message after this one.
    public var keepAlive: Bool

    public init(
        method: String = "", target: String = "", status: Int = 0, headers: [(name: String, value: String)] = [],
        body: [UInt8] = [], keepAlive: Bool = true
    ) {
        self.method = method
        self.target = target
        self.status = status
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
    }

    /// The first header named `name` (ASCII case-insensitive).
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// The target's path without query string.
    public var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0] }

    public static func == (a: HTTPMessage, b: HTTPMessage) -> Bool {
        a.method == b.method && a.target == b.target && a.status == b.status && a.body == b.body
            && a.keepAlive == b.keepAlive
            && a.headers.map { [$0.name, $0.value] } == b.headers.map { [$0.name, $0.value] }
    }
}
