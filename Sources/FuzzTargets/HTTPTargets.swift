// Fuzz targets for the HTTP decoder (libhttp-parser behind HTTPDecoder): requests, as the
// server's faces read them, with the Range header; responses, as `rookery status` reads a seed's
// or a peer's answer. Whatever the bytes, no crash, and feeding them in uneven pieces must give
// exactly what feeding them at once gives.
import HTTP

extension FuzzTarget {
    public static let httpRequest = FuzzTarget(name: "http-request", seeds: HTTPSeeds.requests) { input in
        let messages = decodedAlike(.request, input) ?? []
        for message in messages {
            for size: UInt64 in [0, 1, 1000] {
                if case .partial(let r) = ByteRangeRequest(header: message.header("Range"), size: size) {
                    precondition(!r.isEmpty && r.upperBound <= size, "range outside the representation")
                }
            }
        }
        return !messages.isEmpty
    }

    /// Responses end with the stream too (a body without a length runs to it): both decodes get it.
    public static let httpResponse = FuzzTarget(name: "http-response", seeds: HTTPSeeds.responses) { input in
        let limits = HTTPLimits()
        let messages = decodedAlike(.response, input, endOfStream: true) ?? []
        for message in messages {
            precondition(message.method.isEmpty && message.target.isEmpty, "a response with a request line")
            precondition(message.body.count <= limits.maxBodyBytes, "a body over the limit")
        }
        return !messages.isEmpty
    }
}

/// The messages `input` decodes to (nil: refused), checked to be the same whether it is fed at
/// once or in uneven pieces; `endOfStream`: then the end of the stream is fed too.
private func decodedAlike(_ kind: HTTPDecoder.Kind, _ input: [UInt8], endOfStream: Bool = false) -> [HTTPMessage]? {
    var pieces: [ArraySlice<UInt8>] = []
    var offset = 0
    var step = 1
    while offset < input.count {
        let end = min(input.count, offset + step)
        pieces.append(input[offset..<end])
        offset = end
        step = step * 5 % 23 + 1
    }
    let whole = decode(kind, [input[...]], endOfStream: endOfStream)
    precondition(whole == decode(kind, pieces, endOfStream: endOfStream), "pieces and whole decode differently")
    return whole
}

private func decode(_ kind: HTTPDecoder.Kind, _ pieces: [ArraySlice<UInt8>], endOfStream: Bool) -> [HTTPMessage]? {
    let decoder = HTTPDecoder(kind)
    var messages: [HTTPMessage] = []
    do throws(HTTPError) {
        for piece in pieces { messages += try decoder.feed(Array(piece)) }
        if endOfStream { messages += try decoder.feed(UnsafeRawBufferPointer(start: nil, count: 0)) }
    } catch {
        return nil
    }
    return messages
}

enum HTTPSeeds {
    static let requests: [[UInt8]] = [
        "GET /nix-cache-info HTTP/1.1\r\nHost: raven\r\n\r\n",
        "GET /nar/0knr5j7jskaryb7dqnbl86jwxpjmmb9jz03jhvcna9nqrgdzwcr2.nar HTTP/1.1\r\nRange: bytes=100-199\r\n\r\n"
            + "HEAD /abc.narinfo HTTP/1.1\r\nConnection: close\r\n\r\n",
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
        "GET / HTTP/1.0\r\nRange: bytes=-5\r\nContent-Length: 3\r\n\r\nabc",
    ].map { Array($0.utf8) }

    static let responses: [[UInt8]] = [
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"peers\": []}",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
        // No length: the body runs to the end of the stream.
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nrookery_chunks_served_total 3\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
            + "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 1-3/10\r\nContent-Length: 3\r\n\r\nabc",
        "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    ].map { Array($0.utf8) }
}
