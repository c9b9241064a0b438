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
    /// The systemd protocol without a manager: a datagram socket as `NOTIFY_SOCKET`, `systemd-socket-activate`
    /// for the passed socket, and a file whose `DEVICE:INODE` is `JOURNAL_STREAM` for the journal format. The
    /// daemon runs with `upstream.simulate`, so no simulator process is needed.
    @Suite("systemd protocol")
    struct SystemdProtocol {
        @Test("READY=1 once the socket accepts, STATUS follows the leases, STOPPING=1 on SIGTERM")
        func readyStatusStopping() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let notify = try NotifyListener(path: directory.file("notify"), probing: directory.file("d.sock"))
            defer { notify.close() }
            let started = ContinuousClock.now
            let daemon = try await DaemonProcess.start(in: directory, upstreamURL: "http://127.0.0.1:9", environment: notify.environment)
            let ready = try await notify.waitFor("READY=1") { $0.has("READY=1") }
            print("start-to-READY: \(ready.at - started) (spawn to READY=1 received)")
            #expect(notify.readyProbe.value == true, "the socket did not accept a connection when READY=1 arrived")
            #expect(ready.value("STATUS")?.contains("held here") == true, "READY=1 carries the first status line: \(ready)")

            let lease = try await daemon.grantedLease(holder: "systemd-status", wait: 10)
            let held = try await notify.waitFor("a STATUS line with the lease") { $0.value("STATUS")?.contains("1 held here") == true }
            #expect(held.value("STATUS")?.contains("slots in use") == true, "\(held)")
            _ = try await daemon.release(try #require(lease["id"] as? String))
            try await notify.waitFor("a STATUS line after the release", after: held) { $0.value("STATUS")?.contains("0 held here") == true }
            #expect(notify.messages.filter { $0.has("READY=1") }.count == 1, "READY=1 is sent once: \(notify.messages)")

            let terminated = ContinuousClock.now
            daemon.child.signal(SIGTERM)
            let stopping = try await notify.waitFor("STOPPING=1") { $0.has("STOPPING=1") }
            #expect(await daemon.child.waitForExit(timeout: .seconds(10)))
            #expect(daemon.child.exitCode == 0, "stderr:\n\(daemon.child.stderr.tail(20))")
            print("SIGTERM to STOPPING=1: \(stopping.at - terminated)")
        }

        @Test("WATCHDOG_USEC=1 s: WATCHDOG=1 about every 0.5 s")
        func watchdog() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let notify = try NotifyListener(path: directory.file("notify"), probing: nil)
            defer { notify.close() }
            var environment = notify.environment
            environment["WATCHDOG_USEC"] = "1000000"
            let daemon = try await DaemonProcess.start(in: directory, upstreamURL: "http://127.0.0.1:9", environment: environment)
            try await notify.waitFor("READY=1") { $0.has("READY=1") }
            let from = ContinuousClock.now
            try await Task.sleep(for: .seconds(3))
            let pings = notify.messages.filter { $0.has("WATCHDOG=1") && $0.at >= from }
            // 0.5 s apart gives 6 in 3 s; busy turns of the loop may add some, never more than one per 0.25 s.
            #expect((4...13).contains(pings.count), "\(pings.count) pings in 3 s")
            let gaps = zip(pings.dropFirst(), pings).map { $0.at - $1.at }
            #expect(gaps.allSatisfy { $0 < .milliseconds(900) }, "the longest gap must stay under the 1 s timeout: \(gaps)")
            await daemon.stop()
        }

        @Test("SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1; a refused reload says so")
        func reload() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let notify = try NotifyListener(path: directory.file("notify"), probing: nil)
            defer { notify.close() }
            let daemon = try await DaemonProcess.start(in: directory, upstreamURL: "http://127.0.0.1:9", environment: notify.environment)
            try await notify.waitFor("READY=1") { $0.has("READY=1") }

            let before = monotonicMicroseconds()
            daemon.child.signal(SIGHUP)
            let reloading = try await notify.waitFor("RELOADING=1") { $0.has("RELOADING=1") }
            let usec = try #require(reloading.value("MONOTONIC_USEC").flatMap(UInt64.init), "\(reloading)")
            #expect(usec >= before && usec <= monotonicMicroseconds(), "MONOTONIC_USEC is CLOCK_MONOTONIC of the reload")
            let ready = try await notify.waitFor("READY=1 after the reload", after: reloading) { $0.has("READY=1") }
            #expect(ready.value("STATUS")?.hasPrefix("settings reloaded") == true, "\(ready)")
            print("reload time: \(ready.at - reloading.at) (RELOADING=1 to READY=1 received)")

            try Data("slots: [unclosed\n".utf8).write(to: URL(fileURLWithPath: daemon.configPath))
            daemon.child.signal(SIGHUP)
            let refusedStart = try await notify.waitFor("RELOADING=1 again", after: ready) { $0.has("RELOADING=1") }
            let refused = try await notify.waitFor("READY=1 after the refused reload", after: refusedStart) { $0.has("READY=1") }
            #expect(refused.value("STATUS")?.contains("last reload refused") == true, "\(refused)")
            #expect(try await daemon.status()["ready"] as? Bool == true, "a refused reload keeps serving")
            await daemon.stop()
        }

        @Test("systemd-socket-activate: the API is served on the passed socket, with the caller's credentials")
        func socketActivation() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let socketPath = directory.file("act.sock")
            let state = directory.file("state")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            try Data("# socket activation\n".utf8).write(to: URL(fileURLWithPath: directory.file("slotgate.yaml")))
            let activator = try ChildProcess(
                name: "systemd-socket-activate",
                executable: "/usr/bin/systemd-socket-activate",
                arguments: [
                    "-l", socketPath, "--fdname=api",
                    "-E", "PATH=/usr/bin:/bin", "-E", "SLOTGATE_UPSTREAM_SIMULATE=true", "-E", "SLOTGATE_LOG_LEVEL=debug",
                    Paths.slotgated, "--config", directory.file("slotgate.yaml"), "--socket", socketPath, "--state-dir", state,
                ],
                environment: ["PATH": "/usr/bin:/bin"]
            )
            defer { activator.signal(SIGKILL) }
            try await eventually("systemd-socket-activate to listen on \(socketPath)") { FileManager.default.fileExists(atPath: socketPath) }
            let modeBefore = try fileMode(socketPath)

            // The first connection makes systemd-socket-activate exec the daemon with the socket as fd 3.
            let url = try E2EHTTP.unixURL(socketPath, "/v1/status")
            var status: HTTPReply?
            try await eventually("GET /v1/status through the passed socket", timeout: .seconds(15), interval: .milliseconds(100)) {
                status = try? await E2EHTTP.send(.GET, url: url, headers: [("Connection", "close")], body: nil, timeout: .seconds(10))
                return status?.json?["ready"] as? Bool == true
            }
            #expect(status?.status == 200)
            let body = jsonBody(["holder": "activated", "wait_s": 10])
            let leases = try E2EHTTP.unixURL(socketPath, "/v1/leases")
            let granted = try await E2EHTTP.send(.POST, url: leases, headers: [("Connection", "close")], body: body, timeout: .seconds(20))
            #expect(granted.status == 201, "\(granted)")
            #expect(granted.json?["uid"] as? Int == Int(getuid()), "the peer's uid comes from the passed socket: \(granted)")
            #expect(granted.json?["pid"] as? Int == Int(getpid()), "the peer's pid is this test process: \(granted)")
            #expect(try fileMode(socketPath) == modeBefore, "an activated daemon leaves the socket's mode to systemd")
            #expect(activator.stderr.contains("socket-activated"), "the daemon says it adopted the socket")
            #expect(!activator.stderr.contains("Server started and listening on socket path"), "it did not bind its own socket")

            activator.signal(SIGTERM)
            #expect(await activator.waitForExit(timeout: .seconds(10)))
            #expect(activator.exitCode == 0, "stderr:\n\(activator.stderr.tail(20))")
        }

        @Test("JOURNAL_STREAM naming stderr: <N> priority prefixes when journald cannot be reached")
        func journalFormat() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let journalLog = directory.file("stderr.log")
            let plainLog = directory.file("plain.log")
            // The same daemon twice: stderr a file that JOURNAL_STREAM names, then one it does not name.
            for (log, names) in [(journalLog, true), (plainLog, false)] {
                FileManager.default.createFile(atPath: log, contents: nil)
                let handle = try #require(FileHandle(forWritingAtPath: log))
                var info = stat()
                try #require(fstat(handle.fileDescriptor, &info) == 0)
                let stream = names ? "\(info.st_dev):\(info.st_ino)" : "\(info.st_dev):\(info.st_ino + 1)"
                try await runBriefly(in: directory, stderr: handle, environment: ["JOURNAL_STREAM": stream])
                try handle.close()
            }
            let journal = try String(contentsOfFile: journalLog, encoding: .utf8)
            let plain = try String(contentsOfFile: plainLog, encoding: .utf8)
            #expect(plain.contains("INFO listening"), "\(plain)")
            #expect(!plain.contains("<6>"), "a JOURNAL_STREAM naming another file leaves plain lines: \(plain)")
            if FileManager.default.fileExists(atPath: "/run/systemd/journal/socket") {
                // journald took the entries as structured fields; nothing is duplicated on stderr.
                #expect(!journal.contains("INFO listening"), "\(journal)")
            } else {
                #expect(journal.contains("<6>INFO listening"), "\(journal)")
                #expect(journal.contains("<5>NOTICE upstream.simulate is on"), "\(journal)")
                let lines = journal.split(separator: "\n").filter { $0.hasPrefix("INFO") || $0.hasPrefix("NOTICE") }
                #expect(lines.isEmpty, "every line carries a priority prefix: \(lines)")
            }
        }

        /// Runs the daemon with its stderr on `stderr` until it listens, then stops it.
        private func runBriefly(in directory: TemporaryDirectory, stderr: FileHandle, environment: [String: String]) async throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Paths.slotgated)
            let socketPath = directory.file("j.sock")
            process.arguments = ["--config", directory.file("none.yaml"), "--socket", socketPath, "--state-dir", directory.file("jstate")]
            try FileManager.default.createDirectory(atPath: directory.file("jstate"), withIntermediateDirectories: true)
            try Data("# journal\n".utf8).write(to: URL(fileURLWithPath: directory.file("none.yaml")))
            process.environment = ["PATH": "/usr/bin:/bin", "SLOTGATE_UPSTREAM_SIMULATE": "true"].merging(environment) { _, new in new }
            process.standardError = stderr
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
            try await eventually("the daemon to listen") { FileManager.default.fileExists(atPath: socketPath) || !process.isRunning }
            try await Task.sleep(for: .milliseconds(200))
            kill(process.processIdentifier, SIGTERM)
            try await eventually("the daemon to exit") { !process.isRunning }
        }
    }
}

/// Microseconds of `CLOCK_MONOTONIC`.
private func monotonicMicroseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1_000
}

private func fileMode(_ path: String) throws -> mode_t {
    var info = stat()
    guard lstat(path, &info) == 0 else { throw HarnessError("lstat \(path): errno \(errno)") }
    return info.st_mode & 0o7777
}
