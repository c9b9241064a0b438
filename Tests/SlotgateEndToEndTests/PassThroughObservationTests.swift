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
    /// Issue 16, part 1: a session's status read through the proxy is an observation like the daemon's own poll.
    /// The daemon's polls are made rare here (30 s, 60 s idle), so only the proxied read can explain what changes.
    @Suite("Pass-through observations")
    struct PassThroughObservations {
        static let rarePolls = [
            "SLOTGATE_UPSTREAM_POLL_INTERVAL_S": "30", "SLOTGATE_UPSTREAM_IDLE_POLL_INTERVAL_S": "60",
            "SLOTGATE_UPSTREAM_MAX_STALENESS_S": "600",
        ]

        /// Limit 1; a session created through the proxy holds the slot, a second request waits; the session is then
        /// ended on the simulator. Returns the session id and the waiting request's task.
        static func heldSlotAndWaiter(
            _ simulator: Simulator,
            _ daemon: DaemonProcess
        ) async throws -> (session: String, waiter: Task<HTTPReply, any Error>) {
            let created = try await daemon.request(.POST, "/api/v2/sessions", json: ["agent": "h/x", "messages": "m", "queue": false])
            #expect(created.status == 200 || created.status == 201, "\(created)")
            let session = try #require(created.json?["id"] as? String)
            let waiter = Task { try await daemon.acquire(holder: "next", wait: 25) }
            try await eventually("the second request waits") { DaemonProcess.waiting(try await daemon.status()) == 1 }
            try await simulator.finish(session)
            return (session, waiter)
        }

        @Test("a proxied status read that shows the session ended frees its slot before the next poll")
        func terminalReadFreesTheSlot() async throws {
            var options = SimulatorOptions()
            options.limit = 1
            options.runMilliseconds = "none"
            try await withStack(simulator: options, environment: Self.rarePolls) { simulator, daemon, _ in
                let (session, waiter) = try await Self.heldSlotAndWaiter(simulator, daemon)
                let started = ContinuousClock.now
                for path in ["/api/v2/sessions/\(session)/status", "/api/v2/sessions/\(session)"] {
                    let read = try await daemon.get(path)
                    #expect(read.status == 200 && read.json?["status"] != nil, "the client gets the platform's answer: \(read)")
                }
                let granted = try await waiter.value
                #expect(granted.status == 201, "\(granted)")
                #expect(ContinuousClock.now - started < .seconds(20), "granted from the read, not from a poll 30 s later")
            }
        }

        @Test("a failed proxied read changes nothing: the slot stays held until a reading says otherwise")
        func failedReadChangesNothing() async throws {
            var options = SimulatorOptions()
            options.limit = 1
            options.runMilliseconds = "none"
            try await withStack(simulator: options, environment: Self.rarePolls) { simulator, daemon, _ in
                let (session, waiter) = try await Self.heldSlotAndWaiter(simulator, daemon)
                try await simulator.setFaults(["server_errors": 1_000_000, "routes": ["status", "get"]])
                for path in ["/api/v2/sessions/\(session)/status", "/api/v2/sessions/\(session)"] {
                    let read = try await daemon.get(path)
                    #expect(read.status >= 500, "the injected failure passes through: \(read)")
                }
                #expect(DaemonProcess.waiting(try await daemon.status()) == 1, "still waiting: a failed answer says nothing")
                // The same read once the platform answers again frees the slot.
                try await simulator.setFaults([:])
                #expect(try await daemon.get("/api/v2/sessions/\(session)/status").status == 200)
                #expect(try await waiter.value.status == 201)
            }
        }
    }
}
