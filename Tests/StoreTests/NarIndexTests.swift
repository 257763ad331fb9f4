import Foundation
import NixFormats
import Store
import TestSupport
import Testing

@Suite struct NarIndexTests {
    /// Every range the seed could serve reads back exactly the NAR's bytes.
    @Test(arguments: ["mixed-dir", "small-file", "empty-file", "relative-symlink", "deep-nesting", "empty-dir"])
    func anyRangeReadsTheNarBytes(tree: String) throws {
        let tmp = TemporaryDirectory()
        let node = try #require(TreeBuilder.referenceTrees.first { $0.0 == tree }?.1)
        try FileManager.default.createDirectory(atPath: tmp.sub("src"), withIntermediateDirectories: false)
        try TreeBuilder.build(node, at: tmp.sub("src"))
        let nar = try narOf(tmp.sub("src/root"))
        let index = try NarIndex.build(realPath: tmp.sub("src/root"))
        #expect(index.narSize == UInt64(nar.count))
        for chunk in [64 * 1024, 4096, 1000, 7] where nar.count / chunk < 5000 {
            var start = 0
            while start < nar.count {
                let end = min(start + chunk, nar.count)
                let out = try index.bytes(UInt64(start)..<UInt64(end))
                #expect(out[...] == nar[start..<end], "\(tree) [\(start), \(end))")
                start = end
            }
        }
    }

    @Test func readingPastTheEndIsRefused() throws {
        let tmp = TemporaryDirectory()
        try TreeBuilder.build(.file("f", Array("abc".utf8)), at: tmp.path)
        let index = try NarIndex.build(realPath: tmp.sub("f"))
        #expect(throws: StoreError.self) { try index.bytes(0..<(index.narSize + 1)) }
        let short = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
        defer { short.deallocate() }
        #expect(throws: StoreError.self) { try index.read(0..<2, into: short) }
    }
}
