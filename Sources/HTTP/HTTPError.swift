// Why a byte stream is not acceptable HTTP. Every case closes that one connection (after a 4xx
// where the server can still answer).
public enum HTTPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// libhttp-parser refused the bytes (its errno name, e.g. "HPE_INVALID_METHOD").
    case malformed(String)
    /// The request line and headers together exceed the limit.
    case headersTooLarge(limit: Int)
    case tooManyHeaders(limit: Int)
    case bodyTooLarge(limit: Int)
    /// Upgrade / CONNECT: not spoken here.
    case upgradeRefused

    public var description: String {
        switch self {
        case .malformed(let name): "malformed HTTP (\(name))"
        case .headersTooLarge(let l): "request head larger than \(l) bytes"
        case .tooManyHeaders(let l): "more than \(l) header fields"
        case .bodyTooLarge(let l): "body larger than \(l) bytes"
        case .upgradeRefused: "protocol upgrade refused"
        }
    }

    /// The status a server answers with before closing, or nil when it just closes.
    public var status: Int? {
        switch self {
        case .malformed: 400
        case .headersTooLarge, .tooManyHeaders: 431
        case .bodyTooLarge: 413
        case .upgradeRefused: 400
        }
    }
}

/// Bounds on what one decoder buffers.
public struct HTTPLimits: Sendable {
    /// Request line (or status line) plus all header fields and values.
    public var maxHeadBytes = 16 * 1024
    public var maxHeaders = 64
    public var maxBodyBytes = 64 * 1024

    public init() {}
}
