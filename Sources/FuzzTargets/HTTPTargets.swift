// Fuzz target for the HTTP request decoder (libhttp-parser behind HTTPDecoder) and the Range
// header: whatever the bytes, no crash, and feeding them in uneven pieces must give exactly what
// feeding them at once gives.
import HTTP

extension FuzzTarget {
    public static let httpRequest = FuzzTarget(name: "http-request", seeds: HTTPSeeds.requests) { input in
        let whole: [HTTPMessage]?
        do { whole = try HTTPDecoder(.request).feed(input) } catch { whole = nil }
        let pieces = HTTPDecoder(.request)
        var piecewise: [HTTPMessage]? = []
        var offset = 0
        var step = 1
        while offset < input.count, piecewise != nil {
            let end = min(input.count, offset + step)
            do { piecewise! += try pieces.feed(Array(input[offset..<end])) } catch { piecewise = nil }
            offset = end
            step = step * 5 % 23 + 1
        }
        precondition(whole == piecewise, "pieces and whole decode differently")
        for message in whole ?? [] {
            for size: UInt64 in [0, 1, 1000] {
                if case .partial(let r) = ByteRangeRequest(header: message.header("Range"), size: size) {
                    precondition(!r.isEmpty && r.upperBound <= size, "range outside the representation")
                }
            }
        }
    }
}

enum HTTPSeeds {
    static let requests: [[UInt8]] = [
        "GET /nix-cache-info HTTP/1.1\r\nHost: raven\r\n\r\n",
        "GET /nar/0knr5j7jskaryb7dqnbl86jwxpjmmb9jz03jhvcna9nqrgdzwcr2.nar HTTP/1.1\r\nRange: bytes=100-199\r\n\r\n"
            + "HEAD /abc.narinfo HTTP/1.1\r\nConnection: close\r\n\r\n",
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
        "GET / HTTP/1.0\r\nRange: bytes=-5\r\nContent-Length: 3\r\n\r\nabc",
    ].map { Array($0.utf8) }
}
