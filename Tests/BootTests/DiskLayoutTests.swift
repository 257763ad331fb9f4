// The declared disk layout: parsing, placement, the MBR bytes, and recognising a disk that
// already carries the layout.
import BootFormats
import FuzzTargets
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

    /// An MBR entry holds 32-bit sector numbers: on a 4 TiB disk `rest` stops at 2 TiB (the table
    /// wrapped its size to 2 TiB less 65 MiB before, and a disk just over 2 TiB kept a few MiB),
    /// a fixed size over 2 TiB is refused, and so is a partition that would start beyond it.
    @Test func disksOver2TiBGetOnlyWhatAnMBRHolds() throws {
        let placed = try DiskLayout.parse(Self.text).place(diskBytes: 4 << 40)
        #expect(placed[1].sectors == DiskLayout.maxPartitionMiB * 2048)
        #expect(placed[1].sectors <= UInt64(UInt32.max))
        let mbr = DiskLayout.mbr(placed)
        for (i, p) in placed.enumerated() { #expect(LayoutProbe.entry(mbr, i) == (p.startSector, p.sectors)) }
        #expect(
            DiskLayout.matches(
                placed, firstSector: mbr,
                superblocks: [LayoutProbe.superblock("boot"), LayoutProbe.superblock("nixos")]))

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

    @Test func onlyTheExactTableAndLabelsMatch() throws {
        let placed = try DiskLayout.parse(Self.text).place(diskBytes: 1 << 30)
        let superblock = LayoutProbe.superblock
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
}
