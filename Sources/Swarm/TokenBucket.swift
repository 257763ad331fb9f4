// An upload cap: tokens (bytes) refill at `rate` per second up to `burst`. Time is an input.

public struct TokenBucket: Sendable {
    public let bytesPerSecond: UInt64
    public let burst: UInt64
    private var tokens: Double
    private var last: UInt64

    public init(bytesPerSecond: UInt64, burst: UInt64, now: UInt64) {
        self.bytesPerSecond = bytesPerSecond
        self.burst = burst
        tokens = Double(burst)
        last = now
    }

    private mutating func refill(_ now: UInt64) {
        guard now > last else { return }
        tokens = min(Double(burst), tokens + Double(now - last) * Double(bytesPerSecond) / 1000)
        last = now
    }

    /// Takes `bytes` when the bucket is not in debt and returns 0; otherwise the milliseconds to
    /// wait before asking again. A chunk larger than the burst may drive the bucket into debt,
    /// which later sends pay back, so the long-run rate holds for any chunk size.
    public mutating func take(_ bytes: UInt64, now: UInt64) -> UInt64 {
        refill(now)
        if tokens < 0 {
            return max(1, UInt64((-tokens * 1000 / Double(bytesPerSecond)).rounded(.up)))
        }
        tokens -= Double(bytes)
        return 0
    }
}
