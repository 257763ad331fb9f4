// Results of work done out of order (the thread pool's hashes), released in the order the work
// was handed out: each item takes a ticket; finishing one releases it and every finished one
// after it, up to the first still open.

public struct ReorderBuffer<Item> {
    private var nextTicket: UInt64 = 0
    private var nextOut: UInt64 = 0
    private var finished: [UInt64: Item] = [:]

    public init() {}

    public mutating func take() -> UInt64 {
        defer { nextTicket += 1 }
        return nextTicket
    }

    /// `ticket`'s item is done: what may go out now, in ticket order (empty while an earlier
    /// ticket is open).
    public mutating func finish(_ ticket: UInt64, _ item: Item) -> [Item] {
        finished[ticket] = item
        var out: [Item] = []
        while let next = finished.removeValue(forKey: nextOut) {
            out.append(next)
            nextOut += 1
        }
        return out
    }
}
