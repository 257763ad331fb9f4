import Foundation
import NixFormats
import Store
import TestSupport
import Testing

@Suite struct KeptManifestsTests {
    /// One file per toplevel, the newest `limit` kept: a machine boots one of its last few
    /// generations, and the folder does not grow with every generation it ever booted.
    @Test func theNewestToplevelsAreKept() throws {
        let tmp = TemporaryDirectory()
        let root = StoreRoot(root: tmp.sub("root"))
        let folder = tmp.sub("root") + "/nix/var/rookery/manifests"
        let count = KeptManifests.limit + 2
        let toplevels = try (1...count).map {
            try StorePath(String(format: "aap2hphvk98rkk9ywlqpp587rjdcgn%02d-system", $0))
        }
        #expect(KeptManifests.read(toplevels[0], in: root) == nil)
        for (i, top) in toplevels.enumerated() {
            try KeptManifests.keep([UInt8(i)], toplevel: top, in: root)
            // Generation by generation, a second apart (the mtime orders them).
            var times = [timeval(tv_sec: 1000 + i, tv_usec: 0), timeval(tv_sec: 1000 + i, tv_usec: 0)]
            #expect(utimes(folder + "/" + top.baseName, &times) == 0)
        }
        let kept = Set(try FileManager.default.contentsOfDirectory(atPath: folder))
        #expect(kept == Set(toplevels.suffix(KeptManifests.limit).map(\.baseName)))
        #expect(KeptManifests.read(toplevels[count - 1], in: root) == [UInt8(count - 1)])
        // The same toplevel again replaces its file, whatever its age.
        try KeptManifests.keep([42], toplevel: toplevels[2], in: root)
        #expect(KeptManifests.read(toplevels[2], in: root) == [42])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == KeptManifests.limit)
    }
}
