// The libhttp-parser wrapper: messages whole or in pieces, pipelining, and every bound.
import FuzzTargets
import HTTP
import Testing

@Suite struct HTTPDecoderTests {
    /// The fuzz targets' seeds are whole messages, so their mutants reach bodies, chunked
    /// encoding, pipelining and the end of the stream, not only the first line's checks.
    @Test func theFuzzSeedsDecodeToWholeMessages() throws {
        let requests = try #require(FuzzTarget.named("http-request")).seeds
        #expect(try requests.map { try HTTPDecoder(.request).feed($0).count } == [1, 2, 1, 1])
        let responses = try #require(FuzzTarget.named("http-response")).seeds
        let counts = try responses.map { seed in
            let decoder = HTTPDecoder(.response)
            return try decoder.feed(seed).count + decoder.feed(UnsafeRawBufferPointer(start: nil, count: 0)).count
        }
        #expect(counts == [1, 1, 1, 4, 1])
        for seed in requests + responses { _ = try #require(FuzzTarget.named("http-response")).run(seed) }
    }

    @Test func aRequestInOnePieceAndByteByByteGiveTheSameMessage() throws {
        let text = Array("GET /nix-cache-info?x=1 HTTP/1.1\r\nHost: raven\r\nRange: bytes=0-9\r\n\r\n".utf8)
        let whole = try HTTPDecoder(.request).feed(text)
        let decoder = HTTPDecoder(.request)
        var pieces: [HTTPMessage] = []
        for byte in text { pieces += try decoder.feed([byte]) }
        #expect(whole.count == 1)
        #expect(whole == pieces)
        let m = try #require(whole.first)
        #expect(m.method == "GET")
        #expect(m.target == "/nix-cache-info?x=1")
        #expect(m.path == "/nix-cache-info")
        #expect(m.header("range") == "bytes=0-9")
        #expect(m.header("HOST") == "raven")
        #expect(m.keepAlive)
    }

    @Test func pipelinedRequestsComeOutInOrderAndConnectionCloseIsSeen() throws {
        let text = "HEAD /a HTTP/1.1\r\nHost: r\r\n\r\nGET /b HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n"
        let messages = try HTTPDecoder(.request).feed(Array(text.utf8))
        #expect(messages.map(\.method) == ["HEAD", "GET"])
        #expect(messages.map(\.target) == ["/a", "/b"])
        #expect(messages.map(\.keepAlive) == [true, false])
        // HTTP/1.0 without keep-alive closes.
        #expect(try HTTPDecoder(.request).feed(Array("GET / HTTP/1.0\r\n\r\n".utf8)).first?.keepAlive == false)
    }

    @Test func aResponseWithABodyIsDecoded() throws {
        let text = "HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nContent-Range: bytes 0-4/10\r\n\r\nhello"
        let m = try #require(try HTTPDecoder(.response).feed(Array(text.utf8)).first)
        #expect(m.status == 206)
        #expect(m.body == Array("hello".utf8))
        #expect(m.header("content-range") == "bytes 0-4/10")
    }

    @Test func aResponseWithoutLengthEndsAtEndOfStream() throws {
        let decoder = HTTPDecoder(.response)
        #expect(try decoder.feed(Array("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc".utf8)).isEmpty)
        let end = try decoder.feed(UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(end.first?.body == Array("abc".utf8))
    }

    @Test func garbageIsMalformedAndTheDecoderStaysFailed() throws {
        let decoder = HTTPDecoder(.request)
        #expect(throws: HTTPError.self) { try decoder.feed(Array("GARBAGE\u{0}\r\n\r\n".utf8)) }
        #expect(throws: HTTPError.self) { try decoder.feed(Array("GET / HTTP/1.1\r\n\r\n".utf8)) }
    }

    @Test func boundsAreEnforced() throws {
        var limits = HTTPLimits()
        limits.maxHeadBytes = 256
        limits.maxHeaders = 4
        limits.maxBodyBytes = 8
        let longHeader = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 300) + "\r\n\r\n"
        #expect(throws: HTTPError.headersTooLarge(limit: 256)) {
            try HTTPDecoder(.request, limits: limits).feed(Array(longHeader.utf8))
        }
        let many = "GET / HTTP/1.1\r\n" + (0..<6).map { "H\($0): v\r\n" }.joined() + "\r\n"
        #expect(throws: HTTPError.tooManyHeaders(limit: 4)) {
            try HTTPDecoder(.request, limits: limits).feed(Array(many.utf8))
        }
        let body = "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n"
        #expect(throws: HTTPError.bodyTooLarge(limit: 8)) {
            try HTTPDecoder(.request, limits: limits).feed(Array(body.utf8))
        }
        let chunked =
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + String(repeating: "b", count: 32) + "\r\n"
        #expect(throws: HTTPError.bodyTooLarge(limit: 8)) {
            try HTTPDecoder(.request, limits: limits).feed(Array(chunked.utf8))
        }
        #expect(HTTPError.headersTooLarge(limit: 1).status == 431)
        #expect(HTTPError.bodyTooLarge(limit: 1).status == 413)
    }

    @Test func upgradesAreRefused() {
        let text = "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        #expect(throws: HTTPError.upgradeRefused) { try HTTPDecoder(.request).feed(Array(text.utf8)) }
    }

    @Test func theResponseHeadIsExact() {
        let head = HTTPResponseHead(
            status: 206, contentLength: 10, headers: [("Content-Range", "bytes 0-9/20")], keepAlive: false)
        #expect(
            String(decoding: head.encode(), as: UTF8.self)
                == "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/20\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
        )
    }
}

@Suite struct ByteRangeTests {
    @Test func rangesFollowRFC9110() {
        #expect(ByteRangeRequest(header: nil, size: 100) == .whole)
        #expect(ByteRangeRequest(header: "bytes=0-9", size: 100) == .partial(0..<10))
        #expect(ByteRangeRequest(header: "bytes=90-", size: 100) == .partial(90..<100))
        #expect(ByteRangeRequest(header: "bytes=90-500", size: 100) == .partial(90..<100))
        #expect(ByteRangeRequest(header: "bytes=-10", size: 100) == .partial(90..<100))
        #expect(ByteRangeRequest(header: "bytes=-500", size: 100) == .partial(0..<100))
        #expect(ByteRangeRequest(header: "bytes=100-", size: 100) == .unsatisfiable)
        #expect(ByteRangeRequest(header: "bytes=-0", size: 100) == .unsatisfiable)
        #expect(ByteRangeRequest(header: "bytes=0-", size: 0) == .unsatisfiable)
        // Invalid or several ranges: ignored, the whole representation is sent.
        #expect(ByteRangeRequest(header: "bytes=9-1", size: 100) == .whole)
        #expect(ByteRangeRequest(header: "bytes=0-1,5-6", size: 100) == .whole)
        #expect(ByteRangeRequest(header: "items=0-1", size: 100) == .whole)
        #expect(ByteRangeRequest(header: "bytes=+1-2", size: 100) == .whole)
        #expect(ByteRangeRequest(header: "bytes=99999999999999999999-", size: 100) == .whole)
        #expect(ByteRangeRequest(header: "bytes=0-18446744073709551615", size: 100) == .whole)
    }
}
