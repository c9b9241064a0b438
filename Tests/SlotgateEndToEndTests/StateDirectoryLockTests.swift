//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// One daemon per state directory (issue 12): the real daemon locks `<state.dir>/slotgated.lock`, a second one
    /// on the same directory stops before it opens the ledger or the socket, and the lock dies with its holder.
    @Suite("State directory lock")
    struct StateDirectoryLock {
        @Test(
            """
            a second daemon on the same state directory exits 69 naming the first's pid and socket, before its socket \
            or the ledger; --reset-state is refused too; once the first is SIGKILLed the second starts
            """
        )
        func secondDaemonRefused() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let simulator = try await Simulator.start(SimulatorOptions(limit: 3))
            defer { Task { await simulator.stop() } }
            let first = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
            defer { Task { await first.stop() } }
            let state = directory.file("state")
            let lockFile = state + "/slotgated.lock"
            #expect(Self.contents(lockFile) == "pid=\(first.child.pid)\nsocket=\(first.socketPath)\n")
            let lease = try #require(try await first.grantedLease(holder: "first", wait: 5, claimTTL: 300)["id"] as? String)

            let secondSocket = directory.file("b.sock")
            let expected =
                "slotgated: the state directory \(state) is in use by slotgated pid \(first.child.pid) (socket \(first.socketPath)); "
                + "one daemon per state directory (state.dir)"
            for extra in [[], ["--reset-state"]] {
                let refused = try Self.startDaemon(directory, simulator, socket: secondSocket, extra: extra)
                let exited = await refused.waitForExit(timeout: .seconds(10))
                if !exited { await refused.stop() }
                try #require(exited, "a second slotgated \(extra) kept running on a locked state directory: \(refused.stderr.tail(20))")
                #expect(refused.exitCode == 69, "\(extra): \(refused.stderr.tail(20))")
                // The pipe may still be draining after the exit: wait for its one error line.
                try await eventually("the error line of slotgated \(extra)") { refused.stderr.contains(expected) }
                let errorLines = refused.stderr.text.split(separator: "\n").filter { $0.hasPrefix("slotgated: ") }
                #expect(errorLines == [Substring(expected)], "\(extra): \(refused.stderr.tail(20))")
                // It stopped before the ledger and the socket.
                #expect(!refused.stderr.contains("loaded the lease ledger") && !refused.stderr.contains("Starting with NO leases"))
                #expect(!FileManager.default.fileExists(atPath: secondSocket), "the refused daemon created its socket")
            }
            // The first daemon is untouched: it answers, its record and its ledger are as they were.
            #expect(try await first.status()["ready"] as? Bool == true)
            #expect(try await first.lease(lease)?["state"] as? String == "granted")
            #expect(Self.contents(lockFile) == "pid=\(first.child.pid)\nsocket=\(first.socketPath)\n")
            let files = try FileManager.default.contentsOfDirectory(atPath: state)
            #expect(!files.contains { $0.contains(".broken-") }, "\(files)")

            // The kernel drops the lock with the process: no stale lock after SIGKILL.
            first.child.signal(SIGKILL)
            try #require(await first.child.waitForExit(timeout: .seconds(5)))
            let second = try Self.startDaemon(directory, simulator, socket: secondSocket)
            defer { Task { await second.stop() } }
            try await eventually("the second daemon ready on \(secondSocket)") {
                guard second.isRunning else { throw HarnessError("the second slotgated exited: \(second.stderr.tail(20))") }
                let reply = try? await E2EHTTP.send(.GET, url: try E2EHTTP.unixURL(secondSocket, "/v1/status"), timeout: .seconds(2))
                return reply?.json?["ready"] as? Bool == true
            }
            #expect(Self.contents(lockFile) == "pid=\(second.pid)\nsocket=\(secondSocket)\n")
            // Same ledger: the first daemon's lease is there.
            let reply = try await E2EHTTP.send(.GET, url: try E2EHTTP.unixURL(secondSocket, "/v1/leases/\(lease)"), timeout: .seconds(5))
            #expect(reply.json?["state"] as? String == "granted", "\(reply)")
            await second.stop()
            #expect(second.exitCode == 0)
        }

        // A refused second daemon reads this record (the test above); it is not started here: while a child that
        // systemd-socket-activate exec'd runs, Foundation's Process on Linux sits in a blocking waitpid for it (the
        // exec closed the socket by which Process notices an exit), so no other child's exit would be seen.
        @Test("socket-activated, the lock file names the socket systemd passed, not socket.path")
        func socketActivatedRecord() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let passed = directory.file("act.sock")
            let state = directory.file("state")
            try Data("# socket activation\n".utf8).write(to: URL(fileURLWithPath: directory.file("slotgate.yaml")))
            // socket.path names another file: the daemon serves the passed socket and must record that one.
            let activator = try ChildProcess(
                name: "systemd-socket-activate",
                executable: "/usr/bin/systemd-socket-activate",
                arguments: [
                    "-l", passed, "--fdname=api", "-E", "PATH=/usr/bin:/bin", "-E", "SLOTGATE_UPSTREAM_SIMULATE=true",
                    Paths.slotgated, "--config", directory.file("slotgate.yaml"), "--socket", directory.file("config.sock"), "--state-dir", state,
                ],
                environment: ["PATH": "/usr/bin:/bin"]
            )
            defer { activator.signal(SIGKILL) }
            try await eventually("systemd-socket-activate to listen on \(passed)") { FileManager.default.fileExists(atPath: passed) }
            // The first connection makes systemd-socket-activate exec the daemon (same pid) with the socket as fd 3.
            try await eventually("GET /v1/status through the passed socket", timeout: .seconds(15), interval: .milliseconds(100)) {
                let url = try E2EHTTP.unixURL(passed, "/v1/status")
                let reply = try? await E2EHTTP.send(.GET, url: url, headers: [("Connection", "close")], body: nil, timeout: .seconds(10))
                return reply?.json?["ready"] as? Bool == true
            }
            // The record is rewritten once the passed socket is known, before READY.
            #expect(Self.contents(state + "/slotgated.lock") == "pid=\(activator.pid)\nsocket=\(passed)\n")
            activator.signal(SIGTERM)
            #expect(await activator.waitForExit(timeout: .seconds(10)))
            #expect(activator.exitCode == 0, "stderr:\n\(activator.stderr.tail(20))")
        }

        /// Starts slotgated on the test's config and state directory with a socket of its own; does not wait.
        static func startDaemon(
            _ directory: TemporaryDirectory,
            _ simulator: Simulator,
            socket: String,
            extra: [String] = []
        ) throws -> ChildProcess {
            try ChildProcess(
                name: "slotgated",
                executable: Paths.slotgated,
                arguments: ["--config", directory.file("slotgate.yaml"), "--socket", socket, "--state-dir", directory.file("state")] + extra,
                environment: DaemonProcess.baseEnvironment(upstreamURL: simulator.baseURL)
            )
        }

        /// A file's text, or nil when it cannot be read.
        static func contents(_ path: String) -> String? {
            FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
        }
    }
}
