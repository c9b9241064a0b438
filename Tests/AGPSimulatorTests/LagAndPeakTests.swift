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

@Suite("Lag before active counts a session (U3) and peak tracking")
struct LagAndPeakTests {
    @Test func lagHidesNewSessionsFromQuotaAndListButNotFromTheLimit() async throws {
        let config = configuration {
            $0.limit = 1
            $0.activeLag = .seconds(2)
            $0.runDuration = nil
        }
        try await withSimulator(config) { client, platform, clock in
            let id = try await client.create()
            #expect(try await client.quota()["active"] as? Int == 0)
            #expect(try json(try await client.get("/api/v2/sessions"))["total"] as? Int == 0)
            #expect(try await client.status(id) == "pending")
            let refused = try await client.post("/api/v2/sessions", #"{"agent": "a"}"#)
            #expect(refused.status == .tooManyRequests)
            #expect(try detail(refused) == "Concurrent trajectory limit reached (1/1)")
            #expect(await platform.stats().peakNonTerminal == 1)
            clock.advance(by: .seconds(2))
            #expect(try await client.quota()["active"] as? Int == 1)
            #expect(try json(try await client.get("/api/v2/sessions"))["total"] as? Int == 1)
        }
    }

    @Test func peakCountsAtCreationsNotAfterEnds() async throws {
        try await withSimulator(configuration { $0.limit = 10 }) { client, platform, clock in
            try await client.create()
            try await client.create()
            clock.advance(by: .seconds(1))  // both end
            try await client.create()
            try await client.create()
            var stats = await platform.stats()
            #expect(stats.peakNonTerminal == 2)
            #expect(stats.nonTerminal == 2)
            let third = try await client.create()
            #expect(try await client.delete("/api/v2/sessions/\(third)").status == .noContent)
            try await client.create()
            stats = await platform.stats()
            #expect(stats.peakNonTerminal == 3)
            #expect(stats.nonTerminal == 3)
            #expect(stats.requests["create"] == 6)
            #expect(stats.requests["cancel"] == 1)
        }
    }

    @Test func peakSeesQueuedAndHiddenSessions() async throws {
        let config = configuration {
            $0.limit = 1
            $0.queueAtLimit = true
            $0.activeLag = .seconds(5)
        }
        try await withSimulator(config) { client, platform, _ in
            try await client.create()
            try await client.create()
            let stats = await platform.stats()
            #expect(stats.peakNonTerminal == 2)
            #expect(stats.createsRefused == 0)
        }
    }
}
