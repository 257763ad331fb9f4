// The chunks a client may still ask for, grouped by how many connected peers hold each, so the
// picker finds the rarest chunk a peer holds without looking at every missing chunk: that look,
// once per chunk picked, made a fetch of n chunks cost O(n²) (`rookery simulate`, 16 clients,
// 1 GiB in 64 KiB chunks: 72 % of the run). Every change is O(1).

struct AvailabilityBuckets: Sendable {
    /// `buckets[a]`: the chunks `a` peers hold, in no order.
    private(set) var buckets: [[Int32]] = [[]]
    /// Where each chunk is in its bucket; -1 in none.
    private var slot: [Int32]
    /// Chunks in all buckets (a few dozen buckets at most: one per connected peer).
    var count: Int { buckets.reduce(0) { $0 + $1.count } }

    init(chunks: Int) {
        slot = [Int32](repeating: -1, count: chunks)
    }

    func contains(_ chunk: Int) -> Bool { slot[chunk] >= 0 }

    /// Adds `chunk`, which `availability` peers hold.
    mutating func insert(_ chunk: Int, availability: Int) {
        guard !contains(chunk) else { return }
        while buckets.count <= availability { buckets.append([]) }
        slot[chunk] = Int32(buckets[availability].count)
        buckets[availability].append(Int32(chunk))
    }

    /// Takes `chunk` out, if in; `availability` must be the one it went in with (or last moved to).
    mutating func remove(_ chunk: Int, availability: Int) {
        let s = Int(slot[chunk])
        guard s >= 0 else { return }
        assert(buckets[availability][s] == Int32(chunk), "chunk \(chunk) is not in bucket \(availability)")
        let last = buckets[availability].removeLast()
        if Int(last) != chunk {
            buckets[availability][s] = last
            slot[Int(last)] = Int32(s)
        }
        slot[chunk] = -1
    }

    /// One more or one fewer peer holds `chunk`: it changes bucket, if in one.
    mutating func move(_ chunk: Int, from old: Int, to new: Int) {
        guard contains(chunk) else { return }
        remove(chunk, availability: old)
        insert(chunk, availability: new)
    }
}
