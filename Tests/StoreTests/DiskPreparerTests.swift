// Preparing a disk for its layout: the devices it names.
import Store
import Testing

@Suite struct DiskPreparerTests {
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
