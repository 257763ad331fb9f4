import Swarm
import Testing

@Suite struct HashBatcherTests {
    @Test func aFullCallsWorthGoesAtOnce() {
        var b = HashBatcher<Int>(lanes: 4, maxJobs: 1, linger: 5)
        for i in 0..<3 { #expect(b.add(i, now: 100).isEmpty) }
        #expect(b.deadline == 105)
        #expect(b.add(3, now: 101) == [[0, 1, 2, 3]])
        #expect(b.jobs == 1 && b.waitingCount == 0)
    }

    @Test func aLoneChunkWaitsOnlyUntilTheDeadline() {
        var b = HashBatcher<Int>(lanes: 8, maxJobs: 2, linger: 2)
        #expect(b.add(7, now: 10).isEmpty)
        #expect(b.deadline == 12)
        #expect(b.timeout(now: 11).isEmpty)
        #expect(b.timeout(now: 12) == [[7]])
        #expect(b.deadline == nil)
    }

    /// While every job is out nothing starts, and there is no deadline to wake for (a timer
    /// at 0 ms would spin); the finished job starts what piled up, two calls' worth at most.
    @Test func busyThreadsLetTheNextBatchFill() {
        var b = HashBatcher<Int>(lanes: 2, maxJobs: 1, linger: 1)
        #expect(b.add(0, now: 0).isEmpty)
        #expect(b.add(1, now: 0) == [[0, 1]])
        for i in 2..<7 { #expect(b.add(i, now: 50).isEmpty) }
        #expect(b.deadline == nil)
        #expect(b.timeout(now: 60).isEmpty)
        #expect(b.finished(now: 60) == [[2, 3, 4, 5]])
        #expect(b.waitingCount == 1 && b.deadline == nil)
        #expect(b.finished(now: 60) == [[6]])
        #expect(b.finished(now: 61).isEmpty)
        #expect(b.jobs == 0 && b.deadline == nil)
    }

    @Test func severalThreadsTakeSeveralBatches() {
        var b = HashBatcher<Int>(lanes: 1, maxJobs: 3, linger: 9)
        #expect(b.add(0, now: 0) == [[0]])
        #expect(b.add(1, now: 0) == [[1]])
        #expect(b.add(2, now: 0) == [[2]])
        #expect(b.add(3, now: 0).isEmpty)
        #expect(b.finished(now: 1) == [[3]])
    }

    /// While a batch is being hashed, chunks short of a full call wait for it past the linger:
    /// a thread that starts a part-full call takes cores from the full one (a 1000-path fetch
    /// sent a quarter of its chunks in calls of 1–7 of 8 lanes), and the finished one starts them.
    @Test func aPartCallWaitsWhileABatchIsOut() {
        var b = HashBatcher<Int>(lanes: 4, maxJobs: 2, linger: 1)
        #expect(b.add(0, now: 0).isEmpty)
        #expect(b.timeout(now: 1) == [[0]])
        #expect(b.add(1, now: 1).isEmpty && b.add(2, now: 1).isEmpty)
        #expect(b.deadline == nil)
        #expect(b.timeout(now: 5).isEmpty)
        #expect(b.add(3, now: 5).isEmpty)
        #expect(b.add(4, now: 5) == [[1, 2, 3, 4]])
        #expect(b.jobs == 2)
        #expect(b.add(5, now: 6).isEmpty)
        #expect(b.finished(now: 6).isEmpty && b.deadline == nil)
        #expect(b.finished(now: 9) == [[5]] && b.jobs == 1)
        #expect(b.finished(now: 9).isEmpty && b.jobs == 0)
        #expect(b.add(6, now: 9).isEmpty && b.deadline == 10)
    }
}
