// A long-running child (a seed) whose output lines the test waits for, stopped on deinit.
import Foundation

public final class RunningProcess: @unchecked Sendable {
    public let process = Process()
    private let output = Pipe()
    private var buffer = Data()
    private let lock = NSLock()

    public init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.lock()
            self.buffer.append(data)
            self.lock.unlock()
        }
        try process.run()
    }

    deinit { stop() }

    public var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Waits (at most `seconds`) for a line containing `marker`; returns that line.
    public func waitForLine(containing marker: String, seconds: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let line = text.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
            if !process.isRunning { break }
            usleep(10_000)
        }
        throw TestFailure("no line with '\(marker)' within \(seconds) s; output: \(text)")
    }

    /// Waits (at most `seconds`) for the child to exit; its status.
    public func waitForExit(seconds: Double = 120) throws -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                throw TestFailure("still running after \(seconds) s; output: \(text)")
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        output.fileHandleForReading.readabilityHandler = nil
    }

    public func kill9() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
