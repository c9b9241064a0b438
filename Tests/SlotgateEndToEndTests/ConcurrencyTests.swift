//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOHTTP1
import Testing

extension EndToEnd {
    /// Invariant 1 (no over-grant) with many clients at once, in both ways of using the daemon.
    @Suite("Fifty clients against limit 3")
    struct Concurrency {
        static let clients = 50
        static let simulator = SimulatorOptions(limit: 3, runMilliseconds: "100-250", pendingMilliseconds: 30)

        @Test("lease mode: every session created, none refused, never more than 3 at once")
        func leaseMode() async throws {
            try await withStack(simulator: Self.simulator) { simulator, daemon, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<Self.clients {
                        group.addTask { try await Self.leaseClient(index, simulator, daemon) }
                    }
                    try await group.waitForAll()
                }
                let stats = try await simulator.stats()
                #expect(stats.createsRefused == 0, "the platform refused creates: \(stats.refused)")
                #expect(stats.peakNonTerminal <= 3)
                #expect(stats.createsAccepted == Self.clients)
                #expect(stats.injected429 == 0)
            }
        }

        @Test("proxy mode: every create answered 201 with a lease, none refused, never more than 3 at once")
        func proxyMode() async throws {
            try await withStack(simulator: Self.simulator) { simulator, daemon, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<Self.clients {
                        group.addTask { try await Self.proxyClient(index, daemon) }
                    }
                    try await group.waitForAll()
                }
                let stats = try await simulator.stats()
                #expect(stats.createsRefused == 0, "the platform refused creates: \(stats.refused)")
                #expect(stats.peakNonTerminal <= 3)
                #expect(stats.createsAccepted == Self.clients)
            }
        }

        /// Takes a lease, creates a session on the platform directly, binds it, waits for its end, releases.
        static func leaseClient(_ index: Int, _ simulator: Simulator, _ daemon: DaemonProcess) async throws {
            let acquired = try await daemon.acquire(holder: "lease-client-\(index)", wait: 120, timeout: .seconds(130))
            try #require(acquired.status == 201, "client \(index): \(acquired)")
            let leaseID = try #require(acquired.string("id"))
            let created = try await simulator.createSession()
            if created.status == 429 {
                // An over-grant: show what the daemon believed when it granted this lease.
                let status = try await daemon.get("/v1/status").text
                let live = (try await daemon.get("/v1/leases").json?["leases"] as? [[String: Any]] ?? []).filter {
                    ["granted", "bound", "draining"].contains($0["state"] as? String ?? "")
                }
                let states = live.map { "\($0["holder"] ?? "?"):\($0["state"] ?? "?")" }
                Issue.record("client \(index) was granted a lease and its create met 429: \(created); live leases \(states); status \(status)")
                return
            }
            try #require(created.status == 201, "client \(index) create: \(created)")
            let sessionID = try #require(created.string("id"))
            let bound = try await daemon.bind(leaseID, to: sessionID)
            #expect(bound.status == 200 && bound.string("state") == "bound", "client \(index) bind: \(bound)")
            try await simulator.waitUntilTerminal(sessionID)
            let released = try await daemon.release(leaseID)
            #expect(released.status == 200 && released.string("state") == "released", "client \(index) release: \(released)")
        }

        /// Creates a session through the daemon's proxy, waits for its end through the pass-through, releases.
        static func proxyClient(_ index: Int, _ daemon: DaemonProcess) async throws {
            let created = try await daemon.request(
                .POST,
                "/api/v2/sessions",
                json: ["agent": "h/x", "messages": "m", "queue": false],
                headers: [("Slotgate-Holder", "proxy-client-\(index)")],
                timeout: .seconds(130)
            )
            try #require(created.status == 201, "client \(index): \(created)")
            let leaseID = try #require(created.header("Slotgate-Lease"), "client \(index): no Slotgate-Lease header")
            #expect(created.header("Slotgate-Waited-Ms").flatMap { Int($0) } != nil)
            let sessionID = try #require(created.string("id"))
            try await eventually("session \(sessionID) terminal through the proxy", timeout: .seconds(30), interval: .milliseconds(100)) {
                let status = try await daemon.get("/api/v2/sessions/\(sessionID)/status")
                return E2E.terminalStatuses.contains(status.string("status") ?? "")
            }
            let released = try await daemon.release(leaseID)
            #expect(released.status == 200 && released.string("state") == "released", "client \(index) release: \(released)")
        }
    }
}
