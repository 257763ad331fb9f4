import Glibc
import Runtime
import Testing

@Suite struct EventLoopTimeTests {
    /// The loop's clock stands still while work holds the loop, until it is brought up to date:
    /// a fetch's start that hashed for longer than the idle timeout (what a crash left, the paths
    /// after a power cut) then planned with the time before it, and its first tick timed out.
    @Test func theClockCatchesUpWhenAsked() throws {
        let loop = try EventLoop()
        let before = loop.nowMilliseconds
        usleep(60_000)
        #expect(loop.nowMilliseconds == before)
        loop.updateTime()
        #expect(loop.nowMilliseconds >= before + 50)
    }
}
