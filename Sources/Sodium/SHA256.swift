// SHA-256: Nix's NAR hash. On CPUs with the SHA extensions the blocks go through CSHA256's
// SHA-NI compression (about four times libsodium's portable code here, which is what made
// `rookery publish` slow); elsewhere through libsodium's crypto_hash_sha256. Both are checked
// against each other and the FIPS vectors in the tests.
import CSHA256
import CSodium

/// SHA-256, one-shot or streaming.
public final class SHA256 {
    /// Whether this process hashes with SHA-NI (decided once).
    public static let usesSHAExtensions = rookery_sha256_available() != 0

    private enum Backend {
        case native(NativeSHA256)
        case sodium(UnsafeMutableRawPointer)
    }

    private let backend: Backend

    /// `native: false` forces libsodium (tests compare the two).
    public init(native: Bool = SHA256.usesSHAExtensions) {
        ensureSodium()
        if native && Self.usesSHAExtensions {
            backend = .native(NativeSHA256())
        } else {
            let state = UnsafeMutableRawPointer.allocate(byteCount: crypto_hash_sha256_statebytes(), alignment: 64)
            _ = crypto_hash_sha256_init(state.assumingMemoryBound(to: crypto_hash_sha256_state.self))
            backend = .sodium(state)
        }
    }

    deinit {
        if case .sodium(let state) = backend {
            sodium_memzero(state, crypto_hash_sha256_statebytes())
            state.deallocate()
        }
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        switch backend {
        case .native(let n): n.update(bytes)
        case .sodium(let state):
            _ = crypto_hash_sha256_update(
                state.assumingMemoryBound(to: crypto_hash_sha256_state.self), base.assumingMemoryBound(to: UInt8.self),
                UInt64(bytes.count))
        }
    }

    public func update<C: Collection<UInt8>>(_ bytes: C) {
        withContiguousBytes(bytes) { update($0) }
    }

    /// Ends the stream; the hasher must not be updated afterwards.
    public func finalize() -> Digest256 {
        var d = Digest256()
        d.withUnsafeMutableBytes { out in
            switch backend {
            case .native(let n): n.finalize(into: out)
            case .sodium(let state):
                _ = crypto_hash_sha256_final(
                    state.assumingMemoryBound(to: crypto_hash_sha256_state.self),
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return d
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Digest256 {
        let h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    public static func hash<C: Collection<UInt8>>(_ bytes: C) -> Digest256 {
        withContiguousBytes(bytes) { hash($0) }
    }
}

/// FIPS 180-4's padding and length around CSHA256's block function.
private final class NativeSHA256 {
    private var state: [UInt32] = [
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
    ]
    private var pending = [UInt8](repeating: 0, count: 64)
    private var pendingCount = 0
    private var length: UInt64 = 0

    func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var rest = bytes
        if pendingCount > 0 {
            let n = min(64 - pendingCount, rest.count)
            pending.withUnsafeMutableBytes {
                $0.baseAddress!.advanced(by: pendingCount).copyMemory(from: rest.baseAddress!, byteCount: n)
            }
            pendingCount += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            guard pendingCount == 64 else { return }
            pending.withUnsafeBytes { compress($0, blocks: 1) }
            pendingCount = 0
        }
        let blocks = rest.count / 64
        if blocks > 0 { compress(rest, blocks: blocks) }
        let tail = rest.count - blocks * 64
        if tail > 0 {
            pending.withUnsafeMutableBytes {
                $0.baseAddress!.copyMemory(from: rest.baseAddress! + blocks * 64, byteCount: tail)
            }
            pendingCount = tail
        }
    }

    func finalize(into out: UnsafeMutableRawBufferPointer) {
        let bits = length &* 8
        var padding = [UInt8](repeating: 0, count: pendingCount < 56 ? 64 - pendingCount : 128 - pendingCount)
        padding[0] = 0x80
        for i in 0..<8 { padding[padding.count - 1 - i] = UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i))) }
        let saved = length
        padding.withUnsafeBytes { update($0) }
        length = saved
        precondition(pendingCount == 0)
        for (i, word) in state.enumerated() {
            for b in 0..<4 { out[4 * i + b] = UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32(b))) }
        }
    }

    private func compress(_ data: UnsafeRawBufferPointer, blocks: Int) {
        state.withUnsafeMutableBufferPointer { s in
            rookery_sha256_blocks(s.baseAddress!, data.baseAddress!.assumingMemoryBound(to: UInt8.self), blocks)
        }
    }
}
