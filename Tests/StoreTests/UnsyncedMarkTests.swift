import Foundation
import Store
import TestSupport
import Testing

@Suite struct UnsyncedMarkTests {
    static let one = "11111111-1111-4111-8111-111111111111"
    static let two = "22222222-2222-4222-8222-222222222222"

    /// Each boot lists what its fetches renamed; the names another boot listed are in doubt,
    /// those of this boot are not (nothing written is lost while the machine stays up).
    @Test func namesListedByAnotherBootAreInDoubt() throws {
        let tmp = TemporaryDirectory()
        let root = StoreRoot(root: tmp.sub("root"))
        #expect(UnsyncedMark.doubtful(in: root, store: [], boot: Self.one).isEmpty, "no list: nothing in doubt")
        try UnsyncedMark.record(["aaa-liba", "bbb-libb"], in: root, boot: Self.one)
        try UnsyncedMark.record(["bbb-libb", "ccc-app"], in: root, boot: Self.one)
        #expect(
            try String(contentsOfFile: tmp.sub("root") + "/nix/var/rookery/unsynced/" + Self.one, encoding: .utf8)
                == "aaa-liba\nbbb-libb\nccc-app\n")
        #expect(UnsyncedMark.doubtful(in: root, store: [], boot: Self.one).isEmpty)
        #expect(UnsyncedMark.doubtful(in: root, store: [], boot: Self.two) == ["aaa-liba", "bbb-libb", "ccc-app"])
    }

    /// A later boot strikes off what it checked; what it could not check (a path of the
    /// generation it rolled back from) stays in doubt for the fetch that can, and a list left
    /// empty goes.
    @Test func whatIsCheckedIsStruckOffAndTheRestStays() throws {
        let tmp = TemporaryDirectory()
        let root = StoreRoot(root: tmp.sub("root"))
        let folder = tmp.sub("root") + "/nix/var/rookery/unsynced"
        try UnsyncedMark.record(["aaa-liba", "bbb-libb", "ccc-app"], in: root, boot: Self.one)
        try UnsyncedMark.resolve(["aaa-liba", "bbb-libb"], in: root, boot: Self.one)
        #expect(
            UnsyncedMark.doubtful(in: root, store: [], boot: Self.two).count == 3, "a boot's own list is not struck off"
        )
        try UnsyncedMark.resolve(["aaa-liba", "bbb-libb", "zzz-other"], in: root, boot: Self.two)
        #expect(UnsyncedMark.doubtful(in: root, store: [], boot: Self.two) == ["ccc-app"])
        try UnsyncedMark.resolve(["ccc-app"], in: root, boot: Self.two)
        #expect(UnsyncedMark.doubtful(in: root, store: [], boot: Self.two).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
        #expect(UnsyncedMark.currentBoot.count == 36, "this machine's /proc/sys/kernel/random/boot_id")
    }

    /// A root an earlier rookery fetched into holds its mark, one empty file: every path present
    /// is in doubt, as it was then; the next fetch that checks drops it for this boot's list.
    @Test func theSingleFileOfAnEarlierRookeryPutsEveryPathInDoubt() throws {
        let tmp = TemporaryDirectory()
        let root = StoreRoot(root: tmp.sub("root"))
        let mark = tmp.sub("root") + "/nix/var/rookery/unsynced"
        try FileManager.default.createDirectory(
            atPath: tmp.sub("root") + "/nix/var/rookery", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: mark, contents: Data()))
        #expect(
            UnsyncedMark.doubtful(in: root, store: ["aaa-liba", "bbb-libb"], boot: Self.one) == [
                "aaa-liba", "bbb-libb",
            ])
        try UnsyncedMark.resolve(["aaa-liba", "bbb-libb"], in: root, boot: Self.one)
        #expect(UnsyncedMark.doubtful(in: root, store: ["aaa-liba", "bbb-libb"], boot: Self.one).isEmpty)
        #expect(FileManager.default.createFile(atPath: mark, contents: Data()))
        try UnsyncedMark.record(["ccc-app"], in: root, boot: Self.one)
        #expect(UnsyncedMark.doubtful(in: root, store: ["ccc-app"], boot: Self.two) == ["ccc-app"])
    }

    /// A list that cannot be read (here a folder where the file should be) cannot say what it
    /// vouched for: every path present is in doubt, and it stays.
    @Test func aListThatCannotBeReadPutsEveryPathInDoubt() throws {
        let tmp = TemporaryDirectory()
        let root = StoreRoot(root: tmp.sub("root"))
        try UnsyncedMark.record(["aaa-liba"], in: root, boot: Self.one)
        try FileManager.default.createDirectory(
            atPath: tmp.sub("root") + "/nix/var/rookery/unsynced/" + Self.two, withIntermediateDirectories: false)
        let store: Set<String> = ["aaa-liba", "bbb-libb"]
        #expect(UnsyncedMark.doubtful(in: root, store: store, boot: Self.one) == store)
        try UnsyncedMark.resolve(store, in: root, boot: Self.one)
        #expect(UnsyncedMark.doubtful(in: root, store: store, boot: Self.one) == store)
        #expect(UnsyncedMark.doubtful(in: root, store: store, boot: "33333333-3333-4333-8333-333333333333") == store)
    }

    /// A boot without /proc cannot tell its writes from another boot's: what it lists stays in
    /// doubt, also for itself, whatever it checks.
    @Test func aBootThatCannotTellItsIdLeavesItsPathsInDoubt() throws {
        let tmp = TemporaryDirectory()
        let root = StoreRoot(root: tmp.sub("root"))
        let unknown = UnsyncedMark.unknownBoot
        try UnsyncedMark.record(["aaa-liba"], in: root, boot: unknown)
        #expect(UnsyncedMark.doubtful(in: root, store: [], boot: unknown) == ["aaa-liba"])
        try UnsyncedMark.resolve(["aaa-liba"], in: root, boot: unknown)
        try UnsyncedMark.resolve(["aaa-liba"], in: root, boot: Self.one)
        #expect(UnsyncedMark.doubtful(in: root, store: [], boot: unknown) == ["aaa-liba"])
        #expect(UnsyncedMark.doubtful(in: root, store: [], boot: Self.one) == ["aaa-liba"])
    }
}
