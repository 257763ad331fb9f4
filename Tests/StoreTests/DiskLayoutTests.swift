// The declared disk layout: parsing, placement, the MBR bytes, and recognising a disk that
// already carries the layout.
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

    @Test func onlyTheExactTableAndLabelsMatch() throws {
        let placed = try DiskLayout.parse(Self.text).place(diskBytes: 1 << 30)
        func superblock(_ label: String) -> [UInt8] {
            var sb = [UInt8](repeating: 0, count: 1024)
            sb[56] = 0x53
            sb[57] = 0xEF
            for (i, b) in label.utf8.enumerated() { sb[120 + i] = b }
            return sb
        }
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
