// Ed25519 (libsodium crypto_sign): the signatures of Nix binary-cache keys and rookery manifests.
import CSodium

/// An Ed25519 public key (32 bytes).
public struct PublicKey: Hashable, Sendable {
    public static let byteCount = 32
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(SodiumError) {
        guard bytes.count == Self.byteCount else {
            throw .wrongLength(what: "public key", expected: Self.byteCount, got: bytes.count)
        }
        self.bytes = bytes
    }

    /// Checks a detached signature over `message`.
    public func verify<C: Collection<UInt8>>(signature: [UInt8], of message: C) -> Bool {
        ensureSodium()
        guard signature.count == Signature.byteCount else { return false }
        return withContiguousBytes(message) { m in
            crypto_sign_verify_detached(
                signature, m.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(m.count), bytes) == 0
        }
    }
}

/// Size of a detached Ed25519 signature.
public enum Signature {
    public static let byteCount = 64
}

/// An Ed25519 secret key in libsodium's 64-byte form (seed ‖ public key), the form Nix stores.
///
/// The bytes live in `sodium_malloc` memory (guarded, locked) and are wiped when the key is
/// released; the key never prints them and compares in constant time.
public final class SecretKey: Equatable, CustomStringConvertible, CustomDebugStringConvertible, @unchecked Sendable {
    public static let byteCount = 64
    public static let seedByteCount = 32
    // Immutable after init; only read, so sharing across threads is safe.
    private let storage: UnsafeMutableRawPointer

    private init() {
        ensureSodium()
        guard let p = sodium_malloc(Self.byteCount) else {
            fatalError("sodium_malloc failed for a 64-byte secret key")
        }
        storage = p
    }

    /// Loads a 64-byte secret key. Checks that its second half is the public key of its seed,
    /// as Nix's 64-byte keys always are.
    public convenience init(bytes: [UInt8]) throws(SodiumError) {
        guard bytes.count == Self.byteCount else {
            throw .wrongLength(what: "secret key", expected: Self.byteCount, got: bytes.count)
        }
        self.init()
        bytes.withUnsafeBytes { storage.copyMemory(from: $0.baseAddress!, byteCount: Self.byteCount) }
        var derived = [UInt8](repeating: 0, count: PublicKey.byteCount)
        _ = crypto_sign_ed25519_sk_to_pk(&derived, storage.assumingMemoryBound(to: UInt8.self))
        var fromSeed = [UInt8](repeating: 0, count: PublicKey.byteCount)
        var scratch = [UInt8](repeating: 0, count: Self.byteCount)
        _ = crypto_sign_seed_keypair(&fromSeed, &scratch, storage.assumingMemoryBound(to: UInt8.self))
        scratch.withUnsafeMutableBytes { sodium_memzero($0.baseAddress!, $0.count) }
        guard derived == fromSeed else {
            throw .operationFailed("secret key's public half does not match its seed")
        }
    }

    /// Expands a 32-byte seed into a key pair.
    public convenience init(seed: [UInt8]) throws(SodiumError) {
        guard seed.count == Self.seedByteCount else {
            throw .wrongLength(what: "secret key seed", expected: Self.seedByteCount, got: seed.count)
        }
        self.init()
        var pk = [UInt8](repeating: 0, count: PublicKey.byteCount)
        guard crypto_sign_seed_keypair(&pk, storage.assumingMemoryBound(to: UInt8.self), seed) == 0 else {
            throw .operationFailed("crypto_sign_seed_keypair")
        }
    }

    /// A fresh random key pair.
    public static func generate() -> SecretKey {
        let key = SecretKey()
        var pk = [UInt8](repeating: 0, count: PublicKey.byteCount)
        let rc = crypto_sign_keypair(&pk, key.storage.assumingMemoryBound(to: UInt8.self))
        precondition(rc == 0, "crypto_sign_keypair failed")
        return key
    }

    deinit {
        sodium_free(storage)  // wipes before freeing
    }

    public var publicKey: PublicKey {
        var pk = [UInt8](repeating: 0, count: PublicKey.byteCount)
        _ = crypto_sign_ed25519_sk_to_pk(&pk, storage.assumingMemoryBound(to: UInt8.self))
        return try! PublicKey(bytes: pk)
    }

    /// A detached signature over `message` (Ed25519 is deterministic).
    public func sign<C: Collection<UInt8>>(_ message: C) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: Signature.byteCount)
        withContiguousBytes(message) { m in
            _ = crypto_sign_detached(
                &sig, nil, m.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(m.count),
                storage.assumingMemoryBound(to: UInt8.self))
        }
        return sig
    }

    /// Hands the raw 64 bytes to `body`, e.g. to write the key file. Keep the copy short-lived.
    public func withUnsafeSecretBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: Self.byteCount))
    }

    public static func == (a: SecretKey, b: SecretKey) -> Bool {
        sodium_memcmp(a.storage, b.storage, Self.byteCount) == 0
    }

    public var description: String { "SecretKey(<redacted>)" }
    public var debugDescription: String { description }
}
