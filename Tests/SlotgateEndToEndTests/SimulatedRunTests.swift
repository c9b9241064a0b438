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
    /// Issue 14 item 7: under `upstream.simulate` the built-in simulator behaves like the platform, so a session
    /// ends on its own after `upstream.simulate_run_s` and uses tokens while it runs.
    @Suite("upstream.simulate: runs that end on their own")
    struct SimulatedRuns {
        @Test("a session created through the proxy ends on its own and its slot frees without a release")
        func sessionEndsAndSlotFrees() async throws {
            let environment = [
                "SLOTGATE_UPSTREAM_SIMULATE": "true", "SLOTGATE_UPSTREAM_SIMULATE_LIMIT": "1",
                "SLOTGATE_UPSTREAM_SIMULATE_RUN_S": "1",
            ]
            try await withStack(environment: environment) { _, daemon, _ in
                let created = try await daemon.request(.POST, "/api/v2/sessions", json: ["agent": "h/x", "messages": "m", "queue": false])
                #expect(created.status == 200 || created.status == 201, "\(created)")
                let session = try #require(created.json?["id"] as? String)
                let waiter = Task { try await daemon.acquire(holder: "next", wait: 25) }
                // Nobody releases or ends the session: its 1 s run ends it, and the next poll frees the slot.
                let granted = try await waiter.value
                #expect(granted.status == 201, "\(granted)")
                let status = try await daemon.get("/api/v2/sessions/\(session)/status")
                let ended = status.json?["status"] as? String
                #expect(["completed", "failed", "timed_out"].contains(ended ?? ""), "\(status)")
                let tokens = try await daemon.get("/api/v2/quota/tokens")
                #expect((tokens.json?["used"] as? Int ?? 0) > 0, "the run used tokens: \(tokens)")
            }
        }
    }
}
