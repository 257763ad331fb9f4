// The only door to libsodium. Everything that hashes, signs or holds a secret goes through here.
import CSodium

/// Errors from the libsodium door.
public enum SodiumError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key or signature had the wrong number of bytes.
    case wrongLength(what: String, expected: Int, got: Int)
    /// libsodium refused to produce a signature or key pair.
    case operationFailed(String)

    public var description: String {
        switch self {
        case .wrongLength(let what, let expected, let got): "a \(what) has \(expected) bytes, this has \(got)"
        case .operationFailed(let what): "libsodium failed to \(what)"
        }
    }
}

/// `sodium_init` is idempotent and thread-safe; a global `let` runs it once, lazily.
private let sodiumInitResult: Int32 = sodium_init()

@inline(__always)
func ensureSodium() {
    // A negative result means no entropy source; nothing in rookery can work without one.
    precondition(sodiumInitResult >= 0, "sodium_init failed")
}

/// Fills `count` bytes from libsodium's CSPRNG.
public func randomBytes(_ count: Int) -> [UInt8] {
    ensureSodium()
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { if $0.count > 0 { randombytes_buf($0.baseAddress!, $0.count) } }
    return out
}

/// Runs `body` over the bytes of `collection` without copying when its storage is contiguous.
@inline(__always)
func withContiguousBytes<C: Collection<UInt8>, R>(_ collection: C, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let r = collection.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
        return r
    }
    return Array(collection).withUnsafeBytes(body)
}
