// Looks into an agent's chunk cache from outside (tests that kill agents mid-fetch): how much
// is on disk, and which chunks of which paths are there intact. Independent of the agent's
// code on purpose: it reads the files and hashes the slots itself.
import Foundation
import Glibc
import Sodium

public enum ChunkCacheProbe {
    public static func directory(_ root: String) -> String { root + "/nix/var/rookery/chunks" }

    /// Bytes allocated on disk under the cache (holes in the path files do not count).
    public static func allocatedBytes(_ root: String) -> UInt64 {
        let dir = directory(root)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.reduce(0) { sum, name in
            var st = stat()
            return stat(dir + "/" + name, &st) == 0 ? sum + UInt64(st.st_blocks) * 512 : sum
        }
    }

    /// The hex ids of the chunks whose slot in `<base name>.nar` holds exactly their bytes;
    /// `paths` gives each path's base name, NAR size, chunk size and chunk ids (hex).
    public static func intactChunks(
        _ root: String, paths: [(baseName: String, narSize: UInt64, chunkSize: UInt64, ids: [String])]
    )
        -> Set<String>
    {
        var intact: Set<String> = []
        for p in paths {
            guard let handle = FileHandle(forReadingAtPath: directory(root) + "/" + p.baseName + ".nar") else {
                continue
            }
            defer { try? handle.close() }
            for (i, id) in p.ids.enumerated() {
                let start = UInt64(i) * p.chunkSize
                let count = Int(min(p.chunkSize, p.narSize - start))
                guard (try? handle.seek(toOffset: start)) != nil, let data = try? handle.read(upToCount: count),
                    data.count == count
                else { continue }
                if Blake2b256.hash(Array(data)).hex == id { intact.insert(id) }
            }
        }
        return intact
    }
}
