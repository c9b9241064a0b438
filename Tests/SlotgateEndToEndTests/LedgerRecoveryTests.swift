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
    /// Leases survive crashes and restarts of the real daemon (design.md invariant 4, issue 5): SIGKILL at random
    /// moments, graceful restarts, and the bad ledgers the daemon must refuse to start on.
    @Suite("Ledger recovery")
    struct LedgerRecovery {
        // MARK: SIGKILL under load

        @Test("SIGKILL 20 times while 50 clients take slots against limit 3: no 429, no lost lease, counts back to 0")
        func killLoop() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let simulator = try await Simulator.start(SimulatorOptions(limit: 3, runMilliseconds: "100-250", pendingMilliseconds: 20))
            let current = Locked<DaemonProcess?>(try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL))
            let answered = Locked<[String: ContinuousClock.Instant]>([:])
            let stop = Locked(false)
            let killTimes = Locked<[Date]>([])
            let kills = 20
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<50 {
                        group.addTask { try await Self.killLoopClient(index, simulator, current, answered, stop) }
                    }
                    for round in 1...kills {
                        try await Task.sleep(for: .milliseconds(Int.random(in: 100...700)))
                        guard let daemon = current.value else { break }
                        daemon.child.signal(SIGKILL)
                        await daemon.child.waitForExit(timeout: .seconds(5))
                        let killedAt = ContinuousClock.now
                        killTimes.update { $0.append(Date()) }
                        current.update { $0 = nil }
                        let restarted = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
                        current.update { $0 = restarted }
                        // Every lease answered 201 before the kill is in the restarted daemon's ledger.
                        let before = answered.value.filter { $0.value < killedAt }.map(\.key)
                        let known = try await Self.knownLeaseIDs(restarted)
                        let lost = before.filter { !known.contains($0) }
                        #expect(lost.isEmpty, "after kill \(round), leases answered 201 before it are unknown: \(lost)")
                    }
                    stop.update { $0 = true }
                    try await group.waitForAll()
                }
                let daemon = try #require(current.value)
                let stats = try await simulator.stats()
                if stats.createsRefused > 0, let path = ProcessInfo.processInfo.environment["SLOTGATE_E2E_DUMP"] {
                    try? Data(daemon.child.stderr.text.utf8).write(to: URL(fileURLWithPath: path))
                }
                #expect(
                    stats.createsRefused == 0,
                    "the simulator refused creates: \(stats.refused); kills at \(killTimes.value.map { $0.timeIntervalSince1970 })"
                )
                #expect(answered.value.count >= 50, "only \(answered.value.count) leases were granted")
                try await daemon.waitForStatus("in_use and held_by_leases back to 0", timeout: .seconds(20)) { status in
                    DaemonProcess.slots(status, "in_use") == 0 && DaemonProcess.slots(status, "held_by_leases") == 0
                }
                print("kill loop: \(kills) kills, \(answered.value.count) grants, \(stats.createsAccepted) sessions, 0 refused")
            } catch {
                print("slotgated stderr (last 40 lines):\n\(current.value?.child.stderr.tail(40) ?? "-")")
                await current.value?.stop()
                await simulator.stop()
                throw error
            }
            await current.value?.stop()
            await simulator.stop()
        }

        /// One client: takes a slot, creates a session with it, binds, waits for the end, releases; again until
        /// told to stop. A failed connection (the daemon was killed) is retried on whatever daemon runs next.
        static func killLoopClient(
            _ index: Int,
            _ simulator: Simulator,
            _ current: Locked<DaemonProcess?>,
            _ answered: Locked<[String: ContinuousClock.Instant]>,
            _ stop: Locked<Bool>
        ) async throws {
            var rounds = 0
            while !stop.value || rounds == 0 {
                let acquired = try await retrying(current) { daemon in
                    try await daemon.acquire(holder: "kill-\(index)", wait: 30, claimTTL: 3, timeout: .seconds(40))
                }
                guard acquired.status == 201, let leaseID = acquired.string("id") else {
                    // 503 wait_timeout or shutting_down: ask again.
                    try #require(acquired.status == 503, "client \(index): \(acquired)")
                    continue
                }
                answered.update { $0[leaseID] = ContinuousClock.now }
                rounds += 1
                let created = try await simulator.createSession()
                guard created.status == 201 else {
                    // Counted by the simulator as a refused create, which the test reports; give the lease back.
                    _ = try await retrying(current) { try await $0.release(leaseID) }
                    continue
                }
                let sessionID = try #require(created.string("id"))
                let bound = try await retrying(current) { try await $0.bind(leaseID, to: sessionID) }
                // 409/404: the claim TTL ran out while the daemon was down; the session then counts as external.
                #expect([200, 404, 409].contains(bound.status), "client \(index) bind: \(bound)")
                try await simulator.waitUntilTerminal(sessionID)
                _ = try await retrying(current) { try await $0.release(leaseID) }
            }
        }

        /// Sends a request to the running daemon, retrying on connection errors until one answers (60 s at most).
        static func retrying(_ current: Locked<DaemonProcess?>, _ send: (DaemonProcess) async throws -> HTTPReply) async throws -> HTTPReply {
            let deadline = ContinuousClock.now + .seconds(60)
            while true {
                if let daemon = current.value {
                    do {
                        return try await send(daemon)
                    } catch {
                        if ContinuousClock.now > deadline { throw error }
                    }
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        /// The ids in `GET /v1/leases?all=1`.
        static func knownLeaseIDs(_ daemon: DaemonProcess) async throws -> Set<String> {
            let reply = try await daemon.get("/v1/leases?all=1")
            guard reply.status == 200, let leases = reply.json?["leases"] as? [[String: Any]] else {
                throw HarnessError("GET /v1/leases?all=1 answered \(reply)")
            }
            return Set(leases.compactMap { $0["id"] as? String })
        }

        // MARK: Graceful restart

        @Test("a graceful restart (SIGTERM, start) keeps bound and granted leases with no change in counts")
        func gracefulRestart() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let simulator = try await Simulator.start(SimulatorOptions(limit: 3, runMilliseconds: "none", pendingMilliseconds: 20))
            defer { Task { await simulator.stop() } }
            var daemon = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
            let bound = try await daemon.grantedLease(holder: "bound", wait: 5, claimTTL: 120)
            let boundID = try #require(bound["id"] as? String)
            let created = try await simulator.createSession()
            let sessionID = try #require(created.string("id"))
            #expect(try await daemon.bind(boundID, to: sessionID).status == 200)
            let granted = try await daemon.grantedLease(holder: "granted", wait: 5, claimTTL: 120)
            let grantedID = try #require(granted["id"] as? String)
            let counts = { (status: [String: Any]) in
                ["in_use", "held_by_leases", "free"].map { DaemonProcess.slots(status, $0) ?? -1 }
            }
            // Settled: the platform counts the session, the granted lease holds one more.
            let before = counts(
                try await daemon.waitForStatus("the session counted") { DaemonProcess.slots($0, "in_use") == 2 }
            )
            #expect(before == [2, 2, 1])
            await daemon.stop()
            #expect(daemon.child.exitCode == 0)
            daemon = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
            defer { Task { [daemon] in await daemon.stop() } }
            let restarted = try #require(try await daemon.lease(grantedID))
            #expect(restarted["state"] as? String == "granted")
            #expect(restarted["expires_at"] as? String == granted["expires_at"] as? String)
            #expect(try await daemon.lease(boundID)?["state"] as? String == "bound")
            #expect(try await daemon.lease(boundID)?["session_id"] as? String == sessionID)
            // Right after the start and after fresh readings, the counts are the same.
            #expect(counts(try await daemon.status()) == before)
            try await Task.sleep(for: .milliseconds(600))
            #expect(counts(try await daemon.status()) == before)
            // The restored bound lease is tracked again: its session's end frees its slot.
            try await simulator.finish(sessionID)
            _ = try await daemon.release(grantedID)
            try await daemon.waitForStatus("counts back to 0") {
                DaemonProcess.slots($0, "in_use") == 0 && DaemonProcess.slots($0, "held_by_leases") == 0
            }
        }

        // MARK: Bad ledgers

        /// Starts slotgated on `directory` expecting it to refuse; returns its exit code and stderr.
        static func failedStart(_ directory: TemporaryDirectory, _ simulator: Simulator) async throws -> (Int32?, String) {
            let child = try ChildProcess(
                name: "slotgated",
                executable: Paths.slotgated,
                arguments: [
                    "--config", directory.file("slotgate.yaml"), "--socket", directory.file("d.sock"), "--state-dir", directory.file("state"),
                ],
                environment: DaemonProcess.baseEnvironment(upstreamURL: simulator.baseURL)
            )
            let exited = await child.waitForExit(timeout: .seconds(10))
            if !exited { await child.stop() }
            #expect(exited, "slotgated started on a bad ledger")
            return (child.exitCode, child.stderr.text)
        }

        /// Starts slotgated with `--reset-state` and waits until it is ready; the caller stops it.
        static func startResetting(_ directory: TemporaryDirectory, _ simulator: Simulator) async throws -> ChildProcess {
            let socket = directory.file("d.sock")
            let child = try ChildProcess(
                name: "slotgated",
                executable: Paths.slotgated,
                arguments: [
                    "--config", directory.file("slotgate.yaml"), "--socket", socket, "--state-dir", directory.file("state"), "--reset-state",
                ],
                environment: DaemonProcess.baseEnvironment(upstreamURL: simulator.baseURL)
            )
            try await eventually("slotgated --reset-state ready") {
                guard child.isRunning else { throw HarnessError("slotgated --reset-state exited: \(child.stderr.tail(20))") }
                let reply = try? await E2EHTTP.send(.GET, url: try E2EHTTP.unixURL(socket, "/v1/status"), timeout: .seconds(2))
                return reply?.json?["ready"] as? Bool == true
            }
            return child
        }

        /// Runs `body` with a simulator and a daemon that has granted one lease and stopped; `body` gets the
        /// lease id.
        func withStoppedLedger(_ body: (TemporaryDirectory, Simulator, String) async throws -> Void) async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let simulator = try await Simulator.start(SimulatorOptions(limit: 3))
            do {
                let daemon = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
                let lease = try await daemon.grantedLease(holder: "kept", wait: 5, claimTTL: 300)
                await daemon.stop()
                try await body(directory, simulator, try #require(lease["id"] as? String))
            } catch {
                await simulator.stop()
                throw error
            }
            await simulator.stop()
        }

        @Test("a corrupt ledger stops the start naming the file and --reset-state, which moves it aside and starts empty")
        func corruptLedger() async throws {
            try await withStoppedLedger { directory, simulator, _ in
                let ledger = directory.file("state/ledger.sqlite")
                let garbage = Data((0..<16_384).map { _ in UInt8.random(in: 0...255) })
                try garbage.write(to: URL(fileURLWithPath: ledger))
                try? FileManager.default.removeItem(atPath: ledger + "-wal")
                let (code, stderr) = try await Self.failedStart(directory, simulator)
                #expect(code == 69)
                #expect(stderr.contains(ledger) && stderr.contains("corrupt") && stderr.contains("--reset-state"), "\(stderr)")
                // Refusing did not touch the file.
                #expect(FileManager.default.contents(atPath: ledger) == garbage)
                let child = try await Self.startResetting(directory, simulator)
                let moved = try FileManager.default.contentsOfDirectory(atPath: directory.file("state")).filter {
                    $0.hasPrefix("ledger.sqlite.broken-")
                }
                #expect(moved.contains { !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }, "\(moved)")
                // It says what it did: which file went where, and that the daemon starts with no leases.
                let target = try #require(moved.first { !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") })
                let said = child.stderr.text
                #expect(said.contains("moved \(ledger)") && said.contains(directory.file("state/\(target)")), "\(said)")
                #expect(said.contains("Starting with NO leases"))
                await child.stop()
            }
        }

        @Test("a ledger with a newer schema version stops the start; the lease in it is kept for the newer version")
        func newerSchemaLedger() async throws {
            try await withStoppedLedger { directory, simulator, leaseID in
                let ledger = directory.file("state/ledger.sqlite")
                #expect(sqlite(ledger, "PRAGMA user_version = 99;") == 0)
                let (code, stderr) = try await Self.failedStart(directory, simulator)
                #expect(code == 69)
                #expect(stderr.contains(ledger) && stderr.contains("version 99") && stderr.contains("--reset-state"), "\(stderr)")
                // Back to this version's schema: nothing was lost.
                #expect(sqlite(ledger, "PRAGMA user_version = 1;") == 0)
                let daemon = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
                #expect(try await daemon.lease(leaseID)?["state"] as? String == "granted")
                await daemon.stop()
            }
        }

        @Test(
            "a read-only state directory stops the start naming the file; once writable the lease is there",
            .enabled(if: getuid() == 0, "mounting a tmpfs needs root")
        )
        func readOnlyStateDirectory() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let state = directory.file("state")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            try #require(runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", state]) == 0)
            defer { runTool("/bin/umount", [state]) }
            let simulator = try await Simulator.start(SimulatorOptions(limit: 3))
            defer { Task { await simulator.stop() } }
            let daemon = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
            let lease = try await daemon.grantedLease(holder: "kept", wait: 5, claimTTL: 300)
            await daemon.stop()
            #expect(runTool("/bin/mount", ["-o", "remount,ro", state]) == 0)
            let (code, stderr) = try await Self.failedStart(directory, simulator)
            #expect(code == 69)
            #expect(stderr.contains(state + "/ledger.sqlite") && stderr.contains("cannot be written"), "\(stderr)")
            #expect(runTool("/bin/mount", ["-o", "remount,rw", state]) == 0)
            let again = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
            #expect(try await again.lease(try #require(lease["id"] as? String))?["state"] as? String == "granted")
            await again.stop()
        }

        @Test("a release answered just before SIGTERM is in the ledger after the restart (the shutdown writes held ends)")
        func releaseBeforeStopIsKept() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let simulator = try await Simulator.start(SimulatorOptions(limit: 3))
            defer { Task { await simulator.stop() } }
            let daemon = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
            let lease = try #require(try await daemon.grantedLease(holder: "last", wait: 5, claimTTL: 300)["id"] as? String)
            #expect(try await daemon.release(lease).status == 200)
            await daemon.stop()
            let again = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
            #expect(try await again.lease(lease)?["state"] as? String == "released")
            await again.stop()
        }

        @Test("state.fsync: true and false both keep a granted lease and an ended one across SIGKILL")
        func fsyncSettingSurvivesKill() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let simulator = try await Simulator.start(SimulatorOptions(limit: 3))
            defer { Task { await simulator.stop() } }
            for fsync in [true, false] {
                let daemon = try await DaemonProcess.start(
                    in: directory,
                    upstreamURL: simulator.baseURL,
                    environment: ["SLOTGATE_STATE_FSYNC": String(fsync)]
                )
                let kept = try #require(try await daemon.grantedLease(holder: "kept-\(fsync)", wait: 5, claimTTL: 300)["id"] as? String)
                let ended = try #require(try await daemon.grantedLease(holder: "ended-\(fsync)", wait: 5, claimTTL: 300)["id"] as? String)
                #expect(try await daemon.release(ended).status == 200)
                // The release is held for the next commit: this grant's.
                let carrier = try #require(try await daemon.grantedLease(holder: "carrier-\(fsync)", wait: 5, claimTTL: 300)["id"] as? String)
                #expect(daemon.child.stderr.text.contains("fsync=\(fsync)"), "the ledger's log line names the setting")
                daemon.child.signal(SIGKILL)
                await daemon.child.waitForExit(timeout: .seconds(5))
                let again = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
                #expect(try await again.lease(kept)?["state"] as? String == "granted")
                #expect(try await again.lease(ended)?["state"] as? String == "released")
                #expect(try await again.release(kept).status == 200)
                #expect(try await again.release(carrier).status == 200)
                await again.stop()
            }
        }

        @Test(
            "a full state directory at run time: grants answer 503 state_unwritable, held leases stay, and grants resume",
            .enabled(if: getuid() == 0, "mounting a tmpfs needs root")
        )
        func fullStateDirectory() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let state = directory.file("state")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            try #require(runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", state]) == 0)
            defer { runTool("/bin/umount", [state]) }
            let simulator = try await Simulator.start(SimulatorOptions(limit: 3))
            defer { Task { await simulator.stop() } }
            var daemon = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
            let kept = try #require(try await daemon.grantedLease(holder: "kept", wait: 5, claimTTL: 300)["id"] as? String)
            // Fill the file system (dd stops at ENOSPC).
            runTool("/bin/dd", ["if=/dev/zero", "of=\(state)/filler", "bs=4k"])
            let refused = try await daemon.acquire(holder: "refused", wait: 0, claimTTL: 300)
            expectError(refused, 503, "state_unwritable")
            #expect(try await daemon.lease(kept)?["state"] as? String == "granted")
            #expect(DaemonProcess.slots(try await daemon.status(), "held_by_leases") == 1)
            try FileManager.default.removeItem(atPath: state + "/filler")
            let later = try #require(try await daemon.grantedLease(holder: "later", wait: 5, claimTTL: 300)["id"] as? String)
            daemon.child.signal(SIGKILL)
            await daemon.child.waitForExit(timeout: .seconds(5))
            daemon = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
            #expect(try await daemon.lease(kept)?["state"] as? String == "granted")
            #expect(try await daemon.lease(later)?["state"] as? String == "granted")
            await daemon.stop()
        }

        @Test("slotgate leases --all lists ended leases still in the ledger after a restart")
        func leasesAll() async throws {
            try await withStoppedLedger { directory, simulator, leaseID in
                let daemon = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL)
                #expect(try await daemon.release(leaseID).status == 200)
                let cli = Process()
                cli.executableURL = URL(fileURLWithPath: Paths.cli)
                cli.arguments = ["leases", "--all", "--socket", daemon.socketPath]
                let output = Pipe()
                cli.standardOutput = output
                try cli.run()
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                cli.waitUntilExit()
                #expect(cli.terminationStatus == 0)
                #expect(text.contains(leaseID) && text.contains("released") && text.contains("kept"), "\(text)")
                await daemon.stop()
            }
        }
    }
}

/// Runs the sqlite3 shell on `path`; returns its exit status.
@discardableResult
private func sqlite(_ path: String, _ sql: String) -> Int32 {
    runTool("/usr/bin/sqlite3", [path, sql])
}

/// Runs a program to its end with its output discarded; returns its exit status.
@discardableResult
private func runTool(_ executable: String, _ arguments: [String]) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do {
        try process.run()
    } catch {
        return -1
    }
    process.waitUntilExit()
    return process.terminationStatus
}
