// HTTP/1.1 on libuv for the faces (binary cache, status, metrics): keep-alive, pipelining
// answered in order, HEAD, single byte ranges, bounded heads and bodies, and timeouts for
// clients that send slowly, read slowly or sit idle. One sweep timer watches every connection,
// so a thousand idle clients cost a thousand sockets and nothing per tick but a comparison.
import HTTP
import Runtime

public final class HTTPServer {
    public struct Configuration: Sendable {
        public var listen: SocketAddress
        public var limits = HTTPLimits()
        public var maxConnections = 4096
        /// A request head must arrive whole within this long of its first byte.
        public var headTimeoutMilliseconds: UInt64 = 10_000
        /// An idle keep-alive connection is closed after this long.
        public var idleTimeoutMilliseconds: UInt64 = 60_000
        /// A response whose socket accepts nothing for this long is abandoned.
        public var stallTimeoutMilliseconds: UInt64 = 30_000
        /// Bytes queued on a socket before reading more of a body.
        public var writeHighWater = 2 << 20
        public var pieceBytes = 1 << 20
        /// Fault injection for tests: the first 200 body larger than this is cut off after this
        /// many bytes and its connection closed (a network failure mid-download).
        public var faultCutFirstBodyAfter: UInt64?

        public init(listen: SocketAddress) { self.listen = listen }
    }

    public struct Counters: Sendable {
        public var requests: UInt64 = 0
        public var bodyBytes: UInt64 = 0
        public var rejected: UInt64 = 0
        /// 206 answers: ranges asked for, as in a resumed download.
        public var partialResponses: UInt64 = 0
        public var refusedConnections: UInt64 = 0
    }

    let loop: EventLoop
    let configuration: Configuration
    let handler: HTTPHandler
    private var listener: TCPListener?
    private var sweeper: Timer?
    private var nextID = 1
    fileprivate var connections: [Int: HTTPServerConnection] = [:]
    public fileprivate(set) var counters = Counters()
    public private(set) var boundAddress: SocketAddress?
    fileprivate var faultPending: Bool

    public init(loop: EventLoop, configuration: Configuration, handler: HTTPHandler) {
        self.loop = loop
        self.configuration = configuration
        self.handler = handler
        faultPending = configuration.faultCutFirstBodyAfter != nil
    }

    public var connectionCount: Int { connections.count }

    public func start() throws(RuntimeError) {
        let listener = try TCPListener(loop: loop, readBufferSize: 16 * 1024)
        boundAddress = try listener.listen(on: configuration.listen) { [weak self] connection in
            self?.accept(connection)
        }
        self.listener = listener
        let sweeper = try Timer(loop: loop)
        sweeper.start(after: 1000, repeat: 1000) { [weak self] in self?.sweep() }
        self.sweeper = sweeper
    }

    public func stop() {
        listener?.close()
        listener = nil
        sweeper?.close()
        sweeper = nil
        for id in connections.keys.sorted() { finish(id) }
    }

    private func accept(_ connection: TCPConnection) {
        guard connections.count < configuration.maxConnections else {
            counters.refusedConnections += 1
            connection.close()
            return
        }
        let id = nextID
        nextID += 1
        let handler = HTTPServerConnection(server: self, id: id, connection: connection)
        connections[id] = handler
        handler.start()
    }

    fileprivate func finish(_ id: Int) {
        connections.removeValue(forKey: id)?.close()
    }

    private func sweep() {
        let now = loop.nowMilliseconds
        for (id, c) in connections where c.expired(now: now, configuration) { finish(id) }
    }

    fileprivate func count(request: Bool = false, body: UInt64 = 0, rejected: Bool = false, status: Int = 0) {
        if request { counters.requests += 1 }
        if status == 206 { counters.partialResponses += 1 }
        counters.bodyBytes += body
        if rejected { counters.rejected += 1 }
    }
}

/// One client: its decoder, the requests waiting for their turn, and the response being sent.
private final class HTTPServerConnection {
    unowned let server: HTTPServer
    let id: Int
    let connection: TCPConnection
    let decoder: HTTPDecoder
    var waiting: [HTTPMessage] = []
    /// The body being streamed: what remains of it and where to read it.
    var sending: (body: HTTPResponse.Body, next: UInt64, end: UInt64)?
    var closeWhenDone = false
    /// Reading stopped while many pipelined requests wait.
    var paused = false
    /// When the current partial request head began, or nil between requests.
    var headStarted: UInt64?
    var lastProgress: UInt64

    init(server: HTTPServer, id: Int, connection: TCPConnection) {
        self.server = server
        self.id = id
        self.connection = connection
        decoder = HTTPDecoder(.request, limits: server.configuration.limits)
        lastProgress = server.loop.nowMilliseconds
    }

