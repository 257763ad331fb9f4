// /proc/PID/status fields: the fetcher's `peak_rss_kib` (VmHWM), tests' look at a seed (VmRSS).
import Glibc
import Testing

@testable import Runtime

@Suite struct ProcessStatusTests {
    @Test func theFieldIsReadFromItsOwnLine() {
        let status = Array("Name:\trookery\nVmPeak:\t  900000 kB\nVmHWM:\t   38152 kB\nVmRSS:\t   20000 kB\n".utf8)
        #expect(ProcessStatus.value(of: "VmHWM:", in: status[...]) == 38152)
        #expect(ProcessStatus.value(of: "VmSwap:", in: status[...]) == 0)
    }

    /// The peak of this process is at least what it holds resident now, read by pid or as self.
    @Test func thePeakIsAtLeastTheResidentSetNow() {
        let now = ProcessStatus.kibibytes("VmRSS:", of: "\(getpid())")
        #expect(now > 0)
        #expect(ProcessStatus.peakResidentKiB >= now)
        #expect(ProcessStatus.kibibytes("VmRSS:", of: "no-such-process") == 0)
    }
}
