// SHA-256 (libsodium crypto_hash_sha256): Nix's NAR hash.
import CSodium

/// SHA-256, one-shot or streaming.
public final class SHA256 {
    private let state: UnsafeMutableRawPointer

    public init() {
        ensureSodium()
        state = .allocate(byteCount: crypto_hash_sha256_statebytes(), alignment: 64)
        _ = crypto_hash_sha256_init(statePointer)
    }

    deinit {
        sodium_memzero(state, crypto_hash_sha256_statebytes())
        state.deallocate()
    }

    private var statePointer: UnsafeMutablePointer<crypto_hash_sha256_state> {
        state.assumingMemoryBound(to: crypto_hash_sha256_state.self)
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = crypto_hash_sha256_update(statePointer, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    public func update<C: Collection<UInt8>>(_ bytes: C) {
        withContiguousBytes(bytes) { update($0) }
    }

    /// Ends the stream; the hasher must not be updated afterwards.
    public func finalize() -> Digest256 {
        var d = Digest256()
        d.withUnsafeMutableBytes { out in
            _ = crypto_hash_sha256_final(statePointer, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return d
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Digest256 {
        ensureSodium()
        var d = Digest256()
        d.withUnsafeMutableBytes { out in
            _ = crypto_hash_sha256(
                out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
        }
        return d
    }

    public static func hash<C: Collection<UInt8>>(_ bytes: C) -> Digest256 {
        withContiguousBytes(bytes) { hash($0) }
    }
}
