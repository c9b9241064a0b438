//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process with its stdout and stderr collected into buffers. ``stop(grace:)`` ends it (SIGTERM, then
/// SIGKILL); the deinitializer kills it too, so a failing test cannot leave it running.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let stdout = OutputBuffer()
    let stderr = OutputBuffer()
    private let process: Process
    /// The pipes (stdout, stderr) not yet read to their end.
    private let openPipes = PipeCount()

    /// Starts `executable` with exactly `environment` (nothing inherited).
    init(name: String, executable: String, arguments: [String], environment: [String: String]) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw HarnessError("\(name): no executable at \(executable); run `swift build --build-tests` (or `make test`) first")
        }
        self.name = name
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let open = openPipes
        Self.drain(out.fileHandleForReading, into: stdout) { open.closed() }
        Self.drain(err.fileHandleForReading, into: stderr) { open.closed() }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Reads a pipe on its own thread until the child closes it.
    private static func drain(_ handle: FileHandle, into buffer: OutputBuffer, atEnd: @escaping @Sendable () -> Void) {
        // `FileHandle.read(upToCount:)` waits for the whole count on Linux; read(2) returns what is there.
        let thread = Thread {
            let descriptor = handle.fileDescriptor
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                buffer.append(chunk[0..<count])
            }
            try? handle.close()
            atEnd()
        }
        thread.start()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// The exit status, or nil while running or when a signal ended it.
    var exitCode: Int32? {
        guard !process.isRunning, process.terminationReason == .exit else { return nil }
        return process.terminationStatus
    }

    func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Waits until the process has exited and its output is read to the end (at most 2 s more for the output: a
    /// grandchild may hold the pipes); false when `timeout` passed before the exit.
    @discardableResult
    func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        let drained = ContinuousClock.now + .seconds(2)
        while openPipes.value.load(ordering: .acquiring) > 0, ContinuousClock.now < drained {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// SIGTERM, then SIGKILL after `grace`.
    func stop(grace: Duration = .seconds(5)) async {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if await waitForExit(timeout: grace) { return }
        signal(SIGKILL)
        await waitForExit(timeout: .seconds(5))
    }
}

/// How many of a child's pipes are still open, shared with their reading threads.
private final class PipeCount: Sendable {
    let value = Atomic<Int>(2)

    /// One pipe reached its end.
    func closed() {
        value.subtract(1, ordering: .releasing)
    }
}
