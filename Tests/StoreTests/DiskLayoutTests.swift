// The declared disk layout: parsing, placement, the MBR bytes, and recognising a disk that
// already carries the layout.
import FuzzTargets
import Store
import Testing

@Suite struct DiskLayoutTests {
    static let text = "# lab\ndisk /dev/vda\npartition boot ext2 64\npartition nixos ext4 rest\n"

    @Test func aDeclarationIsParsedAndPlacedMiBAligned() throws {
        let layout = try DiskLayout.parse(Self.text)
        #expect(layout.disk == "/dev/vda")
        #expect(layout.partitions.map(\.label) == ["boot", "nixos"])
        let placed = try layout.place(diskBytes: 1 << 30)
        let starts: [UInt64] = [2048, 2048 + 64 * 2048]
        let sizes: [UInt64] = [64 * 2048, (1024 - 65) * 2048]
        #expect(placed.map(\.startSector) == starts)
        #expect(placed.map(\.sectors) == sizes)
        #expect(throws: DiskLayout.Failure.tooSmall(disk: "/dev/vda", bytes: 100 << 20, needed: 129 << 20)) {
            try layout.place(diskBytes: 100 << 20)
        }
    }

    @Test func badDeclarationsNameTheirLine() {
        #expect(throws: DiskLayout.Failure.syntax(line: 2, "filesystem xfs is not one of ext2, ext3, ext4")) {
            try DiskLayout.parse("disk /dev/vda\npartition nixos xfs rest\n")
        }
        #expect(throws: DiskLayout.Failure.syntax(line: 3, "only the last partition may take the rest")) {
            try DiskLayout.parse("disk /dev/vda\npartition a ext4 rest\npartition b ext4 10\n")
        }
        #expect(throws: DiskLayout.Failure.self) { try DiskLayout.parse("partition a ext4 rest\n") }
        #expect(throws: DiskLayout.Failure.self) { try DiskLayout.parse("disk /dev/vda\npartition a ext4 0\n") }
    }

    @Test func theMBRHasLinuxEntriesInLBAAndTheSignature() throws {
        let placed = try DiskLayout.parse(Self.text).place(diskBytes: 1 << 30)
        let mbr = DiskLayout.mbr(placed)
        #expect(mbr.count == 512)
        #expect(mbr[510] == 0x55 && mbr[511] == 0xAA)
        #expect(mbr[446 + 4] == 0x83 && mbr[462 + 4] == 0x83 && mbr[478 + 4] == 0)
        #expect(Array(mbr[454..<458]) == [0x00, 0x08, 0, 0])  // 2048, little-endian
        #expect(Array(mbr[458..<462]) == [0x00, 0x00, 0x02, 0])  // 131072 sectors = 64 MiB
    }

    /// An ext superblock (bytes 1024… of a partition) as mke2fs writes it: magic and label.
    static func superblock(_ label: String) -> [UInt8] {
        var sb = [UInt8](repeating: 0, count: 1024)
        sb[56] = 0x53
        sb[57] = 0xEF
        for (i, b) in label.utf8.enumerated() { sb[120 + i] = b }
        return sb
    }

    /// Partition entry `i` of an MBR as the kernel reads it: start and count, 32-bit little-endian.
    static func entry(_ mbr: [UInt8], _ i: Int) -> (start: UInt64, sectors: UInt64) {
        func le32(_ at: Int) -> UInt64 { (0..<4).reduce(0) { $0 | UInt64(mbr[at + $1]) << (8 * UInt64($1)) } }
        return (le32(446 + 16 * i + 8), le32(446 + 16 * i + 12))
    }

    /// An MBR entry holds 32-bit sector numbers: on a 4 TiB disk `rest` stops at 2 TiB (the table
    /// wrapped its size to 2 TiB less 65 MiB before, and a disk just over 2 TiB kept a few MiB),
    /// a fixed size over 2 TiB is refused, and so is a partition that would start beyond it.
    @Test func disksOver2TiBGetOnlyWhatAnMBRHolds() throws {
        let placed = try DiskLayout.parse(Self.text).place(diskBytes: 4 << 40)
        #expect(placed[1].sectors == DiskLayout.maxPartitionMiB * 2048)
        #expect(placed[1].sectors <= UInt64(UInt32.max))
        let mbr = DiskLayout.mbr(placed)
        for (i, p) in placed.enumerated() { #expect(Self.entry(mbr, i) == (p.startSector, p.sectors)) }
        #expect(
            DiskLayout.matches(
                placed, firstSector: mbr, superblocks: [Self.superblock("boot"), Self.superblock("nixos")]))

        #expect(
            throws: DiskLayout.Failure.syntax(line: 2, "size 2097152 MiB is more than an MBR entry holds (2097151)")
        ) {
            try DiskLayout.parse("disk /dev/sda\npartition big ext4 2097152\n")
        }
        let beyond = try DiskLayout.parse("disk /dev/sda\npartition a ext4 2097151\npartition b ext4 rest\n")
        #expect(throws: DiskLayout.Failure.startsBeyondMBR(label: "b")) { try beyond.place(diskBytes: 6 << 40) }
    }

    /// mke2fs and open(2) read C strings: a NUL in a label cut it short on disk, so the disk never
    /// matched its declaration and was formatted again at every boot (found by the test below).
    @Test func labelsAndDevicesWithControlBytesAreRefused() {
        #expect(throws: DiskLayout.Failure.syntax(line: 2, "a label has 1…16 bytes (ext4's limit), no control bytes")) {
            try DiskLayout.parse("disk /dev/sda\npartition nix\0os ext4 rest\n")
        }
        #expect(throws: DiskLayout.Failure.syntax(line: 1, "a device path without control bytes")) {
            try DiskLayout.parse("disk /dev/sda\u{1}\npartition nixos ext4 rest\n")
        }
    }

    /// The layout file, mutated at random (seeded, bounded): parsing refuses or accepts, never
    /// traps; an accepted layout placed on disks of any size fits in its MBR exactly, and a disk
    /// carrying that MBR and the labels is recognised as already laid out.
    @Test func mutatedLayoutsPlaceWithinTheirMBR() {
        let seeds = [
            Self.text,
            "disk /dev/nvme0n1\npartition boot ext2 512\npartition swap ext2 4096\npartition nixos ext4 rest\n",
            "disk /dev/sda\npartition a ext4 2097151\npartition b ext3 2097151\npartition c ext2 1\npartition d ext4 rest\n",
        ].map { Array($0.utf8) }
        var mutator = Mutator(seed: 0x6c61_796f)
        let disks: [UInt64] = [
            0, 1 << 20, 200 << 20, 1 << 30, (2 << 40) - 1, 2 << 40, 5 << 40, 9 << 40, UInt64.max >> 1,
        ]
        var accepted = 0
        for round in 0..<10_000 {
            let input = mutator.mutate(seeds[round % seeds.count])
            guard let layout = try? DiskLayout.parse(String(decoding: input, as: UTF8.self)) else { continue }
            accepted += 1
            #expect((1...4).contains(layout.partitions.count))
            for disk in disks {
                guard let placed = try? layout.place(diskBytes: disk) else { continue }
                let mbr = DiskLayout.mbr(placed)
                var end: UInt64 = 2048
                for (i, p) in placed.enumerated() {
                    let fits = p.startSector == end && p.startSector + p.sectors <= disk / 512
                    let inTable = Self.entry(mbr, i) == (p.startSector, p.sectors)
                    #expect(fits && inTable, "partition \(i) of \(layout) on \(disk) bytes")
                    end = p.startSector + p.sectors
                }
                let recognised = DiskLayout.matches(
                    placed, firstSector: mbr, superblocks: placed.map { Self.superblock($0.partition.label) })
                #expect(recognised, "\(layout) on \(disk) bytes")
            }
        }
        #expect(accepted > 300)
    }

    @Test func onlyTheExactTableAndLabelsMatch() throws {
        let placed = try DiskLayout.parse(Self.text).place(diskBytes: 1 << 30)
        let superblock = Self.superblock
        var first = DiskLayout.mbr(placed)
        first[0] = 0xEB  // boot code of someone else's loader is not judged
        #expect(DiskLayout.matches(placed, firstSector: first, superblocks: [superblock("boot"), superblock("nixos")]))
        #expect(
            !DiskLayout.matches(placed, firstSector: first, superblocks: [superblock("boot"), superblock("other")]))
        #expect(
            !DiskLayout.matches(
                placed, firstSector: first, superblocks: [superblock("boot"), [UInt8](repeating: 0, count: 1024)]))
        #expect(
            !DiskLayout.matches(
                placed, firstSector: [UInt8](repeating: 0, count: 512),
                superblocks: [superblock("boot"), superblock("nixos")]))
    }

    /// Partition device names as the kernel makes them: a disk whose name ends in a digit gets
    /// a "p" before the number.
    @Test func partitionDevicesAreNamedAsTheKernelNamesThem() {
        #expect(DiskPreparer.partitionDevice("/dev/sda", 1) == "/dev/sda1")
        #expect(DiskPreparer.partitionDevice("/dev/vdb", 2) == "/dev/vdb2")
        #expect(DiskPreparer.partitionDevice("/dev/nvme0n1", 1) == "/dev/nvme0n1p1")
        #expect(DiskPreparer.partitionDevice("/dev/mmcblk0", 3) == "/dev/mmcblk0p3")
        #expect(DiskPreparer.partitionDevice("/dev/loop7", 1) == "/dev/loop7p1")
    }
}
