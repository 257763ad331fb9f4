// A declared disk layout and its MBR partition table, pure: parse the declaration, plan the
// partitions for a disk of a given size, encode the table, and decide whether a disk already
// carries exactly this layout (then it is left alone, and its store survives reboots).
//
// Declaration (one line each, `#` comments):
//   disk /dev/vda
//   partition LABEL FS SIZE      FS: ext4 (ext2, ext3); SIZE: MiB, or `rest` (last only)
// Partitions start at 1 MiB and are MiB-aligned; at most four (primary MBR partitions). An MBR
// entry holds 32-bit sector numbers, so a partition starts within and spans at most 2 TiB: on a
// larger disk `rest` stops there and what lies beyond stays unused (more would need a GPT).
import NixFormats

public struct DiskLayout: Equatable, Sendable {
    public struct Partition: Equatable, Sendable {
        public var label: String
        public var filesystem: String
        /// MiB, or nil for the rest of the disk.
        public var sizeMiB: UInt64?
    }

    /// A partition placed on a disk, in 512-byte sectors.
    public struct Placed: Equatable, Sendable {
        public var partition: Partition
        public var startSector: UInt64
        public var sectors: UInt64
        public var startByte: UInt64 { startSector * 512 }
        public var bytes: UInt64 { sectors * 512 }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case syntax(line: Int, String)
        case tooSmall(disk: String, bytes: UInt64, needed: UInt64)
        case startsBeyondMBR(label: String)

        public var description: String {
            switch self {
            case .syntax(let line, let what): "layout line \(line): \(what)"
            case .tooSmall(let disk, let bytes, let needed):
                "disk \(disk) is too small: \(bytes >> 20) MiB, the layout needs at least \(needed >> 20) MiB"
            case .startsBeyondMBR(let label):
                "partition \(label) would start beyond 2 TiB, where an MBR cannot point"
            }
        }
    }

    public var disk: String
    public var partitions: [Partition]

    /// The smallest partition `rest` may leave: a store needs room.
    public static let minimumRestMiB: UInt64 = 64
    static let sectorsPerMiB: UInt64 = 2048
    /// The most MiB an MBR entry's 32-bit sector count holds (2 TiB less 1 MiB).
    public static let maxPartitionMiB = UInt64(UInt32.max) / sectorsPerMiB

    public init(disk: String, partitions: [Partition]) {
        self.disk = disk
        self.partitions = partitions
    }

    public static func parse(_ text: String) throws(Failure) -> DiskLayout {
        var disk: String?
        var partitions: [Partition] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = raw.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = words.first, !first.hasPrefix("#") else { continue }
            switch (first, words.count) {
            case ("disk", 2):
                // open(2) and mke2fs take C strings: a NUL would cut the device path or the label
                // short (a label cut short never matched, and the disk was formatted at every boot).
                guard !words[1].containsControlBytes else {
                    throw .syntax(line: n + 1, "a device path without control bytes")
                }
                disk = String(words[1])
            case ("partition", 4):
                let label = String(words[1])
                let fs = String(words[2])
                guard !label.isEmpty, label.utf8.count <= 16, !label.containsControlBytes else {
                    throw .syntax(line: n + 1, "a label has 1…16 bytes (ext4's limit), no control bytes")
                }
                guard ["ext2", "ext3", "ext4"].contains(fs) else {
                    throw .syntax(line: n + 1, "filesystem \(fs) is not one of ext2, ext3, ext4")
                }
                var size: UInt64?
                if words[3] != "rest" {
                    guard let mib = UInt64(words[3]), mib > 0 else {
                        throw .syntax(line: n + 1, "size \(words[3]) is not MiB or `rest`")
                    }
                    guard mib <= maxPartitionMiB else {
                        throw .syntax(
                            line: n + 1, "size \(mib) MiB is more than an MBR entry holds (\(maxPartitionMiB))")
                    }
                    size = mib
                }
                guard partitions.last.map({ $0.sizeMiB != nil }) ?? true else {
                    throw .syntax(line: n + 1, "only the last partition may take the rest")
                }
                partitions.append(Partition(label: label, filesystem: fs, sizeMiB: size))
            default:
                throw .syntax(line: n + 1, "expected `disk DEVICE` or `partition LABEL FS SIZE`")
            }
        }
        guard let disk else { throw .syntax(line: 0, "no `disk DEVICE` line") }
        guard (1...4).contains(partitions.count) else { throw .syntax(line: 0, "1…4 partitions") }
        return DiskLayout(disk: disk, partitions: partitions)
    }

    /// Where each partition goes on a disk of `diskBytes`.
    public func place(diskBytes: UInt64) throws(Failure) -> [Placed] {
        let totalMiB = diskBytes >> 20
        var next: UInt64 = 1  // MiB; the first MiB holds the table
        var placed: [Placed] = []
        let fixed = partitions.reduce(UInt64(0)) { $0 + ($1.sizeMiB ?? 0) }
        let needed = 1 + fixed + (partitions.last?.sizeMiB == nil ? Self.minimumRestMiB : 0)
        guard totalMiB >= needed else { throw .tooSmall(disk: disk, bytes: diskBytes, needed: needed << 20) }
        for p in partitions {
            guard next * Self.sectorsPerMiB <= UInt64(UInt32.max) else { throw .startsBeyondMBR(label: p.label) }
            let mib = p.sizeMiB ?? min(totalMiB - next, Self.maxPartitionMiB)
            placed.append(
                Placed(partition: p, startSector: next * Self.sectorsPerMiB, sectors: mib * Self.sectorsPerMiB))
            next += mib
        }
        return placed
    }

    /// The 512-byte MBR for `placed`: Linux partitions (0x83), the boot signature, a zero
    /// disk signature (stable bytes: the same layout always writes the same table).
    public static func mbr(_ placed: [Placed]) -> [UInt8] {
        var sector = [UInt8](repeating: 0, count: 512)
        for (i, p) in placed.enumerated() {
            let at = 446 + 16 * i
            // CHS fields 0xFE 0xFF 0xFF: "use LBA", as modern tools write.
            sector[at + 1] = 0xFE
            sector[at + 2] = 0xFF
            sector[at + 3] = 0xFF
            sector[at + 4] = 0x83
            sector[at + 5] = 0xFE
            sector[at + 6] = 0xFF
            sector[at + 7] = 0xFF
            for b in 0..<4 {
                sector[at + 8 + b] = UInt8(truncatingIfNeeded: p.startSector >> (8 * UInt64(b)))
                sector[at + 12 + b] = UInt8(truncatingIfNeeded: p.sectors >> (8 * UInt64(b)))
            }
        }
        sector[510] = 0x55
        sector[511] = 0xAA
        return sector
    }

    /// Whether a disk whose first sector is `firstSector` and whose partitions begin with
    /// `superblocks` (bytes 1024…2047 of each, the ext superblock) already is `placed`.
    public static func matches(_ placed: [Placed], firstSector: [UInt8], superblocks: [[UInt8]]) -> Bool {
        guard firstSector.count == 512, superblocks.count == placed.count else { return false }
        // Bytes 446… must be exactly our table (the boot code before it is not ours to judge).
        guard Array(firstSector[446...]) == Array(mbr(placed)[446...]) else { return false }
        return zip(placed, superblocks).allSatisfy { p, sb in
            guard sb.count >= 136, sb[56] == 0x53, sb[57] == 0xEF else { return false }
            let label = sb[120..<136].prefix { $0 != 0 }
            return Array(label) == Array(p.partition.label.utf8)
        }
    }
}
