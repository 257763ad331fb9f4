import Foundation
import Store
import TestSupport
import Testing

@Suite struct RootLockTests {
    /// A second lock on a root is refused at once while the first is held (flock locks of two
    /// opens conflict within one process too), and taken once the first is dropped.
    @Test func oneFetchAtATimeIntoARoot() throws {
        let tmp = TemporaryDirectory()
        let root = StoreRoot(root: tmp.sub("root"))
        var first: RootLock? = try RootLock(root)
        #expect(first?.path == tmp.sub("root") + "/nix/var/rookery/lock")
        #expect(throws: StoreError.rootBusy(lock: tmp.sub("root") + "/nix/var/rookery/lock")) { try RootLock(root) }
        first = nil
        #expect(try RootLock(root).path == tmp.sub("root") + "/nix/var/rookery/lock")
    }
}
