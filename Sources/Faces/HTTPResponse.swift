// What a handler answers: a status, headers and a body that is either in memory or read piece by
// piece as the socket drains (a NAR of any size streams in bounded memory).
import HTTP

public struct HTTPResponse {
    public enum Body {
        case bytes([UInt8])
        /// `size` bytes, read on demand into a buffer of the range's length; `read` may throw
        /// (the connection is then closed).
        case stream(size: UInt64, read: (Range<UInt64>, UnsafeMutableRawBufferPointer) throws -> Void)

        var size: UInt64 {
            switch self {
            case .bytes(let b): UInt64(b.count)
            case .stream(let size, _): size
            }
        }

        func read(_ range: Range<UInt64>, into buffer: UnsafeMutableRawBufferPointer) throws {
            switch self {
            case .bytes(let b):
                b[Int(range.lowerBound)..<Int(range.upperBound)].withUnsafeBytes { buffer.copyMemory(from: $0) }
            case .stream(_, let read): try read(range, buffer)
            }
        }
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Body
    /// Answer `Range` requests on this (200) response with 206 / 416, and say so.
    public var acceptsRanges: Bool

    public init(
        status: Int, headers: [(name: String, value: String)] = [], body: Body = .bytes([]), acceptsRanges: Bool = false
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.acceptsRanges = acceptsRanges
    }

    public static func text(_ status: Int, _ text: String, type: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", type)], body: .bytes(Array(text.utf8)))
    }

    public static var notFound: HTTPResponse { text(404, "not found\n") }
}

/// Answers requests; called on the loop's thread.
public protocol HTTPHandler: AnyObject {
    func respond(to request: HTTPMessage) -> HTTPResponse
}
