// The fetcher's `peak_rss_kib`: VmHWM read from /proc/self/status.
import Foundation
import Testing

@testable import Runtime

@Suite struct PeakMemoryTests {
    @Test func theFieldIsReadFromItsOwnLine() {
        let status = Array("Name:\trookery\nVmPeak:\t  900000 kB\nVmHWM:\t   38152 kB\nVmRSS:\t   20000 kB\n".utf8)
        #expect(PeakMemory.value(of: "VmHWM:", in: status[...]) == 38152)
        #expect(PeakMemory.value(of: "VmSwap:", in: status[...]) == 0)
    }

    /// The peak of this process is at least what it holds resident now.
    @Test func thePeakIsAtLeastTheResidentSetNow() throws {
        let status = try Data(contentsOf: URL(fileURLWithPath: "/proc/self/status"))
        let now = PeakMemory.value(of: "VmRSS:", in: Array(status)[...])
        #expect(now > 0)
        #expect(PeakMemory.residentKiB >= now)
    }
}
