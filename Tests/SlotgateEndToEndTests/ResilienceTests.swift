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
    /// What the platform does behind the daemon's back, and how the daemon lives through it (design.md
    /// invariants 1 to 3, "Slot accounting", "Polling").
    @Suite("Platform surprises")
    struct Resilience {
        /// The daemon's fast poll interval in these tests (``DaemonProcess/baseEnvironment(upstreamURL:)``).
        static let pollInterval = 0.2
        /// Allowance for scheduling, the poll's round trip and the client's own latency on a loaded machine.
        static let slack = 0.8

        // MARK: Sessions created behind the daemon's back

        @Test("lease mode: sessions created behind the daemon's back cause 429s only within one poll interval")
        func externalSessionsLeaseMode() async throws {
            let options = SimulatorOptions(limit: 3, runMilliseconds: "300-500", pendingMilliseconds: 30)
            try await withStack(simulator: options) { simulator, daemon, _ in
                let clients = 15
                let injectedAt = Locked<Date?>(nil)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<clients {
                        group.addTask { try await Self.retryingLeaseClient(index, simulator, daemon) }
                    }
                    try await eventually("the first sessions", timeout: .seconds(20), interval: .milliseconds(20)) {
                        try await simulator.stats().createsAccepted >= 3
                    }
                    injectedAt.update { $0 = Date() }
                    _ = try await simulator.createExternal(count: 2, runMilliseconds: 1500)
                    try await group.waitForAll()
                }
                let stats = try await simulator.stats()
                #expect(stats.createsAccepted == clients)
                let start = try #require(injectedAt.value).timeIntervalSince1970 * 1000
                for refusal in stats.refused {
                    let at = try #require(epochMilliseconds(refusal.at))
                    let late = (at - start) / 1000
                    #expect(
                        late <= Self.pollInterval + Self.slack,
                        "a create met 429 \(late) s after the external sessions appeared: more than one poll interval"
                    )
                }
            }
        }

        @Test("proxy mode: sessions created behind the daemon's back never reach the client as 429")
        func externalSessionsProxyMode() async throws {
            let options = SimulatorOptions(limit: 3, runMilliseconds: "300-500", pendingMilliseconds: 30)
            try await withStack(simulator: options) { simulator, daemon, _ in
                let clients = 15
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<clients {
                        group.addTask { try await Concurrency.proxyClient(index, daemon) }
                    }
                    try await eventually("the first sessions", timeout: .seconds(20), interval: .milliseconds(20)) {
                        try await simulator.stats().createsAccepted >= 3
                    }
                    _ = try await simulator.createExternal(count: 2, runMilliseconds: 1500)
                    try await group.waitForAll()
                }
                let stats = try await simulator.stats()
                #expect(stats.createsAccepted == clients, "every client got 201 (checked in proxyClient) and one session each")
            }
        }

        /// A lease-mode client that meets a 429 gives its lease back and queues again, as a careful client would.
        static func retryingLeaseClient(_ index: Int, _ simulator: Simulator, _ daemon: DaemonProcess) async throws {
            for _ in 0..<20 {
                let acquired = try await daemon.acquire(holder: "client-\(index)", wait: 120, timeout: .seconds(130))
                try #require(acquired.status == 201, "client \(index): \(acquired)")
                let leaseID = try #require(acquired.string("id"))
                let created = try await simulator.createSession()
                if created.status == 429 {
                    _ = try await daemon.release(leaseID)
                    continue
                }
                try #require(created.status == 201, "client \(index) create: \(created)")
                let sessionID = try #require(created.string("id"))
                #expect(try await daemon.bind(leaseID, to: sessionID).status == 200)
                try await simulator.waitUntilTerminal(sessionID)
                #expect(try await daemon.release(leaseID).status == 200)
                return
            }
            Issue.record("client \(index) met 429 twenty times")
        }

        // MARK: A live limit drop

        @Test("a live limit drop from 3 to 1: the proxy absorbs the 429s, then never more than 1 session")
        func liveLimitDrop() async throws {
            let options = SimulatorOptions(limit: 3, runMilliseconds: "300-500", pendingMilliseconds: 30)
            try await withStack(simulator: options) { simulator, daemon, _ in
                let clients = 12
                let samples = Locked<[Int]>([])
                let droppedAt = Locked<Date?>(nil)
                let clientsDone = Locked(false)
                // Samples the platform's count from 700 ms after the drop (the sessions started under the old limit
                // end within pending + run time, 530 ms) until every client is done.
                let sampler = Task {
                    while droppedAt.value == nil && !clientsDone.value { try await Task.sleep(for: .milliseconds(10)) }
                    try await Task.sleep(for: .milliseconds(700))
                    while !clientsDone.value {
                        let now = try await simulator.stats().nonTerminal
                        samples.update { $0.append(now) }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                do {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for index in 0..<clients {
                            group.addTask { try await Concurrency.proxyClient(index, daemon) }
                        }
                        try await eventually("the first sessions", timeout: .seconds(20), interval: .milliseconds(20)) {
                            try await simulator.stats().createsAccepted >= 4
                        }
                        droppedAt.update { $0 = Date() }
                        try await simulator.setLimit(1)
                        try await group.waitForAll()
                    }
                } catch {
                    clientsDone.update { $0 = true }
                    _ = await sampler.result
                    throw error
                }
                clientsDone.update { $0 = true }
                try await sampler.value
                let seen = samples.value
                #expect(!seen.isEmpty)
                #expect(seen.allSatisfy { $0 <= 1 }, "non-terminal sessions after the old ones ended: \(seen)")
                let stats = try await simulator.stats()
                #expect(stats.createsAccepted == clients)
                let start = try #require(droppedAt.value).timeIntervalSince1970 * 1000
                for refusal in stats.refused {
                    let late = (try #require(epochMilliseconds(refusal.at)) - start) / 1000
                    #expect(late <= Self.pollInterval + Self.slack, "a create met 429 \(late) s after the limit dropped")
                }
                let status = try await daemon.status()
                #expect(DaemonProcess.slots(status, "limit") == 1)
            }
        }

        @Test("a 429 on a proxied create is absorbed: the request is requeued and the client gets 201")
        func proxyAbsorbsA429() async throws {
            try await withStack { simulator, daemon, _ in
                try await simulator.setFaults(["too_many_requests": 1, "routes": ["create"]])
                let created = try await daemon.request(
                    .POST,
                    "/api/v2/sessions",
                    json: ["agent": "h/x", "messages": "m", "queue": false],
                    headers: [("Slotgate-Holder", "absorbed"), ("Slotgate-Wait", "20")],
                    timeout: .seconds(30)
                )
                #expect(created.status == 201, "the client sees the retried create, not the 429: \(created)")
                #expect(created.header("Slotgate-Lease") != nil)
                let stats = try await simulator.stats()
                #expect(stats.injected429 == 1, "the platform did answer one create with 429")
                #expect(stats.createsAccepted == 1)
            }
        }

        /// Issue 12, hole 1: a proxied create that takes longer than the claim TTL and than the client's wait. The
        /// lease neither expires nor frees its slot while the platform may still commit the create; the client gets
        /// 502 when its wait runs out, the daemon keeps sending the create with the same key, binds the lease to the
        /// session it made, and the next request is granted only after that session ends: no 429 anywhere.
        @Test("a proxied create slower than the claim TTL keeps its lease until the platform settles it")
        func slowProxiedCreateKeepsItsLease() async throws {
            let options = SimulatorOptions(limit: 1, runMilliseconds: "600")
            try await withStack(simulator: options, environment: ["SLOTGATE_LEASES_CLAIM_TTL_S": "1"]) { simulator, daemon, _ in
                try await daemon.waitForStatus("a first reading") { DaemonProcess.slots($0, "limit") == 1 }
                try await simulator.setFaults(["slow_milliseconds": 3000, "routes": ["create"]])
                let slow = Task {
                    try await daemon.request(
                        .POST,
                        "/api/v2/sessions",
                        json: ["agent": "h/x", "messages": "slow", "queue": false],
                        headers: [("Slotgate-Holder", "slow"), ("Slotgate-Wait", "1"), ("Idempotency-Key", "slow-create-key")],
                        timeout: .seconds(30)
                    )
                }
                try await eventually("the create reached the platform", timeout: .seconds(10), interval: .milliseconds(20)) {
                    try await simulator.stats().requests["create", default: 0] >= 1
                }
                try await simulator.setFaults([:])
                let answered = try await slow.value
                #expect(answered.status == 502, "the client's wait ran out before the platform answered: \(answered)")
                let leaseID = try #require(answered.header("Slotgate-Lease"))
                // Past the claim TTL, the create still in flight: the lease holds its slot.
                #expect(try await daemon.lease(leaseID)?["state"] as? String == "granted")
                let next = try await daemon.acquire(holder: "next", wait: 30, timeout: .seconds(40))
                #expect(next.status == 201, "the next request: \(next)")
                let first = try await daemon.lease(leaseID)
                #expect(first?["session_id"] is String, "the late create's session is tracked by its lease: \(String(describing: first))")
                let created = try await simulator.createSession()
                #expect(created.status == 201, "the next create meets no 429: \(created)")
                let stats = try await simulator.stats()
                #expect(stats.createsRefused == 0)
                #expect(stats.peakNonTerminal <= 1)
            }
        }

        /// Issue 12, hole 3: a key that may not list the organization's sessions (agp-api.md U8). Status reads of
        /// the tracked sessions stand in for the list: bound sessions are not counted twice, an end is seen without
        /// the list, `/v1/status` says so, and the list is used again once it answers.
        @Test("a refused session list: status reads stand in, the status says so, and the list comes back")
        func refusedSessionList() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 2, runMilliseconds: "none")) { simulator, daemon, _ in
                try await simulator.setFaults(["list_refused": true])
                var sessions: [String] = []
                for index in 0..<2 {
                    let lease = try await daemon.grantedLease(holder: "bound-\(index)", wait: 10)
                    let leaseID = try #require(lease["id"] as? String)
                    let created = try await simulator.createSession()
                    let sessionID = try #require(created.string("id"))
                    #expect(try await daemon.bind(leaseID, to: sessionID).status == 200)
                    sessions.append(sessionID)
                }
                // While the list is refused, a bound session counts on top of `active` until it is 10 s old
                // (GatekeeperSettings.activeLagAllowance); then once.
                let refused = try await daemon.waitForStatus("the list refused, two slots in use", timeout: .seconds(30)) { status in
                    (status["upstream"] as? [String: Any])?["session_list"] as? String == "refused"
                        && DaemonProcess.slots(status, "in_use") == 2
                }
                #expect(DaemonProcess.slots(refused, "in_use") == 2, "each bound session counted once, not on top of active")
                async let waiter = daemon.acquire(holder: "waiter", wait: 30, timeout: .seconds(40))
                try await daemon.waitForStatus("the waiter queued") { DaemonProcess.waiting($0) == 1 }
                try await simulator.finish(sessions[0])
                let granted = try await waiter
                #expect(granted.status == 201, "the end was seen through a status read: \(granted)")
                try await simulator.setFaults([:])
                try await daemon.waitForStatus("the list answers again") { status in
                    (status["upstream"] as? [String: Any])?["session_list"] as? String == "ok"
                }
                #expect(try await simulator.stats().createsRefused == 0)
            }
        }

        /// Issue 12, hole 8: a lease named in Slotgate-Lease whose first wait ended long ago meets a 429 on its create:
        /// it waits again in its place, is granted again, and the client gets 201 (it used to time out and then 404).
        @Test("a 429 on a create with a named lease: the lease survives, waits again and the client gets 201")
        func namedLeaseSurvivesA429() async throws {
            try await withStack { simulator, daemon, _ in
                try await daemon.waitForStatus("a first reading") { $0["paused_by"] is NSNull }
                // A wait of 1 ms: granted at once, and its first wait is over before the create is sent.
                let lease = try await daemon.grantedLease(holder: "named", wait: 0.001)
                let leaseID = try #require(lease["id"] as? String)
                try await simulator.setFaults(["too_many_requests": 1, "routes": ["create"]])
                let created = try await daemon.request(
                    .POST,
                    "/api/v2/sessions",
                    json: ["agent": "h/x", "messages": "m", "queue": false],
                    headers: [("Slotgate-Lease", leaseID), ("Slotgate-Wait", "20")],
                    timeout: .seconds(30)
                )
                #expect(created.status == 201, "the named lease's create after the 429: \(created)")
                #expect(created.header("Slotgate-Lease") == leaseID)
                #expect(try await daemon.lease(leaseID)?["state"] as? String == "bound")
                #expect(try await simulator.stats().injected429 == 1)
            }
        }

        // MARK: An upstream outage

        @Test("an upstream outage pauses grants (paused_by upstream_unavailable), then grants resume")
        func upstreamOutage() async throws {
            let environment = ["SLOTGATE_UPSTREAM_MAX_STALENESS_S": "1.5"]
            try await withStack(environment: environment) { simulator, daemon, _ in
                try await daemon.waitForStatus("a first reading") { $0["paused_by"] is NSNull }
                try await simulator.setFaults(["unavailable": 1_000_000, "retry_after_seconds": 1])
                let paused = try await daemon.waitForStatus("paused_by upstream_unavailable") {
                    $0["paused_by"] as? String == "upstream_unavailable"
                }
                let upstream = paused["upstream"] as? [String: Any]
                #expect(upstream?["healthy"] as? Bool == false)
                expectError(try await daemon.acquire(wait: 0), 503, "upstream_unavailable")

                async let waiter = daemon.acquire(holder: "patient", wait: 30, timeout: .seconds(40))
                try await daemon.waitForStatus("the waiter queued") { DaemonProcess.waiting($0) == 1 }
                try await simulator.setFaults([:])
                try await daemon.waitForStatus("grants resumed", timeout: .seconds(20)) { $0["paused_by"] is NSNull }
                let granted = try await waiter
                #expect(granted.status == 201, "the waiter after the outage: \(granted)")
            }
        }

        // MARK: A waiter that goes away

        @Test("a waiter that disconnects leaves the queue")
        func disconnectedWaiterLeaves() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { _, daemon, _ in
                let held = try await daemon.grantedLease(holder: "holder", wait: 10)
                let impatient = Task { try await daemon.acquire(holder: "impatient", wait: 60, timeout: .seconds(1.5)) }
                try await daemon.waitForStatus("the waiter queued") { DaemonProcess.waiting($0) == 1 }
                let result = await impatient.result
                #expect(throws: (any Error).self, "the client gave up on its own timeout") { try result.get() }
                try await daemon.waitForStatus("the queue empty again", timeout: .seconds(5)) { DaemonProcess.waiting($0) == 0 }

                // The slot is not granted to the vanished client when it frees.
                let leaseID = try #require(held["id"] as? String)
                #expect(try await daemon.release(leaseID).status == 200)
                try await Task.sleep(for: .seconds(1))  // several polls: long enough for a wrong grant to show
                let listing = try await daemon.get("/v1/leases").json
                let leases = listing?["leases"] as? [[String: Any]] ?? []
                #expect(leases.count == 1, "only the first lease exists: \(leases)")
                #expect((listing?["waiting"] as? [Any])?.isEmpty == true)
            }
        }

        // MARK: An unbound lease that expires

        @Test("an unbound lease expires and its slot is reused only after a quota reading sent after the expiry")
        func expiredLeaseSlotWaitsForFreshReading() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { simulator, daemon, _ in
                let first = try await daemon.grantedLease(holder: "forgetful", wait: 10, claimTTL: 1)
                let firstID = try #require(first["id"] as? String)
                let expiresAt = try #require(epochMilliseconds(first["expires_at"] as? String))
                // Every quota reading from now on takes 2.5 s to answer: the first one sent after the expiry
                // arrives at least 2.5 s after it.
                let slow = 2.5
                try await simulator.setFaults(["slow_milliseconds": Int(slow * 1000), "routes": ["quota"]])
                let second = try await daemon.acquire(holder: "next", wait: 30, timeout: .seconds(40))
                #expect(second.status == 201, "the next acquire: \(second)")
                let grantedAt = try #require(epochMilliseconds(second.string("granted_at")))
                let after = (grantedAt - expiresAt) / 1000
                #expect(after >= slow - 0.3, "the slot was reused \(after) s after the expiry, before a fresh reading could arrive")
                #expect(try await daemon.lease(firstID)?["state"] as? String == "expired")
                try await simulator.setFaults([:])
            }
        }

        // MARK: Releasing a bound lease early

        @Test("releasing a bound lease early gives draining; nobody is granted before the platform reports the end")
        func earlyReleaseDrains() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { simulator, daemon, _ in
                let lease = try await daemon.grantedLease(holder: "runner", wait: 10)
                let leaseID = try #require(lease["id"] as? String)
                let created = try await simulator.createSession()
                let sessionID = try #require(created.string("id"), "create: \(created)")
                #expect(try await daemon.bind(leaseID, to: sessionID).status == 200)

                let waiter = Task { try await daemon.acquire(holder: "waiter", wait: 30, timeout: .seconds(40)) }
                try await daemon.waitForStatus("the waiter queued") { DaemonProcess.waiting($0) == 1 }
                let released = try await daemon.release(leaseID)
                #expect(released.status == 200)
                #expect(released.string("state") == "draining", "release of a running session: \(released)")
                #expect(released.json?["expires_at"] is NSNull)

                try await Task.sleep(for: .seconds(1.2))  // six polls: a wrong grant would have happened by now
                #expect(DaemonProcess.waiting(try await daemon.status()) == 1, "the waiter is still waiting")
                #expect(try await daemon.lease(leaseID)?["state"] as? String == "draining")

                let finishedAt = Date().timeIntervalSince1970 * 1000
                try await simulator.finish(sessionID)
                let granted = try await waiter.value
                #expect(granted.status == 201, "the waiter once the session ended: \(granted)")
                let grantedAt = try #require(epochMilliseconds(granted.string("granted_at")))
                #expect(grantedAt >= finishedAt - 50, "granted before the platform reported the session terminal")
                try await eventually("the drained lease released") {
                    try await daemon.lease(leaseID)?["state"] as? String == "released"
                }
            }
        }

        // MARK: Signals

        @Test("SIGTERM with parked waiters: each gets 503 shutting_down and the daemon exits 0 within 2 s")
        func sigtermWakesWaiters() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { _, daemon, _ in
                _ = try await daemon.grantedLease(holder: "holder", wait: 10)
                let waiters = (0..<3).map { index in
                    Task { try await daemon.acquire(holder: "parked-\(index)", wait: 60, timeout: .seconds(30)) }
                }
                try await daemon.waitForStatus("three parked waiters") { DaemonProcess.waiting($0) == 3 }
                let signalled = ContinuousClock.now
                daemon.child.signal(SIGTERM)
                for waiter in waiters {
                    expectError(try await waiter.value, 503, "shutting_down")
                }
                let exited = await daemon.child.waitForExit(timeout: .seconds(2) - (ContinuousClock.now - signalled))
                #expect(exited, "slotgated still running 2 s after SIGTERM")
                #expect(daemon.child.exitCode == 0, "exit status after SIGTERM")
            }
        }

        @Test("SIGHUP with a broken file keeps the running settings and names the key; a good file applies")
        func sighupReload() async throws {
            try await withStack(config: "slots:\n  max: 2\n") { _, daemon, _ in
                try await daemon.waitForStatus("slots.limit 2 from the file") { DaemonProcess.slots($0, "limit") == 2 }
                let file = URL(fileURLWithPath: daemon.configPath)

                try Data("slots:\n  maxx: 1\n".utf8).write(to: file, options: .atomic)
                daemon.child.signal(SIGHUP)
                try await eventually("the refused reload logged with the key", timeout: .seconds(5)) {
                    daemon.child.stderr.contains("slots.maxx")
                }
                #expect(daemon.child.isRunning)
                #expect(DaemonProcess.slots(try await daemon.status(), "limit") == 2)
                // /v1/status says the reload was refused, and why.
                let refused = try #require(try await daemon.status()["reload"] as? [String: Any])
                #expect(refused["accepted"] as? Bool == false && (refused["reason"] as? String)?.contains("slots.maxx") == true, "\(refused)")

                let before = daemon.child.stderr.text.components(separatedBy: "slots.max:").count
                try Data("slots:\n  max: -3\n".utf8).write(to: file, options: .atomic)
                daemon.child.signal(SIGHUP)
                try await eventually("the bad value logged with the key", timeout: .seconds(5)) {
                    daemon.child.stderr.text.components(separatedBy: "slots.max:").count > before
                }
                #expect(daemon.child.isRunning)
                #expect(DaemonProcess.slots(try await daemon.status(), "limit") == 2)

                // A good file that also changes a restart-only key: applied live, the other waits and says so.
                try Data("slots:\n  max: 1\nsocket:\n  mode: \"0600\"\n".utf8).write(to: file, options: .atomic)
                daemon.child.signal(SIGHUP)
                try await daemon.waitForStatus("slots.limit 1 after a good reload") { DaemonProcess.slots($0, "limit") == 1 }
                let reload = try #require(try await daemon.status()["reload"] as? [String: Any])
                #expect(reload["accepted"] as? Bool == true && reload["reason"] is NSNull, "\(reload)")
                #expect(reload["pending_restart"] as? [String] == ["socket.mode"], "\(reload)")
                #expect((reload["at"] as? String).flatMap(epochMilliseconds) != nil)
            }
        }
    }
}
