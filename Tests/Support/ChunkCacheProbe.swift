// Looks into an agent's chunk cache from outside (tests that kill agents mid-fetch): how much
// is on disk, and which chunks of which paths are there intact. Independent of the agent's
// code on purpose: it reads the cache files and hashes the slots itself, and has real Nix dump
// the staging trees that chunks coming in order went into (`.rookery-staging/<lane>/<name>`).
import Foundation
import Glibc
import Sodium

public enum ChunkCacheProbe {
    public static func directory(_ root: String) -> String { root + "/nix/var/rookery/chunks" }

    /// The staging trees under ROOT's store, in every lane's folder.
    public static func stagingTrees(_ root: String) -> [String] {
        let folders = root + "/nix/store/.rookery-staging"
        var trees: [String] = []
        for lane in (try? FileManager.default.contentsOfDirectory(atPath: folders)) ?? [] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folders + "/" + lane)) ?? [] {
                trees.append(folders + "/" + lane + "/" + name)
            }
        }
        return trees
    }

    /// Bytes allocated on disk under the cache and the staging trees (holes do not count).
    public static func allocatedBytes(_ root: String) -> UInt64 {
        var sum: UInt64 = 0
        let cache = directory(root)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? [] {
            sum += blocks(cache + "/" + name)
        }
        for tree in stagingTrees(root) {
            sum += blocks(tree)
            for sub in FileManager.default.subpaths(atPath: tree) ?? [] { sum += blocks(tree + "/" + sub) }
        }
        return sum
    }

    static func blocks(_ path: String) -> UInt64 {
        var st = stat()
        return lstat(path, &st) == 0 ? UInt64(st.st_blocks) * 512 : 0
    }

    /// The hex ids of the chunks whose slot in `<base name>.nar`, or whose range of the NAR
    /// that Nix dumps from the path's staging tree, holds exactly their bytes; `paths` gives each
    /// path's base name, NAR size, chunk size and chunk ids (hex). `home`: Nix's private HOME.
    public static func intactChunks(
        _ root: String, paths: [(baseName: String, narSize: UInt64, chunkSize: UInt64, ids: [String])],
        home: String
    ) throws -> Set<String> {
        var intact: Set<String> = []
        let trees = stagingTrees(root)
        for p in paths {
            guard let tree = trees.first(where: { $0.hasSuffix("/" + p.baseName) }) else { continue }
            let dump = try NixTool.nix("nix-store", ["--store", root, "--dump", tree], home: home).stdout
            for (i, id) in p.ids.enumerated() {
                let start = Int(UInt64(i) * p.chunkSize)
                let end = Int(min(UInt64(start) + p.chunkSize, p.narSize))
                if end <= dump.count && Blake2b256.hash(Array(dump[start..<end])).hex == id { intact.insert(id) }
            }
        }
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
