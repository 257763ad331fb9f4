// A value one thread at a time may use, behind a mutex: a disk lane's chunk cache (the pool
// writes, the loop reads for peers), publishing's job queue.
import Glibc

/// A value used by one thread at a time.
public final class Locked<Value>: @unchecked Sendable {
    private let value: Value
    private var mutex = pthread_mutex_t()

    public init(_ value: Value) {
        self.value = value
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    public func run<R>(_ body: (Value) -> R) -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body(value)
    }

    /// The value without the lock, for the owner while no other thread can use it.
    public var unlocked: Value { value }
}
