// One GET over its own short-lived loop, for `rookery status`: connect, send, read the response
// through the same libhttp-parser decoder the server uses, within a deadline.
import HTTP
import Runtime

public enum HTTPClient {
    public enum Failure: Error, CustomStringConvertible {
        case connect(String)
        case timedOut
        case closedEarly
        case malformed(HTTPError)
        /// The first bytes back are no HTTP status line: another protocol listens there.
        case notHTTP

        public var description: String {
            switch self {
            case .connect(let why): "cannot connect: \(why)"
            case .timedOut: "no complete answer in time"
            case .closedEarly: "the server closed the connection before answering"
            case .malformed(let e): "bad answer: \(e)"
            case .notHTTP: "the answer is not HTTP"
            }
        }
    }

    /// GET `path` from `address`; the response (any status), or a Failure.
    public static func get(
        _ address: SocketAddress, path: String, timeoutMilliseconds: UInt64 = 5000, maxBodyBytes: Int = 16 << 20
    ) throws -> HTTPMessage {
        let loop = try EventLoop()
        let connection = try TCPConnection(loop: loop, readBufferSize: 64 * 1024)
        var limits = HTTPLimits()
        limits.maxBodyBytes = maxBodyBytes
        let decoder = HTTPDecoder(.response, limits: limits)
        var result: Result<HTTPMessage, Failure> = .failure(.timedOut)
        let timer = try Timer(loop: loop)
        func end(_ r: Result<HTTPMessage, Failure>) {
            result = r
            timer.close()
            connection.close()
        }
        timer.start(after: timeoutMilliseconds) { end(.failure(.timedOut)) }
        try connection.connect(to: address) { error in
            if let error { return end(.failure(.connect("\(error)"))) }
            connection.write(Array("GET \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\n\r\n".utf8))
            do {
                try connection.startReading(
                    onData: { bytes in
                        do throws(HTTPError) {
                            if let message = try decoder.feed(bytes).first { end(.success(message)) }
                        } catch {
                            // libhttp-parser's name for bytes where "HTTP/" must start.
                            end(.failure(error == .malformed("HPE_INVALID_CONSTANT") ? .notHTTP : .malformed(error)))
                        }
                    },
                    onEnd: { _ in
                        // End of stream completes a body without Content-Length.
                        let message = try? decoder.feed(UnsafeRawBufferPointer(start: nil, count: 0)).first
                        end(message.map { .success($0) } ?? .failure(.closedEarly))
                    })
            } catch {
                end(.failure(.connect("\(error)")))
            }
        }
        loop.run()
        return try result.get()
    }
}
