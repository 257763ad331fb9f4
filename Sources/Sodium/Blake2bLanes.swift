// Many chunk ids at once: messages of one length go through the CPU's vector lanes together
// (CBlake2b: 8 on AVX-512, 4 on AVX2), libsodium hashes the rest one by one. Same digests as
// `Blake2b256.hash`; a 512 MiB closure's chunks cost a quarter of the CPU time on AVX-512.
import CBlake2b

extension Blake2b256 {
    /// How many messages one lane-parallel call hashes on this CPU: 8, 4, or 1 (no vector unit).
    public static let lanes = max(1, Int(rookery_blake2b256_lanes()))

    /// BLAKE2b-256 of each message, in order. `lanes` is for tests (8, 4 or 1, at most `Self.lanes`).
    public static func hash(each messages: [UnsafeRawBufferPointer], lanes: Int = lanes) -> [Digest256] {
        precondition([1, 4, 8].contains(lanes) && lanes <= Self.lanes, "unsupported lane count \(lanes)")
        // A swarm client's chunks come tens of milliseconds apart: mostly one per batch.
        if messages.count < 3 { return messages.map { hash($0) } }
        var digests = [Digest256](repeating: Digest256(), count: messages.count)
        var byLength: [Int: [Int]] = [:]
        for (i, m) in messages.enumerated() { byLength[m.count, default: []].append(i) }
        withUnsafeTemporaryAllocation(of: UnsafePointer<UInt8>?.self, capacity: lanes) { pointers in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: lanes * Digest256.byteCount) { out in
                for (length, group) in byLength {
                    var start = 0
                    while start < group.count {
                        let batch = group[start..<min(start + lanes, group.count)]
                        start += lanes
                        // A call costs about two single hashes (8 lanes hash 3.8x the bytes per
                        // second of one stream here, 4 lanes 2.1x): fewer than three go one by one.
                        guard batch.count >= 3 else {
                            for i in batch { digests[i] = hash(messages[i]) }
                            continue
                        }
                        for lane in 0..<lanes {
                            // Spare lanes hash the batch's first message again.
                            let m = messages[batch[lane < batch.count ? batch.startIndex + lane : batch.startIndex]]
                            // An empty message has no address; its lane reads nothing from the one given.
                            pointers[lane] =
                                m.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(out.baseAddress!)
                        }
                        rookery_blake2b256_many(Int32(lanes), pointers.baseAddress!, length, out.baseAddress!)
                        for (lane, i) in batch.enumerated() {
                            let bytes = UnsafeBufferPointer(
                                rebasing: out[(lane * Digest256.byteCount)..<((lane + 1) * Digest256.byteCount)])
                            digests[i] = Digest256(bytes: bytes)!
                        }
                    }
                }
            }
        }
        return digests
    }

    /// BLAKE2b-256 of each array, in order; the same lanes as above.
    public static func hash(each arrays: [[UInt8]], lanes: Int = lanes) -> [Digest256] {
        // Each array's bytes are held while the one below runs: nested, one level per array.
        var buffers: [UnsafeRawBufferPointer] = []
        buffers.reserveCapacity(arrays.count)
        func nest(_ i: Int) -> [Digest256] {
            guard i < arrays.count else { return hash(each: buffers, lanes: lanes) }
            return arrays[i].withUnsafeBytes { raw in
                buffers.append(raw)
                return nest(i + 1)
            }
        }
        return nest(0)
    }
}
