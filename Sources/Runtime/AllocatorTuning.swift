// Chunk-sized buffers (64 KiB – 4 MiB) are allocated and freed for every chunk. Above glibc's
// default mmap threshold each one is a fresh mmap and munmap: page faults and TLB shootdowns that
// showed up as about a third of the seed's time under perf. Raising the threshold keeps them in
// the heap.
import CSystemShims

public enum AllocatorTuning {
    /// Call once at process start in the seed, the agent and `rookery fetch`.
    public static func forChunkTraffic() {
        rookery_tune_malloc_for_chunks()
    }
}
