// A second thread for work that splits in two: `together` runs one half there and the other on
// the caller's thread, and returns when both are done. Publishing hashes every NAR twice
// (SHA-256 for Nix, BLAKE2b per chunk) and each hash is a stream of its own: with one on each
// core, the slower one alone sets the pace. No Foundation (the agent links this module).
import Glibc

public final class SideThread: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var job: (() -> Void)?
    private var running = false
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

    /// Runs `side` on the thread and `here` on the caller's; returns when both have returned.
    public func together(side: () -> Void, here: () -> Void) {
        withoutActuallyEscaping(side) { side in
            pthread_mutex_lock(&mutex)
            job = side
            running = true
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
            here()
            pthread_mutex_lock(&mutex)
            while running { pthread_cond_wait(&wake, &mutex) }
            job = nil
            pthread_mutex_unlock(&mutex)
        }
    }

    /// Ends the thread (it holds the object until then).
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
            while job == nil || !running {
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
            running = false
            job = nil
            pthread_cond_broadcast(&wake)
        }
    }
}
