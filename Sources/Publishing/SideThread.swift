// A second thread for one stream of work beside the caller's: `start` hands it a job and
// returns at once, `wait` blocks until that job has returned. Publishing hashes every NAR twice
// (SHA-256 for Nix, BLAKE2b per chunk): the SHA-256 of one buffer runs there while the caller
// reads the next and cuts it into chunk ids, so the slower stream alone sets the pace.
// ParallelWork runs its extra workers on these too.
import Glibc

public final class SideThread: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var job: (() -> Void)?
    private var stopping = false
    private var thread = pthread_t()

    public init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { context in
                let me = Unmanaged<SideThread>.fromOpaque(context!).takeRetainedValue()
                me.serve()
                return nil
            }, context)
        precondition(rc == 0, "pthread_create failed (\(rc))")
    }

    /// Runs `job` on the thread; the job started before it must have been waited for.
    public func start(_ job: @escaping () -> Void) {
        pthread_mutex_lock(&mutex)
        precondition(self.job == nil, "SideThread.start while a job runs")
        self.job = job
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
    }

    /// Returns once the job started last (if any) has returned.
    public func wait() {
        pthread_mutex_lock(&mutex)
        while job != nil { pthread_cond_wait(&wake, &mutex) }
        pthread_mutex_unlock(&mutex)
    }

    /// Ends the thread after its job (it holds the object until then).
    public func stop() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        pthread_join(thread, nil)
    }

    private func serve() {
        pthread_mutex_lock(&mutex)
        while true {
            while job == nil {
                if stopping {
                    pthread_mutex_unlock(&mutex)
                    return
                }
                pthread_cond_wait(&wake, &mutex)
            }
            let work = job!
            pthread_mutex_unlock(&mutex)
            work()
            pthread_mutex_lock(&mutex)
            job = nil
            pthread_cond_broadcast(&wake)
        }
    }
}
