//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import SlotgateConfig
import SlotgateDaemon
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The demo's `slotgated`: in this process, serving the built-in platform simulator, with a socket and state
/// directory in a fresh temporary directory. No API key, no network, no config file of the machine.
struct DemoDaemon: Sendable {
    /// Why the demo's daemon did not start.
    struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// The temporary directory holding the socket, the state and an empty config file.
    let directory: String
    /// The daemon's socket.
    let socketPath: String
    private let task: Task<Void, any Error>
    private let running: RunningFlag

    /// Whether the daemon's task still runs: SIGTERM is only trapped while its service group runs.
    private final class RunningFlag: Sendable {
        let value = Atomic<Bool>(true)
    }

    /// Starts the daemon and returns once its socket listens.
    /// - Parameter limit: the simulated platform's concurrent-session limit.
    static func start(limit: Int) async throws -> DemoDaemon {
        let directory = try makeTemporaryDirectory()
        let socketPath = directory + "/slotgate.sock"
        let configPath = directory + "/slotgate.yaml"
        let stateDirectory = directory + "/state"
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        // An explicit, empty config file: a machine's /etc/slotgate/slotgate.yaml must not change the demo.
        try Data("# slotgate demo: every setting comes from the environment.\n".utf8).write(to: URL(fileURLWithPath: configPath))

        // Only these variables: no API key (SLOTGATE_API_KEY, H_API_KEY, HAI_API_KEY, CREDENTIALS_DIRECTORY) and
        // no SLOTGATE_* setting of the caller's shell reaches the daemon.
        let environment = [
            "SLOTGATE_UPSTREAM_SIMULATE": "true",
            "SLOTGATE_UPSTREAM_SIMULATE_LIMIT": String(limit),
            "SLOTGATE_LOG_LEVEL": "error",
        ]
        LoggingSystem.bootstrap { DaemonLogHandler(label: $0) }
        let daemon = Daemon(
            overrides: CommandLineOverrides(configPath: configPath, socketPath: socketPath, stateDirectory: stateDirectory),
            environment: environment
        )
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Void.self)
        let running = RunningFlag()
        let task = Task {
            defer {
                running.value.store(false, ordering: .sequentiallyConsistent)
                readyContinuation.finish()
            }
            try await daemon.run { _ in readyContinuation.yield() }
        }
        var iterator = ready.makeAsyncIterator()
        if await iterator.next() == nil {
            try? FileManager.default.removeItem(atPath: directory)
            do {
                try await task.value
            } catch let error as Daemon.StartError {
                throw StartFailure(description: "the embedded slotgated did not start: \(error.description)")
            } catch {
                throw StartFailure(description: "the embedded slotgated did not start: \(error)")
            }
            throw StartFailure(description: "the embedded slotgated stopped before it listened")
        }
        return DemoDaemon(directory: directory, socketPath: socketPath, task: task, running: running)
    }

    /// Stops the daemon as systemd would, with SIGTERM (its service group traps it while it runs), waits at most a
    /// few seconds, and removes the temporary directory.
    func stop() async {
        let task = self.task
        if running.value.load(ordering: .sequentiallyConsistent) { kill(getpid(), SIGTERM) }
        let stopped = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try? await task.value
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(6))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !stopped { task.cancel() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A fresh private directory; under /tmp when `TMPDIR` is long, since a socket path must stay short.
    private static func makeTemporaryDirectory() throws -> String {
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        if base.isEmpty || base.utf8.count > 60 { base = "/tmp" }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array((base + "/slotgate-demo-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }
        }
        guard made != nil else {
            throw StartFailure(description: "cannot create a temporary directory under \(base): \(String(cString: strerror(errno)))")
        }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
