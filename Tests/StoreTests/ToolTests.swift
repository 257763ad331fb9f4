import Store
import Testing

@Suite struct ToolTests {
    @Test func captureKeepsStdoutStderrAndStatus() throws {
        let run = try Tool.capture(["sh", "-c", "echo out; echo first >&2; echo last >&2; exit 3"])
        #expect(String(decoding: run.stdout, as: UTF8.self) == "out\n")
        #expect(run.lastErrorLine == "last")
        #expect(run.status != 0 && (run.status >> 8) & 0xff == 3)
    }

    /// Both pipes overfilled at once: read together, or the child would block on one forever.
    @Test func captureReadsBothStreamsTogether() throws {
        let run = try Tool.capture(["sh", "-c", "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2"])
        #expect(run.status == 0)
        #expect(run.stdout.count == 300_000 && run.stderr.count == 200_000)
    }

    @Test func aToolPastItsTimeIsKilled() {
        #expect(throws: StoreError.toolTimedOut(tool: "sleep", seconds: 1)) {
            try Tool.capture(["sleep", "30"], timeout: 1)
        }
    }

    @Test func aMissingToolIsAnError() {
        #expect(throws: StoreError.self) { try Tool.capture(["rookery-no-such-tool"]) }
        #expect(throws: StoreError.self) { try Tool.run(["/nonexistent/tool"]) }
    }
}
