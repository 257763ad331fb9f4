// Builds the benchmark inputs in a scratch folder: a tree of many files and a sparse 1 GiB file.
import Glibc
import Store

/// A tree of `fileCount` files totalling about `totalMiB`, in nested folders, some executable.
func makeTree(at root: String, totalMiB: Int, fileCount: Int) throws {
    mkdir(root, 0o755)
    let perFile = totalMiB * 1024 * 1024 / fileCount
    var block = [UInt8](repeating: 0, count: perFile)
    var x: UInt64 = 0x1234_5678
    for i in block.indices {
        x = x &* 6364136223846793005 &+ 1442695040888963407
        block[i] = UInt8(truncatingIfNeeded: x >> 33)
    }
    for i in 0..<fileCount {
        let dir = "\(root)/d\(i % 16)"
        mkdir(dir, 0o755)
        block[0] = UInt8(truncatingIfNeeded: i)  // distinct contents per file
        try FileIO.writeNew("\(dir)/f\(i)", block, mode: i % 7 == 0 ? 0o755 : 0o644)
    }
}

/// A sparse file of `bytes` (reads as zeros, costs no disk).
func makeSparseFile(at path: String, bytes: Int) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0, ftruncate(fd, off_t(bytes)) == 0 else { throw StoreError.lastSystem("ftruncate", path) }
    close(fd)
}
