// The one checked door for libuv return codes.
import CLibUV

public struct RuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// libuv's negative error code (e.g. UV_ECONNREFUSED).
    public let code: Int32
    /// The call that failed.
    public let call: String

    public var description: String {
        "\(call): \(String(cString: uv_strerror(code)))"
    }

    /// An I/O error of `call` outside libuv (a file read that failed mid-stream).
    public static func io(_ call: String) -> RuntimeError { RuntimeError(code: UV_EIO.rawValue, call: call) }
}

/// Throws for a negative libuv return code; passes others through.
@discardableResult
func uvCheck(_ rc: Int32, _ call: String) throws(RuntimeError) -> Int32 {
    if rc < 0 { throw RuntimeError(code: rc, call: call) }
    return rc
}
