// The status line and headers of a response, as bytes. Content-Length is always sent (bodies are
// never chunked), and never a Content-Encoding: Nix 2.8 fails on one it did not ask for.
public struct HTTPResponseHead: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var contentLength: UInt64
    public var keepAlive: Bool

    public init(
        status: Int, contentLength: UInt64, headers: [(name: String, value: String)] = [], keepAlive: Bool = true
    ) {
        self.status = status
        self.contentLength = contentLength
        self.headers = headers
        self.keepAlive = keepAlive
    }

    public func encode() -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "Content-Length: \(contentLength)\r\n"
        text += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(text.utf8)
    }

    public static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 206: "Partial Content"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 416: "Range Not Satisfiable"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
