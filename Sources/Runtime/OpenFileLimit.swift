// Servers hold a socket per client: a thousand idle HTTP clients must not use up the default
// soft limit of 1024 descriptors while the hard limit allows more.
import Glibc

public enum OpenFileLimit {
    /// Raises the soft RLIMIT_NOFILE to the hard limit (at most `cap`); returns the new soft limit.
    @discardableResult
    public static func raise(cap: UInt64 = 65536) -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let wanted = min(UInt64(limit.rlim_max), cap)
        if UInt64(limit.rlim_cur) < wanted {
            limit.rlim_cur = rlim_t(wanted)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 { return UInt64(limit.rlim_cur) }
        }
        return UInt64(limit.rlim_cur)
    }
}
