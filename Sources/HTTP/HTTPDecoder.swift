// Sans-IO HTTP/1.x decoding with Debian's libhttp-parser (the only importer of CHTTPParser):
// feed bytes as they arrive, take the complete messages. Pipelined requests come out in order.
// Everything it keeps is bounded by HTTPLimits; after an error it accepts nothing more.
import CHTTPParser

public final class HTTPDecoder {
    public enum Kind: Sendable { case request, response }

    private let parser: UnsafeMutablePointer<http_parser>
    private var settings = http_parser_settings()
    private let limits: HTTPLimits
    private var current = HTTPMessage()
    private var field: [UInt8] = []
    private var value: [UInt8] = []
    private var inValue = false
    private var url: [UInt8] = []
    private var headBytes = 0
    private var complete: [HTTPMessage] = []
    private var failure: HTTPError?

    public init(_ kind: Kind, limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
        parser = .allocate(capacity: 1)
        http_parser_init(parser, kind == .request ? HTTP_REQUEST : HTTP_RESPONSE)
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        settings.on_message_begin = { p in me(p).begin() }
        settings.on_url = { p, at, n in me(p).data(at, n) { $0.url.append(contentsOf: $1) } }
        settings.on_status = { p, at, n in me(p).data(at, n) { _, _ in } }
        settings.on_header_field = { p, at, n in me(p).headerField(at, n) }
        settings.on_header_value = { p, at, n in me(p).headerValue(at, n) }
        settings.on_headers_complete = { p in me(p).headersComplete() }
        settings.on_body = { p, at, n in me(p).body(at, n) }
        settings.on_message_complete = { p in me(p).messageComplete() }
    }

    deinit { parser.deallocate() }

    /// Feeds received bytes; returns the messages they completed. An empty buffer means end of
    /// stream (it completes a response whose body runs to the end).
    public func feed(_ bytes: UnsafeRawBufferPointer) throws(HTTPError) -> [HTTPMessage] {
        if let failure { throw failure }
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        let parsed = http_parser_execute(parser, &settings, base, bytes.count)
        if let failure { throw failure }
        let errno = http_errno(rawValue: parser.pointee.http_errno)
        if errno != HPE_OK {
            failure = .malformed(String(cString: http_errno_name(errno)))
        } else if parser.pointee.upgrade == 1 {
            failure = .upgradeRefused
        } else if parsed != bytes.count {
            failure = .malformed("unparsed bytes")
        }
        if let failure { throw failure }
        defer { complete.removeAll() }
        return complete
    }

    public func feed(_ bytes: [UInt8]) throws(HTTPError) -> [HTTPMessage] {
        var result: Result<[HTTPMessage], HTTPError> = .success([])
        bytes.withUnsafeBytes { b in
            do throws(HTTPError) { result = .success(try feed(b)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    // MARK: callbacks (return non-zero to stop the parser)

    private func begin() -> Int32 {
        current = HTTPMessage()
        field.removeAll(keepingCapacity: true)
        value.removeAll(keepingCapacity: true)
        url.removeAll(keepingCapacity: true)
        inValue = false
        headBytes = 0
        return 0
    }

    private func data(
        _ at: UnsafePointer<CChar>?, _ n: Int, _ append: (HTTPDecoder, UnsafeRawBufferPointer) -> Void
    ) -> Int32 {
        headBytes += n
        guard headBytes <= limits.maxHeadBytes else { return stop(.headersTooLarge(limit: limits.maxHeadBytes)) }
        append(self, UnsafeRawBufferPointer(start: at, count: n))
        return 0
    }

    private func headerField(_ at: UnsafePointer<CChar>?, _ n: Int) -> Int32 {
        if inValue, commitHeader() != 0 { return 1 }
        return data(at, n) { $0.field.append(contentsOf: $1) }
    }

    private func headerValue(_ at: UnsafePointer<CChar>?, _ n: Int) -> Int32 {
        inValue = true
        return data(at, n) { $0.value.append(contentsOf: $1) }
    }

    private func commitHeader() -> Int32 {
        inValue = false
        guard current.headers.count < limits.maxHeaders else { return stop(.tooManyHeaders(limit: limits.maxHeaders)) }
        current.headers.append((String(decoding: field, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        field.removeAll(keepingCapacity: true)
        value.removeAll(keepingCapacity: true)
        return 0
    }

    private func headersComplete() -> Int32 {
        if inValue, commitHeader() != 0 { return 1 }
        let p = parser.pointee
        if p.type == HTTP_REQUEST.rawValue {
            current.method = String(cString: http_method_str(http_method(rawValue: p.method)))
            current.target = String(decoding: url, as: UTF8.self)
        } else {
            current.status = Int(p.status_code)
        }
        // A declared body larger than the limit is refused before any of it is buffered.
        if p.content_length != UInt64.max && p.content_length > UInt64(limits.maxBodyBytes) {
            return stop(.bodyTooLarge(limit: limits.maxBodyBytes))
        }
        return 0
    }

    private func body(_ at: UnsafePointer<CChar>?, _ n: Int) -> Int32 {
        guard current.body.count + n <= limits.maxBodyBytes else {
            return stop(.bodyTooLarge(limit: limits.maxBodyBytes))
        }
        current.body.append(contentsOf: UnsafeRawBufferPointer(start: at, count: n))
        return 0
    }

    private func messageComplete() -> Int32 {
        current.keepAlive = http_should_keep_alive(parser) != 0
        complete.append(current)
        return 0
    }

    private func stop(_ error: HTTPError) -> Int32 {
        failure = error
        return 1
    }
}

private func me(_ p: UnsafeMutablePointer<http_parser>?) -> HTTPDecoder {
    Unmanaged<HTTPDecoder>.fromOpaque(p!.pointee.data).takeUnretainedValue()
}
