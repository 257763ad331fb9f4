// The check-and-create step before the root is mounted (preLVMCommands in NixOS's initrd): a
// disk that already carries the declared layout is left alone; any other is partitioned and
// formatted. Nothing is written before the layout is known to fit.
import BootFormats
import Glibc

public enum DiskPreparer {
    public enum Outcome: Equatable, Sendable {
        case leftAlone
        case created([DiskLayout.Placed])
    }

    /// Checks `layout.disk` and creates the layout when it is not there. `mkfs` is mke2fs's path.
    public static func prepare(_ layout: DiskLayout, mkfs: String) throws -> Outcome {
        let fd = open(layout.disk, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.lastSystem("open", layout.disk) }
        defer { close(fd) }
        let isBlock = try isBlockDevice(fd)
        let placed = try layout.place(diskBytes: try size(fd, isBlock: isBlock, path: layout.disk))
        let first = try read(fd, at: 0, count: 512, path: layout.disk)
        let superblocks = try placed.map { try read(fd, at: $0.startByte + 1024, count: 1024, path: layout.disk) }
        if DiskLayout.matches(placed, firstSector: first, superblocks: superblocks) { return .leftAlone }

        try write(fd, Array(first[..<446]) + Array(DiskLayout.mbr(placed)[446...]), at: 0, path: layout.disk)
        guard fsync(fd) == 0 else { throw StoreError.lastSystem("fsync", layout.disk) }
        if isBlock {
            // The kernel rereads the table, so the partition devices exist for mkfs and mount.
            guard ioctl(fd, 0x125F /* BLKRRPART */) == 0 else { throw StoreError.lastSystem("BLKRRPART", layout.disk) }
        }
        for (i, p) in placed.enumerated() {
            var arguments = [mkfs, "-t", p.partition.filesystem, "-q", "-F", "-L", p.partition.label]
            if isBlock {
                let device = partitionDevice(layout.disk, i + 1)
                try waitForNode(device)
                arguments.append(device)
            } else {
                // A disk image (tests): format in place at the partition's offset.
                arguments += ["-E", "offset=\(p.startByte)", layout.disk, "\(p.bytes >> 10)k"]
            }
            try Tool.run(arguments)
        }
        return .created(placed)
    }

    /// `/dev/vda` → `/dev/vda1`; `/dev/nvme0n1` → `/dev/nvme0n1p1`.
    public static func partitionDevice(_ disk: String, _ n: Int) -> String {
        disk.last.map { $0.isNumber } == true ? "\(disk)p\(n)" : "\(disk)\(n)"
    }

    private static func isBlockDevice(_ fd: Int32) throws -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.lastSystem("fstat", "disk") }
        return (st.st_mode & S_IFMT) == S_IFBLK
    }

    private static func size(_ fd: Int32, isBlock: Bool, path: String) throws -> UInt64 {
        if isBlock {
            var bytes: UInt64 = 0
            guard ioctl(fd, 0x8008_1272 /* BLKGETSIZE64 */, &bytes) == 0 else {
                throw StoreError.lastSystem("BLKGETSIZE64", path)
            }
            return bytes
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.lastSystem("fstat", path) }
        return UInt64(st.st_size)
    }

    private static func read(_ fd: Int32, at offset: UInt64, count: Int, path: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = pread(fd, &out, count, off_t(offset))
        guard n >= 0 else { throw StoreError.lastSystem("pread", path) }
        return out  // a short read (a fresh sparse image) leaves zeros: no layout there
    }

    private static func write(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64, path: String) throws {
        guard pwrite(fd, bytes, bytes.count, off_t(offset)) == bytes.count else {
            throw StoreError.lastSystem("pwrite", path)
        }
    }

    private static func waitForNode(_ device: String) throws {
        for _ in 0..<50 {
            if access(device, F_OK) == 0 { return }
            usleep(100_000)
        }
        throw StoreError.lastSystem("waiting for", device)
    }
}