    func start() {
        let server = self.server
        let id = self.id
        connection.whenDrained { [weak self] in self?.drained() }
        do {
            try connection.startReading(
                onData: { [weak self] bytes in self?.received(bytes) }, onEnd: { _ in server.finish(id) })
        } catch {
            server.finish(id)
        }
    }

    func expired(now: UInt64, _ c: HTTPServer.Configuration) -> Bool {
        if let started = headStarted, now - started >= c.headTimeoutMilliseconds { return true }
        let quiet = now - lastProgress
        if sending != nil || connection.queuedBytes > 0 { return quiet >= c.stallTimeoutMilliseconds }
        return quiet >= c.idleTimeoutMilliseconds
    }

    func received(_ bytes: UnsafeRawBufferPointer) {
        let now = server.loop.nowMilliseconds
        lastProgress = now
        if headStarted == nil { headStarted = now }
        do {
            let messages = try decoder.feed(bytes)
            if !messages.isEmpty { headStarted = nil }
            waiting += messages
        } catch {
            server.count(rejected: true)
            waiting.removeAll()
            if sending == nil, let status = error.status {
                send(HTTPResponse.text(status, "\(error)\n"), head: false, keepAlive: false)
            } else {
                server.finish(id)
            }
            return
        }
        // Many pipelined requests: stop reading until they are answered.
        if waiting.count > 32 && !paused {
            paused = true
            connection.pauseReading()
        }
        next()
    }

    /// Starts the next waiting request when nothing is being sent.
    func next() {
        while sending == nil && !closeWhenDone, !waiting.isEmpty {
            let request = waiting.removeFirst()
            if waiting.count <= 32 && paused {
                paused = false
                connection.resumeReading()
            }
            server.count(request: true)
            let isHead = request.method == "HEAD"
            let response =
                request.method == "GET" || isHead
                ? server.handler.respond(to: request)
                : HTTPResponse(
                    status: 405, headers: [("Allow", "GET, HEAD")], body: .bytes(Array("method not allowed\n".utf8)))
            send(ranged(response, request), head: isHead, keepAlive: request.keepAlive)
        }
    }

    /// Applies the request's Range to a 200 response that accepts ranges.
    func ranged(_ response: HTTPResponse, _ request: HTTPMessage) -> HTTPResponse {
        guard response.acceptsRanges else { return response }
        var r = response
        r.headers.append(("Accept-Ranges", "bytes"))
        guard response.status == 200 else { return r }
        let size = response.body.size
        switch ByteRangeRequest(header: request.header("Range"), size: size) {
        case .whole:
            return r
        case .partial(let range):
            r.status = 206
            r.headers.append(("Content-Range", "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(size)"))
            let body = response.body
            r.body = .stream(size: UInt64(range.count)) { piece, buffer in
                try body.read(
                    (piece.lowerBound + range.lowerBound)..<(piece.upperBound + range.lowerBound), into: buffer)
            }
            return r
        case .unsatisfiable:
            return HTTPResponse(
                status: 416, headers: [("Content-Range", "bytes */\(size)"), ("Accept-Ranges", "bytes")],
                body: .bytes(Array("range not satisfiable\n".utf8)))
        }
    }

    func send(_ response: HTTPResponse, head: Bool, keepAlive: Bool) {
        let size = response.body.size
        let headBytes = HTTPResponseHead(
            status: response.status, contentLength: size, headers: response.headers, keepAlive: keepAlive
        ).encode()
        connection.write(headBytes)
        if !keepAlive { closeWhenDone = true }
        server.count(status: response.status)
        if !head && size > 0 {
            var end = size
            if server.faultPending, response.status == 200, let cut = server.configuration.faultCutFirstBodyAfter,
                size > cut
            {
                server.faultPending = false
                end = cut
                closeWhenDone = true
            }
            sending = (response.body, 0, end)
            server.count(body: end)
        }
        pump()
    }

    /// Writes body pieces while the socket's queue is below the high-water mark.
    func pump() {
        let c = server.configuration
        while let s = sending, !connection.isClosed, connection.queuedBytes < c.writeHighWater {
            let end = min(s.end, s.next + UInt64(c.pieceBytes))
            do {
                try connection.write(count: Int(end - s.next)) { buffer in try s.body.read(s.next..<end, into: buffer) }
            } catch {
                // The headers are out; the only honest signal left is a short body and a close.
                server.finish(id)
                return
            }
            sending = end == s.end ? nil : (s.body, end, s.end)
        }
        if sending == nil && connection.queuedBytes == 0 { drained() }
    }

    func drained() {
        lastProgress = server.loop.nowMilliseconds
        if sending != nil { return pump() }
        if closeWhenDone {
            server.finish(id)
            return
        }
        next()
    }

    func close() {
        connection.close()
    }
}
