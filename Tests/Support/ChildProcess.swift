// A long-running child (a seed) whose output lines the test waits for, stopped on deinit.
import Foundation

public final class RunningProcess: @unchecked Sendable {
    public let process = Process()
    private let output = Pipe()
    private var buffer = Data()
    /// Reads the output handler has begun and not yet added to `buffer`.
    private var reading = 0
    private let lock = NSLock()

    public init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            guard let self else {
                _ = handle.availableData
                return
            }
            self.lock.lock()
            self.reading += 1
            self.lock.unlock()
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            self.lock.lock()
            self.buffer.append(data)
            self.reading -= 1
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
        // The output handler runs on its own queue: the child's last line (an agent's summary)
        // may still be in the pipe or on its way to `buffer` after the exit. The pipe's end of
        // file cannot tell (children of other tests may hold its write end), so wait until the
        // pipe holds nothing and no read is under way.
        let fd = output.fileHandleForReading.fileDescriptor
        for _ in 0..<500 {
            var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let hasData = poll(&pending, 1, 0) > 0 && pending.revents & Int16(POLLIN) != 0
            lock.lock()
            let busy = reading > 0
            lock.unlock()
            if !hasData && !busy { break }
            usleep(2_000)
        }
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
