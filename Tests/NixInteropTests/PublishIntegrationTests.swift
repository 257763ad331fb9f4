// `rookery publish` against a real Nix store: publishing again reads only the paths no earlier
// publish signed by the same key checked (docs/publish.md).
import Foundation
import TestSupport
import Testing

@Suite struct PublishIntegrationTests {
    func publish(_ f: SeedFixture, key: String, _ extra: [String] = []) throws -> String {
        let result = try NixTool.run(
            try NixTool.rookeryExecutable,
            ["publish", "--state", f.state, "--store", f.scratch.store, "--key", key, "--chunk-size", "65536"] + extra
                + [f.closure.toplevel],
            environment: NixTool.environment(home: f.scratch.home))
        guard result.status == 0 else { throw TestFailure("publish: \(result.stderr)") }
        return result.stdoutText
    }

    @Test func publishingAgainReadsOnlyWhatNoEarlierPublishChecked() throws {
        let f = try SeedFixture()
        let all = f.closure.paths.count
        let sk = f.scratch.tmp.sub("sk")
        #expect(try publish(f, key: sk).contains("read and hashed 0 paths, 0 NAR bytes"))
        #expect(try publish(f, key: sk, ["--rehash"]).contains("read and hashed \(all) paths"))
        #expect(try publish(f, key: sk, ["--chunk-size", "131072"]).contains("read and hashed \(all) paths"))
        // Another key trusts none of the manifests the first one signed.
        let other = try NixTool.run(
            try NixTool.rookeryExecutable,
            ["keygen", "other-1", "--secret", f.scratch.tmp.sub("sk2"), "--public", f.scratch.tmp.sub("pk2")])
        try #require(other.status == 0, "\(other.stderr)")
        #expect(try publish(f, key: f.scratch.tmp.sub("sk2")).contains("read and hashed \(all) paths"))
    }
}
