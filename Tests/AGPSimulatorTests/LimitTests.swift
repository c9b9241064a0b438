//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AGPSimulator
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("The limit: 429 or queued (§7, U1, U2)")
struct LimitTests {
    @Test func queueFalseAtTheLimitIs429AndRecorded() async throws {
        try await withSimulator(configuration { $0.queueAtLimit = true }) { client, platform, _ in
            for _ in 0..<3 { try await client.create() }
            let refused = try await client.post("/api/v2/sessions", #"{"agent": "a", "queue": false}"#, idempotencyKey: "k-429")
            #expect(refused.status == .tooManyRequests)
            #expect(try detail(refused) == "Concurrent trajectory limit reached (3/3)")
            let stats = await platform.stats()
            #expect(stats.createsRefused == 1)
            #expect(stats.createsAccepted == 3)
            #expect(stats.refused.count == 1)
            #expect(stats.refused.first?.active == 3)
            #expect(stats.refused.first?.limit == 3)
            #expect(stats.refused.first?.idempotencyKey == "k-429")
            #expect(stats.injected429 == 0)
        }
    }

    @Test func queueAbsentFollowsTheSwitch() async throws {
        try await withSimulator { client, platform, _ in
            for _ in 0..<3 { try await client.create() }
            #expect(try await client.post("/api/v2/sessions", #"{"agent": "a"}"#).status == .tooManyRequests)
            #expect(try await client.post("/api/v2/sessions", #"{"agent": "a", "queue": true}"#).status == .tooManyRequests)
            #expect(await platform.stats().createsRefused == 2)
        }
        try await withSimulator(configuration { $0.queueAtLimit = true }) { client, platform, _ in
            for _ in 0..<3 { try await client.create() }
            let queued = try await client.post("/api/v2/sessions", #"{"agent": "a"}"#)
            #expect(queued.status == .created)
            #expect((try json(queued)["status"] as? JSONObject)?["status"] as? String == "queued")
            let stats = await platform.stats()
            #expect(stats.createsRefused == 0)
            #expect(stats.peakNonTerminal == 4)
            #expect(try await client.quota()["active"] as? Int == 3)
        }
    }

    @Test func queuedSessionsStartOldestFirstAsSlotsFree() async throws {
        let config = configuration {
            $0.limit = 1
            $0.queueAtLimit = true
            $0.runDuration = .milliseconds(500)...(.milliseconds(500))
        }
        try await withSimulator(config) { client, _, clock in
            let first = try await client.create()
            clock.advance(by: .milliseconds(10))
            let second = try await client.create()
            let third = try await client.create()
            #expect(try await client.status(second) == "queued")
            #expect(try await client.status(third) == "queued")
            clock.advance(by: .milliseconds(600))  // first ends at 600 ms after creation
            #expect(try await client.status(first) == "completed")
            #expect(try await client.status(second) == "pending")  // promoted at 600, pending until 700
            #expect(try await client.status(third) == "queued")
            #expect(try await client.delete("/api/v2/sessions/\(second)").status == .noContent)
            #expect(try await client.status(third) == "pending")
            #expect(try await client.quota()["active"] as? Int == 1)
        }
    }

    @Test func queuedCountsAsActiveSwitch() async throws {
        let config = configuration {
            $0.limit = 1
            $0.queueAtLimit = true
            $0.queuedCountsAsActive = true
        }
        try await withSimulator(config) { client, _, _ in
            let holder = try await client.create()
            let queued = try await client.create()
            #expect(try await client.status(queued) == "queued")
            #expect(try await client.quota()["active"] as? Int == 2)
            #expect(try await client.quota()["available"] as? Int == -1)
            #expect(try await client.delete("/api/v2/sessions/\(queued)").status == .noContent)
            #expect(try await client.status(queued) == "interrupted")
            #expect(try await client.quota()["active"] as? Int == 1)
            _ = holder
        }
    }

    @Test func liveLimitChange() async throws {
        try await withSimulator(configuration { $0.queueAtLimit = true }) { client, platform, _ in
            for _ in 0..<3 { try await client.create() }
            await platform.setLimit(1)
            let quota = try await client.quota()
            #expect(quota["limit"] as? Int == 1)
            #expect(quota["available"] as? Int == -2)
            #expect(try await client.post("/api/v2/sessions", #"{"agent": "a", "queue": false}"#).status == .tooManyRequests)
            let queued = try await client.create()
            #expect(try await client.status(queued) == "queued")
            let raised = try await client.post("/_sim/limit", #"{"limit": 5}"#)
            #expect(raised.status == .ok)
            #expect(try await client.status(queued) == "pending")
            #expect(await platform.stats().limit == 5)
            #expect(try await client.quota()["limit"] as? Int == 5)
        }
    }

    @Test func messageToATerminalSessionRestartsItAgainstTheLimit() async throws {
        try await withSimulator(configuration { $0.limit = 1 }) { client, platform, _ in
            let id = try await client.create()
            #expect(try await client.delete("/api/v2/sessions/\(id)").status == .noContent)
            let other = try await client.create()
            let message = #"{"type": "user_message", "message": "more"}"#
            let refused = try await client.post("/api/v2/sessions/\(id)/messages", message)
            #expect(refused.status == .tooManyRequests)
            #expect(await platform.stats().restartsRefused == 1)
            #expect(try await client.delete("/api/v2/sessions/\(other)").status == .noContent)
            #expect(try await client.post("/api/v2/sessions/\(id)/messages", message).status == .accepted)
            #expect(try await client.status(id) == "pending")
            #expect(try await client.quota()["active"] as? Int == 1)
        }
    }
}
