import Glibc
import Publishing
import Store
import Testing

@Suite struct ParallelWorkTests {
    /// Every job runs once, on a worker numbered below `workers`, and its result lands at its index.
    @Test(arguments: [1, 2, 5])
    func everyJobRunsOnceAndResultsComeByJob(workers: Int) throws {
        let order = Array((0..<200).reversed())
        let results = try ParallelWork.map(order, workers: workers) { job, worker in
            precondition(worker < workers)
            return job * job
        }
        #expect(results == (0..<200).map { $0 * $0 })
        #expect(try ParallelWork.map([], workers: workers) { job, _ in job }.isEmpty)
    }

    struct Stop: Error, Equatable { let job: Int }

    /// After a job throws, no job starts: with one worker, the jobs after it never run.
    @Test func aThrownErrorStopsTheJobsNotYetStarted() {
        var ran: [Int] = []
        #expect(throws: Stop(job: 3)) {
            _ = try ParallelWork.map(Array(0..<10), workers: 1) { job, _ in
                ran.append(job)
                if job == 3 { throw Stop(job: job) }
                return job
            }
        }
        #expect(ran == [0, 1, 2, 3])
    }
}
